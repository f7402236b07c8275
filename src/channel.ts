import {BroadcastChannel, createLeaderElection, type BroadcastMethod, type LeaderElector} from 'broadcast-channel';
import {protocolVersion, type MessageBody} from './protocol.js';

interface NativeState {
	channel: globalThis.BroadcastChannel;
	callback: ((frame: unknown) => void) | null;
}

/**
 * broadcast-channel's frames are `{type: 'message' | 'internal', time, data}`.
 * Its stock native method passes anything through, and one `null` or string
 * posted by another same-origin script then throws in every tab. This method
 * drops frames of any other shape before broadcast-channel sees them.
 */
const isFrame = (frame: unknown): boolean => {
	if (typeof frame !== 'object' || frame === null) {
		return false;
	}

	const {type, time, data} = frame as Record<string, unknown>;
	if (typeof time !== 'number') {
		return false;
	}

	// The leader elector reads fields of internal frames without checking them.
	return type === 'message' || (type === 'internal' && typeof data === 'object' && data !== null);
};

let lastMicroseconds = 0;
const microSeconds = () => {
	// Strictly increasing: broadcast-channel drops frames older than a listener.
	lastMicroseconds = Math.max(Date.now() * 1000, lastMicroseconds + 1);
	return lastMicroseconds;
};

export const guardedNativeMethod: BroadcastMethod<NativeState> = {
	// The type names the Web Lock of the leader election, shared with stock 'native' users of the same channel.
	type: 'native',
	microSeconds,
	create(channelName) {
		const state: NativeState = {channel: new globalThis.BroadcastChannel(channelName), callback: null};
		state.channel.onmessage = (event: MessageEvent) => {
			if (state.callback && isFrame(event.data)) {
				state.callback(event.data);
			}
		};

		return state;
	},
	close(state) {
		state.callback = null;
		state.channel.close();
	},
	onMessage(state, callback) {
		state.callback = callback;
	},
	async postMessage(state, frame) {
		state.channel.postMessage(frame);
	},
	canBeUsed: () => typeof globalThis.BroadcastChannel === 'function',
	averageResponseTime: () => 150,
};

export interface TabChannel {
	/** Sends to every other tab of the namespace; silently dropped once closed. */
	post(body: MessageBody): void;
	close(): void;
}

export interface TabChannelOptions {
	name: string;
	tabId: string;
	method: BroadcastMethod | undefined;
	onMessage(data: unknown): void;
	onLeadership(isLeader: boolean): void;
}

/**
 * One broadcast-channel for the protocol and the leader election. Every tab
 * competes for leadership from the start; when the message-based elector
 * (browsers without Web Locks) finds two leaders, both step down and elect
 * again on a fresh channel, as broadcast-channel recommends.
 */
export function createTabChannel(options: TabChannelOptions): TabChannel {
	let closed = false;
	let channel: BroadcastChannel;
	let elector: LeaderElector;

	const open = () => {
		const current = new BroadcastChannel(options.name, {
			methods: options.method ?? guardedNativeMethod,
			webWorkerSupport: false,
		});
		const currentElector = createLeaderElection(current);
		channel = current;
		elector = currentElector;
		current.onmessage = data => {
			options.onMessage(data);
		};

		currentElector.onduplicate = () => {
			if (closed || elector !== currentElector) {
				return;
			}

			options.onLeadership(false);
			open();
			void currentElector.die().catch(() => undefined);
			void current.close().catch(() => undefined);
		};

		currentElector.awaitLeadership().then(() => {
			if (!closed && elector === currentElector && currentElector.isLeader) {
				options.onLeadership(true);
			}
		}, () => undefined);
	};

	open();
	return {
		post(body) {
			if (closed || channel.isClosed) {
				return;
			}

			channel.postMessage({v: protocolVersion, from: options.tabId, ...body}).catch(() => undefined);
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			void elector.die().catch(() => undefined);
			void channel.close().catch(() => undefined);
		},
	};
}
