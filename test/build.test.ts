// @vitest-environment node
// Checks the published artifacts in dist/, which `npm test` builds before vitest runs.
// Node environment: each check below sets up the global scope it needs (a fresh jsdom window, plain Node).
import {existsSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest';

type PublicApi = typeof import('../src/index.js');
type Session = import('../src/index.js').Session;

interface JsdomWindow {
	eval(code: string): unknown;
	close(): void;
	TabSession?: PublicApi;
	BroadcastChannel?: unknown;
}

// jsdom ships no types and this project does not install @types/jsdom.
interface JsdomModule {
	JSDOM: new (html: string, options: {url: string; runScripts: 'outside-only'}) => {window: JsdomWindow};
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file: string) => resolve(root, 'dist', file);
const files = {
	global: dist('tab-session.global.js'),
	esm: dist('tab-session.js'),
	cjs: dist('tab-session.cjs'),
	types: dist('tab-session.d.ts'),
};
const requireFromHere = createRequire(import.meta.url);
const {JSDOM} = requireFromHere('jsdom') as JsdomModule;

/** The runtime names src/index.ts exports (`export type` lines and inline `type` specifiers excluded). */
function sourceExportNames(): string[] {
	const source = readFileSync(resolve(root, 'src/index.ts'), 'utf8');
	const names: string[] = [];
	for (const match of source.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
		if (match[1]) {
			continue;
		}

		for (const specifier of match[2]!.split(',').map(part => part.trim()).filter(Boolean)) {
			if (/^type\s/.test(specifier)) {
				continue;
			}

			names.push(specifier.split(/\s+as\s+/).pop()!.trim());
		}
	}

	for (const match of source.matchAll(/export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([\w$]+)/g)) {
		names.push(match[1]!);
	}

	return names.sort();
}

const sorted = (value: object) => Object.keys(value).filter(name => name !== 'default' && name !== '__esModule').sort();
const fakeFetch = () => vi.fn<typeof fetch>(async () => new Response('{}', {status: 500}));
const dependencies = ['ky', 'broadcast-channel'];
const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\-]/g, '\\$&');
const importsOf = (code: string, name: string) =>
	new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*\\(?\\s*)["']${escape(name)}["']`).test(code);
const requiresOf = (code: string, name: string) =>
	new RegExp(`\\brequire\\(\\s*["']${escape(name)}["']\\s*\\)`).test(code);

let sessions: Session[] = [];
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

/** A fresh page at http://localhost/ with the script-tag build loaded, as `<script src>` would. */
function pageWithScript(): JsdomWindow {
	const {window} = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
		url: 'http://localhost/',
		runScripts: 'outside-only',
	});
	windows.push(window);
	// jsdom has no BroadcastChannel; browsers do. Node's has the same interface, and without it the
	// bundled broadcast-channel would fall back to its localStorage method, which no browser takes.
	window.BroadcastChannel = globalThis.BroadcastChannel;
	window.eval(readFileSync(files.global, 'utf8'));
	return window;
}

beforeAll(() => {
	for (const file of Object.values(files)) {
		if (!existsSync(file)) {
			throw new Error(`${file} is missing: run \`npm run build\` first (\`npm test\` runs it before vitest).`);
		}
	}
});

describe('script-tag build (dist/tab-session.global.js)', () => {
	it('defines window.TabSession with every runtime export of src/index.ts and of the ESM build', async () => {
		const window = pageWithScript();
		const api = window.TabSession;
		expect(api, 'window.TabSession after loading the script').toBeTypeOf('object');
		expect(api!.initSession).toBeTypeOf('function');
		expect(sourceExportNames()).toContain('initSession');
		expect(sorted(api!)).toEqual(sourceExportNames());
		const esm = await import(/* @vite-ignore */ pathToFileURL(files.esm).href) as object;
		expect(sorted(api!)).toEqual(sorted(esm));
	});

	it('bundles ky and broadcast-channel instead of importing them', () => {
		const code = readFileSync(files.global, 'utf8');
		for (const name of dependencies) {
			expect(importsOf(code, name), `import of ${name}`).toBe(false);
			expect(requiresOf(code, name), `require of ${name}`).toBe(false);
		}

		expect(code).not.toMatch(/^\s*(?:\/\*[\s\S]*?\*\/\s*)?(?:import|export)\s/m);
	});

	it('starts a session in the page: initSession, getState, close', () => {
		const window = pageWithScript();
		const fetch = fakeFetch();
		const session = window.TabSession!.initSession({refreshUrl: '/auth/refresh', storage: 'memory', fetch});
		sessions.push(session);
		expect(session.getState()).toMatchObject({status: 'unauthenticated', expiresAt: null, closed: false});
		expect(session.api.get).toBeTypeOf('function');
		session.close();
		expect(session.getState().closed).toBe(true);
		expect(fetch).not.toHaveBeenCalled();
	});

	it('signs a second session of the page in over the bundled channel', async () => {
		const window = pageWithScript();
		const make = () => {
			const session = window.TabSession!.initSession({refreshUrl: '/auth/refresh', storage: 'memory', fetch: fakeFetch()});
			sessions.push(session);
			return session;
		};

		const first = make();
		const second = make();
		await first.login({accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 3600});
		expect(first.getState().status).toBe('authenticated');
		await vi.waitFor(() => {
			expect(second.getState()).toMatchObject({status: 'authenticated', generation: 1});
		}, {timeout: 2000, interval: 10});
		await expect(second.getAccessToken()).resolves.toBe('access-1');
	});
});

