// The README's OAuth 2.0 recipe (examples/recipes/oauth.js, bundled) in real
// Chromium: several tabs of one profile on the origin of a real OAuth 2.0
// server (@node-oauth/oauth2-server, test/support/oauth-server.mjs) that
// rotates refresh tokens and answers a reused one with `invalid_grant`.
// Counts come from the server, outcomes from every tab.
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import type {Browser, BrowserContext, Page} from 'playwright-core';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import type {Session} from '../../src/index.js';
import {startOAuthServer, type OAuthServer} from '../support/oauth-server.mjs';
import {checkPrerequisites, launchChromium, waitFor, within} from './harness.js';

// --- the page's contract (examples/recipes/oauth.js) ------------------------------

interface OAuthDemo {
	session: Session;
	signIn(username: string, password: string): Promise<void>;
	loadResource(): Promise<unknown>;
}

/** A state change as one tab saw it, stamped with its clock (the server's clock too: one machine). */
interface Seen {
	generation: number;
	expiresAt: number | null;
	at: number;
}

declare global {
	interface Window {
		oauthDemo?: OAuthDemo;
		oauthSeen: Seen[];
	}
}

interface LoadResult {
	sent: number;
	ok: number;
	failed: number;
	errors: string[];
	slowestMs: number;
	/** Requests sent while the tab saw a refresh under way (they waited for it). */
	duringRefresh: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The server's counters after one sign-in and `refreshes` clean rotations, one refresh at a time. */
const cleanRotations = (refreshes: number) => ({
	passwordGrants: 1,
	refreshCalls: refreshes,
	refreshOk: refreshes,
	invalidGrant: 0,
	reuse: 0,
	refreshErrors: 0,
	maxRefreshInFlight: 1,
	api401: 0,
});

const {run} = checkPrerequisites();
if (run && !existsSync(join(root, 'examples', 'public', 'build', 'recipes', 'oauth.js'))) {
	throw new Error('Missing examples/public/build/recipes/oauth.js: run `npm run build && npm run build:examples` before the browser tests');
}

const suite = run ? describe : describe.skip;

// --- tabs --------------------------------------------------------------------------

interface Origin {
	server: OAuthServer;
	context: BrowserContext;
	tabs: Page[];
	pageErrors: string[];
	/** Opens /oauth.html in a new tab of the profile and waits for the recipe's session. */
	open(): Promise<Page>;
	closeTab(page: Page): Promise<void>;
}

/** Requests the tab sends per burst, and the pause between its bursts (ms). */
const burstSize = 5;
const burstGap = 100;

/**
 * Bursts of `loadResource()` from the tab until its session reaches
 * `generation`, counting every outcome in the tab.
 */
async function loadUntil(page: Page, generation: number, timeout: number): Promise<LoadResult> {
	return page.evaluate(async ({generation, timeout, burstSize, burstGap}) => {
		const {session, loadResource} = window.oauthDemo!;
		const deadline = Date.now() + timeout;
		const result = {sent: 0, ok: 0, failed: 0, errors: [] as string[], slowestMs: 0, duringRefresh: 0};
		while (session.getState().generation < generation && Date.now() < deadline) {
			// eslint-disable-next-line no-await-in-loop
			await Promise.all(Array.from({length: burstSize}, async () => {
				result.sent++;
				if (session.getState().status === 'refreshing') {
					result.duringRefresh++;
				}

				const started = performance.now();
				try {
					await loadResource();
					result.ok++;
				} catch (error) {
					result.failed++;
					const {code, name} = error as {code?: unknown; name?: unknown};
					result.errors.push(typeof code === 'string' ? code : String(name));
				}

				result.slowestMs = Math.max(result.slowestMs, performance.now() - started);
			}));
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => {
				setTimeout(resolve, burstGap);
			});
		}

		return result;
	}, {generation, timeout, burstSize, burstGap});
}

const readStates = async (pages: readonly Page[]) => Promise.all(pages.map(async page => page.evaluate(() => {
	const {status, role, generation, expiresAt, endReason} = window.oauthDemo!.session.getState();
	return {status, role, generation, expiresAt, endReason};
})));

/**
 * Every tab signed in on one generation, `atLeast` or later, with the same expiry and one leader;
 * resolves with their states. For a check between rotations that a slow step may have let
 * the next rotation overtake.
 */
