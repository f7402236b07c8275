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
