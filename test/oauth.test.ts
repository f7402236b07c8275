import {afterEach, describe, expect, it} from 'vitest';
import {initSession, LoggedOutError, OAuthError, oauth2RefreshGrant, RefreshFailedError, type Session} from '../src/index.js';
import {createHub} from './support/hub.js';
import {signedInWorld, worldPerTest, type World} from './support/world.js';

let session: Session | undefined;
afterEach(() => {
	session?.close();
});

describe('oauth2RefreshGrant', () => {
	it('sends the RFC 6749 refresh grant, form-encoded', () => {
		const {refreshRequest} = oauth2RefreshGrant({clientId: 'spa', scope: 'openid profile'});
		const init = refreshRequest({accessToken: 'a', refreshToken: 'r 1'});
		expect(init.method).toBe('POST');
		expect(init.headers?.['content-type']).toBe('application/x-www-form-urlencoded');
		expect(Object.fromEntries(new URLSearchParams(String(init.body)))).toEqual({
			grant_type: 'refresh_token',
			refresh_token: 'r 1',
			client_id: 'spa',
			scope: 'openid profile',
		});
	});

	it('refreshes a session against a token endpoint that speaks OAuth, keeping the refresh token when none is returned', async () => {
		const bodies: string[] = [];
		const fetch = async (_input: RequestInfo | URL, init?: RequestInit) => {
			bodies.push(String(init?.body));
			return new Response(JSON.stringify({access_token: 'new-access', token_type: 'Bearer', expires_in: 300}), {status: 200});
		};

		session = initSession({
			refreshUrl: '/oauth/token',
			storage: 'memory',
			namespace: 'oauth-test',
			fetch,
			broadcastMethod: createHub().method,
			...oauth2RefreshGrant({clientId: 'spa'}),
		});
		await session.login({accessToken: 'old-access', refreshToken: 'rt-1', expiresIn: 300});
		await session.refresh();
		expect(await session.getAccessToken()).toBe('new-access');
		expect(new URLSearchParams(bodies[0]).get('refresh_token')).toBe('rt-1');
		await session.refresh();
		// No refresh_token in the response: the server keeps the old one, and so does the session.
		expect(new URLSearchParams(bodies[1]).get('refresh_token')).toBe('rt-1');
		expect(session.getState().generation).toBe(3);
	});
});

describe('oauth2RefreshGrant parses responses and errors', () => {
	const {parseRefreshResponse, parseRefreshError} = oauth2RefreshGrant();

	it('reads access_token, refresh_token and expires_in, and accepts token_type Bearer in any case', () => {
		expect(parseRefreshResponse({access_token: 'a', refresh_token: 'r', expires_in: 60, token_type: 'bearer'}))
			.toMatchObject({accessToken: 'a', refreshToken: 'r', expiresIn: 60, tokenType: 'bearer'});
		expect(parseRefreshResponse({access_token: 'a', token_type: 'Bearer'})).toMatchObject({accessToken: 'a', refreshToken: undefined, expiresIn: undefined});
	});

	it('keeps id_token, scope and token_type, and the response\'s other fields as extra', () => {
		expect(parseRefreshResponse({access_token: 'a', id_token: 'h.p.s', scope: 'openid email', token_type: 'Bearer', session_state: 's1', 'not-before-policy': 0}))
			.toEqual({accessToken: 'a', refreshToken: undefined, expiresIn: undefined, idToken: 'h.p.s', scope: 'openid email', tokenType: 'Bearer', extra: {session_state: 's1', 'not-before-policy': 0}});
	});

	it('refuses a token type the session cannot send as a bearer', () => {
		expect(() => parseRefreshResponse({access_token: 'a', token_type: 'DPoP'})).toThrow(/token_type must be Bearer, got DPoP/);
		expect(() => parseRefreshResponse({access_token: 'a', token_type: 7})).toThrow(/got number/);
	});

	it('maps RFC 6749 §5.2 errors: invalid_grant signs out, passing faults retry, the rest fail with the server\'s words', () => {
		expect(parseRefreshError({error: 'invalid_grant', error_description: 'expired'}))
			.toEqual({action: 'logout', error: {error: 'invalid_grant', errorDescription: 'expired', errorUri: null}});
		expect(parseRefreshError({error: 'temporarily_unavailable'})?.action).toBe('retry');
		expect(parseRefreshError({error: 'server_error'})?.action).toBe('retry');
		for (const error of ['invalid_client', 'invalid_request', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'vendor_specific']) {
			expect(parseRefreshError({error, error_description: 'why', error_uri: 'https://auth.example.com/e'}))
				.toEqual({action: 'fail', error: {error, errorDescription: 'why', errorUri: 'https://auth.example.com/e'}});
		}
	});

	it('leaves bodies that are not OAuth errors to the status rules', () => {
		for (const body of [undefined, null, 'text', 42, {}, {error: ''}, {error: 5}, {message: 'no'}]) {
			expect(parseRefreshError(body)).toBeUndefined();
		}
	});
});

