import {afterEach, describe, expect, it, vi} from 'vitest';
import {InvalidOptionsError} from '../../src/errors.js';
import {normalizeOptions, type SessionOptions} from '../../src/options.js';
import {createMemoryStorage} from '../../src/storage.js';

afterEach(() => {
	vi.unstubAllGlobals();
	vi.restoreAllMocks();
});

const base: SessionOptions = {refreshUrl: '/auth/refresh'};

function optionError(options: unknown): InvalidOptionsError {
	try {
		normalizeOptions(options as SessionOptions);
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidOptionsError);
		return error as InvalidOptionsError;
	}

	throw new Error('normalizeOptions did not throw');
}

describe('normalizeOptions defaults', () => {
	it('fills every default', () => {
		const options = normalizeOptions(base);
		expect(options.refreshUrl.href).toBe('http://localhost:3000/auth/refresh');
		expect(options.heartbeatUrl).toBeNull();
		expect(options.pauseTimeout).toBe(10_000);
		expect(options.heartbeatInterval).toBe(300_000);
		expect(options.refreshLeeway).toBe(120_000);
		expect(options.storage).toBe('local');
		expect(options.namespace).toBe('default');
		expect(options.authStatuses).toEqual([401]);
		expect(options.refreshRejectStatuses).toEqual([400, 401]);
		expect(options.refreshRetries).toBe(2);
		expect(options.refreshTimeout).toBe(10_000);
		expect(options.refreshRetryDelay).toBe(500);
		expect(options.leaderTimeout).toBe(2000);
		expect(options.joinTimeout).toBe(300);
		expect(options.kyOptions).toEqual({});
		// jsdom has no navigator.locks.
		expect(options.locks).toBeNull();
		expect(options.broadcastMethod).toBeUndefined();
	});

	it('builds the default refresh request: POST JSON { refreshToken }', () => {
		const init = normalizeOptions(base).refreshRequest({accessToken: 'at', refreshToken: 'rt'});
		expect(init.method).toBe('POST');
		expect(init.headers?.['content-type']).toBe('application/json');
		expect(JSON.parse(init.body as string)).toEqual({refreshToken: 'rt'});
	});

	it('parses the refresh response as the body itself by default', () => {
		const body = {accessToken: 'x', expiresIn: 60};
		expect(normalizeOptions(base).parseRefreshResponse(body, new Response())).toBe(body);
	});

	it('looks up the global fetch at call time', async () => {
		const options = normalizeOptions(base);
		const fake = vi.fn(async () => new Response('late'));
		vi.stubGlobal('fetch', fake);
		const response = await options.fetch('http://localhost:3000/x');
		expect(await response.text()).toBe('late');
		expect(fake).toHaveBeenCalledTimes(1);
	});

	it('uses a given fetch, lock manager, broadcast method and kyOptions', () => {
		const fetchFunction = vi.fn() as unknown as typeof fetch;
		const locks = {request: vi.fn()} as unknown as NonNullable<SessionOptions['locks']>;
		const method = {create: vi.fn(), onMessage: vi.fn(), postMessage: vi.fn(), close: vi.fn()} as unknown as NonNullable<SessionOptions['broadcastMethod']>;
		const kyOptions = {prefixUrl: 'http://localhost:3000/api'};
		const options = normalizeOptions({...base, fetch: fetchFunction, locks, broadcastMethod: method, kyOptions});
		expect(options.fetch).toBe(fetchFunction);
		expect(options.locks).toBe(locks);
		expect(options.broadcastMethod).toBe(method);
		expect(options.kyOptions).toBe(kyOptions);
	});

	it('picks up navigator.locks when present', () => {
		const locks = {request: vi.fn()};
		vi.stubGlobal('navigator', {locks});
		expect(normalizeOptions(base).locks).toBe(locks);
		expect(normalizeOptions({...base, locks: null}).locks).toBeNull();
	});

	it('keeps 0 instead of replacing it with the default', () => {
		const options = normalizeOptions({
			...base, refreshLeeway: 0, joinTimeout: 0, refreshRetries: 0, refreshRetryDelay: 0,
		});
		expect(options.refreshLeeway).toBe(0);
		expect(options.joinTimeout).toBe(0);
		expect(options.refreshRetries).toBe(0);
		expect(options.refreshRetryDelay).toBe(0);
	});

	it('keeps given values', () => {
		const storage = createMemoryStorage();
		const options = normalizeOptions({
			...base,
			pauseTimeout: 1,
			heartbeatInterval: 1000,
			storage,
			namespace: 'app_1.v2:x-y',
			authStatuses: [401, 419],
			refreshRejectStatuses: [403],
			heartbeatUrl: '/api/heartbeat',
		});
		expect(options.pauseTimeout).toBe(1);
		expect(options.heartbeatInterval).toBe(1000);
		expect(options.storage).toBe(storage);
		expect(options.namespace).toBe('app_1.v2:x-y');
		expect(options.authStatuses).toEqual([401, 419]);
		expect(options.refreshRejectStatuses).toEqual([403]);
		expect(options.heartbeatUrl?.href).toBe('http://localhost:3000/api/heartbeat');
	});

	it('copies and freezes status lists', () => {
		const authStatuses = [401];
		const options = normalizeOptions({...base, authStatuses});
		authStatuses.push(403);
		expect(options.authStatuses).toEqual([401]);
		expect(Object.isFrozen(options.authStatuses)).toBe(true);
	});

	it('resolves URLs against baseUrl, and accepts URL objects', () => {
		expect(normalizeOptions({refreshUrl: '/r', baseUrl: 'https://app.example.com/deep/page'}).refreshUrl.href)
			.toBe('https://app.example.com/r');
		expect(normalizeOptions({refreshUrl: new URL('https://auth.example.com/token')}).refreshUrl.href)
			.toBe('https://auth.example.com/token');
	});

	it('treats null like undefined for optional values', () => {
		const options = normalizeOptions({...base, heartbeatUrl: null, pauseTimeout: null as unknown as undefined});
		expect(options.heartbeatUrl).toBeNull();
		expect(options.pauseTimeout).toBe(10_000);
	});
});

