// The cross-tab invariants of DESIGN.md, proven in real Chromium: several tabs
// of one profile on http://127.0.0.1:PORT (a secure context, so the election
// and the refresh mutex use Web Locks), driving the example server's demo
// pages. Counts come from the server, outcomes from every tab.
import type {Page} from 'playwright-core';
import {describe, expect, it} from 'vitest';
import {
	apiGet,
	burstAt,
	checkPrerequisites,
	expectAgreement,
	loginIn as signIn,
	leaders,
	readResults,
	readState,
	readStates,
	refreshesBetween,
	sleep,
	useScenarios,
	waitFor,
	within,
	type DemoPage,
	type Scenario,
	type TimedBurst,
} from './harness.js';

const {run} = checkPrerequisites();
const suite = run ? describe : describe.skip;

/** Requests per tab in a burst. */
const burstSize = 10;
/**
 * How long after the token's expiry (its `expiresAt`) the bursts go out: at
 * once, so that they race the leader's own expiry timer. Whichever comes
 * first (a follower's request asking the leader, or the leader's timer), one
 * refresh must serve all.
 */
const afterExpiry = 0;

suite('tab-session in Chromium, several tabs of one profile', () => {
	const {begin, report} = useScenarios('browser');
	const loginIn = async (scenario: Scenario, page: Page, tabs: readonly Page[] = scenario.tabs) => signIn(scenario, page, tabs, 2000);

	const expectAllOk = (bursts: readonly TimedBurst[]) => {
		for (const burst of bursts) {
			expect({ok: burst.ok, failed: burst.failed, errors: burst.errors}).toEqual({ok: burstSize, failed: 0, errors: []});
		}
	};

	/** Every request any tab sent succeeded; resolves with each tab's `demo.results`. */
	const expectNoFailures = async (tabs: readonly Page[], sent: number) => {
		const all = await Promise.all(tabs.map(readResults));
		for (const results of all) {
			expect({sent: results.sent, ok: results.ok, failed: results.failed, errors: results.errors})
				.toEqual({sent, ok: sent, failed: 0, errors: []});
		}

		return all;
	};

	// --- 1. one refresh per expiry ----------------------------------------------------

	const expiryBursts = async (page: DemoPage, expiries: number) => {
		// leeway 0: nothing refreshes ahead, so the bursts meet the expiry and the
		// 200 ms refresh under way.
		const scenario = await begin('expiry', {page, server: {accessTtl: 3, refreshDelay: 200}, query: {leeway: 0}});
		const {server} = scenario;
		const tabs = await scenario.openMany(6);
		// The bundler page must run the bundle, not the script-tag build.
		const globals = await Promise.all(tabs.map(async tab => tab.evaluate(() => 'TabSession' in window)));
		expect(globals).toEqual(tabs.map(() => page === '/'));

		await loginIn(scenario, tabs[1]!);
		let windowStart = Date.now();
		const figures: Array<{refreshAfterExpiryMs: number; slowestBurstMs: number}> = [];
		for (let expiry = 1; expiry <= expiries; expiry++) {
			// eslint-disable-next-line no-await-in-loop
			const before = await readStates(tabs);
			expectAgreement(before, expiry);
			const expiresAt = before[0]!.expiresAt!;
			// eslint-disable-next-line no-await-in-loop
			const bursts = await Promise.all(tabs.map(async tab => burstAt(tab, expiresAt + afterExpiry, burstSize)));
			expectAllOk(bursts);
			// eslint-disable-next-line no-await-in-loop
			expectAgreement(await readStates(tabs), expiry + 1);

			const windowEnd = Date.now();
			const stats = server.stats();
			expect(refreshesBetween(stats, windowStart, windowEnd), `refresh calls for expiry ${expiry}`).toBe(1);
			figures.push({
				refreshAfterExpiryMs: stats.refreshTimes.at(-1)! - expiresAt,
				slowestBurstMs: Math.max(...bursts.map(burst => burst.settledAt - burst.startedAt)),
			});
			windowStart = windowEnd;
		}

		const stats = server.stats();
		expect(stats).toMatchObject({
			logins: 1,
			refreshCalls: expiries,
			refreshOk: expiries,
			reuseDetections: 0,
			graceReuses: 0,
			refreshRejected: 0,
			maxRefreshInFlight: 1,
			// Every request waited for the new token: none met a 401, none was sent twice.
			apiRequests: expiries * 6 * burstSize,
			apiOk: expiries * 6 * burstSize,
			rejectedRequests: 0,
		});
		// Each request met the refresh under way and waited for it (the page counts a
		// request as paused when the session held it); none needed a retry.
		for (const results of await expectNoFailures(tabs, expiries * burstSize)) {
			expect({paused: results.paused, retried: results.retried}).toEqual({paused: expiries * burstSize, retried: 0});
		}

		expect(scenario.pageErrors).toEqual([]);
		report(`1. 6 tabs x ${burstSize} requests at ${expiries} expiries (${page})`, {figures});
	};

	it('1. 6 tabs × 10 requests right after each of 3 expiries: one refresh per expiry, no failure (script-tag page)', async () => {
		await expiryBursts('/', 3);
	});

	// The bundle, not the script-tag build, at one expiry: the protocol is the same code.
	it('1b. the same on the bundler page (/module.html), at one expiry', async () => {
		await expiryBursts('/module.html', 1);
	});

	// --- 2. revocation -----------------------------------------------------------------

	it('2. after a server-side revocation the tabs learn from 401s: one refresh, no failure, one generation', async () => {
		// Long-lived tokens: only the 401s can tell the tabs that their token is dead.
		const scenario = await begin('revoke', {server: {accessTtl: 600}});
		const {server} = scenario;
		const tabs = await scenario.openMany(6);
		await loginIn(scenario, tabs[0]!);
		expectAllOk(await Promise.all(tabs.map(async tab => burstAt(tab, Date.now() + 100, burstSize))));
		expect(server.stats()).toMatchObject({apiOk: 6 * burstSize, rejectedRequests: 0, refreshCalls: 0});

		server.revokeAll();
		const bursts = await Promise.all(tabs.map(async tab => burstAt(tab, Date.now() + 200, burstSize)));
		expectAllOk(bursts);
		const states = await readStates(tabs);
		expectAgreement(states, 2);

		const stats = server.stats();
		expect(stats).toMatchObject({
			logins: 1,
			refreshCalls: 1,
			refreshOk: 1,
			reuseDetections: 0,
			graceReuses: 0,
			refreshRejected: 0,
			maxRefreshInFlight: 1,
			apiOk: 2 * 6 * burstSize,
		});
		// The scenario is real only if the tabs did meet 401s; each such request was retried once.
		expect(stats.rejectedRequests).toBeGreaterThan(0);
		expect(stats.apiRequests).toBe((2 * 6 * burstSize) + stats.rejectedRequests);
		const results = await expectNoFailures(tabs, 2 * burstSize);
		// Each 401 cost exactly one retry, with the new token (invariant 3).
		expect(results.reduce((sum, tab) => sum + tab.retried, 0)).toBe(stats.rejectedRequests);
		expect(scenario.pageErrors).toEqual([]);
		report('2. revokeAll, 6 tabs x 10 requests', {
			rejected401s: stats.rejectedRequests,
			slowestBurstMs: Math.max(...bursts.map(burst => burst.settledAt - burst.startedAt)),
		});
	});

	// --- 3. the leader goes away ---------------------------------------------------------

	it('3. the leader tab closes: another tab leads within 1 s and the next expiry costs one refresh', async () => {
		const scenario = await begin('failover', {server: {accessTtl: 3}, query: {leeway: 0}});
		const {server} = scenario;
		const tabs = await scenario.openMany(4);
		await loginIn(scenario, tabs[0]!);
		const [leader, ...extra] = await leaders(tabs);
		expect(extra).toHaveLength(0);
		const remaining = tabs.filter(tab => tab !== leader);

		const closing = Date.now();
		await scenario.closeTab(leader!);
		const closed = Date.now();
		const {value: next} = await waitFor('a new leader', async () => leaders(remaining),
			found => found.length > 0, {timeout: 5000});
		const failoverMs = Date.now() - closing;
		expect(next).toHaveLength(1);
		expect(failoverMs).toBeLessThan(1000);

		const before = await readStates(remaining);
		expectAgreement(before, 1);
		expect(server.stats().refreshCalls).toBe(0);
		const expiresAt = before[0]!.expiresAt!;
		const bursts = await Promise.all(remaining.map(async tab => burstAt(tab, expiresAt + afterExpiry, burstSize)));
		expectAllOk(bursts);
		const after = await readStates(remaining);
		expectAgreement(after, 2);
		expect(after[remaining.indexOf(next[0]!)]!.role).toBe('leader');

		expect(server.stats()).toMatchObject({
			refreshCalls: 1,
			refreshOk: 1,
			reuseDetections: 0,
			maxRefreshInFlight: 1,
			apiOk: 3 * burstSize,
			rejectedRequests: 0,
		});
		await expectNoFailures(remaining, burstSize);
		expect(scenario.pageErrors).toEqual([]);
		report('3. leader closed', {failoverMs, pageCloseMs: closed - closing});
	});

	// --- 4. the leader goes away mid-refresh -------------------------------------------------

	/**
	 * The leader starts the refresh at expiry (1.5 s at the server) and every
	 * tab bursts; the leader's tab closes while its refresh call is in flight.
	 */
	const leaderDiesMidRefresh = async (graceWindow: number) => {
		const pauseTimeout = 8000;
		const scenario = await begin(`midrefresh${graceWindow}`, {server: {accessTtl: 3, graceWindow}, query: {leeway: 0, pause: pauseTimeout}});
		const {server} = scenario;
		const tabs = await scenario.openMany(4);
		await loginIn(scenario, tabs[0]!);
		server.config({refreshDelay: 1500});
		const [leader] = await leaders(tabs);
		const remaining = tabs.filter(tab => tab !== leader);
		const {expiresAt} = await readState(leader!);

		const at = expiresAt! + afterExpiry;
		// The leader's own burst dies with its page.
		void burstAt(leader!, at, burstSize).catch(() => undefined);
		const pending = remaining.map(async tab => burstAt(tab, at, burstSize));
		await waitFor('the leader\'s refresh call to reach the server', () => server.stats().refreshCalls,
			calls => calls >= 1, {timeout: expiresAt! - Date.now() + 3000, interval: 5});
		const refreshStartedAt = server.stats().refreshTimes[0]!;
		// The tokens this refresh yields outlive the test: no scheduled refresh mixes with the counts that
		// follow, however slowly the machine runs the rest.
		server.config({accessTtl: 600});
		// Well inside the 1.5 s the server holds the call, and late enough that it has read the refresh token.
		await sleep(100);
		await scenario.closeTab(leader!);
		const closedAt = Date.now();
		// Closed while its call was in flight: the server has not answered it yet.
		expect(server.stats().refreshOk).toBe(0);

		// Invariant 2: each request settles within pauseTimeout (plus a margin for the request itself).
		const bursts = await within('the bursts of the remaining tabs', pauseTimeout + 5000, Promise.all(pending));
		for (const burst of bursts) {
			expect(burst.settledAt - burst.startedAt).toBeLessThan(pauseTimeout + 2000);
			expect(burst.ok + burst.failed).toBe(burstSize);
		}

		const {value: states} = await waitFor('every remaining tab to settle', async () => readStates(remaining),
			found => found.every(state => state.status !== 'refreshing'), {timeout: 3000});
		const {value: newLeaders} = await waitFor('a new leader', async () => leaders(remaining), found => found.length > 0, {timeout: 1000});
		expect(newLeaders).toHaveLength(1);
		const figures = {
			refreshStartToCloseMs: closedAt - refreshStartedAt,
			slowestBurstMs: Math.max(...bursts.map(burst => burst.settledAt - burst.startedAt)),
		};
		return {scenario, server, remaining, bursts, states, figures};
	};

	it('4. the leader closes while its refresh is in flight (grace window 10 s): nothing hangs, every tab keeps working', async () => {
		const {scenario, server, remaining, bursts, states, figures} = await leaderDiesMidRefresh(10);
		expectAllOk(bursts);
		expectAgreement(states, 2);
		// The dead leader's call still completed at the server; the new leader's
		// repeat of the same refresh token was answered from the grace window.
		const stats = server.stats();
		expect(stats).toMatchObject({refreshCalls: 2, refreshOk: 2, graceReuses: 1, reuseDetections: 0, refreshRejected: 0});

		// A working token in every tab: a fresh burst succeeds everywhere.
		expectAllOk(await Promise.all(remaining.map(async tab => burstAt(tab, Date.now() + 50, burstSize))));
		expect(server.stats().refreshCalls).toBe(2);
		await expectNoFailures(remaining, 2 * burstSize);
		expect(scenario.pageErrors).toEqual([]);
		report('4. leader closed mid-refresh, grace 10 s', {...figures, maxRefreshInFlight: stats.maxRefreshInFlight});
	});

	it('4b. the same without a grace window: nothing hangs and the tabs end in one consistent state', async () => {
		const {scenario, server, remaining, bursts, states, figures} = await leaderDiesMidRefresh(0);
		const stats = server.stats();
		const signedIn = states.every(state => state.status === 'authenticated');
		if (signedIn) {
			expectAgreement(states, 2);
			expectAllOk(bursts);
			expectAllOk(await Promise.all(remaining.map(async tab => burstAt(tab, Date.now() + 50, burstSize))));
		} else {
			// The new leader presented the refresh token the dead one had spent: reuse, family revoked, all out.
			for (const state of states) {
				expect(state).toMatchObject({status: 'unauthenticated', endReason: 'refresh-rejected', generation: 2});
			}

			expect(stats.reuseDetections).toBe(1);
			for (const burst of bursts) {
				// Every failure is the typed logout, never a hang, a timeout or a bare 401.
				expect(burst.errors.every(code => code === 'LOGGED_OUT'), burst.errors.join()).toBe(true);
			}

			for (const tab of remaining) {
				// eslint-disable-next-line no-await-in-loop
				expect(await apiGet(tab, '/api/orders')).toEqual({ok: false, code: 'LOGGED_OUT'});
			}
		}

		expect(scenario.pageErrors).toEqual([]);
		report('4b. leader closed mid-refresh, no grace', {...figures, outcome: signedIn ? 'signed in' : 'signed out (reuse)', reuseDetections: stats.reuseDetections});
	});

	// --- 5. logout ---------------------------------------------------------------------------

	it('5. logout in a follower signs out every tab at once, clears the tokens, and later requests reject LOGGED_OUT', async () => {
		const scenario = await begin('logout', {server: {accessTtl: 600}});
		const {server} = scenario;
		const tabs = await scenario.openMany(4);
		await loginIn(scenario, tabs[0]!);
		expectAllOk(await Promise.all(tabs.map(async tab => burstAt(tab, Date.now() + 50, burstSize))));
		const raw = await tabs[0]!.evaluate(key => localStorage.getItem(key), scenario.storageKey);
		const {record} = JSON.parse(raw!) as {record: {tokens: {accessToken: string; refreshToken: string}}};
		const secrets = [record.tokens.accessToken, record.tokens.refreshToken];
		expect(secrets.every(secret => secret.length > 10)).toBe(true);

		const states = await readStates(tabs);
		const follower = tabs[states.findIndex(state => state.role === 'follower')]!;
		const started = Date.now();
		await follower.evaluate(async () => window.demo.logout());
		const {value: after} = await waitFor('every tab signed out', async () => readStates(tabs),
			found => found.every(state => state.status === 'unauthenticated'), {timeout: 3000});
		const signOutMs = Date.now() - started;
		expect(signOutMs).toBeLessThan(1000);
		for (const state of after) {
			expect(state).toMatchObject({status: 'unauthenticated', endReason: 'logout', generation: 2, expiresAt: null});
		}

		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			const stored = await tab.evaluate(key => ({
				value: localStorage.getItem(key),
				everything: JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage}),
			}), scenario.storageKey);
			expect(stored.value ?? '').not.toMatch(/accessToken|refreshToken/);
			for (const secret of secrets) {
				expect(stored.everything).not.toContain(secret);
			}
		}

		const requestsBefore = server.stats().apiRequests;
		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			expect(await apiGet(tab, '/api/orders')).toEqual({ok: false, code: 'LOGGED_OUT'});
		}

		// Rejected in the tab: nothing went out.
		expect(server.stats().apiRequests).toBe(requestsBefore);
		expect(scenario.pageErrors).toEqual([]);
		report('5. logout in a follower', {signOutMs});
	});

	// --- 6. joining tabs ---------------------------------------------------------------------

	it.each(['local', 'session', 'memory'] as const)('6. a tab opened after login works without a new login (storage=%s)', async storage => {
		const scenario = await begin(`join-${storage}`, {server: {accessTtl: 600}, query: {storage}});
		const {server} = scenario;
		const [first, second] = await scenario.openMany(2);
		const signedIn = await loginIn(scenario, second!);
		const third = await scenario.open();
		const burst = await burstAt(third, Date.now(), burstSize);
		expectAllOk([burst]);
		const states = await readStates([first!, second!, third]);
		expectAgreement(states, 1);
		expect(states[2]!.expiresAt).toBe(signedIn.expiresAt);
		expect(server.stats()).toMatchObject({logins: 1, refreshCalls: 0, apiOk: burstSize, rejectedRequests: 0});

		const stored = await third.evaluate(key => ({
			local: localStorage.getItem(key),
			session: sessionStorage.getItem(key),
		}), scenario.storageKey);
		// Memory tabs keep nothing in storage: the third tab's tokens came over the channel.
		expect(stored.local !== null).toBe(storage === 'local');
		expect(stored.session !== null).toBe(storage === 'session');
		expect(scenario.pageErrors).toEqual([]);
		report(`6. joining tab, storage=${storage}`, {joinBurstMs: burst.settledAt - burst.startedAt});
	});

	// --- 7. heartbeat -------------------------------------------------------------------------

	it('7. five tabs with a 1 s heartbeat: one heartbeat per interval for the whole origin', async () => {
		const scenario = await begin('heartbeat', {server: {accessTtl: 600}, query: {heartbeat: 1000}});
		const {server} = scenario;
		const tabs = await scenario.openMany(5);
		expect(server.stats().heartbeats).toBe(0);
		await tabs[2]!.evaluate(async () => window.demo.login());
		const signedInAt = Date.now();
		await sleep(3500 - (Date.now() - signedInAt));
		// One beat a second for the origin: 3 in 3.5 s (one late timer: 2); five tabs beating each would make 15.
		const stats = server.stats();
		expect(stats.heartbeats).toBeGreaterThanOrEqual(2);
		expect(stats.heartbeats).toBeLessThanOrEqual(4);
		expect(stats).toMatchObject({rejectedRequests: 0, refreshCalls: 0, apiRequests: stats.heartbeats});
		expectAgreement(await readStates(tabs), 1);
		expect(scenario.pageErrors).toEqual([]);
		report('7. heartbeat, 5 tabs, 1 s, 3.5 s', {heartbeats: stats.heartbeats});
	});

	// --- 8. the bearer stays home ---------------------------------------------------------------

	it('8. the bearer token is not sent to another origin, and is sent to its own', async () => {
		const scenario = await begin('origins', {server: {accessTtl: 600}});
		const {server} = scenario;
		const [tab] = await scenario.openMany(1);
		await loginIn(scenario, tab!);
		// localhost and 127.0.0.1 are different origins (same server).
		const foreign = `http://localhost:${server.port}/api/echo-headers`;
		expect(await apiGet(tab!, foreign)).toEqual({ok: true, body: {authorization: null}});
		expect(server.stats().foreignAuthorization).toBe(0);

		// Own origin: the bearer is attached (/api/echo answers 200 only with a valid one).
		expect(await apiGet(tab!, '/api/echo')).toEqual({ok: true, body: {method: 'GET', body: {}}});
		expect(server.stats()).toMatchObject({apiOk: 1, rejectedRequests: 0});

		// The measurement can fail: a bearer that does go to the other origin is seen and counted.
		const control = await tab!.evaluate(async url => {
			const response = await fetch(url, {headers: {authorization: 'Bearer control'}});
			return response.json() as Promise<unknown>;
		}, foreign);
		expect(control).toEqual({authorization: 'Bearer control'});
		expect(server.stats().foreignAuthorization).toBe(1);
		expect(scenario.pageErrors).toEqual([]);
	});

	// --- 9. the idle limit ---------------------------------------------------------------------

	it('9. idleTimeout 4 s: mouse input in one follower keeps three tabs signed in; without it every tab is warned, then signed out with reason idle, and nothing refreshes after', async () => {
		const idle = 4000;
		const scenario = await begin('idle', {server: {accessTtl: 2}, query: {idle, idleWarning: 1500}});
		const {server} = scenario;
		const tabs = await scenario.openMany(3);
		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			await tab.evaluate(() => {
				const seen: Array<{type: string; at: number; reason?: string; idleAt?: number}> = [];
				(window as unknown as {idleEvents: typeof seen}).idleEvents = seen;
				for (const type of ['idle-warning', 'active', 'logout'] as const) {
					window.demo.session.on(type, event => {
						seen.push({...event, at: Date.now()});
					});
				}
			});
		}

		await loginIn(scenario, tabs[0]!);
		const states = await readStates(tabs);
		const follower = tabs[states.findIndex(state => state.role === 'follower')]!;
		// 6 s of a mouse moving over one follower (1.5 limits, 3 token lifetimes), then one burst everywhere.
		const activeUntil = Date.now() + 6000;
		for (let step = 0; Date.now() < activeUntil; step++) {
			// eslint-disable-next-line no-await-in-loop
			await follower.mouse.move(20 + (step % 200), 20 + (step % 150));
			// eslint-disable-next-line no-await-in-loop
			await sleep(100);
		}

		const bursts = await Promise.all(tabs.map(async tab => burstAt(tab, Date.now() + 50, burstSize)));
		expectAllOk(bursts);
		// A request is activity when it goes out (not when its answer comes).
		const lastActivity = Math.max(...bursts.map(burst => burst.startedAt));
		const idleEvents = async () => Promise.all(tabs.map(async tab =>
			tab.evaluate(() => (window as unknown as {idleEvents: Array<{type: string; at: number; reason?: string; idleAt?: number}>}).idleEvents)));
		expect(await idleEvents()).toEqual([[], [], []]);
		for (const state of await readStates(tabs)) {
			expect(state.status).not.toBe('unauthenticated');
		}

		const active = server.stats();
		// A refresh every 1.5 s (2-s tokens) while the mouse moved.
		expect(active.refreshCalls).toBeGreaterThanOrEqual(3);
		expect(active).toMatchObject({reuseDetections: 0, refreshRejected: 0, maxRefreshInFlight: 1});

		// No input and no request: every tab signs out one limit after the last activity.
		const {value: ended} = await waitFor('every tab signed out for idleness', async () => readStates(tabs),
			found => found.every(state => state.status === 'unauthenticated'), {timeout: idle + 10_000, interval: 100});
		const endedAt = Date.now();
		for (const state of ended) {
			expect(state).toMatchObject({status: 'unauthenticated', endReason: 'idle'});
		}

		// Not before the limit; the bound above it is generous (timers, two shared cores).
		expect(endedAt - lastActivity).toBeGreaterThanOrEqual(idle);
		expect(endedAt - lastActivity).toBeLessThan(idle + 5000);
		for (const events of await idleEvents()) {
			expect(events.map(event => event.type)).toEqual(['idle-warning', 'logout']);
			const [warning, logout] = events;
			expect(logout!.reason).toBe('idle');
			expect(logout!.at - warning!.at).toBeGreaterThanOrEqual(1000);
			expect(warning!.idleAt).toBeGreaterThanOrEqual(lastActivity);
		}

		// Nothing refreshes an ended session (longer than a token lifetime), and requests say why.
		const refreshCalls = server.stats().refreshCalls;
		await sleep(2500);
		expect(server.stats().refreshCalls).toBe(refreshCalls);
		expect(await apiGet(tabs[1]!, '/api/orders')).toEqual({ok: false, code: 'LOGGED_OUT'});
		await expectNoFailures(tabs, burstSize);
		expect(scenario.pageErrors).toEqual([]);
		report('9. idle limit 4 s', {refreshCallsWhileActive: active.refreshCalls, endedAfterLastActivityMs: endedAt - lastActivity});
	});
});
