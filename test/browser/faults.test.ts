// Faults in real Chromium tabs (issue 5): a crashed or stuck leader, a broken
// or silent refresh endpoint, the network going away, hostile frames on the
// channel and junk in storage, an app aborting a paused request, request
// bodies across the 401 retry, and tokens kept out of messages and logs.
// Each scenario asserts the server's counters and every tab's outcome; no
// scenario may leave a page error behind. Bounds are generous: another job
// may share this machine's two cores.
import type {Page} from 'playwright-core';
import {describe, expect, it} from 'vitest';
import {
	burstAt,
	checkPrerequisites,
	expectAgreement,
	loginIn,
	leaders,
	readResults,
	readState,
	readStates,
	requestsAt as outcomesAt,
	sleep,
	useScenarios,
	waitFor,
	within,
	type ExampleServer,
	type RequestOutcome,
	type Scenario,
	type ServerStats,
	type TimedBurst,
} from './harness.js';

const {run} = checkPrerequisites();
const suite = run ? describe : describe.skip;

// --- the server's fault injection (examples/server.mjs) -------------------------

type FaultMode = 500 | 502 | 503 | 'html' | 'invalid-json' | 'no-access-token' | 'hang';

interface EchoedBody {
	id: string | null;
	method: string;
	contentType: string | null;
	length: number;
	sha256: string;
	canonicalSha256: string;
	authorized: boolean;
}

interface FaultServer extends ExampleServer {
	stats(): ServerStats & {refreshFaults: number};
	failNext(...modes: FaultMode[]): FaultMode[];
	/** Every refresh call answers with `mode` until `outage(null)`. */
	outage(mode: FaultMode | null): void;
	pendingFaults(): FaultMode[];
	faults(): Array<{mode: FaultMode; at: number; secrets: string[]}>;
	bodies(): EchoedBody[];
}

const faultServer = (scenario: Scenario) => scenario.server as FaultServer;

// --- per-request outcomes ----------------------------------------------------------

interface TimedRequests {
	startedAt: number;
	settledAt: number;
	outcomes: RequestOutcome[];
}

/** `n` concurrent GETs through `demo.session.api`, fired at `at` by the tab's clock; each one's outcome, and when they went out and settled. */
async function requestsAt(page: Page, at: number, n: number, path = '/api/orders'): Promise<TimedRequests> {
	const outcomes = await outcomesAt(page, at, n, path);
	return {
		startedAt: Math.min(...outcomes.map(outcome => outcome.sentAt)),
		settledAt: Math.max(...outcomes.map(outcome => outcome.sentAt + outcome.ms)),
		outcomes,
	};
}

const slowest = (runs: ReadonlyArray<{startedAt: number; settledAt: number}>) =>
	Math.max(...runs.map(entry => entry.settledAt - entry.startedAt));

/** The session record a tab reads from localStorage (null when absent). */
async function storedRecord(page: Page, key: string): Promise<{raw: string | null; tokens: {accessToken: string; refreshToken: string | null} | null}> {
	return page.evaluate(key => {
		const raw = localStorage.getItem(key);
		try {
			const parsed = JSON.parse(raw ?? 'null') as {record?: {tokens?: {accessToken: string; refreshToken: string | null} | null}} | null;
			return {raw, tokens: parsed?.record?.tokens ?? null};
		} catch {
			return {raw, tokens: null};
		}
	}, key);
}

