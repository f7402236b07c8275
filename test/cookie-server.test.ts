// @vitest-environment node
// The example server's cookie mode over plain fetch: what the refresh cookie
// looks like, rotation, reuse detection, the grace window and logout. The
// browser tests (test/browser/cookie.test.ts) rely on each of these.
import {afterEach, describe, expect, it} from 'vitest';

interface CookieServer {
	url: string;
	stats(): Record<string, unknown> & {config: Record<string, unknown>};
	issuedRefreshTokens(): string[];
	close(): Promise<void>;
}

interface ServerModule {
	startServer(options: Record<string, unknown>): Promise<CookieServer>;
}

// A variable specifier: the server is plain JavaScript without type declarations.
const serverEntry = new URL('../examples/server.mjs', import.meta.url).href;
const {startServer} = (await import(serverEntry)) as ServerModule;

let server: CookieServer | undefined;
afterEach(async () => {
	await server?.close();
	server = undefined;
});

const start = async (options: Record<string, unknown> = {}) => {
	server = await startServer({port: 0, host: '127.0.0.1', ...options});
	return server;
};

interface ParsedCookie {
	name: string;
	value: string;
	/** Lower-cased attribute names → values ('' for flags). */
	attributes: Record<string, string>;
}

const parseSetCookie = (header: string): ParsedCookie => {
	const [pair = '', ...rest] = header.split(';').map(part => part.trim());
	const separator = pair.indexOf('=');
	const attributes: Record<string, string> = {};
	for (const part of rest) {
		const index = part.indexOf('=');
		attributes[(index === -1 ? part : part.slice(0, index)).toLowerCase()] = index === -1 ? '' : part.slice(index + 1);
	}

	return {name: pair.slice(0, separator), value: pair.slice(separator + 1), attributes};
};

interface Answer {
	status: number;
	body: Record<string, unknown>;
	cookies: ParsedCookie[];
}

const call = async (path: string, {cookie, body, headers = {}}: {cookie?: string; body?: unknown; headers?: Record<string, string>} = {}): Promise<Answer> => {
	const response = await fetch(`${server!.url}${path}`, {
		method: 'POST',
		headers: {
			...(body === undefined ? {} : {'content-type': 'application/json'}),
			...(cookie === undefined ? {} : {cookie: `refresh_token=${cookie}`}),
			...headers,
		},
		body: body === undefined ? null : JSON.stringify(body),
	});
	return {
		status: response.status,
		body: await response.json() as Record<string, unknown>,
		cookies: response.headers.getSetCookie().map(parseSetCookie),
	};
};

const getOrders = async (accessToken: string) => {
	const response = await fetch(`${server!.url}/api/orders`, {headers: {authorization: `Bearer ${accessToken}`}});
	await response.body?.cancel();
	return response.status;
};

/** The single refresh cookie an answer set, checked for the attributes cookie mode promises. */
const refreshCookieOf = (answer: Answer): ParsedCookie => {
	expect(answer.cookies).toHaveLength(1);
	const cookie = answer.cookies[0]!;
	expect(cookie.name).toBe('refresh_token');
	expect(cookie.attributes).toMatchObject({httponly: '', samesite: 'Strict', path: '/api/auth'});
	return cookie;
};

const expectCleared = (answer: Answer) => {
	const cookie = refreshCookieOf(answer);
	expect(cookie.value).toBe('');
	expect(cookie.attributes['max-age']).toBe('0');
};

