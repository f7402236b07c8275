import type {Clock} from './clock.js';
import {compareStamps, emptyRecord, endedRecord, isNewer, stampOf, type Next, type SessionRecord} from './record.js';
import type {Fence, RecordStore} from './storage.js';

/** What storage knows that this tab may not: a newer record, or only the fence of one. */
export interface StoredNews {
	/** A newer record to adopt: the shared one, or the end of the session the fence reports. */
	record: SessionRecord | undefined;
	/** Newer tokens exist that this tab cannot read: they must come over the channel. */
	behind: boolean;
	/**
	 * The fence is gone: a tab whose write failed removed it, and what it
	 * wrote (new tokens, a logout) is known only to the open tabs.
	 */
	lost: boolean;
}

const endedFromFence = (fence: Fence): SessionRecord => ({
	epoch: fence.epoch,
	session: fence.session,
	generation: fence.generation,
	writer: fence.writer,
	tokens: null,
	ended: fence.ended ?? 'logout',
});

/**
 * The record this tab holds and the rules it changes by: a candidate is
 * adopted only when newer (record.ts), and is persisted as it is. `version`
 * counts the adoptions, so a request can tell whether the tokens changed
 * since it sent its own.
 */
export function createRecordKeeper(deps: {tabId: string; clock: Clock; store: RecordStore}) {
	const {tabId, clock, store} = deps;
	let record = store.read() ?? emptyRecord(tabId);
	let version = 0;
	/** Since it last saw the fence, this tab may have missed messages (stopped, or unheard by the leader). */
	let missed = false;
	const fence = store.fence();
	let highestEpoch = Math.max(record.epoch, fence?.epoch ?? 0);
	let highestGeneration = Math.max(record.generation, fence?.generation ?? 0);

	return {
		tabId,
		get record(): SessionRecord {
			return record;
		},
		get version(): number {
			return version;
		},
		/** Adopts `candidate` when it is newer; returns the record it replaced, or undefined. */
		offer(candidate: SessionRecord): SessionRecord | undefined {
			highestEpoch = Math.max(highestEpoch, candidate.epoch);
			highestGeneration = Math.max(highestGeneration, candidate.generation);
			if (!isNewer(candidate, record)) {
				return undefined;
			}

			const previous = record;
			record = candidate;
			version++;
			// Shared storage usually holds it already (its writer stored it first); write() skips it then.
			store.write(candidate);
			return previous;
		},
		/**
		 * Where a login or logout made now stands. Its epoch is the wall clock,
		 * which all tabs of a browser share, so the later action wins even over
		 * one this tab never heard of, and above every epoch seen, should the
		 * clock go back. Its generation is above every one seen, so generations
		 * only grow in the tabs that adopt it.
		 */
		next: (): Next => ({epoch: Math.max(clock.now(), highestEpoch + 1), generation: highestGeneration + 1, writer: tabId}),
		/** This tab may have missed messages: a lost fence then leaves it in doubt. */
		markMissed(): void {
			missed = true;
		},
		/** Reads shared storage and the fence. */
		stored(): StoredNews {
			const stored = store.read();
			const newest = stored && isNewer(stored, record) ? stored : record;
			const fence = store.fence();
			if (fence) {
				missed = false;
			} else if (missed && store.fenceSeen) {
				// A tab whose write failed removed the fence, and this one may not have heard what it
				// wrote: that may be newer than what it holds. (A tab that heard every message has it.)
				return {record: newest === record ? undefined : newest, behind: true, lost: true};
			}

			if (!fence || compareStamps(fence, stampOf(newest)) <= 0) {
				return {record: newest === record ? undefined : newest, behind: false, lost: false};
			}

			if (!fence.open) {
				return {record: endedFromFence(fence), behind: false, lost: false};
			}

			if (fence.session !== newest.session && newest.tokens) {
				// A login this tab missed replaced its session: its tokens are another account's now, or
				// spent. It signs out here and asks the open tabs for the new session's tokens.
				return {record: endedRecord(newest, tabId), behind: true, lost: false};
			}

			return {record: newest === record ? undefined : newest, behind: true, lost: false};
		},
	};
}

export type RecordKeeper = ReturnType<typeof createRecordKeeper>;