describe('module builds (dist/tab-session.js, dist/tab-session.cjs)', () => {
	it('keep ky and broadcast-channel external', () => {
		const esm = readFileSync(files.esm, 'utf8');
		const cjs = readFileSync(files.cjs, 'utf8');
		for (const name of dependencies) {
			expect(importsOf(esm, name), `ESM import of ${name}`).toBe(true);
			expect(requiresOf(cjs, name), `CJS require of ${name}`).toBe(true);
		}
	});

	it('export the same names as src/index.ts', async () => {
		const esm = await import(/* @vite-ignore */ pathToFileURL(files.esm).href) as object;
		const cjs = requireFromHere(files.cjs) as object;
		expect(sorted(esm)).toEqual(sourceExportNames());
		expect(sorted(cjs)).toEqual(sourceExportNames());
	});

	it('the ESM build starts a session in Node', async () => {
		const esm = await import(/* @vite-ignore */ pathToFileURL(files.esm).href) as PublicApi;
		const session = esm.initSession({refreshUrl: 'http://localhost/auth/refresh', baseUrl: 'http://localhost/', storage: 'memory', fetch: fakeFetch()});
		sessions.push(session);
		expect(session.getState().status).toBe('unauthenticated');
	});

	it('the CJS build can be required from Node and starts a session', () => {
		// ky 1.x is ESM-only: this relies on require(esm), on by default since Node 20.19.
		const cjs = requireFromHere(files.cjs) as PublicApi;
		expect(cjs.initSession).toBeTypeOf('function');
		const session = cjs.initSession({refreshUrl: 'http://localhost/auth/refresh', baseUrl: 'http://localhost/', storage: 'memory', fetch: fakeFetch()});
		sessions.push(session);
		expect(session.getState().status).toBe('unauthenticated');
		expect(session.api.get).toBeTypeOf('function');
	});
});

describe('package.json', () => {
	const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as Record<string, unknown>;
	const exists = (target: unknown) => typeof target === 'string' && existsSync(resolve(root, target));

	it('names the package and declares it side-effect free ESM', () => {
		expect(pkg).toMatchObject({name: 'tab-session', type: 'module', sideEffects: false});
	});

	it('maps import, require and types to built files', () => {
		const exports = pkg['exports'] as Record<string, unknown>;
		const main = exports['.'] as Record<string, Record<string, unknown>>;
		expect(Object.keys(main)).toEqual(expect.arrayContaining(['import', 'require']));
		for (const condition of ['import', 'require'] as const) {
			const entry = main[condition]!;
			// TypeScript takes the first matching condition: `types` must come before `default`.
			expect(Object.keys(entry)[0], `exports['.'].${condition}: types first`).toBe('types');
			expect(exists(entry['types']), `exports['.'].${condition}.types: ${String(entry['types'])}`).toBe(true);
			expect(exists(entry['default']), `exports['.'].${condition}.default: ${String(entry['default'])}`).toBe(true);
		}

		expect(resolve(root, main['import']!['default'] as string)).toBe(files.esm);
		expect(resolve(root, main['require']!['default'] as string)).toBe(files.cjs);
		for (const field of ['main', 'module', 'types']) {
			expect(exists(pkg[field]), `${field}: ${String(pkg[field])}`).toBe(true);
		}
	});

	it('points unpkg and jsdelivr at the script-tag build', () => {
		for (const field of ['unpkg', 'jsdelivr']) {
			expect(typeof pkg[field] === 'string' && resolve(root, pkg[field]), field).toBe(files.global);
		}
	});
});
