import type {Offer} from './adoption.js';
import type {Clock} from './clock.js';
import {LoggedOutError, OAuthError, RefreshFailedError, SessionClosedError, type RefreshError} from './errors.js';
import type {FailureLog} from './failures.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import type {Peers} from './peers.js';
import type {MessageBody} from './protocol.js';
import {endedRecord, isRecordOf, refOf, type RecordRef, type SessionRecord} from './record.js';
import type {RefreshRun, RunOutcome} from './refresh-run.js';
import type {Resync} from './resync.js';
import {createAlarm, freshness} from './schedule.js';
import type {Waiters} from './waiters.js';

export interface DriverDeps {
	options: Pick<NormalizedOptions, 'locks' | 'leaderTimeout' | 'refreshLeeway' | 'debug'>;
	clock: Clock;
	keeper: RecordKeeper;
	peers: Peers;
	waiters: Waiters;
	failures: FailureLog;
	resync: Resync;
	run: RefreshRun;
	offer: Offer;
	post(body: MessageBody): void;
	isLeader(): boolean;
	isClosed(): boolean;
	changed(): void;
}

const oauthFields = (error: RefreshError) =>
	error instanceof OAuthError ? {error: error.error, errorDescription: error.errorDescription, errorUri: error.errorUri} : null;

const orphaned = () => new RefreshFailedError('Token refresh failed: another tab holds newer tokens and none of the open tabs answered with them', null);

interface OutcomeOps {
	adopt(record: SessionRecord, cause?: unknown): boolean;
	post(body: MessageBody): void;
	fail(record: SessionRecord, error: RefreshError, retryAt: number): void;
	resyncThen(record: SessionRecord, action: 'give-up'): void;
	clearFailures(): void;
	debug: NormalizedOptions['debug'];
}

/** What the outcome of a refresh of `from` means for every tab. */
function applyOutcome(ops: OutcomeOps, from: SessionRecord, outcome: RunOutcome) {
	const {debug} = ops;
	switch (outcome.type) {
		case 'ok': {
			if (ops.adopt(outcome.record)) {
				ops.post({kind: 'tokens', record: outcome.record});
			}

			if (outcome.unusable) {
				debug('refresh failed: the new access token is unusable; the rotated refresh token is kept', {generation: outcome.record.generation, message: outcome.unusable.error.message});
				ops.fail(outcome.record, outcome.unusable.error, outcome.unusable.retryAt);
			} else {
				ops.clearFailures();
			}

			break;
		}

		case 'rejected': {
			debug('the refresh endpoint rejected the refresh token: signing every tab out', {error: outcome.cause?.error ?? null});
			if (ops.adopt(outcome.record, outcome.cause)) {
				ops.post({kind: 'logout', record: outcome.record});
			}

			break;
		}

		case 'failed': {
			const {error} = outcome;
			debug('refresh failed; the session is kept', {generation: from.generation, code: error.code, status: error.status, message: error.message});
			ops.fail(from, error, outcome.retryAt);
			break;
		}

		case 'found': {
			ops.adopt(outcome.record);
			break;
		}

		case 'behind': {
			// Another tab got tokens this one never received: they must come over the channel.
			debug('another tab holds newer tokens than this one: asking for them', {generation: from.generation});
			ops.resyncThen(from, 'give-up');
			break;
		}

		case 'moot': {
			break;
		}
	}
}

/**
 * This tab's refreshes: who runs one (the leader; a follower whose leader
 * stays silent, under the lock), the run itself, and what its outcome means
 * for every tab. One run at a time; a run of a record that is no longer
 * current is stopped before it presents its refresh token.
 */
