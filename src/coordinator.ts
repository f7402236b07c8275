import {LoggedOutError, OAuthError, RefreshFailedError, SessionClosedError, type EndReason, type RefreshError} from './errors.js';
import type {Clock} from './clock.js';
import type {NormalizedOptions} from './options.js';
import {isNewer, type Message, type MessageBody, type SessionRecord} from './protocol.js';
import {createRefreshRun} from './refresh-run.js';
import {createRefresher} from './refresher.js';
import {createFailureLog} from './failures.js';
import {createAlarm, freshness, refreshLead} from './schedule.js';
import type {RecordStore} from './storage.js';
import type {TabRole} from './state.js';
import type {TokenSet} from './tokens.js';
import type {createWaiters} from './waiters.js';

export interface CoordinatorDeps {
	options: NormalizedOptions;
	tabId: string;
	clock: Clock;
	store: RecordStore;
	waiters: ReturnType<typeof createWaiters>;
	post(body: MessageBody): void;
	/** Anything observable changed: state, role, a refresh starting or ending. */
	onChange(): void;
	/** Another tab answered this tab's hello, or tokens arrived. */
	onJoined(): void;
}

/**
 * The cross-tab state machine of one tab: which token set is current, who
 * refreshes, and what the other tabs said. Only the leader refreshes, unless
 * it stays silent and Web Locks guard a follower's refresh.
 */
