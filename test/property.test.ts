import fc from 'fast-check';
import {describe, expect, it, vi} from 'vitest';
import {PauseTimeoutError, SessionError} from '../src/index.js';
import {createWorld, worldPerTest, type Tab} from './support/world.js';

/**
 * Random histories of tabs opening, closing and crashing, request bursts,
 * expiries, revocations, refresh-endpoint failures, logins and logouts; after
 * each, DESIGN.md's invariants are checked. A failure prints the seed and path
 * that replay it: PROPERTY_SEED=<seed> PROPERTY_PATH=<path> npx vitest run test/property.test.ts.
 * PROPERTY_RUNS sets the number of histories (default 400, split over two setups).
 */

type Action =
	| {type: 'open'}
	| {type: 'close'; tab: number}
	| {type: 'crash'; tab: number}
	| {type: 'burst'; tab: number; count: number}
	| {type: 'wait'; ms: number}
	| {type: 'revoke'}
	| {type: 'fail'; mode: 500 | 'garbage' | 'network' | 'hang' | 'missing-field' | 400}
	| {type: 'slow'; ms: number}
	| {type: 'logout'; tab: number}
	| {type: 'login'; tab: number};

const tabIndex = fc.nat({max: 7});
const action: fc.Arbitrary<Action> = fc.oneof(
	{weight: 2, arbitrary: fc.constant({type: 'open'} as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'close', tab}) as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'crash', tab}) as const)},
	{weight: 5, arbitrary: fc.record({type: fc.constant('burst' as const), tab: tabIndex, count: fc.integer({min: 1, max: 8})})},
	{weight: 4, arbitrary: fc.record({type: fc.constant('wait' as const), ms: fc.oneof(fc.integer({min: 0, max: 500}), fc.integer({min: 1000, max: 40_000}))})},
	{weight: 1, arbitrary: fc.constant({type: 'revoke'} as const)},
	{weight: 1, arbitrary: fc.record({type: fc.constant('fail' as const), mode: fc.constantFrom(500 as const, 'garbage' as const, 'network' as const, 'hang' as const, 'missing-field' as const, 400 as const)})},
	{weight: 1, arbitrary: fc.record({type: fc.constant('slow' as const), ms: fc.integer({min: 0, max: 3000})})},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'logout', tab}) as const)},
	{weight: 1, arbitrary: tabIndex.map(tab => ({type: 'login', tab}) as const)},
);

interface Sent {
	id: string;
	tab: Tab;
	startedAt: number;
	settledAt?: number;
	outcome?: 'ok' | 'error';
	error?: unknown;
}

const pauseTimeout = 8000;
const ttl = 30;

const worlds = worldPerTest();

