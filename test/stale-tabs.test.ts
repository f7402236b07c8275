import {describe, expect, it} from 'vitest';
import {LoggedOutError} from '../src/index.js';
import {createLifecycle, deafenable, withTabId} from './support/tab-doubles.js';
import {createWorld, worldPerTest, type World} from './support/world.js';

/**
 * Tabs that missed messages: Safari drops BroadcastChannel messages to a
 * page in its back/forward cache, a frozen tab hears nothing, a channel can
 * be reopened. Such a tab must never undo a logout, nor leave the other
 * tabs signed in after its own logout; and a login always wins over what an
 * older session does meanwhile.
 */
const worlds = worldPerTest();

interface StaleTab {
	tab: ReturnType<World['openTab']>;
	lifecycle: ReturnType<typeof createLifecycle>;
	channel: ReturnType<typeof deafenable>;
}

/** Opens `count` tabs of a world, each with its own lifecycle port and a channel it can go deaf on. */
async function openTabs(world: World, count: number): Promise<StaleTab[]> {
	const opened: StaleTab[] = [];
	for (let index = 0; index < count; index++) {
		const lifecycle = createLifecycle();
		const channel = deafenable(world.hub.method);
		// Lower ids first: with the message election the first tab stays the leader.
		const tab = withTabId(0x10 * (index + 1), () => world.openTab({lifecycle: lifecycle.port, broadcastMethod: channel.method}));
		opened.push({tab, lifecycle, channel});
		// eslint-disable-next-line no-await-in-loop
		await world.tick(37);
	}

	await world.tick(1000);
	return opened;
}

const signedIn = (world: World) => world.live().filter(tab => tab.session.getState().status !== 'unauthenticated');

/** Three tabs of memory storage, signed in; the first logs out while the third hears nothing. */
async function logoutMissedByOneTab(locks: boolean) {
	const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks}));
	const [a, , c] = await openTabs(world, 3);
	await world.run(a!.tab.session.login(world.server.login()));
	await world.tick(50);
	c!.channel.deaf = true;
	await world.run(a!.tab.session.logout());
	await world.tick(100);
	return {world, c: c!};
}

describe('a tab that missed the logout (memory storage)', () => {
	for (const locks of [true, false]) {
		it(`learns it on pageshow (persisted) before it acts, and signs nobody back in (${locks ? 'Web Locks' : 'no Web Locks'})`, async () => {
			const {world, c} = await logoutMissedByOneTab(locks);
			expect(c.tab.session.getState().status).toBe('authenticated');
			// Back from the back/forward cache, its token expired meanwhile; it sends a request at once.
			await world.tick(60_000);
			c.channel.deaf = false;
			c.lifecycle.fire({type: 'pageshow', persisted: true});
			const [outcome] = await world.run(c.tab.burst(1));
			expect(outcome).toMatchObject({status: 'rejected', reason: expect.any(LoggedOutError) as unknown});
			expect(c.tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'logout'});
			await world.tick(10_000);
			expect(world.server.counters.refreshCalls).toBe(0);
			expect(signedIn(world)).toEqual([]);
		});
	}

	it('still deaf when its token expires: the fence in localStorage tells it, so it never refreshes the ended session', async () => {
		const {world, c} = await logoutMissedByOneTab(true);
		await world.tick(61_000);
		// It asks the leader (who answers; it does not hear), then would refresh on its own under the lock.
		const [outcome] = await world.run(c.tab.burst(1));
		expect(outcome).toMatchObject({status: 'rejected', reason: expect.any(LoggedOutError) as unknown});
		expect(world.server.counters.refreshCalls).toBe(0);
		expect(signedIn(world)).toEqual([]);
	});
});

