import fc from 'fast-check';
import type {Options as KyOptions} from 'ky';
import {describe, expect, it, vi} from 'vitest';
import {LoggedOutError, PauseTimeoutError, SessionError} from '../src/index.js';
import {createMachineClock, createPage, createQuota, type Page} from './support/faults.js';
import {createWorld, worldPerTest, type Tab} from './support/world.js';

/**
 * Random histories of tabs opening, closing, crashing, going deaf to the
 * channel, entering the back/forward cache and freezing; request bursts (some
 * slow, some with the app's own retry options); expiries, revocations, a
 * clock jumping forward, storage that refuses writes; refresh endpoints that
 * fail once, stay down for a while or answer lifetimes no tab can use; logins
 * (as the same user or another) and logouts. After each, DESIGN.md's
 * invariants are checked. A failure prints the seed and path that replay it:
 * PROPERTY_SEED=<seed> PROPERTY_PATH=<path> npx vitest run test/property.test.ts.
 * PROPERTY_RUNS sets the number of histories (default 400, split over two setups);
 * PROPERTY_DEBUG=1 prints every tab's debug log and the server's refresh calls.
 */

type OneShot = 500 | 'garbage' | 'network' | 'hang' | 'missing-field' | 400 | 'zero-lifetime' | 'negative-lifetime' | 'tiny-lifetime';
type Outage = 500 | 'network' | 'zero-lifetime' | 'negative-lifetime' | 'tiny-lifetime';
type Retry = KyOptions['retry'];

type Action =
	| {type: 'open'}
	| {type: 'close'; tab: number}
	| {type: 'crash'; tab: number}
	| {type: 'burst'; tab: number; count: number; slow: boolean; retry: Retry}
	| {type: 'wait'; ms: number}
	| {type: 'revoke'}
	| {type: 'fail'; mode: OneShot}
	| {type: 'outage'; mode: Outage; ms: number}
	| {type: 'slow'; ms: number}
	| {type: 'slow-api'; ms: number}
	| {type: 'deaf'; tab: number; ms: number; visible: boolean}
	| {type: 'bfcache'; tab: number; ms: number}
	| {type: 'freeze'; tab: number; ms: number}
	| {type: 'jump'; ms: number}
	| {type: 'quota'; ms: number}
	| {type: 'logout'; tab: number}
	| {type: 'login'; tab: number};

const tabIndex = fc.nat({max: 7});
const retry: fc.Arbitrary<Retry> = fc.constantFrom<Retry>(undefined, 0, 2, {limit: 4}, {limit: 3, statusCodes: [401, 500]});
const lifetimeFaults = ['zero-lifetime', 'negative-lifetime', 'tiny-lifetime'] as const;
const action: fc.Arbitrary<Action> = fc.oneof(
	{weight: 2, arbitrary: fc.constant({type: 'open'} as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'close', tab}) as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'crash', tab}) as const)},
	{weight: 5, arbitrary: fc.record({type: fc.constant('burst' as const), tab: tabIndex, count: fc.integer({min: 1, max: 8}), slow: fc.boolean(), retry})},
	{weight: 4, arbitrary: fc.record({type: fc.constant('wait' as const), ms: fc.oneof(fc.integer({min: 0, max: 500}), fc.integer({min: 1000, max: 40_000}))})},
	{weight: 1, arbitrary: fc.constant({type: 'revoke'} as const)},
	{weight: 1, arbitrary: fc.record({type: fc.constant('fail' as const), mode: fc.constantFrom<OneShot>(500, 'garbage', 'network', 'hang', 'missing-field', 400, ...lifetimeFaults)})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('outage' as const), mode: fc.constantFrom<Outage>(500, 'network', ...lifetimeFaults), ms: fc.integer({min: 1000, max: 20_000})})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('slow' as const), ms: fc.integer({min: 0, max: 3000})})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('slow-api' as const), ms: fc.integer({min: 0, max: 12_000})})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('deaf' as const), tab: tabIndex, ms: fc.integer({min: 100, max: 40_000}), visible: fc.boolean()})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('bfcache' as const), tab: tabIndex, ms: fc.integer({min: 100, max: 40_000})})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('freeze' as const), tab: tabIndex, ms: fc.integer({min: 100, max: 20_000})})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('jump' as const), ms: fc.oneof(fc.integer({min: 1000, max: 60_000}), fc.integer({min: 600_000, max: 7_200_000}))})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('quota' as const), ms: fc.integer({min: 100, max: 30_000})})},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'logout', tab}) as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'login', tab}) as const)},
);

