import axios, {AxiosError, type InternalAxiosRequestConfig} from 'axios';
// @ts-expect-error: the recipe is plain JavaScript, as the README shows it.
import {withSession} from '../examples/recipes/axios.js';
import {describe, expect, it} from 'vitest';
import {LoggedOutError, type Session} from '../src/index.js';

const axiosFor = (session: Session, origins?: string[]) => (withSession as (client: ReturnType<typeof axios.create>, session: Session, origins?: string[]) => ReturnType<typeof axios.create>)(axios.create(), session, origins);
import {signedInWorld, worldPerTest, type World} from './support/world.js';

/**
 * Any HTTP client: `session.fetch` is a drop-in `fetch` with the guarantees
 * of `session.api`, and `refresh({ifToken})` lets an interceptor refresh only
 * when the token its request carried is still the current one.
 */
const worlds = worldPerTest();

const tokenOf = (world: World, id: string) => world.server.apiCalls.filter(call => call.id === id).map(call => call.token);

describe('session.fetch', () => {
	it('sends JSON, FormData and Blob bodies with the bearer, and retries a 401 once with newer tokens', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600}));
		const {fetch} = world.tabs[1]!.session;
		const json = await world.run(fetch(`${world.server.origin}/api/orders`, {
			method: 'POST', headers: {'content-type': 'application/json', 'x-request-id': 'json'}, body: JSON.stringify({item: 7}),
		}));
		expect(json.status).toBe(200);
		expect(await json.json()).toMatchObject({ok: true, body: '{"item":7}'});

		const form = new FormData();
		form.set('note', 'hello form');
		world.server.revokeAccessTokens();
		const formResponse = await world.run(fetch(new URL(`${world.server.origin}/api/upload`), {method: 'POST', body: form, headers: {'x-request-id': 'form'}}));
		expect(formResponse.status).toBe(200);
		const formCalls = world.server.apiCalls.filter(call => call.id === 'form');
		expect(formCalls.map(call => call.status)).toEqual([401, 200]);
		expect(formCalls[1]!.body).toContain('hello form');
		expect(world.server.counters.refreshCalls).toBe(1);

		// A Request as input (jsdom's Blob does not cross into Node's Request: the Blob body is tested in Chromium).
		const bytes = await world.run(fetch(new Request(`${world.server.origin}/api/bytes`, {method: 'PUT', body: new TextEncoder().encode('raw bytes'), headers: {'x-request-id': 'bytes'}})));
		expect(bytes.status).toBe(200);
		expect(world.server.apiCalls.find(call => call.id === 'bytes')).toMatchObject({method: 'PUT', body: 'raw bytes'});
		expect(tokenOf(world, 'json')[0]).toMatch(/^at-/);
	});

	it('resolves HTTP errors as responses, sends no bearer to other origins, and rejects with the session\'s errors', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600}));
		const {session} = world.tabs[0]!;
		const missing = await world.run(session.fetch(`${world.server.origin}/nothing`));
		expect(missing.status).toBe(404);
		const foreign = await world.run(session.fetch('https://elsewhere.example/api', {headers: {'x-request-id': 'foreign'}}));
		expect(foreign.status).toBe(200);
		expect(tokenOf(world, 'foreign')).toEqual([null]);
		// A refusal that newer tokens do not fix is the app's to see, after one retry.
		const denied = await world.run(session.fetch(`${world.server.origin}/api/deny`));
		expect(denied.status).toBe(401);
		expect(world.server.apiCalls.filter(call => call.path === '/api/deny')).toHaveLength(2);
		await world.run(session.logout());
		await expect(world.run(session.fetch(`${world.server.origin}/api/orders`))).rejects.toBeInstanceOf(LoggedOutError);
	});
});

describe('refresh({ifToken}) for interceptors', () => {
	it('the README\'s axios recipe in 3 tabs × 5 requests costs one refresh per revocation, and sends no bearer to another origin', async () => {
		const world = worlds.use(await signedInWorld(3, {ttl: 3600}));
		const clients = world.tabs.map(tab => axiosFor(tab.session));
		const adapter = async (config: InternalAxiosRequestConfig) => {
			const authorization = config.headers.get('Authorization');
			const response = await world.server.fetch(new URL(config.url!, world.server.origin).href, {headers: authorization ? {authorization: String(authorization)} : {}});
			const data: unknown = await response.json();
			if (response.status >= 400) {
				throw new AxiosError(`status ${response.status}`, undefined, config, undefined, {data, status: response.status, statusText: '', headers: {}, config});
			}

			return {data, status: response.status, statusText: '', headers: {}, config};
		};

		for (const client of clients) {
			client.defaults.adapter = adapter;
		}

		for (const round of [1, 2]) {
			world.server.revokeAccessTokens();
			// eslint-disable-next-line no-await-in-loop
			const results = await world.run(Promise.allSettled(clients.flatMap(client => Array.from({length: 5}, async () => client.get('/api/orders')))));
			expect(results.every(result => result.status === 'fulfilled')).toBe(true);
			expect(world.server.counters.refreshCalls).toBe(round);
		}

		expect(world.server.noReuse).toBe(true);
		await world.run(clients[0]!.get('https://elsewhere.example/api'));
		expect(world.server.apiCalls.filter(call => call.path === 'https://elsewhere.example/api').map(call => call.token)).toEqual([null]);
	});

	it('resolves at once when the token is no longer the current one, and refreshes when it is', async () => {
		const world = worlds.use(await signedInWorld(2, {ttl: 3600}));
		const {session} = world.tabs[0]!;
		const first = await world.run(session.getAccessToken());
		await world.run(session.refresh({ifToken: first}));
		expect(world.server.counters.refreshCalls).toBe(1);
		await world.run(session.refresh({ifToken: first}));
		expect(world.server.counters.refreshCalls).toBe(1);
		await expect(session.refresh({ifToken: 42 as never})).rejects.toThrow(TypeError);
	});
});
