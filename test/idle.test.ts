// The cross-tab idle limit (`idleTimeout`), in fake time: activity in any tab
// keeps every tab signed in; none for that long signs every tab out with the
// reason `idle`, after an `idle-warning` everywhere; activity is shared a few
// times per limit, not per mouse move.
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {InvalidOptionsError, LoggedOutError, initSession, type ActivityPort, type ChannelMethod, type SessionEvent, type SessionOptions} from '../src/index.js';
import {useFakeTime} from './support/time.js';
import {createWorld, type Tab, type World} from './support/world.js';

let world: World | undefined;

beforeEach(() => {
	useFakeTime();
	localStorage.clear();
});

afterEach(async () => {
	world?.closeAll();
	await vi.advanceTimersByTimeAsync(100);
	expect(world?.hub.open ?? 0).toBe(0);
	world = undefined;
	vi.clearAllTimers();
	vi.useRealTimers();
});

const idleTimeout = 60_000;

/** An activity port a test fires into: `input()` is a person at that tab. */
function activityDouble() {
	const listeners = new Set<() => void>();
	const port: ActivityPort = listener => {
		listeners.add(listener);
		return () => {
			listeners.delete(listener);
		};
	};

	return {
		port,
		input() {
			for (const listener of [...listeners]) {
				listener();
			}
		},
		get size() {
			return listeners.size;
		},
	};
}

interface IdleTab {
	tab: Tab;
	activity: ReturnType<typeof activityDouble>;
	events: SessionEvent[];
}

/** Counts the `activity` frames the tabs post. */
function countingActivity(method: ChannelMethod) {
	const counter = {frames: 0, method: undefined as unknown as ChannelMethod};
	counter.method = {
		...method,
		async postMessage(state, frame) {
			if ((frame as {kind?: unknown}).kind === 'activity') {
				counter.frames++;
			}

			return method.postMessage(state, frame);
		},
	};
	return counter;
}

async function idleWorld(count: number, session: Partial<SessionOptions> = {}) {
	world = createWorld({ttl: 600, session: {idleTimeout, ...session}});
	const counter = countingActivity(world.hub.method);
	const tabs: IdleTab[] = [];
	const open = () => {
		const activity = activityDouble();
		const tab = world!.openTab({activity: activity.port, broadcastMethod: counter.method});
		const events: SessionEvent[] = [];
		for (const type of ['idle-warning', 'active', 'logout'] as const) {
			tab.session.on(type, event => {
				events.push(event);
			});
		}

		const entry = {tab, activity, events};
		tabs.push(entry);
		return entry;
	};

	for (let index = 0; index < count; index++) {
		open();
		// eslint-disable-next-line no-await-in-loop
		await world.tick(37 + (index * 11));
	}

	await world.tick(1000);
	await tabs[0]!.tab.session.login(world.server.login());
	await world.tick(50);
	return {world, tabs, counter, open};
}

const statuses = (tabs: readonly IdleTab[]) => tabs.map(({tab}) => tab.session.getState().status);
const endReasons = (tabs: readonly IdleTab[]) => tabs.map(({tab}) => tab.session.getState().endReason);

