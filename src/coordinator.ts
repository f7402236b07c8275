import {LoggedOutError, OAuthError, RefreshFailedError, SessionClosedError, type EndReason, type RefreshError} from './errors.js';
import {withLock} from './locks.js';
import type {NormalizedOptions} from './options.js';
import {isNewer, type Message, type MessageBody, type SessionRecord} from './protocol.js';
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
	now: () => number;
	store: RecordStore;
	waiters: ReturnType<typeof createWaiters>;
	post(body: MessageBody): void;
	/** Anything observable changed: state, role, a refresh starting or ending. */
	onChange(): void;
	/** Another tab answered this tab's hello, or tokens arrived. */
	onJoined(): void;
}

// Lets a tab that acquired a contended lock hear the tokens its predecessor broadcast just before releasing it.
const settleTime = 100;

/**
 * The cross-tab state machine of one tab: which token set is current, who
 * refreshes, and what the other tabs said. Only the leader refreshes, unless
 * it stays silent and Web Locks guard a follower's refresh.
 */
export function createCoordinator(deps: CoordinatorDeps) {
	const {options, tabId, now, store, waiters, post} = deps;
	const {debug} = options;
	const lockName = `tab-session:${options.namespace}:refresh`;
	const refresher = createRefresher(options, now);
	const stallAlarm = createAlarm(now);

	let record: SessionRecord = store.read() ?? {generation: 0, writer: tabId, tokens: null, ended: null};
	let role: TabRole = 'follower';
	let closed = false;
	/** The refresh this tab runs. */
	let local: {from: number; controller: AbortController; promise: Promise<void>} | undefined;
	/** A refresh another tab announced and has not finished. */
	let remote: {from: number; since: number} | undefined;
	/** The refresh this follower asked the leader for, with the timer after which it refreshes itself. */
	let asked: {from: number; timer: ReturnType<typeof setTimeout>} | undefined;
	/** Highest generation any tab asked a refresh from; a new leader completes it. */
	let wanted: number | undefined;
	const failures = createFailureLog(now, options.refreshRetryDelay);

	const changed = () => {
		deps.onChange();
	};

	/** Stops waiting for the leader to refresh from `upTo` or earlier (it did, or answered). */
	const stopAsking = (upTo: number) => {
		if (asked && asked.from <= upTo) {
			clearTimeout(asked.timer);
			asked = undefined;
		}
	};

	const tokenUsable = () => record.tokens !== null && freshness(record.tokens, options.refreshLeeway, now()) !== 'expired';
	const remoteActive = () => remote !== undefined && now() - remote.since < options.pauseTimeout;
	/** A refresh from `generation` is running here or in another tab. */
	const refreshUnderWay = (generation: number) =>
		local?.from === generation || (remote?.from === generation && remoteActive());

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
			local?.controller.abort(error());
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
					post({kind: 'state', to: message.from, record, refreshing: local?.from ?? remote?.from ?? null});
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
				if (role === 'leader' && waiters.size + (wanted === undefined ? 0 : 1) > 0) {
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
		if (closed || !record.tokens || record.generation > from || local || failures.coolingDown(from)
			|| (remote && remote.from >= from && remoteActive())) {
			return;
		}

		if (role === 'leader') {
			void runRefresh(from);
		} else if (!asked || asked.from < from) {
			stopAsking(from);
			debug('asking the leader to refresh', {generation: from});
			post({kind: 'refresh-request', generation: from});
			asked = {from, timer: setTimeout(() => {
				leaderSilent(from);
			}, options.leaderTimeout)};
		}
	}

	function leaderSilent(from: number) {
		asked = undefined;
		if (closed || !record.tokens || record.generation > from || local || refreshUnderWay(from)) {
			return;
		}

		if (options.locks) {
			// The leader is gone or stuck: refresh here, under the lock that keeps it to one tab.
			debug('the leader did not refresh in time: refreshing here, under the lock', {generation: from, leaderTimeout: options.leaderTimeout});
			void runRefresh(from);
		} else if (waiters.size > 0) {
			// Without Web Locks only a leader refreshes; keep asking until the election settles.
			ensureFresh(from);
		}
	}

	async function runRefresh(from: number): Promise<void> {
		if (local) {
			return local.promise;
		}

		if (closed || !record.tokens || record.generation !== from) {
			return;
		}

		const controller = new AbortController();
		post({kind: 'refreshing', generation: from});
		const promise = withLock(options.locks, lockName, controller.signal, async contended => {
			adoptStored();
			if (contended && record.generation === from) {
				// The previous holder just refreshed; its tokens may still be on their way.
				await waiters.wait(from, {signal: controller.signal, deadline: now() + settleTime, pauseTimeout: settleTime, tolerant: true})
					.catch(() => undefined);
			}

			const tokens = record.tokens;
			if (!tokens || record.generation !== from || controller.signal.aborted) {
				return;
			}

			const started = now();
			debug('refreshing', {generation: from, contended});
			const outcome = await refresher.refresh(tokens, controller.signal);
			// A login or logout during the refresh made its result moot.
			if (closed || record.generation !== from) {
				return;
			}

			if (outcome.type === 'ok') {
				debug('refresh succeeded', {generation: from + 1, duration: now() - started});
				failures.clear();
				const next: SessionRecord = {generation: from + 1, writer: tabId, tokens: outcome.tokens, ended: null};
				// Stored and announced before the lock is released, so the next holder sees it.
				adopt(next);
				post({kind: 'tokens', record: next});
			} else if (outcome.type === 'rejected') {
				debug('the refresh endpoint rejected the refresh token: signing every tab out', {status: outcome.status, error: outcome.cause?.error ?? null});
				end('refresh-rejected', outcome.cause);
			} else {
				const {error} = outcome;
				debug('refresh failed; the session is kept', {generation: from, code: error.code, status: error.status, message: error.message});
				failures.record(from, error);
				post({
					kind: 'refresh-failed',
					generation: from,
					status: error.status,
					message: error.message,
					oauth: error instanceof OAuthError ? {error: error.error, errorDescription: error.errorDescription, errorUri: error.errorUri} : null,
				});
				waiters.fail(from, error, tokenUsable());
			}
		}).catch(() => {
			// Aborted: by logout or login (already announced) or by close (announced in close).
		}).finally(() => {
			local = undefined;
			changed();
		});
		local = {from, controller, promise};
		changed();
		return promise;
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
			if (!tokens || tokens.expiresAt === null || local) {
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
			local?.controller.abort(new LoggedOutError('logout'));
			failures.clear();
			adopt(next);
			post({kind: 'tokens', record: next});
		},
		end,
		/** The page is going away (maybe into the back-forward cache): let another tab take the refresh over. */
		pageHidden() {
			if (local) {
				post({kind: 'refresh-abandoned', generation: local.from});
			}
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			if (local) {
				post({kind: 'refresh-abandoned', generation: local.from});
				local.controller.abort(new SessionClosedError());
			}

			stopAsking(Number.POSITIVE_INFINITY);
			stallAlarm.clear();
			waiters.rejectAll(new SessionClosedError());
		},
	};
}

export type Coordinator = ReturnType<typeof createCoordinator>;
