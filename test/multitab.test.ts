import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {LoggedOutError, PauseTimeoutError, RefreshFailedError, SessionClosedError} from '../src/index.js';
import {useFakeTime} from './support/time.js';
import {createWorld, signedInWorld, type World} from './support/world.js';

let world: World | undefined;

beforeEach(() => {
	useFakeTime();
	localStorage.clear();
});

afterEach(async () => {
	world?.closeAll();
	await vi.advanceTimersByTimeAsync(100);
	// Nothing left open: every channel closed, no timers of closed sessions pending.
	expect(world?.hub.open ?? 0).toBe(0);
	world = undefined;
	vi.clearAllTimers();
	vi.useRealTimers();
});

/** Opens a tab whose random tab id is made of `byte`: the election order of tabs that claim at once. */
const withTabId = (byte: number, open: () => unknown) => {
	vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementationOnce(<T extends ArrayBufferView | null>(array: T): T => {
		new Uint8Array(array!.buffer).fill(byte);
		return array;
	});
	open();
	vi.restoreAllMocks();
};

const errorsOf = (results: Array<PromiseSettledResult<unknown>>) =>
	results.flatMap(result => result.status === 'rejected' ? [result.reason as unknown] : []);

describe('one leader refreshes for every tab', () => {
	it('elects exactly one leader and signs every tab in', async () => {
		world = await signedInWorld(5);
		expect(world.leaders()).toHaveLength(1);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
		}
	});

	it('5 tabs × 10 requests sent as the token expires: one refresh per expiry, no reuse, no failure', async () => {
		world = await signedInWorld(5, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.refreshDelay = 200;
		for (let expiry = 1; expiry <= 3; expiry++) {
			// Every token expires at the same instant; the bursts meet the refresh under way or an expired token.
			const expiresAt = world.tabs[0]!.session.getState().expiresAt!;
			await world.tick(expiresAt - Date.now());
			const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(10))));
			expect(bursts.flat().every(result => result.status === 'fulfilled')).toBe(true);
			expect(world.server.counters.refreshCalls).toBe(expiry);
			for (const tab of world.tabs) {
				expect(tab.session.getState().generation).toBe(1 + expiry);
			}
		}

		expect(world.server.counters.reuseDetections).toBe(0);
		expect(world.server.noReuse).toBe(true);
		expect(world.server.counters.maxConcurrentRefreshes).toBe(1);
		expect(world.server.counters.api401).toBe(0);
		expect(world.failed()).toHaveLength(0);
		expect(world.tabs.every(tab => tab.results.length === 30)).toBe(true);
	});

	it('refreshes ahead of expiry, so requests after it never wait', async () => {
		world = await signedInWorld(3, {ttl: 600});
		// Default lead: min(120 s, lifetime / 4) = 120 s before expiry.
		await world.tick(480_500);
		expect(world.server.counters.refreshCalls).toBe(1);
		await world.tick(600_000 - 120_000);
		expect(world.server.counters.refreshCalls).toBe(2);
		await world.run(Promise.all(world.tabs.map(async tab => tab.burst(5))));
		expect(world.server.counters.api401).toBe(0);
		expect(world.failed()).toHaveLength(0);
	});

	it('shrinks the lead for short tokens: a 2-second token is refreshed every 1.5 s, not continuously', async () => {
		world = await signedInWorld(2, {ttl: 2});
		await world.tick(15_000);
		// 15 s / 1.5 s = 10 refreshes (±1 for the boundary).
		expect(world.server.counters.refreshCalls).toBeGreaterThanOrEqual(9);
		expect(world.server.counters.refreshCalls).toBeLessThanOrEqual(10);
		expect(world.server.noReuse).toBe(true);
	});

	it('a 401 burst after the server revokes every access token costs one refresh', async () => {
		world = await signedInWorld(5, {ttl: 3600});
		world.server.revokeAccessTokens();
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(10))));
		expect(errorsOf(bursts.flat())).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.server.counters.api401).toBe(50);
		// Every retry went out with the newer token, exactly once.
		const retried = world.server.apiCalls.filter(call => call.status === 200);
		expect(retried).toHaveLength(50);
		expect(new Set(retried.map(call => call.token)).size).toBe(1);
		expect(retried[0]!.token).not.toBe(world.server.apiCalls[0]!.token);
	});

	it('a stale 401 (token already replaced) retries with the new token and refreshes nothing', async () => {
		world = await signedInWorld(2, {ttl: 3600});
		world.server.slowDelay = 500;
		const [first, second] = world.tabs;
		// Sent with generation 1; the server checks the token only after the refresh below.
		const slow = first!.session.api.get(`${world.server.origin}/api/slow`).json();
		await world.tick(10);
		world.server.revokeAccessTokens();
		await world.run(second!.burst(1));
		expect(world.server.counters.refreshCalls).toBe(1);
		await expect(world.run(slow)).resolves.toMatchObject({ok: true});
		expect(world.server.counters.refreshCalls).toBe(1);
		const slowCalls = world.server.apiCalls.filter(call => call.path === '/api/slow');
		expect(slowCalls.map(call => call.status)).toEqual([401, 200]);
		expect(slowCalls[1]!.token).not.toBe(slowCalls[0]!.token);
	});

	it('a request is retried at most once: a second 401 with the new token reaches the app', async () => {
		world = await signedInWorld(2, {ttl: 3600});
		const outcome = world.tabs[1]!.session.api.get(`${world.server.origin}/api/deny`).json().catch((error: unknown) => error);
		const error = await world.run(outcome);
		expect((error as {response?: Response}).response?.status).toBe(401);
		const calls = world.server.apiCalls.filter(call => call.path === '/api/deny');
		expect(calls).toHaveLength(2);
		expect(calls[1]!.token).not.toBe(calls[0]!.token);
		expect(world.server.counters.refreshCalls).toBe(1);
	});

	it.each([3_600_000, -3_600_000])('a client clock off by %i ms: expiry counted from expiresIn at receipt still works', async offset => {
		world = createWorld({ttl: 60, session: {refreshLeeway: 0}});
		world.server.clockOffset = offset;
		world.openTab();
		await world.tick(40);
		world.openTab();
		await world.tick(1000);
		await world.tabs[0]!.session.login(world.server.login());
		for (let expiry = 1; expiry <= 2; expiry++) {
			await world.tick(world.tabs[0]!.session.getState().expiresAt! - Date.now());
			await world.run(Promise.all(world.tabs.map(async tab => tab.burst(5))));
		}

		expect(world.failed()).toHaveLength(0);
		expect(world.server.counters.api401).toBe(0);
		expect(world.server.counters.refreshCalls).toBe(2);
	});

	it('only the leader runs the heartbeat: one per interval whatever the number of tabs', async () => {
		world = createWorld({ttl: 3600, session: {heartbeatUrl: '/api/heartbeat', heartbeatInterval: 10_000}});
		for (let index = 0; index < 6; index++) {
			world.openTab();
		}

		await world.tick(1000);
		await world.tabs[2]!.session.login(world.server.login());
		await world.tick(10_000 * 5);
		expect(world.server.counters.heartbeats).toBeGreaterThanOrEqual(4);
		expect(world.server.counters.heartbeats).toBeLessThanOrEqual(5);
	});

	it('a 401 on the heartbeat triggers one refresh', async () => {
		world = createWorld({ttl: 3600, session: {heartbeatUrl: '/api/heartbeat', heartbeatInterval: 10_000}});
		world.openTab();
		world.openTab();
		await world.tick(1000);
		await world.tabs[0]!.session.login(world.server.login());
		world.server.revokeAccessTokens();
		await world.tick(10_500);
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.server.apiCalls.filter(call => call.path === '/api/heartbeat').map(call => call.status)).toEqual([401, 200]);
	});

	it('the bearer goes only to authorized origins', async () => {
		world = await signedInWorld(1);
		await world.tabs[0]!.session.api.get('https://elsewhere.example/data').json();
		await world.tabs[0]!.burst(1);
		const foreign = world.server.apiCalls.find(call => call.path.startsWith('https://elsewhere.example'));
		expect(foreign?.token).toBeNull();
		expect(world.server.apiCalls.at(-1)?.token).toMatch(/^Bearer |^at-/);
	});
});

