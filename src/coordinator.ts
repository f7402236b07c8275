import type {Clock} from './clock.js';
import {LoggedOutError, OAuthError, RefreshFailedError, SessionClosedError, type RefreshError} from './errors.js';
import type {Failure, FailureLog} from './failures.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import {createPeers} from './peers.js';
import type {Message, MessageBody, RefreshFailedMessage} from './protocol.js';
import {compareToRef, isRecordOf, loginRecord, logoutRecord, refOf, type RecordRef, type SessionRecord} from './record.js';
import type {RefreshRun, RunOutcome} from './refresh-run.js';
import type {Resync} from './resync.js';
import type {RecordStore} from './storage.js';
import {createAlarm, freshness, refreshLead} from './schedule.js';
import type {TabRole} from './state.js';
import type {TokenSet} from './tokens.js';
import type {Waiters} from './waiters.js';

export interface CoordinatorDeps {
	options: NormalizedOptions;
	tabId: string;
	clock: Clock;
	keeper: RecordKeeper;
	waiters: Waiters;
	failures: FailureLog;
	resync: Resync;
	run: RefreshRun;
	store: Pick<RecordStore, 'failed'>;
	post(body: MessageBody): void;
	/** A random id for a new session. */
	newSessionId(): string;
}

const oauthFields = (error: RefreshError) =>
	error instanceof OAuthError ? {error: error.error, errorDescription: error.errorDescription, errorUri: error.errorUri} : null;

const failureOf = (message: RefreshFailedMessage): RefreshError =>
	message.oauth && message.status !== null ? new OAuthError(message.oauth, message.status) : new RefreshFailedError(message.message, message.status);

/**
 * One tab's part in the session: applies what other tabs say, what its own
 * refreshes come to, and what the app does (login, logout), to the record
 * the keeper holds and to the requests that wait. Only the leader refreshes,
 * unless it stays silent and Web Locks guard a follower's refresh.
 */
