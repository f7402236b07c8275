import {InvalidOptionsError, type OAuthErrorFields} from './errors.js';
import type {ApiOptions} from './hooks.js';
import type {ChannelMethod} from './channel.js';
import {systemClock, type Clock} from './clock.js';
import {browserActivity, type ActivityPort} from './idle.js';
import {browserLifecycle, type LifecyclePort} from './lifecycle.js';
import type {LockManagerLike} from './locks.js';
import type {StorageOption} from './storage.js';
import type {TokenInput} from './tokens.js';

/** What `refreshRequest` returns: the parts of the refresh `fetch` an app may change. */
export interface RefreshRequestInit {
	method?: string;
	headers?: Record<string, string>;
	body?: BodyInit | null;
	/** @default 'same-origin' */
	credentials?: RequestCredentials;
}

/** A call `logout()` makes once, in the tab that logs out: revocation (RFC 7009), or a logout endpoint that clears a cookie. */
export interface LogoutRequest {
	url: string | URL;
	method?: string;
	headers?: Record<string, string>;
	body?: BodyInit | null;
	/** @default 'same-origin' */
	credentials?: RequestCredentials;
}

/**
 * What an error response from the refresh endpoint means, as `parseRefreshError` decides:
 * - `logout`: the refresh token is dead; every tab signs out.
 * - `fail`: retrying cannot help; waiting requests reject with an `OAuthError`, the session is kept.
 * - `retry`: a passing fault; retried with backoff like a 5xx.
 */
export type RefreshErrorVerdict =
	| {action: 'logout'; error?: OAuthErrorFields | undefined}
	| {action: 'fail'; error: OAuthErrorFields}
	| {action: 'retry'; error?: OAuthErrorFields | undefined};

/**
 * Receives what the session does, for debugging: role changes, refreshes,
 * pauses, logouts. Details are plain data and never hold a token.
 * @example debug: console.debug
 */
export type DebugLogger = (message: string, details: Record<string, unknown>) => void;