async function play(actions: Action[], storage: 'local' | 'memory', locks: boolean) {
	worlds.close();
	vi.clearAllTimers();
	localStorage.clear();
	const current = worlds.use(createWorld({ttl, storage, locks, session: {pauseTimeout, refreshTimeout: 3000}}));
	const {server} = current;
	const sent: Sent[] = [];
	let serial = 0;
	let leaderLostMidRefresh = false;
	/** No refresh call hangs or takes long: then no request may time out waiting. */
	const refreshesPrompt = actions.every(step => !(step.type === 'fail' && step.mode === 'hang') && !(step.type === 'slow' && step.ms > 2000));
	/** The last explicit session action: 'login', 'logout', or none yet. */
	let lastAuth: 'login' | 'logout' | undefined;

	const pick = (index: number) => {
		const live = current.live();
		return live.length > 0 ? live[index % live.length] : undefined;
	};

	current.openTab();
	current.openTab();
	await current.tick(500);
	await current.tabs[0]!.session.login(server.login());
	lastAuth = 'login';
	await current.tick(20);

	for (const step of actions) {
		switch (step.type) {
			case 'open': {
				if (current.live().length < 6) {
					current.openTab();
				}

				break;
			}

			case 'close':
			case 'crash': {
				const tab = pick(step.tab);
				if (tab && current.live().length > 1) {
					// The server may already hold (and rotate) the dead tab's refresh token: only a grace window saves that.
					leaderLostMidRefresh ||= server.refreshesInFlight > 0;
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
				for (let index = 0; tab && index < step.count; index++) {
					const record: Sent = {id: `r${++serial}`, tab, startedAt: Date.now()};
					sent.push(record);
					tab.session.api.get(`${server.origin}/api/orders`, {headers: {'x-request-id': record.id}}).json().then(() => {
						record.outcome = 'ok';
					}, (error: unknown) => {
						record.outcome = 'error';
						record.error = error;
					}).finally(() => {
						record.settledAt = Date.now();
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
				break;
			}

			case 'fail': {
				server.failNext(step.mode);
				break;
			}

			case 'slow': {
				server.refreshDelay = step.ms;
				break;
			}

			case 'logout': {
				const tab = pick(step.tab);
				if (tab) {
					await current.run(tab.session.logout());
					lastAuth = 'logout';
				}

				break;
			}

			case 'login': {
				const tab = pick(step.tab);
				if (tab) {
					await current.run(tab.session.login(server.login()));
					lastAuth = 'login';
				}

				break;
			}
		}

		await current.tick(1);
	}

	// Let everything settle: hung refreshes time out, elections finish, messages arrive.
	server.refreshDelay = 0;
	await current.tick(pauseTimeout + 12_000);
	return {world: current, sent, leaderLostMidRefresh, lastAuth, storage, refreshesPrompt};
}

function check(outcome: Awaited<ReturnType<typeof play>>) {
	const {world: current, sent, leaderLostMidRefresh, lastAuth, refreshesPrompt} = outcome;
	const {server} = current;

	// 1. A refresh token is presented at most once, and one refresh is in flight at a time.
	if (!leaderLostMidRefresh) {
		expect(server.noReuse, 'a refresh token was presented twice').toBe(true);
		expect(server.counters.reuseDetections).toBe(0);
		expect(server.counters.maxConcurrentRefreshes).toBeLessThanOrEqual(1);
	}

	// 2. Every request settled, with a response or a typed error, within its bound.
	for (const request of sent) {
		if (!request.tab.open && request.outcome === undefined) {
			continue; // Its tab is gone; nobody is waiting for it.
		}

		expect(request.outcome, `request ${request.id} never settled`).toBeDefined();
		// The wait (pauseTimeout) plus the refresh-free fetch and one retry; no request timeout is reached here.
		expect(request.settledAt! - request.startedAt).toBeLessThanOrEqual(pauseTimeout + 1000);
		if (request.outcome === 'error') {
			const error = request.error as {name?: string};
			const typed = request.error instanceof SessionError || error.name === 'HTTPError' || error.name === 'AbortError';
			expect(typed, `request ${request.id} failed with ${String(request.error)}`).toBe(true);
			if (refreshesPrompt) {
				expect(request.error, `request ${request.id} timed out though every refresh was prompt`).not.toBeInstanceOf(PauseTimeoutError);
			}
		}
	}

	// 3. A 401 is retried at most once, and only with a newer token.
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

	// 4. Every live tab agrees on the session.
	const live = current.live();
	const states = live.map(tab => tab.session.getState());
	const generations = new Set(states.map(state => state.generation));
	const statuses = new Set(states.map(state => state.status === 'unauthenticated' ? 'out' : 'in'));
	expect(generations.size, `tabs disagree: ${JSON.stringify(states)}`).toBe(1);
	expect(statuses.size).toBe(1);

	// 5. A logout (explicit, or by the refresh endpoint) reaches every tab.
	if (lastAuth === 'logout') {
		expect(states.every(state => state.status === 'unauthenticated')).toBe(true);
	}

	// 6. At most one leader.
	expect(current.leaders().length).toBeLessThanOrEqual(1);
}

/** Across all histories: proof that the histories exercised what they check. */
const seen = {ok: 0, failed: 0, refreshes: 0, retried: 0, loggedOut: 0};

function tally(outcome: Awaited<ReturnType<typeof play>>) {
	seen.ok += outcome.sent.filter(request => request.outcome === 'ok').length;
	seen.failed += outcome.sent.filter(request => request.outcome === 'error').length;
	seen.refreshes += outcome.world.server.counters.refreshOk;
	seen.retried += outcome.world.server.apiCalls.filter(call => call.status === 401).length;
	seen.loggedOut += outcome.world.live().some(tab => tab.session.getState().status === 'unauthenticated') ? 1 : 0;
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
			fc.asyncProperty(fc.array(action, {minLength: 3, maxLength: 30}), async actions => {
				const outcome = await play(actions, storage, locks);
				check(outcome);
				tally(outcome);
			}),
			{numRuns: Math.ceil(runs / 2), ...(seed === undefined ? {} : {seed}), ...(path === undefined ? {} : {path})},
		);
	}, 600_000);

	it('exercised successes, failures, refreshes, 401 retries and logouts', () => {
		if (runs < 20) {
			return;
		}

		expect(seen.ok).toBeGreaterThan(0);
		expect(seen.failed).toBeGreaterThan(0);
		expect(seen.refreshes).toBeGreaterThan(0);
		expect(seen.retried).toBeGreaterThan(0);
		expect(seen.loggedOut).toBeGreaterThan(0);
	});
});
