import type {RefreshDriver} from './driver.js';
import {OAuthError, RefreshFailedError, type RefreshError} from './errors.js';
import type {FailureLog} from './failures.js';
import type {RecordKeeper} from './keeper.js';
import type {DebugLogger} from './options.js';
import type {Peers} from './peers.js';
import type {Message, MessageBody, RefreshFailedMessage} from './protocol.js';
import {compareToRef, isNewer, isRecordOf, type RecordRef} from './record.js';
import type {Resync} from './resync.js';
import type {Waiters} from './waiters.js';

export interface InboxDeps {
	tabId: string;
	keeper: RecordKeeper;
	peers: Peers;
	waiters: Waiters;
	failures: FailureLog;
	resync: Resync;
	driver: RefreshDriver;
	debug: DebugLogger;
	post(body: MessageBody): void;
	isLeader(): boolean;
	/** Reads what storage knows (another tab may have written newer tokens). */
	readStorage(): void;
	changed(): void;
}

const failureOf = (message: RefreshFailedMessage): RefreshError =>
	message.oauth && message.status !== null ? new OAuthError(message.oauth, message.status) : new RefreshFailedError(message.message, message.status);

/**
 * What this tab does with each message from another tab. A tab behind the
 * sender adopts what it says; a leader that hears from a tab behind it
 * answers with the record it holds (tokens or logout), so a stale tab is
 * never left to refresh, or sign others in, on its own.
 */
export function createInbox(deps: InboxDeps) {
	const {tabId, keeper, peers, waiters, failures, resync, driver, debug, post} = deps;

	/**
	 * Where a failed write removed the fence and this tab may have missed messages, its tokens may
	 * be of a session that is over: it does not pass them on (a tab that adopted them would write
	 * them back as current), and ends them itself once its own resync is done.
	 */
	const doubtful = () => keeper.record.tokens !== null && keeper.stored().lost;

	/** Says the record this tab holds, to a tab that is behind it. */
	const announce = () => {
		const {record} = keeper;
		if (!doubtful()) {
			post(record.tokens ? {kind: 'tokens', record} : {kind: 'logout', record});
		}
	};

	function onRefreshing(of: RecordRef) {
		const {record} = keeper;
		const order = compareToRef(record, of);
		if (order === 0 && record.tokens) {
			if (!driver.running) {
				peers.refreshing(of, deps.changed);
				deps.changed();
			}
		} else if (order > 0) {
			// The refresher is behind this tab: it must learn what this tab holds.
			if (deps.isLeader()) {
				announce();
			}
		} else {
			resync.ask(false);
		}
	}

	function onFailed(message: RefreshFailedMessage) {
		const error = failureOf(message);
		debug('another tab\'s refresh failed', {generation: message.of.generation, code: error.code, message: error.message});
		const {record} = keeper;
		if (!isRecordOf(record, message.of)) {
			return;
		}

		failures.record(record, error, message.retryAt);
		driver.retryWhenDue(message.retryAt);
		peers.ended(message.of);
		waiters.fail(error, driver.tokenUsable());
		deps.changed();
	}

	function onAbandoned(of: RecordRef) {
		if (peers.ended(of)) {
			deps.changed();
		}

		waiters.release();
		// Someone still needs the refresh: the leader runs it; a follower with requests waiting asks
		// again, since the tab that was asked is gone and the next leader may not have heard the request.
		const {record} = keeper;
		if (isRecordOf(record, of) && (waiters.size > 0 || (deps.isLeader() && peers.wants(record)))) {
			driver.ensureFresh();
		}
	}

	function onRequest(of: RecordRef) {
		peers.want(of);
		if (!deps.isLeader()) {
			return;
		}

		const order = compareToRef(keeper.record, of);
		if (order > 0) {
			// The asker missed newer tokens, or the logout: it gets them instead of a refresh.
			announce();
		} else if (order < 0) {
			// This tab missed tokens: it must not refresh with a spent refresh token.
			deps.readStorage();
			resync.ask(false);
		} else {
			driver.ensureFresh();
		}
	}

	function onState(message: Extract<Message, {kind: 'state'}>) {
		driver.adopt(message.record);

		if (message.to !== tabId) {
			return;
		}

		resync.mark();
		const {refreshing} = message;
		if (refreshing && !driver.running && isRecordOf(keeper.record, refreshing)) {
			peers.refreshing(refreshing, deps.changed);
			deps.changed();
		}
	}

	return function receive(message: Message) {
		switch (message.kind) {
			case 'tokens':
			case 'logout': {
				// A stale tab's refresh result of a session that is over: the leader tells it what is current.
				if (!driver.adopt(message.record) && deps.isLeader() && isNewer(keeper.record, message.record)) {
					announce();
				}

				break;
			}

			case 'state': {
				onState(message);
				break;
			}

			case 'hello': {
				if (keeper.record.epoch > 0 && !doubtful()) {
					post({kind: 'state', to: message.from, record: keeper.record, refreshing: driver.running ?? peers.remote ?? null});
				}

				break;
			}

			case 'refreshing': {
				onRefreshing(message.of);
				break;
			}

			case 'refresh-failed': {
				onFailed(message);
				break;
			}

			case 'refresh-abandoned': {
				onAbandoned(message.of);
				break;
			}

			case 'refresh-request': {
				onRequest(message.of);
				break;
			}

			default: {
				// Election messages go to the election.
				break;
			}
		}
	};
}
