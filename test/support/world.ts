import {afterEach, beforeEach, vi} from 'vitest';
import {initSession, type Session, type SessionOptions} from '../../src/index.js';
import {createHub} from './hub.js';
import {createLockManager} from './locks.js';
import {runUntilSettled, useFakeTime} from './time.js';
import {createTokenServer} from './token-server.js';

let worlds = 0;

export interface Tab {
	readonly id: number;
	readonly session: Session;
	/** Requests this tab sent, with their outcome. */
	readonly results: Array<{ok: boolean; error?: unknown}>;
	/** Sends `count` GETs at once and waits until all settle. */
	burst(count: number, path?: string): Promise<Array<PromiseSettledResult<unknown>>>;
	close(): void;
	/** The tab's process dies: no goodbye on the channel, its timers stop mattering. */
	crash(): void;
	/** The tab stays alive but hears and says nothing on the channel (its main thread is stuck). */
	isolate(): void;
	readonly open: boolean;
}

export interface WorldOptions {
	ttl?: number;
	storage?: SessionOptions['storage'];
	/** Give tabs a shared Web Locks stand-in. */
	locks?: boolean;
	session?: Partial<SessionOptions>;
}

/**
 * Several tabs of one origin in one process: sessions over an in-memory
 * channel, a rotating token server as their `fetch`, fake time throughout.
 */
export function createWorld(options: WorldOptions = {}) {
	const namespace = `w${++worlds}-${Math.random().toString(36).slice(2, 8)}`;
	const hub = createHub();
	const server = createTokenServer({ttl: options.ttl ?? 60});
	const lockManager = options.locks ? createLockManager() : undefined;
	const tabs: Tab[] = [];

	function openTab(extra: Partial<SessionOptions> = {}): Tab {
		const firstState = hub.created.length;
		const session = initSession({
			refreshUrl: '/auth/refresh',
			namespace,
			storage: options.storage ?? 'local',
			fetch: server.fetch,
			broadcastMethod: hub.method,
			locks: lockManager?.manager ?? null,
			refreshRetryDelay: 100,
			...options.session,
			...extra,
		});
		const states = () => world.hub.created.slice(firstState, firstState + 1);
		let open = true;
		const results: Tab['results'] = [];
		const tab: Tab = {
			id: tabs.length,
			session,
			results,
			async burst(count, path = '/api/orders') {
				return Promise.allSettled(Array.from({length: count}, async () => {
					try {
						const body = await session.api.get(`${server.origin}${path}`).json();
						results.push({ok: true});
						return body;
					} catch (error) {
						results.push({ok: false, error});
						throw error;
					}
				}));
			},
			close() {
				open = false;
				session.close();
			},
			crash() {
				open = false;
				hub.sever(states());
				session.close();
			},
			isolate() {
				hub.sever(states());
			},
			get open() {
				return open;
			},
		};
		tabs.push(tab);
		return tab;
	}

	const world = {
		namespace,
		hub,
		server,
		lockManager,
		tabs,
		openTab,
		live: () => tabs.filter(tab => tab.open),
		leaders: () => tabs.filter(tab => tab.open && tab.session.getState().role === 'leader'),
		/** Advance fake time, letting promises and channel deliveries run. */
		tick: async (ms: number) => vi.advanceTimersByTimeAsync(ms),
		/** Advances fake time in small steps until `promise` settles (at most `limit` ms), then returns it. */
		run: async <T>(promise: Promise<T>, limit = 60_000): Promise<T> => runUntilSettled(promise, limit),
		failed: () => tabs.flatMap(tab => tab.results.filter(result => !result.ok)),
		closeAll() {
			for (const tab of tabs) {
				if (tab.open) {
					tab.close();
				}
			}
		},
	};
	return world;
}

export type World = ReturnType<typeof createWorld>;

/** Opens `count` tabs, waits for the election, signs in through the first one. */
export async function signedInWorld(count: number, options: WorldOptions = {}) {
	const world = createWorld(options);
	for (let index = 0; index < count; index++) {
		world.openTab();
		// Real tabs open at different moments; in lockstep fake time the message
		// election's fallback rounds would otherwise run at the very same instant.
		// eslint-disable-next-line no-await-in-loop
		await world.tick(37 + (index * 11));
	}

	await world.tick(1000);
	await world.tabs[0]!.session.login(world.server.login());
	await world.tick(50);
	return world;
}

/**
 * Fake time and clean storage for each test of the file, and the test's world
 * closed after it. Call at the top level of a test file.
 */
export function worldPerTest() {
	let world: World | undefined;
	beforeEach(() => {
		useFakeTime();
		localStorage.clear();
	});

	afterEach(() => {
		world?.closeAll();
		world = undefined;
		vi.clearAllTimers();
		vi.useRealTimers();
	});

	return {
		/** Makes `next` the world closed after the test. */
		use(next: World): World {
			world = next;
			return next;
		},
		/** Closes the current world early (a test that plays several in a row). */
		close() {
			world?.closeAll();
			world = undefined;
		},
	};
}
