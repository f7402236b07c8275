// @vitest-environment node
import {describe, expect, it, vi} from 'vitest';
import {systemClock} from '../../src/clock.js';
import {LockWaitTimeout, withLock, type LockManagerLike} from '../../src/locks.js';
import {createLockManager} from '../support/locks.js';

let counter = 0;
const lockName = () => `tab-session-test:lock:${++counter}`;

/** A wait of a minute at most, on the real clock. */
const wait = (signal: AbortSignal = new AbortController().signal, timeout = 60_000) => ({signal, timeout, clock: systemClock});

function deferred<T = void>() {
	let resolve!: (value: T) => void;
	let reject!: (error: unknown) => void;
	const promise = new Promise<T>((yes, no) => {
		resolve = yes;
		reject = no;
	});
	return {promise, resolve, reject};
}

describe('withLock without a lock manager', () => {
	it('runs the task at once with contended=false and returns its value', async () => {
		const task = vi.fn(async (contended: boolean) => `ran:${String(contended)}`);
		await expect(withLock(null, lockName(), wait(), task)).resolves.toBe('ran:false');
		expect(task).toHaveBeenCalledTimes(1);
	});

	it('passes the task error through', async () => {
		const error = new Error('task broke');
		await expect(withLock(null, lockName(), wait(), async () => {
			throw error;
		})).rejects.toBe(error);
	});
});

describe('withLock with a lock manager', () => {
	it('runs an uncontended task with contended=false under the lock', async () => {
		const locks = createLockManager();
		const name = lockName();
		let heldDuringTask = false;
		const result = await withLock(locks.manager, name, wait(), async contended => {
			heldDuringTask = locks.isHeld(name);
			return contended;
		});
		expect(result).toBe(false);
		expect(heldDuringTask).toBe(true);
		expect(locks.isHeld(name)).toBe(false);
	});

	it('never overlaps two concurrent calls, and the second sees contended=true', async () => {
		const locks = createLockManager();
		const name = lockName();
		const events: string[] = [];
		const releaseFirst = deferred();
		let running = 0;
		let maxRunning = 0;
		const task = (label: string, gate?: Promise<void>) => async (contended: boolean) => {
			running++;
			maxRunning = Math.max(maxRunning, running);
			events.push(`${label} start contended=${String(contended)}`);
			await gate;
			events.push(`${label} end`);
			running--;
			return label;
		};

				const first = withLock(locks.manager, name, wait(), task('first', releaseFirst.promise));
		const second = withLock(locks.manager, name, wait(), task('second'));
		// Let everything that can run, run.
		for (let index = 0; index < 20; index++) {
			await Promise.resolve();
		}

		expect(events).toEqual(['first start contended=false']);
		releaseFirst.resolve();
		await expect(first).resolves.toBe('first');
		await expect(second).resolves.toBe('second');
		expect(events).toEqual(['first start contended=false', 'first end', 'second start contended=true', 'second end']);
		expect(maxRunning).toBe(1);
		expect(locks.maxHeld).toBe(1);
	});

	it('keeps locks of different names independent', async () => {
		const locks = createLockManager();
		const hold = deferred();
		const a = withLock(locks.manager, lockName(), wait(), async contended => {
			await hold.promise;
			return contended;
		});
		const b = withLock(locks.manager, lockName(), wait(), async contended => contended);
		await expect(b).resolves.toBe(false);
		hold.resolve();
		await expect(a).resolves.toBe(false);
	});

	it('rejects a queued call when its signal aborts, without running its task', async () => {
		const locks = createLockManager();
		const name = lockName();
		const hold = deferred();
		const first = withLock(locks.manager, name, wait(), async () => hold.promise);
		const controller = new AbortController();
		const queuedTask = vi.fn(async () => 'should not run');
		const queued = withLock(locks.manager, name, wait(controller.signal), queuedTask);
		const rejection = expect(queued).rejects.toBe('cancelled');
		await Promise.resolve();
		controller.abort('cancelled');
		await rejection;
		hold.resolve();
		await first;
		expect(queuedTask).not.toHaveBeenCalled();
		expect(locks.isHeld(name)).toBe(false);
	});

	it('rejects without queueing when the signal is already aborted and the lock is taken', async () => {
		const locks = createLockManager();
		const name = lockName();
		const hold = deferred();
		const first = withLock(locks.manager, name, wait(), async () => hold.promise);
		const controller = new AbortController();
		controller.abort('gone');
		const task = vi.fn(async () => 1);
		await expect(withLock(locks.manager, name, wait(controller.signal), task)).rejects.toBe('gone');
		expect(task).not.toHaveBeenCalled();
		hold.resolve();
		await first;
	});

	it('asks first with ifAvailable (no signal), then waits with the signal', async () => {
		const calls: Array<{ifAvailable?: boolean; signal?: AbortSignal}> = [];
		const manager: LockManagerLike = {
			async request(_name, options, callback) {
				calls.push(options);
				// First ask: the lock is taken. Second ask: granted.
				return callback(options.ifAvailable ? null : {name: _name});
			},
		};
		const controller = new AbortController();
		await expect(withLock(manager, lockName(), wait(controller.signal), async contended => contended)).resolves.toBe(true);
		expect(calls).toHaveLength(2);
		expect(calls[0]).toEqual({ifAvailable: true});
		expect(calls[1]!.signal).toBeInstanceOf(AbortSignal);
		expect(calls[1]!.ifAvailable).toBeUndefined();
	});

	it('gives up a wait that outlasts its bound with LockWaitTimeout, and leaves the queue', async () => {
		vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date']});
		try {
			const locks = createLockManager();
			const name = lockName();
			const hold = deferred();
			const first = withLock(locks.manager, name, wait(), async () => hold.promise);
			const task = vi.fn(async () => 'should not run');
			const queued = withLock(locks.manager, name, wait(undefined, 5000), task);
			const rejection = expect(queued).rejects.toBeInstanceOf(LockWaitTimeout);
			await vi.advanceTimersByTimeAsync(5000);
			await rejection;
			hold.resolve();
			await first;
			expect(task).not.toHaveBeenCalled();
			expect(locks.isHeld(name)).toBe(false);
		} finally {
			vi.useRealTimers();
		}
	});

	it('leaves no listener on the caller\'s signal once granted, and a later abort does not stop the task', async () => {
		const locks = createLockManager();
		const name = lockName();
		const hold = deferred();
		const first = withLock(locks.manager, name, wait(), async () => hold.promise);
		const controller = new AbortController();
		const add = vi.spyOn(controller.signal, 'addEventListener');
		const remove = vi.spyOn(controller.signal, 'removeEventListener');
		const release = deferred();
		const queued = withLock(locks.manager, name, wait(controller.signal), async () => {
			await release.promise;
			return 'done';
		});
		hold.resolve();
		await first;
		await vi.waitFor(() => {
			expect(locks.isHeld(name)).toBe(true);
		});
		expect(remove).toHaveBeenCalledTimes(add.mock.calls.length);
		controller.abort('late');
		release.resolve();
		await expect(queued).resolves.toBe('done');
	});

	it('releases the lock when the task throws', async () => {
		const locks = createLockManager();
		const name = lockName();
		const error = new Error('refresh blew up');
		await expect(withLock(locks.manager, name, wait(), async () => {
			throw error;
		})).rejects.toBe(error);
		expect(locks.isHeld(name)).toBe(false);
		await expect(withLock(locks.manager, name, wait(), async contended => contended)).resolves.toBe(false);
	});
});
