// What the tests of the built files share: jsdom pages that load the script-tag
// build as <script src> would, and the sessions and pages to close after each test.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {afterEach, vi} from 'vitest';
import type * as source from '../../src/index.js';

export type PublicApi = typeof source;

export interface JsdomWindow {
	eval(code: string): unknown;
	close(): void;
	TabSession?: PublicApi;
	BroadcastChannel?: unknown;
	Error: ErrorConstructor;
}

// jsdom ships no types and this project does not install @types/jsdom.
interface JsdomModule {
	JSDOM: new (html: string, options: {url: string; runScripts: 'outside-only'}) => {window: JsdomWindow};
}

const {JSDOM} = createRequire(import.meta.url)('jsdom') as JsdomModule;

/** The runtime names a module (or a build's global object) exports, sorted. */
export const exportNames = (api: object): string[] =>
	Object.keys(api).filter(name => name !== 'default' && name !== '__esModule').sort();

/** A fetch for sessions that never reach a server in these tests. */
export const fakeFetch = () => vi.fn<typeof fetch>(async () => new Response('{}', {status: 500}));

/**
 * Sessions and pages of one test file, closed after each test. Call at the
 * top level of the file.
 */
export function closedAfterEach() {
	let sessions: source.Session[] = [];
	let windows: JsdomWindow[] = [];
	afterEach(() => {
		for (const session of sessions) {
			session.close();
		}

		for (const window of windows) {
			window.close();
		}

		sessions = [];
		windows = [];
	});

	return {
		session<T extends source.Session>(session: T): T {
			sessions.push(session);
			return session;
		},
		/** A fresh page at http://localhost/ with the script-tag build at `file` run in it. */
		pageWithScript(file: string): JsdomWindow {
			const {window} = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
				url: 'http://localhost/',
				runScripts: 'outside-only',
			});
			windows.push(window);
			// jsdom has no BroadcastChannel; browsers do, and Node's has the same interface.
			window.BroadcastChannel = globalThis.BroadcastChannel;
			window.eval(readFileSync(file, 'utf8'));
			return window;
		},
	};
}
