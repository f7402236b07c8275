import type {Clock} from './clock.js';
import type {RefreshError} from './errors.js';
import {isRecordOf, refOf, type RecordRef, type SessionRecord} from './record.js';

export interface Failure {
	of: RecordRef;
	error: RefreshError;
	/** Epoch ms before which no tab refreshes `of` again. */
	retryAt: number;
}

/**
 * The last refresh failure that kept the session, and the cooldown it
 * imposes: 1 s doubling up to 30 s over consecutive failures, so tabs do not
 * hammer an endpoint that is down. The leader tries again when it ends;
 * requests that can wait that long wait for that attempt.
 */
export function createFailureLog(clock: Clock, retryDelay: number) {
	let failure: Failure | undefined;
	/** Failed runs since the last usable refresh, across generations (an unusable answer is one too). */
	let streak = 0;
	const cooldown = (count: number) => Math.min(30_000, Math.max(1000, retryDelay * (2 ** count)));

	const of = (record: SessionRecord): Failure | undefined =>
		failure && isRecordOf(record, failure.of) ? failure : undefined;

	return {
		/**
		 * Records a failed refresh of `record` and returns the end of its
		 * cooldown; another tab's `retryAt`, when given, is taken as it is.
		 */
		record(record: SessionRecord, error: RefreshError, retryAt?: number): number {
			const at = retryAt ?? clock.now() + cooldown(streak);
			streak++;
			failure = {of: refOf(record), error, retryAt: at};
			return at;
		},
		/** When the cooldown of a failure recorded now would end. */
		next: (): number => clock.now() + cooldown(streak),
		/** A usable refresh, a login, a logout or the network coming back: forget it. True when there was one. */
		clear(): boolean {
			const had = failure !== undefined;
			failure = undefined;
			streak = 0;
			return had;
		},
		/** The failure of `record`, cooldown or not. */
		of,
		/** The failure of `record` while its cooldown runs. */
		during(record: SessionRecord): Failure | undefined {
			const current = of(record);
			return current && clock.now() < current.retryAt ? current : undefined;
		},
	};
}

export type FailureLog = ReturnType<typeof createFailureLog>;
