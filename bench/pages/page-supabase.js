import {createClient, storageKey} from '../clients/supabase.js';
import {install} from './harness.js';

install(createClient, {
	// Before each repetition: drop the last session. The bench opens fresh tabs
	// for each tab count and finishes the point before auth-js's 30-s ticker
	// ticks again (see results.md); the tick it runs at page load finds no session.
	async prepare() {
		localStorage.removeItem(storageKey);
	},
});
