// @vitest-environment node
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {systemClock} from '../../src/clock.js';
import {LoggedOutError, PauseTimeoutError, RefreshFailedError} from '../../src/errors.js';
import {createWaiters, type WaitOptions} from '../../src/waiters.js';

const t0 = 1_700_000_000_000;

beforeEach(() => {
	vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
	vi.setSystemTime(t0);
});

afterEach(() => {
	vi.useRealTimers();
});

type Outcome = {state: 'pending'} | {state: 'resolved'} | {state: 'rejected'; error: unknown};

/** Starts a wait and records how it ends, without leaving an unhandled rejection. */
function track(promise: Promise<void>) {
	let outcome: Outcome = {state: 'pending'};
	promise.then(() => {
		outcome = {state: 'resolved'};
	}, (error: unknown) => {
		outcome = {state: 'rejected', error};
	});
	return {get outcome() {
		return outcome;
	}};
}

function setup() {
	const waiters = createWaiters(systemClock);
	const controller = new AbortController();
	const options = (extra: Partial<WaitOptions> = {}): WaitOptions => ({
		signal: controller.signal,
		deadline: Date.now() + 10_000,
		pauseTimeout: 10_000,
		tolerant: false,
		...extra,
	});
	return {waiters, controller, options};
}

const flush = async () => vi.advanceTimersByTimeAsync(0);

