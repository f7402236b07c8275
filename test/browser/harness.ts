// Real-browser harness: Debian's Chromium through playwright-core, the example
// server (examples/server.mjs) and its demo pages, which expose `window.demo`.
// Every scenario gets its own server, browser context (one profile, so tabs
// share storage, BroadcastChannel and Web Locks) and namespace.
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {chromium, type Browser, type BrowserContext, type Page} from 'playwright-core';
import {afterAll, afterEach, beforeAll, expect} from 'vitest';
import type {Session, SessionState} from '../../src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// --- the page's contract (examples/public/ui.js) ------------------------------

export interface DemoResults {
	sent: number;
	ok: number;
	failed: number;
	paused: number;
	retried: number;
	errors: string[];
}

export interface BurstSummary {
	ok: number;
	failed: number;
	errors: string[];
}

export interface Demo {
	session: Session;
	ready: Promise<void>;
	results: DemoResults;
	burst(n?: number, path?: string): Promise<BurstSummary>;
	login(username?: string): Promise<void>;
	logout(): Promise<void>;
	revoke(): Promise<void>;
}

declare global {
	interface Window {
		demo: Demo;
	}
}

/** A tab's state as it crosses into Node: `lastError` reduced to its code. */
export type TabState = Omit<SessionState, 'lastError'> & {lastError: string | null};

// --- the example server -------------------------------------------------------

export interface ServerStats {
	logins: number;
	refreshCalls: number;
	refreshOk: number;
	reuseDetections: number;
	graceReuses: number;
	refreshRejected: number;
	refreshInFlight: number;
	maxRefreshInFlight: number;
	apiRequests: number;
	apiOk: number;
	rejectedRequests: number;
	heartbeats: number;
	revocations: number;
	foreignAuthorization: number;
	refreshTimes: number[];
	config: ServerConfig;
}

export interface ServerConfig {
	/** Seconds. */
	accessTtl: number;
	/** Seconds; 0 = off. */
	graceWindow: number;
	/** Milliseconds. */
	refreshDelay: number;
}

export interface ExampleServer {
	url: string;
	port: number;
	stats(): ServerStats;
	config(patch: Partial<ServerConfig>): ServerConfig;
	revokeAll(): void;
	reset(): void;
	close(): Promise<void>;
}

interface ServerModule {
	startServer(options: Partial<ServerConfig> & {port?: number; host?: string}): Promise<ExampleServer>;
}

// --- prerequisites -------------------------------------------------------------

export const chromiumPath = process.env['CHROME_PATH'] ?? '/usr/bin/chromium';
const installHint = 'install it with apt-get install -y chromium';

/**
 * Whether the browser tests can run. Without Chromium they fail in CI and are
 * skipped (loudly) elsewhere; without the built files they fail.
 */
export function checkPrerequisites(): {run: boolean} {
	if (!existsSync(chromiumPath)) {
		const message = `Chromium not found at ${chromiumPath}; ${installHint} (or set CHROME_PATH)`;
		if (process.env['CI'] === 'true') {
			throw new Error(message);
		}

		console.warn(`\n⚠ SKIPPING the real-browser tests: ${message}.\n`);
		return {run: false};
	}

	const missing = ['dist/tab-session.global.js', 'examples/public/build/app.js'].filter(file => !existsSync(root + file));
	if (missing.length > 0) {
		throw new Error(`Missing build output ${missing.join(', ')}: run \`npm run build && npm run build:examples\` before the browser tests`);
	}

	return {run: true};
}

export async function launchChromium(): Promise<Browser> {
	return chromium.launch({
		executablePath: chromiumPath,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--disable-dev-shm-usage',
		],
	});
}

// --- time ----------------------------------------------------------------------

export const sleep = async (ms: number) => new Promise<void>(resolve => {
	setTimeout(resolve, Math.max(0, ms));
});

/**
 * Polls `probe` until `accept` holds; throws with the last value seen once
 * `timeout` ms have passed. Resolves with the value and the elapsed ms.
 */
