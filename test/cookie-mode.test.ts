import {afterEach, expect, it, vi} from 'vitest';
import {initSession, type Session} from '../src/index.js';
import {createHub} from './support/hub.js';

let session: Session | undefined;
afterEach(() => {
	session?.close();
});

it('refreshes with a cookie-held refresh token: credentials included, no token in the body or in the session', async () => {
	const calls: RequestInit[] = [];
	let serial = 0;
	const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
		calls.push(init ?? {});
		return new Response(JSON.stringify({accessToken: `at-${++serial}`, expiresIn: 300}), {status: 200});
	});
	const hub = createHub();
	session = initSession({
		refreshUrl: '/api/auth/refresh',
		storage: 'memory',
		namespace: 'cookie-mode',
		fetch: fetch as unknown as typeof globalThis.fetch,
		broadcastMethod: hub.method,
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
