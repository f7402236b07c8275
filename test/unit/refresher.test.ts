import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {InvalidTokensError, OAuthError, RefreshFailedError} from '../../src/errors.js';
import {normalizeOptions, type SessionOptions} from '../../src/options.js';
import {sleep, systemClock} from '../../src/clock.js';
import {createRefresher, type RefreshOutcome} from '../../src/refresher.js';
import type {TokenSet} from '../../src/tokens.js';
import {runUntilSettled} from '../support/time.js';

const accessSecret = 'ACCESS-SECRET-abc123';
const refreshSecret = 'REFRESH-SECRET-xyz789';
const current: TokenSet = {accessToken: accessSecret, refreshToken: refreshSecret, expiresAt: null, issuedAt: 0};

beforeEach(() => {
	vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
	vi.setSystemTime(1_000_000);
});

afterEach(() => {
	vi.useRealTimers();
});

type Reply = Response | Error | 'hang';
interface Call {url: string; init: RequestInit}

/** A fetch that answers from a script and honours the abort signal like the real one. */
function scriptedFetch(...replies: Reply[]) {
	const calls: Call[] = [];
	const fetchFunction = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
		calls.push({url: String(input), init: init ?? {}});
		const next = replies.length > 1 ? replies.shift()! : replies[0]!;
		// The last reply repeats: hand out a fresh copy each time, a body reads once.
		const reply = next instanceof Response ? next.clone() : next;
		const signal = init?.signal;
		return new Promise<Response>((resolve, reject) => {
			signal?.throwIfAborted();
			signal?.addEventListener('abort', () => {
				reject(signal.reason);
			}, {once: true});
			if (reply === 'hang') {
				return;
			}

			if (reply instanceof Error) {
				reject(reply);
			} else {
				resolve(reply);
			}
		});
	});
	return {fetch: fetchFunction as unknown as typeof fetch, calls, mock: fetchFunction};
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json'}});

function refresher(fetchFunction: typeof fetch, extra: Partial<SessionOptions> = {}) {
	const options = normalizeOptions({refreshUrl: '/auth/refresh', fetch: fetchFunction, refreshRetryDelay: 100, ...extra});
	return createRefresher(options, systemClock);
}

const settle = async <T>(promise: Promise<T>) => runUntilSettled(promise, 120_000, 50);

const failed = (outcome: RefreshOutcome) => {
	expect(outcome.type).toBe('failed');
	if (outcome.type !== 'failed') {
		throw new Error('not failed');
	}

	return outcome.error;
};