export async function waitFor<T>(
	what: string,
	probe: () => T | Promise<T>,
	accept: (value: T) => boolean,
	{timeout, interval = 10}: {timeout: number; interval?: number},
): Promise<{value: T; elapsed: number}> {
	const started = Date.now();
	for (;;) {
		// eslint-disable-next-line no-await-in-loop
		const value = await probe();
		const elapsed = Date.now() - started;
		if (accept(value)) {
			return {value, elapsed};
		}

		if (elapsed > timeout) {
			throw new Error(`${what}: not reached within ${timeout} ms; last value ${JSON.stringify(value)}`);
		}

		// eslint-disable-next-line no-await-in-loop
		await sleep(interval);
	}
}

/** Rejects (rather than hanging the test) when `promise` takes longer than `ms`. */
export async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_resolve, reject) => {
				timer = setTimeout(() => {
					reject(new Error(`${what}: still pending after ${ms} ms`));
				}, ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

// --- reading and driving tabs ----------------------------------------------------

export async function readState(page: Page): Promise<TabState> {
	return page.evaluate(() => {
		const state = window.demo.session.getState();
		return {...state, lastError: state.lastError ? state.lastError.code : null};
	});
}

export async function readStates(pages: readonly Page[]): Promise<TabState[]> {
	return Promise.all(pages.map(readState));
}

export async function readResults(page: Page): Promise<DemoResults> {
	return page.evaluate(() => window.demo.results);
}

export interface TimedBurst extends BurstSummary {
	/** Browser epoch ms at which the burst went out and at which all its requests had settled. */
	startedAt: number;
	settledAt: number;
}

/**
 * `demo.burst(n)` fired by the tab's own clock at `at` (epoch ms), so that
 * all tabs send at the same moment however long each evaluate takes to arrive.
 */
export async function burstAt(page: Page, at: number, n = 10, path = '/api/orders'): Promise<TimedBurst> {
	return page.evaluate(async ({at, n, path}) => {
		// A timer may fire a little early by the wall clock: not before `at`.
		while (Date.now() < at) {
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => {
				setTimeout(resolve, Math.max(0, at - Date.now()));
			});
		}

		const startedAt = Date.now();
		const summary = await window.demo.burst(n, path);
		return {...summary, startedAt, settledAt: Date.now()};
	}, {at, n, path});
}

/** One `session.api` GET: its JSON, or the error's code (or name) when it rejects. */
export async function apiGet(page: Page, url: string): Promise<{ok: true; body: unknown} | {ok: false; code: string}> {
	return page.evaluate(async url => {
		try {
			return {ok: true as const, body: await window.demo.session.api.get(url).json()};
		} catch (error) {
			const {code, name} = error as {code?: unknown; name?: unknown};
			return {ok: false as const, code: typeof code === 'string' ? code : String(name)};
		}
	}, url);
}

export async function leaders(pages: readonly Page[]): Promise<Page[]> {
	const states = await readStates(pages);
	return pages.filter((_page, index) => states[index]!.role === 'leader');
}

// --- scenarios -----------------------------------------------------------------

export type DemoPage = '/' | '/module.html';

export interface ScenarioOptions {
	server?: Partial<ServerConfig>;
	/** The demo page's query string, without `ns` (the scenario names its own). */
	query?: Record<string, string | number>;
	page?: DemoPage;
}

export interface Scenario {
	readonly server: ExampleServer;
	readonly context: BrowserContext;
	readonly ns: string;
	readonly storageKey: string;
	/** Tabs opened and not closed, in opening order. */
	readonly tabs: Page[];
	/** Opens a tab of the demo page and waits for `demo.ready`. */
	open(extraQuery?: Record<string, string | number>): Promise<Page>;
	openMany(count: number): Promise<Page[]>;
	/** Closes a tab as a user would (no beforeunload prompt). */
	closeTab(page: Page): Promise<void>;
	/** Uncaught errors and unhandled rejections any tab reported. */
	readonly pageErrors: string[];
	close(): Promise<void>;
}

let serverModule: ServerModule | undefined;

export async function startScenario(browser: Browser, name: string, options: ScenarioOptions = {}): Promise<Scenario> {
	// A variable specifier: the server is plain JavaScript without type declarations.
	const serverEntry = pathToFileURL(`${root}examples/server.mjs`).href;
	serverModule ??= (await import(serverEntry)) as ServerModule;
	const server = await serverModule.startServer({port: 0, host: '127.0.0.1', ...options.server});
	let context: BrowserContext;
	try {
		context = await browser.newContext();
	} catch (error) {
		await server.close();
		throw error;
	}

	const ns = `${name}-${randomBytes(4).toString('hex')}`;
	const tabs: Page[] = [];
	const pageErrors: string[] = [];

	const open = async (extraQuery: Record<string, string | number> = {}) => {
		const query = new URLSearchParams();
		for (const [key, value] of Object.entries({heartbeat: 0, ...options.query, ...extraQuery, ns})) {
			query.set(key, String(value));
		}

		const page = await context.newPage();
		const label = `tab ${tabs.length + 1}`;
		page.on('pageerror', error => {
			pageErrors.push(`${label}: ${error.name}: ${error.message}`);
		});
		tabs.push(page);
		await page.goto(`${server.url}${options.page ?? '/'}?${query.toString()}`);
		await page.evaluate(async () => window.demo.ready);
		return page;
	};

	return {
		server,
		context,
		ns,
		storageKey: `tab-session:${ns}`,
		tabs,
		open,
		async openMany(count) {
			const pages: Page[] = [];
			// One after another: the first tab is the first to ask for leadership.
			for (let index = 0; index < count; index++) {
				// eslint-disable-next-line no-await-in-loop
				pages.push(await open());
			}

			return pages;
		},
		async closeTab(page) {
			tabs.splice(tabs.indexOf(page), 1);
			await page.close({runBeforeUnload: false});
		},
		pageErrors,
		async close() {
			try {
				await context.close();
			} finally {
				await server.close();
			}
		},
	};
}

/** Counts the server's refresh calls in `(from, to]` (server epoch ms = browser epoch ms here). */
export const refreshesBetween = (stats: ServerStats, from: number, to: number) =>
	stats.refreshTimes.filter(time => time > from && time <= to).length;

/**
 * One browser per test file and one scenario (server, context, namespace) per
 * test, closed after it. Call inside the file's `describe`.
 */
export function useScenarios(tag: string) {
	let browser: Browser | undefined;
	let current: Scenario | undefined;

	beforeAll(async () => {
		browser = await launchChromium();
	});

	afterEach(async () => {
		const scenario = current;
		current = undefined;
		await scenario?.close();
	});

	afterAll(async () => {
		await browser?.close();
	});

	return {
		async begin(name: string, options: ScenarioOptions): Promise<Scenario> {
			current = await startScenario(browser!, name, options);
			return current;
		},
		report(name: string, figures: Record<string, unknown>) {
			console.info(`[${tag}] ${name}: ${JSON.stringify(figures)}`);
		},
	};
}

/** Signs in through `page` and waits until every tab holds generation 1. */
export async function loginIn(scenario: Scenario, page: Page, tabs: readonly Page[] = scenario.tabs, timeout = 5000): Promise<TabState> {
	await page.evaluate(async () => window.demo.login());
	const {value} = await waitFor('every tab signed in', async () => readStates(tabs),
		states => states.every(state => state.status === 'authenticated' && state.generation === 1), {timeout});
	return value[0]!;
}

/** All tabs hold the same token set (invariant 4), signed in, and exactly one of them leads. */
export function expectAgreement(states: readonly TabState[], generation: number): void {
	for (const state of states) {
		expect(state).toMatchObject({status: 'authenticated', generation, endReason: null, lastError: null, closed: false});
		expect(state.expiresAt).toBe(states[0]!.expiresAt);
	}

	expect(states.filter(state => state.role === 'leader')).toHaveLength(1);
}

// --- observing without throwing, timed requests, page lifecycle ---------------------

/**
 * Like `waitFor`, but resolves with `reached: false` (and the last value) at
 * the timeout instead of throwing, so a scenario can report what it saw and
 * go on to its next observation.
 */
export async function waitUntil<T>(
	probe: () => T | Promise<T>,
	accept: (value: T) => boolean,
	{timeout, interval = 10}: {timeout: number; interval?: number},
): Promise<{value: T; elapsed: number; reached: boolean}> {
	const started = Date.now();
	for (;;) {
		// eslint-disable-next-line no-await-in-loop
		const value = await probe();
		const elapsed = Date.now() - started;
		if (accept(value)) {
			return {value, elapsed, reached: true};
		}

		if (elapsed > timeout) {
			return {value, elapsed, reached: false};
		}

		// eslint-disable-next-line no-await-in-loop
		await sleep(interval);
	}
}

/** One request's outcome, as the tab saw it. */
export interface RequestOutcome {
	ok: boolean;
	/** `SessionError#code`, when the error has one. */
	code: string | null;
	/** The error's name (`HTTPError`, `PauseTimeoutError`…), when it rejected. */
	name: string | null;
	/** The HTTP status: the response's, or `HTTPError#response.status` / `RefreshFailedError#status`. */
	status: number | null;
	/** ms from the request's start to its outcome, by the tab's clock. */
	ms: number;
	/** Browser epoch ms at which it was sent. */
	sentAt: number;
}

/** Per-call ky options that cross into the page (plain data). */
export interface CallOptions {
	retry?: number | {limit: number};
	headers?: Record<string, string>;
}

/**
 * `n` concurrent GETs through `demo.session.api` (not `demo.burst`, so the
 * demo's log stays out of the way), fired at `at` by the tab's clock.
 */
export async function requestsAt(page: Page, at: number, n: number, path = '/api/orders', call: CallOptions = {}): Promise<RequestOutcome[]> {
	return page.evaluate(async ({at, n, path, call}) => {
		while (Date.now() < at) {
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => {
				setTimeout(resolve, Math.max(0, at - Date.now()));
			});
		}

		return Promise.all(Array.from({length: n}, async () => {
			const sentAt = Date.now();
			try {
				const response = await window.demo.session.api.get(path, call);
				await response.text();
				return {ok: true, code: null, name: null, status: response.status, ms: Date.now() - sentAt, sentAt};
			} catch (error) {
				const {code, name, status, response} = error as {code?: unknown; name?: unknown; status?: unknown; response?: {status?: unknown}};
				const httpStatus = typeof response?.status === 'number' ? response.status : null;
				return {
					ok: false,
					code: typeof code === 'string' ? code : null,
					name: typeof name === 'string' ? name : null,
					status: typeof status === 'number' ? status : httpStatus,
					ms: Date.now() - sentAt,
					sentAt,
				};
			}
		}));
	}, {at, n, path, call});
}