export function createCoordinator(deps: CoordinatorDeps) {
	const {options, tabId, clock, keeper, waiters, failures, resync, post} = deps;
	const {debug} = options;
	const listeners = new Set<() => void>();
	let role: TabRole = 'follower';
	let closed = false;
	/** The refresh this tab runs. */
	let running: {record: SessionRecord; controller: AbortController} | undefined;
	/** What to do with `record` once the other tabs answered the hello this tab sent about it. */
	let afterResync: {record: SessionRecord; action: 'refresh' | 'give-up'} | undefined;

	const changed = () => {
		for (const listener of listeners) {
			listener();
		}
	};

	const peers = createPeers({clock, options, post, onStall: changed, onSilent: leaderSilent});
	/** When a failure's cooldown ends, requests still waiting get the next attempt. */
	const retryAlarm = createAlarm(clock);
	const retryWhenDue = (retryAt: number) => {
		retryAlarm.set(retryAt, () => {
			if (waiters.size > 0) {
				ensureFresh();
			}
		});
	};

	const tokenUsable = () => {
		const {tokens} = keeper.record;
		return tokens !== null && freshness(tokens, options.refreshLeeway, clock.now()) !== 'expired';
	};

	/** A refresh of the current record runs here or in another tab. */
	const refreshUnderWay = () => running?.record === keeper.record || peers.refreshingOf(keeper.record);

	/** Says the record this tab holds, to a tab that is behind it. */
	const announce = () => {
		const {record} = keeper;
		post(record.tokens ? {kind: 'tokens', record} : {kind: 'logout', record});
	};

	/** Offers `candidate` to the keeper and applies what follows when it is adopted. `cause` explains an ending. */
	function offer(candidate: SessionRecord, cause?: unknown): boolean {
		const previous = keeper.offer(candidate);
		if (!previous) {
			return false;
		}

		const {record} = keeper;
		peers.adopted(record);
		// The refresh under way is of a record that is over: a logout, another user's login, or
		// tokens another tab got first. Waiting for the lock, it never presents its refresh token.
		running?.controller.abort(new LoggedOutError(record.ended));

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

		// News is an answer: a tab that waited to hear from the others can act.
		resync.mark();
		changed();
		// A tab that asked for a refresh of what this leader just learned gets it.
		if (role === 'leader' && peers.wants(record)) {
			ensureFresh();
		}

		return true;
	}

	/** Makes sure some tab refreshes the current record: this one if it leads, else the leader. */
	function ensureFresh(): void {
		const {record} = keeper;
		if (closed || !record.tokens || running || !resync.joined || failures.during(record) || peers.refreshingOf(record)) {
			return;
		}

		if (role === 'leader') {
			start(record);
		} else {
			peers.ask(record);
		}
	}

	function leaderSilent(of: RecordRef) {
		const {record} = keeper;
		if (closed || !isRecordOf(record, of) || refreshUnderWay()) {
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
		afterResync = {record, action};
		resync.ask(true);
		if (resync.joined) {
			reconsider();
		}
	}

	function reconsider() {
		if (closed) {
			return;
		}

		changed();
		const pending = afterResync;
		afterResync = undefined;
		const {record} = keeper;
		if (pending?.record === record && pending.action === 'give-up') {
			fail(record, new RefreshFailedError('Token refresh failed: another tab holds newer tokens and none of the open tabs answered with them', null), failures.next());
		} else if (pending?.record === record && !refreshUnderWay() && !running && !failures.during(record)) {
			start(record);
		} else if (waiters.size > 0 || (role === 'leader' && peers.wants(record))) {
			ensureFresh();
		}
	}

	function start(record: SessionRecord) {
		const controller = new AbortController();
		running = {record, controller};
		post({kind: 'refreshing', of: refOf(record)});
		changed();
		void deps.run(record, controller.signal).outcome.then(outcome => {
			running = undefined;
			settle(record, outcome);
			changed();
			// A run overtaken by newer tokens ends without an answer for whoever still waits.
			if (keeper.record !== record && waiters.size > 0) {
				ensureFresh();
			}
		});
	}

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

	/** Another tab got tokens this one never received: they must come over the channel, never from a spent refresh token. */
	function behind(from: SessionRecord) {
		debug('another tab holds newer tokens than this one: asking for them', {generation: from.generation});
		resyncThen(from, 'give-up');
	}

	function settle(from: SessionRecord, outcome: RunOutcome) {
		switch (outcome.type) {
			case 'ok': {
				if (offer(outcome.record)) {
					post({kind: 'tokens', record: outcome.record});
				}

				if (outcome.unusable) {
					debug('refresh failed: unusable lifetime; the rotated refresh token is kept', {generation: outcome.record.generation, message: outcome.unusable.error.message});
					fail(outcome.record, outcome.unusable.error, outcome.unusable.retryAt);
				} else {
					failures.clear();
				}

				break;
			}

			case 'rejected': {
				debug('the refresh endpoint rejected the refresh token: signing every tab out', {error: outcome.cause?.error ?? null});
				if (offer(outcome.record, outcome.cause)) {
					post({kind: 'logout', record: outcome.record});
				}

				break;
			}

			case 'failed': {
				const {error} = outcome;
				debug('refresh failed; the session is kept', {generation: from.generation, code: error.code, status: error.status, message: error.message});
				fail(from, error, outcome.retryAt);
				break;
			}

			case 'found': {
				offer(outcome.record);
				break;
			}

			case 'behind': {
				behind(from);
				break;
			}

			case 'moot': {
				break;
			}
		}
	}

	function onRefreshing(of: RecordRef) {
		const {record} = keeper;
		const order = compareToRef(record, of);
		if (order === 0 && record.tokens) {
			if (!running) {
				peers.refreshing(of);
				changed();
			}
		} else if (order > 0) {
			// The refresher is behind this tab: it must learn what this tab holds.
			if (role === 'leader') {
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
		retryWhenDue(message.retryAt);
		peers.ended(message.of);
		waiters.fail(error, tokenUsable());
		changed();
	}

	function onAbandoned(of: RecordRef) {
		if (peers.ended(of)) {
			changed();
		}

		waiters.release();
		// Someone still needs the refresh: the leader runs it; a follower with requests waiting asks
		// again, since the tab that was asked is gone and the next leader may not have heard the request.
		const {record} = keeper;
		if (isRecordOf(record, of) && (waiters.size > 0 || (role === 'leader' && peers.wants(record)))) {
			ensureFresh();
		}
	}

	function onRequest(of: RecordRef) {
		peers.want(of);
		if (role !== 'leader') {
			return;
		}

		const order = compareToRef(keeper.record, of);
		if (order > 0) {
			// The asker missed newer tokens, or the logout: it gets them instead of a refresh.
			announce();
		} else if (order < 0) {
			// This tab missed tokens: it must not refresh with a spent refresh token.
			wake(false);
			resync.ask(false);
		} else {
			ensureFresh();
		}
	}

	function receive(message: Message) {
		switch (message.kind) {
			case 'tokens':
			case 'logout': {
				// A stale tab's refresh result of a session that is over: the leader tells it what is current.
				if (!offer(message.record) && role === 'leader' && compareToRef(keeper.record, message.record) > 0) {
					announce();
				}

				break;
			}

			case 'state': {
				offer(message.record);
				if (message.to === tabId) {
					resync.mark();
					const {refreshing} = message;
					if (refreshing && !running && isRecordOf(keeper.record, refreshing)) {
						peers.refreshing(refreshing);
						changed();
					}
				}

				break;
			}

			case 'hello': {
				if (keeper.record.epoch > 0) {
					const refreshing = running ? refOf(running.record) : peers.remote ?? null;
					post({kind: 'state', to: message.from, record: keeper.record, refreshing});
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
	}

	/** The tab woke: storage may hold news; a visible tab notices an expiry a throttled leader has not acted on. */
	function wake(visible: boolean) {
		if (closed) {
			return;
		}

		const news = keeper.stored();
		if (news.record) {
			offer(news.record);
		}

		if (news.behind) {
			resync.ask(false);
		}

		changed();
		const {tokens} = keeper.record;
		if (visible && tokens && freshness(tokens, options.refreshLeeway, clock.now()) !== 'fresh') {
			ensureFresh();
		}
	}

	function end(record: SessionRecord) {
		offer(record);
		post({kind: 'logout', record});
	}

	return {
		get role(): TabRole {
			return role;
		},
		get closed() {
			return closed;
		},
		refreshUnderWay,
		tokenUsable,
		ensureFresh,
		wake,
		/** The failure of the current record's last refresh, cooldown or not. */
		failure: (): Failure | undefined => failures.of(keeper.record),
		/** The last failure of the current record, for the state snapshot. */
		lastError: (): RefreshError | null => failures.of(keeper.record)?.error ?? null,
		/** When the leader should refresh; null when there is nothing to schedule. */
		refreshDueAt(): number | null {
			const {tokens} = keeper.record;
			if (!tokens || tokens.expiresAt === null || running) {
				return null;
			}

			const at = tokens.expiresAt - refreshLead(tokens, options.refreshLeeway);
			return Math.max(at, failures.of(keeper.record)?.retryAt ?? at);
		},
		receive(message: Message) {
			if (!closed) {
				receive(message);
			}
		},
		setLeader(isLeader: boolean) {
			if (closed) {
				return;
			}

			const next: TabRole = isLeader ? 'leader' : 'follower';
			if (next !== role) {
				debug(isLeader ? 'this tab is now the leader' : 'this tab is now a follower', {tab: tabId});
			}

			role = next;
			changed();
			// A refresh the previous leader left unfinished, or one a tab asked for meanwhile, is ours now.
			const {record} = keeper;
			if (isLeader && record.tokens && (peers.remote !== undefined || peers.wants(record) || waiters.size > 0)) {
				peers.forgetRemote();
				ensureFresh();
			}
		},
		/** A wait for the other tabs' answers ended: do what waited for it. */
		reconsider,
		/** The network is back: a refresh failure seen while offline says nothing about now. */
		online() {
			if (failures.clear()) {
				changed();
			}

			// Every tab hears `online`; none keeps to a cooldown the fence still reports.
			if (keeper.record.tokens) {
				deps.store.failed(refOf(keeper.record), null);
			}

			wake(true);
		},
		login(tokens: TokenSet) {
			failures.clear();
			const record = loginRecord(keeper.record, tabId, keeper.nextEpoch(), deps.newSessionId(), tokens);
			offer(record);
			post({kind: 'tokens', record});
		},
		logout() {
			end(logoutRecord(keeper.record, tabId, keeper.nextEpoch()));
		},
		/** The page is going away (maybe into the back/forward cache): another tab may take the refresh over. */
		pageHidden() {
			if (running) {
				post({kind: 'refresh-abandoned', of: refOf(running.record)});
			}
		},
		subscribe(listener: () => void) {
			listeners.add(listener);
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			if (running) {
				post({kind: 'refresh-abandoned', of: refOf(running.record)});
				running.controller.abort(new SessionClosedError());
			}

			peers.clear();
			retryAlarm.clear();
			waiters.rejectAll(new SessionClosedError());
			listeners.clear();
		},
	};
}

export type Coordinator = ReturnType<typeof createCoordinator>;