describe('leadership changes', () => {
	it('a closed leader is replaced within a second, and the next expiry costs one refresh', async () => {
		world = await signedInWorld(4, {ttl: 60, session: {refreshLeeway: 0}});
		const [leader] = world.leaders();
		leader!.close();
		await world.tick(1000);
		expect(world.leaders()).toHaveLength(1);
		expect(world.leaders()[0]).not.toBe(leader);
		await world.tick(60_000);
		await world.run(Promise.all(world.live().map(async tab => tab.burst(5))));
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.failed()).toHaveLength(0);
	});

	it('a leader closed mid-refresh: the new leader completes it, no request is lost', async () => {
		world = await signedInWorld(3, {ttl: 60, session: {refreshLeeway: 0}});
		// The dead leader's request never reaches the server; only the new leader's does.
		world.server.failNext('hang');
		await world.tick(60_000);
		const followers = world.live().filter(tab => tab.session.getState().role === 'follower');
		const bursts = Promise.all(followers.map(async tab => tab.burst(5)));
		await world.tick(50);
		expect(followers[0]!.session.getState().status).toBe('refreshing');
		world.leaders()[0]!.close();
		await world.tick(3000);
		const results = (await world.run(bursts)).flat();
		expect(errorsOf(results)).toEqual([]);
		expect(world.leaders()).toHaveLength(1);
		expect(world.server.counters.refreshOk).toBe(1);
		expect(world.server.counters.reuseDetections).toBe(0);
	});

	it('a crashed leader (no goodbye) is replaced and tabs keep working', async () => {
		world = await signedInWorld(3, {ttl: 3600});
		const [leader] = world.leaders();
		leader!.crash();
		// The message-based election notices a silent leader on its fallback interval (3 s).
		await world.tick(8000);
		expect(world.leaders()).toHaveLength(1);
		world.server.revokeAccessTokens();
		const bursts = await world.run(Promise.all(world.live().map(async tab => tab.burst(3))));
		expect(errorsOf(bursts.flat())).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(1);
	});

	it('with Web Locks, a follower whose leader does not answer refreshes itself under the lock, once', async () => {
		world = await signedInWorld(3, {ttl: 3600, locks: true});
		const [leader] = world.leaders();
		// The leader is alive but hears nothing: as if its main thread were blocked.
		leader!.isolate();
		world.server.revokeAccessTokens();
		const followers = world.live().filter(tab => tab !== leader);
		const bursts = await world.run(Promise.all(followers.map(async tab => tab.burst(5))));
		expect(errorsOf(bursts.flat())).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.server.counters.maxConcurrentRefreshes).toBe(1);
		// A follower refreshed: the deaf leader never heard of it.
		expect(leader!.session.getState().generation).toBe(1);
		for (const tab of followers) {
			expect(tab.session.getState().generation).toBe(2);
		}
	});

	it('with Web Locks and per-tab storage, two followers of a crashed leader that refresh 1 ms apart present the refresh token once', async () => {
		world = await signedInWorld(3, {ttl: 3600, storage: 'memory', locks: true});
		const [leader] = world.leaders();
		leader!.crash();
		world.server.revokeAccessTokens();
		const [first, second] = world.live();
		// Both ask the dead leader, 1 ms apart; after leaderTimeout both take the refresh over.
		const bursts = [first!.burst(2)];
		await world.tick(1);
		bursts.push(second!.burst(2));
		const results = (await world.run(Promise.all(bursts))).flat();
		expect(errorsOf(results)).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.server.noReuse).toBe(true);
		expect(world.live().map(tab => tab.session.getState().generation)).toEqual([2, 2]);
	});

	it('a leader that goes away after starting a refresh it was asked for: the asking follower asks the next leader', async () => {
		world = createWorld({ttl: 3600});
		// Among tabs claiming leadership at once, the message election picks the highest tab id.
		withTabId(0x10, world.openTab);
		await world.tick(37);
		withTabId(0x20, world.openTab);
		await world.tick(1000);
		await world.tabs[0]!.session.login(world.server.login());
		await world.tick(50);
		const [leader] = world.leaders();
		const follower = world.live().find(tab => tab !== leader)!;
		// The leader's first attempt fails at once; it is gone before its retry.
		world.server.failNext('network');
		world.server.revokeAccessTokens();
		const burst = follower.burst(2);
		await world.tick(1);
		// A tab that opens now never heard the request, and wins the next election.
		withTabId(0xf0, world.openTab);
		await world.tick(2);
		leader!.close();
		const results = await world.run(burst);
		expect(world.leaders()).toEqual([world.tabs[2]]);
		expect(errorsOf(results)).toEqual([]);
		expect(world.server.counters.refreshOk).toBe(1);
		expect(world.server.noReuse).toBe(true);
	});

	it('without Web Locks, a deaf leader is voted out by the message election and the new leader refreshes once', async () => {
		world = await signedInWorld(3, {ttl: 3600});
		const [leader] = world.leaders();
		leader!.isolate();
		world.server.revokeAccessTokens();
		const followers = world.live().filter(tab => tab !== leader);
		const bursts = await world.run(Promise.all(followers.map(async tab => tab.burst(2))));
		expect(errorsOf(bursts.flat())).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(followers.filter(tab => tab.session.getState().role === 'leader')).toHaveLength(1);
	});
});

