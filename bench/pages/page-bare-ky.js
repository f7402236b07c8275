import {createClient} from '../clients/bare-ky.js';
import {install} from './harness.js';

install(createClient);