describe('normalizeOptions rejects bad options, naming them', () => {
	const bad: Array<[string, string, unknown]> = [
		['no options', 'options', undefined],
		['null options', 'options', null],
		['a missing refreshUrl', 'refreshUrl', {}],
		['an empty refreshUrl', 'refreshUrl', {refreshUrl: ''}],
		['a blank refreshUrl', 'refreshUrl', {refreshUrl: '   '}],
		['a numeric refreshUrl', 'refreshUrl', {refreshUrl: 42}],
		['a non-http refreshUrl', 'refreshUrl', {refreshUrl: 'ftp://x'}],
		['a javascript: refreshUrl', 'refreshUrl', {refreshUrl: 'javascript:alert(1)'}],
		['a non-http heartbeatUrl', 'heartbeatUrl', {...base, heartbeatUrl: 'ftp://x/h'}],
		['a relative baseUrl', 'baseUrl', {...base, baseUrl: '/relative'}],
		['a negative pauseTimeout', 'pauseTimeout', {...base, pauseTimeout: -1}],
		['a NaN pauseTimeout', 'pauseTimeout', {...base, pauseTimeout: Number.NaN}],
		['a zero pauseTimeout', 'pauseTimeout', {...base, pauseTimeout: 0}],
		['an infinite pauseTimeout', 'pauseTimeout', {...base, pauseTimeout: Number.POSITIVE_INFINITY}],
		['a pauseTimeout beyond setTimeout range', 'pauseTimeout', {...base, pauseTimeout: 2 ** 31}],
		['a string pauseTimeout', 'pauseTimeout', {...base, pauseTimeout: '10000'}],
		['a heartbeatInterval under a second', 'heartbeatInterval', {...base, heartbeatInterval: 999}],
		['a negative refreshLeeway', 'refreshLeeway', {...base, refreshLeeway: -5}],
		['a negative joinTimeout', 'joinTimeout', {...base, joinTimeout: -1}],
		['a zero refreshTimeout', 'refreshTimeout', {...base, refreshTimeout: 0}],
		['a zero leaderTimeout', 'leaderTimeout', {...base, leaderTimeout: 0}],
		['a NaN refreshRetryDelay', 'refreshRetryDelay', {...base, refreshRetryDelay: Number.NaN}],
		['an unknown option', 'pausetimeout', {...base, pausetimeout: 5}],
		['an unknown option in a typo', 'refreshURL', {refreshURL: '/r'}],
		['a storage name it does not know', 'storage', {...base, storage: 'cookie'}],
		['a storage object without removeItem', 'storage', {...base, storage: {getItem() {}, setItem() {}}}],
		['a numeric storage', 'storage', {...base, storage: 1}],
		['an empty namespace', 'namespace', {...base, namespace: ''}],
		['a namespace with a slash', 'namespace', {...base, namespace: 'a/b'}],
		['a namespace with a space', 'namespace', {...base, namespace: 'a b'}],
		['a namespace over 100 characters', 'namespace', {...base, namespace: 'a'.repeat(101)}],
		['a numeric namespace', 'namespace', {...base, namespace: 5}],
		['authorizedOrigins with a bare host', 'authorizedOrigins', {...base, authorizedOrigins: ['api.example.com']}],
		['authorizedOrigins with a wildcard', 'authorizedOrigins', {...base, authorizedOrigins: ['https://localhost:3000', '*']}],
		['authorizedOrigins with a data: URL', 'authorizedOrigins', {...base, authorizedOrigins: ['data:text/plain,x']}],
		['authorizedOrigins as a string', 'authorizedOrigins', {...base, authorizedOrigins: 'https://api.example.com'}],
		['authorizedOrigins with a path', 'authorizedOrigins', {...base, authorizedOrigins: ['https://api.example.com/v1']}],
		['authorizedOrigins with credentials', 'authorizedOrigins', {...base, authorizedOrigins: ['https://u:p@api.example.com']}],
		['authorizedOrigins with ftp', 'authorizedOrigins', {...base, authorizedOrigins: ['ftp://files.example.com']}],
		['authStatuses with a non-status', 'authStatuses', {...base, authStatuses: [401, 600]}],
		['authStatuses not an array', 'authStatuses', {...base, authStatuses: 401}],
		['refreshRejectStatuses with a float', 'refreshRejectStatuses', {...base, refreshRejectStatuses: [400.5]}],
		['refreshRetries 1.5', 'refreshRetries', {...base, refreshRetries: 1.5}],
		['refreshRetries -1', 'refreshRetries', {...base, refreshRetries: -1}],
		['refreshRetries 11', 'refreshRetries', {...base, refreshRetries: 11}],
		['refreshRetries NaN', 'refreshRetries', {...base, refreshRetries: Number.NaN}],
		['a non-function refreshRequest', 'refreshRequest', {...base, refreshRequest: {}}],
		['a non-function parseRefreshResponse', 'parseRefreshResponse', {...base, parseRefreshResponse: 'json'}],
		['a non-function fetch', 'fetch', {...base, fetch: 'fetch'}],
		['a non-function parseRefreshError', 'parseRefreshError', {...base, parseRefreshError: {}}],
		['a debug flag instead of a logger', 'debug', {...base, debug: true}],
		['a console object instead of a logger', 'debug', {...base, debug: console}],
		['kyOptions as an array', 'kyOptions', {...base, kyOptions: []}],
		['kyOptions as a string', 'kyOptions', {...base, kyOptions: 'x'}],
		['locks without request', 'locks', {...base, locks: {}}],
		['a broadcastMethod without create', 'broadcastMethod', {...base, broadcastMethod: {type: 'x'}}],
		['a broadcastMethod without close', 'broadcastMethod', {...base, broadcastMethod: {create() {}, onMessage() {}, postMessage() {}}}],
		['a heartbeatUrl on an origin that gets no bearer', 'heartbeatUrl', {...base, heartbeatUrl: 'https://status.example.com/ping'}],
		['a heartbeatUrl the authorizedOrigins predicate refuses', 'heartbeatUrl', {...base, heartbeatUrl: '/api/heartbeat', authorizedOrigins: () => false}],
		['a lifecycle that is not a function', 'lifecycle', {...base, lifecycle: {}}],
		['a clock without setTimeout', 'clock', {...base, clock: {now: () => 0, clearTimeout() {}}}],
		['a clock that is a function', 'clock', {...base, clock: () => 0}],
	];
	for (const [label, option, options] of bad) {
		it(`throws for ${label} (option ${option})`, () => {
			const error = optionError(options);
			expect(error.option).toBe(option);
			expect(error.code).toBe('INVALID_OPTIONS');
			expect(error.message).toContain(`\`${option}\``);
		});
	}

	it('prefixes debug messages, passes details through, and swallows a throwing logger', () => {
		const lines: unknown[][] = [];
		normalizeOptions({...base, debug: (...line) => lines.push(line)}).debug('refreshing', {generation: 2});
		expect(lines).toEqual([['tab-session: refreshing', {generation: 2}]]);
		const throwing = normalizeOptions({...base, debug() {
			throw new Error('logger broke');
		}});
		expect(() => {
			throwing.debug('x', {});
		}).not.toThrow();
		expect(() => {
			normalizeOptions(base).debug('silent', {});
		}).not.toThrow();
	});

	it('requires a fetch where there is no global one', () => {
		vi.stubGlobal('fetch', undefined);
		expect(optionError(base).option).toBe('fetch');
		expect(() => normalizeOptions({...base, fetch: vi.fn() as unknown as typeof fetch})).not.toThrow();
	});
});

