// @vitest-environment node
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {createTabChannel, type TabChannel} from '../../src/channel.js';
import {UnsupportedError} from '../../src/errors.js';
import {parseMessage} from '../../src/protocol.js';
import {createHub} from '../support/hub.js';

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

describe('createTabChannel over the browser\'s BroadcastChannel', () => {
	beforeEach(() => {
		FakeBroadcastChannel.instances = [];
		vi.stubGlobal('BroadcastChannel', FakeBroadcastChannel);
	});

	afterEach(() => {
		vi.unstubAllGlobals();
	});

	it('posts the protocol envelope, in order, and hands on whatever arrives, hostile or not (the session parses it)', async () => {
		const name = channelName();
		const channel = createTabChannel({name, tabId: 'tab-a', method: undefined});
		const received: unknown[] = [];
		channel.listen(data => received.push(data));
		const native = FakeBroadcastChannel.instances.at(-1)!;
		expect(native.name).toBe(name);
		channel.post({kind: 'hello'});
		channel.post({kind: 'claim'});
		await vi.waitFor(() => {
			expect(native.posted).toEqual([{v: 2, from: 'tab-a', kind: 'hello'}, {v: 2, from: 'tab-a', kind: 'claim'}]);
		});
		for (const data of [null, undefined, 'x', 42, {type: 'message', time: 1, data: {}}, {v: 2, from: 'b', kind: 'hello'}]) {
			expect(() => {
				native.deliver(data);
			}).not.toThrow();
		}

		expect(received).toEqual([null, undefined, 'x', 42, {type: 'message', time: 1, data: {}}, {v: 2, from: 'b', kind: 'hello'}]);
		expect(received.map(parseMessage).filter(Boolean)).toEqual([{v: 2, from: 'b', kind: 'hello'}]);
		channel.close();
	});

	it('closes the native channel after what was posted before, and delivers nothing after close', async () => {
		const channel = createTabChannel({name: channelName(), tabId: 'tab-a', method: undefined});
		const listener = vi.fn();
		channel.listen(listener);
		const native = FakeBroadcastChannel.instances.at(-1)!;
		channel.post({kind: 'hello'});
		channel.close();
		native.deliver({v: 2, from: 'b', kind: 'hello'});
		await vi.waitFor(() => {
			expect(native.closed).toBe(true);
		});
		expect(native.posted).toHaveLength(1);
		expect(native.onmessage).toBeNull();
		expect(listener).not.toHaveBeenCalled();
	});
});

describe('createTabChannel over Node\'s real BroadcastChannel', () => {
	it('delivers to the other channel of the name, not to itself', async () => {
		const name = channelName();
		const a = createTabChannel({name, tabId: 'tab-a', method: undefined});
		const b = createTabChannel({name, tabId: 'tab-b', method: undefined});
		const toA = vi.fn();
		const toB = vi.fn();
		a.listen(toA);
		b.listen(toB);
		try {
			a.post({kind: 'hello'});
			await vi.waitFor(() => {
				expect(toB).toHaveBeenCalledWith({v: 2, from: 'tab-a', kind: 'hello'});
			});
			expect(toA).not.toHaveBeenCalled();
		} finally {
			a.close();
			b.close();
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
		hub.inject(name, 'junk');
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

		hub.inject(name, 'late');
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