async function agreedFrom(pages: readonly Page[], atLeast: number) {
	const {value: states} = await waitFor(`every tab on one generation from ${atLeast} on`, async () => readStates(pages),
		found => found.every(state => state.status === 'authenticated' && state.generation >= atLeast
			&& state.generation === found[0]!.generation && state.expiresAt === found[0]!.expiresAt), {timeout: 2000});
	expect(states.filter(state => state.role === 'leader')).toHaveLength(1);
	return states;
}

/** Every tab signed in on `generation` with the same expiry, exactly one leading. */
async function expectAgreement(pages: readonly Page[], generation: number) {
	for (const state of await agreedFrom(pages, generation)) {
		expect(state).toMatchObject({generation, endReason: null});
	}
}

/** Signs in with the password grant in `page` and waits until every tab holds generation 1. */
async function signIn(page: Page, pages: readonly Page[]) {
	await page.evaluate(async () => window.oauthDemo!.signIn('demo', 'demo'));
	await expectAgreement(pages, 1);
}

const report = (name: string, figures: Record<string, unknown>) => {
	console.info(`[oauth browser] ${name}: ${JSON.stringify(figures)}`);
};

suite('the OAuth 2.0 recipe in Chromium against @node-oauth/oauth2-server', () => {
	let browser: Browser | undefined;
	let current: Origin | undefined;

	beforeAll(async () => {
		browser = await launchChromium();
	});

	afterEach(async () => {
		const origin = current;
		current = undefined;
		try {
			await origin?.context.close();
		} finally {
			await origin?.server.close();
		}
	});

	afterAll(async () => {
		await browser?.close();
	});

	async function begin(options: {accessTokenLifetime: number; refreshDelay?: number}): Promise<Origin> {
		const server = await startOAuthServer(options);
		let context: BrowserContext;
		try {
			context = await browser!.newContext();
		} catch (error) {
			await server.close();
			throw error;
		}

		const tabs: Page[] = [];
		const pageErrors: string[] = [];
		const origin: Origin = {
			server,
			context,
			tabs,
			pageErrors,
			async open() {
				const page = await context.newPage();
				const label = `tab ${tabs.length + 1}`;
				page.on('pageerror', error => {
					pageErrors.push(`${label}: ${error.name}: ${error.message}`);
				});
				tabs.push(page);
				await page.goto(`${server.url}/oauth.html`);
				await page.waitForFunction(() => window.oauthDemo !== undefined, undefined, {timeout: 5000});
				// Each tab keeps the history of its own session, to tell expiries apart afterwards.
				await page.evaluate(() => {
					const {session} = window.oauthDemo!;
					window.oauthSeen = [];
					session.subscribe(({generation, expiresAt}) => {
						const last = window.oauthSeen.at(-1);
						if (last?.generation !== generation) {
							window.oauthSeen.push({generation, expiresAt, at: Date.now()});
						}
					});
				});
				return page;
			},
			async closeTab(page) {
				tabs.splice(tabs.indexOf(page), 1);
				await page.close({runBeforeUnload: false});
			},
		};
		current = origin;
		return origin;
	}

	async function openMany(origin: Origin, count: number): Promise<Page[]> {
		const pages: Page[] = [];
		// One after another: the first tab is the first to ask for leadership.
		for (let index = 0; index < count; index++) {
			// eslint-disable-next-line no-await-in-loop
			pages.push(await origin.open());
		}

		return pages;
	}

	const expectNoFailures = (results: readonly LoadResult[]) => {
		for (const result of results) {
			expect({failed: result.failed, errors: result.errors}).toEqual({failed: 0, errors: []});
			expect(result.ok).toBe(result.sent);
			// The tab did send across the expiries, not just once.
			expect(result.sent).toBeGreaterThan(3 * burstSize);
		}
	};

	/**
	 * For each generation g the tab held, the server saw exactly one refresh
	 * call between the tab receiving token g and receiving token g + 1, and it
	 * came before token g expired.
	 */
	const refreshesPerExpiry = (seen: readonly Seen[], refreshTimes: readonly number[], last: number) => {
		const figures: Array<{refreshBeforeExpiryMs: number}> = [];
		for (let generation = 1; generation < last; generation++) {
			const held = seen.find(entry => entry.generation === generation)!;
			const next = seen.find(entry => entry.generation === generation + 1)!;
			const calls = refreshTimes.filter(time => time >= held.at && time <= next.at);
			expect(calls, `refresh calls while generation ${generation} was current`).toHaveLength(1);
			expect(calls[0]!).toBeLessThan(held.expiresAt!);
			figures.push({refreshBeforeExpiryMs: held.expiresAt! - calls[0]!});
		}

		return figures;
	};

	it('5 tabs sending bursts across 3 token expiries: one refresh per expiry, no invalid_grant, no failed request', async () => {
		// 3-second tokens; each refresh takes 150 ms at the server, so bursts meet refreshes under way.
		const origin = await begin({accessTokenLifetime: 3, refreshDelay: 150});
		const {server} = origin;
		const tabs = await openMany(origin, 5);
		await signIn(tabs[2]!, tabs);
		const signedInAt = Date.now();

		const results = await within('the bursts', 30_000, Promise.all(tabs.map(async tab => loadUntil(tab, 4, 20_000))));
		const elapsedMs = Date.now() - signedInAt;
		await expectAgreement(tabs, 4);
		const stats = server.stats();

		expectNoFailures(results);
		// One refresh per rotation, each answered with a new pair; refreshed ahead of expiry, so no request met an expired token.
		expect(stats).toMatchObject(cleanRotations(3));
		const sent = results.reduce((sum, result) => sum + result.sent, 0);
		expect(stats.apiOk).toBe(sent);
		// The bursts did meet refreshes under way (each lasts longer than a tab's pause between bursts).
		const duringRefresh = results.reduce((sum, result) => sum + result.duringRefresh, 0);
		expect(duringRefresh).toBeGreaterThan(0);

		const seen = await tabs[0]!.evaluate(() => window.oauthSeen);
		const figures = refreshesPerExpiry(seen, stats.refreshTimes, 4);
		expect(origin.pageErrors).toEqual([]);
		report('5 tabs, 3 expiries', {
			elapsedMs,
			requests: sent,
			duringRefresh,
			slowestRequestMs: Math.round(Math.max(...results.map(result => result.slowestMs))),
			refreshIntervalsMs: stats.refreshTimes.map((time, index) => time - (stats.refreshTimes[index - 1] ?? signedInAt)),
			figures,
		});
	});

	it('no refresh token is presented twice, while the leader tab closes and new tabs join between rotations', async () => {
		const origin = await begin({accessTokenLifetime: 4, refreshDelay: 100});
		const {server} = origin;
		const tabs = await openMany(origin, 4);
		await signIn(tabs[0]!, tabs);
		const churn: string[] = [];

		let generation = 1;
		for (let rotation = 1; rotation <= 3; rotation++) {
			// eslint-disable-next-line no-await-in-loop
			const results = await within('the bursts', 20_000, Promise.all(origin.tabs.map(async tab => loadUntil(tab, generation + 1, 15_000))));
			expect(results.every(result => result.failed === 0 && result.ok === result.sent), JSON.stringify(results)).toBe(true);
			// eslint-disable-next-line no-await-in-loop
			const rotated = (await agreedFrom(origin.tabs, generation + 1))[0]!.generation;

			// Just after a rotation: the leader tab goes away and a new tab opens. On a loaded machine
			// the next rotation may come meanwhile; the tabs must then agree on that one.
			// eslint-disable-next-line no-await-in-loop
			const states = await readStates(origin.tabs);
			const leader = origin.tabs[states.findIndex(state => state.role === 'leader')]!;
			// eslint-disable-next-line no-await-in-loop
			await origin.closeTab(leader);
			// eslint-disable-next-line no-await-in-loop
			const joined = await origin.open();
			// The new tab (memory storage) gets the tokens from the open tabs, without signing in.
			// eslint-disable-next-line no-await-in-loop
			generation = (await agreedFrom(origin.tabs, rotated))[0]!.generation;
			// eslint-disable-next-line no-await-in-loop
			expect(await joined.evaluate(async () => window.oauthDemo!.loadResource())).toMatchObject({user: 'demo'});
			churn.push(`generation ${rotated}: leader closed, tab joined${generation > rotated ? ` (generation ${generation} by then)` : ''}`);
		}

		// The tabs' generation counts the rotations, one refresh call each: read with no call in flight.
		await waitFor('no refresh call in flight', () => server.stats().refreshInFlight, count => count === 0, {timeout: 2000});
		generation = (await agreedFrom(origin.tabs, generation))[0]!.generation;
		const stats = server.stats();
		const presented = stats.refreshLog.map(entry => entry.presented);
		// Each refresh token went to the server once, and it was always the latest one issued.
		expect(new Set(presented).size).toBe(presented.length);
		expect(presented).toEqual(stats.issuedRefreshTokens.slice(0, presented.length));
		expect(stats).toMatchObject(cleanRotations(generation - 1));
		expect(origin.pageErrors).toEqual([]);
		report('leader closed and a tab joined at each of 3 rotations', {churn, refreshCalls: stats.refreshCalls});
	});
});
