import ky, {type KyInstance, type Options, type ShouldRetryState} from 'ky';
import {SessionError} from './errors.js';

/** ky options accepted for `session.api`. */
export type ApiOptions = Options;
export type {KyInstance};

/** What the hooks need from the session. */
export interface AuthGate {
	/** True when `url` may receive the bearer token. */
	isAuthorized(url: URL): boolean;
	/**
	 * The token to send now; waits while a refresh is under way or the token has expired.
	 * `since` is when the request first waited: all its waits share one `pauseTimeout`.
	 */
	acquire(signal: AbortSignal, since?: number): Promise<{accessToken: string; generation: number}>;
	/** Resolves once the session holds tokens newer than `generation`, refreshing when needed. */
	renew(generation: number, signal: AbortSignal, since?: number): Promise<void>;
}

interface AuthAttempt {
	generation: number;
	retried: boolean;
	/** When the request first waited, epoch ms. */
	since: number;
}

// Per-request state lives in ky's `context`: ky clones the Request before each
// attempt, so state keyed by the Request object would be lost on retry.
const attemptKey = Symbol('tab-session');
type Context = Record<PropertyKey, unknown>;

const isAbortError = (error: unknown): boolean =>
	typeof error === 'object' && error !== null && (error as {name?: unknown}).name === 'AbortError';

/**
 * ky hands each afterResponse hook `response.clone()`, and teeing a body costs
 * about 0.8 ms of main-thread time per response in Chromium. The session's hook
 * comes first and reads only the status, so the first clone of a response is a
 * copy without a body; every later clone (the app's hooks, app code) is real.
 * The session's hook always takes that first clone, except where an app
 * removes the session's hooks with `hooks: {afterResponse: undefined}`, which
 * also gives up the 401 retry.
 */
function withLightFirstClone(response: Response): Response {
	// The Response constructor takes statuses 200-599 only (not an opaque response's 0).
	if (response.status < 200 || response.status > 599) {
		return response;
	}

	Object.defineProperty(response, 'clone', {
		configurable: true,
		writable: true,
		value(): Response {
			// From now on, the prototype's real clone.
			Reflect.deleteProperty(response, 'clone');
			return new Response(null, {status: response.status, statusText: response.statusText, headers: response.headers});
		},
	});
	return response;
}

/** Undoes `withLightFirstClone` for a response the session's hook will not see. */
const realClone = (response: Response): Response => {
	Reflect.deleteProperty(response, 'clone');
	return response;
};

export interface ApiConfig {
	gate: AuthGate;
	kyOptions: Options;
	authStatuses: readonly number[];
	refreshUrl: URL;
	fetch: typeof fetch;
}

/**
 * The ky instance behind `session.api`. The session's hooks run before the
 * app's: the bearer is in place when app hooks see the request, and a 401
 * that the session recovers from never reaches app hooks or app code.
 */
export function createApi(config: ApiConfig): KyInstance {
	const {gate, kyOptions, authStatuses, refreshUrl} = config;
	const appFetch = kyOptions.fetch ?? config.fetch;
	const fetchFunction: typeof fetch = async (input, init) => withLightFirstClone(await appFetch(input, init));
	const appRetry = kyOptions.retry;
	const appLimit = typeof appRetry === 'number' ? appRetry : appRetry?.limit ?? 2;
	const appShouldRetry = typeof appRetry === 'object' ? appRetry.shouldRetry : undefined;

	const targets = (request: Request): boolean => {
		let url: URL;
		try {
			url = new URL(request.url);
		} catch {
			return false;
		}

		// The refresh endpoint never gets the bearer, so it can never trigger a refresh either.
		const isRefresh = url.origin === refreshUrl.origin && url.pathname === refreshUrl.pathname;
		return !isRefresh && gate.isAuthorized(url);
	};

	const authorize = async (request: Request, context: Context): Promise<void> => {
		const attempt = (context[attemptKey] as AuthAttempt | undefined)
			?? {generation: -1, retried: false, since: Date.now()} satisfies AuthAttempt;
		const lease = await gate.acquire(request.signal, attempt.since);
		request.headers.set('authorization', `Bearer ${lease.accessToken}`);
		attempt.generation = lease.generation;
		context[attemptKey] = attempt;
	};

	const api: KyInstance = ky.create({
		...kyOptions,
		fetch: fetchFunction,
		retry: {
			...(typeof appRetry === 'object' ? appRetry : {}),
			// A forced retry after a 401 counts against ky's limit: keep one slot
			// for it whatever the app asked, and give the app's own retries no more than it asked.
			limit: appLimit + 1,
			async shouldRetry(state: ShouldRetryState) {
				// The forced retry after a 401 does not use up the app's own retries.
				const context = (state.error as {options?: {context?: Context}}).options?.context;
				const authRetries = (context?.[attemptKey] as AuthAttempt | undefined)?.retried ? 1 : 0;
				// The session's own errors (logged out, timed out waiting) already took their time: no backoff on top.
				if (state.error instanceof SessionError || isAbortError(state.error) || state.retryCount - authRetries > appLimit) {
					return false;
				}

				return appShouldRetry?.(state);
			},
		},
		hooks: {
			...kyOptions.hooks,
			beforeRequest: [
				async (request, options) => {
					if (targets(request)) {
						await authorize(request, options.context as Context);
					}
				},
				...(kyOptions.hooks?.beforeRequest ?? []),
			],
			afterResponse: [
				async (request, options, response, state) => {
					const context = options.context as Context;
					const attempt = context[attemptKey] as AuthAttempt | undefined;
					// Retried once at most: a second refusal with a newer token is the app's to see.
					if (!attempt || attempt.retried || !authStatuses.includes(response.status)) {
						return;
					}

					attempt.retried = true;
					await gate.renew(attempt.generation, request.signal, attempt.since);
					if (state.retryCount < (options.retry.limit ?? 0)) {
						// beforeRequest runs again on the retry and sets the newer token.
						return ky.retry({delay: 0, code: 'TOKEN_REFRESHED'});
					}

					// An instance extended with a smaller `retry` has no slot left: send it once more
					// through the instance itself, so the app's beforeRequest hooks and timeout apply.
					// `attempt.retried` travels in the context, so this cannot loop.
					return realClone(await api(new Request(request), {
						context,
						retry: 0,
						throwHttpErrors: false,
						// ky clears a hook list given as undefined; the outer call runs the app's afterResponse hooks.
						hooks: {afterResponse: undefined} as unknown as NonNullable<Options['hooks']>,
					}));
				},
				...(kyOptions.hooks?.afterResponse ?? []),
			],
		},
	});
	return api;
}
