/**
 * Time as the session sees it: the wall clock and one-shot timers. The
 * default wraps the globals at call time, so fake timers installed after
 * `initSession` still apply; a test can hand each tab a clock of its own.
 */
export interface Clock {
	/** Epoch milliseconds. */
	now(): number;
	setTimeout(callback: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
	now: () => Date.now(),
	setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
	clearTimeout(handle) {
		globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
	},
};

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export async function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
	signal.throwIfAborted();
	return new Promise((resolve, reject) => {
		const onAbort = () => {
			clock.clearTimeout(timer);
			reject(signal.reason);
		};

		const timer = clock.setTimeout(() => {
			signal.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal.addEventListener('abort', onAbort, {once: true});
	});
}
