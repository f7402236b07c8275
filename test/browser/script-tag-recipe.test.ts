// The README's script-tag recipe (examples/recipes/script-tag.html), exactly as
// written, in three real Chromium tabs of one profile on the example server's
// origin. The server does not serve examples/recipes/, so the browser context
// answers that one URL from the file; everything else (the script-tag build,
// login, refresh, orders) is the example server's.
import {fileURLToPath, pathToFileURL} from 'node:url';
import type {Browser, BrowserContext, Page} from 'playwright-core';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import type {Session, SessionState} from '../../src/index.js';
import {checkPrerequisites, launchChromium, waitFor, type ExampleServer, type ServerConfig} from './harness.js';

// The recipe's top-level `const session` (a classic script), visible to page.evaluate.
declare const session: Session;

const root = fileURLToPath(new URL('../../', import.meta.url));
const recipeFile = `${root}examples/recipes/script-tag.html`;
const recipePath = '/recipes/script-tag.html';

interface ServerModule {
	startServer(options: Partial<ServerConfig> & {port?: number; host?: string}): Promise<ExampleServer>;
}

/** What one tab saw go wrong: failed requests, error statuses from the API, uncaught errors. */
interface TabTrouble {
	failedRequests: string[];
	errorResponses: string[];
	pageErrors: string[];
}

const {run} = checkPrerequisites();
const suite = run ? describe : describe.skip;