export interface SessionOptions {
	/** Where the leader sends refresh requests. Relative URLs resolve against the page. */
	refreshUrl: string | URL;
	/**
	 * Checked by the leader tab alone every `heartbeatInterval`, with the bearer.
	 * A 401 there triggers a refresh.
	 * @default undefined (no heartbeat)
	 */
	heartbeatUrl?: string | URL | null | undefined;
	/** @default 300_000 (5 minutes) */
	heartbeatInterval?: number | undefined;
	/**
	 * Refresh this many ms before the access token expires. For short-lived
	 * tokens the lead shrinks to a quarter of the lifetime, so a 2-second
	 * token is refreshed every 1.5 s, not continuously.
	 * @default 120_000
	 */
	refreshLeeway?: number | undefined;
	/**
	 * `'local'` shares tokens through localStorage; `'session'` and `'memory'`
	 * keep them per tab and hand them to new tabs over the channel; or an
	 * adapter with the Web Storage interface.
	 * @default 'local'
	 */
	storage?: StorageOption | undefined;
	/**
	 * Separates sessions on one origin: storage key, channel and locks all carry it.
	 * @default 'default'
	 */
	namespace?: string | undefined;
	/** The longest a request waits for a refresh (ms) before it rejects with `PauseTimeoutError`. @default 10_000 */
	pauseTimeout?: number | undefined;
	/**
	 * Which URLs get the bearer token: a list of origins, or a predicate.
	 * @default the page's own origin
	 * @example authorizedOrigins: ['https://api.example.com']
	 */
	authorizedOrigins?: readonly string[] | ((url: URL) => boolean) | undefined;
	/** Response statuses that mean "the access token was refused". @default [401] */
	authStatuses?: readonly number[] | undefined;
	/**
	 * Builds the refresh request. Default: POST JSON `{ refreshToken }`.
	 * @example refreshRequest: ({refreshToken}) => ({body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: refreshToken ?? ''})})
	 */
	refreshRequest?: ((tokens: {accessToken: string; refreshToken: string | null}) => RefreshRequestInit) | undefined;
	/**
	 * The request `logout()` sends once, from the tab that logs out, with the tokens it ended: a
	 * token revocation or a logout endpoint; `null` for none. It goes out after every tab is signed
	 * out (so no refresh can rotate past the token it names), with `keepalive`; `logout()` resolves
	 * when it is answered, at most `refreshTimeout` later. Its failure never keeps anyone signed in.
	 * `oauth2RefreshGrant({revocationUrl})` and `cookieRefresh({logoutUrl})` supply one.
	 */
	logoutRequest?: ((tokens: {accessToken: string; refreshToken: string | null}) => LogoutRequest | null) | undefined;
	/**
	 * A tab that opens with no session in storage and none in any open tab tries one refresh to
	 * restore it: for a refresh that needs no stored refresh token (an httpOnly cookie), so that a
	 * reload or a browser restart keeps the user signed in. `refreshRequest` then gets
	 * `refreshToken: null`. Not after a logout. `session.ready` resolves with the outcome.
	 * @default false; true with `cookieRefresh()`
	 */
	restore?: boolean | undefined;
	/**
	 * Signs every tab out (`endReason: 'idle'`) after this long (ms) without activity in any tab:
	 * input, a visible tab focused, a request through `api` or `session.fetch` (not one with
	 * `context: {activity: false}`), `session.markActive()`. The logout request, if any, is sent.
	 * `0` for no limit.
	 * @default 0
	 */
	idleTimeout?: number | undefined;
	/**
	 * How long (ms) before the idle end every tab gets an `idle-warning` event; `0` for none.
	 * Less than `idleTimeout`.
	 * @default a quarter of `idleTimeout`, at most 60_000
	 */
	idleWarning?: number | undefined;
	/**
	 * Where the session hears of user input in this page, for `idleTimeout`; `null` for none.
	 * @default pointer, key, wheel, touch and scroll events on the window
	 */
	activity?: ActivityPort | null | undefined;
	/**
	 * Turns the refresh response's JSON into tokens. Default: reads
	 * `{ accessToken, refreshToken?, expiresIn? }`. Throw to reject the response.
	 */
	parseRefreshResponse?: ((body: unknown, response: Response) => TokenInput) | undefined;
	/**
	 * Reads the JSON body of an error response from the refresh endpoint and
	 * says what it means; `undefined` leaves it to `refreshRejectStatuses`
	 * and the 5xx rules. `oauth2RefreshGrant()` supplies one for RFC 6749 errors.
	 */
	parseRefreshError?: ((body: unknown, response: Response) => RefreshErrorVerdict | undefined) | undefined;
	/** Refresh response statuses that mean the refresh token is invalid: every tab signs out. @default [400, 401] */
	refreshRejectStatuses?: readonly number[] | undefined;
	/** Timeout of one refresh attempt (ms). @default 10_000 */
	refreshTimeout?: number | undefined;
	/** Extra attempts after a 5xx, a network error, a timeout or a malformed response. @default 2 */
	refreshRetries?: number | undefined;
	/** First backoff delay between refresh attempts (ms); doubles each time. @default 500 */
	refreshRetryDelay?: number | undefined;
	/**
	 * How long a follower waits for the leader to start a refresh it asked for
	 * before refreshing itself under the cross-tab lock (where Web Locks exist).
	 * @default 2_000
	 */
	leaderTimeout?: number | undefined;
	/**
	 * How long a new tab without stored tokens waits for open tabs to answer
	 * before its first request (memory and session storage).
	 * @default 300
	 */
	joinTimeout?: number | undefined;
	/** ky options for `session.api`: `prefixUrl`, `timeout`, `retry`, `hooks`, … */
	kyOptions?: ApiOptions | undefined;
	/** The `fetch` used for refreshes and by `api`. @default globalThis.fetch */
	fetch?: typeof fetch | undefined;
	/** Cross-tab lock manager. @default navigator.locks where available */
	locks?: LockManagerLike | null | undefined;
	/**
	 * The transport between tabs: `{create(name), onMessage(state, listener), postMessage(state, data), close(state)}`,
	 * the shape of a broadcast-channel method; tests pass an in-memory one.
	 * @default the browser's BroadcastChannel
	 */
	broadcastMethod?: ChannelMethod | undefined;
	/** Base for relative URLs. @default location.href */
	baseUrl?: string | URL | undefined;
	/**
	 * Logs role changes, refreshes, pauses and logouts through this function.
	 * Never given a token.
	 * @default undefined (silent)
	 * @example debug: console.debug
	 */
	debug?: DebugLogger | null | undefined;
	/**
	 * Where the session hears of the page's lifecycle (visibility, focus,
	 * online, pageshow and pagehide, freeze and resume); `null` for none.
	 * @default the browser's events
	 */
	lifecycle?: LifecyclePort | null | undefined;
	/**
	 * The wall clock and timers the session schedules with.
	 * @default Date.now and the global setTimeout, looked up at call time
	 */
	clock?: Clock | undefined;
}

