import {describe, expect, it, vi} from 'vitest';
import {LoggedOutError, PauseTimeoutError, RefreshFailedError, isSessionError} from '../src/index.js';
import {signedInWorld, worldPerTest} from './support/world.js';

/**
 * What bounds a request: `pauseTimeout` bounds the time it waits for
 * tokens and nothing else; the app's retry options are the app's, but never
 * retry the session's own errors; a tab waiting for the refresh lock does
 * not wait forever.
 */
const worlds = worldPerTest();

const outcome = async (promise: Promise<unknown>) => promise.then(() => 'ok' as const, (error: unknown) => error);

describe('pauseTimeout bounds waiting, not the network', () => {
	it('a request slower than pauseTimeout that meets a 401 is refreshed and retried once', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600, session: {pauseTimeout: 2000}}));
		world.server.slowDelay = 2600;
		const started = Date.now();
		const slow = outcome(world.tabs[1]!.session.api.get(`${world.server.origin}/api/slow`).json());
		// The access token is revoked while the request is on the server.
		await world.tick(100);
		world.server.revokeAccessTokens();
		expect(await world.run(slow)).toBe('ok');
		expect(world.server.counters.refreshCalls).toBe(1);
		expect(world.server.apiCalls.filter(call => call.path === '/api/slow').map(call => call.status)).toEqual([401, 200]);
		// Two trips of 2.6 s: the network time, which pauseTimeout does not count.
		expect(Date.now() - started).toBeGreaterThanOrEqual(5200);
	});

	it('all of a request\'s waits together stay within pauseTimeout', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600, session: {pauseTimeout: 2000}}));
		world.server.failNext('hang');
		world.server.revokeAccessTokens();
		const started = Date.now();
		const error = await world.run(outcome(world.tabs[1]!.session.api.get(`${world.server.origin}/api/orders`).json()));
		expect(error).toBeInstanceOf(PauseTimeoutError);
		expect(Date.now() - started).toBeLessThanOrEqual(2100);
	});
});

describe('the app\'s retry options through session.api', () => {
	it('signed out: a per-request retry of 3 rejects LOGGED_OUT at once, without backoff or retries', async () => {
		const world = worlds.use(await signedInWorld(2));
		await world.run(world.tabs[0]!.session.logout());
		await world.tick(10);
		const retriedWithSessionError: unknown[] = [];
		const hooks = {beforeRetry: [({error}: {error: unknown}) => {
			if (isSessionError(error)) {
				retriedWithSessionError.push(error);
			}
		}]};
		for (const retry of [3, {limit: 3}, 0]) {
			const started = Date.now();
			// eslint-disable-next-line no-await-in-loop
			const error = await world.run(outcome(world.tabs[1]!.session.api.get(`${world.server.origin}/api/orders`, {retry, hooks}).json()));
			expect(error).toBeInstanceOf(LoggedOutError);
			expect(Date.now() - started).toBeLessThan(50);
		}

		const extended = world.tabs[1]!.session.api.extend({retry: {limit: 4}, hooks});
		expect(await world.run(outcome(extended.get(`${world.server.origin}/api/orders`).json()))).toBeInstanceOf(LoggedOutError);
		expect(retriedWithSessionError).toEqual([]);
	});

	it('a 401 gets the session\'s one retry with a newer token, however the app lists 401 in its statusCodes', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600}));
		const error = await world.run(outcome(world.tabs[1]!.session.api.get(`${world.server.origin}/api/deny`, {retry: {limit: 3, statusCodes: [401, 500]}}).json()));
		expect((error as {response?: Response}).response?.status).toBe(401);
		const calls = world.server.apiCalls.filter(call => call.path === '/api/deny');
		expect(calls).toHaveLength(2);
		expect(calls[1]!.token).not.toBe(calls[0]!.token);
		expect(world.server.counters.refreshCalls).toBe(1);
	});

	it('a PauseTimeoutError is not retried with a fresh full pause', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600, session: {pauseTimeout: 1000}}));
		world.server.failNext('hang');
		world.server.revokeAccessTokens();
		const started = Date.now();
		const error = await world.run(outcome(world.tabs[1]!.session.api.get(`${world.server.origin}/api/orders`, {retry: {limit: 3, shouldRetry: () => true}}).json()));
		expect(error).toBeInstanceOf(PauseTimeoutError);
		expect(Date.now() - started).toBeLessThan(1200);
	});
});