describe('settle', () => {
	it('resolves only waiters that wait for an older version', async () => {
		const {waiters, options} = setup();
		const older = track(waiters.wait(2, options()));
		const same = track(waiters.wait(3, options()));
		const newer = track(waiters.wait(4, options()));
		expect(waiters.size).toBe(3);
		waiters.settle(3);
		await flush();
		expect(older.outcome.state).toBe('resolved');
		expect(same.outcome.state).toBe('pending');
		expect(newer.outcome.state).toBe('pending');
		expect(waiters.size).toBe(2);
		waiters.settle(5);
		await flush();
		expect(same.outcome.state).toBe('resolved');
		expect(newer.outcome.state).toBe('resolved');
		expect(waiters.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('fail', () => {
	it('rejects every non-tolerant waiter with the error', async () => {
		const {waiters, options} = setup();
		const error = new RefreshFailedError('down', 503);
		const first = track(waiters.wait(3, options()));
		const second = track(waiters.wait(3, options()));
		waiters.fail(error, true);
		await flush();
		expect(first.outcome).toEqual({state: 'rejected', error});
		expect(second.outcome).toEqual({state: 'rejected', error});
		expect(waiters.size).toBe(0);
	});

	it('resolves tolerant waiters when the token is still usable', async () => {
		const {waiters, options} = setup();
		const tolerant = track(waiters.wait(3, options({tolerant: true})));
		const strict = track(waiters.wait(3, options()));
		waiters.fail(new RefreshFailedError('down', 500), true);
		await flush();
		expect(tolerant.outcome.state).toBe('resolved');
		expect(strict.outcome.state).toBe('rejected');
		expect(waiters.size).toBe(0);
	});

	it('rejects tolerant waiters too when the token is not usable', async () => {
		const {waiters, options} = setup();
		const error = new RefreshFailedError('down', null);
		const tolerant = track(waiters.wait(3, options({tolerant: true})));
		waiters.fail(error, false);
		await flush();
		expect(tolerant.outcome).toEqual({state: 'rejected', error});
		expect(waiters.size).toBe(0);
	});
});

describe('release', () => {
	it('resolves tolerant waiters and leaves the others waiting', async () => {
		const {waiters, options} = setup();
		const tolerant = track(waiters.wait(2, options({tolerant: true})));
		const strict = track(waiters.wait(2, options()));
		waiters.release();
		await flush();
		expect(tolerant.outcome.state).toBe('resolved');
		expect(strict.outcome.state).toBe('pending');
		expect(waiters.size).toBe(1);
		waiters.settle(3);
		await flush();
		expect(waiters.size).toBe(0);
	});
});

describe('rejectAll', () => {
	it('rejects every waiter with the error', async () => {
		const {waiters, options} = setup();
		const error = new LoggedOutError('logout');
		const all = [track(waiters.wait(1, options())), track(waiters.wait(9, options({tolerant: true})))];
		waiters.rejectAll(error);
		await flush();
		for (const waiter of all) {
			expect(waiter.outcome).toEqual({state: 'rejected', error});
		}

		expect(waiters.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('deadline', () => {
	it('rejects with PauseTimeoutError at the deadline, not before', async () => {
		const {waiters, options} = setup();
		const waiter = track(waiters.wait(1, options({deadline: t0 + 3000, pauseTimeout: 3000})));
		await vi.advanceTimersByTimeAsync(2999);
		expect(waiter.outcome.state).toBe('pending');
		await vi.advanceTimersByTimeAsync(1);
		expect(waiter.outcome.state).toBe('rejected');
		const {error} = waiter.outcome as {error: PauseTimeoutError};
		expect(error).toBeInstanceOf(PauseTimeoutError);
		expect(error.timeout).toBe(3000);
		expect(waiters.size).toBe(0);
	});

	it('rejects at once when the deadline has passed', async () => {
		const {waiters, options} = setup();
		await expect(waiters.wait(1, options({deadline: t0}))).rejects.toBeInstanceOf(PauseTimeoutError);
		await expect(waiters.wait(1, options({deadline: t0 - 1}))).rejects.toBeInstanceOf(PauseTimeoutError);
		expect(waiters.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('ignores a settle that arrives after the deadline', async () => {
		const {waiters, options} = setup();
		const waiter = track(waiters.wait(1, options({deadline: t0 + 100})));
		await vi.advanceTimersByTimeAsync(100);
		waiters.settle(2);
		await flush();
		expect(waiter.outcome.state).toBe('rejected');
	});
});

describe('abort', () => {
	it('rejects with the signal reason and removes its listener and timer', async () => {
		const {waiters, controller, options} = setup();
		const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
		const waiter = track(waiters.wait(1, options()));
		const reason = new Error('navigated away');
		controller.abort(reason);
		await flush();
		expect(waiter.outcome).toEqual({state: 'rejected', error: reason});
		expect(waiters.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		expect(removeSpy).toHaveBeenCalledWith('abort', expect.any(Function));
	});

	it('rejects at once with the reason when the signal is already aborted', async () => {
		const {waiters, controller, options} = setup();
		controller.abort('already');
		await expect(waiters.wait(1, options())).rejects.toBe('already');
		expect(waiters.size).toBe(0);
	});

	it('removes its abort listener when it resolves, so a later abort does nothing', async () => {
		const {waiters, controller, options} = setup();
		const addSpy = vi.spyOn(controller.signal, 'addEventListener');
		const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
		const waiter = track(waiters.wait(1, options()));
		waiters.settle(2);
		await flush();
		const added = addSpy.mock.calls.map(call => call[1]);
		const removed = removeSpy.mock.calls.map(call => call[1]);
		expect(added).toHaveLength(1);
		expect(removed).toContain(added[0]);
		controller.abort('late');
		await flush();
		expect(waiter.outcome.state).toBe('resolved');
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('no leaks', () => {
	it('returns to size 0 and no timers after every kind of ending', async () => {
		const {waiters, options} = setup();
		const controller = new AbortController();
		track(waiters.wait(1, options()));
		track(waiters.wait(1, options({tolerant: true})));
		track(waiters.wait(6, options({signal: controller.signal})));
		track(waiters.wait(7, options({deadline: t0 + 50})));
		track(waiters.wait(8, options()));
		expect(waiters.size).toBe(5);
		waiters.settle(2);
		expect(waiters.size).toBe(3);
		controller.abort();
		expect(waiters.size).toBe(2);
		await vi.advanceTimersByTimeAsync(50);
		expect(waiters.size).toBe(1);
		waiters.fail(new RefreshFailedError('x', null), false);
		expect(waiters.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});
});
