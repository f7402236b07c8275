import {bounded} from './abort.js';
import {sleep, type Clock} from './clock.js';
import {OAuthError, RefreshFailedError, type RefreshError} from './errors.js';
import type {NormalizedOptions, RefreshErrorVerdict} from './options.js';
import {toTokenSet, type TokenSet} from './tokens.js';

export type RefreshOutcome =
	| {type: 'ok'; tokens: TokenSet; status: number}
	/** The server refused the refresh token (invalid, expired or reused): the session is over. */
	| {type: 'rejected'; status: number; cause?: OAuthError}
	| {type: 'failed'; error: RefreshError};

type RefresherOptions = Pick<NormalizedOptions,
	'refreshUrl' | 'fetch' | 'refreshRequest' | 'parseRefreshResponse' | 'parseRefreshError' | 'refreshRejectStatuses'
	| 'refreshTimeout' | 'refreshRetries' | 'refreshRetryDelay'>;

/** An answer that retrying cannot change: it ends the attempts at once. */
class FinalError extends Error {
	constructor(readonly error: RefreshError) {
		super(error.message);
	}
}

/** Statuses a retry may change: timeouts, rate limits, server errors. Any other 4xx is an answer. */
const transient = (status: number) => status >= 500 || status === 408 || status === 425 || status === 429;

/** `POST https://…/auth/refresh answered 404 (text/html)`: what to look at, without the body (it may hold tokens). */
function answered(method: string, url: URL, response: Response): string {
	const type = response.headers.get('content-type')?.split(';')[0]?.trim();
	return `${method} ${url.href} answered ${response.status}${type ? ` (${type})` : ''}`;
}

class AttemptError extends Error {
	constructor(message: string, readonly status: number | null, options?: {cause?: unknown}) {
		super(message, options);
	}
}

/**
 * Talks to the refresh endpoint with plain `fetch`: no bearer header, no app
 * hooks, so the refresh itself can never trigger a refresh.
 */
export function createRefresher(options: RefresherOptions, clock: Clock) {
	/** Reads an error response's JSON, if any, and asks `parseRefreshError` what it means. */
	async function classify(response: Response, signal: AbortSignal): Promise<RefreshErrorVerdict | undefined> {
		let body: unknown;
		try {
			body = JSON.parse(await response.text());
		} catch {
			signal.throwIfAborted();
			return undefined;
		}

		try {
			return options.parseRefreshError?.(body, response) ?? undefined;
		} catch {
			// A throwing classifier falls back to the status rules rather than hanging the refresh.
			return undefined;
		}
	}

	async function attempt(tokens: TokenSet, signal: AbortSignal): Promise<RefreshOutcome> {
		const limits = {
			ms: options.refreshTimeout,
			timeoutReason: () => new AttemptError(`the refresh endpoint did not answer within ${options.refreshTimeout} ms`, null),
			signal,
		};
		// The timeout covers the whole attempt, the body included; nothing of it outlives the attempt.
		return bounded(clock, limits, async bound => {
			const init = options.refreshRequest({accessToken: tokens.accessToken, refreshToken: tokens.refreshToken});
			const method = init.method ?? 'POST';
			const final = (message: string, status: number, cause?: unknown) =>
				new FinalError(new RefreshFailedError(`Token refresh failed: ${message}; not retried: the same request gets the same answer`, status, {cause}));
			let response: Response;
			try {
				response = await options.fetch(options.refreshUrl.href, {
					method,
					headers: init.headers ?? {},
					body: init.body ?? null,
					credentials: init.credentials ?? 'same-origin',
					signal: bound,
				});
			} catch (error) {
				if (bound.aborted) {
					throw bound.reason;
				}

				const crossOrigin = options.refreshUrl.origin !== globalThis.location?.origin;
				throw new AttemptError(`the refresh request to ${method} ${options.refreshUrl.href} failed to reach the server${crossOrigin
					? ' (a refresh endpoint on another origin must allow this one with CORS; the console shows the browser\'s reason)'
					: ''}`, null, {cause: error});
			}

			if (!response.ok && options.parseRefreshError) {
				const verdict = await classify(response, signal);
				if (verdict?.action === 'logout') {
					return {type: 'rejected', status: response.status, ...(verdict.error ? {cause: new OAuthError(verdict.error, response.status)} : {})};
				}

				if (verdict?.action === 'fail') {
					throw new FinalError(new OAuthError(verdict.error, response.status));
				}

				if (verdict?.action === 'retry') {
					throw new AttemptError(`${answered(method, options.refreshUrl, response)}${verdict.error ? ` ${verdict.error.error}` : ''}`, response.status);
				}
			}

			if (options.refreshRejectStatuses.includes(response.status)) {
				void response.body?.cancel().catch(() => undefined);
				return {type: 'rejected', status: response.status};
			}

			if (!response.ok) {
				void response.body?.cancel().catch(() => undefined);
				if (!transient(response.status)) {
					// A 404 (a wrong refreshUrl), a 405, a 403 from a proxy: the next attempt gets the same.
					throw final(answered(method, options.refreshUrl, response), response.status);
				}

				throw new AttemptError(answered(method, options.refreshUrl, response), response.status);
			}

			let body: unknown;
			try {
				body = JSON.parse(await response.text());
			} catch {
				// No cause: a parser message quotes the body, which may hold tokens. An HTML page (a
				// login redirect, a proxy) answers the same the next time.
				signal.throwIfAborted();
				throw final(`${answered(method, options.refreshUrl, response)}, which is not JSON`, response.status);
			}

			try {
				return {type: 'ok', tokens: toTokenSet(options.parseRefreshResponse(body, response), clock.now(), tokens), status: response.status};
			} catch (error) {
				throw final(`${answered(method, options.refreshUrl, response)} with tokens that are not usable: ${error instanceof Error ? error.message : 'parse failed'}`, response.status, error);
			}
		});
	}

	return {
		/** Resolves with the outcome after up to `refreshRetries` extra attempts; rejects only when `signal` aborts. */
		async refresh(tokens: TokenSet, signal: AbortSignal): Promise<RefreshOutcome> {
			signal.throwIfAborted();
			let last: AttemptError | undefined;
			for (let attemptIndex = 0; attemptIndex <= options.refreshRetries; attemptIndex++) {
				if (attemptIndex > 0) {
					// Exponential backoff with jitter, so tabs of many users do not hit a recovering server in step.
					const base = options.refreshRetryDelay * (2 ** (attemptIndex - 1));
					await sleep(clock, base * (0.75 + (Math.random() * 0.5)), signal);
				}

				try {
					return await attempt(tokens, signal);
				} catch (error) {
					signal.throwIfAborted();
					if (error instanceof FinalError) {
						return {type: 'failed', error: error.error};
					}

					last = error instanceof AttemptError ? error : new AttemptError('the refresh failed', null, {cause: error});
				}
			}

			const attempts = options.refreshRetries + 1;
			return {
				type: 'failed',
				error: new RefreshFailedError(`Token refresh failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last?.message ?? 'unknown error'}`, last?.status ?? null, {cause: last}),
			};
		},
	};
}

export type Refresher = ReturnType<typeof createRefresher>;
