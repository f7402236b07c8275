// @vitest-environment node
// oauth2RefreshGrant against a real OAuth 2.0 server library
// (@node-oauth/oauth2-server, test/support/oauth-server.mjs) over real HTTP
// with Node's fetch, in real time: several sessions of one origin in this
// process, joined by an in-memory channel, as tabs would be.
import {afterEach, describe, expect, it} from 'vitest';
import {
	initSession,
	LoggedOutError,
	OAuthError,
	oauth2RefreshGrant,
	type OAuth2RefreshOptions,
	type Session,
	type SessionOptions,
} from '../src/index.js';
import {createHub, type Hub} from './support/hub.js';
import {startOAuthServer, type OAuthServer, type OAuthServerOptions} from './support/oauth-server.mjs';

interface TokenResponse {
	access_token: string;
	token_type: string;
	expires_in?: number;
	refresh_token: string;
}

// --- one origin: a server, a channel, several sessions ----------------------------

const sleep = async (ms: number) => new Promise<void>(resolve => {
	setTimeout(resolve, ms);
});

/** Polls until `accept` holds; fails with `what` after `timeout` ms. */
async function until(what: string, accept: () => boolean, timeout = 5000): Promise<number> {
	const started = Date.now();
	while (!accept()) {
		if (Date.now() - started > timeout) {
			throw new Error(`${what}: not reached within ${timeout} ms`);
		}

		// eslint-disable-next-line no-await-in-loop
		await sleep(10);
	}

	return Date.now() - started;
}

interface Origin {
	server: OAuthServer;
	hub: Hub;
	sessions: Session[];
	open(grant?: OAuth2RefreshOptions, extra?: Partial<SessionOptions>): Session;
	/** The password grant, as the app's sign-in does it. */
	passwordGrant(): Promise<TokenResponse>;
	/** Signs in through `session` and waits until every session holds generation 1. */
	signIn(session: Session, tokens?: TokenResponse): Promise<TokenResponse>;
	leader(): Session | undefined;
	close(): Promise<void>;
}

let current: Origin | undefined;
let origins = 0;

afterEach(async () => {
	const origin = current;
	current = undefined;
	if (origin) {
		await origin.close();
		// Nothing left open: every channel closed.
		expect(origin.hub.open).toBe(0);
	}
});

async function startOrigin(serverOptions: OAuthServerOptions, count: number): Promise<Origin> {
	const server = await startOAuthServer(serverOptions);
	const hub = createHub();
	const namespace = `oauth-${++origins}-${Math.random().toString(36).slice(2, 8)}`;
	const sessions: Session[] = [];

	const origin: Origin = {
		server,
		hub,
		sessions,
		open(grant = {clientId: 'spa'}, extra = {}) {
			const session = initSession({
				refreshUrl: '/oauth/token',
				baseUrl: `${server.url}/oauth.html`,
				storage: 'memory',
				namespace,
				fetch: async (input, init) => globalThis.fetch(input, init),
				broadcastMethod: hub.method,
				locks: null,
				...oauth2RefreshGrant(grant),
				...extra,
			});
			sessions.push(session);
			return session;
		},
		async passwordGrant() {
			const response = await fetch(`${server.url}/oauth/token`, {
				method: 'POST',
				body: new URLSearchParams({grant_type: 'password', username: 'demo', password: 'demo', client_id: 'spa'}),
			});
			expect(response.status).toBe(200);
			return response.json() as Promise<TokenResponse>;
		},
		async signIn(session, given) {
			const tokens = given ?? await origin.passwordGrant();
			await session.login({accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresIn: tokens.expires_in});
			await until('every session signed in', () => sessions.every(each => each.getState().generation === 1 && each.getState().status === 'authenticated'));
			return tokens;
		},
		leader: () => sessions.find(session => session.getState().role === 'leader'),
		async close() {
			for (const session of sessions) {
				session.close();
			}

			// Let the channels' goodbyes go out before the server goes.
			await sleep(20);
			await server.close();
		},
	};

	current = origin;
	for (let index = 0; index < count; index++) {
		origin.open();
	}

	// Leadership first: the message election takes a few hundred ms in real time.
	if (count > 0) {
		await until('a leader', () => origin.leader() !== undefined);
	}

	return origin;
}

