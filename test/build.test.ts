// @vitest-environment node
// Checks the published artifacts in dist/, which `npm test` builds before vitest runs.
// Node environment: each check below sets up the global scope it needs (a fresh jsdom window, plain Node).
import {existsSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {beforeAll, describe, expect, it, vi} from 'vitest';
import * as source from '../src/index.js';
import {closedAfterEach, exportNames, fakeFetch, type PublicApi} from './support/builds.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file: string) => resolve(root, 'dist', file);
const files = {
	global: dist('tab-session.global.js'),
	esm: dist('tab-session.js'),
	cjs: dist('tab-session.cjs'),
	types: dist('tab-session.d.ts'),
};
const requireFromHere = createRequire(import.meta.url);
/** The runtime names src/index.ts exports. */
const sourceNames = exportNames(source);
const dependencies = ['ky'];
const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\-]/g, '\\$&');
const importsOf = (code: string, name: string) =>
	new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*\\(?\\s*)["']${escape(name)}["']`).test(code);
const requiresOf = (code: string, name: string) =>
	new RegExp(`\\brequire\\(\\s*["']${escape(name)}["']\\s*\\)`).test(code);

const opened = closedAfterEach();
const pageWithScript = () => opened.pageWithScript(files.global);

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
		expect(sourceNames).toContain('initSession');
		expect(exportNames(api!)).toEqual(sourceNames);
		const esm = await import(/* @vite-ignore */ pathToFileURL(files.esm).href) as object;
		expect(exportNames(api!)).toEqual(exportNames(esm));
	});

	it('bundles ky instead of importing it', () => {
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
		const session = opened.session(window.TabSession!.initSession({refreshUrl: '/auth/refresh', storage: 'memory', fetch}));
		expect(session.getState()).toMatchObject({status: 'unauthenticated', expiresAt: null, closed: false});
		expect(session.api.get).toBeTypeOf('function');
		session.close();
		expect(session.getState().closed).toBe(true);
		expect(fetch).not.toHaveBeenCalled();
	});

	it('signs a second session of the page in over the bundled channel', async () => {
		const window = pageWithScript();
		const make = () => opened.session(window.TabSession!.initSession({refreshUrl: '/auth/refresh', storage: 'memory', fetch: fakeFetch()}));

		const first = make();
		const second = make();
		await first.login({accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 3600});
		expect(first.getState().status).toBe('authenticated');
		await vi.waitFor(() => {
			expect(second.getState()).toMatchObject({status: 'authenticated', generation: 1});
		}, {timeout: 2000, interval: 10});
		await expect(second.getAccessToken()).resolves.toBe('access-1');
	});
	it('throws the package\'s typed UnsupportedError in a page without BroadcastChannel, never a bare Error', () => {
		const window = pageWithScript();
		window.BroadcastChannel = undefined;
		let thrown: unknown;
		try {
			window.TabSession!.initSession({refreshUrl: '/auth/refresh', storage: 'memory', fetch: fakeFetch()});
		} catch (error) {
			thrown = error;
		}

		expect(thrown).toBeInstanceOf(window.TabSession!.UnsupportedError);
		expect(thrown).toMatchObject({code: 'UNSUPPORTED', feature: 'BroadcastChannel'});
		expect(window.TabSession!.isSessionError(thrown)).toBe(true);
	});
});

describe('module builds (dist/tab-session.js, dist/tab-session.cjs)', () => {
	it('keep ky external', () => {
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
		expect(exportNames(esm)).toEqual(sourceNames);
		expect(exportNames(cjs)).toEqual(sourceNames);
	});

	it('the ESM build starts a session in Node', async () => {
		const esm = await import(/* @vite-ignore */ pathToFileURL(files.esm).href) as PublicApi;
		const session = opened.session(esm.initSession({refreshUrl: 'http://localhost/auth/refresh', baseUrl: 'http://localhost/', storage: 'memory', fetch: fakeFetch()}));
		expect(session.getState().status).toBe('unauthenticated');
	});

	it('the CJS build can be required from Node and starts a session', () => {
		// ky 1.x is ESM-only: this relies on require(esm), on by default since Node 20.19.
		const cjs = requireFromHere(files.cjs) as PublicApi;
		expect(cjs.initSession).toBeTypeOf('function');
		const session = opened.session(cjs.initSession({refreshUrl: 'http://localhost/auth/refresh', baseUrl: 'http://localhost/', storage: 'memory', fetch: fakeFetch()}));
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
