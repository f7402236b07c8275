import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {createTabChannel, guardedNativeMethod, type TabChannel} from '../../src/channel.js';
import {UnsupportedError} from '../../src/errors.js';
import {parseMessage} from '../../src/protocol.js';
import {createHub} from '../support/hub.js';

type NativeState = Parameters<typeof guardedNativeMethod.close>[0];
// The guarded method creates its state synchronously.
const createState = (name: string) => guardedNativeMethod.create(name, {}) as NativeState;

let counter = 0;
const channelName = () => `tab-session-test:channel:${++counter}:${Math.random().toString(36).slice(2)}`;

/** A stand-in for the global BroadcastChannel that lets a test deliver any event. */
class FakeBroadcastChannel {
	static instances: FakeBroadcastChannel[] = [];
	onmessage: ((event: MessageEvent) => void) | null = null;
	posted: unknown[] = [];
	closed = false;
	constructor(readonly name: string) {
		FakeBroadcastChannel.instances.push(this);
	}

	postMessage(data: unknown) {
		this.posted.push(data);
	}

	close() {
		this.closed = true;
	}

	deliver(data: unknown) {
		this.onmessage?.({data} as MessageEvent);
	}
}

describe('guardedNativeMethod', () => {
	beforeEach(() => {
		FakeBroadcastChannel.instances = [];
		vi.stubGlobal('BroadcastChannel', FakeBroadcastChannel);
	});

	afterEach(() => {
		vi.unstubAllGlobals();
	});

	const setup = () => {
		const name = channelName();
		const state = createState(name);
		const callback = vi.fn();
		guardedNativeMethod.onMessage(state, callback);
		const native = FakeBroadcastChannel.instances.at(-1)!;
		expect(native.name).toBe(name);
		return {state, callback, native};
	};

	const dropped: Array<[string, unknown]> = [
		['null', null],
		['undefined', undefined],
		['a string', 'hello'],
		['a number', 42],
		['an object without time', {type: 'message', data: {}}],
		['an object with a string time', {type: 'message', time: '123', data: {}}],
		['an object without type', {time: 1, data: {}}],
		['an unknown type', {type: 'evil', time: 1, data: {}}],
		['an internal frame with null data', {type: 'internal', time: 1, data: null}],
		['an internal frame with string data', {type: 'internal', time: 1, data: 'apply'}],
		['an internal frame without data', {type: 'internal', time: 1}],
	];
	for (const [label, frame] of dropped) {
		it(`drops ${label}`, () => {
			const {state, callback, native} = setup();
			native.deliver(frame);
			expect(callback).not.toHaveBeenCalled();
			guardedNativeMethod.close(state);
		});
	}

	const passed: Array<[string, unknown]> = [
		['a message frame', {type: 'message', time: 1_700_000_000_000_000, data: {v: 1, from: 'a', kind: 'hello'}}],
		['a message frame with null data (the protocol parser drops it later)', {type: 'message', time: 1, data: null}],
		['an internal frame with object data', {type: 'internal', time: 1, data: {context: 'leader', action: 'tell', token: 'x'}}],
	];
	for (const [label, frame] of passed) {
		it(`passes ${label}`, () => {
			const {state, callback, native} = setup();
			native.deliver(frame);
			expect(callback).toHaveBeenCalledTimes(1);
			expect(callback).toHaveBeenCalledWith(frame);
			guardedNativeMethod.close(state);
		});
	}

	it('delivers nothing before onMessage and nothing after close', () => {
		const name = channelName();
		const state = createState(name);
		const native = FakeBroadcastChannel.instances.at(-1)!;
		const frame = {type: 'message', time: 1, data: {}};
		expect(() => {
			native.deliver(frame);
		}).not.toThrow();
		const callback = vi.fn();
		guardedNativeMethod.onMessage(state, callback);
		guardedNativeMethod.close(state);
		expect(native.closed).toBe(true);
		native.deliver(frame);
		expect(callback).not.toHaveBeenCalled();
	});

	it('posts frames to the native channel', async () => {
		const {state, native} = setup();
		const frame = {type: 'message', time: 1, data: {x: 1}};
		await guardedNativeMethod.postMessage(state, frame);
		expect(native.posted).toEqual([frame]);
		guardedNativeMethod.close(state);
	});

	it('can be used only where BroadcastChannel exists', () => {
		expect(guardedNativeMethod.canBeUsed()).toBe(true);
		vi.stubGlobal('BroadcastChannel', undefined);
		expect(guardedNativeMethod.canBeUsed()).toBe(false);
	});

	it('gives strictly increasing microsecond times', () => {
		const times = Array.from({length: 100}, () => guardedNativeMethod.microSeconds());
		for (let index = 1; index < times.length; index++) {
			expect(times[index]!).toBeGreaterThan(times[index - 1]!);
		}

		expect(Math.abs((times[0]! / 1000) - Date.now())).toBeLessThan(5000);
	});
});