describe('the refresh lock', () => {
	it('a tab whose wait for the lock outlasts the longest refresh gives up with a typed error, and is not stuck "refreshing"', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600, locks: true, session: {pauseTimeout: 5000, refreshTimeout: 1000, refreshRetries: 0}}));
		// A frozen tab elsewhere holds the refresh lock and runs no code.
		const name = `tab-session:${world.namespace}:refresh`;
		void world.lockManager!.manager.request(name, {}, async () => new Promise(() => undefined));
		world.server.revokeAccessTokens();
		const first = outcome(world.tabs[0]!.session.api.get(`${world.server.origin}/api/orders`).json());
		const error = await world.run(first, 20_000);
		expect(isSessionError(error)).toBe(true);
		expect(world.server.counters.refreshCalls).toBe(0);
		// The wait ended (refreshTimeout 1 s, no retries, plus the settle time and a second: about 2.1 s).
		await world.tick(3000);
		for (const tab of world.tabs) {
			expect(tab.session.getState().status).toBe('authenticated');
		}

		const lastError = world.tabs.map(tab => tab.session.getState().lastError).find(Boolean);
		expect(lastError).toBeInstanceOf(RefreshFailedError);
		expect(lastError?.message).toMatch(/lock stayed held by another tab/);
	});
});

describe('storage that fails', () => {
	it('a logout that cannot be written removes the stored tokens: a new tab or a restart finds nobody signed in', async () => {
		const debug = vi.fn();
		const world = worlds.use(await signedInWorld(2, {storage: 'local', session: {debug}}));
		const key = `tab-session:${world.namespace}`;
		expect(localStorage.getItem(key)).toContain('accessToken');
		const setItem = vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
			throw new DOMException('full', 'QuotaExceededError');
		});
		try {
			await world.run(world.tabs[0]!.session.logout());
			await world.tick(50);
		} finally {
			setItem.mockRestore();
		}

		expect(localStorage.getItem(key)).toBeNull();
		const failures = debug.mock.calls.filter(([message]) => String(message).includes('storage write failed'));
		// Once per tab that tried to write.
		expect(failures.length).toBeGreaterThanOrEqual(1);
		expect(failures.length).toBeLessThanOrEqual(2);
		const late = world.openTab();
		await world.tick(1000);
		expect(late.session.getState().status).toBe('unauthenticated');
		expect(world.tabs.map(tab => tab.session.getState().status)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated']);
	});
});

describe('a request that opts out of the session: context {auth: false}', () => {
	it('goes out at once with no bearer: during a refresh, while signed out, and a 401 is the app\'s to see', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600}));
		const tab = world.tabs[1]!;
		const open = {context: {auth: false}, headers: {'x-request-id': 'public-1'}};
		// A refresh that takes long: a session request waits for it, the public one does not.
		world.server.refreshDelay = 2000;
		world.server.revokeAccessTokens();
		const waiting = outcome(tab.session.api.get(`${world.server.origin}/api/orders`).json());
		await world.tick(10);
		const started = Date.now();
		const publicCall = outcome(tab.session.api.get(`${world.server.origin}/api/orders`, open).json());
		await world.tick(5);
		const error = await publicCall;
		expect(Date.now() - started).toBeLessThan(100);
		expect((error as {response?: Response}).response?.status).toBe(401);
		expect(world.server.apiCalls.filter(call => call.id === 'public-1').map(call => call.token)).toEqual([null]);
		expect(await world.run(waiting)).toBe('ok');
		// Signed out: no LoggedOutError, the request is sent as it is.
		await world.run(tab.session.logout());
		const afterLogout = await world.run(outcome(tab.session.api.get(`${world.server.origin}/api/orders`, {...open, headers: {'x-request-id': 'public-2'}}).json()));
		expect(afterLogout).not.toBeInstanceOf(LoggedOutError);
		expect(world.server.apiCalls.filter(call => call.id === 'public-2')).toHaveLength(1);
	});
});