interface Sent {
	id: string;
	tab: Tab;
	page: Page;
	startedAt: number;
	/** How long its tab had been suspended when it started. */
	suspendedBefore: number;
	/** The slowest `/api/slow` answer while it ran, ms. */
	network: number;
	settledAt?: number;
	suspendedDuring?: number;
	outcome?: 'ok' | 'error';
	error?: unknown;
}

const pauseTimeout = 8000;
const refreshTimeout = 3000;
const refreshRetries = 2;
const refreshRetryDelay = 100;
const ttl = 30;
/** A refresh call arriving this long after a logout was decided before it. */
const logoutMargin = 20;

const familyOf = (token: string | null | undefined) => Number(token?.replace(/^Bearer /, '').split('-')[1] ?? Number.NaN);

/** Refresh runs that fit in `ms` of failures, on the documented backoff (refreshRetryDelay doubling, 1 s to 30 s). */
function backoffSteps(ms: number) {
	let steps = 1;
	for (let elapsed = 0, count = 0; elapsed <= ms; count++, steps++) {
		elapsed += Math.min(30_000, Math.max(1000, refreshRetryDelay * (2 ** count)));
	}

	return steps;
}

const worlds = worldPerTest();
const trace = process.env['PROPERTY_DEBUG'] === '1';

/** A small seeded generator, so that a seed and path replay a history exactly: tab ids, session ids, jitter. */
function seeded(seed: number) {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6D_2B_79_F5) >>> 0;
		let value = state;
		value = Math.imul(value ^ (value >>> 15), value | 1);
		value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
		return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
	};
}

async function play(actions: Action[], storage: 'local' | 'memory', locks: boolean, seed: number) {
	const random = seeded(seed);
	vi.setSystemTime(Date.UTC(2026, 0, 1));
	const spies = [
		vi.spyOn(Math, 'random').mockImplementation(random),
		vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<A extends ArrayBufferView | null>(array: A): A => {
			const bytes = new Uint8Array(array!.buffer, array!.byteOffset, array!.byteLength);
			for (let index = 0; index < bytes.length; index++) {
				bytes[index] = Math.floor(random() * 256);
			}

			return array;
		}),
	];
	const quota = createQuota();
	try {
		return await playWith(quota, actions, storage, locks);
	} finally {
		quota.restore();
		for (const spy of spies) {
			spy.mockRestore();
		}
	}
}