suite('tab-session in Chromium under faults', () => {
	const {begin, report} = useScenarios('faults');

	const expectAllOk = (bursts: readonly TimedBurst[], size: number) => {
		for (const burst of bursts) {
			expect({ok: burst.ok, failed: burst.failed, errors: burst.errors}).toEqual({ok: size, failed: 0, errors: []});
		}
	};

	const burstEverywhere = async (tabs: readonly Page[], size: number, delay = 50) => {
		const at = Date.now() + delay;
		return Promise.all(tabs.map(async tab => burstAt(tab, at, size)));
	};

	/** Polls one request in `page` until it succeeds; resolves with the attempts it took and the elapsed ms. */
	const untilRecovered = async (page: Page, timeout: number) => {
		const attempts: string[] = [];
		const {elapsed} = await waitFor('a request to succeed again', async () => {
			const [outcome] = (await requestsAt(page, 0, 1)).outcomes;
			attempts.push(outcome!.ok ? 'ok' : outcome!.code ?? outcome!.name ?? '?');
			return outcome!.ok;
		}, ok => ok, {timeout, interval: 250});
		return {attempts, elapsed};
	};

	// --- 1. the leader's renderer crashes mid-refresh ------------------------------------------

	/** Crashes the leader's renderer while its refresh call is held at the server; the other tabs burst meanwhile. */
	async function crashLeaderMidRefresh(graceWindow: number) {
		const pauseTimeout = 8000;
		const burstSize = 10;
		const scenario = await begin('crash', {server: {accessTtl: 3, graceWindow}, query: {leeway: 0, pause: pauseTimeout}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(4);
		await loginIn(scenario, tabs[0]!);
		server.config({refreshDelay: 1500});
		const [leader] = await leaders(tabs);
		const remaining = tabs.filter(tab => tab !== leader);
		const {expiresAt} = await readState(leader!);

		// The leader refreshes at expiry (leeway 0); every other tab bursts at that moment.
		const pending = remaining.map(async tab => burstAt(tab, expiresAt!, burstSize));
		await waitFor('the leader\'s refresh call to reach the server', () => server.stats().refreshCalls,
			calls => calls >= 1, {timeout: expiresAt! - Date.now() + 5000, interval: 5});
		const refreshStartedAt = server.stats().refreshTimes[0]!;
		// Inside the 1.5 s the server holds the call, and late enough that it has read the refresh token.
		await sleep(100);

		const crashed = new Promise<number>(resolve => {
			leader!.once('crash', () => {
				resolve(Date.now());
			});
		});
		const cdp = await scenario.context.newCDPSession(leader!);
		// Its call is still unanswered as it dies.
		const answeredBeforeCrash = server.stats().refreshOk;
		const crashSentAt = Date.now();
		// The renderer dies before it can answer: never await the command itself.
		void cdp.send('Page.crash').catch(() => undefined);
		const crashedAt = await within('the leader\'s crash', 10_000, crashed);
		expect(answeredBeforeCrash).toBe(0);

		const {value: next} = await waitFor('a new leader', async () => leaders(remaining),
			found => found.length > 0, {timeout: 5000, interval: 10});
		const crashToLeaderMs = Date.now() - crashSentAt;
		console.info(`[faults] 1. leader renderer crashed: new leader ${crashToLeaderMs} ms after the crash was sent (${Date.now() - crashedAt} ms after the crash event)`);
		expect(next).toHaveLength(1);
		await scenario.closeTab(leader!);

		// Invariant 2: every request settles within pauseTimeout plus a margin for the request itself.
		const bursts = await within('the bursts of the remaining tabs', pauseTimeout + 5000, Promise.all(pending));
		for (const burst of bursts) {
			expect(burst.settledAt - burst.startedAt).toBeLessThan(pauseTimeout + 2000);
		}

		return {scenario, server, remaining, bursts, burstSize, crashToLeaderMs, crashSentAt, refreshStartedAt};
	}

	it('1. the leader\'s renderer crashes while its refresh is in flight (grace window 10 s): nothing hangs, nobody is logged out', async () => {
		const {scenario, server, remaining, bursts, burstSize, crashToLeaderMs, crashSentAt, refreshStartedAt} = await crashLeaderMidRefresh(10);
		expectAllOk(bursts, burstSize);
		const {value: states} = await waitFor('the remaining tabs to agree', async () => readStates(remaining),
			found => found.every(state => state.status === 'authenticated' && state.generation === 2), {timeout: 5000});
		expectAgreement(states, 2);

		// The dead leader's call completed at the server; the new leader's repeat of
		// its refresh token was answered from the grace window: nobody signed out.
		expect(server.stats()).toMatchObject({refreshCalls: 2, refreshOk: 2, graceReuses: 1, reuseDetections: 0, refreshRejected: 0});

		// A working token everywhere, without another refresh.
		expectAllOk(await burstEverywhere(remaining, burstSize), burstSize);
		expect(server.stats().refreshCalls).toBe(2);
		for (const results of await Promise.all(remaining.map(readResults))) {
			expect({sent: results.sent, ok: results.ok, failed: results.failed}).toEqual({sent: 2 * burstSize, ok: 2 * burstSize, failed: 0});
		}

		expect(scenario.pageErrors).toEqual([]);
		report('1. leader renderer crash mid-refresh, grace 10 s', {
			crashToNewLeaderMs: crashToLeaderMs,
			refreshStartToCrashMs: crashSentAt - refreshStartedAt,
			slowestBurstMs: slowest(bursts),
		});
	});

	it('1b. the same crash without a grace window: nothing hangs, and every tab ends signed out consistently', async () => {
		const {scenario, server, remaining, bursts} = await crashLeaderMidRefresh(0);
		// The dead leader's call spent the refresh token; the new leader's repeat is a reuse: the family is revoked.
		const errors = bursts.flatMap(burst => burst.errors);
		expect(errors.every(code => code === 'LOGGED_OUT')).toBe(true);
		const {value: states} = await waitFor('the remaining tabs to end signed out', async () => readStates(remaining),
			found => found.every(state => state.status === 'unauthenticated'), {timeout: 5000});
		expect(states.every(state => state.endReason === 'refresh-rejected')).toBe(true);
		expect(server.stats()).toMatchObject({refreshCalls: 2, refreshOk: 1, reuseDetections: 1});
		expect(scenario.pageErrors).toEqual([]);
	});

	// --- 2. the leader is alive but stuck -------------------------------------------------------

	it('2. the leader\'s main thread is blocked: followers refresh under the Web Lock, once, and every tab converges', async () => {
		const blockMs = 5000;
		const burstSize = 10;
		const scenario = await begin('blocked', {server: {accessTtl: 600}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(4);
		await loginIn(scenario, tabs[0]!);
		expectAllOk(await burstEverywhere(tabs, burstSize), burstSize);
		const [leader] = await leaders(tabs);
		const followers = tabs.filter(tab => tab !== leader);
		const signal = `block-${scenario.ns}`;

		// The followers learn that the leader's loop has begun from the leader itself.
		await Promise.all(followers.map(async tab => tab.evaluate(signal => {
			(window as unknown as {leaderBlocked: Promise<void>}).leaderBlocked = new Promise(resolve => {
				const channel = new BroadcastChannel(signal);
				channel.addEventListener('message', () => {
					channel.close();
					resolve();
				});
			});
		}, signal)));

		server.revokeAll();
		const blocked = leader!.evaluate(({ms, signal}) => {
			const channel = new BroadcastChannel(signal);
			channel.postMessage('blocked');
			channel.close();
			const start = Date.now();
			// eslint-disable-next-line no-empty
			while (Date.now() - start < ms) {}
			return {start, end: Date.now()};
		}, {ms: blockMs, signal});
		const bursts = await Promise.all(followers.map(async tab => tab.evaluate(async size => {
			await (window as unknown as {leaderBlocked: Promise<void>}).leaderBlocked;
			const startedAt = Date.now();
			const summary = await window.demo.burst(size);
			return {...summary, startedAt, settledAt: Date.now()};
		}, burstSize)));
		const {start, end} = await within('the leader\'s busy loop', blockMs + 10_000, blocked);

		expectAllOk(bursts, burstSize);
		// The followers had their fresh token while the leader was still stuck (leaderTimeout 2 s).
		for (const burst of bursts) {
			expect(burst.settledAt).toBeLessThan(end);
		}

		const [refreshAt] = server.stats().refreshTimes;
		expect(refreshAt).toBeGreaterThan(start);
		expect(refreshAt).toBeLessThan(end);

		// Once unblocked the leader catches up (it reads the messages it missed) without a refresh of its own.
		const {value: states} = await waitFor('every tab on generation 2', async () => readStates(tabs),
			found => found.every(state => state.status === 'authenticated' && state.generation === 2), {timeout: 5000});
		expectAgreement(states, 2);
		expectAllOk(await burstEverywhere(tabs, burstSize), burstSize);

		const stats = server.stats();
		expect(stats).toMatchObject({refreshCalls: 1, refreshOk: 1, reuseDetections: 0, graceReuses: 0, refreshRejected: 0, maxRefreshInFlight: 1});
		// Each follower's request met a 401 (the revocation) and was retried once with the new token.
		expect(stats.rejectedRequests).toBeGreaterThan(0);
		expect(stats.apiOk).toBe(2 * tabs.length * burstSize + (followers.length * burstSize));
		expect(stats.apiRequests).toBe(stats.apiOk + stats.rejectedRequests);
		for (const results of await Promise.all(tabs.map(readResults))) {
			expect({failed: results.failed, errors: results.errors}).toEqual({failed: 0, errors: []});
		}

		expect(scenario.pageErrors).toEqual([]);
		report('2. leader blocked 5 s', {
			followersServedAfterMs: Math.max(...bursts.map(burst => burst.settledAt)) - start,
			refreshAfterBlockMs: refreshAt! - start,
			rejected401s: stats.rejectedRequests,
		});
	});

	// --- 3. the refresh endpoint misbehaves ---------------------------------------------------------

	// A 5xx is retried within a run (refreshRetries 2: three attempts); an answer a retry cannot
	// change (an HTML page, a body that is not JSON, no access token) ends the run at its first attempt.
	// The endpoint answers with the fault for as long as the outage lasts, so a request whose 401
	// comes late enough to wait for the attempt after the cooldown meets the same answer there.
	const faultCases: Array<{mode: FaultMode; status: number; attempts: number}> = [
		{mode: 500, status: 500, attempts: 3},
		{mode: 502, status: 502, attempts: 3},
		{mode: 503, status: 503, attempts: 3},
		{mode: 'html', status: 200, attempts: 1},
		{mode: 'invalid-json', status: 200, attempts: 1},
		{mode: 'no-access-token', status: 200, attempts: 1},
	];

	it.each(faultCases)('3. refresh endpoint answers $mode to every attempt: typed REFRESH_FAILED, session kept, recovers', async ({mode, status, attempts}) => {
		// Longer than the first failed run, so that no request's pause ends while that run is under way:
		// once a run has failed, a request that cannot be served gets the run's error, not PAUSE_TIMEOUT.
		// Three attempts take 1.5 s of backoff plus the calls; measured up to 1,979 ms with 2,000 here, and
		// over 2 s with another browser busy beside this one. One attempt takes a call.
		const pauseTimeout = attempts === 1 ? 900 : 3500;
		const size = 5;
		const scenario = await begin(`fault-${mode}`, {server: {accessTtl: 600}, query: {pause: pauseTimeout}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		await loginIn(scenario, tabs[0]!);

		server.outage(mode);
		server.revokeAll();
		const at = Date.now() + 50;
		const runs = await within('requests during the outage', pauseTimeout + 10_000,
			Promise.all(tabs.map(async tab => requestsAt(tab, at, size))));
		for (const {outcomes} of runs) {
			for (const outcome of outcomes) {
				expect(outcome).toMatchObject({ok: false, code: 'REFRESH_FAILED', name: 'RefreshFailedError', status});
				expect(outcome.ms).toBeLessThan(pauseTimeout + 2000);
			}
		}

		// No request waits any more, so no run starts after the one under way (if any) ends.
		const {value: states} = await waitFor('no refresh under way', async () => readStates(tabs),
			found => found.every(state => state.status !== 'refreshing'), {timeout: 10_000});
		for (const state of states) {
			// Signed in everywhere, the failure on record.
			expect(state).toMatchObject({status: 'authenticated', generation: 1, endReason: null, lastError: 'REFRESH_FAILED'});
		}

		// Whole runs of `attempts` calls, one call at a time, none answered with tokens.
		const failed = server.stats();
		expect(failed).toMatchObject({refreshOk: 0, refreshRejected: 0, maxRefreshInFlight: 1, refreshFaults: failed.refreshCalls});
		expect(failed.refreshCalls).toBeGreaterThanOrEqual(attempts);
		expect(failed.refreshCalls % attempts).toBe(0);

		// The endpoint works again: after the failure cooldown the next request refreshes and succeeds.
		server.outage(null);
		const recovery = await untilRecovered(tabs[1]!, 15_000);
		expectAllOk(await burstEverywhere(tabs, size), size);
		expectAgreement(await readStates(tabs), 2);
		expect(server.stats()).toMatchObject({refreshCalls: failed.refreshCalls + 1, refreshOk: 1, reuseDetections: 0, refreshRejected: 0});
		expect(scenario.pageErrors).toEqual([]);
		report(`3. refresh endpoint ${mode}`, {
			failedRuns: failed.refreshCalls / attempts,
			slowestFailureMs: Math.max(...runs.flatMap(entry => entry.outcomes.map(outcome => outcome.ms))),
			recoveredAfterMs: recovery.elapsed,
			recoveryAttempts: recovery.attempts,
		});
	});

	it('3b. one 503 then a good answer: retried inside the refresh, no request fails', async () => {
		const size = 5;
		const scenario = await begin('fault-503-once', {server: {accessTtl: 600}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		await loginIn(scenario, tabs[0]!);
		server.failNext(503);
		server.revokeAll();
		expectAllOk(await burstEverywhere(tabs, size), size);
		expectAgreement(await readStates(tabs), 2);
		expect(server.stats()).toMatchObject({refreshCalls: 2, refreshFaults: 1, refreshOk: 1, reuseDetections: 0});
		expect(scenario.pageErrors).toEqual([]);
	});

	it('3c. the refresh endpoint never answers: requests end with PAUSE_TIMEOUT, the session is kept, the retry after refreshTimeout recovers', async () => {
		// Defaults: refreshTimeout 10 s per attempt, 3 attempts. A call that hangs on every
		// attempt fails the refresh only after ~31.5 s, too long here; the first attempt hangs.
		const pauseTimeout = 3000;
		const size = 5;
		const scenario = await begin('fault-hang', {server: {accessTtl: 600}, query: {pause: pauseTimeout}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		await loginIn(scenario, tabs[0]!);

		server.failNext('hang');
		server.revokeAll();
		const hangStartedAt = Date.now();
		const at = Date.now() + 50;
		const runs = await within('requests while the refresh hangs', pauseTimeout + 10_000,
			Promise.all(tabs.map(async tab => requestsAt(tab, at, size))));
		for (const {outcomes} of runs) {
			for (const outcome of outcomes) {
				expect(outcome).toMatchObject({ok: false, code: 'PAUSE_TIMEOUT', name: 'PauseTimeoutError'});
				expect(outcome.ms).toBeLessThan(pauseTimeout + 2000);
			}
		}

		expect(server.stats()).toMatchObject({refreshCalls: 1, refreshFaults: 1, refreshOk: 0, refreshInFlight: 1});
		for (const state of await readStates(tabs)) {
			expect(state.status).not.toBe('unauthenticated');
			expect(state).toMatchObject({generation: 1, endReason: null});
		}

		// The SDK gives up on the silent call after refreshTimeout and tries again: that one is answered.
		const recovery = await untilRecovered(tabs[0]!, 25_000);
		const recoveredAfterMs = Date.now() - hangStartedAt;
		expectAllOk(await burstEverywhere(tabs, size), size);
		expectAgreement(await readStates(tabs), 2);
		expect(server.stats()).toMatchObject({refreshCalls: 2, refreshFaults: 1, refreshOk: 1, refreshInFlight: 0, maxRefreshInFlight: 1, reuseDetections: 0});
		expect(scenario.pageErrors).toEqual([]);
		report('3c. refresh endpoint hangs (first attempt)', {recoveredAfterMs, recoveryAttempts: recovery.attempts});
	});

	// --- 4. offline, then online -----------------------------------------------------------------------

	/**
	 * Three tabs go offline with a valid token, then stay offline past its expiry
	 * while the leader's refreshes fail, and come back online just after one of
	 * those failures (so its failure cooldown has begun).
	 */
	const offlineThenOnline = async () => {
		const pauseTimeout = 5000;
		const size = 5;
		const scenario = await begin('offline', {server: {accessTtl: 4}, query: {leeway: 0, pause: pauseTimeout}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		const signedIn = await loginIn(scenario, tabs[0]!);
		expectAllOk(await burstEverywhere(tabs, size), size);
		const onLine = async () => Promise.all(tabs.map(async tab => tab.evaluate(() => navigator.onLine)));

		await scenario.context.setOffline(true);
		await waitFor('every tab offline', onLine, found => found.every(online => !online), {timeout: 5000});
		// The token is still valid: the requests go out and fail at the network (ky's own TypeError after its retries).
		const offline = await within('requests while offline', 15_000, Promise.all(tabs.map(async tab => requestsAt(tab, 0, size))));
		for (const {outcomes} of offline) {
			for (const outcome of outcomes) {
				expect(outcome).toMatchObject({ok: false, code: null, name: 'TypeError'});
				expect(outcome.ms).toBeLessThan(10_000);
			}
		}

		// The token expires while offline: the leader's refreshes cannot reach the server.
		await sleep(signedIn.expiresAt! + 2500 - Date.now());
		const expired = await within('requests after expiry, offline', pauseTimeout + 10_000,
			Promise.all(tabs.map(async tab => requestsAt(tab, 0, size))));
		for (const {outcomes} of expired) {
			for (const outcome of outcomes) {
				expect(outcome.ok).toBe(false);
				expect(['REFRESH_FAILED', 'PAUSE_TIMEOUT']).toContain(outcome.code);
				expect(outcome.ms).toBeLessThan(pauseTimeout + 2000);
			}
		}

		for (const state of await readStates(tabs)) {
			expect(state.status).not.toBe('unauthenticated');
			expect(state).toMatchObject({generation: 1, endReason: null});
		}

		expect(server.stats()).toMatchObject({refreshCalls: 0, apiOk: tabs.length * size});

		const [leader] = await leaders(tabs);
		await waitFor('an offline refresh under way', async () => readState(leader!), state => state.status === 'refreshing', {timeout: 15_000});
		await waitFor('the offline refresh to fail', async () => readState(leader!), state => state.status !== 'refreshing', {timeout: 15_000});
		for (const state of await readStates(tabs)) {
			expect(state).toMatchObject({status: 'authenticated', generation: 1, lastError: 'REFRESH_FAILED'});
		}

		await scenario.context.setOffline(false);
		const backOnlineAt = Date.now();
		await waitFor('every tab online', onLine, found => found.every(Boolean), {timeout: 5000});
		return {scenario, server, tabs, size, backOnlineAt};
	};

	it('4. offline then online: network errors while offline, the session stays; the first burst back online refreshes once and succeeds', async () => {
		const {scenario, server, tabs, size, backOnlineAt} = await offlineThenOnline();
		const bursts = await burstEverywhere(tabs, size, 0);
		report('4. first burst after online', {
			onlineToSettledMs: Math.max(...bursts.map(burst => burst.settledAt)) - backOnlineAt,
			errors: [...new Set(bursts.flatMap(burst => burst.errors))],
			refreshCalls: server.stats().refreshCalls,
		});
		expectAllOk(bursts, size);
		expectAgreement(await readStates(tabs), 2);
		expect(server.stats()).toMatchObject({refreshCalls: 1, refreshOk: 1, reuseDetections: 0, refreshRejected: 0});
		expect(scenario.pageErrors).toEqual([]);
	});

	// --- 5. hostile channel and storage -----------------------------------------------------------------

	it('5. garbage on the channel and corrupt storage: ignored, no page error, sessions keep working', async () => {
		const size = 5;
		const scenario = await begin('hostile', {server: {accessTtl: 600}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		const signedIn = await loginIn(scenario, tabs[0]!);
		const channelName = `tab-session:${scenario.ns}`;
		const [leaderBefore] = await leaders(tabs);

		// Posted from a tab on the channel's own name: every tab's session (the sender's included) receives them.
		const replies = await tabs[1]!.evaluate(async name => {
			const now = Date.now() * 1000;
			const emptyToken = {accessToken: '', refreshToken: 'rt_forged', expiresAt: null, issuedAt: 1};
			const goodTokens = {accessToken: 'at_forged', refreshToken: 'rt_forged', expiresAt: null, issuedAt: 1};
			const frames: unknown[] = [
				null, 'x', 42, [], {},
				{type: 'message', time: now, data: null},
				{type: 'internal', time: 1, data: null},
				{type: 'internal', time: now, data: 'x'},
				{type: 'internal', time: now, data: {}},
				{type: 'internal', time: now, data: {context: 'leader', action: 'tell', token: 'forged'}},
				{type: 'internal', time: now, data: {context: 'leader', action: 'apply', token: 'forged'}},
				{type: 'message', data: {}},
				// What broadcast-channel sends (a tab of a deploy from before the session had its own channel).
				{type: 'message', time: now, data: {v: 2, from: 'evil', kind: 'hello'}},
				// Well-formed for protocol version 1 (a tab of an older deploy): ignored, not adopted.
				{v: 1, from: 'evil', kind: 'logout', record: {generation: 99, writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 1, from: 'evil', kind: 'tokens', record: {generation: 99, writer: 'zz', tokens: goodTokens, ended: null}},
				// Version 2 without a session and an epoch.
				{v: 2, from: 'evil', kind: 'logout', record: {generation: 99, writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'tokens', record: {generation: 99, writer: 'zz', tokens: goodTokens, ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: emptyToken, ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: {...goodTokens, accessToken: 'a b'}, ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: goodTokens, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'logout', record: {epoch: 1, session: 'forged', generation: 1.5, writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'logout', record: {epoch: 1, session: 'forged', generation: -1, writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'logout', record: {epoch: 1, session: 'forged', generation: '99', writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'logout', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: null, ended: 'hacked'}},
				{v: 2, from: '', kind: 'logout', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: null, ended: 'logout'}},
				{v: 2, from: 'evil', kind: 'refresh-failed', of: {epoch: 1, session: 'forged', generation: 1}, status: 'x', message: 5},
				{v: 2, from: 'evil', kind: 'refreshing', of: {epoch: 1, session: 'forged', generation: -3}},
				{v: 2, from: 'evil', kind: 'refresh-request', of: {epoch: 1, session: 'forged', generation: 'all'}},
				{v: 2, from: 'evil', kind: 'state', to: 'x', record: null, refreshing: 1},
				{v: 2, from: 'evil', kind: 'no-such-kind'},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: {...goodTokens, accessToken: 'a'.repeat(20_000)}, ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: Number.MAX_SAFE_INTEGER + 2, writer: 'zz', tokens: goodTokens, ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'zz', tokens: [goodTokens], ended: null}},
				{v: 2, from: 'evil', kind: 'tokens', record: {epoch: 1, session: 'forged', generation: 99, writer: 'z'.repeat(65), tokens: goodTokens, ended: null}},
			];
			const channel = new BroadcastChannel(name);
			const answers: unknown[] = [];
			channel.addEventListener('message', event => {
				const data = (event as MessageEvent).data as {kind?: unknown; to?: unknown} | null;
				// The tabs' other messages (the election's heartbeats, say) are not answers to the probe.
				if (data?.kind === 'state' && data.to === 'probe') {
					answers.push(data);
				}
			});
			for (const value of frames) {
				channel.postMessage(value);
			}

			// A well-formed hello last: the tabs' answers prove that the garbage before it (same
			// sender, so delivered first) was received and did not kill their channel.
			channel.postMessage({v: 2, from: 'probe', kind: 'hello'});
			const deadline = Date.now() + 3000;
			while (answers.length < 3 && Date.now() < deadline) {
				// eslint-disable-next-line no-await-in-loop
				await new Promise(resolve => {
					setTimeout(resolve, 20);
				});
			}

			channel.close();
			return answers.map(answer => {
				const data = answer as {kind?: unknown; to?: unknown; record?: {generation?: unknown}};
				return {kind: data.kind, to: data.to, generation: data.record?.generation};
			});
		}, channelName);
		// Every open tab answered the probe's hello with the unchanged state.
		expect(replies).toEqual(tabs.map(() => ({kind: 'state', to: 'probe', generation: 1})));

		let states = await readStates(tabs);
		expectAgreement(states, 1);
		expect(states[0]!.expiresAt).toBe(signedIn.expiresAt);
		// Forged election frames (broadcast-channel's `tell` and `apply`) do not move leadership: the Web Lock decides.
		expect(await leaders(tabs)).toEqual([leaderBefore]);

		// Corrupt or foreign values under the session's key: a live tab that looks at storage
		// (here on `focus`, as on every wake-up) drops them and keeps its session.
		const validRecord = {generation: 50, writer: 'zz', tokens: {accessToken: 'at_x', refreshToken: 'rt_x', expiresAt: null, issuedAt: 1}, ended: null};
		const corrupt = [
			'not json', '{', 'null', '42', '"text"', '[]', '{}', 'undefined',
			JSON.stringify({v: 2, record: validRecord}),
			JSON.stringify({record: validRecord}),
			JSON.stringify({v: 1, record: {...validRecord, tokens: {...validRecord.tokens, accessToken: ''}}}),
			JSON.stringify({v: 1, record: {...validRecord, ended: 'logout'}}),
			JSON.stringify({v: 1, record: {...validRecord, generation: -2}}),
			JSON.stringify({v: 1, record: {...validRecord, writer: ''}}),
			JSON.stringify({v: 1, record: {...validRecord, tokens: {...validRecord.tokens, issuedAt: 'yesterday'}}}),
			'x'.repeat(200_000),
		];
		const cleared = await tabs[2]!.evaluate(({key, corrupt}) => corrupt.map(value => {
			localStorage.setItem(key, value);
			window.dispatchEvent(new Event('focus'));
			return localStorage.getItem(key);
		}), {key: scenario.storageKey, corrupt});
		expect(cleared).toEqual(corrupt.map(() => null));
		states = await readStates(tabs);
		expectAgreement(states, 1);

		// A tab that loads with a corrupt value: it clears it and learns the session from the open tabs.
		await tabs[1]!.evaluate(key => {
			localStorage.setItem(key, '{"v":1,"record":{"generation":');
		}, scenario.storageKey);
		await tabs[1]!.reload();
		await tabs[1]!.evaluate(async () => window.demo.ready);
		const {value: reloaded} = await waitFor('the reloaded tab signed in', async () => readStates(tabs),
			found => found.every(state => state.status === 'authenticated' && state.generation === 1), {timeout: 5000});
		expectAgreement(reloaded, 1);
		const stored = await storedRecord(tabs[0]!, scenario.storageKey);
		// Cleared, or replaced by a valid record: never left corrupt.
		expect(stored.raw === null || stored.tokens !== null).toBe(true);

		expectAllOk(await burstEverywhere(tabs, size), size);
		expect(server.stats()).toMatchObject({logins: 1, refreshCalls: 0, rejectedRequests: 0, apiOk: tabs.length * size});
		expect(scenario.pageErrors).toEqual([]);
		report('5. hostile channel and storage', {storedAfterReload: stored.raw === null ? 'cleared' : 'valid record'});
	});

	// --- 6. the app aborts a paused request -------------------------------------------------------------

	it('6. a request paused by a slow refresh and aborted by the app rejects at once with AbortError; the others succeed', async () => {
		const scenario = await begin('abort', {server: {accessTtl: 3}, query: {leeway: 0, pause: 8000}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(2);
		const signedIn = await loginIn(scenario, tabs[0]!);
		server.config({refreshDelay: 1500});

		// The leader refreshes at expiry; the server holds the call for 1.5 s.
		await waitFor('the refresh to be in flight', () => server.stats().refreshInFlight, count => count === 1,
			{timeout: signedIn.expiresAt! - Date.now() + 5000, interval: 5});
		const outcomes = await Promise.all(tabs.map(async tab => tab.evaluate(async () => {
			const {api} = window.demo.session;
			const settle = async (promise: Promise<unknown>) => promise.then(() => 'ok', (error: {code?: string; name?: string}) => error.code ?? error.name ?? 'error');
			const others = Array.from({length: 5}, async () => settle(api.get('/api/orders').json()));

			// Aborted at once, as in the app's own code.
			const immediate = new AbortController();
			let started = performance.now();
			const pending = api.get('/api/orders', {signal: immediate.signal}).json();
			immediate.abort();
			const first = await pending.then(
				() => ({name: 'resolved', ms: performance.now() - started}),
				(error: {name?: string}) => ({name: error.name ?? 'error', ms: performance.now() - started}),
			);

			// Aborted while it is held by the pause gate.
			const later = new AbortController();
			const paused = api.get('/api/orders', {signal: later.signal}).json();
			await new Promise(resolve => {
				setTimeout(resolve, 200);
			});
			const statusWhilePaused = window.demo.session.getState().status;
			started = performance.now();
			later.abort();
			const second = await paused.then(
				() => ({name: 'resolved', ms: performance.now() - started}),
				(error: {name?: string}) => ({name: error.name ?? 'error', ms: performance.now() - started}),
			);
			return {first, second, statusWhilePaused, others: await Promise.all(others)};
		})));

		for (const outcome of outcomes) {
			expect(outcome.statusWhilePaused).toBe('refreshing');
			for (const aborted of [outcome.first, outcome.second]) {
				expect(aborted.name).toBe('AbortError');
				expect(aborted.ms).toBeLessThan(200);
			}

			expect(outcome.others).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
		}

		expectAgreement(await readStates(tabs), 2);
		// The aborted requests never reached the server; the others went out once, with the new token.
		expect(server.stats()).toMatchObject({refreshCalls: 1, refreshOk: 1, apiRequests: 10, apiOk: 10, rejectedRequests: 0});
		expect(scenario.pageErrors).toEqual([]);
		report('6. abort of a paused request', {abortToRejectMs: outcomes.flatMap(outcome => [outcome.first.ms, outcome.second.ms].map(ms => Math.round(ms * 10) / 10))});
	});

	// --- 7. request bodies across the 401 retry ------------------------------------------------------------

	it('7. POST, PUT and PATCH with JSON, FormData and Blob bodies are retried after a 401 with the body intact', async () => {
		const scenario = await begin('bodies', {server: {accessTtl: 600, refreshDelay: 300}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(2);
		await loginIn(scenario, tabs[0]!);
		const follower = (await readStates(tabs)).findIndex(state => state.role === 'follower');
		const tab = tabs[follower]!;

		const send = async (phase: string) => tab.evaluate(async phase => {
			const bytes = new Uint8Array(64 * 1024);
			for (let index = 0; index < bytes.length; index++) {
				bytes[index] = (index * 31) % 251;
			}

			const payload = {order: {id: 7, items: ['Tea', 'Scones'], note: 'héllo wörld ✓'}, quantity: 42};
			const hex = async (data: BufferSource) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data)),
				byte => byte.toString(16).padStart(2, '0')).join('');
			const options = (kind: string) => {
				if (kind === 'json') {
					return {json: payload};
				}

				if (kind === 'form') {
					const form = new FormData();
					form.append('note', 'héllo wörld ✓');
					form.append('file', new Blob([bytes], {type: 'application/octet-stream'}), 'data.bin');
					return {body: form};
				}

				return {body: new Blob([bytes], {type: 'application/octet-stream'})};
			};

			const expected: Record<string, string | null> = {
				json: await hex(new TextEncoder().encode(JSON.stringify(payload))),
				blob: await hex(bytes),
				// A multipart encoding carries a random boundary: compared with the reference request instead.
				form: null,
			};
			const jobs: Array<Promise<unknown>> = [];
			for (const method of ['post', 'put', 'patch'] as const) {
				for (const kind of ['json', 'form', 'blob']) {
					const id = `${phase}-${method}-${kind}`;
					jobs.push(window.demo.session.api[method]('/api/echo-body', {...options(kind), headers: {'x-echo-id': id}}).json().then(
						body => ({id, kind, ok: true, body, expected: expected[kind]}),
						(error: {code?: string; name?: string}) => ({id, kind, ok: false, error: error.code ?? error.name, expected: expected[kind]}),
					));
				}
			}

			return Promise.all(jobs) as Promise<Array<{id: string; kind: string; ok: boolean; body?: {sha256: string; length: number}; error?: string; expected: string | null}>>;
		}, phase);

		// With a valid token: the reference of what each body looks like at the server.
		const reference = await send('ref');
		expect(reference.every(entry => entry.ok)).toBe(true);
		expect(server.stats()).toMatchObject({rejectedRequests: 0, refreshCalls: 0});

		server.revokeAll();
		const retried = await send('retry');
		expect(retried.filter(entry => !entry.ok)).toEqual([]);
		const bodies = server.bodies();
		for (const entry of retried) {
			const suffix = entry.id.slice('retry-'.length);
			const [ref] = bodies.filter(body => body.id === `ref-${suffix}`);
			const attempts = bodies.filter(body => body.id === entry.id);
			// Refused once (401), then sent again with the new token: one retry each.
			expect(attempts.map(attempt => attempt.authorized), entry.id).toEqual([false, true]);
			const [first, second] = attempts;
			// The retry carried the very bytes of the first attempt, and the same content as the reference.
			expect({length: second!.length, sha256: second!.sha256, contentType: second!.contentType}, entry.id)
				.toEqual({length: first!.length, sha256: first!.sha256, contentType: first!.contentType});
			expect({length: second!.length, canonicalSha256: second!.canonicalSha256}, entry.id)
				.toEqual({length: ref!.length, canonicalSha256: ref!.canonicalSha256});
			expect(second!.length).toBeGreaterThan(entry.kind === 'json' ? 50 : 64 * 1024 - 1);
			if (entry.expected) {
				expect(second!.sha256, entry.id).toBe(entry.expected);
			}

			// What the page read is the server's account of the retried request.
			expect(entry.body).toMatchObject({length: second!.length, sha256: second!.sha256});
		}

		expect(server.stats()).toMatchObject({refreshCalls: 1, refreshOk: 1, reuseDetections: 0, rejectedRequests: 9});
		expectAgreement(await readStates(tabs), 2);
		expect(scenario.pageErrors).toEqual([]);
	});

	it('7b. session.fetch in 3 tabs: JSON, FormData and Blob bodies after a revocation, one refresh, each retried once with its body intact', async () => {
		const scenario = await begin('fetch-bodies', {server: {accessTtl: 600, refreshDelay: 300}});
		const server = faultServer(scenario);
		const tabs = await scenario.openMany(3);
		await loginIn(scenario, tabs[0]!);
		server.revokeAll();
		const sent = await Promise.all(tabs.map(async (tab, index) => tab.evaluate(async index => {
			const bytes = new Uint8Array(32 * 1024).map((_byte, position) => (position * 7) % 253);
			const bodies: Record<string, () => {body: BodyInit; headers?: Record<string, string>}> = {
				json: () => ({body: JSON.stringify({order: 7, note: 'héllo ✓'}), headers: {'content-type': 'application/json'}}),
				form: () => {
					const form = new FormData();
					form.append('note', 'héllo ✓');
					form.append('file', new Blob([bytes]), 'data.bin');
					return {body: form};
				},
				blob: () => ({body: new Blob([bytes], {type: 'application/octet-stream'})}),
			};
			// A drop-in fetch: taken off the session, called without it.
			const {fetch} = window.demo.session;
			return Promise.all(Object.entries(bodies).map(async ([kind, make]) => {
				const id = `tab${index}-${kind}`;
				const {body, headers} = make();
				try {
					const response = await fetch('/api/echo-body', {method: 'POST', body, headers: {...headers, 'x-echo-id': id}});
					return {id, status: response.status, echoed: await response.json() as {length: number; sha256: string}};
				} catch (error) {
					return {id, status: 0, error: String(error)};
				}
			}));
		}, index)));
		const results = sent.flat();
		expect(results.filter(result => result.status !== 200)).toEqual([]);
		const bodies = server.bodies();
		for (const result of results) {
			const attempts = bodies.filter(body => body.id === result.id);
			// Refused once, then sent again with the new token, the same bytes both times.
			expect(attempts.map(attempt => attempt.authorized), result.id).toEqual([false, true]);
			expect({length: attempts[1]!.length, sha256: attempts[1]!.sha256}, result.id).toEqual({length: attempts[0]!.length, sha256: attempts[0]!.sha256});
			expect(attempts[1]!.length).toBeGreaterThan(result.id.endsWith('json') ? 20 : 32 * 1024 - 1);
		}

		expect(server.stats()).toMatchObject({refreshCalls: 1, refreshOk: 1, reuseDetections: 0, rejectedRequests: 9});
		expectAgreement(await readStates(tabs), 2);
		expect(scenario.pageErrors).toEqual([]);
	});

	// --- 8. tokens stay out of messages and logs ------------------------------------------------------------

	it('8. no token appears in error messages, state, the page or console output (401 retry, refresh failure, logout)', async () => {
		const size = 3;
		// A pause shorter than a failed run and its cooldown: the refresh failure reaches the requests.
		const scenario = await begin('secrets', {server: {accessTtl: 600}, query: {pause: 2000}});
		const server = faultServer(scenario);
		const consoleLines: string[] = [];
		scenario.context.on('console', message => {
			consoleLines.push(`${message.type()}: ${message.text()}`);
		});
		const tabs = await scenario.openMany(3);
		await loginIn(scenario, tabs[0]!);
		const secrets = new Set<string>();
		const collectTokens = async () => {
			const {tokens} = await storedRecord(tabs[0]!, scenario.storageKey);
			expect(tokens).not.toBeNull();
			secrets.add(tokens!.accessToken);
			secrets.add(tokens!.refreshToken!);
		};

		/** Requests whose failures the app logs, as apps do: every error goes to console.error. */
		const logged = async (tab: Page) => tab.evaluate(async size => {
			const texts: string[] = [];
			const note = (error: unknown): void => {
				let current: unknown = error;
				for (let depth = 0; current && depth < 5; depth++) {
					const {message, stack, cause} = current as {message?: unknown; stack?: unknown; cause?: unknown};
					texts.push(String(current), String(message), String(stack));
					try {
						texts.push(JSON.stringify(current));
					} catch {}

					current = cause;
				}
			};

			const outcomes = await Promise.all(Array.from({length: size}, async () => {
				try {
					await window.demo.session.api.get('/api/orders').json();
					return 'ok';
				} catch (error) {
					console.error('request failed:', error);
					console.warn(error);
					note(error);
					return (error as {code?: string}).code ?? (error as {name?: string}).name ?? 'error';
				}
			}));
			const state = window.demo.session.getState();
			console.info('state', state, JSON.stringify(state));
			texts.push(JSON.stringify(state));
			if (state.lastError) {
				console.error(state.lastError);
				note(state.lastError);
			}

			return {outcomes, texts};
		}, size);

		const texts: string[] = [];
		await collectTokens();

		// A 401 retry: the server revokes every access token.
		server.revokeAll();
		for (const result of await Promise.all(tabs.map(logged))) {
			expect(result.outcomes).toEqual(['ok', 'ok', 'ok']);
			texts.push(...result.texts);
		}

		await collectTokens();

		// A refresh failure, with token-like strings in the bad responses.
		server.failNext('invalid-json', 'no-access-token', 'invalid-json');
		server.revokeAll();
		for (const result of await Promise.all(tabs.map(logged))) {
			expect(result.outcomes).toEqual(['REFRESH_FAILED', 'REFRESH_FAILED', 'REFRESH_FAILED']);
			texts.push(...result.texts);
		}

		// Each bad answer ends its run (a retry would get the same): the next two are met on the way back.
		await untilRecovered(tabs[2]!, 15_000);
		for (const fault of server.faults()) {
			for (const secret of fault.secrets) {
				secrets.add(secret);
			}
		}

		await collectTokens();

		// Logout from a follower; later requests reject LOGGED_OUT and are logged too.
		const follower = tabs[(await readStates(tabs)).findIndex(state => state.role === 'follower')]!;
		await follower.evaluate(async () => window.demo.logout());
		await waitFor('every tab signed out', async () => readStates(tabs),
			found => found.every(state => state.status === 'unauthenticated'), {timeout: 5000});
		for (const result of await Promise.all(tabs.map(logged))) {
			expect(result.outcomes).toEqual(['LOGGED_OUT', 'LOGGED_OUT', 'LOGGED_OUT']);
			texts.push(...result.texts);
		}

		// The page itself (the demo shows error messages and the last error).
		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			texts.push(await tab.evaluate(() => document.documentElement.outerHTML));
		}

		// The collection works: a marker logged now shows up in what was collected.
		await tabs[0]!.evaluate(() => {
			console.info('control-marker');
		});
		await waitFor('the control line', () => consoleLines.some(line => line.includes('control-marker')), Boolean, {timeout: 3000});

		// Three generations of tokens, and the five token-like strings of the bad responses.
		expect(secrets.size).toBe((3 * 2) + 5);
		const everything = [...consoleLines, ...texts, ...scenario.pageErrors];
		// The errors themselves reached the console (the app logs them), message and stack.
		expect(consoleLines.filter(line => line.includes('RefreshFailedError: Token refresh failed')).length).toBeGreaterThan(0);
		expect(consoleLines.filter(line => line.includes('LoggedOutError')).length).toBeGreaterThan(0);
		for (const secret of secrets) {
			expect(secret.length).toBeGreaterThan(20);
			const leaks = everything.filter(line => line.includes(secret));
			expect(leaks, `a token in ${leaks[0]?.slice(0, 200)}`).toEqual([]);
		}

		expect(server.stats()).toMatchObject({refreshCalls: 5, refreshOk: 2, refreshFaults: 3, reuseDetections: 0});
		expect(scenario.pageErrors).toEqual([]);
		report('8. tokens out of messages and logs', {secretsChecked: secrets.size, consoleLines: consoleLines.length, texts: texts.length});
	});
	// --- 9. the client's clock is wrong ---------------------------------------------------------

	it.each([3_600_000, -3_600_000])('9. a client clock off by %i ms: expiry counted from expiresIn at receipt, one refresh per expiry, no 401', async offset => {
		const scenario = await begin('clock', {server: {accessTtl: 3}, query: {leeway: 0}});
		// The pages' clock runs normally, an hour ahead of (or behind) the server's.
		await scenario.context.clock.install({time: Date.now() + offset});
		const server = scenario.server;
		const tabs = await scenario.openMany(3);
		const skew = await tabs[0]!.evaluate(() => Date.now()) - Date.now();
		expect(Math.abs(skew - offset)).toBeLessThan(2000);
		await loginIn(scenario, tabs[0]!);
		for (let expiry = 1; expiry <= 2; expiry++) {
			// eslint-disable-next-line no-await-in-loop
			await sleep(3300);
			// Burst times are the pages' own epoch times.
			// eslint-disable-next-line no-await-in-loop
			const at = await tabs[0]!.evaluate(() => Date.now()) + 50;
			// eslint-disable-next-line no-await-in-loop
			expectAllOk(await Promise.all(tabs.map(async tab => burstAt(tab, at, 5))), 5);
		}

		const stats = server.stats();
		expect(stats.rejectedRequests).toBe(0);
		expect(stats.reuseDetections).toBe(0);
		expect(stats.refreshOk).toBeGreaterThanOrEqual(2);
		expect(stats.refreshOk).toBeLessThanOrEqual(3);
		expect(scenario.pageErrors).toEqual([]);
	});
});
