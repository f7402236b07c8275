import {afterEach, expect, it, vi} from 'vitest';
import {cookieRefresh, initSession, type Session} from '../src/index.js';
import {createHub} from './support/hub.js';

let session: Session | undefined;
afterEach(() => {
	session?.close();
	localStorage.clear();
});

function endpoint(body: (serial: number) => Record<string, unknown>) {
	const calls: RequestInit[] = [];
	let serial = 0;
	const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
		calls.push(init ?? {});
		return new Response(JSON.stringify(body(++serial)), {status: 200});
	});
	return {calls, fetch: fetch as unknown as typeof globalThis.fetch};
}

it('refreshes with a cookie-held refresh token: credentials included, no token in the body or in the session', async () => {
	const {calls, fetch} = endpoint(serial => ({accessToken: `at-${serial}`, expiresIn: 300}));
	session = initSession({
		refreshUrl: '/api/auth/refresh',
		storage: 'memory',
		namespace: 'cookie-mode',
		fetch,
		broadcastMethod: createHub().method,
		refreshRequest: () => ({method: 'POST', credentials: 'include', body: null}),
	});
	await session.login({accessToken: 'at-0', expiresIn: 300});
	await session.refresh();
	await session.refresh();
	expect(await session.getAccessToken()).toBe('at-2');
	expect(calls).toHaveLength(2);
	for (const init of calls) {
		expect(init.credentials).toBe('include');
		expect(init.body).toBeNull();
	}

	expect(JSON.stringify(session.getState())).not.toMatch(/at-/);
});

it('cookieRefresh(): no body, credentials and extra headers, and a refresh token in a response is never stored', async () => {
	const {calls, fetch} = endpoint(serial => ({accessToken: `at-${serial}`, refreshToken: `leaked-rt-${serial}`, expiresIn: 300}));
	session = initSession({
		refreshUrl: '/api/auth/refresh',
		storage: 'local',
		namespace: 'cookie-preset',
		fetch,
		broadcastMethod: createHub().method,
		...cookieRefresh({credentials: 'same-origin', headers: {'x-csrf': '1'}}),
	});
	await session.login({accessToken: 'at-0', expiresIn: 300});
	await session.refresh();
	expect(await session.getAccessToken()).toBe('at-1');
	expect(calls[0]).toMatchObject({method: 'POST', body: null, credentials: 'same-origin', headers: {accept: 'application/json', 'x-csrf': '1'}});
	const stored = localStorage.getItem('tab-session:cookie-preset');
	expect(stored).toContain('at-1');
	expect(stored).not.toContain('leaked-rt');
	expect(cookieRefresh().refreshRequest().credentials).toBe('include');
});

it('cookieRefresh({logoutUrl}): logout() POSTs there once with the cookie, after every tab is signed out; a hanging endpoint is given up after refreshTimeout', async () => {
	const calls: Array<{url: string; init: RequestInit}> = [];
	let hang = false;
	const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
		calls.push({url: String(input), init: init ?? {}});
		if (hang && String(input).endsWith('/logout')) {
			return new Promise<Response>(() => undefined);
		}

		return new Response(JSON.stringify({accessToken: 'at-1', expiresIn: 300}), {status: 200});
	}) as unknown as typeof globalThis.fetch;
	const open = () => initSession({
		refreshUrl: '/api/auth/refresh',
		storage: 'memory',
		namespace: `cookie-logout-${Math.random().toString(36).slice(2)}`,
		fetch,
		broadcastMethod: createHub().method,
		refreshTimeout: 300,
		...cookieRefresh({logoutUrl: '/api/auth/logout', headers: {'x-csrf': '1'}}),
	});
	session = open();
	await session.login({accessToken: 'at-0', expiresIn: 300});
	let statusWhenCalled: string | undefined;
	const seen = session;
	vi.mocked(fetch).mockImplementationOnce(async (input, init) => {
		statusWhenCalled = seen.getState().status;
		calls.push({url: String(input), init: init ?? {}});
		return new Response(null, {status: 204});
	});
	await session.logout();
	expect(calls.map(call => call.url)).toEqual(['http://localhost:3000/api/auth/logout']);
	expect(calls[0]!.init).toMatchObject({method: 'POST', credentials: 'include', keepalive: true, headers: {'x-csrf': '1'}});
	expect(statusWhenCalled).toBe('unauthenticated');
	await session.logout();
	expect(calls).toHaveLength(1);
	session.close();

	hang = true;
	session = open();
	await session.login({accessToken: 'at-0', expiresIn: 300});
	const started = Date.now();
	await session.logout();
	expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	expect(Date.now() - started).toBeLessThan(2000);
	expect(session.getState().status).toBe('unauthenticated');
});
