import type {Clock} from './clock.js';
import type {NormalizedOptions} from './options.js';
import type {MessageBody} from './protocol.js';
import {compareRefs, compareToRef, isRecordOf, refOf, type RecordRef, type SessionRecord} from './record.js';
import {createAlarm} from './schedule.js';

export interface PeersDeps {
	clock: Clock;
	options: Pick<NormalizedOptions, 'pauseTimeout' | 'leaderTimeout' | 'debug'>;
	post(body: MessageBody): void;
}

/**
 * What the other tabs are doing, as far as this tab knows: a refresh one of
 * them announced, the refresh this tab asked the leader for, and the newest
 * record any tab asked to have refreshed (a new leader completes it). Each
 * wait is bounded by a timer.
 */
export function createPeers(deps: PeersDeps) {
	const {clock, options, post} = deps;
	const stall = createAlarm(clock);
	let remote: {of: RecordRef; since: number} | undefined;
	let asked: {of: RecordRef; timer: unknown} | undefined;
	let wanted: RecordRef | undefined;

	const stopAsking = () => {
		if (asked) {
			clock.clearTimeout(asked.timer);
			asked = undefined;
		}
	};

	const endRemote = () => {
		remote = undefined;
		stall.clear();
	};

	return {
		/** Another tab is refreshing the record `of`; `onStall` runs if it stays silent for `pauseTimeout`. */
		refreshing(of: RecordRef, onStall: () => void) {
			options.debug('another tab is refreshing: requests wait for it', {generation: of.generation});
			remote = {of: refOf(of), since: clock.now()};
			// The leader answered: no need to refresh in its place.
			stopAsking();
			// Bounded: a refresher that dies silently must not leave tabs "refreshing" forever.
			stall.set(clock.now() + options.pauseTimeout, () => {
				remote = undefined;
				onStall();
			});
		},
		/** A refresh of `of` announced by another tab is over (failed or abandoned); true when one was known. */
		ended(of: RecordRef): boolean {
			const had = remote !== undefined && compareRefs(remote.of, of) <= 0;
			if (had) {
				endRemote();
			}

			if (asked && compareRefs(asked.of, of) <= 0) {
				stopAsking();
			}

			return had;
		},
		/** Another tab is refreshing `record` right now. */
		refreshingOf: (record: SessionRecord): boolean =>
			remote !== undefined && isRecordOf(record, remote.of) && clock.now() - remote.since < options.pauseTimeout,
		/** How long ago another tab said it was refreshing, or undefined. */
		remoteAge: (): number | undefined => remote && clock.now() - remote.since,
		/** The record being refreshed elsewhere, for a `state` answer. */
		get remote(): RecordRef | undefined {
			return remote?.of;
		},
		/** Asks the leader to refresh `record`, once; if it stays silent, `onSilent` runs after `leaderTimeout`. */
		ask(record: SessionRecord, onSilent: (of: RecordRef) => void) {
			if (asked && isRecordOf(record, asked.of)) {
				return;
			}

			stopAsking();
			const of = refOf(record);
			options.debug('asking the leader to refresh', {generation: of.generation});
			post({kind: 'refresh-request', of});
			asked = {of, timer: clock.setTimeout(() => {
				asked = undefined;
				onSilent(of);
			}, options.leaderTimeout)};
		},
		/** Some tab asked for a refresh of `of`. */
		want(of: RecordRef) {
			if (!wanted || compareRefs(of, wanted) > 0) {
				wanted = refOf(of);
			}
		},
		/** Some tab asked for a refresh of `record`, and nobody refreshed it yet. */
		wants: (record: SessionRecord): boolean => wanted !== undefined && isRecordOf(record, wanted),
		/** This tab adopted `record`: everything about older records is over. */
		adopted(record: SessionRecord) {
			if (remote && !isRecordOf(record, remote.of)) {
				endRemote();
			}

			if (asked && !isRecordOf(record, asked.of)) {
				stopAsking();
			}

			if (wanted && compareToRef(record, wanted) > 0) {
				wanted = undefined;
			}
		},
		/** Forgets the refresh announced elsewhere (this tab takes it over). */
		forgetRemote: endRemote,
		clear() {
			endRemote();
			stopAsking();
			wanted = undefined;
		},
	};
}

export type Peers = ReturnType<typeof createPeers>;