describe('logout and failures', () => {
	it('logout in a follower signs out every tab and rejects paused requests', async () => {
		world = await signedInWorld(4, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.refreshDelay = 5000;
		await world.tick(60_000);
		const pending = world.tabs.map(async tab => tab.burst(3));
		await world.tick(100);
		expect(world.tabs[3]!.session.getState().status).toBe('refreshing');
		const follower = world.tabs.find(tab => tab.session.getState().role === 'follower')!;
		await follower.session.logout();
		await world.tick(50);
		const errors = errorsOf((await Promise.all(pending)).flat());
		expect(errors).toHaveLength(12);
		expect(errors.every(error => error instanceof LoggedOutError)).toBe(true);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'logout', expiresAt: null});
		}

		expect(localStorage.getItem(`tab-session:${world.namespace}`)).not.toMatch(/at-|rt-/);
		await expect(world.tabs[0]!.session.api.get(`${world.server.origin}/api/orders`)).rejects.toBeInstanceOf(LoggedOutError);
		await world.tick(10_000);
		// The refresh that was under way does not bring the session back.
		expect(world.tabs.every(tab => tab.session.getState().status === 'unauthenticated')).toBe(true);
	});

	it('a refresh rejected with 400 signs every tab out', async () => {
		world = await signedInWorld(3, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.failNext(400);
		await world.tick(60_000);
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		const errors = errorsOf(bursts.flat());
		expect(errors).toHaveLength(6);
		expect(errors.every(error => error instanceof LoggedOutError && error.reason === 'refresh-rejected')).toBe(true);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'refresh-rejected'});
		}

		expect(world.server.counters.refreshCalls).toBe(1);
	});

	it('reuse detected by the server (401 from refresh) signs every tab out', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.failNext(401 as never);
		await world.tick(60_500);
		for (const tab of world.tabs) {
			expect(tab.session.getState().endReason).toBe('refresh-rejected');
		}
	});

	it.each([
		// Three attempts (refreshRetries: 2) where a retry may help; one where the answer would be the same.
		['5xx', [500, 503, 500]],
		['invalid JSON', ['garbage']],
		['an HTML page with status 200', ['html']],
		['JSON without an access token', ['missing-field']],
		['network errors', ['network', 'network', 'network']],
	] as const)('refresh endpoint failing with %s: typed error when the next attempt comes too late, still signed in, recovers', async (_name, modes) => {
		// A pause shorter than the 1 s cooldown: requests cannot wait for the next attempt.
		world = await signedInWorld(3, {ttl: 60, session: {refreshLeeway: 0, pauseTimeout: 900}});
		world.server.failNext(...modes);
		await world.tick(59_999);
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		const errors = errorsOf(bursts.flat());
		expect(errors).toHaveLength(6);
		expect(errors.every(error => error instanceof RefreshFailedError)).toBe(true);
		// By one tab.
		expect(world.server.counters.refreshCalls).toBe(modes.length);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
			expect(tab.session.getState().lastError).toBeInstanceOf(RefreshFailedError);
		}

		// Within the cooldown, a request that cannot wait for the next attempt fails fast instead of hammering the endpoint.
		const fast = await world.tabs[1]!.burst(1);
		expect(errorsOf(fast)[0]).toBeInstanceOf(RefreshFailedError);
		expect(world.server.counters.refreshCalls).toBe(modes.length);
		// The endpoint recovers: after the cooldown the leader refreshes once and requests succeed.
		await world.tick(5000);
		const later = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		expect(errorsOf(later.flat())).toEqual([]);
		expect(world.server.counters.refreshOk).toBe(1);
		expect(world.server.counters.refreshCalls).toBe(modes.length + 1);
		expect(world.server.noReuse).toBe(true);
		expect(world.tabs[2]!.session.getState().lastError).toBeNull();
	});

	it('after a failed refresh, requests that can wait for the next attempt wait for it and succeed: one attempt per backoff step across tabs', async () => {
		world = await signedInWorld(3, {ttl: 60, session: {refreshLeeway: 0}});
		const calls: number[] = [];
		const serverFetch = world.server.fetch;
		world.server.failNext(503, 503, 503);
		await world.tick(59_999);
		const bursts = Promise.all(world.tabs.map(async tab => tab.burst(2)));
		// Requests sent during the cooldown, from every tab, wait too.
		await world.tick(600);
		const during = Promise.all(world.tabs.map(async tab => tab.burst(1)));
		const results = await world.run(Promise.all([bursts, during]));
		expect(errorsOf(results.flat(2) as Array<PromiseSettledResult<unknown>>)).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(4);
		expect(world.server.counters.refreshOk).toBe(1);
		void calls;
		void serverFetch;
	});

	it('coming back online ends the failure cooldown: the next request refreshes at once', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0, pauseTimeout: 900}});
		world.server.failNext('network', 'network', 'network');
		await world.tick(60_000);
		const offline = await world.run(world.tabs[1]!.burst(1));
		expect(errorsOf(offline)[0]).toBeInstanceOf(RefreshFailedError);
		const calls = world.server.counters.refreshCalls;
		// Within the cooldown, and without 'online', a request that cannot wait for the next attempt fails fast…
		expect(errorsOf(await world.run(world.tabs[1]!.burst(1)))[0]).toBeInstanceOf(RefreshFailedError);
		expect(world.server.counters.refreshCalls).toBe(calls);
		// …but once the browser says it is online again, it refreshes and succeeds.
		window.dispatchEvent(new Event('online'));
		expect(errorsOf(await world.run(world.tabs[1]!.burst(1)))).toEqual([]);
		expect(world.server.counters.refreshOk).toBe(1);
	});

	it('a refresh that never answers: requests reject within pauseTimeout, session kept', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0, pauseTimeout: 3000, refreshTimeout: 20_000}});
		world.server.failNext('hang');
		await world.tick(60_000);
		const startedAt = Date.now();
		const bursts = world.tabs.map(async tab => tab.burst(2));
		await world.tick(3100);
		const errors = errorsOf((await Promise.all(bursts)).flat());
		expect(errors).toHaveLength(4);
		expect(errors.every(error => error instanceof PauseTimeoutError)).toBe(true);
		expect(Date.now() - startedAt).toBeLessThanOrEqual(3100);
		expect(world.tabs[0]!.session.getState().status).not.toBe('unauthenticated');
	});

	it('an app abort rejects a paused request at once and affects nothing else', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.refreshDelay = 1000;
		await world.tick(60_000);
		const controller = new AbortController();
		const aborted = world.tabs[1]!.session.api.get(`${world.server.origin}/api/orders`, {signal: controller.signal}).json();
		const other = world.tabs[1]!.burst(1);
		await world.tick(10);
		controller.abort();
		await expect(aborted).rejects.toMatchObject({name: 'AbortError'});
		await world.tick(1100);
		expect(errorsOf(await other)).toEqual([]);
	});
});

