import {createClient} from '../clients/recipe.js';
import {install} from './harness.js';

install(createClient);
