import {LoggedOutError} from './errors.js';
import type {FailureLog} from './failures.js';
import type {RecordKeeper} from './keeper.js';
import type {DebugLogger} from './options.js';
import type {Peers} from './peers.js';
import type {SessionRecord} from './record.js';
import type {Waiters} from './waiters.js';

export interface AdoptionDeps {
	tabId: string;
	keeper: RecordKeeper;
	peers: Peers;
	waiters: Waiters;
	failures: FailureLog;
	debug: DebugLogger;
	changed(): void;
}

/**
 * What a new record means for this tab: requests waiting for tokens go out
 * with them, or reject with `LoggedOutError` when the session ended; what
 * the tab knew about refreshes of older records is forgotten.
 */
export function createAdoption(deps: AdoptionDeps) {
	const {tabId, keeper, peers, waiters, failures, debug} = deps;

	/** Offers `candidate` to the keeper; true when it was adopted. `cause` explains an ending. */
	return function offer(candidate: SessionRecord, cause?: unknown): boolean {
		const previous = keeper.offer(candidate);
		if (!previous) {
			return false;
		}

		const {record} = keeper;
		peers.adopted(record);
		if (record.tokens) {
			if (record.session !== previous.session) {
				failures.clear();
			}

			debug(record.writer === tabId ? 'new tokens' : 'new tokens from another tab', {generation: record.generation, expiresAt: record.tokens.expiresAt});
			waiters.settle(keeper.version);
		} else {
			debug('signed out', {generation: record.generation, reason: record.ended});
			failures.clear();
			peers.clear();
			waiters.rejectAll(new LoggedOutError(record.ended, cause === undefined ? undefined : {cause}));
		}

		deps.changed();
		return true;
	};
}

export type Offer = ReturnType<typeof createAdoption>;