describe('isAuthorized', () => {
	it('allows only the page origin by default', () => {
		const {isAuthorized} = normalizeOptions(base);
		expect(isAuthorized(new URL('http://localhost:3000/api/orders'))).toBe(true);
		expect(isAuthorized(new URL('http://localhost:3001/api/orders'))).toBe(false);
		expect(isAuthorized(new URL('https://localhost:3000/api/orders'))).toBe(false);
		expect(isAuthorized(new URL('http://127.0.0.1:3000/api/orders'))).toBe(false);
		expect(isAuthorized(new URL('https://evil.example/'))).toBe(false);
	});

	it('uses the origin of baseUrl when given', () => {
		const {isAuthorized} = normalizeOptions({...base, baseUrl: 'https://app.example.com/page'});
		expect(isAuthorized(new URL('https://app.example.com/api'))).toBe(true);
		expect(isAuthorized(new URL('http://localhost:3000/api'))).toBe(false);
	});

	it('allows exactly the listed origins (the page origin only if listed)', () => {
		const {isAuthorized} = normalizeOptions({...base, authorizedOrigins: ['https://api.example.com', 'https://auth.example.com:8443']});
		expect(isAuthorized(new URL('https://api.example.com/v1/x?y=1'))).toBe(true);
		expect(isAuthorized(new URL('https://auth.example.com:8443/'))).toBe(true);
		expect(isAuthorized(new URL('https://auth.example.com/'))).toBe(false);
		expect(isAuthorized(new URL('http://api.example.com/'))).toBe(false);
		expect(isAuthorized(new URL('https://api.example.com.evil.net/'))).toBe(false);
		expect(isAuthorized(new URL('http://localhost:3000/'))).toBe(false);
	});

	it('authorizes nothing with an empty list', () => {
		const {isAuthorized} = normalizeOptions({...base, authorizedOrigins: []});
		expect(isAuthorized(new URL('http://localhost:3000/'))).toBe(false);
	});

	it('uses a predicate, and only an exact true authorizes', () => {
		const predicate = vi.fn((url: URL) => url.pathname.startsWith('/api') ? true : ('yes' as unknown as boolean));
		const {isAuthorized} = normalizeOptions({...base, authorizedOrigins: predicate});
		expect(isAuthorized(new URL('https://anything.example/api/x'))).toBe(true);
		expect(isAuthorized(new URL('https://anything.example/other'))).toBe(false);
		expect(predicate).toHaveBeenCalledTimes(2);
	});

	it('treats a throwing predicate as not authorized', () => {
		const {isAuthorized} = normalizeOptions({
			...base,
			authorizedOrigins() {
				throw new Error('predicate broke');
			},
		});
		expect(isAuthorized(new URL('http://localhost:3000/api'))).toBe(false);
	});
});
