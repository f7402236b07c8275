// The bundler page's entry: the app imports tab-session from the package as
// any app would; the bundle also carries ky.
import {initSession} from 'tab-session';
import {mountDemo} from '../public/ui.js';

mountDemo({initSession}, {build: 'bundler'});
