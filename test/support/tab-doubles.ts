import {vi} from 'vitest';
import type {ChannelMethod, LifecycleEvent, LifecyclePort} from '../../src/index.js';

/** A lifecycle port a test fires events into, one per tab. */
export function createLifecycle() {
	const listeners = new Set<(event: LifecycleEvent) => void>();
	const port: LifecyclePort = listener => {
		listeners.add(listener);
		return () => {
			listeners.delete(listener);
		};
	};

	return {
		port,
		fire(event: LifecycleEvent) {
			for (const listener of [...listeners]) {
				listener(event);
			}
		},
		/** Subscribers right now: 0 once the session closed. */
		get size() {
			return listeners.size;
		},
	};
}

/**
 * Wraps a channel method so that a tab can go deaf: messages sent
 * to it are dropped, not queued (Safari drops messages to a page in its
 * back/forward cache), while what it posts still goes out.
 */
export function deafenable(method: ChannelMethod) {
	let deaf = false;
	const wrapped: ChannelMethod = {
		...method,
		onMessage(state, callback) {
			method.onMessage(state, (data: unknown) => {
				if (!deaf) {
					callback(data);
				}
			});
		},
	};
	return {
		method: wrapped,
		set deaf(value: boolean) {
			deaf = value;
		},
	};
}

/** Runs `open` with the next random tab id made of `byte`: among tabs claiming leadership at once, the highest id wins. */
export function withTabId<T>(byte: number, open: () => T): T {
	const spy = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementationOnce(<A extends ArrayBufferView | null>(array: A): A => {
		new Uint8Array(array!.buffer).fill(byte);
		return array;
	});
	try {
		return open();
	} finally {
		spy.mockRestore();
	}
}
