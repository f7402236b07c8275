/** The part of the Web Locks API (`navigator.locks`) tab-session uses. */
export interface LockManagerLike {
	request<T>(
		name: string,
		options: {signal?: AbortSignal; ifAvailable?: boolean},
		callback: (lock: unknown) => Promise<T> | T,
	): Promise<T>;
}

/**
 * Runs `task` while holding the cross-tab lock `name`. `contended` tells the
 * task that another tab held the lock first: that tab was refreshing, so its
 * tokens may be on their way. Without a lock manager the task runs at once.
 */
export async function withLock<T>(
	locks: LockManagerLike | null,
	name: string,
	signal: AbortSignal,
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

	signal.throwIfAborted();
	return locks.request(name, {signal}, async () => task(true));
}
