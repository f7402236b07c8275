import ky, {HTTPError} from 'ky';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {LoggedOutError, PauseTimeoutError} from '../../src/errors.js';
import {createApi, type ApiConfig, type AuthGate} from '../../src/hooks.js';
import {runUntilSettled} from '../support/time.js';

const origin = 'http://localhost:3000';
const refreshUrl = new URL(`${origin}/auth/refresh`);

beforeEach(() => {
	vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
});

afterEach(() => {
	vi.useRealTimers();
});

/** A session stand-in: generation n holds `token-n`; renew(g) moves past g. */
function fakeGate() {
	let generation = 1;
	const gate = {
		isAuthorized: vi.fn((url: URL) => url.origin === origin),
		acquire: vi.fn(async (signal: AbortSignal) => {
			signal.throwIfAborted();
			return {accessToken: `token-${generation}`, version: generation};
		}),
		renew: vi.fn(async (from: number, _signal: AbortSignal) => {
			if (from >= generation) {
				generation = from + 1;
			}
		}),
	} satisfies AuthGate;
	return gate;
}

interface Seen {url: string; method: string; authorization: string | null; body: string; contentType: string | null}

/** A fetch that records each request and answers with the next status of a script (the last one repeats). */
function fakeServer(...statuses: number[]) {
	const seen: Seen[] = [];
	const fetchFunction = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = input instanceof Request ? input : new Request(input, init);
		seen.push({
			url: request.url,
			method: request.method,
			authorization: request.headers.get('authorization'),
			body: await request.clone().text(),
			contentType: request.headers.get('content-type'),
		});
		const status = statuses.length > 1 ? statuses.shift()! : statuses[0] ?? 200;
		return new Response(JSON.stringify({status, n: seen.length}), {status, headers: {'content-type': 'application/json'}});
	});
	return {fetch: fetchFunction as unknown as typeof fetch, seen, mock: fetchFunction};
}

function api(gate: AuthGate, server: {fetch: typeof fetch}, extra: Partial<ApiConfig> = {}) {
	return createApi({gate, kyOptions: {}, authStatuses: [401], refreshUrl, fetch: server.fetch, ...extra});
}

const settle = async <T>(promise: Promise<T>) => runUntilSettled(promise);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
	try {
		await settle(promise);
	} catch (error) {
		return error;
	}

	throw new Error('expected a rejection');
}

describe('bearer token', () => {
	it('is added to authorized URLs', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		await settle(api(gate, server).get(`${origin}/api/orders`).json());
		expect(server.seen[0]!.authorization).toBe('Bearer token-1');
		expect(gate.acquire).toHaveBeenCalledTimes(1);
		expect(gate.acquire.mock.calls[0]![0]).toBeInstanceOf(AbortSignal);
	});

	it('is not added to other origins, and no token is acquired for them', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const client = api(gate, server);
		await settle(client.get('https://evil.example/steal').json());
		await settle(client.get('http://localhost:3001/api').json());
		expect(server.seen.map(request => request.authorization)).toEqual([null, null]);
		expect(gate.acquire).not.toHaveBeenCalled();
		expect(gate.isAuthorized).toHaveBeenCalledWith(new URL('https://evil.example/steal'));
	});

	it('is never added to the refresh URL, even though its origin is authorized', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const client = api(gate, server);
		await settle(client.post(refreshUrl).json());
		await settle(client.post(`${refreshUrl.href}?grant=1`).json());
		expect(server.seen.map(request => request.authorization)).toEqual([null, null]);
		expect(gate.acquire).not.toHaveBeenCalled();
	});

	it('does not trigger a renew when the refresh URL answers 401', async () => {
		const gate = fakeGate();
		const server = fakeServer(401);
		const error = await rejection(api(gate, server).post(refreshUrl));
		expect(error).toBeInstanceOf(HTTPError);
		expect(gate.renew).not.toHaveBeenCalled();
		expect(server.seen).toHaveLength(1);
	});

	it('replaces an Authorization header the caller set', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		await settle(api(gate, server).get(`${origin}/api`, {headers: {authorization: 'Bearer stale'}}).json());
		expect(server.seen[0]!.authorization).toBe('Bearer token-1');
	});

	it('works with prefixUrl from kyOptions', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const client = api(gate, server, {kyOptions: {prefixUrl: `${origin}/api/v1`}});
		await settle(client.get('orders').json());
		expect(server.seen[0]!.url).toBe(`${origin}/api/v1/orders`);
		expect(server.seen[0]!.authorization).toBe('Bearer token-1');
	});

	it('uses kyOptions.fetch over the session fetch', async () => {
		const gate = fakeGate();
		const sessionServer = fakeServer(200);
		const appServer = fakeServer(200);
		await settle(api(gate, sessionServer, {kyOptions: {fetch: appServer.fetch}}).get(`${origin}/api`).json());
		expect(appServer.seen).toHaveLength(1);
		expect(sessionServer.seen).toHaveLength(0);
	});
});