export function createCoordinator(deps: CoordinatorDeps) {
	const {options, tabId, clock, store, waiters, post} = deps;
	const now = () => clock.now();
	const {debug} = options;
	const stallAlarm = createAlarm(clock);

	let record: SessionRecord = store.read() ?? {generation: 0, writer: tabId, tokens: null, ended: null};
	let role: TabRole = 'follower';
	let closed = false;
	/** A refresh another tab announced and has not finished. */
	let remote: {from: number; since: number} | undefined;
	/** The refresh this follower asked the leader for, with the timer after which it refreshes itself. */
	let asked: {from: number; timer: unknown} | undefined;
	/** Highest generation any tab asked a refresh from; a new leader completes it. */
	let wanted: number | undefined;
	const failures = createFailureLog(now, options.refreshRetryDelay);
	/** The refresh this tab runs. */
	const runner = createRefreshRun({
		options,
		tabId,
		clock,
		refresher: createRefresher(options, clock),
		waiters,
		failures,
		post,
		current: () => ({record, closed}),
		adopt,
		adoptStored: () => {
			adoptStored();
		},
		end,
		tokenUsable: () => tokenUsable(),
		changed: () => {
			changed();
		},
	});

	const changed = () => {
		deps.onChange();
	};

	/** Stops waiting for the leader to refresh from `upTo` or earlier (it did, or answered). */
	const stopAsking = (upTo: number) => {
		if (asked && asked.from <= upTo) {
			clock.clearTimeout(asked.timer);
			asked = undefined;
		}
	};

	const tokenUsable = () => record.tokens !== null && freshness(record.tokens, options.refreshLeeway, now()) !== 'expired';
	const remoteActive = () => remote !== undefined && now() - remote.since < options.pauseTimeout;
	/** A refresh from `generation` is running here or in another tab. */
	const refreshUnderWay = (generation: number) =>
		runner.from === generation || (remote?.from === generation && remoteActive());

	/** `cause` explains an ending this tab produced (say, the server's `invalid_grant`). */
	function adopt(candidate: SessionRecord, cause?: unknown): boolean {
		if (!isNewer(candidate, record)) {
			return false;
		}

		record = candidate;
		// Shared storage usually has it already (its writer stored it first); write() skips it then.
		// It does not when a corrupt value was just cleared, and then this tab puts it back.
		store.write(candidate);

		if (remote && candidate.generation > remote.from) {
			remote = undefined;
			stallAlarm.clear();
		}

		if (wanted !== undefined && candidate.generation > wanted) {
			wanted = undefined;
		}

		stopAsking(candidate.generation - 1);

		if (candidate.tokens) {
			debug(candidate.writer === tabId ? 'new tokens' : 'new tokens from another tab', {generation: candidate.generation, expiresAt: candidate.tokens.expiresAt});
			waiters.settle(candidate.generation);
		} else {
			debug('signed out', {generation: candidate.generation, reason: candidate.ended});
			const error = () => new LoggedOutError(candidate.ended, cause === undefined ? undefined : {cause});
			runner.abort(error());
			remote = undefined;
			wanted = undefined;
			waiters.rejectAll(error());
		}

		deps.onJoined();
		changed();
		return true;
	}

	const adoptStored = () => {
		const stored = store.shared ? store.read() : undefined;
		if (stored) {
			adopt(stored);
		}
	};

	function receive(message: Message) {
		switch (message.kind) {
			case 'tokens':
			case 'logout': {
				adopt(message.record);
				break;
			}

			case 'state': {
				adopt(message.record);
				if (message.to === tabId) {
					deps.onJoined();
					if (message.refreshing !== null && message.refreshing >= record.generation && !remote) {
						markRemote(message.refreshing);
					}
				}

				break;
			}

			case 'hello': {
				if (record.generation > 0) {
					post({kind: 'state', to: message.from, record, refreshing: runner.from ?? remote?.from ?? null});
				}

				break;
			}

			case 'refreshing': {
				if (message.generation >= record.generation) {
					markRemote(message.generation);
				}

				break;
			}

			case 'refresh-failed': {
				const error = message.oauth && message.status !== null
					? new OAuthError(message.oauth, message.status)
					: new RefreshFailedError(message.message, message.status);
				debug('another tab\'s refresh failed', {generation: message.generation, code: error.code, message: error.message});
				if (record.tokens && message.generation === record.generation) {
					failures.record(message.generation, error);
				}

				endRemote(message.generation);
				waiters.fail(message.generation, error, tokenUsable());
				break;
			}

			case 'refresh-abandoned': {
				endRemote(message.generation);
				waiters.release(message.generation);
				// Someone still needs the refresh: the leader runs it; a follower with requests waiting asks
				// again, since the tab that was asked is gone and the next leader may not have heard the request.
				if (waiters.size > 0 || (role === 'leader' && wanted !== undefined)) {
					ensureFresh(record.generation);
				}

				break;
			}

			case 'refresh-request': {
				wanted = Math.max(wanted ?? 0, message.generation);
				if (role !== 'leader') {
					break;
				}

				if (message.generation < record.generation && record.tokens) {
					// The asker missed the newer tokens: say them again.
					post({kind: 'tokens', record});
				} else if (message.generation > record.generation) {
					// This tab missed tokens: it must not refresh with a spent refresh token.
					adoptStored();
					post({kind: 'hello'});
				} else {
					ensureFresh(message.generation);
				}

				break;
			}
		}
	}

	function markRemote(from: number) {
		debug('another tab is refreshing: requests wait for it', {generation: from});
		remote = {from, since: now()};
		// The leader answered: no need to refresh in its place.
		stopAsking(from);

		// Bounded: a refresher that dies silently must not leave tabs "refreshing" forever.
		stallAlarm.set(now() + options.pauseTimeout, () => {
			remote = undefined;
			changed();
		});
		changed();
	}

	function endRemote(from: number) {
		if (remote && remote.from <= from) {
			remote = undefined;
			stallAlarm.clear();
			changed();
		}

		stopAsking(from);
	}

	/** Makes sure some tab refreshes from `from`: this one if it leads, else the leader. */
	function ensureFresh(from: number) {
		if (closed || !record.tokens || record.generation > from || runner.from !== undefined || failures.coolingDown(from)
			|| (remote && remote.from >= from && remoteActive())) {
			return;
		}

		if (role === 'leader') {
			void runner.run(from);
		} else if (!asked || asked.from < from) {
			stopAsking(from);
			debug('asking the leader to refresh', {generation: from});
			post({kind: 'refresh-request', generation: from});
			asked = {from, timer: clock.setTimeout(() => {
				leaderSilent(from);
			}, options.leaderTimeout)};
		}
	}

	function leaderSilent(from: number) {
		asked = undefined;
		if (closed || !record.tokens || record.generation > from || runner.from !== undefined || refreshUnderWay(from)) {
			return;
		}

		if (options.locks) {
			// The leader is gone or stuck: refresh here, under the lock that keeps it to one tab.
			debug('the leader did not refresh in time: refreshing here, under the lock', {generation: from, leaderTimeout: options.leaderTimeout});
			void runner.run(from);
		} else if (waiters.size > 0) {
			// Without Web Locks only a leader refreshes; keep asking until the election settles.
			ensureFresh(from);
		}
	}

	function end(reason: EndReason, cause?: unknown) {
		const next: SessionRecord = {generation: record.generation + 1, writer: tabId, tokens: null, ended: reason};
		failures.clear();
		adopt(next, cause);
		post({kind: 'logout', record: next});
	}

	return {
		get record(): SessionRecord {
			return record;
		},
		get role(): TabRole {
			return role;
		},
		get closed() {
			return closed;
		},
		refreshUnderWay,
		tokenUsable,
		/** The refresh failure to report for `generation` while its cooldown runs. */
		failureFor: failures.during,
		/** The last failure of the current generation, for the state snapshot. */
		lastError: (): RefreshError | null => failures.of(record.generation),
		/** When the leader should refresh ahead of expiry; null when there is nothing to schedule. */
		refreshDueAt(): number | null {
			const tokens: TokenSet | null = record.tokens;
			if (!tokens || tokens.expiresAt === null || runner.from !== undefined) {
				return null;
			}

			const at = tokens.expiresAt - refreshLead(tokens, options.refreshLeeway);
			return Math.max(at, failures.retryAt(record.generation) ?? at);
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
			if (isLeader && record.tokens && (remote || (wanted !== undefined && wanted >= record.generation) || waiters.size > 0)) {
				remote = undefined;
				ensureFresh(record.generation);
			}
		},
		ensureFresh,
		adoptStored,
		/** The network is back: a refresh failure seen while offline says nothing about now. */
		forgetFailure() {
			if (failures.clear()) {
				changed();
			}
		},
		login(tokens: TokenSet) {
			const next: SessionRecord = {generation: record.generation + 1, writer: tabId, tokens, ended: null};
			runner.abort(new LoggedOutError('logout'));
			failures.clear();
			adopt(next);
			post({kind: 'tokens', record: next});
		},
		end,
		/** The page is going away (maybe into the back-forward cache): let another tab take the refresh over. */
		pageHidden() {
			if (runner.from !== undefined) {
				post({kind: 'refresh-abandoned', generation: runner.from});
			}
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			if (runner.from !== undefined) {
				post({kind: 'refresh-abandoned', generation: runner.from});
				runner.abort(new SessionClosedError());
			}

			stopAsking(Number.POSITIVE_INFINITY);
			stallAlarm.clear();
			waiters.rejectAll(new SessionClosedError());
		},
	};
}

export type Coordinator = ReturnType<typeof createCoordinator>;
