import type {Clock} from './clock.js';
import {PauseTimeoutError, type SessionError} from './errors.js';

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
 * The pause gate: requests that wait for tokens newer than a generation.
 * Every wait ends: new tokens, an outcome, the deadline or the caller's abort.
 */
export function createWaiters(clock: Clock) {
	const waiters = new Set<Waiter>();

	return {
		/** Resolves when tokens newer than `after` arrive. */
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
		/** Tokens of `generation` arrived. */
		settle(generation: number) {
			for (const waiter of [...waiters]) {
				if (waiter.after < generation) {
					waiter.resolve();
				}
			}
		},
		/** The refresh from `generation` failed or was abandoned. */
		fail(generation: number, error: SessionError, tokenUsable: boolean) {
			for (const waiter of [...waiters]) {
				if (waiter.after <= generation) {
					if (waiter.tolerant && tokenUsable) {
						waiter.resolve();
					} else {
						waiter.reject(error);
					}
				}
			}
		},
		/** Releases tolerant waiters whose token is still good (a refresh was abandoned). */
		release(generation: number) {
			for (const waiter of [...waiters]) {
				if (waiter.tolerant && waiter.after <= generation) {
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