describe('app hooks', () => {
	it('still run, after the session hooks', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const seenByApp: Array<string | null> = [];
		const afterStatuses: number[] = [];
		const client = api(gate, server, {
			kyOptions: {
				hooks: {
					beforeRequest: [request => {
						seenByApp.push(request.headers.get('authorization'));
						request.headers.set('x-app', 'yes');
					}],
					afterResponse: [(_request, _options, response) => {
						afterStatuses.push(response.status);
					}],
				},
			},
		});
		await settle(client.get(`${origin}/api`).json());
		expect(seenByApp).toEqual(['Bearer token-1']);
		expect(afterStatuses).toEqual([200]);
		expect(server.mock.mock.calls[0]![0]).toBeInstanceOf(Request);
		expect((server.mock.mock.calls[0]![0] as Request).headers.get('x-app')).toBe('yes');
	});

	it('never see a 401 that the session recovers from', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const afterStatuses: number[] = [];
		const client = api(gate, server, {
			kyOptions: {hooks: {afterResponse: [(_request, _options, response) => {
				afterStatuses.push(response.status);
			}]}},
		});
		await settle(client.get(`${origin}/api`).json());
		expect(afterStatuses).toEqual([200]);
	});
});

describe('401 handling', () => {
	it('renews from the generation it sent and retries once with the newer token', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const body = await settle(api(gate, server).get(`${origin}/api/orders`).json());
		expect(body).toEqual({status: 200, n: 2});
		expect(gate.renew).toHaveBeenCalledTimes(1);
		expect(gate.renew.mock.calls[0]![0]).toBe(1);
		expect(gate.renew.mock.calls[0]![1]).toBeInstanceOf(AbortSignal);
		expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
		expect(gate.acquire).toHaveBeenCalledTimes(2);
	});

	it('returns a second 401 to the caller without another renew', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 401, 200);
		const error = await rejection(api(gate, server).get(`${origin}/api/orders`));
		expect(error).toBeInstanceOf(HTTPError);
		expect((error as HTTPError).response.status).toBe(401);
		expect(gate.renew).toHaveBeenCalledTimes(1);
		expect(server.seen).toHaveLength(2);
	});

	it('does not renew on a 401 from an origin that got no token', async () => {
		const gate = fakeGate();
		const server = fakeServer(401);
		const error = await rejection(api(gate, server).get('https://third-party.example/x'));
		expect((error as HTTPError).response.status).toBe(401);
		expect(gate.renew).not.toHaveBeenCalled();
		expect(server.seen).toHaveLength(1);
	});

	it('treats the configured auth statuses as refusals, and only those', async () => {
		const gate = fakeGate();
		const server = fakeServer(419, 200);
		await settle(api(gate, server, {authStatuses: [401, 419]}).get(`${origin}/api`).json());
		expect(gate.renew).toHaveBeenCalledTimes(1);
		expect(server.seen[1]!.authorization).toBe('Bearer token-2');

		const other = fakeGate();
		const server403 = fakeServer(403);
		const error = await rejection(api(other, server403).get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(403);
		expect(other.renew).not.toHaveBeenCalled();
	});

	it('retries a POST with its JSON body intact', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 201);
		await settle(api(gate, server).post(`${origin}/api/orders`, {json: {item: 'book', qty: 2}}).json());
		expect(server.seen).toHaveLength(2);
		for (const request of server.seen) {
			expect(request.method).toBe('POST');
			expect(JSON.parse(request.body)).toEqual({item: 'book', qty: 2});
			expect(request.contentType).toBe('application/json');
		}

		expect(server.seen[1]!.authorization).toBe('Bearer token-2');
	});

	it('retries a POST with its FormData body intact', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const form = new FormData();
		form.append('title', 'hello world');
		// String fields only: under jsdom, Node's Request cannot read the bytes of a jsdom Blob.
		form.append('note', 'file-content-123');
		await settle(api(gate, server).post(`${origin}/api/upload`, {body: form}).json());
		expect(server.seen).toHaveLength(2);
		for (const request of server.seen) {
			expect(request.contentType).toMatch(/^multipart\/form-data; boundary=/);
			expect(request.body).toContain('hello world');
			expect(request.body).toContain('file-content-123');
			expect(request.body).toContain('name="note"');
		}

		expect(server.seen[1]!.authorization).toBe('Bearer token-2');
	});

	it('retries without a second renew when the token already changed (raced a refresh)', async () => {
		const gate = fakeGate();
		// Another tab refreshed while the request was in flight: renew returns at once.
		gate.renew.mockImplementation(async () => undefined);
		gate.acquire.mockImplementationOnce(async () => ({accessToken: 'token-1', version: 1}))
			.mockImplementationOnce(async () => ({accessToken: 'token-2', version: 2}));
		const server = fakeServer(401, 200);
		await settle(api(gate, server).get(`${origin}/api`).json());
		expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
		expect(gate.renew).toHaveBeenCalledTimes(1);
	});

	it('passes an error from renew (the session ended) to the caller without retrying', async () => {
		const gate = fakeGate();
		const ended = new LoggedOutError('refresh-rejected');
		gate.renew.mockRejectedValue(ended);
		const server = fakeServer(401, 200);
		const error = await rejection(api(gate, server).get(`${origin}/api`));
		expect(error).toBe(ended);
		expect(server.seen).toHaveLength(1);
	});
});