describe('OAuth errors across tabs', () => {
	const worlds = worldPerTest();
	const oauthError = (status: number, error: string, description: string) =>
		new Response(JSON.stringify({error, error_description: description}), {status, headers: {'content-type': 'application/json'}});

	/**
	 * Three tabs whose refresh endpoint answers from `replies` (then from the
	 * rotating test server, translated to OAuth), while API calls reach the
	 * test server as usual.
	 */
	async function oauthWorld(replies: Array<Response | Promise<Response>>): Promise<World & {refreshCalls: () => number}> {
		let calls = 0;
		let world: World | undefined;
		const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
			if (!String(input).endsWith('/auth/refresh')) {
				return world!.server.fetch(input, init);
			}

			calls++;
			const reply = replies.shift();
			if (reply) {
				return await reply;
			}

			const refreshToken = new URLSearchParams(String(init?.body)).get('refresh_token');
			const answer = await world!.server.fetch(input, {...init, body: JSON.stringify({refreshToken})});
			const {accessToken, refreshToken: next, expiresIn} = await answer.json() as Record<string, unknown>;
			return new Response(JSON.stringify({access_token: accessToken, refresh_token: next, expires_in: expiresIn, token_type: 'Bearer'}), {status: answer.status});
		};

		world = worlds.use(await signedInWorld(3, {ttl: 60, session: {refreshLeeway: 0, fetch, ...oauth2RefreshGrant({clientId: 'spa'})}}));
		return Object.assign(world, {refreshCalls: () => calls});
	}

	const expireAll = async (world: World) => {
		await world.tick(world.tabs[0]!.session.getState().expiresAt! - Date.now() + 1);
	};

	const rejections = (results: Array<PromiseSettledResult<unknown>>) =>
		results.map(result => result.status === 'rejected' ? result.reason as unknown : 'fulfilled');

	it('invalid_client: one call, every waiting request in every tab rejects with the server\'s error, the session stays', async () => {
		const world = await oauthWorld([oauthError(401, 'invalid_client', 'client spa is disabled')]);
		await expireAll(world);
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(4))));
		expect(world.refreshCalls()).toBe(1);
		for (const reason of rejections(bursts.flat())) {
			expect(reason).toBeInstanceOf(OAuthError);
			expect(reason).toMatchObject({code: 'OAUTH_ERROR', status: 401, error: 'invalid_client', errorDescription: 'client spa is disabled'});
		}

		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'authenticated', endReason: null});
			expect(tab.session.getState().lastError).toMatchObject({code: 'OAUTH_ERROR', error: 'invalid_client'});
		}

		// After the cooldown the leader tries again, and a working endpoint heals every tab.
		await world.tick(2000);
		const healed = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		expect(healed.flat().every(result => result.status === 'fulfilled')).toBe(true);
		expect(world.tabs.every(tab => tab.session.getState().lastError === null)).toBe(true);
	});

	it('invalid_grant: every tab signs out, waiting requests reject with LoggedOutError, the server\'s error as the refreshing tab\'s cause', async () => {
		// The answer comes while every tab's requests wait for the refresh.
		let answer!: (response: Response) => void;
		const world = await oauthWorld([new Promise<Response>(resolve => {
			answer = resolve;
		})]);
		await expireAll(world);
		const pending = Promise.all(world.tabs.map(async tab => tab.burst(3)));
		await world.tick(50);
		expect(world.refreshCalls()).toBe(1);
		answer(oauthError(400, 'invalid_grant', 'refresh token revoked'));
		const bursts = await world.run(pending);
		expect(world.refreshCalls()).toBe(1);
		const reasons = rejections(bursts.flat());
		expect(reasons.every(reason => reason instanceof LoggedOutError && reason.reason === 'refresh-rejected')).toBe(true);
		const causes = reasons.map(reason => (reason as LoggedOutError).cause).filter(cause => cause !== undefined);
		expect(causes.length).toBeGreaterThan(0);
		for (const cause of causes) {
			expect(cause).toMatchObject({code: 'OAUTH_ERROR', error: 'invalid_grant', errorDescription: 'refresh token revoked'});
		}

		for (const tab of world.tabs) {
			expect(tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'refresh-rejected'});
		}
	});

	it('temporarily_unavailable is retried inside the refresh: every request succeeds', async () => {
		const world = await oauthWorld([oauthError(503, 'temporarily_unavailable', 'maintenance')]);
		await expireAll(world);
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(4))));
		expect(bursts.flat().every(result => result.status === 'fulfilled')).toBe(true);
		expect(world.refreshCalls()).toBe(2);
		expect(world.server.counters.reuseDetections).toBe(0);
	});

	it('an error body that is not OAuth falls back to the status rules', async () => {
		const world = await oauthWorld([new Response('<h1>bad gateway</h1>', {status: 502}), new Response('', {status: 502}), new Response('', {status: 502})]);
		await expireAll(world);
		const bursts = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		// Retried like any 5xx: three attempts, then the next run after the 1 s cooldown, which the waiting requests get.
		expect(world.refreshCalls()).toBe(4);
		expect(rejections(bursts.flat()).every(reason => reason === 'fulfilled')).toBe(true);
		expect(world.tabs[0]!.session.getState()).toMatchObject({status: 'authenticated', generation: 2, lastError: null});
	});
});