export interface NormalizedOptions {
	refreshUrl: URL;
	heartbeatUrl: URL | null;
	heartbeatInterval: number;
	refreshLeeway: number;
	storage: StorageOption;
	namespace: string;
	pauseTimeout: number;
	isAuthorized: (url: URL) => boolean;
	authStatuses: readonly number[];
	refreshRequest: NonNullable<SessionOptions['refreshRequest']>;
	logoutRequest: SessionOptions['logoutRequest'];
	restore: boolean;
	parseRefreshResponse: NonNullable<SessionOptions['parseRefreshResponse']>;
	parseRefreshError: SessionOptions['parseRefreshError'];
	refreshRejectStatuses: readonly number[];
	refreshTimeout: number;
	refreshRetries: number;
	refreshRetryDelay: number;
	leaderTimeout: number;
	joinTimeout: number;
	idleTimeout: number;
	idleWarning: number;
	activity: ActivityPort | null;
	kyOptions: ApiOptions;
	fetch: typeof fetch;
	locks: LockManagerLike | null;
	broadcastMethod: ChannelMethod | undefined;
	debug: DebugLogger;
	lifecycle: LifecyclePort | null;
	clock: Clock;
}

const known = new Set<string>([
	'refreshUrl', 'heartbeatUrl', 'heartbeatInterval', 'refreshLeeway', 'storage', 'namespace', 'pauseTimeout',
	'authorizedOrigins', 'authStatuses', 'refreshRequest', 'logoutRequest', 'restore', 'parseRefreshResponse', 'parseRefreshError', 'refreshRejectStatuses',
	'refreshTimeout', 'refreshRetries', 'refreshRetryDelay', 'leaderTimeout', 'joinTimeout', 'idleTimeout', 'idleWarning', 'activity', 'kyOptions', 'fetch',
	'locks', 'broadcastMethod', 'baseUrl', 'debug', 'lifecycle', 'clock',
]);

const defaultRefreshRequest: NormalizedOptions['refreshRequest'] = ({refreshToken}) => ({
	method: 'POST',
	headers: {'content-type': 'application/json', accept: 'application/json'},
	body: JSON.stringify({refreshToken}),
});

const defaultParseRefreshResponse: NormalizedOptions['parseRefreshResponse'] = body => body as TokenInput;

// setTimeout wraps delays above 2^31-1 ms to 1 ms.
const maxDelay = 2_147_483_647;

function duration(options: SessionOptions, name: keyof SessionOptions, fallback: number, min = 0): number {
	const value = options[name] ?? fallback;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > maxDelay) {
		throw new InvalidOptionsError(name, `must be a number of milliseconds from ${min} to ${maxDelay}, got ${String(value)}`);
	}

	return value;
}

function statuses(options: SessionOptions, name: keyof SessionOptions, fallback: readonly number[]): readonly number[] {
	const value = options[name] ?? fallback;
	if (!Array.isArray(value) || value.some(status => !Number.isInteger(status) || status < 100 || status > 599)) {
		throw new InvalidOptionsError(name, 'must be an array of HTTP status codes (100-599)');
	}

	return Object.freeze([...value] as number[]);
}

function url(name: string, value: unknown, base: string | undefined): URL {
	if (!(value instanceof URL) && (typeof value !== 'string' || value.trim() === '')) {
		throw new InvalidOptionsError(name, 'must be a non-empty URL string');
	}

	try {
		const resolved = new URL(value, base);
		if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
			throw new InvalidOptionsError(name, `must be an http(s) URL, got ${resolved.protocol}`);
		}

		return resolved;
	} catch (error) {
		if (error instanceof InvalidOptionsError) {
			throw error;
		}

		throw new InvalidOptionsError(name, base
			? `is not a valid URL: ${String(value)}`
			: `is relative (${String(value)}) and there is no page URL to resolve it against; pass \`baseUrl\``);
	}
}

