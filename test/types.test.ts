// @vitest-environment node
// Type tests of the public API: `npm run typecheck` (tsc -p tsconfig.test.json) fails when an
// expectation or a `@ts-expect-error` no longer holds; vitest runs the file too, where the
// runtime anchors (a real session, real error instances) must agree with the types.
import type {KyInstance} from 'ky';
import type {useSyncExternalStore} from 'react';
import {afterEach, describe, expect, expectTypeOf, it} from 'vitest';
import {
	cookieRefresh,
	initSession,
	InvalidOptionsError,
	InvalidTokensError,
	isSessionError,
	LoggedOutError,
	oauth2RefreshGrant,
	OAuthError,
	PauseTimeoutError,
	RefreshFailedError,
	SessionClosedError,
	UnsupportedError,
	SessionError,
	type EndReason,
	type RefreshError,
	type Session,
	type SessionErrorCode,
	type SessionOptions,
	type SessionState,
	type TabSessionError,
	type TokenInput,
} from '../src/index.js';

const refreshUrl = '/auth/refresh';
let sessions: Session[] = [];

afterEach(() => {
	for (const session of sessions) {
		session.close();
	}

	sessions = [];
});

function start(options: Partial<SessionOptions> = {}): Session {
	const session = initSession({
		refreshUrl: 'http://localhost/auth/refresh',
		baseUrl: 'http://localhost/',
		storage: 'memory',
		fetch: async () => new Response('{}', {status: 500}),
		...options,
	});
	sessions.push(session);
	return session;
}

describe('initSession options', () => {
	it('takes SessionOptions and returns a Session', () => {
		expectTypeOf(initSession).parameters.toEqualTypeOf<[SessionOptions]>();
		expectTypeOf(initSession).returns.toEqualTypeOf<Session>();
		expectTypeOf<SessionOptions['refreshUrl']>().toEqualTypeOf<string | URL>();
	});

	it('requires refreshUrl; every other option is optional', () => {
		expectTypeOf(initSession).toBeCallableWith({refreshUrl});
		expectTypeOf(initSession).toBeCallableWith({refreshUrl: new URL('https://auth.example.com/token')});
		// @ts-expect-error refreshUrl is required
		expectTypeOf(initSession).toBeCallableWith({});
		// @ts-expect-error refreshUrl is required
		expectTypeOf(initSession).toBeCallableWith({heartbeatUrl: '/api/heartbeat'});
	});

	it('accepts the documented options', () => {
		expectTypeOf(initSession).toBeCallableWith({
			refreshUrl,
			heartbeatUrl: '/api/heartbeat',
			heartbeatInterval: 5 * 60_000,
			storage: 'local',
			namespace: 'app',
			pauseTimeout: 10_000,
			authorizedOrigins: ['https://api.example.com'],
			debug: console.debug,
		});
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, storage: 'session'});
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, storage: 'memory', authorizedOrigins: (url: URL) => url.hostname.endsWith('.example.com')});
		// A custom storage adapter has the Web Storage interface.
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, storage: globalThis.localStorage});
		// Cookie mode: the refresh token travels as an httpOnly cookie, nothing in the body.
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, refreshRequest: () => ({credentials: 'include'})});
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, debug: (message: string, details: Record<string, unknown>) => void [message, details]});
	});

	it('rejects options of the wrong type', () => {
		// @ts-expect-error refreshUrl is a string or URL
		expectTypeOf(initSession).toBeCallableWith({refreshUrl: 42});
		// @ts-expect-error pauseTimeout is in ms, a number
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, pauseTimeout: '10s'});
		// @ts-expect-error heartbeatInterval is in ms, a number
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, heartbeatInterval: '5m'});
		// @ts-expect-error storage is 'local', 'session', 'memory' or an adapter
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, storage: 'cookie'});
		// @ts-expect-error authorizedOrigins is a list or a predicate, not one string
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, authorizedOrigins: 'https://api.example.com'});
		// @ts-expect-error debug is a function
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, debug: true});
		// @ts-expect-error refreshRequest returns the request's parts, not a string
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, refreshRequest: () => 'grant_type=refresh_token'});
		const misspelt: SessionOptions = {
			refreshUrl,
			// @ts-expect-error a misspelt option is an error, not silently ignored
			pausetimeout: 10_000,
		};
		expectTypeOf(misspelt).toEqualTypeOf<SessionOptions>();
	});

	it('oauth2RefreshGrant returns options that spread into initSession', () => {
		const grant = oauth2RefreshGrant({clientId: 'spa', scope: 'openid orders'});
		expectTypeOf(grant).toExtend<Partial<SessionOptions>>();
		expectTypeOf({refreshUrl, ...grant}).toExtend<SessionOptions>();
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, ...oauth2RefreshGrant()});
		// @ts-expect-error clientId is a string
		expectTypeOf(oauth2RefreshGrant).toBeCallableWith({clientId: 42});
		expect(Object.keys(grant).sort()).toEqual(['parseRefreshError', 'parseRefreshResponse', 'refreshRequest']);
		const session = start(grant);
		expect(session.getState().status).toBe('unauthenticated');
	});

	it('cookieRefresh returns options that spread into initSession', () => {
		const preset = cookieRefresh({credentials: 'same-origin', headers: {'x-csrf-token': 'token'}});
		expectTypeOf({refreshUrl, storage: 'memory' as const, ...preset}).toExtend<SessionOptions>();
		expectTypeOf(initSession).toBeCallableWith({refreshUrl, ...cookieRefresh()});
		// @ts-expect-error the cookie must travel: 'omit' would send no refresh token at all
		expectTypeOf(cookieRefresh).toBeCallableWith({credentials: 'omit'});
		// With a cookie, a tab that opens with no session tries to restore it first.
		expect(start(preset).getState().status).toBe('restoring');
		expect(start({...preset, restore: false}).getState().status).toBe('unauthenticated');
	});
});