describe('retry options', () => {
	it('with retry: 0 still retries after a 401', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		await settle(api(gate, server, {kyOptions: {retry: 0}}).get(`${origin}/api`).json());
		expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
	});

	it('with retry: 0 sends the 401 retry through ky again, so app hooks run for it', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const appBeforeRequest = vi.fn();
		const client = api(gate, server, {kyOptions: {retry: 0, hooks: {beforeRequest: [appBeforeRequest]}}});
		await settle(client.get(`${origin}/api`).json());
		expect(server.seen).toHaveLength(2);
		expect(appBeforeRequest).toHaveBeenCalledTimes(2);
	});

	it('with retry: 0 does not retry a 500', async () => {
		const gate = fakeGate();
		const server = fakeServer(500, 200);
		const error = await rejection(api(gate, server, {kyOptions: {retry: 0}}).get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(500);
		expect(server.seen).toHaveLength(1);
	});

	it('with retry: {limit: 0} does not retry a 500 either', async () => {
		const gate = fakeGate();
		const server = fakeServer(503, 200);
		const error = await rejection(api(gate, server, {kyOptions: {retry: {limit: 0}}}).get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(503);
		expect(server.seen).toHaveLength(1);
	});

	it('with the default retry retries a 500 on GET per ky defaults (2 retries)', async () => {
		const gate = fakeGate();
		const server = fakeServer(500);
		const error = await rejection(api(gate, server).get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(500);
		expect(server.seen).toHaveLength(3);
		expect(gate.renew).not.toHaveBeenCalled();
	});

	it('with the default retry recovers from 500 then succeeds', async () => {
		const gate = fakeGate();
		const server = fakeServer(500, 200);
		await expect(settle(api(gate, server).get(`${origin}/api`).json())).resolves.toEqual({status: 200, n: 2});
	});

	it('does not retry a POST that got a 500', async () => {
		const gate = fakeGate();
		const server = fakeServer(500, 200);
		const error = await rejection(api(gate, server).post(`${origin}/api`, {json: {a: 1}}));
		expect((error as HTTPError).response.status).toBe(500);
		expect(server.seen).toHaveLength(1);
	});

	it('still asks the app shouldRetry', async () => {
		const gate = fakeGate();
		const server = fakeServer(500, 200);
		const shouldRetry = vi.fn(() => false);
		const error = await rejection(api(gate, server, {kyOptions: {retry: {limit: 3, shouldRetry}}}).get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(500);
		expect(shouldRetry).toHaveBeenCalledTimes(1);
		expect(server.seen).toHaveLength(1);
	});

	it('does not count the 401 retry against the app\'s own retries', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 500, 500, 200);
		const body = await settle(api(gate, server).get(`${origin}/api`).json());
		expect(body).toEqual({status: 200, n: 4});
		expect(gate.renew).toHaveBeenCalledTimes(1);
	});

	it('with retry: 1, a 500 after the 401 retry still gets its one retry', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 500, 200);
		const body = await settle(api(gate, server, {kyOptions: {retry: 1}}).get(`${origin}/api`).json());
		expect(body).toEqual({status: 200, n: 3});
	});

	it('with a per-request retry: 0 the second send goes through the app\'s beforeRequest hooks again', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const appBeforeRequest = vi.fn();
		const client = api(gate, server, {kyOptions: {hooks: {beforeRequest: [appBeforeRequest]}}});
		const body = await settle(client.get(`${origin}/api`, {retry: 0}).json());
		expect(body).toEqual({status: 200, n: 2});
		expect(appBeforeRequest).toHaveBeenCalledTimes(2);
		expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
	});

	it('with a per-request retry: 0 still sends the request once more after a 401', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const body = await settle(api(gate, server).get(`${origin}/api`, {retry: 0}).json());
		expect(body).toEqual({status: 200, n: 2});
		expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
		expect(gate.renew).toHaveBeenCalledTimes(1);
	});
});