export function createRefreshDriver(deps: DriverDeps) {
	const {options, clock, keeper, peers, waiters, failures, resync, post} = deps;
	const {debug} = options;
	let running: {record: SessionRecord; controller: AbortController} | undefined;
	/** What to do with `record` once the other tabs answered the hello this tab sent about it. */
	let afterResync: {record: SessionRecord; action: 'refresh' | 'give-up'} | undefined;
	/** When a failure's cooldown ends, requests still waiting get the next attempt. */
	const retryAlarm = createAlarm(clock);

	const tokenUsable = () => {
		const {tokens} = keeper.record;
		return tokens !== null && freshness(tokens, options.refreshLeeway, clock.now()) !== 'expired';
	};

	/** A refresh of the current record runs here or in another tab. */
	const underWay = () => running?.record === keeper.record || peers.refreshingOf(keeper.record);

	/** Adopts `candidate` (see adoption.ts); a refresh under way here is of a record that is over now. */
	function adopt(candidate: SessionRecord, cause?: unknown): boolean {
		if (!deps.offer(candidate, cause)) {
			return false;
		}

		// A logout, another user's login, or tokens another tab got first: waiting for the lock, the
		// run never presents its refresh token.
		running?.controller.abort(new LoggedOutError(keeper.record.ended));
		// News is an answer: a tab that waited to hear from the others can act.
		resync.mark();
		// A tab asked for a refresh of what this leader just learned.
		if (deps.isLeader() && peers.wants(keeper.record)) {
			ensureFresh();
		}

		return true;
	}

	/** Makes sure some tab refreshes the current record: this one if it leads, else the leader. */
	function ensureFresh(): void {
		const {record} = keeper;
		if (deps.isClosed() || !record.tokens || running || !resync.joined || failures.during(record) || peers.refreshingOf(record)) {
			return;
		}

		if (deps.isLeader()) {
			start(record);
		} else {
			peers.ask(record, leaderSilent);
		}
	}

	function leaderSilent(of: RecordRef) {
		const {record} = keeper;
		if (deps.isClosed() || !isRecordOf(record, of) || underWay()) {
			return;
		}

		if (!options.locks) {
			// Without Web Locks only a leader refreshes; keep asking while requests wait.
			if (waiters.size > 0) {
				ensureFresh();
			}

			return;
		}

		// The leader is gone or stuck; or this tab stopped hearing the others. Ask for the current
		// record first, then refresh here, under the lock that keeps it to one tab.
		debug('the leader did not refresh in time: refreshing here, under the lock', {generation: of.generation, leaderTimeout: options.leaderTimeout});
		resyncThen(record, 'refresh');
	}

	/** Says hello and holds requests; `action` runs once the answers are in, if the record did not change. */
	function resyncThen(record: SessionRecord, action: 'refresh' | 'give-up') {
		keeper.markMissed();
		afterResync = {record, action};
		resync.ask(true);
	}

	/** A wait for the other tabs' answers ended: do what waited for it. */
	function reconsider() {
		const pending = afterResync;
		afterResync = undefined;
		const {record} = keeper;
		if (deps.isClosed()) {
			return;
		}

		const news = record.tokens ? keeper.stored() : undefined;
		if (news?.lost) {
			// A tab whose storage write failed removed the fence, this tab may have missed what it wrote
			// (a refresh: the refresh token here is spent; a logout; another login), and no open tab
			// answered with it. This session cannot go on safely; presenting the refresh token could
			// only end it as reuse.
			debug('storage lost the session record and no open tab holds a newer one: signing out', {generation: record.generation});
			const ended = endedRecord(record, keeper.tabId);
			if (adopt(ended)) {
				post({kind: 'logout', record: ended});
			}
		} else if (pending?.record === record && pending.action === 'give-up' && news?.behind) {
			// Never the spent refresh token: fail, and try again after the cooldown.
			fail(record, orphaned(), failures.next());
		} else if (pending?.record === record && !underWay() && !running && !failures.during(record)) {
			start(record);
		} else if (waiters.size > 0 || (deps.isLeader() && peers.wants(record))) {
			ensureFresh();
		}
	}

	function start(record: SessionRecord) {
		const controller = new AbortController();
		running = {record, controller};
		post({kind: 'refreshing', of: refOf(record)});
		deps.changed();
		void deps.run(record, controller.signal).outcome.then(outcome => {
			running = undefined;
			settle(record, outcome);
			deps.changed();
			// A run overtaken by newer tokens ends without an answer for whoever still waits.
			if (keeper.record !== record && waiters.size > 0) {
				ensureFresh();
			}
		});
	}

	const retryWhenDue = (retryAt: number) => {
		retryAlarm.set(retryAt, () => {
			if (waiters.size > 0) {
				ensureFresh();
			}
		});
	};

	function fail(record: SessionRecord, error: RefreshError, retryAt: number) {
		// A failure of a record this tab no longer holds concerns nobody waiting here.
		if (keeper.record !== record) {
			return;
		}

		failures.record(record, error, retryAt);
		retryWhenDue(retryAt);
		post({kind: 'refresh-failed', of: refOf(record), status: error.status, message: error.message, oauth: oauthFields(error), retryAt});
		waiters.fail(error, tokenUsable());
	}

	const settle = (from: SessionRecord, outcome: RunOutcome) => {
		applyOutcome({adopt, post, fail, resyncThen, clearFailures: failures.clear, debug}, from, outcome);
	};

	return {
		adopt,
		ensureFresh,
		reconsider,
		underWay,
		tokenUsable,
		retryWhenDue,
		/** The record this tab is refreshing, if it is. */
		get running(): RecordRef | undefined {
			return running && refOf(running.record);
		},
		/**
		 * The page goes away, maybe into the back/forward cache: another tab takes the refresh over,
		 * and this run stops, so that a page restored later never presents the refresh token after it.
		 */
		abandon() {
			if (running) {
				post({kind: 'refresh-abandoned', of: refOf(running.record)});
				running.controller.abort(new DOMException('The page was hidden', 'AbortError'));
			}
		},
		close() {
			if (running) {
				post({kind: 'refresh-abandoned', of: refOf(running.record)});
				running.controller.abort(new SessionClosedError());
			}

			retryAlarm.clear();
		},
	};
}

export type RefreshDriver = ReturnType<typeof createRefreshDriver>;
