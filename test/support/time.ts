import {expect, vi} from 'vitest';

/**
 * Advances fake time in `step` ms slices until `promise` settles, at most
 * `limit` ms, then returns it. Fails the test when it has not settled by then.
 */
export async function runUntilSettled<T>(promise: Promise<T>, limit = 60_000, step = 10): Promise<T> {
	let settled = false;
	promise.then(() => {
		settled = true;
	}, () => {
		settled = true;
	});
	for (let elapsed = 0; !settled && elapsed < limit; elapsed += step) {
		// eslint-disable-next-line no-await-in-loop
		await vi.advanceTimersByTimeAsync(step);
	}

	expect(settled, `still pending after ${limit} ms of fake time`).toBe(true);
	return promise;
}

/** The timers and clock every fake-time test fakes; promises and microtasks stay real. */
export function useFakeTime(): void {
	vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
}