describe('the app\'s retry options, per request and through extend or create', () => {
	const retriedWith = (): {hook: (state: {error: unknown}) => void; errors: unknown[]} => {
		const errors: unknown[] = [];
		return {errors, hook: ({error}) => errors.push(error)};
	};

	it('a per-request retry number never retries the session\'s own error (it replaces no guard)', async () => {
		for (const retry of [3, {limit: 3}, 0]) {
			const gate = fakeGate();
			gate.acquire.mockRejectedValue(new LoggedOutError('logout'));
			const seen = retriedWith();
			const started = Date.now();
			const error = await rejection(api(gate, fakeServer(200)).get(`${origin}/api`, {retry, hooks: {beforeRetry: [seen.hook]}}));
			expect(error).toBeInstanceOf(LoggedOutError);
			expect(seen.errors).toEqual([]);
			expect(gate.acquire).toHaveBeenCalledTimes(1);
			// No backoff: ky's first retry would wait 300 ms.
			expect(Date.now() - started).toBeLessThan(300);
		}
	});

	it('a PauseTimeoutError is not retried with a fresh pause, whatever the per-request retry says', async () => {
		const gate = fakeGate();
		gate.acquire.mockRejectedValue(new PauseTimeoutError(1000));
		const error = await rejection(api(gate, fakeServer(200)).get(`${origin}/api`, {retry: {limit: 5, shouldRetry: () => true}}));
		expect(error).toBeInstanceOf(PauseTimeoutError);
		expect(gate.acquire).toHaveBeenCalledTimes(1);
	});

	it('honours a per-request limit above the instance\'s, and the 401 retry keeps its own slot', async () => {
		const gate = fakeGate();
		const server = fakeServer(503, 503, 503, 503, 200);
		const body = await settle(api(gate, server).get(`${origin}/api`, {retry: {limit: 4}}).json());
		expect(body).toEqual({status: 200, n: 5});
		const withAuth = fakeServer(401, 503, 503, 503, 503, 200);
		const afterRefusal = await settle(api(fakeGate(), withAuth).get(`${origin}/api`, {retry: 4}).json());
		expect(afterRefusal).toEqual({status: 200, n: 6});
		// One more 503 than the limit reaches the caller.
		const tooMany = fakeServer(503, 503, 503, 503, 503, 200);
		const error = await rejection(api(fakeGate(), tooMany).get(`${origin}/api`, {retry: 4}));
		expect((error as HTTPError).response.status).toBe(503);
		expect(tooMany.seen).toHaveLength(5);
	});

	it('honours a limit set through extend, on the extended instance only', async () => {
		const base = api(fakeGate(), fakeServer(503, 503, 503, 503, 200));
		const body = await settle(base.extend({retry: {limit: 4}}).get(`${origin}/api`).json());
		expect(body).toEqual({status: 200, n: 5});
		const server = fakeServer(503, 503, 503, 503, 200);
		const plain = api(fakeGate(), server);
		plain.extend({retry: {limit: 4}});
		const error = await rejection(plain.get(`${origin}/api`));
		expect((error as HTTPError).response.status).toBe(503);
		expect(server.seen).toHaveLength(3);
	});

	it('an instance from extend or create keeps the bearer and the 401 retry', async () => {
		for (const make of [(client: ReturnType<typeof api>) => client.extend({headers: {'x-app': '1'}}), (client: ReturnType<typeof api>) => client.create({})]) {
			const gate = fakeGate();
			const server = fakeServer(401, 200);
			const body = await settle(make(api(gate, server)).get(`${origin}/api`).json());
			expect(body).toEqual({status: 200, n: 2});
			expect(server.seen.map(request => request.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
		}
	});

	it('extend with a function sees the parent\'s retry, and its own limit holds', async () => {
		const client = api(fakeGate(), fakeServer(503, 503, 503, 200), {kyOptions: {retry: 1}});
		let seenRetry: unknown;
		const extended = client.extend(parent => {
			seenRetry = parent.retry;
			return {retry: 3};
		});
		expect(seenRetry).toBe(1);
		await expect(settle(extended.get(`${origin}/api`).json())).resolves.toEqual({status: 200, n: 4});
	});
});

describe('the bearer after the app\'s hooks', () => {
	it('is removed when an app hook sends the request to an origin that may not have it', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const redirect = (request: Request) => new Request(request.url.replace(origin, 'https://elsewhere.example'), request);
		await settle(api(gate, server, {kyOptions: {hooks: {beforeRequest: [redirect]}}}).get(`${origin}/api`).json());
		expect(server.seen[0]!.url).toBe('https://elsewhere.example/api');
		expect(server.seen[0]!.authorization).toBeNull();
	});

	it('stays when the app hook keeps an authorized URL, and an app\'s own header to another origin is left alone', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const move = (request: Request) => new Request(request.url.replace('/api', '/v2/api'), request);
		await settle(api(gate, server, {kyOptions: {hooks: {beforeRequest: [move]}}}).get(`${origin}/api`).json());
		expect(server.seen[0]!.authorization).toBe('Bearer token-1');
		await settle(api(gate, server).get('https://elsewhere.example/x', {headers: {authorization: 'Basic abc'}}).json());
		expect(server.seen[1]!.authorization).toBe('Basic abc');
	});
});

