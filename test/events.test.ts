import {describe, expect, it, vi} from 'vitest';
import {RefreshFailedError, type SessionEvent} from '../src/index.js';
import {createWorld, worldPerTest, type Tab} from './support/world.js';

/**
 * `session.on`: what happened, in every tab, in the same order: a login, its
 * refreshes (and which tab made them), every new access token, a logout
 * with its reason; and each tab's own role changes and refresh failures.
 */
const worlds = worldPerTest();

const eventTypes = ['login', 'refresh', 'tokens', 'logout', 'refresh-failed', 'role'] as const;

function record(tab: Tab) {
	const seen: SessionEvent[] = [];
	for (const type of eventTypes) {
		tab.session.on(type, event => {
			seen.push(event);
		});
	}

	return seen;
}

const recordEvents = (events: SessionEvent[]) => events.filter(event => event.type !== 'role' && event.type !== 'refresh-failed');

describe('session events', () => {
	it('login, refresh, tokens and logout reach every tab in the same order; byThisTab says which tab made them', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true, session: {refreshLeeway: 0}}));
		const tabs = [world.openTab(), world.openTab(), world.openTab()];
		await world.tick(1000);
		const seen = tabs.map(tab => record(tab));
		const tokens = world.server.login();
		await world.run(tabs[1]!.session.login(tokens));
		await world.tick(50);
		// The leader refreshes at expiry.
		await world.tick(60_000);
		await world.run(Promise.all(tabs.map(async tab => tab.burst(1))));
		await world.run(tabs[2]!.session.logout());
		await world.tick(50);

		const leader = tabs.findIndex(tab => tab.session.getState().role === 'leader');
		for (const [index, events] of seen.entries()) {
			const access = events.filter(event => event.type === 'tokens').map(event => event.type === 'tokens' && event.accessToken);
			expect(recordEvents(events).map(event => event.type)).toEqual(['login', 'tokens', 'refresh', 'tokens', 'logout']);
			expect(access[0]).toBe(tokens.accessToken);
			expect(access[1]).not.toBe(tokens.accessToken);
			expect(events.find(event => event.type === 'login')).toEqual({type: 'login', byThisTab: index === 1});
			expect(events.find(event => event.type === 'refresh')).toEqual({type: 'refresh', byThisTab: index === leader});
			expect(events.find(event => event.type === 'logout')).toEqual({type: 'logout', reason: 'logout'});
		}

		// The three tabs saw the same tokens in the same order.
		const tokenOrder = seen.map(events => events.flatMap(event => event.type === 'tokens' ? [event.accessToken] : []));
		expect(tokenOrder[1]).toEqual(tokenOrder[0]);
		expect(tokenOrder[2]).toEqual(tokenOrder[0]);
	});

	it('a tab opened into a signed-in session gets tokens, not a login; role and refresh-failed are its own', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true, session: {refreshLeeway: 0, pauseTimeout: 500}}));
		const first = world.openTab();
		await world.tick(500);
		await world.run(first.session.login(world.server.login()));
		const firstEvents = record(first);
		const late = world.openTab();
		const lateEvents = record(late);
		await world.tick(1000);
		expect(lateEvents.map(event => event.type)).toEqual(['tokens']);
		// The leader closes: the late tab leads.
		first.close();
		await world.tick(50);
		expect(lateEvents.at(-1)).toEqual({type: 'role', role: 'leader'});
		world.server.failNext(500, 500, 500);
		world.server.revokeAccessTokens();
		await world.run(late.burst(1));
		const failure = lateEvents.find(event => event.type === 'refresh-failed');
		expect(failure?.type === 'refresh-failed' && failure.error).toBeInstanceOf(RefreshFailedError);
		expect(firstEvents).toEqual([]);
	});

	it('a listener that throws stops neither the other listeners nor the session; its error is reported as an uncaught one', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true}));
		const tab = world.openTab();
		await world.tick(500);
		const reported = vi.fn();
		vi.stubGlobal('reportError', reported);
		const after = vi.fn();
		try {
			tab.session.on('login', () => {
				throw new Error('listener bug');
			});
			tab.session.on('login', after);
			const off = tab.session.on('tokens', after);
			off();
			await world.run(tab.session.login(world.server.login()));
			await world.tick(10);
			expect(after).toHaveBeenCalledTimes(1);
			expect(tab.session.getState().status).toBe('authenticated');
			expect(reported).toHaveBeenCalledTimes(1);
			expect((reported.mock.calls[0]![0] as Error).message).toBe('listener bug');
		} finally {
			vi.unstubAllGlobals();
		}
	});

	it('refuses an unknown event or a listener that is not a function, with a TypeError that lists the events', () => {
		const world = worlds.use(createWorld({ttl: 60}));
		const tab = world.openTab();
		expect(() => tab.session.on('signin' as never, () => undefined)).toThrow(new TypeError('tab-session: unknown event "signin"; the events are login, refresh, tokens, logout, refresh-failed, role, idle-warning, active'));
		expect(() => tab.session.on('login', 'x' as never)).toThrow(TypeError);
	});
});

describe('token details shared with every tab', () => {
	it('idToken, scope and extra from login reach a tab opened later (memory storage), survive a refresh that omits them, and never the refresh token', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true, session: {refreshLeeway: 0}}));
		const first = world.openTab();
		await world.tick(500);
		await world.run(first.session.login({...world.server.login(), idToken: 'header.payload.sig', scope: 'openid', tokenType: 'Bearer', extra: {tenant: 'acme'}}));
		const late = world.openTab();
		await world.tick(1000);
		const details = await world.run(late.session.getTokens());
		expect(details).toMatchObject({idToken: 'header.payload.sig', scope: 'openid', tokenType: 'Bearer', extra: {tenant: 'acme'}});
		expect(details).not.toHaveProperty('refreshToken');
		// The token server's refresh answers carry none of them: each is kept.
		await world.tick(60_000);
		await world.run(late.burst(1));
		const after = await world.run(first.session.getTokens());
		expect(after.accessToken).not.toBe(details.accessToken);
		expect(after).toMatchObject({idToken: 'header.payload.sig', scope: 'openid', extra: {tenant: 'acme'}});
		// A copy: changing it changes nothing in the session.
		(after.extra as {tenant: string}).tenant = 'changed';
		expect((await world.run(first.session.getTokens())).extra).toEqual({tenant: 'acme'});
	});
});