async function playWith(quota: ReturnType<typeof createQuota>, actions: Action[], storage: 'local' | 'memory', locks: boolean) {
	worlds.close();
	vi.clearAllTimers();
	localStorage.clear();
	const machine = createMachineClock();
	const current = worlds.use(createWorld({ttl, storage, locks, session: {pauseTimeout, refreshTimeout, refreshRetries, refreshRetryDelay}}));
	const {server} = current;
	const pages = new Map<Tab, Page>();
	const sent: Sent[] = [];
	/** When each tab went from signed in to signed out. */
	const signedOut = new Map<Tab, number[]>();
	let serial = 0;
	let leaderLostMidRefresh = false;
	/** When tabs were deaf and when storage refused writes: a tab deaf while a write failed hears nothing and reads nothing. */
	const deafness: Array<[number, number]> = [];
	const fullQuota: Array<[number, number]> = [];
	/** No refresh call hangs, takes long or meets an outage, and no page stops: then no request may time out waiting. */
	const refreshesPrompt = actions.every(step => !(step.type === 'fail' && step.mode === 'hang')
		&& !(step.type === 'slow' && step.ms > 2000)
		&& !['outage', 'bfcache', 'freeze', 'deaf', 'jump'].includes(step.type));
	/** The last explicit session action: 'login', 'logout', or none yet. */
	let lastAuth: 'login' | 'logout' | undefined;
	let logins = 0;
	let lastLoginFamily = Number.NaN;
	const issuedFamilies: number[] = [];
	/** Families every tab must stop refreshing, from the moment given. */
	const ended: Array<{family: number; at: number}> = [];
	/** Refresh calls any budget allows beyond the expiries. */
	let causes = 0;
	/** Since when refresh calls time out (a delay as long as refreshTimeout). */
	let timingOut: number | undefined;
	let slowest = 0;

	const openTab = () => {
		const page = createPage(current.hub.method, machine);
		const id = current.tabs.length;
		const debug = trace ? (message: string, details?: unknown) => {
			console.log(Date.now() % 1_000_000, `tab ${id}`, message, JSON.stringify(details ?? ''));
		} : undefined;
		const tab = current.openTab({...page.options, ...(debug ? {debug} : {})});
		pages.set(tab, page);
		// When it signs out: a logout it applied is undone if it sends an ended session's token later.
		let wasIn = false;
		tab.session.subscribe(state => {
			const isIn = state.status !== 'unauthenticated';
			if (wasIn && !isIn) {
				signedOut.set(tab, [...signedOut.get(tab) ?? [], Date.now()]);
			}

			wasIn = isIn;
		});
		return tab;
	};

	/** A live tab; `running`: one whose page is not stopped either, as the user can only act in those. */
	const pick = (index: number, need: 'live' | 'awake' | 'running' = 'awake') => {
		const modes = {live: ['running', 'deaf', 'cached', 'frozen'], awake: ['running', 'deaf'], running: ['running']}[need];
		const live = current.live().filter(tab => modes.includes(pages.get(tab)!.mode));
		return live.length > 0 ? live[index % live.length] : undefined;
	};

	const later = (ms: number, run: () => void) => {
		setTimeout(run, ms);
	};

	const login = async (tab: Tab) => {
		logins++;
		const tokens = server.login();
		lastLoginFamily = familyOf(tokens.accessToken);
		issuedFamilies.push(lastLoginFamily);
		await current.run(tab.session.login(tokens));
		lastAuth = 'login';
	};

	const began = Date.now();
	openTab();
	openTab();
	await current.tick(500);
	await login(current.tabs[0]!);
	await current.tick(20);

	for (const step of actions) {
		switch (step.type) {
			case 'open': {
				if (current.live().length < 6) {
					openTab();
				}

				break;
			}

			case 'close':
			case 'crash': {
				const tab = pick(step.tab, 'live');
				if (tab && current.live().length > 1) {
					// The server may already hold (and rotate) the dead tab's refresh token: only a grace window saves that.
					leaderLostMidRefresh ||= server.refreshesInFlight > 0;
					causes++;
					if (step.type === 'close') {
						tab.close();
					} else {
						tab.crash();
					}
				}

				break;
			}

			case 'burst': {
				const tab = pick(step.tab);
				const page = tab && pages.get(tab)!;
				for (let index = 0; tab && page && index < step.count; index++) {
					const record: Sent = {id: `r${++serial}`, tab, page, startedAt: Date.now(), suspendedBefore: page.suspendedFor, network: 0};
					sent.push(record);
					const path = step.slow ? '/api/slow' : '/api/orders';
					tab.session.api.get(`${server.origin}${path}`, {headers: {'x-request-id': record.id}, ...(step.retry === undefined ? {} : {retry: step.retry})}).json().then(() => {
						record.outcome = 'ok';
					}, (error: unknown) => {
						record.outcome = 'error';
						record.error = error;
					}).finally(() => {
						record.settledAt = Date.now();
						record.suspendedDuring = page.suspendedFor - record.suspendedBefore;
						record.network = step.slow ? slowest : 0;
					});
				}

				break;
			}

			case 'wait': {
				await current.tick(step.ms);
				break;
			}

			case 'revoke': {
				server.revokeAccessTokens();
				causes++;
				break;
			}

			case 'fail': {
				server.failNext(step.mode);
				causes++;
				break;
			}

			case 'outage': {
				server.outage = step.mode;
				// Each run of a failing refresh makes up to 1 + refreshRetries calls; an unusable answer is one.
				causes += backoffSteps(step.ms) * (typeof step.mode === 'number' || step.mode === 'network' ? 1 + refreshRetries : 1);
				later(step.ms, () => {
					server.outage = null;
				});
				break;
			}

			case 'slow': {
				server.refreshDelay = step.ms;
				// A refresh as slow as refreshTimeout fails: an outage until the delay goes away.
				if (step.ms >= refreshTimeout - 10) {
					timingOut ??= Date.now();
				} else if (timingOut !== undefined) {
					causes += backoffSteps(Date.now() - timingOut) * (1 + refreshRetries);
					timingOut = undefined;
				}

				break;
			}

			case 'slow-api': {
				server.slowDelay = step.ms;
				slowest = Math.max(slowest, step.ms);
				break;
			}

			case 'deaf':
			case 'bfcache':
			case 'freeze': {
				const tab = pick(step.tab, 'running');
				const page = tab && pages.get(tab)!;
				if (!tab || !page) {
					break;
				}

				// Without Web Locks only the channel keeps two tabs from leading (and refreshing) at once: a tab
				// that stops hearing it while it runs leads on its own, as the README says. That setup meets
				// deafness where it happens in browsers, in a stopped page (the back/forward cache).
				if (step.type === 'deaf' && !locks) {
					break;
				}

				if (step.type === 'deaf') {
					deafness.push([Date.now(), Date.now() + step.ms]);
				}

				causes++;
				// A page stopped while its refresh call is at the server is a leader lost mid-refresh.
				leaderLostMidRefresh ||= step.type !== 'deaf' && server.refreshesInFlight > 0;
				if (step.type === 'deaf') {
					page.deafen();
				} else if (step.type === 'bfcache') {
					page.hide();
				} else {
					page.freeze();
				}

				later(step.ms, () => {
					if (tab.open) {
						page.wake();
						if (step.type === 'deaf' && step.visible) {
							page.lifecycle.fire({type: 'visible'});
						}
					}
				});
				break;
			}

			case 'jump': {
				machine.jump(step.ms);
				causes++;
				break;
			}

			case 'quota': {
				fullQuota.push([Date.now(), Date.now() + step.ms]);
				quota.full = true;
				later(step.ms, () => {
					quota.full = false;
				});
				break;
			}

			case 'logout': {
				const tab = pick(step.tab);
				if (tab) {
					await current.run(tab.session.logout());
					lastAuth = 'logout';
					const at = Date.now();
					ended.push(...issuedFamilies.map(family => ({family, at})));
				}

				break;
			}

			case 'login': {
				const tab = pick(step.tab);
				if (tab) {
					await login(tab);
					causes++;
				}

				break;
			}
		}

		await current.tick(1);
	}

	// Let everything settle: outages and stopped pages end, hung refreshes time out, elections finish, messages arrive.
	// A user comes back to every tab.
	await current.tick(45_000);
	server.refreshDelay = 0;
	if (timingOut !== undefined) {
		causes += backoffSteps(Date.now() - timingOut) * (1 + refreshRetries);
	}

	server.outage = null;
	quota.full = false;
	for (const tab of current.live()) {
		const page = pages.get(tab)!;
		page.wake();
		page.lifecycle.fire({type: 'visible'});
	}

	await current.tick(pauseTimeout + 12_000);

	// Then every tab sends one request with what it holds.
	const probes = await Promise.all(current.live().map(async tab => {
		const id = `final-${tab.id}`;
		const result = tab.session.api.get(`${server.origin}/api/orders`, {headers: {'x-request-id': id}}).json();
		const settled = await current.run(result.then(() => ({ok: true as const}), (error: unknown) => ({ok: false as const, error})), pauseTimeout + 5000);
		return {tab, id, ...settled};
	}));
	// A refresh one of them set off reaches the others. Agreement is read in a quiet moment: a scheduled
	// refresh may end at any instant, and its tokens reach the other tabs a channel delivery later.
	await current.tick(100);
	for (let waited = 0; (current.hub.inFlight > 0 || server.refreshesInFlight > 0) && waited < refreshTimeout * 2; waited++) {
		await current.tick(1);
	}
	const elapsed = Date.now() - began;
	// A tab that hears no message while storage keeps no record of what it missed cannot know
	// of a logout, another login or a refresh. Only the Web Locks setup has deaf running tabs.
	const blind = deafness.some(([from, to]) => fullQuota.some(([start, end]) => start < to + ttl * 1000 && end > from));
	return {
		blind, world: current, sent, signedOut, leaderLostMidRefresh, lastAuth, storage, refreshesPrompt, probes, lastLoginFamily, ended, causes, elapsed,
		logins, machineSkew: machine.skew,
	};
}

