import type {Clock} from './clock.js';
import {PauseTimeoutError} from './errors.js';

interface Waiter {
	after: number;
	tolerant: boolean;
	resolve(): void;
	reject(error: unknown): void;
}

export interface WaitOptions {
	signal: AbortSignal;
	/** Epoch ms after which the wait rejects with `PauseTimeoutError`. */
	deadline: number;
	/** The bound reported in the timeout error. */
	pauseTimeout: number;
	/** Resolve (rather than reject) when the refresh fails: the current token is still usable. */
	tolerant: boolean;
}

/**
 * The pause gate: requests that wait for tokens newer than the ones they
 * hold, named by the record keeper's version. Every wait ends: new tokens,
 * a failure, the deadline or the caller's abort.
 */
export function createWaiters(clock: Clock) {
	const waiters = new Set<Waiter>();

	return {
		/** Resolves when tokens of a version above `after` arrive. */
		async wait(after: number, options: WaitOptions): Promise<void> {
			options.signal.throwIfAborted();
			const rest = options.deadline - clock.now();
			if (rest <= 0) {
				throw new PauseTimeoutError(options.pauseTimeout);
			}

			return new Promise<void>((resolve, reject) => {
				const finish = () => {
					waiters.delete(waiter);
					clock.clearTimeout(timer);
					options.signal.removeEventListener('abort', onAbort);
				};

				const waiter: Waiter = {
					after,
					tolerant: options.tolerant,
					resolve() {
						finish();
						resolve();
					},
					reject(error) {
						finish();
						reject(error);
					},
				};
				const onAbort = () => {
					waiter.reject(options.signal.reason);
				};

				const timer = clock.setTimeout(() => {
					waiter.reject(new PauseTimeoutError(options.pauseTimeout));
				}, rest);
				options.signal.addEventListener('abort', onAbort, {once: true});
				waiters.add(waiter);
			});
		},
		/** Tokens of `version` arrived. */
		settle(version: number) {
			for (const waiter of [...waiters]) {
				if (waiter.after < version) {
					waiter.resolve();
				}
			}
		},
		/** The refresh of the current tokens failed. */
		fail(error: unknown, tokenUsable: boolean) {
			for (const waiter of [...waiters]) {
				if (waiter.tolerant && tokenUsable) {
					waiter.resolve();
				} else {
					waiter.reject(error);
				}
			}
		},
		/** A refresh was abandoned: waiters whose token is still good go ahead with it. */
		release() {
			for (const waiter of [...waiters]) {
				if (waiter.tolerant) {
					waiter.resolve();
				}
			}
		},
		rejectAll(error: unknown) {
			for (const waiter of [...waiters]) {
				waiter.reject(error);
			}
		},
		get size() {
			return waiters.size;
		},
	};
}

export type Waiters = ReturnType<typeof createWaiters>;