describe('errors from the gate and aborts', () => {
	it('passes an error thrown by acquire to the caller as is, without retrying', async () => {
		const gate = fakeGate();
		const loggedOut = new LoggedOutError('logout');
		gate.acquire.mockRejectedValue(loggedOut);
		const server = fakeServer(200);
		const error = await rejection(api(gate, server).get(`${origin}/api`));
		expect(error).toBe(loggedOut);
		expect(gate.acquire).toHaveBeenCalledTimes(1);
		expect(server.seen).toHaveLength(0);
	});

	it('does not add backoff to a PauseTimeoutError from acquire', async () => {
		const gate = fakeGate();
		const timeout = new PauseTimeoutError(10_000);
		gate.acquire.mockRejectedValue(timeout);
		const promise = api(gate, fakeServer(200)).get(`${origin}/api`);
		let settledError: unknown;
		promise.catch((error: unknown) => {
			settledError = error;
		});
		await vi.advanceTimersByTimeAsync(0);
		expect(settledError).toBe(timeout);
		expect(gate.acquire).toHaveBeenCalledTimes(1);
	});

	it('rejects promptly when the caller aborts while acquire waits', async () => {
		const gate = fakeGate();
		gate.acquire.mockImplementation(async (signal: AbortSignal) => new Promise((_resolve, reject) => {
			signal.addEventListener('abort', () => {
				reject(signal.reason);
			}, {once: true});
		}));
		const server = fakeServer(200);
		const controller = new AbortController();
		const promise = api(gate, server).get(`${origin}/api`, {signal: controller.signal});
		let settledError: unknown;
		promise.catch((error: unknown) => {
			settledError = error;
		});
		await vi.advanceTimersByTimeAsync(100);
		expect(settledError).toBeUndefined();
		controller.abort();
		await vi.advanceTimersByTimeAsync(0);
		expect(settledError).toBeDefined();
		expect((settledError as Error).name).toBe('AbortError');
		expect(gate.acquire).toHaveBeenCalledTimes(1);
		expect(server.seen).toHaveLength(0);
	});

	it('rejects at once with an already aborted signal', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const controller = new AbortController();
		controller.abort();
		const error = await rejection(api(gate, server).get(`${origin}/api`, {signal: controller.signal}));
		expect((error as Error).name).toBe('AbortError');
		expect(server.seen).toHaveLength(0);
	});
});