type Outcome = Awaited<ReturnType<typeof playWith>>;

function check(outcome: Outcome) {
	const {world: current, sent, leaderLostMidRefresh, lastAuth, refreshesPrompt} = outcome;
	const {server} = current;
	if (trace) {
		console.log('refresh calls', server.refreshLog.map(call => ({...call, at: call.at % 1_000_000})), server.presentedRefreshTokens);
	}

	// 1. A refresh token is presented at most once, and one refresh is in flight at a time.
	if (!leaderLostMidRefresh && !outcome.blind) {
		expect(server.noReuse, 'a refresh token was presented twice').toBe(true);
		expect(server.counters.reuseDetections).toBe(0);
		expect(server.counters.maxConcurrentRefreshes).toBeLessThanOrEqual(1);
	}

	// 2. Every request settled, with a response or a typed error. `pauseTimeout` bounds its waits
	// only: on top come its own network time (twice, with the 401 retry) and the time its page was stopped.
	for (const request of sent) {
		if (!request.tab.open && request.outcome === undefined) {
			continue; // Its tab is gone; nobody is waiting for it.
		}

		expect(request.outcome, `request ${request.id} never settled`).toBeDefined();
		const bound = pauseTimeout + (2 * request.network) + request.suspendedDuring! + 1000;
		expect(request.settledAt! - request.startedAt, `request ${request.id} took longer than its waits allow`).toBeLessThanOrEqual(bound);
		if (request.outcome === 'error') {
			const error = request.error as {name?: string};
			const typed = request.error instanceof SessionError || ['HTTPError', 'TimeoutError', 'AbortError'].includes(error.name ?? '');
			expect(typed, `request ${request.id} failed with ${String(request.error)}`).toBe(true);
			if (refreshesPrompt) {
				expect(request.error, `request ${request.id} timed out though every refresh was prompt`).not.toBeInstanceOf(PauseTimeoutError);
			}
		}
	}

	// 3. A 401 is retried at most once, and only with a newer token, whatever retry options the app passed.
	const byRequest = new Map<string, typeof server.apiCalls>();
	for (const call of server.apiCalls) {
		if (call.id !== null) {
			byRequest.set(call.id, [...byRequest.get(call.id) ?? [], call]);
		}
	}

	for (const [id, calls] of byRequest) {
		expect(calls.length, `request ${id} sent ${calls.length} times`).toBeLessThanOrEqual(2);
		if (calls.length === 2) {
			expect(calls[0]!.status).toBe(401);
			const serialOf = (token: string | null) => Number(token?.split('-').at(-1) ?? -1);
			expect(serialOf(calls[1]!.token), `request ${id} retried without a newer token`).toBeGreaterThan(serialOf(calls[0]!.token));
		}
	}

	// 4. A logout is undone only by a login: no tab that applied it sends a token of the session
	// it ended afterwards, and no tab presents a refresh token of an ended session after the logout.
	const senders = new Map(sent.map(request => [request.id, request.tab]));
	for (const call of outcome.blind ? [] : server.apiCalls) {
		const tab = call.id === null ? undefined : senders.get(call.id);
		const end = outcome.ended.find(entry => entry.family === familyOf(call.token));
		const applied = tab && end && outcome.signedOut.get(tab)?.find(at => at >= end.at && at < call.at);
		expect(applied, `tab ${tab?.id} signed out at ${applied} after the logout at ${end?.at}, then sent ${call.token} at ${call.at}`).toBeFalsy();
	}

	for (const call of outcome.blind ? [] : server.refreshLog) {
		const end = outcome.ended.find(entry => entry.family === call.family);
		expect(end && call.at > end.at + logoutMargin, `a refresh of family ${call.family} arrived at ${call.at}, after its logout at ${end?.at}`).toBeFalsy();
	}

	// 5. Every live tab agrees on the session.
	const live = current.live();
	const states = live.map(tab => tab.session.getState());
	const generations = new Set(states.map(state => state.generation));
	const statuses = new Set(states.map(state => state.status === 'unauthenticated' ? 'out' : 'in'));
	expect(generations.size, `tabs disagree: ${JSON.stringify(states)}`).toBe(1);
	expect(statuses.size).toBe(1);

	// 6. A logout (explicit, or by the refresh endpoint) reaches every tab; after a login, every tab's
	// last request carries a token of that login's user, never an earlier account's.
	if (lastAuth === 'logout' && !outcome.blind) {
		expect(states.every(state => state.status === 'unauthenticated')).toBe(true);
	}

	for (const probe of outcome.blind ? [] : outcome.probes) {
		const call = byRequest.get(probe.id)?.at(-1);
		if (lastAuth === 'logout') {
			expect(probe.ok ? undefined : probe.error, `${probe.id} was sent after the logout`).toBeInstanceOf(LoggedOutError);
		} else if (call?.token) {
			expect(familyOf(call.token), `${probe.id} carried another login's token`).toBe(outcome.lastLoginFamily);
		}
	}

	// 7. Refresh calls are bounded by the expiries (one per half lifetime at most) plus one per cause
	// (a login, a revocation, an injected failure, a stopped page, a clock jump) and the backoff
	// schedule of every outage: an endpoint answering nonsense cannot make tabs loop.
	const expiries = Math.ceil(outcome.elapsed / (ttl * 500)) + 1;
	const bound = expiries + outcome.causes + outcome.logins + 2;
	expect(server.counters.refreshCalls, `${server.counters.refreshCalls} refresh calls for ${expiries} expiries and ${outcome.causes} causes`).toBeLessThanOrEqual(bound);

	// 8. At most one leader.
	expect(current.leaders().length).toBeLessThanOrEqual(1);
}