/** What a scenario needs from Playwright's server side for one page (in-process driver only). */
interface PageImpl {
	delegate?: {_mainFrameSession?: {_client?: {send(method: string, params?: object): Promise<unknown>}}};
}

/**
 * Freezes a tab as Chromium's Page Lifecycle does (the page turns hidden,
 * `freeze` fires on the document, then no task runs); resolves with the
 * function that thaws it (`resume` fires, the page is visible again).
 *
 * `Page.setWebLifecycleState` alone does nothing under Playwright: Playwright
 * turns on focus emulation for every page, which Chromium counts as a capture
 * of the page, and a captured page stays visible and is never frozen (no
 * `freeze` event, timers keep running). So focus emulation is turned off on
 * Playwright's own session of the page first (a private part of the
 * in-process driver), and on again after the thaw. DevTools' `Runtime.evaluate`
 * still runs in a frozen page: don't evaluate in it while it is frozen.
 */
export async function freeze(context: BrowserContext, page: Page): Promise<() => Promise<void>> {
	const connection = (page as unknown as {_connection?: {toImpl?: (object: unknown) => PageImpl}})._connection;
	const client = connection?.toImpl?.(page)?.delegate?._mainFrameSession?._client;
	if (!client) {
		throw new Error('freeze needs playwright-core\'s in-process driver (its session of the page was not found)');
	}

	const cdp = await context.newCDPSession(page);
	await client.send('Emulation.setFocusEmulationEnabled', {enabled: false});
	await cdp.send('Page.setWebLifecycleState', {state: 'frozen'});
	return async () => {
		await cdp.send('Page.setWebLifecycleState', {state: 'active'});
		await client.send('Emulation.setFocusEmulationEnabled', {enabled: true});
		await cdp.detach().catch(() => undefined);
	};
}
