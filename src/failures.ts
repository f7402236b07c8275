import type {RefreshError} from './errors.js';

/**
 * The last refresh failure that kept the session, and the cooldown it
 * imposes: 1 s doubling up to 30 s, so that tabs fail fast instead of
 * hammering an endpoint that is down, and the leader retries after it.
 */
export function createFailureLog(now: () => number, retryDelay: number) {
	let failure: {generation: number; at: number; error: RefreshError; count: number} | undefined;
	const cooldown = (count: number) => Math.min(30_000, Math.max(1000, retryDelay * (2 ** count)));

	/** When the cooldown after the failure of `generation` ends; undefined when it has none. */
	const retryAt = (generation: number): number | undefined =>
		failure?.generation === generation ? failure.at + cooldown(failure.count) : undefined;

	const coolingDown = (generation: number): boolean => now() < (retryAt(generation) ?? Number.NEGATIVE_INFINITY);

	return {
		record(generation: number, error: RefreshError) {
			failure = {generation, at: now(), error, count: (failure?.count ?? 0) + 1};
		},
		/** Forgets the failure; true when there was one. */
		clear(): boolean {
			const had = failure !== undefined;
			failure = undefined;
			return had;
		},
		retryAt,
		coolingDown,
		/** The failure to report for `generation` while its cooldown runs. */
		during: (generation: number): RefreshError | undefined => coolingDown(generation) ? failure!.error : undefined,
		/** The failure of `generation`, cooldown or not. */
		of: (generation: number): RefreshError | null => failure?.generation === generation ? failure.error : null,
	};
}
