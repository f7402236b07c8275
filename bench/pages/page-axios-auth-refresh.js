import {createClient} from '../clients/axios-auth-refresh.js';
import {install} from './harness.js';

install(createClient);