describe('Session', () => {
	it('methods return what the docs say', () => {
		expectTypeOf<Session['login']>().toEqualTypeOf<(tokens: TokenInput) => Promise<void>>();
		expectTypeOf<Session['logout']>().returns.toEqualTypeOf<Promise<void>>();
		expectTypeOf<Session['refresh']>().returns.toEqualTypeOf<Promise<void>>();
		expectTypeOf<Session['getAccessToken']>().returns.toEqualTypeOf<Promise<string>>();
		expectTypeOf<Session['getState']>().toEqualTypeOf<() => SessionState>();
		expectTypeOf<Session['close']>().toEqualTypeOf<() => void>();
		expectTypeOf<Session['subscribe']>().returns.toEqualTypeOf<() => void>();
		expectTypeOf<Session['subscribe']>().parameter(0).toEqualTypeOf<(state: SessionState) => void>();
		// The refresh token is optional: cookie mode, or a server that keeps the old one.
		expectTypeOf<Session['login']>().toBeCallableWith({accessToken: 'a'});
		expectTypeOf<Session['login']>().toBeCallableWith({accessToken: 'a', refreshToken: 'r', expiresIn: 3600});
		// @ts-expect-error the access token is required
		expectTypeOf<Session['login']>().toBeCallableWith({refreshToken: 'r'});
		// @ts-expect-error expiresIn is in seconds, a number
		expectTypeOf<Session['login']>().toBeCallableWith({accessToken: 'a', expiresIn: '3600'});
	});

	it('api is a ky instance', () => {
		const session = start();
		expectTypeOf(session.api).toEqualTypeOf<KyInstance>();
		// Not called: the types of ky's request chain are the point.
		const getOrders = async () => session.api.get('orders').json<{id: number}>();
		expectTypeOf(getOrders).returns.toEqualTypeOf<Promise<{id: number}>>();
		expect(session.api.extend).toBeTypeOf('function');
	});

	it('SessionState has exactly these fields, at runtime too', () => {
		expectTypeOf<SessionState['status']>().toEqualTypeOf<'authenticated' | 'refreshing' | 'unauthenticated' | 'restoring'>();
		expectTypeOf<SessionState['role']>().toEqualTypeOf<'leader' | 'follower'>();
		expectTypeOf<SessionState['expiresAt']>().toEqualTypeOf<number | null>();
		expectTypeOf<SessionState['generation']>().toEqualTypeOf<number>();
		expectTypeOf<SessionState['endReason']>().toEqualTypeOf<EndReason | null>();
		expectTypeOf<EndReason>().toEqualTypeOf<'logout' | 'refresh-rejected' | 'idle'>();
		expectTypeOf<SessionState['lastError']>().toEqualTypeOf<RefreshError | null>();
		expectTypeOf<RefreshError>().toEqualTypeOf<RefreshFailedError | OAuthError>();
		expectTypeOf<SessionState['closed']>().toEqualTypeOf<boolean>();

		const fields = ['closed', 'endReason', 'expiresAt', 'generation', 'lastError', 'role', 'status'] as const;
		expectTypeOf<(typeof fields)[number]>().toEqualTypeOf<keyof SessionState>();
		expect(Object.keys(start().getState()).sort()).toEqual(fields);
	});

	it('subscribe and getState fit React\'s useSyncExternalStore', () => {
		type Subscribe = Parameters<typeof useSyncExternalStore<SessionState>>[0];
		type GetSnapshot = Parameters<typeof useSyncExternalStore<SessionState>>[1];
		expectTypeOf<Subscribe>().toEqualTypeOf<(onStoreChange: () => void) => () => void>();
		const session = start();
		expectTypeOf(session.subscribe).toExtend<Subscribe>();
		expectTypeOf(session.getState).toExtend<GetSnapshot>();
		expectTypeOf(session.getState).returns.toEqualTypeOf<SessionState>();

		// useSyncExternalStore calls them unbound and needs the same snapshot until something changes.
		const {subscribe, getState} = session;
		let changes = 0;
		const unsubscribe = subscribe(() => {
			changes++;
		});
		expect(getState()).toBe(getState());
		session.close();
		expect(changes).toBe(1);
		expect(getState().closed).toBe(true);
		unsubscribe();
	});
});

