import {createClient} from '../clients/tab-session.js';
import {install} from './harness.js';

install(createClient);