describe('isolation', () => {
	it('does not change the global ky instance', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		api(gate, server);
		const other = fakeServer(200);
		await settle(ky.get(`${origin}/plain`, {fetch: other.fetch}).json());
		expect(other.seen[0]!.authorization).toBeNull();
		expect(gate.acquire).not.toHaveBeenCalled();
	});
});

describe('response clones', () => {
	afterEach(() => {
		vi.restoreAllMocks();
	});

	it('the session\'s own hook costs no body copy: a request without app hooks never tees its response', async () => {
		const clone = vi.spyOn(Response.prototype, 'clone');
		const gate = fakeGate();
		const server = fakeServer(200);
		const body = await settle(api(gate, server).get(`${origin}/api`).json());
		expect(body).toEqual({status: 200, n: 1});
		expect(clone).not.toHaveBeenCalled();
	});

	it('app hooks and app code get real clones with the whole body', async () => {
		const gate = fakeGate();
		const server = fakeServer(200);
		const bodiesSeenByHooks: string[] = [];
		const readBody = async (_request: Request, _options: unknown, response: Response) => {
			bodiesSeenByHooks.push(await response.text());
		};

		const client = api(gate, server, {kyOptions: {hooks: {afterResponse: [readBody, readBody]}}});
		const response = await settle(client.get(`${origin}/api`));
		expect(bodiesSeenByHooks).toEqual(['{"status":200,"n":1}', '{"status":200,"n":1}']);
		expect(await response.clone().text()).toBe('{"status":200,"n":1}');
		expect(await response.json()).toEqual({status: 200, n: 1});
	});

	it('keeps real clones for the response of a 401 retry sent through the instance again (a per-request retry: 0)', async () => {
		const gate = fakeGate();
		const server = fakeServer(401, 200);
		const bodiesSeenByHooks: string[] = [];
		const client = api(gate, server, {kyOptions: {hooks: {afterResponse: [async (_request, _options, response) => {
			bodiesSeenByHooks.push(await response.text());
		}]}}});
		const response = await settle(client.get(`${origin}/api`, {retry: 0}));
		expect(bodiesSeenByHooks).toEqual(['{"status":200,"n":2}']);
		expect(await response.clone().text()).toBe('{"status":200,"n":2}');
	});
});
