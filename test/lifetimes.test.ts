import {describe, expect, it} from 'vitest';
import {InvalidTokensError, RefreshFailedError} from '../src/index.js';
import {signedInWorld, worldPerTest, type World} from './support/world.js';

/**
 * Refresh answers whose access token is already expired, or nearly: the
 * server rotated the refresh token all the same. Refresh calls stay bounded
 * (the failure cooldown), the rotated refresh token is the one presented
 * next (no reuse), and the session recovers once the server answers well.
 */
const worlds = worldPerTest();

type Rewrite = (body: Record<string, unknown>, now: number) => Record<string, unknown>;

/** The world's token server, with its refresh answers rewritten while `rewrite` is set. */
function rewritingFetch(world: () => World, holder: {rewrite: Rewrite | undefined}): typeof fetch {
	return async (input, init) => {
		const response = await world().server.fetch(input, init);
		if (!String(input instanceof Request ? input.url : input).endsWith('/auth/refresh') || !holder.rewrite || !response.ok) {
			return response;
		}

		const body = await response.json() as Record<string, unknown>;
		return new Response(JSON.stringify(holder.rewrite(body, Date.now())), {status: 200, headers: {'content-type': 'application/json'}});
	};
}

const base64url = (value: unknown) => btoa(JSON.stringify(value)).replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_');
const jwtExpiringAt = (expSeconds: number) => `${base64url({alg: 'none'})}.${base64url({exp: expSeconds, sub: 'u'})}.sig`;

const answers: Array<[string, Rewrite]> = [
	['expiresIn: 0', body => ({...body, expiresIn: 0})],
	['a negative expiresIn', body => ({...body, expiresIn: -30})],
	['expiresIn: 0.3 (under the 1 s floor)', body => ({...body, expiresIn: 0.3})],
	['an expiresAt already past', (body, now) => ({...body, expiresIn: undefined, expiresAt: now - 60_000})],
	// A JWT without iat whose exp is behind a client clock that runs ahead.
	['a JWT exp behind the client clock', (body, now) => ({...body, expiresIn: undefined, accessToken: jwtExpiringAt(Math.floor((now - 5000) / 1000))})],
];

describe('refresh answers with an unusable lifetime', () => {
	for (const [label, rewrite] of answers) {
		it(`${label}: bounded refresh calls, the rotated refresh token kept, typed errors, and recovery`, async () => {
			const holder: {rewrite: Rewrite | undefined} = {rewrite: undefined};
			let current: World | undefined;
			const world = worlds.use(await signedInWorld(3, {ttl: 60, locks: true, session: {fetch: rewritingFetch(() => current!, holder)}}));
			current = world;
			holder.rewrite = rewrite;
			// The leader refreshes ahead of expiry: from then on every answer is unusable.
			await world.tick(60_000);
			const during = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
			await world.tick(60_000);
			// A loop would make thousands of calls in these two minutes. The cooldown after each unusable answer
			// (refreshRetryDelay 100 ms: 1, 1, 1, 1, 1.6, 3.2, 6.4, 12.8, 25.6, then 30 s) allows eleven at most.
			expect(world.server.counters.refreshCalls).toBeGreaterThanOrEqual(3);
			expect(world.server.counters.refreshCalls).toBeLessThanOrEqual(11);
			expect(world.server.noReuse).toBe(true);
			expect(world.server.counters.reuseDetections).toBe(0);
			for (const result of during.flat()) {
				if (result.status === 'rejected') {
					expect(result.reason).toBeInstanceOf(RefreshFailedError);
					expect((result.reason as Error).message).toMatch(/minimum lifetime of 1000 ms/);
				}
			}

			for (const tab of world.tabs) {
				expect(tab.session.getState().status).not.toBe('unauthenticated');
			}

			// The server answers well again: the next attempt (with the newest refresh token) brings usable tokens.
			holder.rewrite = undefined;
			const after = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))), 40_000);
			expect(after.flat().every(result => result.status === 'fulfilled')).toBe(true);
			expect(world.server.noReuse).toBe(true);
			expect(world.tabs[0]!.session.getState()).toMatchObject({status: 'authenticated', lastError: null});
		});
	}
});

describe('login with an unusable lifetime', () => {
	const tokens = (extra: Record<string, unknown>) => ({accessToken: 'at', refreshToken: 'rt', ...extra});
	it.each([
		['expiresIn: 0', tokens({expiresIn: 0})],
		['expiresIn: 0.5', tokens({expiresIn: 0.5})],
		['a negative expiresIn', tokens({expiresIn: -1})],
		['an expiresAt already past', tokens({expiresAt: Date.now() - 1000})],
		['a JWT already expired', tokens({accessToken: jwtExpiringAt(Math.floor(Date.now() / 1000) - 60)})],
	])('rejects %s with InvalidTokensError and signs nobody in', async (_label, input) => {
		const world = worlds.use(await signedInWorld(2));
		await world.run(world.tabs[0]!.session.logout());
		const error = await world.run(world.tabs[1]!.session.login(input).then(() => undefined, (error: unknown) => error));
		expect(error).toBeInstanceOf(InvalidTokensError);
		expect((error as Error).message).toMatch(/under the minimum lifetime of 1000 ms/);
		await world.tick(100);
		expect(world.tabs.map(tab => tab.session.getState().status)).toEqual(['unauthenticated', 'unauthenticated']);
	});

	it('accepts a lifetime of one second', async () => {
		const world = worlds.use(await signedInWorld(1));
		await world.run(world.tabs[0]!.session.login(tokens({expiresIn: 1})));
		expect(world.tabs[0]!.session.getState().status).toBe('authenticated');
	});
});