suite('script-tag recipe in Chromium (examples/recipes/script-tag.html)', () => {
	let browser: Browser | undefined;
	let server: ExampleServer | undefined;
	let context: BrowserContext | undefined;

	beforeAll(async () => {
		browser = await launchChromium();
	});

	afterEach(async () => {
		try {
			await context?.close();
		} finally {
			context = undefined;
			await server?.close();
			server = undefined;
		}
	});

	afterAll(async () => {
		await browser?.close();
	});

	const statusOf = async (page: Page) => page.locator('#status').textContent();
	const stateOf = async (page: Page): Promise<Omit<SessionState, 'lastError'>> => page.evaluate(() => {
		const {lastError: _lastError, ...state} = session.getState();
		return state;
	});

	const statesOf = async (pages: readonly Page[]) => Promise.all(pages.map(stateOf));

	/** A user clicks in the tab in front of them; a click in a tab behind waits for its animation frames. */
	const clickIn = async (page: Page, selector: string) => {
		await page.bringToFront();
		await page.click(selector);
	};

	const loadOrders = async (page: Page) => {
		await clickIn(page, '#load-orders');
		await page.locator('#orders li').nth(1).waitFor({timeout: 5000});
		expect(await page.locator('#orders li').allTextContents()).toEqual(['2 × Tea', '6 × Scones']);
		expect(await page.locator('#error').textContent()).toBe('');
	};

	it('3 tabs: signs in once for all, loads orders, one leader, one refresh per expiry, no failed request', async () => {
		const testStarted = Date.now();
		const serverModule = (await import(pathToFileURL(`${root}examples/server.mjs`).href)) as ServerModule;
		// 3-second tokens: the leader refreshes a quarter of the lifetime ahead, every 2.25 s.
		server = await serverModule.startServer({port: 0, host: '127.0.0.1', accessTtl: 3});
		context = await browser!.newContext();
		await context.route(`${server.url}${recipePath}`, async route => route.fulfill({path: recipeFile, contentType: 'text/html; charset=utf-8'}));

		const tabs: Page[] = [];
		const trouble: TabTrouble[] = [];
		for (let index = 0; index < 3; index++) {
			// eslint-disable-next-line no-await-in-loop
			const page = await context.newPage();
			const seen: TabTrouble = {failedRequests: [], errorResponses: [], pageErrors: []};
			page.on('requestfailed', request => {
				seen.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? ''}`);
			});
			page.on('response', response => {
				if (new URL(response.url()).pathname.startsWith('/api/') && response.status() >= 400) {
					seen.errorResponses.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
				}
			});
			page.on('pageerror', error => {
				seen.pageErrors.push(`${error.name}: ${error.message}`);
			});
			// eslint-disable-next-line no-await-in-loop
			await page.goto(`${server.url}${recipePath}`);
			// eslint-disable-next-line no-await-in-loop
			expect(await page.evaluate(() => 'TabSession' in window)).toBe(true);
			// eslint-disable-next-line no-await-in-loop
			expect(await statusOf(page)).toBe('Signed out');
			tabs.push(page);
			trouble.push(seen);
		}

		// Sign in through the form of the last tab: every tab renders the signed-in view.
		const startedAt = Date.now();
		await tabs[2]!.fill('#sign-in input[name="username"]', 'alice');
		await clickIn(tabs[2]!, '#sign-in button');
		await waitFor('every tab signed in', async () => Promise.all(tabs.map(statusOf)),
			texts => texts.every(text => text?.startsWith('Signed in (authenticated); this tab is the ') === true), {timeout: 5000});
		const signedInMs = Date.now() - startedAt;
		const texts = await Promise.all(tabs.map(statusOf));
		expect(texts.filter(text => text?.endsWith('the leader.'))).toHaveLength(1);
		expect(texts.filter(text => text?.endsWith('the follower.'))).toHaveLength(2);
		for (const state of await statesOf(tabs)) {
			expect(state).toMatchObject({status: 'authenticated', generation: 1});
		}

		for (const page of tabs) {
			// eslint-disable-next-line no-await-in-loop
			expect(await page.locator('#sign-in').isHidden()).toBe(true);
			// eslint-disable-next-line no-await-in-loop
			await loadOrders(page);
		}

		// Three expiries: each new token set reaches every tab, and each cost one refresh call.
		let generation = 1;
		while (generation < 4) {
			const previous = generation;
			// eslint-disable-next-line no-await-in-loop
			const {value: states} = await waitFor(`every tab past generation ${previous}`, async () => statesOf(tabs),
				all => all.every(state => state.status === 'authenticated' && state.generation > previous && state.generation === all[0]!.generation),
				{timeout: 10_000});
			generation = states[0]!.generation;
			// The tokens just arrived, so the next refresh is 2 s away: the server's count is settled.
			expect(server.stats().refreshCalls, `refresh calls for generation ${generation}`).toBe(generation - 1);
			expect(new Set(states.map(state => state.expiresAt)).size).toBe(1);
			expect(states.filter(state => state.role === 'leader')).toHaveLength(1);
		}

		for (const page of tabs) {
			// eslint-disable-next-line no-await-in-loop
			await loadOrders(page);
		}

		const stats = server.stats();
		expect(stats).toMatchObject({
			logins: 1,
			reuseDetections: 0,
			refreshRejected: 0,
			maxRefreshInFlight: 1,
			apiOk: 6,
			rejectedRequests: 0,
		});

		// Sign out in the first tab: every tab renders the signed-out view and clears its orders.
		const signOutAt = Date.now();
		await clickIn(tabs[0]!, '#sign-out');
		await waitFor('every tab signed out', async () => Promise.all(tabs.map(statusOf)),
			all => all.every(text => text === 'Signed out'), {timeout: 5000});
		const signedOutMs = Date.now() - signOutAt;
		for (const page of tabs) {
			// eslint-disable-next-line no-await-in-loop
			expect(await page.locator('#orders li').count()).toBe(0);
			// eslint-disable-next-line no-await-in-loop
			expect(await page.locator('#sign-in').isVisible()).toBe(true);
		}

		expect(trouble).toEqual(tabs.map(() => ({failedRequests: [], errorResponses: [], pageErrors: []})));
		const {refreshTimes} = server.stats();
		console.info(`[script-tag recipe] ${JSON.stringify({
			signedInMs,
			signedOutMs,
			refreshCalls: stats.refreshCalls,
			refreshIntervalsMs: refreshTimes.slice(1).map((time, index) => time - refreshTimes[index]!),
			apiOk: stats.apiOk,
			testMs: Date.now() - testStarted,
		})}`);
	});
});
