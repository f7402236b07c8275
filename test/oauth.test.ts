import {afterEach, describe, expect, it} from 'vitest';
import {initSession, oauth2RefreshGrant, type Session} from '../src/index.js';
import {createHub} from './support/hub.js';

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