describe('createRefresher', () => {
	it('posts the refresh token as JSON to the refresh URL and parses the tokens', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({accessToken: 'new-at', refreshToken: 'new-rt', expiresIn: 60}));
		const start = Date.now();
		const outcome = await refresher(fetchFunction).refresh(current, new AbortController().signal);
		expect(outcome).toEqual({
			type: 'ok',
			tokens: {accessToken: 'new-at', refreshToken: 'new-rt', expiresAt: start + 60_000, issuedAt: start},
			status: 200,
		});
		expect(calls).toHaveLength(1);
		expect(calls[0]!.url).toBe('http://localhost:3000/auth/refresh');
		expect(calls[0]!.init.method).toBe('POST');
		expect(calls[0]!.init.credentials).toBe('same-origin');
		expect(JSON.parse(calls[0]!.init.body as string)).toEqual({refreshToken: refreshSecret});
		// The refresh never carries the bearer.
		expect(JSON.stringify(calls[0]!.init.headers)).not.toContain(accessSecret);
	});

	it('keeps the current refresh token when the response has none', async () => {
		const {fetch: fetchFunction} = scriptedFetch(json({accessToken: 'new-at'}));
		const outcome = await settle(refresher(fetchFunction).refresh(current, new AbortController().signal));
		expect(outcome.type === 'ok' && outcome.tokens.refreshToken).toBe(refreshSecret);
	});

	for (const status of [400, 401]) {
		it(`reports ${status} as rejected, without retrying`, async () => {
			const {fetch: fetchFunction, calls} = scriptedFetch(json({error: 'invalid_grant'}, status));
			const outcome = await settle(refresher(fetchFunction).refresh(current, new AbortController().signal));
			expect(outcome).toEqual({type: 'rejected', status});
			expect(calls).toHaveLength(1);
		});
	}

	it('uses the configured reject statuses', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 403), json({}, 401), json({accessToken: 'ok'}));
		const outcome = await settle(refresher(fetchFunction, {refreshRejectStatuses: [403]}).refresh(current, new AbortController().signal));
		expect(outcome).toEqual({type: 'rejected', status: 403});
		expect(calls).toHaveLength(1);
	});

	it('retries a 500 and succeeds within the retries', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 500), json({accessToken: 'new-at', expiresIn: 60}));
		const outcome = await settle(refresher(fetchFunction).refresh(current, new AbortController().signal));
		expect(outcome.type).toBe('ok');
		expect(calls).toHaveLength(2);
	});

	it('waits with backoff between attempts', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 503), json({accessToken: 'new-at'}));
		const promise = refresher(fetchFunction, {refreshRetryDelay: 1000}).refresh(current, new AbortController().signal);
		await vi.advanceTimersByTimeAsync(0);
		expect(calls).toHaveLength(1);
		// Jitter keeps the first delay within 750..1250 ms.
		await vi.advanceTimersByTimeAsync(740);
		expect(calls).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(520);
		expect(calls).toHaveLength(2);
		expect((await promise).type).toBe('ok');
	});

	it('fails with RefreshFailedError (status 500) after refreshRetries + 1 attempts', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 500));
		const error = failed(await settle(refresher(fetchFunction).refresh(current, new AbortController().signal)));
		expect(calls).toHaveLength(3);
		expect(error).toBeInstanceOf(RefreshFailedError);
		expect(error.status).toBe(500);
		expect(error.message).toContain('3 attempts');
		expect(error.message).toContain('500');
	});

	it('makes exactly one attempt with refreshRetries 0', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 502));
		const error = failed(await settle(refresher(fetchFunction, {refreshRetries: 0}).refresh(current, new AbortController().signal)));
		expect(calls).toHaveLength(1);
		expect(error.status).toBe(502);
		expect(error.message).toContain('1 attempt:');
	});

	it('fails on a body that is not JSON at once, naming the URL, the status and the content type: the same request gets the same page', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(new Response('<html>oops</html>', {status: 200, headers: {'content-type': 'text/html; charset=utf-8'}}));
		const error = failed(await settle(refresher(fetchFunction).refresh(current, new AbortController().signal)));
		expect(calls).toHaveLength(1);
		expect(error.status).toBe(200);
		expect(error.message).toBe('Token refresh failed: POST http://localhost:3000/auth/refresh answered 200 (text/html), which is not JSON; not retried: the same request gets the same answer');
	});

	it('does not retry a 404 or another 4xx that is not about the token; retries 408, 429 and 5xx', async () => {
		for (const status of [404, 405, 403]) {
			const {fetch: fetchFunction, calls} = scriptedFetch(new Response('<h1>Not found</h1>', {status, headers: {'content-type': 'text/html'}}));
			// eslint-disable-next-line no-await-in-loop
			const error = failed(await settle(refresher(fetchFunction).refresh(current, new AbortController().signal)));
			expect(calls).toHaveLength(1);
			expect(error.status).toBe(status);
			expect(error.message).toContain(`POST http://localhost:3000/auth/refresh answered ${status} (text/html)`);
		}

		for (const status of [408, 429, 503]) {
			const {fetch: fetchFunction, calls} = scriptedFetch(json({}, status));
			// eslint-disable-next-line no-await-in-loop
			const error = failed(await settle(refresher(fetchFunction).refresh(current, new AbortController().signal)));
			expect(calls).toHaveLength(3);
			expect(error.message).toContain(`answered ${status} (application/json)`);
		}
	});

	it('fails on JSON without an accessToken', async () => {
		const {fetch: fetchFunction} = scriptedFetch(json({token: 'x'}));
		const error = failed(await settle(refresher(fetchFunction, {refreshRetries: 0}).refresh(current, new AbortController().signal)));
		expect(error.message).toMatch(/tokens that are not usable/);
		expect(error.cause).toBeInstanceOf(InvalidTokensError);
	});

	it('fails on a network error, keeping it as the cause', async () => {
		const networkError = new TypeError('Failed to fetch');
		const {fetch: fetchFunction, calls} = scriptedFetch(networkError);
		const error = failed(await settle(refresher(fetchFunction).refresh(current, new AbortController().signal)));
		expect(calls).toHaveLength(3);
		expect(error.status).toBeNull();
		expect(error.message).toMatch(/failed to reach the server/);
		expect((error.cause as Error).cause).toBe(networkError);
	});

	it('says that a refresh endpoint on another origin needs CORS when it cannot be reached', async () => {
		const {fetch: fetchFunction} = scriptedFetch(new TypeError('Failed to fetch'));
		const error = failed(await settle(refresher(fetchFunction, {refreshUrl: 'https://auth.example.com/token', refreshRetries: 0}).refresh(current, new AbortController().signal)));
		expect(error.message).toContain('POST https://auth.example.com/token failed to reach the server (a refresh endpoint on another origin must allow this one with CORS');
		const {fetch: sameOrigin} = scriptedFetch(new TypeError('Failed to fetch'));
		const local = failed(await settle(refresher(sameOrigin, {refreshRetries: 0}).refresh(current, new AbortController().signal)));
		expect(local.message).not.toContain('CORS');
	});

	it('times an attempt out after refreshTimeout', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch('hang');
		const promise = refresher(fetchFunction, {refreshTimeout: 1000, refreshRetries: 0}).refresh(current, new AbortController().signal);
		let outcome: RefreshOutcome | undefined;
		void promise.then(value => {
			outcome = value;
		});
		await vi.advanceTimersByTimeAsync(999);
		expect(outcome).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(outcome).toBeDefined();
		const error = failed(outcome!);
		expect(error.message).toMatch(/did not answer within 1000 ms/);
		expect(error.status).toBeNull();
		expect(calls).toHaveLength(1);
	});

	it('times out even when fetch ignores its abort signal', async () => {
		const deaf = (async () => new Promise<Response>(() => undefined)) as unknown as typeof fetch;
		const promise = refresher(deaf, {refreshTimeout: 1000, refreshRetries: 0}).refresh(current, new AbortController().signal);
		let outcome: RefreshOutcome | undefined;
		void promise.then(value => {
			outcome = value;
		});
		await vi.advanceTimersByTimeAsync(1000);
		expect(outcome).toBeDefined();
		expect(failed(outcome!).message).toMatch(/did not answer within 1000 ms/);
	});

	it('retries after a timeout and can then succeed', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch('hang', json({accessToken: 'late-but-fine'}));
		const outcome = await settle(refresher(fetchFunction, {refreshTimeout: 1000}).refresh(current, new AbortController().signal));
		expect(outcome.type === 'ok' && outcome.tokens.accessToken).toBe('late-but-fine');
		expect(calls).toHaveLength(2);
	});

	it('rejects with the signal reason when aborted during a request', async () => {
		const {fetch: fetchFunction} = scriptedFetch('hang');
		const controller = new AbortController();
		const promise = refresher(fetchFunction).refresh(current, controller.signal);
		const reason = new Error('tab closing');
		await vi.advanceTimersByTimeAsync(10);
		controller.abort(reason);
		await expect(promise).rejects.toBe(reason);
	});

	it('rejects with the signal reason when aborted during the backoff, without another attempt', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({}, 500));
		const controller = new AbortController();
		const promise = refresher(fetchFunction, {refreshRetryDelay: 5000}).refresh(current, controller.signal);
		const rejection = expect(promise).rejects.toBe('stop');
		await vi.advanceTimersByTimeAsync(100);
		expect(calls).toHaveLength(1);
		controller.abort('stop');
		await rejection;
		await vi.advanceTimersByTimeAsync(20_000);
		expect(calls).toHaveLength(1);
	});

	it('rejects at once when the signal is already aborted', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({accessToken: 'x'}));
		const controller = new AbortController();
		controller.abort('gone');
		await expect(refresher(fetchFunction).refresh(current, controller.signal)).rejects.toBe('gone');
		expect(calls).toHaveLength(0);
	});

	it('uses a custom refreshRequest and parseRefreshResponse', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({access_token: 'oauth-at', refresh_token: 'oauth-rt', expires_in: 120}));
		const refreshRequest = vi.fn(({refreshToken}: {refreshToken: string | null}) => ({
			headers: {'content-type': 'application/x-www-form-urlencoded'},
			body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: refreshToken ?? ''}),
			credentials: 'include' as const,
		}));
		const parseRefreshResponse = vi.fn((body: unknown, _response: Response) => {
			const value = body as Record<string, unknown>;
			return {accessToken: value['access_token'] as string, refreshToken: value['refresh_token'] as string, expiresIn: value['expires_in'] as number};
		});
		const start = Date.now();
		const outcome = await refresher(fetchFunction, {refreshRequest, parseRefreshResponse}).refresh(current, new AbortController().signal);
		expect(refreshRequest).toHaveBeenCalledWith({accessToken: accessSecret, refreshToken: refreshSecret});
		expect(parseRefreshResponse).toHaveBeenCalledTimes(1);
		expect(parseRefreshResponse.mock.calls[0]![1]).toBeInstanceOf(Response);
		expect(outcome).toEqual({type: 'ok', tokens: {accessToken: 'oauth-at', refreshToken: 'oauth-rt', expiresAt: start + 120_000, issuedAt: start}, status: 200});
		const init = calls[0]!.init;
		expect(init.method).toBe('POST');
		expect(init.credentials).toBe('include');
		expect(String(init.body)).toBe(`grant_type=refresh_token&refresh_token=${refreshSecret}`);
	});

	it('treats a throwing parseRefreshResponse as a failed refresh, not retried', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(json({accessToken: 'x'}));
		const error = failed(await settle(refresher(fetchFunction, {
			parseRefreshResponse() {
				throw new Error('unexpected shape');
			},
		}).refresh(current, new AbortController().signal)));
		expect(calls).toHaveLength(1);
		expect(error.message).toContain('unexpected shape');
	});

	it('never puts the access or refresh token in an error message', async () => {
		const bodies: Reply[] = [
			json({}, 500),
			new Response(`{"accessToken": "${accessSecret}", "refreshToken": "${refreshSecret}"`),
			json({accessToken: `${accessSecret} ${refreshSecret}`}),
			json({accessToken: accessSecret, refreshToken: `${refreshSecret}\n`}),
			json({accessToken: accessSecret, refreshToken: refreshSecret, expiresIn: 'soon'}),
			new TypeError('Failed to fetch'),
		];
		for (const body of bodies) {
			const {fetch: fetchFunction} = scriptedFetch(body);
			const error = failed(await settle(refresher(fetchFunction, {refreshRetries: 0}).refresh(current, new AbortController().signal)));
			for (let link: unknown = error; link instanceof Error; link = link.cause) {
				expect(link.message).not.toContain(accessSecret);
				expect(link.message).not.toContain(refreshSecret);
			}
		}
	});
});

