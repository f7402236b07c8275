import {BroadcastChannel, type BroadcastMethod} from 'broadcast-channel';
import {UnsupportedError} from './errors.js';
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
	/** Where incoming data goes (parsing is the session's job); one listener. */
	listen(listener: (data: unknown) => void): void;
	close(): void;
}

export interface TabChannelOptions {
	name: string;
	tabId: string;
	method: BroadcastMethod | undefined;
}

/**
 * The namespace's broadcast-channel. Without an app-supplied method it needs
 * the browser's BroadcastChannel; where that is missing (Safari before 15.4)
 * tabs cannot coordinate, and an `UnsupportedError` says so rather than
 * letting each tab refresh on its own.
 */
export function createTabChannel(options: TabChannelOptions): TabChannel {
	if (!options.method && !guardedNativeMethod.canBeUsed()) {
		throw new UnsupportedError('BroadcastChannel', 'tabs cannot coordinate their refreshes without it; pass `broadcastMethod` to supply a transport');
	}

	let closed = false;
	let listener: ((data: unknown) => void) | undefined;
	const channel = new BroadcastChannel(options.name, {
		methods: options.method ?? guardedNativeMethod,
		webWorkerSupport: false,
	});
	channel.onmessage = data => {
		if (!closed) {
			listener?.(data);
		}
	};

	return {
		post(body) {
			if (closed || channel.isClosed) {
				return;
			}

			channel.postMessage({v: protocolVersion, from: options.tabId, ...body}).catch(() => undefined);
		},
		listen(next) {
			listener = next;
		},
		close() {
			if (!closed) {
				closed = true;
				void channel.close().catch(() => undefined);
			}
		},
	};
}