describe('guardedNativeMethod over Node\'s real BroadcastChannel', () => {
	it('drops hostile frames and delivers the well-formed one that follows them', async () => {
		const name = channelName();
		const state = createState(name);
		const sender = new BroadcastChannel(name);
		try {
			const received: unknown[] = [];
			const good = {type: 'message', time: 1, data: {v: 1, from: 'tab', kind: 'hello'}};
			const arrived = new Promise<void>(resolve => {
				guardedNativeMethod.onMessage(state, frame => {
					received.push(frame);
					if ((frame as {data?: {kind?: string}}).data?.kind === 'hello') {
						resolve();
					}
				});
			});
			// One sender's messages arrive in order: by the time `good` arrives the others were handled.
			for (const frame of [null, 'x', {type: 'message'}, {type: 'internal', time: 1, data: null}, good]) {
				sender.postMessage(frame);
			}

			await arrived;
			expect(received).toEqual([good]);
		} finally {
			sender.close();
			guardedNativeMethod.close(state);
		}
	});
});

describe('createTabChannel', () => {
	const opened: TabChannel[] = [];

	beforeEach(() => {
		vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
	});

	afterEach(async () => {
		for (const channel of opened.splice(0)) {
			channel.close();
		}

		await vi.advanceTimersByTimeAsync(100);
		vi.useRealTimers();
	});

	function openTabs(count: number, hub = createHub(), name = channelName()) {
		const tabs = Array.from({length: count}, (_, index) => {
			const onMessage = vi.fn();
			const channel = createTabChannel({name, tabId: `tab-${index}`, method: hub.method});
			channel.listen(onMessage);
			opened.push(channel);
			return {channel, onMessage};
		});
		return {hub, tabs, name};
	}

	it('delivers posted bodies to the other tabs, in the protocol envelope, not to itself', async () => {
		const {tabs} = openTabs(3);
		const of = {epoch: 1, session: 's', generation: 4};
		tabs[0]!.channel.post({kind: 'refreshing', of});
		await vi.advanceTimersByTimeAsync(50);
		expect(tabs[0]!.onMessage).not.toHaveBeenCalled();
		for (const tab of tabs.slice(1)) {
			expect(tab.onMessage).toHaveBeenCalledTimes(1);
			const data = tab.onMessage.mock.calls[0]![0] as unknown;
			expect(data).toEqual({v: 2, from: 'tab-0', kind: 'refreshing', of});
			expect(parseMessage(data)).toEqual(data);
		}
	});

	it('does not deliver across channel names', async () => {
		const hub = createHub();
		const a = openTabs(1, hub);
		const b = openTabs(1, hub);
		a.tabs[0]!.channel.post({kind: 'hello'});
		await vi.advanceTimersByTimeAsync(50);
		expect(b.tabs[0]!.onMessage).not.toHaveBeenCalled();
	});

	it('passes injected junk to the listener without throwing (parsing is the session\'s job)', async () => {
		const {hub, tabs, name} = openTabs(2);
		hub.inject(name, {type: 'message', time: Date.now() * 1000 * 2, data: 'junk'});
		await vi.advanceTimersByTimeAsync(50);
		for (const tab of tabs) {
			expect(tab.onMessage).toHaveBeenCalledWith('junk');
			expect(parseMessage(tab.onMessage.mock.calls[0]![0])).toBeUndefined();
		}
	});

	it('post() after close() does nothing and does not throw; close() twice is safe', async () => {
		const {hub, tabs} = openTabs(2);
		await vi.advanceTimersByTimeAsync(1000);
		const [first, second] = tabs;
		first!.channel.close();
		await vi.advanceTimersByTimeAsync(100);
		const delivered = hub.delivered;
		second!.onMessage.mockClear();
		expect(() => {
			first!.channel.post({kind: 'hello'});
		}).not.toThrow();
		expect(() => {
			first!.channel.close();
		}).not.toThrow();
		await vi.advanceTimersByTimeAsync(100);
		expect(hub.delivered).toBe(delivered);
		expect(second!.onMessage).not.toHaveBeenCalled();
	});

	it('post() right after close(), before the close settles, does not throw', async () => {
		const {tabs} = openTabs(1);
		tabs[0]!.channel.close();
		expect(() => {
			tabs[0]!.channel.post({kind: 'refresh-request', of: {epoch: 1, session: 's', generation: 1}});
		}).not.toThrow();
		await vi.advanceTimersByTimeAsync(100);
	});

	it('delivers nothing after close, and frees its hub state', async () => {
		const {hub, tabs, name} = openTabs(2);
		for (const tab of tabs) {
			tab.channel.close();
		}

		hub.inject(name, {type: 'message', time: Date.now() * 1000 * 2, data: 'late'});
		await vi.advanceTimersByTimeAsync(5000);
		for (const tab of tabs) {
			expect(tab.onMessage).not.toHaveBeenCalled();
		}

		expect(hub.open).toBe(0);
	});

	it('throws a typed UnsupportedError where there is no BroadcastChannel and no method was given', () => {
		vi.stubGlobal('BroadcastChannel', undefined);
		try {
			expect(() => createTabChannel({name: channelName(), tabId: 'tab-x', method: undefined})).toThrow(UnsupportedError);
			expect(() => createTabChannel({name: channelName(), tabId: 'tab-x', method: undefined})).toThrow(/no BroadcastChannel/);
		} finally {
			vi.unstubAllGlobals();
		}
	});
});