function originsPredicate(value: SessionOptions['authorizedOrigins'], base: string | undefined): (url: URL) => boolean {
	if (typeof value === 'function') {
		return target => {
			try {
				return value(target) === true;
			} catch {
				// A throwing predicate must not leak the token: treat as not authorized.
				return false;
			}
		};
	}

	let list: string[];
	if (value === undefined) {
		const origin = base ? new URL(base).origin : 'null';
		if (origin === 'null') {
			throw new InvalidOptionsError('authorizedOrigins', 'must be given when the page has no http(s) origin');
		}

		list = [origin];
	} else if (Array.isArray(value)) {
		list = value.map(entry => {
			let parsed: URL | undefined;
			try {
				parsed = new URL(String(entry));
			} catch {}

			// A bare origin only: a path here would suggest a narrower scope than an origin check gives.
			if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password
				|| parsed.pathname !== '/' || parsed.search || parsed.hash) {
				throw new InvalidOptionsError('authorizedOrigins', `must list bare http(s) origins like "https://api.example.com", got ${String(entry)}`);
			}

			return parsed.origin;
		});
	} else {
		throw new InvalidOptionsError('authorizedOrigins', 'must be an array of origins or a function (url) => boolean');
	}

	const origins = new Set(list);
	return target => origins.has(target.origin);
}

function isLockManager(value: unknown): value is LockManagerLike {
	return typeof value === 'object' && value !== null && typeof (value as LockManagerLike).request === 'function';
}

function isStorageAdapter(value: unknown): boolean {
	const adapter = value as Record<string, unknown>;
	return typeof value === 'object' && value !== null
		&& typeof adapter['getItem'] === 'function' && typeof adapter['setItem'] === 'function' && typeof adapter['removeItem'] === 'function';
}

/** A logger that can never break the session: a throwing app logger is ignored. */
function quietly(logger: DebugLogger | undefined): DebugLogger {
	if (!logger) {
		return () => undefined;
	}

	return (message, details) => {
		try {
			logger(`tab-session: ${message}`, details);
		} catch {}
	};
}

/** `idleTimeout` (0: off, else at least 1 s) and the warning before it. */
function idleLimit(options: SessionOptions): {idleTimeout: number; idleWarning: number} {
	const idleTimeout = duration(options, 'idleTimeout', 0);
	if (idleTimeout > 0 && idleTimeout < 1000) {
		throw new InvalidOptionsError('idleTimeout', `must be 0 (no limit) or at least 1000 ms, got ${idleTimeout}`);
	}

	const idleWarning = duration(options, 'idleWarning', Math.min(60_000, idleTimeout / 4));
	if (idleWarning > 0 && idleWarning >= idleTimeout) {
		throw new InvalidOptionsError('idleWarning', idleTimeout === 0
			? 'needs `idleTimeout`: the warning comes that long before the idle end'
			: `must be less than idleTimeout (${idleTimeout} ms), got ${idleWarning}`);
	}

	return {idleTimeout, idleWarning};
}

