import ky, {type Input, type KyInstance, type Options, type RetryOptions, type ShouldRetryState} from 'ky';
import {SessionError} from './errors.js';

/** ky options accepted for `session.api`. */
export type ApiOptions = Options;
export type {KyInstance};

/** Time a request has spent waiting for tokens so far; its waits together stay within `pauseTimeout`. */
export interface WaitBudget {
	waited: number;
}

/** What the hooks need from the session. */
export interface AuthGate {
	/** True when `url` may receive the bearer token. */
	isAuthorized(url: URL): boolean;
	/** The token to send now; waits while a refresh is under way or the token has expired. */
	acquire(signal: AbortSignal, budget?: WaitBudget): Promise<{accessToken: string; version: number}>;
	/** Resolves once the session holds tokens newer than `version`, refreshing when needed. */
	renew(version: number, signal: AbortSignal, budget?: WaitBudget): Promise<void>;
	/** A request went out through the session: activity, for the idle limit. */
	activity?(): void;
}

interface AuthAttempt extends WaitBudget {
	/** The keeper's version of the token sent. */
	version: number;
	/** Retried once after a refusal already. */
	retried: boolean;
}

// Per-request state lives in ky's `context`: ky clones the Request before each
// attempt, so state keyed by the Request object would be lost on retry.
const attemptKey = Symbol('tab-session');
/** In a request's context: the app removed the afterResponse hooks, the session's among them. */
const noSessionHook = Symbol('tab-session:no-after-response');
type Context = Record<PropertyKey, unknown>;

const isAbortError = (error: unknown): boolean =>
	typeof error === 'object' && error !== null && (error as {name?: unknown}).name === 'AbortError';

/**
 * ky hands each afterResponse hook `response.clone()`, and teeing a body costs
 * about 0.8 ms of main-thread time per response in Chromium. The session's hook
 * comes first and reads only the status, so the first clone of a response is a
 * copy without a body; every later clone (the app's hooks, app code) is real.
 * Only responses to requests the session's hook will see get it: an app that
 * removes the afterResponse hooks (`hooks: {afterResponse: undefined}`) gets
 * real clones, and gives up the 401 retry.
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

type RetryOption = Options['retry'];

/**
 * ky's way of merging a `retry` option over the instance's: a number
 * replaces, an object merges into an object (lists concatenated).
 */
function mergeRetry(base: RetryOption, next: RetryOption): RetryOption {
	if (next === undefined || typeof next === 'number' || typeof base !== 'object') {
		return next ?? base;
	}

	const merged: Record<string, unknown> = {...base};
	for (const [key, value] of Object.entries(next)) {
		const previous = merged[key];
		merged[key] = Array.isArray(previous) && Array.isArray(value) ? [...previous as unknown[], ...value as unknown[]] : value;
	}

	return merged as RetryOptions;
}

/**
 * The retry options ky gets for one request: the app's own, with the
 * session's guard over them. A forced retry after a 401 counts against ky's
 * limit, so the limit has one slot more for it; the session's own errors
 * (logged out, timed out waiting) already took their time and are never
 * retried, nor is an auth status (401) the session already answered with its
 * one retry, whatever `statusCodes` the app lists; everything else gets the
 * app's limit and `shouldRetry`.
 */
function retryGuard(appRetry: RetryOption, authRetried: (error: unknown) => boolean, authStatuses: readonly number[]): RetryOptions {
	const appLimit = typeof appRetry === 'number' ? appRetry : appRetry?.limit ?? 2;
	const appOptions = typeof appRetry === 'object' ? appRetry : {};
	return {
		...appOptions,
		limit: appLimit + 1,
		async shouldRetry(state: ShouldRetryState) {
			if (state.error instanceof SessionError || isAbortError(state.error)) {
				return false;
			}

			const status = (state.error as {response?: {status?: unknown}}).response?.status;
			if (typeof status === 'number' && authStatuses.includes(status)) {
				return false;
			}

			if (state.retryCount - (authRetried(state.error) ? 1 : 0) > appLimit) {
				return false;
			}

			return appOptions.shouldRetry?.(state);
		},
	};
}

/**
 * The bearer values a tab attached lately. The last check before a request
 * goes out removes one of them from a request that an app hook sent to a URL
 * that may not have it; an app's own Authorization header is left alone.
 */
function createBearerCheck(targets: (request: Request) => boolean) {
	const issued = new Set<string>();
	return {
		remember(bearer: string) {
			issued.delete(bearer);
			issued.add(bearer);
			if (issued.size > 16) {
				issued.delete(issued.values().next().value!);
			}
		},
		strip(request: Request): Request {
			const bearer = request.headers.get('authorization');
			if (bearer === null || !issued.has(bearer) || targets(request)) {
				return request;
			}

			const headers = new Headers(request.headers);
			headers.delete('authorization');
			return new Request(request, {headers});
		},
	};
}

/** Whether `options` remove the afterResponse hooks, as ky does for a list given as undefined. */
const clearsAfterResponse = (options: Options | undefined) =>
	options?.hooks !== undefined && Object.hasOwn(options.hooks, 'afterResponse') && options.hooks.afterResponse === undefined;

interface InstanceTools {
	guard(appRetry: RetryOption): RetryOptions;
	wrapFetch(appFetch: typeof fetch): typeof fetch;
	build(options: Options): KyInstance;
}

/**
 * A ky instance that passes every call to `base` with the session's retry
 * guard over the app's retry option (`appRetry` merged with the call's), the
 * way ky merges options; `extend` and `create` make more of the same.
 * `hooked` is false once the app removed the afterResponse hooks.
 */