describe('createRefresher with parseRefreshError', () => {
	const oauthBody = (error: string, status: number) => json({error, error_description: `about ${error}`}, status);
	const classify = vi.fn((body: unknown) => {
		const {error} = body as {error?: string};
		if (error === 'dead') {
			return {action: 'logout', error: {error, errorDescription: 'gone'}} as const;
		}

		if (error === 'busy') {
			return {action: 'retry'} as const;
		}

		return error === undefined ? undefined : {action: 'fail', error: {error, errorDescription: `about ${error}`}} as const;
	});

	it('a logout verdict ends the session at once, whatever the status, with the server\'s error as the cause', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(oauthBody('dead', 403));
		const outcome = await settle(refresher(fetchFunction, {parseRefreshError: classify}).refresh(current, new AbortController().signal));
		expect(outcome.type).toBe('rejected');
		expect(outcome.type === 'rejected' && outcome.status).toBe(403);
		const cause = outcome.type === 'rejected' ? outcome.cause : undefined;
		expect(cause).toBeInstanceOf(OAuthError);
		expect(cause).toMatchObject({code: 'OAUTH_ERROR', error: 'dead', errorDescription: 'gone', errorUri: null, status: 403});
		expect(calls).toHaveLength(1);
	});

	it('a fail verdict is final: no retry, and the error carries error and error_description', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(oauthBody('invalid_client', 401), json({accessToken: 'never'}));
		const error = failed(await settle(refresher(fetchFunction, {parseRefreshError: classify}).refresh(current, new AbortController().signal)));
		expect(error).toBeInstanceOf(OAuthError);
		expect(error).toMatchObject({code: 'OAUTH_ERROR', status: 401, error: 'invalid_client', errorDescription: 'about invalid_client'});
		expect(error.message).toBe('The token endpoint answered 401 invalid_client: about invalid_client');
		expect(calls).toHaveLength(1);
	});

	it('a retry verdict is retried with backoff, even for a 4xx the status rules would sign out', async () => {
		const {fetch: fetchFunction, calls} = scriptedFetch(oauthBody('busy', 400), json({accessToken: 'new-at'}));
		const outcome = await settle(refresher(fetchFunction, {parseRefreshError: classify}).refresh(current, new AbortController().signal));
		expect(outcome.type).toBe('ok');
		expect(calls).toHaveLength(2);
	});

	it('falls back to the status rules when the classifier declines, throws, or the body is not JSON', async () => {
		const throwing = () => {
			throw new Error('broken classifier');
		};

		for (const [parseRefreshError, reply] of [
			[classify, json({message: 'no error field'}, 401)],
			[throwing, oauthBody('x', 400)],
			[classify, new Response('<html>bad gateway</html>', {status: 400})],
		] as const) {
			const {fetch: fetchFunction} = scriptedFetch(reply);
			// eslint-disable-next-line no-await-in-loop
			const outcome = await settle(refresher(fetchFunction, {parseRefreshError}).refresh(current, new AbortController().signal));
			expect(outcome).toEqual({type: 'rejected', status: reply.status});
		}

		const {fetch: fetchFunction, calls} = scriptedFetch(new Response('oops', {status: 502}));
		const error = failed(await settle(refresher(fetchFunction, {parseRefreshError: classify}).refresh(current, new AbortController().signal)));
		expect(error).toBeInstanceOf(RefreshFailedError);
		expect(calls).toHaveLength(3);
	});
});

describe('sleep', () => {
	it('resolves after the delay', async () => {
		let done = false;
		void sleep(systemClock, 1000, new AbortController().signal).then(() => {
			done = true;
		});
		await vi.advanceTimersByTimeAsync(999);
		expect(done).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		expect(done).toBe(true);
	});

	it('rejects with the reason on abort and clears its timer', async () => {
		const controller = new AbortController();
		const promise = sleep(systemClock, 1000, controller.signal);
		controller.abort('why');
		await expect(promise).rejects.toBe('why');
		expect(vi.getTimerCount()).toBe(0);
	});
});