describe('cookie mode (refreshCookie: true)', () => {
	it('login answers the access token only and sets the refresh token as an HttpOnly, SameSite=Strict cookie on /api/auth', async () => {
		const {issuedRefreshTokens, stats} = await start({refreshCookie: true, accessTtl: 30});
		const login = await call('/api/auth/login', {body: {username: 'demo'}});
		expect(login.status).toBe(200);
		expect(Object.keys(login.body).sort()).toEqual(['accessToken', 'expiresIn']);
		expect(login.body['expiresIn']).toBe(30);
		const cookie = refreshCookieOf(login);
		// Plain http: no Secure (a browser would drop the cookie), no Max-Age (a session cookie).
		expect(Object.keys(cookie.attributes).sort()).toEqual(['httponly', 'path', 'samesite']);
		expect(issuedRefreshTokens()).toEqual([cookie.value]);
		expect(await getOrders(login.body['accessToken'] as string)).toBe(200);
		expect(stats().config['refreshCookie']).toBe(true);
	});

	it('adds Secure when the request came over https (behind a TLS proxy)', async () => {
		await start({refreshCookie: true});
		const login = await call('/api/auth/login', {body: {}, headers: {'x-forwarded-proto': 'https'}});
		expect(refreshCookieOf(login).attributes).toHaveProperty('secure', '');
	});

	it('refresh reads the cookie, rotates it and answers without a refresh token; a spent cookie presented again revokes the family and clears the cookie', async () => {
		const {stats, issuedRefreshTokens} = await start({refreshCookie: true});
		const first = refreshCookieOf(await call('/api/auth/login', {body: {}})).value;

		const refreshed = await call('/api/auth/refresh', {cookie: first});
		expect(refreshed.status).toBe(200);
		expect(Object.keys(refreshed.body).sort()).toEqual(['accessToken', 'expiresIn']);
		const second = refreshCookieOf(refreshed).value;
		expect(second).not.toBe(first);
		expect(issuedRefreshTokens()).toEqual([first, second]);
		const accessToken = refreshed.body['accessToken'] as string;
		expect(await getOrders(accessToken)).toBe(200);

		// The spent cookie again: theft, as far as the server can tell.
		const reused = await call('/api/auth/refresh', {cookie: first});
		expect(reused.status).toBe(401);
		expect(reused.body).toMatchObject({error: 'invalid_grant'});
		expectCleared(reused);
		// The whole family is gone: the newest cookie and its access token too.
		const afterTheft = await call('/api/auth/refresh', {cookie: second});
		expect(afterTheft.status).toBe(401);
		expectCleared(afterTheft);
		expect(await getOrders(accessToken)).toBe(401);
		expect(stats()).toMatchObject({
			refreshCalls: 3, refreshOk: 1, reuseDetections: 1, refreshRejected: 2, refreshBodyTokens: 0, refreshWithoutCookie: 0,
		});
	});

	it('ignores a refresh token in the body and counts it; a call without the cookie is rejected and counted', async () => {
		const {stats} = await start({refreshCookie: true});
		const token = refreshCookieOf(await call('/api/auth/login', {body: {}})).value;

		// The default mode's request shape: the token in the body, no cookie. Rejected, and the token stays unspent.
		const bodyOnly = await call('/api/auth/refresh', {body: {refreshToken: token}});
		expect(bodyOnly.status).toBe(401);
		expectCleared(bodyOnly);
		expect(stats()).toMatchObject({refreshBodyTokens: 1, refreshWithoutCookie: 1, refreshRejected: 1, refreshOk: 0});

		// A form-encoded body is recognised too; the cookie alone decides.
		const response = await fetch(`${server!.url}/api/auth/refresh`, {
			method: 'POST',
			headers: {'content-type': 'application/x-www-form-urlencoded', cookie: `refresh_token=${token}`},
			body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: 'anything'}),
		});
		expect(response.status).toBe(200);
		await response.body?.cancel();

		// No body at all, as tab-session sends it in cookie mode.
		const bare = await call('/api/auth/refresh');
		expect(bare.status).toBe(401);
		expect(stats()).toMatchObject({refreshBodyTokens: 2, refreshWithoutCookie: 2, refreshOk: 1, refreshRejected: 2, reuseDetections: 0});
	});

	it('within the grace window a repeat of the spent cookie gets the same new pair, as a cookie again', async () => {
		const {stats} = await start({refreshCookie: true, graceWindow: 10});
		const first = refreshCookieOf(await call('/api/auth/login', {body: {}})).value;
		const once = await call('/api/auth/refresh', {cookie: first});
		const twice = await call('/api/auth/refresh', {cookie: first});
		expect(twice.status).toBe(200);
		expect(twice.body).toEqual(once.body);
		expect(refreshCookieOf(twice).value).toBe(refreshCookieOf(once).value);
		expect(stats()).toMatchObject({refreshOk: 2, graceReuses: 1, reuseDetections: 0});
	});

	it('logout revokes the cookie\'s family and clears the cookie', async () => {
		const {stats} = await start({refreshCookie: true});
		const login = await call('/api/auth/login', {body: {}});
		const token = refreshCookieOf(login).value;
		const loggedOut = await call('/api/auth/logout', {cookie: token});
		expect(loggedOut).toMatchObject({status: 200, body: {ok: true, revoked: true}});
		expectCleared(loggedOut);
		expect(await getOrders(login.body['accessToken'] as string)).toBe(401);
		const refresh = await call('/api/auth/refresh', {cookie: token});
		expect(refresh.status).toBe(401);
		expectCleared(refresh);
		// Without a cookie there is nothing to revoke; the (absent) cookie is cleared all the same.
		const again = await call('/api/auth/logout');
		expect(again).toMatchObject({status: 200, body: {ok: true, revoked: false}});
		expectCleared(again);
		expect(stats()).toMatchObject({logouts: 2, refreshRejected: 1, reuseDetections: 0});
	});
});