describe('idleTimeout: one limit for every tab', () => {
	it('without activity, every tab is warned a quarter of the limit before, then signed out with reason idle', async () => {
		const {world, tabs} = await idleWorld(3);
		const loggedInAt = Date.now();
		await world.tick(idleTimeout - 15_000 - 100);
		expect(tabs.map(entry => entry.events)).toEqual([[], [], []]);

		await world.tick(200);
		for (const {events} of tabs) {
			expect(events).toEqual([{type: 'idle-warning', idleAt: expect.any(Number) as number}]);
			const [warning] = events as Array<{idleAt: number}>;
			expect(warning!.idleAt - loggedInAt).toBeGreaterThanOrEqual(idleTimeout - 100);
			expect(warning!.idleAt - loggedInAt).toBeLessThanOrEqual(idleTimeout + 100);
		}

		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		await world.tick(15_000);
		expect(statuses(tabs)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated']);
		expect(endReasons(tabs)).toEqual(['idle', 'idle', 'idle']);
		for (const {events} of tabs) {
			expect(events.at(-1)).toEqual({type: 'logout', reason: 'idle'});
		}

		// Requests now say why.
		const [result] = await tabs[1]!.tab.burst(1);
		expect(result).toMatchObject({status: 'rejected', reason: expect.any(LoggedOutError) as unknown});
		expect((result as PromiseRejectedResult).reason).toMatchObject({code: 'LOGGED_OUT', reason: 'idle'});
		expect(((result as PromiseRejectedResult).reason as Error).message).toMatch(/idleTimeout/);
		// Nothing refreshes an ended session.
		const {refreshCalls} = world.server.counters;
		await world.tick(30 * 60_000);
		expect(world.server.counters.refreshCalls).toBe(refreshCalls);
	});

	it('input in one follower keeps every tab signed in; activity is shared a few times per limit, not per input', async () => {
		const {world, tabs, counter} = await idleWorld(3);
		const follower = tabs.find(({tab}) => tab.session.getState().role === 'follower')!;
		const framesBefore = counter.frames;
		// 10 minutes of input every 50 ms (a mouse moving) in one tab.
		for (let elapsed = 0; elapsed < 10 * 60_000; elapsed += 50) {
			follower.activity.input();
			// eslint-disable-next-line no-await-in-loop
			await world.tick(50);
		}

		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		expect(tabs.flatMap(entry => entry.events)).toEqual([]);
		// A share every idleTimeout / 10 (6 s): about 100 frames for 12,000 inputs.
		const frames = counter.frames - framesBefore;
		expect(frames).toBeGreaterThanOrEqual(95);
		expect(frames).toBeLessThanOrEqual(105);

		// The input stops: the session ends one limit after the last of it, not before.
		const lastInput = Date.now() - 50;
		await world.tick(idleTimeout - 1000);
		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		await world.tick(2000);
		expect(endReasons(tabs)).toEqual(['idle', 'idle', 'idle']);
		expect(Date.now() - lastInput).toBeLessThanOrEqual(idleTimeout + 1050);
	});

	it('input in another tab after the warning: every tab hears `active`, and the session goes on', async () => {
		const {world, tabs} = await idleWorld(3);
		await world.tick(idleTimeout - 10_000);
		expect(tabs.map(entry => entry.events.map(event => event.type))).toEqual([['idle-warning'], ['idle-warning'], ['idle-warning']]);

		tabs[2]!.activity.input();
		await world.tick(100);
		expect(tabs.map(entry => entry.events.map(event => event.type))).toEqual([['idle-warning', 'active'], ['idle-warning', 'active'], ['idle-warning', 'active']]);
		await world.tick(30_000);
		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		// A limit after that input, the same again.
		await world.tick(idleTimeout);
		expect(endReasons(tabs)).toEqual(['idle', 'idle', 'idle']);
	});

	it('requests through api and session.fetch count; context {activity: false} and the leader\'s heartbeat do not', async () => {
		const {world, tabs} = await idleWorld(2, {heartbeatUrl: 'http://localhost:3000/api/heartbeat', heartbeatInterval: 5000});
		for (let minute = 0; minute < 3; minute++) {
			// eslint-disable-next-line no-await-in-loop
			await world.tick(40_000);
			// eslint-disable-next-line no-await-in-loop
			await tabs[1]!.tab.session.fetch(`${world.server.origin}/api/orders`);
		}

		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated']);
		expect(world.server.counters.heartbeats).toBeGreaterThan(20);

		// A poll that says it is not activity: the session ends all the same.
		const polls: Array<Promise<unknown>> = [];
		for (let elapsed = 0; elapsed < idleTimeout + 5000; elapsed += 10_000) {
			polls.push(tabs[1]!.tab.session.api.get(`${world.server.origin}/api/poll`, {context: {activity: false}}).json().catch((error: unknown) => error));
			// eslint-disable-next-line no-await-in-loop
			await world.tick(10_000);
		}

		await Promise.all(polls);
		expect(endReasons(tabs)).toEqual(['idle', 'idle']);
	});

	it('a machine that slept past the limit: the first input ends the session instead of extending it', async () => {
		const {world, tabs} = await idleWorld(2);
		await world.tick(10_000);
		// Asleep for two hours: the clock jumps, no timer ran meanwhile.
		vi.setSystemTime(Date.now() + (2 * 60 * 60_000));
		tabs[1]!.activity.input();
		expect(tabs[1]!.tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'idle'});
		await world.tick(100);
		expect(endReasons(tabs)).toEqual(['idle', 'idle']);

		// Likewise a request sent first.
		world.closeAll();
		const next = await idleWorld(1);
		await next.world.tick(10_000);
		vi.setSystemTime(Date.now() + (2 * 60 * 60_000));
		const [result] = await next.tabs[0]!.tab.burst(1);
		expect((result as PromiseRejectedResult).reason).toMatchObject({code: 'LOGGED_OUT', reason: 'idle'});
		expect(next.world.server.counters.refreshCalls).toBe(0);
	});

	it('a tab that opens on a stored session idle for longer than the limit (a browser restart) signs out; a recent one stays', async () => {
		const {world, tabs, open} = await idleWorld(1);
		await world.tick(20_000);
		tabs[0]!.tab.close();
		// Closed for 30 s: within the limit.
		await world.tick(30_000);
		const soon = open();
		await world.tick(1000);
		expect(soon.tab.session.getState()).toMatchObject({status: 'authenticated'});
		soon.tab.close();

		// Closed for two hours.
		await world.tick(2 * 60 * 60_000);
		const later = open();
		await world.tick(1000);
		expect(later.tab.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'idle'});
		expect(world.server.counters.refreshCalls).toBe(0);
	});

	it('a tab deaf to the channel: its input reaches the others through storage, and the leader keeps the session', async () => {
		const {world, tabs} = await idleWorld(3);
		const follower = tabs.find(({tab}) => tab.session.getState().role === 'follower')!;
		follower.tab.isolate();
		for (let elapsed = 0; elapsed < 3 * idleTimeout; elapsed += 5000) {
			follower.activity.input();
			// eslint-disable-next-line no-await-in-loop
			await world.tick(5000);
		}

		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
	});

	it('a crashed leader: a follower ends the session leaderTimeout after the limit', async () => {
		const {world, tabs} = await idleWorld(3, {idleWarning: 0});
		const leader = tabs.find(({tab}) => tab.session.getState().role === 'leader')!;
		await world.tick(idleTimeout - 5000);
		leader.tab.crash();
		await world.tick(5000 + 500);
		const others = tabs.filter(entry => entry !== leader);
		// A new leader took over (it ends at once); or, with none yet, a follower within leaderTimeout.
		await world.tick(2000);
		expect(endReasons(others)).toEqual(['idle', 'idle']);
		expect(others.flatMap(entry => entry.events)).toEqual([{type: 'logout', reason: 'idle'}, {type: 'logout', reason: 'idle'}]);
	});

	it('the idle end sends the logout request once, and markActive() counts as activity', async () => {
		const {world, tabs} = await idleWorld(3, {
			logoutRequest: ({refreshToken}) => ({url: 'https://auth.example/revoke', body: new URLSearchParams({token: refreshToken ?? ''})}),
		});
		for (let elapsed = 0; elapsed < 2 * idleTimeout; elapsed += 20_000) {
			tabs[1]!.tab.session.markActive();
			// eslint-disable-next-line no-await-in-loop
			await world.tick(20_000);
		}

		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated', 'authenticated']);
		await world.tick(idleTimeout + 5000);
		expect(endReasons(tabs)).toEqual(['idle', 'idle', 'idle']);
		const revocations = world.server.apiCalls.filter(call => call.path === 'https://auth.example/revoke');
		expect(revocations).toHaveLength(1);
		expect(revocations[0]!.body).toMatch(/^token=./);
	});

	it('a new login after an idle end starts a new limit; close() unsubscribes the activity port', async () => {
		const {world, tabs} = await idleWorld(2);
		await world.tick(idleTimeout + 1000);
		expect(endReasons(tabs)).toEqual(['idle', 'idle']);
		await tabs[1]!.tab.session.login(world.server.login());
		await world.tick(idleTimeout - 20_000);
		expect(statuses(tabs)).toEqual(['authenticated', 'authenticated']);
		await world.tick(21_000);
		expect(endReasons(tabs)).toEqual(['idle', 'idle']);

		expect(tabs.map(entry => entry.activity.size)).toEqual([1, 1]);
		world.closeAll();
		expect(tabs.map(entry => entry.activity.size)).toEqual([0, 0]);
	});

	it('without idleTimeout nothing listens for input and nothing ends an open session', async () => {
		world = createWorld({ttl: 600});
		const activity = activityDouble();
		const tab = world.openTab({activity: activity.port});
		await world.tick(1000);
		await tab.session.login(world.server.login());
		expect(activity.size).toBe(0);
		await world.tick(3 * 60 * 60_000);
		expect(tab.session.getState().status).toBe('authenticated');
	});
});

describe('idle options', () => {
	const make = (options: Partial<SessionOptions>) => () => initSession({refreshUrl: '/auth/refresh', locks: null, lifecycle: null, ...options});

	it.each([
		[{idleTimeout: 500}, 'idleTimeout', /at least 1000 ms/],
		[{idleTimeout: -1}, 'idleTimeout', /number of milliseconds/],
		[{idleTimeout: 60_000, idleWarning: 60_000}, 'idleWarning', /less than idleTimeout \(60000 ms\)/],
		[{idleWarning: 1000}, 'idleWarning', /needs `idleTimeout`/],
		[{idleTimeout: 60_000, activity: 'mouse' as unknown as ActivityPort}, 'activity', /must be a function/],
	])('%j is refused, naming %s', (options, option, message) => {
		expect(make(options)).toThrow(InvalidOptionsError);
		expect(make(options)).toThrow(message);
		try {
			make(options)();
		} catch (error) {
			expect((error as InvalidOptionsError).option).toBe(option);
		}
	});
});