describe('joining and storage', () => {
	it('memory storage: a tab opened later gets the tokens from the open ones', async () => {
		world = await signedInWorld(2, {storage: 'memory', ttl: 3600});
		const late = world.openTab();
		await world.tick(50);
		expect(late.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
		expect(errorsOf(await late.burst(3))).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(0);
	});

	it('memory storage: a request sent at once by a new tab waits for the tokens to arrive', async () => {
		world = await signedInWorld(2, {storage: 'memory', ttl: 3600});
		const late = world.openTab();
		const results = late.burst(2);
		await world.tick(50);
		expect(errorsOf(await results)).toEqual([]);
	});

	it('local storage: a tab opened later reads the tokens without a round trip', async () => {
		world = await signedInWorld(2, {ttl: 3600});
		const late = world.openTab();
		expect(late.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
		expect(errorsOf(await late.burst(2))).toEqual([]);
	});

	it('memory storage: a logout (or login) in a tab that has just opened beats the session the others hold', async () => {
		world = await signedInWorld(2, {storage: 'memory', ttl: 3600});
		await world.run(world.tabs[0]!.session.refresh());
		expect(world.tabs[1]!.session.getState().generation).toBe(2);
		const late = world.openTab();
		// Called at once, before the open tabs answered its hello.
		await world.run(late.session.logout());
		await world.tick(50);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'logout'});
		}

		const another = world.openTab();
		await world.run(another.session.login(world.server.login()));
		await world.tick(50);
		expect(new Set(world.tabs.map(tab => tab.session.getState().generation)).size).toBe(1);
		expect(world.tabs.every(tab => tab.session.getState().status === 'authenticated')).toBe(true);
	});

	it('a lone tab without tokens rejects requests with LoggedOutError after joinTimeout', async () => {
		world = createWorld({storage: 'memory'});
		const tab = world.openTab();
		const result = tab.burst(1);
		await world.tick(400);
		const [error] = errorsOf(await result);
		expect(error).toBeInstanceOf(LoggedOutError);
	});

	it('corrupt stored values are cleared, not thrown on', async () => {
		world = createWorld();
		localStorage.setItem(`tab-session:${world.namespace}`, '{not json');
		const tab = world.openTab();
		expect(tab.session.getState().status).toBe('unauthenticated');
		expect(localStorage.getItem(`tab-session:${world.namespace}`)).toBeNull();
		localStorage.setItem(`tab-session:${world.namespace}`, JSON.stringify({v: 1, record: {generation: 3, writer: 'x', tokens: {accessToken: 42}, ended: null}}));
		const second = world.openTab();
		expect(second.session.getState().status).toBe('unauthenticated');
	});

	it('malformed and forged channel messages are ignored', async () => {
		world = await signedInWorld(2, {ttl: 3600});
		const name = `tab-session:${world.namespace}`;
		const of = {epoch: 1, session: 'forged', generation: 1};
		const frames = [
			// Well-formed for protocol version 1 (a tab of an older deploy): ignored, not adopted.
			{v: 1, from: 'evil', kind: 'logout', record: {generation: 99, writer: 'evil', tokens: null, ended: 'logout'}},
			{v: 2, from: 'evil', kind: 'tokens', record: {epoch: Date.now() + 10, session: 's', generation: 99, writer: 'evil', tokens: {accessToken: ''}, ended: null}},
			// Version 2 without a session and an epoch.
			{v: 2, from: 'evil', kind: 'logout', record: {generation: 99, writer: 'evil', tokens: null, ended: 'logout'}},
			{v: 2, from: 'evil', kind: 'nonsense'},
			{v: 2, kind: 'hello'},
			null,
			'logout',
			42,
			[],
			{type: 'message', time: 1, data: {v: 2, from: 'evil', kind: 'logout'}},
			{v: 2, from: 'evil', kind: 'refresh-failed', of: {...of, generation: -1}, status: null, message: 'x', retryAt: 1},
			{v: 2, from: 'evil', kind: 'leader'},
		];
		for (const data of frames) {
			world.hub.inject(name, data);
		}

		await world.tick(50);
		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
		}

		expect(errorsOf(await world.tabs[1]!.burst(2))).toEqual([]);
	});

	it('two namespaces on one origin share neither tokens nor leaders', async () => {
		world = await signedInWorld(2, {ttl: 3600});
		const other = world.openTab({namespace: `${world.namespace}-b`});
		await world.tick(1000);
		expect(other.session.getState()).toMatchObject({status: 'unauthenticated', role: 'leader'});
		expect(world.tabs[0]!.session.getState().status).toBe('authenticated');
	});
});

