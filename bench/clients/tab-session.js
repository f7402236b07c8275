// The script-tag build: <script src="tab-session.global.js"> defines window.TabSession.
import {makeClient} from './tab-session-app.js';

export const createClient = options => makeClient(globalThis.TabSession.initSession, options);