export function normalizeOptions(options: SessionOptions): NormalizedOptions {
	if (typeof options !== 'object' || options === null) {
		throw new InvalidOptionsError('options', 'must be an object with at least `refreshUrl`');
	}

	for (const name of Object.keys(options)) {
		if (!known.has(name)) {
			throw new InvalidOptionsError(name, 'is not a tab-session option');
		}
	}

	const baseOption = options.baseUrl ?? (globalThis as {location?: {href?: string}}).location?.href;
	let base: string | undefined;
	if (baseOption !== undefined) {
		try {
			base = new URL(baseOption).href;
		} catch {
			throw new InvalidOptionsError('baseUrl', `is not an absolute URL: ${String(baseOption)}`);
		}
	}

	if (options.refreshUrl === undefined) {
		throw new InvalidOptionsError('refreshUrl', 'is required');
	}

	const storage = options.storage ?? 'local';
	if (!['local', 'session', 'memory'].includes(storage as string) && !isStorageAdapter(storage)) {
		throw new InvalidOptionsError('storage', 'must be \'local\', \'session\', \'memory\' or an object with getItem, setItem and removeItem');
	}

	const namespace = options.namespace ?? 'default';
	if (typeof namespace !== 'string' || !/^[\w.:-]{1,100}$/.test(namespace)) {
		throw new InvalidOptionsError('namespace', 'must be 1-100 characters of letters, digits, "_", "-", "." or ":"');
	}

	for (const name of ['lifecycle', 'activity'] as const) {
		if (options[name] !== undefined && options[name] !== null && typeof options[name] !== 'function') {
			throw new InvalidOptionsError(name, 'must be a function (listener) => unsubscribe, or null');
		}
	}

	const {clock} = options;
	if (clock !== undefined && (typeof clock !== 'object' || clock === null
		|| typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function')) {
		throw new InvalidOptionsError('clock', 'must be an object with now(), setTimeout(callback, ms) and clearTimeout(handle)');
	}

	for (const name of ['refreshRequest', 'logoutRequest', 'parseRefreshResponse', 'parseRefreshError', 'fetch'] as const) {
		if (options[name] !== undefined && typeof options[name] !== 'function') {
			throw new InvalidOptionsError(name, 'must be a function');
		}
	}

	if (options.restore !== undefined && typeof options.restore !== 'boolean') {
		throw new InvalidOptionsError('restore', 'must be true or false');
	}

	if (options.fetch === undefined && typeof globalThis.fetch !== 'function') {
		throw new InvalidOptionsError('fetch', 'is required where there is no global fetch');
	}

	// Looked up at call time, so a fetch installed after initSession (a test double, a polyfill) applies.
	const fetchFunction: typeof fetch = options.fetch ?? (async (input, init) => globalThis.fetch(input, init));

	const kyOptions = options.kyOptions ?? {};
	if (typeof kyOptions !== 'object' || kyOptions === null || Array.isArray(kyOptions)) {
		throw new InvalidOptionsError('kyOptions', 'must be an object of ky options');
	}

	const locksOption = options.locks === undefined
		? (globalThis as {navigator?: {locks?: unknown}}).navigator?.locks
		: options.locks;
	if (options.locks !== undefined && options.locks !== null && !isLockManager(options.locks)) {
		throw new InvalidOptionsError('locks', 'must be a LockManager (navigator.locks) or null');
	}

	const method = options.broadcastMethod;
	if (method !== undefined && (typeof method !== 'object' || method === null
		|| !(['create', 'onMessage', 'postMessage', 'close'] as const).every(name => typeof method[name] === 'function'))) {
		throw new InvalidOptionsError('broadcastMethod', 'must be an object with create, onMessage, postMessage and close (a broadcast-channel method)');
	}

	if (options.debug !== undefined && options.debug !== null && typeof options.debug !== 'function') {
		throw new InvalidOptionsError('debug', 'must be a function (message, details) => void, e.g. console.debug');
	}

	const retries = options.refreshRetries ?? 2;
	if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
		throw new InvalidOptionsError('refreshRetries', 'must be an integer from 0 to 10');
	}

	const {idleTimeout, idleWarning} = idleLimit(options);
	const isAuthorized = originsPredicate(options.authorizedOrigins, base);
	const heartbeatUrl = options.heartbeatUrl === undefined || options.heartbeatUrl === null ? null : url('heartbeatUrl', options.heartbeatUrl, base);
	if (heartbeatUrl && !isAuthorized(heartbeatUrl)) {
		throw new InvalidOptionsError('heartbeatUrl', `is on ${heartbeatUrl.origin}, which \`authorizedOrigins\` does not include: the heartbeat checks the bearer, and the bearer goes only to authorized origins`);
	}

	return {
		refreshUrl: url('refreshUrl', options.refreshUrl, base),
		heartbeatUrl,
		heartbeatInterval: duration(options, 'heartbeatInterval', 300_000, 1000),
		refreshLeeway: duration(options, 'refreshLeeway', 120_000),
		storage,
		namespace,
		pauseTimeout: duration(options, 'pauseTimeout', 10_000, 1),
		isAuthorized,
		authStatuses: statuses(options, 'authStatuses', [401]),
		refreshRequest: options.refreshRequest ?? defaultRefreshRequest,
		logoutRequest: options.logoutRequest,
		restore: options.restore ?? false,
		parseRefreshResponse: options.parseRefreshResponse ?? defaultParseRefreshResponse,
		parseRefreshError: options.parseRefreshError,
		refreshRejectStatuses: statuses(options, 'refreshRejectStatuses', [400, 401]),
		refreshTimeout: duration(options, 'refreshTimeout', 10_000, 1),
		refreshRetries: retries,
		refreshRetryDelay: duration(options, 'refreshRetryDelay', 500),
		leaderTimeout: duration(options, 'leaderTimeout', 2000, 1),
		joinTimeout: duration(options, 'joinTimeout', 300),
		idleTimeout,
		idleWarning,
		activity: options.activity === undefined ? browserActivity : options.activity,
		kyOptions,
		fetch: fetchFunction,
		locks: isLockManager(locksOption) ? locksOption : null,
		broadcastMethod: method,
		debug: quietly(options.debug ?? undefined),
		lifecycle: options.lifecycle === undefined ? browserLifecycle : options.lifecycle,
		clock: clock ?? systemClock,
	};
}
