// The ES module build with ky resolved from node_modules, as a bundler ships it.
import {initSession} from 'tab-session';
import {makeClient} from './tab-session-app.js';

export const createClient = options => makeClient(initSession, options);
