// Cookie mode in real Chromium: the example server keeps the refresh token in
// an httpOnly cookie and the tabs run the README's cookie recipe
// (examples/recipes/cookie.js, through /cookie.html). Several tabs of one
// profile share that cookie; the recipe sends no refresh token, so the proof
// is at the server (one refresh per expiry, no reuse, no token in a body) and
// in the page (no refresh token anywhere a script can reach).
import {existsSync} from 'node:fs';
import {fileURLToPath, pathToFileURL} from 'node:url';
import type {Browser, BrowserContext, Cookie, Page} from 'playwright-core';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {
	apiGet,
	burstAt,
	checkPrerequisites,
	expectAgreement,
	launchChromium,
	readResults,
	readStates,
	refreshesBetween,
	waitFor,
	within,
	type ExampleServer,
	type ServerConfig,
	type ServerStats,
	type TimedBurst,
} from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const {run} = checkPrerequisites();
if (run && !existsSync(`${root}examples/public/build/recipes/cookie.js`)) {
	throw new Error('Missing build output examples/public/build/recipes/cookie.js: run `npm run build && npm run build:examples` before the browser tests');
}

const suite = run ? describe : describe.skip;

/** Requests per tab in a burst. */
const burstSize = 10;
const tabCount = 5;
/** The refresh token's cookie, as examples/server.mjs names it. */
const cookieName = 'refresh_token';

interface CookieStats extends ServerStats {
	logouts: number;
	refreshBodyTokens: number;
	refreshWithoutCookie: number;
	config: ServerConfig & {refreshCookie: boolean};
}

interface CookieServer extends ExampleServer {
	stats(): CookieStats;
	/** Every refresh token the server has handed out, oldest first. */
	issuedRefreshTokens(): string[];
}

interface ServerModule {
	startServer(options: Partial<ServerConfig> & {port: number; host: string; refreshCookie: boolean}): Promise<CookieServer>;
}

/**
 * Everything a script on the page can read that might hold a token. The globals
 * scan follows data properties only: a script's own globals are data
 * properties, and reading the platform's getters off prototypes throws or
 * rejects.
 */
interface PageView {
	documentCookie: string;
	storage: string;
	storageKeys: number;
	state: string;
	/** Every string reachable from the page's globals through data properties (keys and values), joined. */
	globals: string;
	globalStrings: number;
}

/** A marker planted in a nested page global, to show that the globals scan does reach into objects. */
const probe = `probe_${Math.random().toString(36).slice(2)}`;

async function readPageView(page: Page): Promise<PageView> {
	return page.evaluate(() => {
		const strings: string[] = [];
		const seen = new Set<unknown>();
		const visit = (value: unknown, depth: number) => {
			if (typeof value === 'string') {
				strings.push(value);
				return;
			}

			if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value) || depth > 6 || seen.size > 100_000) {
				return;
			}

			// The DOM is not where a script keeps a token; its graph would only slow the scan.
			if (value instanceof Node || value === window) {
				return;
			}

			seen.add(value);
			if (value instanceof Map || value instanceof Set) {
				for (const entry of value instanceof Map ? [...value.keys(), ...value.values()] : [...value]) {
					visit(entry, depth + 1);
				}

				return;
			}

			visitProperties(value, depth);
		};

		function visitProperties(owner: object, depth: number) {
			for (const key of Object.getOwnPropertyNames(owner)) {
				const descriptor = Object.getOwnPropertyDescriptor(owner, key);
				if (descriptor && 'value' in descriptor && !(typeof owner === 'function' && key === 'prototype')) {
					strings.push(key);
					visit(descriptor.value, depth + 1);
				}
			}
		}

		seen.add(window);
		visitProperties(window, -1);

		const dump = (storage: Storage) => JSON.stringify(Object.entries(storage));
		return {
			documentCookie: document.cookie,
			storage: dump(localStorage) + dump(sessionStorage),
			storageKeys: localStorage.length + sessionStorage.length,
			state: JSON.stringify(window.demo.session.getState()),
			globals: strings.join('\n'),
			globalStrings: strings.length,
		};
	});
}

const refreshCookiesIn = async (context: BrowserContext): Promise<Cookie[]> =>
	(await context.cookies()).filter(cookie => cookie.name === cookieName);