function sessionInstance(base: KyInstance, appRetry: RetryOption, tools: InstanceTools, hooked = true): KyInstance {
	const withGuard = (options?: Options): Options => ({
		...options,
		retry: tools.guard(mergeRetry(appRetry, options?.retry)),
		...(hooked && !clearsAfterResponse(options) ? {} : {context: {...options?.context, [noSessionHook]: true}}),
	});
	const instance = ((input: Input, options?: Options) => base(input, withGuard(options))) as KyInstance;
	for (const method of ['get', 'post', 'put', 'patch', 'head', 'delete'] as const) {
		instance[method] = (input: Input, options?: Options) => base[method](input, withGuard(options));
	}

	Object.assign(instance, {
		extend(next: Options | ((parent: Options) => Options)) {
			let nextRetry: RetryOption;
			let clears = false;
			const extended = base.extend(parent => {
				const options = typeof next === 'function' ? next(appRetry === undefined ? parent : {...parent, retry: appRetry}) : next;
				const {retry, fetch: nextFetch, ...rest} = options;
				nextRetry = retry;
				clears = clearsAfterResponse(options);
				return nextFetch ? {...rest, fetch: tools.wrapFetch(nextFetch)} : rest;
			});
			return sessionInstance(extended, mergeRetry(appRetry, nextRetry), tools, hooked && !clears);
		},
		// Unlike ky's own create, the new instance keeps the session's hooks: it is still `session.api`.
		create: (next?: Options) => tools.build(next ?? {}),
		stop: ky.stop,
		retry: ky.retry,
	});
	return instance;
}

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
 * Every call, and every instance made with `extend` or `create`, gets the
 * session's retry guard merged over the app's retry option: the session's own
 * errors are never retried, the forced retry after a 401 has a slot of its
 * own, and the app's limit holds for everything else.
 */
export function createApi(config: ApiConfig): KyInstance {
	const {gate, authStatuses, refreshUrl} = config;
	/** Requests as the session's hook saw them, and errors thrown by fetch, back to their attempt. */
	const attempts = new WeakMap<object, AuthAttempt>();
	/** Requests whose responses the session's afterResponse hook sees first. */
	const light = new WeakSet<Request>();

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

	const bearers = createBearerCheck(targets);

	const wrapFetch = (appFetch: typeof fetch): typeof fetch => async (input, init) => {
		const request = input instanceof Request ? bearers.strip(input) : input;
		try {
			const response = await appFetch(request, init);
			return input instanceof Request && light.has(input) ? withLightFirstClone(response) : response;
		} catch (error) {
			const attempt = input instanceof Request ? attempts.get(input) : undefined;
			if (attempt && typeof error === 'object' && error !== null) {
				attempts.set(error, attempt);
			}

			throw error;
		}
	};

	/** The attempt behind a failure ky considers retrying: an HTTP error's context, a timeout's request, a fetch error. */
	const attemptOf = (error: unknown): AuthAttempt | undefined => {
		const {options, request} = error as {options?: {context?: Context}; request?: unknown};
		const fromContext = options?.context?.[attemptKey] as AuthAttempt | undefined;
		return fromContext ?? (typeof request === 'object' && request !== null ? attempts.get(request) : undefined)
			?? (typeof error === 'object' && error !== null ? attempts.get(error) : undefined);
	};

	const guard = (appRetry: RetryOption) => retryGuard(appRetry, error => attemptOf(error)?.retried === true, authStatuses);

	const authorize = async (request: Request, context: Context): Promise<void> => {
		const attempt = (context[attemptKey] as AuthAttempt | undefined) ?? {version: -1, retried: false, waited: 0};
		const lease = await gate.acquire(request.signal, attempt);
		const bearer = `Bearer ${lease.accessToken}`;
		request.headers.set('authorization', bearer);
		bearers.remember(bearer);
		attempt.version = lease.version;
		context[attemptKey] = attempt;
		attempts.set(request, attempt);
	};

	const sessionHooks = {
		beforeRequest: [
			async (request: Request, options: {context: unknown}) => {
				const context = options.context as Context;
				if (!context[noSessionHook]) {
					light.add(request);
				}

				// `context: {activity: false}`: a poll or a heartbeat, not a person at the tab.
				if (context['activity'] !== false && context[attemptKey] === undefined) {
					gate.activity?.();
				}

				// `context: {auth: false}`: a public endpoint through `api`, with no bearer and no pause.
				if (targets(request) && context['auth'] !== false) {
					await authorize(request, context);
				}
			},
		],
		afterResponse: [
			async (request: Request, options: {context: unknown}, response: Response) => {
				const attempt = (options.context as Context)[attemptKey] as AuthAttempt | undefined;
				// Retried once at most: a second refusal with a newer token is the app's to see.
				if (!attempt || attempt.retried || !authStatuses.includes(response.status)) {
					return;
				}

				attempt.retried = true;
				await gate.renew(attempt.version, request.signal, attempt);
				// beforeRequest runs again on the retry and sets the newer token.
				return ky.retry({delay: 0, code: 'TOKEN_REFRESHED'});
			},
		],
	};

	/** A ky instance with the session's hooks first, then `options`; `retry` stays outside ky's defaults, in `appRetry`. */
	const build = (options: Options): KyInstance => {
		const {retry, ...rest} = options;
		return sessionInstance(ky.create({
			...rest,
			fetch: wrapFetch(options.fetch ?? config.fetch),
			hooks: {
				...rest.hooks,
				beforeRequest: [...sessionHooks.beforeRequest, ...rest.hooks?.beforeRequest ?? []],
				afterResponse: [...sessionHooks.afterResponse, ...rest.hooks?.afterResponse ?? []],
			},
		}), retry, tools);
	};

	const tools: InstanceTools = {guard, wrapFetch, build};
	return build(config.kyOptions);
}
