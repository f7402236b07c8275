import {afterEach, describe, expect, it, vi} from 'vitest';
import {initSession, UnsupportedError} from '../src/index.js';
import {createHub} from './support/hub.js';
import {createLockManager} from './support/locks.js';
import {createLifecycle, withTabId} from './support/tab-doubles.js';
import {createWorld, worldPerTest, type World} from './support/world.js';

/**
 * Frozen and cached pages: a leader that gets `freeze` hands over and
 * rejoins on `resume`; `pagehide` and `pageshow` tell the back/forward
 * cache from an unload; and nothing the session registers outlives
 * `close()`, no `unload` listener ever (it keeps a page out of the cache).
 */
const worlds = worldPerTest();

async function tabsWithLifecycles(world: World, count: number) {
	const tabs = [];
	for (let index = 0; index < count; index++) {
		const lifecycle = createLifecycle();
		// The first tab opened gets the highest id, so the message election keeps it as the first leader.
		const tab = withTabId(0xf0 - (0x10 * index), () => world.openTab({lifecycle: lifecycle.port}));
		tabs.push({tab, lifecycle});
		// eslint-disable-next-line no-await-in-loop
		await world.tick(37);
	}

	await world.tick(1000);
	await world.run(tabs[0]!.tab.session.login(world.server.login()));
	await world.tick(50);
	return tabs;
}

describe('a frozen leader', () => {
	for (const locks of [true, false]) {
		it(`hands leadership over on freeze; the others refresh once at expiry; on resume it rejoins without presenting a spent token (${locks ? 'Web Locks' : 'messages'})`, async () => {
			const world = worlds.use(createWorld({ttl: 30, storage: 'memory', locks, session: {refreshLeeway: 0}}));
			const tabs = await tabsWithLifecycles(world, 3);
			const [first] = tabs;
			expect(first!.tab.session.getState().role).toBe('leader');
			first!.lifecycle.fire({type: 'freeze'});
			// With Web Locks at once; with messages within a claim window.
			await world.tick(locks ? 1 : 300);
			expect(first!.tab.session.getState().role).toBe('follower');
			expect(world.leaders()).toHaveLength(1);
			const others = tabs.slice(1).map(entry => entry.tab);
			await world.tick(30_000);
			const bursts = await world.run(Promise.all(others.map(async tab => tab.burst(5))));
			expect(bursts.flat().every(result => result.status === 'fulfilled')).toBe(true);
			expect(world.server.counters.refreshCalls).toBe(1);
			first!.lifecycle.fire({type: 'resume'});
			await world.run(first!.tab.burst(2));
			await world.tick(31_000);
			await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
			expect(world.server.noReuse).toBe(true);
			expect(world.server.counters.reuseDetections).toBe(0);
			expect(world.failed()).toEqual([]);
			expect(new Set(world.tabs.map(tab => tab.session.getState().generation)).size).toBe(1);
			expect(world.leaders()).toHaveLength(1);
		});
	}
});

describe('the back/forward cache', () => {
	it('pagehide (persisted) hands leadership over; pageshow (persisted) rejoins as a follower after asking the others', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true}));
		const tabs = await tabsWithLifecycles(world, 2);
		const [first, second] = tabs;
		first!.lifecycle.fire({type: 'pagehide', persisted: true});
		await world.tick(1);
		expect(second!.tab.session.getState().role).toBe('leader');
		first!.lifecycle.fire({type: 'pageshow', persisted: true});
		await world.tick(1000);
		expect(first!.tab.session.getState().role).toBe('follower');
		expect(world.leaders()).toEqual([second!.tab]);
	});

	it('a pageshow that is not a restore (the first load) asks nobody and holds no request', async () => {
		const world = worlds.use(createWorld({ttl: 60, storage: 'local'}));
		const tabs = await tabsWithLifecycles(world, 2);
		const delivered = world.hub.delivered;
		tabs[1]!.lifecycle.fire({type: 'pageshow', persisted: false});
		const [result] = await world.tabs[1]!.burst(1);
		expect(result?.status).toBe('fulfilled');
		await world.tick(10);
		expect(world.hub.delivered).toBe(delivered);
	});
});

describe('what the session registers', () => {
	afterEach(() => {
		vi.restoreAllMocks();
	});

	it('adds no unload or beforeunload listener, and removes every listener it added on close', async () => {
		const added: Array<{target: EventTarget; type: string; listener: unknown}> = [];
		const removed: Array<{target: EventTarget; type: string; listener: unknown}> = [];
		// jsdom's window has methods of its own, not EventTarget.prototype's: watch both targets.
		for (const target of [window, document] as EventTarget[]) {
			const add = target.addEventListener.bind(target);
			const remove = target.removeEventListener.bind(target);
			vi.spyOn(target, 'addEventListener').mockImplementation((type, listener, options) => {
				added.push({target, type, listener});
				add(type, listener, options);
			});
			vi.spyOn(target, 'removeEventListener').mockImplementation((type, listener, options) => {
				removed.push({target, type, listener});
				remove(type, listener, options);
			});
		}

		const hub = createHub();
		const locks = createLockManager();
		const sessions = [true, false].map(withLocks => initSession({
			refreshUrl: '/auth/refresh',
			namespace: `listeners-${String(withLocks)}`,
			storage: 'memory',
			broadcastMethod: hub.method,
			locks: withLocks ? locks.manager : null,
			fetch: async () => new Response('{}'),
		}));
		await vi.waitFor(() => {
			expect(sessions.map(session => session.getState().role)).toContain('leader');
		});
		const onPage = (entry: {target: EventTarget}) => entry.target === window || entry.target === document;
		expect(added.filter(onPage).map(entry => entry.type).sort()).toEqual(
			['focus', 'focus', 'freeze', 'freeze', 'offline', 'offline', 'online', 'online', 'pagehide', 'pagehide', 'pageshow', 'pageshow', 'resume', 'resume', 'visibilitychange', 'visibilitychange']);
		for (const session of sessions) {
			session.close();
		}

		expect(added.some(entry => entry.type === 'unload' || entry.type === 'beforeunload')).toBe(false);
		// Every listener on the page was removed again.
		const left = added.filter(onPage).filter(entry => !removed.some(gone => gone.target === entry.target && gone.type === entry.type && gone.listener === entry.listener));
		expect(left).toEqual([]);
	});

	it('without BroadcastChannel (and no broadcastMethod), initSession throws UnsupportedError', () => {
		vi.stubGlobal('BroadcastChannel', undefined);
		try {
			expect(() => initSession({refreshUrl: '/auth/refresh', namespace: 'no-channel'})).toThrow(UnsupportedError);
		} finally {
			vi.unstubAllGlobals();
		}
	});
});