describe('a stale tab\'s own logout', () => {
	it('ends the session every tab holds, though the tab missed two refreshes (memory storage)', async () => {
		const world = worlds.use(createWorld({ttl: 2, storage: 'memory', locks: true}));
		const [a, b, c] = await openTabs(world, 3);
		await world.run(a!.tab.session.login(world.server.login()));
		await world.tick(50);
		c!.channel.deaf = true;
		await world.tick(4500);
		// It missed two refreshes or more.
		expect(a!.tab.session.getState().generation - c!.tab.session.getState().generation).toBeGreaterThanOrEqual(2);
		c!.channel.deaf = false;
		await world.run(c!.tab.session.logout());
		await world.tick(100);
		for (const tab of [a!, b!, c!]) {
			expect(tab.tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'logout'});
		}

		const refreshed = world.server.counters.refreshOk;
		await world.tick(10_000);
		expect(world.server.counters.refreshOk).toBe(refreshed);
	});

	it('a stale tab\'s refresh result of an ended session is dropped by every tab (local storage, no Web Locks)', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'local'}));
		const [a, , c] = await openTabs(world, 3);
		await world.run(a!.tab.session.login(world.server.login()));
		await world.tick(50);
		c!.channel.deaf = true;
		await world.run(a!.tab.session.logout());
		await world.tick(100);
		c!.channel.deaf = false;
		// Whatever the stale tab does, the tabs that heard the logout stay signed out.
		await world.tick(61_000);
		await world.run(c!.tab.burst(1));
		await world.tick(1000);
		expect(signedIn(world)).toEqual([]);
		expect(world.server.counters.refreshCalls).toBe(0);
	});
});

describe('an account switch that crosses a refresh of the old session', () => {
	it('keeps the new user\'s tokens in every tab, though the refresh produced the same generation', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'local', session: {refreshLeeway: 0}}));
		// The leader gets the largest id: a tie broken by writer alone would go its way.
		const leader = withTabId(0xf0, () => world.openTab());
		await world.tick(300);
		const channel = deafenable(world.hub.method);
		const switching = withTabId(0x10, () => world.openTab({broadcastMethod: channel.method, storage: 'memory'}));
		const third = withTabId(0x20, () => world.openTab());
		await world.tick(1000);
		expect(leader.session.getState().role).toBe('leader');
		await world.run(leader.session.login(world.server.login()));
		await world.tick(50);
		// The tab that switches users hears nothing of the refresh of the first user's session…
		channel.deaf = true;
		await world.tick(60_000);
		await world.run(third.burst(1));
		expect(third.session.getState().generation).toBe(2);
		expect(switching.session.getState().generation).toBe(1);
		// …and signs in the second user with what it holds.
		const secondUser = world.server.login();
		await world.run(switching.session.login(secondUser));
		channel.deaf = false;
		await world.tick(1000);
		for (const tab of [leader, switching, third]) {
			// eslint-disable-next-line no-await-in-loop
			await expect(world.run(tab.session.getAccessToken())).resolves.toBe(secondUser.accessToken);
		}
	});
});

describe('a second leader without Web Locks (a tab that claimed while the leader did not hear it)', () => {
	it('leaves a refresh the first leader announced moments ago to finish: one refresh call at a time, no reuse', async () => {
		const world = worlds.use(createWorld({ttl: 3600, storage: 'memory', locks: false}));
		const tabs = await openTabs(world, 2);
		const leader = tabs.find(entry => entry.tab.session.getState().role === 'leader')!;
		const follower = tabs.find(entry => entry !== leader)!;
		await world.run(leader.tab.session.login(world.server.login()));
		await world.tick(50);
		// The leader refreshes slowly for a request of the other tab, and stops hearing the channel.
		world.server.refreshDelay = 1500;
		world.server.revokeAccessTokens();
		const waiting = follower.tab.burst(1);
		await world.tick(5);
		expect(world.server.refreshesInFlight).toBe(1);
		leader.channel.deaf = true;
		// Right after the leader's heartbeat, a tab opens with the highest id; the leader never hears
		// its claim, so it leads too.
		const delivered = world.hub.delivered;
		while (world.hub.delivered === delivered) {
			// eslint-disable-next-line no-await-in-loop
			await world.tick(1);
		}

		const late = withTabId(0xf0, () => world.openTab());
		await world.tick(400);
		expect(late.session.getState().role).toBe('leader');
		const [result] = await world.run(waiting);
		expect(result!.status).toBe('fulfilled');
		await world.tick(3000);
		expect(world.server.counters.maxConcurrentRefreshes).toBe(1);
		expect(world.server.noReuse).toBe(true);
		expect(world.server.counters.refreshCalls).toBe(1);
	});
});
