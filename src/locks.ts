import {linkSignals} from './abort.js';
import type {Clock} from './clock.js';

/** The part of the Web Locks API (`navigator.locks`) tab-session uses. */
export interface LockManagerLike {
	request<T>(
		name: string,
		options: {signal?: AbortSignal; ifAvailable?: boolean},
		callback: (lock: unknown) => Promise<T> | T,
	): Promise<T>;
}

/** The lock stayed held by another tab for the whole wait. */
export class LockWaitTimeout extends Error {
	constructor(readonly waited: number) {
		super(`the lock stayed held by another tab for ${waited} ms`);
		this.name = 'LockWaitTimeout';
	}
}

export interface LockWait {
	signal: AbortSignal;
	/** The longest wait for a lock another tab holds (ms); then `LockWaitTimeout`. */
	timeout: number;
	clock: Clock;
}

/**
 * Runs `task` while holding the cross-tab lock `name`. `contended` tells the
 * task that another tab held the lock first: that tab was refreshing, so its
 * tokens may be on their way. Without a lock manager the task runs at once.
 * A wait is bounded: a frozen tab keeps its locks while it runs no code.
 */
export async function withLock<T>(
	locks: LockManagerLike | null,
	name: string,
	wait: LockWait,
	task: (contended: boolean) => Promise<T>,
): Promise<T> {
	if (!locks) {
		return task(false);
	}

	// `ifAvailable` answers at once, so it needs no signal (the two cannot be combined).
	const uncontended = await locks.request(name, {ifAvailable: true}, async lock =>
		lock ? {value: await task(false)} : undefined);
	if (uncontended) {
		return uncontended.value;
	}

	wait.signal.throwIfAborted();
	const timeout = new AbortController();
	const timer = wait.clock.setTimeout(() => {
		timeout.abort(new LockWaitTimeout(wait.timeout));
	}, wait.timeout);
	const linked = linkSignals([wait.signal, timeout.signal]);
	try {
		return await locks.request(name, {signal: linked.signal}, async () => {
			// Granted: from here on only the caller's signal may stop the task.
			wait.clock.clearTimeout(timer);
			linked.dispose();
			return task(true);
		});
	} catch (error) {
		throw timeout.signal.aborted && !wait.signal.aborted ? timeout.signal.reason as LockWaitTimeout : error;
	} finally {
		wait.clock.clearTimeout(timer);
		linked.dispose();
	}
}
