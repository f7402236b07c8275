import {UnsupportedError} from './errors.js';
import {protocolVersion, type MessageBody} from './protocol.js';

/**
 * A transport between the tabs of one origin, in the shape of a
 * broadcast-channel method (so one of those works too): a state per
 * channel name, messages to every other state of that name, never to the
 * sender. `create` may return a promise; messages posted meanwhile wait.
 */
export interface ChannelMethod<State = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
	/** `options` is always `{}`: it is there for broadcast-channel's methods, which take theirs. */
	create(name: string, options: object): State | Promise<State>;
	onMessage(state: State, listener: (data: unknown) => void): void;
	postMessage(state: State, data: unknown): unknown;
	close(state: State): unknown;
}

/** The browser's BroadcastChannel. */
export const nativeMethod: ChannelMethod<BroadcastChannel> = {
	create: name => new globalThis.BroadcastChannel(name),
	onMessage(channel, listener) {
		channel.onmessage = event => {
			listener(event.data);
		};
	},
	postMessage(channel, data) {
		channel.postMessage(data);
	},
	close(channel) {
		channel.onmessage = null;
		channel.close();
	},
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
	method: ChannelMethod | undefined;
}

/**
 * The namespace's channel. Without an app-supplied method it needs the
 * browser's BroadcastChannel; where that is missing (Safari before 15.4)
 * tabs cannot coordinate, and an `UnsupportedError` says so rather than
 * letting each tab refresh on its own. What arrives is handed on as it is:
 * any same-origin script can post on the name, so the session parses it.
 */
export function createTabChannel(options: TabChannelOptions): TabChannel {
	if (!options.method && typeof globalThis.BroadcastChannel !== 'function') {
		throw new UnsupportedError('BroadcastChannel', 'tabs cannot coordinate their refreshes without it; pass `broadcastMethod` to supply a transport');
	}

	const method = options.method ?? nativeMethod;
	let closed = false;
	let listener: ((data: unknown) => void) | undefined;
	const created = Promise.resolve(method.create(options.name, {}));
	// One queue for posting and closing keeps the messages of a tab in order.
	let queue: Promise<unknown> = created.then(state => {
		method.onMessage(state, data => {
			if (!closed) {
				listener?.(data);
			}
		});
	});
	const then = (step: (state: unknown) => unknown) => {
		queue = queue.then(async () => step(await created)).catch(() => undefined);
	};

	return {
		post(body) {
			if (!closed) {
				const message = {v: protocolVersion, from: options.tabId, ...body};
				// Not awaited: a transport that resolves on delivery must not hold up the next message.
				then(state => {
					void Promise.resolve(method.postMessage(state, message)).catch(() => undefined);
				});
			}
		},
		listen(next) {
			listener = next;
		},
		close() {
			if (!closed) {
				closed = true;
				then(async state => method.close(state));
			}
		},
	};
}