interface Outcome {
	ok: boolean;
	error?: unknown;
}

/** `count` GETs of the protected resource through `session.api`, settled. */
async function burst(session: Session, count: number): Promise<Outcome[]> {
	// Absolute: Node's Request has no page URL to resolve a relative one against.
	const url = `${current!.server.url}/api/resource`;
	return Promise.all(Array.from({length: count}, async () => {
		try {
			await session.api.get(url).json();
			return {ok: true};
		} catch (error) {
			return {ok: false, error};
		}
	}));
}

const report = (name: string, figures: Record<string, unknown>) => {
	console.info(`[oauth server] ${name}: ${JSON.stringify(figures)}`);
};

const generations = (origin: Origin) => origin.sessions.map(session => session.getState().generation);

// --- the tests --------------------------------------------------------------------

describe('oauth2RefreshGrant against @node-oauth/oauth2-server', () => {
	it('password grant, then refreshes with rotation: each refresh presents the latest refresh token, never invalid_grant', async () => {
		// 2-second tokens: the leader refreshes ahead of each expiry on its own.
		const origin = await startOrigin({accessTokenLifetime: 2}, 3);
		const {server, sessions} = origin;
		const first = await origin.signIn(sessions[1]!);
		expect(first.token_type).toBe('Bearer');

		// The sessions keep working while three rotations go by.
		const outcomes: Outcome[] = [];
		const started = Date.now();
		while (!sessions.every(session => session.getState().generation >= 4)) {
			// eslint-disable-next-line no-await-in-loop
			const rounds = await Promise.all(sessions.map(async session => burst(session, 3)));
			outcomes.push(...rounds.flat());
			// eslint-disable-next-line no-await-in-loop
			await sleep(150);
			expect(Date.now() - started, 'three rotations').toBeLessThan(15_000);
		}

		// One more, asked for by a follower: the leader refreshes for it.
		const follower = sessions.find(session => session.getState().role === 'follower')!;
		const before = follower.getState().generation;
		await follower.refresh();
		expect(follower.getState().generation).toBe(before + 1);
		await until('every session on the new generation', () => generations(origin).every(generation => generation === before + 1));
		outcomes.push(...(await Promise.all(sessions.map(async session => burst(session, 3)))).flat());

		const stats = server.stats();
		expect(outcomes.filter(outcome => !outcome.ok)).toEqual([]);
		expect(stats.refreshCalls).toBe(before);
		expect(stats).toMatchObject({passwordGrants: 1, refreshOk: before, invalidGrant: 0, reuse: 0, refreshErrors: 0, maxRefreshInFlight: 1, api401: 0});
		expect(stats.apiOk).toBe(outcomes.length);
		// Rotation: refresh n presented the refresh token issued by grant n - 1, and nothing else.
		expect(stats.refreshLog.map(entry => entry.presented)).toEqual(stats.issuedRefreshTokens.slice(0, stats.refreshCalls));
		expect(new Set(stats.issuedRefreshTokens).size).toBe(stats.refreshCalls + 1);
		expect(stats.refreshLog.every(entry => entry.outcome === 'ok')).toBe(true);
		report('rotation', {
			refreshCalls: stats.refreshCalls,
			requests: outcomes.length,
			refreshIntervalsMs: stats.refreshTimes.slice(1).map((time, index) => time - stats.refreshTimes[index]!),
		});
	});

	it('logout revokes the refresh token (RFC 7009) once, from the tab that logs out: it and its access token stop working at the server', async () => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 0);
		const {server} = origin;
		const grant = {clientId: 'spa', revocationUrl: '/oauth/revoke'};
		const sessions = [origin.open(grant), origin.open(grant), origin.open(grant)];
		await until('a leader', () => origin.leader() !== undefined);
		await origin.signIn(sessions[1]!);
		// One refresh first: what gets revoked is the rotated token the session holds now.
		await sessions[0]!.refresh();
		await until('every session refreshed', () => sessions.every(session => session.getState().generation === 2));
		const latest = server.stats().issuedRefreshTokens.at(-1)!;
		const accessToken = await sessions[2]!.getAccessToken();
		await sessions[2]!.logout();
		expect(server.stats()).toMatchObject({revocations: 1, revokedByClient: 1});
		await until('every session signed out', () => sessions.every(session => session.getState().status === 'unauthenticated'));
		const refreshed = await fetch(`${server.url}/oauth/token`, {
			method: 'POST',
			body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: latest, client_id: 'spa'}),
		});
		expect(refreshed.status).toBe(400);
		expect(await refreshed.json()).toMatchObject({error: 'invalid_grant'});
		const api = await fetch(`${server.url}/api/resource`, {headers: {authorization: `Bearer ${accessToken}`}});
		expect(api.status).toBe(401);
		// Nobody else called it: not the other tabs, not a second logout.
		await sessions[0]!.logout();
		await sleep(50);
		expect(server.stats().revocations).toBe(1);
	});

	it('a revocation endpoint that is down or slow never keeps anyone signed in, and logout() still resolves', async () => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 0);
		const sessions = [
			origin.open({clientId: 'spa', revocationUrl: 'http://127.0.0.1:9/revoke'}, {refreshTimeout: 500}),
			origin.open({clientId: 'spa'}),
		];
		await until('a leader', () => origin.leader() !== undefined);
		await origin.signIn(sessions[0]!);
		const started = Date.now();
		await sessions[0]!.logout();
		expect(Date.now() - started).toBeLessThan(2000);
		await until('every session signed out', () => sessions.every(session => session.getState().status === 'unauthenticated'));
	});

	it('a refresh token used elsewhere first: invalid_grant ends the session in every tab, waiting requests reject LoggedOutError', async () => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 3);
		const {server, sessions} = origin;
		const tokens = await origin.signIn(sessions[0]!);

		// Someone else (a stolen copy) redeems the session's refresh token first: the server rotates it away.
		const stolen = await fetch(`${server.url}/oauth/token`, {
			method: 'POST',
			body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa'}),
		});
		expect(stolen.status).toBe(200);

		// Every access token dies; the requests meet 401s and wait for the refresh, which presents the revoked token.
		server.config({refreshDelay: 200});
		server.revokeAccessTokens();
		const outcomes = (await Promise.all(sessions.map(async session => burst(session, 4)))).flat();

		for (const outcome of outcomes) {
			expect(outcome.ok).toBe(false);
			expect(outcome.error).toBeInstanceOf(LoggedOutError);
			expect(outcome.error).toMatchObject({code: 'LOGGED_OUT', reason: 'refresh-rejected'});
		}

		await until('every session signed out', () => sessions.every(session => session.getState().status === 'unauthenticated'));
		for (const session of sessions) {
			expect(session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'refresh-rejected', expiresAt: null});
		}

		const stats = server.stats();
		// The second redemption of one refresh token: seen by the server as a reuse, answered invalid_grant, once.
		expect(stats).toMatchObject({refreshCalls: 2, refreshOk: 1, invalidGrant: 1, reuse: 1, api401: outcomes.length});
		expect(stats.refreshLog.map(entry => [entry.presented, entry.outcome])).toEqual([
			[tokens.refresh_token, 'ok'],
			[tokens.refresh_token, 'invalid_grant'],
		]);

		// Later requests reject in the tab: nothing goes out.
		const after = (await Promise.all(sessions.map(async session => burst(session, 1)))).flat();
		expect(after.map(outcome => (outcome.error as {code?: string}).code)).toEqual(['LOGGED_OUT', 'LOGGED_OUT', 'LOGGED_OUT']);
		expect(server.stats().api401).toBe(outcomes.length);
		expect(server.stats().refreshCalls).toBe(2);
	});

	it.each([
		{error: 'invalid_client', status: 401, description: 'Client authentication failed'},
		{error: 'invalid_scope', status: 400, description: 'The requested scope exceeds the grant'},
	])('$error ($status) from the token endpoint: OAuthError with the server\'s error and description in every tab, session kept', async fault => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 3);
		const {server, sessions} = origin;
		const tokens = await origin.signIn(sessions[0]!);

		server.failNextRefresh(fault);
		server.revokeAccessTokens();
		const outcomes = (await Promise.all(sessions.map(async session => burst(session, 3)))).flat();
		// Every tab had recorded the failure by the time its requests rejected with it.
		const failureSeenAt = Date.now();
		for (const outcome of outcomes) {
			expect(outcome.ok).toBe(false);
			expect(outcome.error).toBeInstanceOf(OAuthError);
			expect(outcome.error).toMatchObject({
				code: 'OAUTH_ERROR',
				error: fault.error,
				errorDescription: fault.description,
				errorUri: null,
				status: fault.status,
			});
		}

		// Not retried: one call, answered with the fault.
		let stats = server.stats();
		expect(stats).toMatchObject({refreshCalls: 1, refreshOk: 0, invalidGrant: 0, refreshErrors: 1});
		for (const session of sessions) {
			expect(session.getState()).toMatchObject({status: 'authenticated', generation: 1, endReason: null});
		}

		// Every tab reports the failure in its state, the leader's own and the followers' from its message.
		for (const session of sessions) {
			expect(session.getState().lastError).toBeInstanceOf(OAuthError);
			expect(session.getState().lastError).toMatchObject({code: 'OAUTH_ERROR', error: fault.error, errorDescription: fault.description, status: fault.status});
		}

		// For a moment the session fails fast with the same error rather than hammer the endpoint.
		const fast = await burst(sessions[1]!, 1);
		expect(fast[0]!.error).toBeInstanceOf(OAuthError);
		expect(fast[0]!.error).toMatchObject({error: fault.error, errorDescription: fault.description});
		expect(server.stats().refreshCalls).toBe(1);

		// After that cooldown (1 s after a first failure), the refresh token that survived the error is used and works everywhere.
		await until('the cooldown after the failure', () => Date.now() > failureSeenAt + 1000);
		const recovered = (await Promise.all(sessions.map(async session => burst(session, 2)))).flat();
		expect(recovered.filter(outcome => !outcome.ok)).toEqual([]);
		stats = server.stats();
		expect(stats).toMatchObject({refreshCalls: 2, refreshOk: 1, invalidGrant: 0, reuse: 0});
		expect(stats.refreshLog.map(entry => [entry.presented, entry.outcome])).toEqual([
			[tokens.refresh_token, fault.error],
			[tokens.refresh_token, 'ok'],
		]);
		await until('every session on generation 2', () => generations(origin).every(generation => generation === 2));
		for (const session of sessions) {
			expect(session.getState().lastError).toBeNull();
		}
	});

	it('temporarily_unavailable (503) is retried like a 5xx: the requests succeed, one refresh token, two calls', async () => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 3);
		const {server, sessions} = origin;
		const tokens = await origin.signIn(sessions[0]!);

		server.failNextRefresh({error: 'temporarily_unavailable', status: 503, description: 'Down for maintenance'});
		server.revokeAccessTokens();
		const outcomes = (await Promise.all(sessions.map(async session => burst(session, 3)))).flat();
		expect(outcomes.filter(outcome => !outcome.ok)).toEqual([]);
		const stats = server.stats();
		expect(stats).toMatchObject({refreshCalls: 2, refreshOk: 1, refreshErrors: 1, invalidGrant: 0, reuse: 0, maxRefreshInFlight: 1});
		expect(stats.refreshLog.map(entry => [entry.presented, entry.outcome])).toEqual([
			[tokens.refresh_token, 'temporarily_unavailable'],
			[tokens.refresh_token, 'ok'],
		]);
		await until('every session on generation 2', () => generations(origin).every(generation => generation === 2));
	});

	it('the library\'s own invalid_client (an unknown client_id) is an OAuthError, not a logout', async () => {
		const origin = await startOrigin({accessTokenLifetime: 600}, 0);
		const session = origin.open({clientId: 'not-registered'});
		await until('a leader', () => session.getState().role === 'leader');
		await origin.signIn(session);

		const error = await session.refresh().catch((error_: unknown) => error_);
		expect(error).toBeInstanceOf(OAuthError);
		expect(error).toMatchObject({code: 'OAUTH_ERROR', error: 'invalid_client', errorDescription: 'Invalid client: client is invalid', status: 400});
		expect(session.getState()).toMatchObject({status: 'authenticated', endReason: null, generation: 1});
		expect(origin.server.stats()).toMatchObject({refreshCalls: 1, refreshErrors: 1, invalidGrant: 0});
	});

	it('JWT access tokens without expires_in: expiresAt comes from the JWT, and the leader refreshes ahead of its exp', async () => {
		// 6-second tokens: the lead before expiry is a quarter of the lifetime, 1.5 s.
		const origin = await startOrigin({accessTokenLifetime: 6, jwtAccessTokens: true, omitExpiresIn: true}, 3);
		const {server, sessions} = origin;
		const grantStarted = Date.now();
		const tokens = await origin.passwordGrant();
		expect(tokens.expires_in).toBeUndefined();
		await origin.signIn(sessions[2]!, tokens);
		const signedIn = Date.now();
		const claims = server.decodeJwt(tokens.access_token) as {iat: number; exp: number};
		expect(claims.exp - claims.iat).toBe(6);

		// Counted from receipt, less the second a whole-second iat can hide: at most a second before
		// the server's exp, and after it by less than the time the grant took.
		for (const session of sessions) {
			const {expiresAt} = session.getState();
			expect(expiresAt! - (claims.exp * 1000)).toBeGreaterThanOrEqual(-1000);
			expect(expiresAt! - (claims.exp * 1000)).toBeLessThan(signedIn - grantStarted);
		}

		const firstOffset = sessions[0]!.getState().expiresAt! - (claims.exp * 1000);

		// Requests keep going; the leader's timer refreshes before the server's exp, so none meets a 401.
		const outcomes: Outcome[] = [];
		while (server.stats().refreshOk < 1 || !generations(origin).every(generation => generation === 2)) {
			// eslint-disable-next-line no-await-in-loop
			outcomes.push(...(await Promise.all(sessions.map(async session => burst(session, 2)))).flat());
			// eslint-disable-next-line no-await-in-loop
			await sleep(100);
			expect(Date.now() - signedIn, 'the refresh').toBeLessThan(10_000);
		}

		const stats = server.stats();
		expect(outcomes.filter(outcome => !outcome.ok)).toEqual([]);
		expect(stats).toMatchObject({refreshCalls: 1, refreshOk: 1, invalidGrant: 0, api401: 0});
		expect(stats.refreshTimes[0]!).toBeLessThan(claims.exp * 1000);
		report('JWT exp fallback', {
			refreshBeforeServerExpMs: (claims.exp * 1000) - stats.refreshTimes[0]!,
			requests: outcomes.length,
			expiresAtMinusExpMs: firstOffset,
		});

		// The refreshed token's expiry comes from its own JWT again (the margin: the refresh response's way back).
		const next = server.decodeJwt(await sessions[0]!.getAccessToken()) as {iat: number; exp: number};
		expect(next.exp).toBeGreaterThan(claims.exp);
		for (const session of sessions) {
			const {expiresAt} = session.getState();
			expect(expiresAt! - (next.exp * 1000)).toBeGreaterThanOrEqual(-1000);
			expect(expiresAt! - (next.exp * 1000)).toBeLessThan(500);
		}
	});
});
