import {describe, expect, it} from 'vitest';
import {cookieRefresh, type SessionState} from '../src/index.js';
import {createWorld, worldPerTest} from './support/world.js';

/**
 * Restore: with the refresh token in an httpOnly cookie and tokens kept in
 * memory, a reload of the only tab, or a browser restart that opens several
 * tabs at once, signs the user back in with one refresh call, and a user
 * without a valid cookie is simply signed out.
 */
const worlds = worldPerTest();

/** A cookie endpoint: one live cookie per browser, rotated by each refresh; a missing or spent one gets 401. */
function cookieServer() {
	let cookie: string | null = null;
	let serial = 0;
	const calls: number[] = [];
	return {
		calls,
		signIn() {
			cookie = `c-${++serial}`;
			return {accessToken: `at-${serial}`, expiresIn: 600};
		},
		clear() {
			cookie = null;
		},
		fetch: (async (input: RequestInfo | URL) => {
			const url = String(input);
			if (!url.endsWith('/auth/refresh')) {
				return new Response('{}', {status: 200});
			}

			calls.push(Date.now());
			await Promise.resolve();
			if (cookie === null) {
				return new Response(JSON.stringify({error: 'no session'}), {status: 401, headers: {'content-type': 'application/json'}});
			}

			cookie = `c-${++serial}`;
			return new Response(JSON.stringify({accessToken: `at-${serial}`, expiresIn: 600}), {status: 200, headers: {'content-type': 'application/json'}});
		}) as typeof fetch,
	};
}

function browser() {
	const server = cookieServer();
	const world = worlds.use(createWorld({ttl: 600, storage: 'memory', locks: true, session: {...cookieRefresh({credentials: 'same-origin'}), fetch: server.fetch}}));
	return {world, server};
}

describe('restore with a cookie-held refresh token (memory storage)', () => {
	it('three tabs opened at once with no session anywhere: one refresh call, all three signed in with its tokens; each says restoring until then', async () => {
		const {world, server} = browser();
		server.signIn();
		const tabs = [world.openTab(), world.openTab(), world.openTab()];
		const first: SessionState[] = tabs.map(tab => tab.session.getState());
		expect(first.map(state => state.status)).toEqual(['restoring', 'restoring', 'restoring']);
		await world.run(Promise.all(tabs.map(async tab => tab.session.ready)));
		expect(server.calls).toHaveLength(1);
		const tokens = await world.run(Promise.all(tabs.map(async tab => tab.session.getAccessToken())));
		expect(new Set(tokens).size).toBe(1);
		expect(tabs.map(tab => tab.session.getState().status)).toEqual(['authenticated', 'authenticated', 'authenticated']);
	});

	it('a reload of the only tab restores the session: one call', async () => {
		const {world, server} = browser();
		const only = world.openTab();
		await world.run(only.session.ready);
		await world.run(only.session.login(server.signIn()));
		only.close();
		const reloaded = world.openTab();
		await world.run(reloaded.session.ready);
		expect(reloaded.session.getState().status).toBe('authenticated');
		// The first tab's restore found no cookie, the reload's found the new one.
		expect(server.calls).toHaveLength(2);
	});

	it('no valid cookie: signed out quietly, no error, no logout, no endReason; later opens try again', async () => {
		const {world, server} = browser();
		const tabs = [world.openTab(), world.openTab()];
		const logouts: unknown[] = [];
		for (const tab of tabs) {
			tab.session.on('logout', event => logouts.push(event));
		}

		await world.run(Promise.all(tabs.map(async tab => tab.session.ready)));
		for (const tab of tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: null, lastError: null});
		}

		expect(logouts).toEqual([]);
		// Each tab asked once (a 401 costs nothing to repeat); none asked again.
		expect(server.calls.length).toBeLessThanOrEqual(2);
		const before = server.calls.length;
		await world.tick(30_000);
		expect(server.calls).toHaveLength(before);
	});

	it('after a logout that did not tell the server (no logoutUrl), a new tab does not restore: the cookie may still be valid', async () => {
		const {world, server} = browser();
		const tab = world.openTab();
		await world.run(tab.session.ready);
		await world.run(tab.session.login(server.signIn()));
		await world.run(tab.session.logout());
		const calls = server.calls.length;
		const later = world.openTab();
		await world.run(later.session.ready);
		expect(later.session.getState().status).toBe('unauthenticated');
		expect(server.calls).toHaveLength(calls);
	});

	it('with logoutUrl the server clears the cookie at logout; a sign-in on the server (a redirect that sets a new cookie) is then restored', async () => {
		const server = cookieServer();
		const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
			if (String(input).endsWith('/auth/logout')) {
				server.clear();
				return new Response(null, {status: 204});
			}

			return server.fetch(input, init);
		}) as typeof globalThis.fetch;
		const world = worlds.use(createWorld({ttl: 600, storage: 'memory', locks: true, session: {...cookieRefresh({credentials: 'same-origin', logoutUrl: '/auth/logout'}), fetch}}));
		const tab = world.openTab();
		await world.run(tab.session.ready);
		await world.run(tab.session.login(server.signIn()));
		await world.run(tab.session.logout());
		tab.close();
		// Signed out, the cookie gone: a new tab's restore is answered 401.
		const signedOut = world.openTab();
		await world.run(signedOut.session.ready);
		expect(signedOut.session.getState().status).toBe('unauthenticated');
		signedOut.close();
		// The user signs in on the server's own login page; the app loads again.
		server.signIn();
		const after = world.openTab();
		await world.run(after.session.ready);
		expect(after.session.getState().status).toBe('authenticated');
	});

	it('is off without the option: a tab with no session stays signed out and calls nothing', async () => {
		const server = cookieServer();
		server.signIn();
		const world = worlds.use(createWorld({ttl: 600, storage: 'memory', locks: true, session: {...cookieRefresh(), restore: false, fetch: server.fetch}}));
		const tab = world.openTab();
		expect(tab.session.getState().status).toBe('unauthenticated');
		await world.run(tab.session.ready);
		expect(server.calls).toEqual([]);
	});
});
