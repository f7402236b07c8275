// @vitest-environment node
// The package as users load it: by its name, through package.json "exports" (Node resolves a
// package's own name from inside it), and by <script src>. Needs `npm run build` first.
// test/build.test.ts checks the files in dist/ themselves; scripts/check-package.mjs the packed tarball.
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import * as source from '../src/index.js';
import {closedAfterEach, exportNames as names, fakeFetch, type JsdomWindow, type PublicApi} from './support/builds.js';

type Session = source.Session;

// A variable, so that TypeScript does not resolve the name to dist/, which `npm run typecheck`
// runs before the build; the types are checked against src/ (test/types.test.ts).
const packageName: string = 'tab-session';
const require = createRequire(import.meta.url);
const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
/** The runtime names src/index.ts exports, types excluded. */
const sourceNames = names(source);
const errorClassNames = sourceNames.filter(name => /^[A-Z]\w*Error$/.test(name));

const opened = closedAfterEach();

const loadEsm = async () => await import(/* @vite-ignore */ packageName) as PublicApi;
const loadCjs = () => require(packageName) as PublicApi;

function loadGlobal(): {api: PublicApi; window: JsdomWindow} {
	const window = opened.pageWithScript(dist('tab-session.global.js'));
	return {api: window.TabSession!, window};
}

type Loader = () => Promise<{api: PublicApi; realmError: ErrorConstructor}>;
/** Each build with the Error class of the realm it runs in (the page's, for the script tag). */
const builds: Array<[string, Loader]> = [
	['ESM', async () => ({api: await loadEsm(), realmError: Error})],
	['CJS', async () => ({api: loadCjs(), realmError: Error})],
	['script-tag', async () => {
		const {api, window} = loadGlobal();
		return {api, realmError: window.Error};
	}],
];

function start(api: PublicApi): Session {
	const session = api.initSession({
		refreshUrl: 'http://localhost/auth/refresh',
		baseUrl: 'http://localhost/',
		storage: 'memory',
		// No other tab to hear from: sign-in state is known at once.
		joinTimeout: 0,
		fetch: fakeFetch(),
		...api.oauth2RefreshGrant({clientId: 'app'}),
	});
	return opened.session(session);
}

/** Errors the build itself throws, one per failure an app can provoke without a server. */
async function thrownErrors(api: PublicApi): Promise<Record<string, unknown>> {
	const caught = async (action: () => unknown) => {
		try {
			await action();
		} catch (error) {
			return error;
		}

		throw new Error('expected the call to throw');
	};

	const session = start(api);
	const errors = {
		InvalidOptionsError: await caught(() => api.initSession({} as never)),
		InvalidTokensError: await caught(async () => session.login({accessToken: ''})),
		LoggedOutError: await caught(async () => session.getAccessToken()),
	};
	session.close();
	return {...errors, SessionClosedError: await caught(async () => session.login({accessToken: 'a', expiresIn: 60}))};
}

describe('the package as users load it', () => {
	it('resolve through "exports" to the ESM and CJS builds', () => {
		expect(fileURLToPath(import.meta.resolve(packageName))).toBe(dist('tab-session.js'));
		expect(require.resolve(packageName)).toBe(dist('tab-session.cjs'));
	});

	it('ESM, CJS and script-tag builds export the same names as src/index.ts', async () => {
		expect(sourceNames).toEqual(expect.arrayContaining(['initSession', 'oauth2RefreshGrant', 'isSessionError', 'SessionError', 'OAuthError', 'LoggedOutError']));
		expect(names(await loadEsm())).toEqual(sourceNames);
		expect(names(loadCjs())).toEqual(sourceNames);
		expect(names(loadGlobal().api)).toEqual(sourceNames);
	});

	it.each(builds)('%s: every error class extends its SessionError, and each thrown error is an instance of its class', async (_, load) => {
		const {api, realmError} = await load();
		for (const name of errorClassNames.filter(name => name !== 'SessionError')) {
			expect((api[name as keyof PublicApi] as {prototype: unknown}).prototype, name).toBeInstanceOf(api.SessionError);
		}

		for (const [name, error] of Object.entries(await thrownErrors(api))) {
			expect(error, name).toBeInstanceOf(api[name as keyof PublicApi] as new (...args: never[]) => Error);
			expect(error, name).toBeInstanceOf(api.SessionError);
			expect(error, name).toBeInstanceOf(realmError);
			expect(api.isSessionError(error), name).toBe(true);
			expect(error, name).toMatchObject({name});
		}
	});

	it('every build throws errors with the same codes, so code checks work whichever build an app loads', async () => {
		const codes = async (load: Loader) => {
			const errors = await thrownErrors((await load()).api);
			return Object.fromEntries(Object.entries(errors).map(([name, error]) => [name, (error as source.SessionError).code]));
		};

		const expected = {
			InvalidOptionsError: 'INVALID_OPTIONS',
			InvalidTokensError: 'INVALID_TOKENS',
			LoggedOutError: 'LOGGED_OUT',
			SessionClosedError: 'SESSION_CLOSED',
		};
		for (const [label, load] of builds) {
			expect(await codes(load), label).toEqual(expected);
		}
	});
});