/** Across all histories: proof that the histories exercised what they check. */
const seen = {ok: 0, failed: 0, refreshes: 0, retried: 0, loggedOut: 0, slowRetried: 0, switched: 0};

function tally(outcome: Outcome) {
	const {server} = outcome.world;
	seen.ok += outcome.sent.filter(request => request.outcome === 'ok').length;
	seen.failed += outcome.sent.filter(request => request.outcome === 'error').length;
	seen.refreshes += server.counters.refreshOk;
	seen.retried += server.apiCalls.filter(call => call.status === 401).length;
	seen.slowRetried += server.apiCalls.filter(call => call.status === 401 && call.path === '/api/slow').length;
	seen.loggedOut += outcome.world.live().some(tab => tab.session.getState().status === 'unauthenticated') ? 1 : 0;
	seen.switched += outcome.logins > 1 && outcome.lastAuth === 'login' && outcome.probes.some(probe => probe.ok) ? 1 : 0;
}

const runs = Number(process.env['PROPERTY_RUNS'] ?? 400);
const seed = process.env['PROPERTY_SEED'] === undefined ? undefined : Number(process.env['PROPERTY_SEED']);
const path = process.env['PROPERTY_PATH'];

describe('random multi-tab histories keep every invariant', () => {
	it.each([
		['local storage, no Web Locks', 'local', false],
		['memory storage, Web Locks', 'memory', true],
	] as const)('%s', async (_name, storage, locks) => {
		await fc.assert(
			fc.asyncProperty(fc.array(action, {minLength: 3, maxLength: 30}), fc.integer(), async (actions, randomSeed) => {
				const outcome = await play(actions, storage, locks, randomSeed);
				check(outcome);
				tally(outcome);
			}),
			{numRuns: Math.ceil(runs / 2), ...(seed === undefined ? {} : {seed}), ...(path === undefined ? {} : {path})},
		);
	}, 3_600_000);

	it('exercised successes, failures, refreshes, 401 retries, slow requests, logouts and account switches', () => {
		if (runs < 20) {
			return;
		}

		expect(seen.ok).toBeGreaterThan(0);
		expect(seen.failed).toBeGreaterThan(0);
		expect(seen.refreshes).toBeGreaterThan(0);
		expect(seen.retried).toBeGreaterThan(0);
		expect(seen.slowRetried).toBeGreaterThan(0);
		expect(seen.loggedOut).toBeGreaterThan(0);
		expect(seen.switched).toBeGreaterThan(0);
	});
});