describe('lifecycle', () => {
	it('close() rejects waiting requests, stops everything, and is safe twice', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.refreshDelay = 2000;
		await world.tick(60_000);
		const tab = world.tabs[1]!;
		const pending = tab.burst(2);
		await world.tick(10);
		tab.close();
		tab.close();
		const errors = errorsOf(await pending);
		expect(errors.every(error => error instanceof SessionClosedError)).toBe(true);
		expect(tab.session.getState().closed).toBe(true);
		await expect(tab.session.login(world.server.login())).rejects.toBeInstanceOf(SessionClosedError);
	});

	it('subscribe reports every change with a stable snapshot between changes', async () => {
		world = createWorld({ttl: 60, session: {refreshLeeway: 0}});
		const tab = world.openTab();
		const seen: string[] = [];
		const unsubscribe = tab.session.subscribe(state => seen.push(`${state.status}/${state.role}/${state.generation}`));
		await world.tick(1000);
		expect(tab.session.getState()).toBe(tab.session.getState());
		await tab.session.login(world.server.login());
		await world.tick(60_000);
		unsubscribe();
		await tab.session.logout();
		expect(seen).toEqual([
			'unauthenticated/leader/0',
			'authenticated/leader/1',
			'refreshing/leader/1',
			'authenticated/leader/2',
		]);
	});

	it('getAccessToken waits for a refresh under way and returns the new token', async () => {
		world = await signedInWorld(2, {ttl: 60, session: {refreshLeeway: 0}});
		world.server.refreshDelay = 500;
		await world.tick(60_000);
		const token = world.tabs[1]!.session.getAccessToken();
		await world.tick(600);
		await expect(token).resolves.toMatch(/^at-/);
		expect(await token).not.toBe(world.server.apiCalls[0]?.token);
		expect(world.tabs[1]!.session.getState().generation).toBe(2);
	});
});