describe('errors', () => {
	it('every class has its literal code, and TabSessionError covers every code', () => {
		expectTypeOf<SessionError['code']>().toEqualTypeOf<SessionErrorCode>();
		expectTypeOf<LoggedOutError['code']>().toEqualTypeOf<'LOGGED_OUT'>();
		expectTypeOf<RefreshFailedError['code']>().toEqualTypeOf<'REFRESH_FAILED'>();
		expectTypeOf<OAuthError['code']>().toEqualTypeOf<'OAUTH_ERROR'>();
		expectTypeOf<PauseTimeoutError['code']>().toEqualTypeOf<'PAUSE_TIMEOUT'>();
		expectTypeOf<InvalidOptionsError['code']>().toEqualTypeOf<'INVALID_OPTIONS'>();
		expectTypeOf<InvalidTokensError['code']>().toEqualTypeOf<'INVALID_TOKENS'>();
		expectTypeOf<SessionClosedError['code']>().toEqualTypeOf<'SESSION_CLOSED'>();
		expectTypeOf<TabSessionError['code']>().toEqualTypeOf<SessionErrorCode>();
		expectTypeOf<TabSessionError>().toExtend<SessionError>();
	});

	it('switch (error.code) narrows TabSessionError to each class', () => {
		// What an app writes: each case reads the fields of its own class; the default proves the
		// switch exhaustive, so a new code would fail to compile here.
		const explain = (error: TabSessionError): string => {
			switch (error.code) {
				case 'LOGGED_OUT': {
					expectTypeOf(error).toEqualTypeOf<LoggedOutError>();
					expectTypeOf(error.reason).toEqualTypeOf<EndReason | null>();
					return `signed out: ${error.reason ?? 'unknown'}`;
				}

				case 'REFRESH_FAILED': {
					expectTypeOf(error).toEqualTypeOf<RefreshFailedError>();
					expectTypeOf(error.status).toEqualTypeOf<number | null>();
					return `refresh failed: ${error.status ?? 'network'}`;
				}

				case 'OAUTH_ERROR': {
					expectTypeOf(error).toEqualTypeOf<OAuthError>();
					expectTypeOf(error.error).toEqualTypeOf<string>();
					expectTypeOf(error.errorDescription).toEqualTypeOf<string | null>();
					expectTypeOf(error.errorUri).toEqualTypeOf<string | null>();
					expectTypeOf(error.status).toEqualTypeOf<number>();
					return `${error.status} ${error.error}: ${error.errorDescription ?? ''}`;
				}

				case 'PAUSE_TIMEOUT': {
					expectTypeOf(error).toEqualTypeOf<PauseTimeoutError>();
					expectTypeOf(error.timeout).toEqualTypeOf<number>();
					return `waited ${error.timeout} ms`;
				}

				case 'INVALID_OPTIONS': {
					expectTypeOf(error).toEqualTypeOf<InvalidOptionsError>();
					expectTypeOf(error.option).toEqualTypeOf<string>();
					return `bad option ${error.option}`;
				}

				case 'INVALID_TOKENS': {
					expectTypeOf(error).toEqualTypeOf<InvalidTokensError>();
					return 'bad tokens';
				}

				case 'SESSION_CLOSED': {
					expectTypeOf(error).toEqualTypeOf<SessionClosedError>();
					return 'closed';
				}

				case 'UNSUPPORTED': {
					expectTypeOf(error).toEqualTypeOf<UnsupportedError>();
					return 'unsupported';
				}

				default: {
					expectTypeOf(error).toBeNever();
					return 'unreachable';
				}
			}
		};

		expect([
			new LoggedOutError('refresh-rejected'),
			new RefreshFailedError('bad gateway', 502),
			new OAuthError({error: 'invalid_client', errorDescription: 'unknown client'}, 401),
			new PauseTimeoutError(10_000),
			new InvalidOptionsError('pauseTimeout', 'must be a number'),
			new InvalidTokensError('empty access token'),
			new SessionClosedError(),
			new UnsupportedError('BroadcastChannel', 'missing'),
		].map(explain)).toEqual([
			'signed out: refresh-rejected',
			'refresh failed: 502',
			'401 invalid_client: unknown client',
			'waited 10000 ms',
			'bad option pauseTimeout',
			'bad tokens',
			'closed',
			'unsupported',
		]);
	});

	it('isSessionError narrows unknown to TabSessionError', () => {
		const check = (error: unknown): SessionErrorCode | 'other' => {
			if (isSessionError(error)) {
				expectTypeOf(error).toEqualTypeOf<TabSessionError>();
				return error.code;
			}

			expectTypeOf(error).toBeUnknown();
			return 'other';
		};

		expect(check(new OAuthError({error: 'invalid_scope'}, 400))).toBe('OAUTH_ERROR');
		expect(check(new Error('network'))).toBe('other');
		expect(check({code: 'LOGGED_OUT'})).toBe('other');
		// Errors thrown by the session itself.
		let thrown: unknown;
		try {
			initSession({refreshUrl, pauseTimeout: -1});
		} catch (error) {
			thrown = error;
		}

		expect(check(thrown)).toBe('INVALID_OPTIONS');
		// A session's state carries the refresh failure as a narrowed union.
		expectTypeOf<NonNullable<SessionState['lastError']>['code']>().toEqualTypeOf<'REFRESH_FAILED' | 'OAUTH_ERROR'>();
	});
});
