import {describe, expect, it} from 'vitest';
import {LoggedOutError} from '../src/index.js';
import {createMachineClock, createPage, createQuota, type Page} from './support/faults.js';
import {withTabId} from './support/tab-doubles.js';
import {createWorld, worldPerTest, type Tab, type World} from './support/world.js';

/**
 * Histories the property suite found, replayed step by step: a tab that was
 * in the back/forward cache while localStorage refused writes (so the fence
 * that tells stale tabs what happened was removed), a login as another user
 * that a cached tab missed, and a cached tab's refresh that outlived its page.
 */
const worlds = worldPerTest();

async function openPages(world: World, count: number) {
	const machine = createMachineClock();
	const opened: Array<{tab: Tab; page: Page}> = [];
	for (let index = 0; index < count; index++) {
		const page = createPage(world.hub.method, machine);
		// Lower ids first: with the message election the first tab stays the leader.
		const tab = withTabId(0x10 * (index + 1), () => world.openTab(page.options));
		opened.push({tab, page});
		// eslint-disable-next-line no-await-in-loop
		await world.tick(37);
	}

	await world.tick(1000);
	await world.run(opened[0]!.tab.session.login(world.server.login()));
	await world.tick(50);
	return opened;
}

describe('a logout whose storage write failed, missed by a tab in the back/forward cache', () => {
	for (const storage of ['local', 'memory'] as const) {
		it(`ends the session in that tab once it is back, and no refresh of the ended session reaches the server (${storage} storage)`, async () => {
			const world = worlds.use(createWorld({ttl: 30, storage, locks: true}));
			const [a, b] = await openPages(world, 2);
			const quota = createQuota();
			try {
				b!.page.hide();
				quota.full = true;
				await world.run(a!.tab.session.logout());
				quota.full = false;
				a!.tab.close();
				await world.tick(100);
				b!.page.wake();
				await world.tick(1000);
				// Past the expiry: the tab would refresh now.
				await world.tick(30_000);
				const [result] = await world.run(b!.tab.burst(1));
				expect(result!.status).toBe('rejected');
				expect((result as PromiseRejectedResult).reason).toBeInstanceOf(LoggedOutError);
				expect(b!.tab.session.getState().status).toBe('unauthenticated');
				expect(world.server.counters.refreshCalls).toBe(0);
			} finally {
				quota.restore();
			}
		});
	}

	it('a tab that heard everything keeps the session when the fence is lost, and writes it again', async () => {
		const world = worlds.use(createWorld({ttl: 30, storage: 'memory', locks: true}));
		const [a, b] = await openPages(world, 2);
		const quota = createQuota();
		try {
			// The leader's refresh is written while storage is full: the fence goes.
			quota.full = true;
			world.server.revokeAccessTokens();
			await world.run(a!.tab.burst(1));
			quota.full = false;
			expect(localStorage.getItem(`tab-session:${world.namespace}:fence`)).toBeNull();
			await world.tick(31_000);
			const bursts = await world.run(Promise.all([a!.tab.burst(3), b!.tab.burst(3)]));
			expect(bursts.flat().every(result => result.status === 'fulfilled')).toBe(true);
			expect(world.server.counters.refreshOk).toBe(2);
			expect(world.server.noReuse).toBe(true);
			expect(localStorage.getItem(`tab-session:${world.namespace}:fence`)).not.toBeNull();
		} finally {
			quota.restore();
		}
	});
});

describe('a login as another user, missed by a tab in the back/forward cache (memory storage)', () => {
	it('signs that tab out once it is back instead of sending the previous user\'s token', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true}));
		const [a, b] = await openPages(world, 2);
		const firstUser = world.server.apiCalls.length;
		b!.page.hide();
		const other = world.server.login();
		await world.run(a!.tab.session.login(other));
		a!.tab.close();
		await world.tick(100);
		b!.page.wake();
		await world.tick(1000);
		const [result] = await world.run(b!.tab.burst(1));
		expect((result as PromiseRejectedResult).reason).toBeInstanceOf(LoggedOutError);
		// The earlier user's token was never sent after the switch.
		expect(world.server.apiCalls.slice(firstUser).filter(call => call.token !== null)).toEqual([]);
	});
});

describe('a refresh under way when its page enters the back/forward cache or freezes', () => {
	for (const stop of ['hide', 'freeze'] as const) {
		it(`stops there: the tab that takes over refreshes, and the stopped page never presents the token after it (${stop})`, async () => {
			const world = worlds.use(createWorld({ttl: 30, storage: 'memory', locks: true}));
			const [a, b] = await openPages(world, 2);
			// The leader's first attempt fails; it waits before the next one.
			world.server.failNext(500);
			world.server.revokeAccessTokens();
			const first = a!.tab.burst(1);
			await world.tick(20);
			expect(world.server.counters.refreshCalls).toBe(1);
			a!.page[stop]();
			const bursts = await world.run(b!.tab.burst(2));
			expect(bursts.every(result => result.status === 'fulfilled')).toBe(true);
			a!.page.wake();
			await world.run(first);
			await world.tick(5000);
			expect(world.server.noReuse).toBe(true);
			expect(world.server.counters.reuseDetections).toBe(0);
			expect(world.server.counters.refreshOk).toBe(1);
		});
	}
});