suite('cookie mode in Chromium: the refresh token in an httpOnly cookie, several tabs', () => {
	let browser: Browser | undefined;
	let server: CookieServer | undefined;
	let context: BrowserContext | undefined;
	let serverModule: ServerModule | undefined;
	const pageErrors: string[] = [];

	beforeAll(async () => {
		browser = await launchChromium();
		// A variable specifier: the server is plain JavaScript without type declarations.
		serverModule = (await import(pathToFileURL(`${root}examples/server.mjs`).href)) as ServerModule;
	});

	afterEach(async () => {
		try {
			await context?.close();
		} finally {
			await server?.close();
			context = undefined;
			server = undefined;
			pageErrors.length = 0;
		}
	});

	afterAll(async () => {
		await browser?.close();
	});

	const begin = async (config: Partial<ServerConfig>) => {
		server = await serverModule!.startServer({port: 0, host: '127.0.0.1', refreshCookie: true, ...config});
		context = await browser!.newContext();
		return {server, context};
	};

	/** Opens /cookie.html (the recipe's session inside the demo UI) and waits for `demo.ready`. */
	const open = async () => {
		const page = await context!.newPage();
		const label = `tab ${context!.pages().length}`;
		page.on('pageerror', error => {
			pageErrors.push(`${label}: ${error.name}: ${error.message}`);
		});
		await page.goto(`${server!.url}/cookie.html`);
		await page.evaluate(async () => window.demo.ready);
		return page;
	};

	const openTabs = async (count: number) => {
		const tabs: Page[] = [];
		// One after another: the first tab is the first to ask for leadership.
		for (let index = 0; index < count; index++) {
			// eslint-disable-next-line no-await-in-loop
			tabs.push(await open());
		}

		return tabs;
	};

	/** Every tab's first answer is in: its restore (cookieRefresh restores by default) is over. */
	const settled = async (tabs: readonly Page[]) => Promise.all(tabs.map(async tab => tab.evaluate(async () => window.demo.session.ready)));

	/** Signs in through the recipe's signIn in `page` and waits until every tab holds generation 1. */
	const signIn = async (page: Page, tabs: readonly Page[]) => {
		await page.evaluate(async () => window.demo.login());
		await waitFor('every tab signed in', async () => readStates(tabs),
			states => states.every(state => state.status === 'authenticated' && state.generation === 1), {timeout: 3000});
	};

	const expectAllOk = (bursts: readonly TimedBurst[]) => {
		for (const burst of bursts) {
			expect({ok: burst.ok, failed: burst.failed, errors: burst.errors}).toEqual({ok: burstSize, failed: 0, errors: []});
		}
	};

	/** The browser holds exactly one refresh cookie, httpOnly, with the newest token the server issued. */
	const expectJarHoldsNewest = async (jar: BrowserContext, issued: readonly string[]) => {
		const cookies = await refreshCookiesIn(jar);
		expect(cookies).toHaveLength(1);
		expect(cookies[0]).toMatchObject({value: issued.at(-1), httpOnly: true, sameSite: 'Strict', path: '/api/auth', secure: false});
	};

	it(`${tabCount} tabs, bursts during each of 3 refreshes: one refresh per expiry, no reuse, no token in a body, and no refresh token readable from the page`, async () => {
		// 3-s tokens: the leader refreshes a quarter of the lifetime (750 ms) ahead;
		// the server holds each refresh 300 ms, and the bursts go out inside that window.
		const {server, context} = await begin({accessTtl: 3, refreshDelay: 300});
		const tabs = await openTabs(tabCount);
		await settled(tabs);
		// Each tab opened signed out tried to restore; without a cookie the server said 401, and that was all.
		expect(server.stats()).toMatchObject({refreshCalls: tabCount, refreshWithoutCookie: tabCount, refreshOk: 0});
		expect((await readStates(tabs)).map(state => [state.status, state.endReason, state.lastError])).toEqual(tabs.map(() => ['unauthenticated', null, null]));
		const restores = tabCount;
		await signIn(tabs[2]!, tabs);
		expect(server.stats()).toMatchObject({logins: 1, refreshCalls: restores});
		await expectJarHoldsNewest(context, server.issuedRefreshTokens());

		let windowStart = Date.now();
		const figures: Array<{refreshBeforeExpiryMs: number; slowestBurstMs: number; paused: number}> = [];
		for (let expiry = 1; expiry <= 3; expiry++) {
			// eslint-disable-next-line no-await-in-loop
			const before = await readStates(tabs);
			expectAgreement(before, expiry);
			const expiresAt = before[0]!.expiresAt!;
			const pausedBefore = (await Promise.all(tabs.map(readResults))).reduce((sum, results) => sum + results.paused, 0);
			// The leader's refresh reaches the server (its cookie in hand) ahead of the expiry...
			// eslint-disable-next-line no-await-in-loop
			await waitFor(`refresh call ${expiry} to reach the server`, () => server.stats().refreshCalls,
				calls => calls >= expiry, {timeout: expiresAt - Date.now() + 3000, interval: 5});
			// ...and while the server holds it, every tab sends a burst.
			// eslint-disable-next-line no-await-in-loop
			const bursts = await within(`bursts at expiry ${expiry}`, 10_000,
				Promise.all(tabs.map(async tab => burstAt(tab, Date.now(), burstSize))));
			expectAllOk(bursts);
			// eslint-disable-next-line no-await-in-loop
			const {value: after} = await waitFor(`every tab at generation ${expiry + 1}`, async () => readStates(tabs),
				states => states.every(state => state.generation === expiry + 1), {timeout: 3000});
			expectAgreement(after, expiry + 1);

			const windowEnd = Date.now();
			const stats = server.stats();
			expect(refreshesBetween(stats, windowStart, windowEnd), `refresh calls for expiry ${expiry}`).toBe(1);
			// The browser stored the rotated cookie: the next refresh presents it.
			// eslint-disable-next-line no-await-in-loop
			await expectJarHoldsNewest(context, server.issuedRefreshTokens());
			// eslint-disable-next-line no-await-in-loop
			const pausedAfter = (await Promise.all(tabs.map(readResults))).reduce((sum, results) => sum + results.paused, 0);
			figures.push({
				refreshBeforeExpiryMs: expiresAt - stats.refreshTimes.at(-1)!,
				slowestBurstMs: Math.max(...bursts.map(burst => burst.settledAt - burst.startedAt)),
				paused: pausedAfter - pausedBefore,
			});
			windowStart = windowEnd;
		}

		const stats = server.stats();
		expect(stats).toMatchObject({
			logins: 1,
			refreshCalls: restores + 3,
			refreshOk: 3,
			reuseDetections: 0,
			graceReuses: 0,
			refreshRejected: restores,
			maxRefreshInFlight: 1,
			refreshBodyTokens: 0,
			refreshWithoutCookie: restores,
			apiRequests: 3 * tabCount * burstSize,
			apiOk: 3 * tabCount * burstSize,
			rejectedRequests: 0,
			config: {refreshCookie: true},
		});
		const allResults = await Promise.all(tabs.map(readResults));
		for (const results of allResults) {
			expect({sent: results.sent, ok: results.ok, failed: results.failed, retried: results.retried, errors: results.errors})
				.toEqual({sent: 3 * burstSize, ok: 3 * burstSize, failed: 0, retried: 0, errors: []});
		}

		// --- no refresh token within a script's reach ---
		const issued = server.issuedRefreshTokens();
		expect(issued).toHaveLength(4);
		await tabs[0]!.evaluate(value => {
			(window as unknown as Record<string, unknown>)['cookieTestProbe'] = {nested: [new Map([['key', {value}]])]};
		}, probe);
		const views = await Promise.all(tabs.map(readPageView));
		expect(views[0]!.globals).toContain(probe);
		for (const view of views) {
			// The recipe's session sees the access token only.
			expect(view.state).toMatch(/"status":"authenticated"/);
			for (const secret of issued) {
				expect(view.documentCookie).not.toContain(secret);
				expect(view.storage).not.toContain(secret);
				expect(view.state).not.toContain(secret);
				expect(view.globals.includes(secret), 'a page global holds a refresh token').toBe(false);
			}

			expect(view.documentCookie).not.toContain(cookieName);
		}

		// document.cookie of a page under /api/auth, where a readable cookie of that path would
		// show: a control cookie without HttpOnly does, the refresh cookie does not.
		await context.addCookies([{name: 'control', value: 'visible', domain: '127.0.0.1', path: '/api/auth', httpOnly: false, sameSite: 'Strict'}]);
		const authPage = await context.newPage();
		await authPage.goto(`${server.url}/api/auth/page`);
		const authCookie = await authPage.evaluate(() => document.cookie);
		expect(authCookie).toContain('control=visible');
		expect(authCookie).not.toContain(cookieName);
		await expectJarHoldsNewest(context, issued);
		expect(pageErrors).toEqual([]);

		console.info(`[cookie] ${tabCount} tabs x ${burstSize} requests during 3 refreshes: ${JSON.stringify({
			figures,
			maxRefreshInFlight: stats.maxRefreshInFlight,
			globalStringsScanned: views.map(view => view.globalStrings),
			storageKeys: views.map(view => view.storageKeys),
		})}`);
	});

	it('restore: every tab closed, then three opened at once (a browser restart): one refresh call signs all three in; a reload of the only tab too', async () => {
		const {server} = await begin({accessTtl: 600});
		const [first] = await openTabs(1);
		await settled([first!]);
		await signIn(first!, [first!]);
		await first!.close();
		const before = server.stats();
		const started = Date.now();
		const tabs = await Promise.all([open(), open(), open()]);
		await settled(tabs);
		const restoreMs = Date.now() - started;
		const states = await readStates(tabs);
		expect(states.map(state => state.status)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		// One session in all three (its generation follows the fence the first session left).
		expectAgreement(states, states[0]!.generation);
		const after = server.stats();
		expect({calls: after.refreshCalls - before.refreshCalls, ok: after.refreshOk - before.refreshOk, reuse: after.reuseDetections}).toEqual({calls: 1, ok: 1, reuse: 0});
		expectAllOk(await Promise.all(tabs.map(async tab => burstAt(tab, Date.now(), burstSize))));
		// The only tab left, reloaded.
		await tabs[1]!.close();
		await tabs[2]!.close();
		await tabs[0]!.reload();
		await settled([tabs[0]!]);
		expect((await readStates([tabs[0]!]))[0]!.status).toBe('authenticated');
		expect(server.stats()).toMatchObject({refreshOk: before.refreshOk + 2, reuseDetections: 0});
		expect(pageErrors).toEqual([]);
		console.info(`[cookie] restore of 3 tabs opened at once: ${JSON.stringify({restoreMs})}`);
	});

	it('sign-out in one tab (the recipe\'s signOut) revokes the cookie at the server, deletes it from the browser and signs out every tab', async () => {
		const {server, context} = await begin({accessTtl: 600});
		const tabs = await openTabs(4);
		await settled(tabs);
		await signIn(tabs[0]!, tabs);
		expectAllOk(await Promise.all(tabs.map(async tab => burstAt(tab, Date.now(), burstSize))));
		const [token] = server.issuedRefreshTokens();
		await expectJarHoldsNewest(context, [token!]);

		const states = await readStates(tabs);
		const follower = tabs[states.findIndex(state => state.role === 'follower')]!;
		const started = Date.now();
		await follower.evaluate(async () => window.demo.logout());
		const {value: after} = await waitFor('every tab signed out', async () => readStates(tabs),
			found => found.every(state => state.status === 'unauthenticated'), {timeout: 3000});
		const signOutMs = Date.now() - started;
		for (const state of after) {
			expect(state).toMatchObject({status: 'unauthenticated', endReason: 'logout', expiresAt: null});
		}

		expect(await refreshCookiesIn(context)).toEqual([]);
		const requestsBefore = server.stats().apiRequests;
		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			expect(await apiGet(tab, '/api/orders')).toEqual({ok: false, code: 'LOGGED_OUT'});
		}

		// Rejected in the tab: nothing went out.
		expect(server.stats().apiRequests).toBe(requestsBefore);

		// The browser has no cookie left to send...
		const status = await tabs[1]!.evaluate(async () => {
			const response = await fetch('/api/auth/refresh', {method: 'POST', credentials: 'include'});
			return response.status;
		});
		expect(status).toBe(401);
		// ...and the server revoked the one it had set, should a copy of it turn up.
		const replay = await fetch(`${server.url}/api/auth/refresh`, {method: 'POST', headers: {cookie: `${cookieName}=${token!}`}});
		await replay.body?.cancel();
		expect(replay.status).toBe(401);
		expect(server.stats()).toMatchObject({
			logins: 1, logouts: 1, refreshCalls: 4 + 2, refreshOk: 0, refreshWithoutCookie: 4 + 1, refreshBodyTokens: 0, reuseDetections: 0,
			apiOk: 4 * burstSize, rejectedRequests: 0,
		});
		expect(pageErrors).toEqual([]);
		console.info(`[cookie] sign-out from a follower, 4 tabs: ${JSON.stringify({signOutMs})}`);
	});
});