describe('default mode (refresh token in the body) is unchanged', () => {
	it('login and refresh carry the refresh token in the JSON body and set no cookie; cookie counters stay at 0', async () => {
		const {stats} = await start();
		const login = await call('/api/auth/login', {body: {}});
		expect(Object.keys(login.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
		expect(login.cookies).toEqual([]);
		const refreshed = await call('/api/auth/refresh', {body: {refreshToken: login.body['refreshToken']}});
		expect(refreshed.status).toBe(200);
		expect(Object.keys(refreshed.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
		expect(refreshed.cookies).toEqual([]);
		// A cookie means nothing here.
		const cookieOnly = await call('/api/auth/refresh', {cookie: refreshed.body['refreshToken'] as string});
		expect(cookieOnly.status).toBe(401);
		expect(cookieOnly.cookies).toEqual([]);
		expect(stats()).toMatchObject({
			refreshCalls: 2, refreshOk: 1, refreshRejected: 1, refreshBodyTokens: 0, refreshWithoutCookie: 0,
			config: {refreshCookie: false},
		});
	});

	it('logout revokes the family of the body\'s refresh token, or of the bearer', async () => {
		const {stats} = await start();
		const byBody = await call('/api/auth/login', {body: {}});
		expect(await call('/api/auth/logout', {body: {refreshToken: byBody.body['refreshToken']}}))
			.toMatchObject({status: 200, body: {ok: true, revoked: true}, cookies: []});
		expect(await getOrders(byBody.body['accessToken'] as string)).toBe(401);
		expect((await call('/api/auth/refresh', {body: {refreshToken: byBody.body['refreshToken']}})).status).toBe(401);

		const byBearer = await call('/api/auth/login', {body: {}});
		const accessToken = byBearer.body['accessToken'] as string;
		expect(await call('/api/auth/logout', {headers: {authorization: `Bearer ${accessToken}`}}))
			.toMatchObject({status: 200, body: {ok: true, revoked: true}});
		expect(await getOrders(accessToken)).toBe(401);
		expect(stats()).toMatchObject({logouts: 2, logins: 2});
	});

	it('/api/admin/config changes the numbers only: the mode stays as started', async () => {
		await start();
		const answer = await call('/api/admin/config', {body: {refreshCookie: 1, accessTtl: 7, graceWindow: 2}});
		expect(answer.body).toEqual({accessTtl: 7, graceWindow: 2, refreshDelay: 0, refreshCookie: false});
	});
});
