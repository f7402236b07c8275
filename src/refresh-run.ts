import {sleep, type Clock} from './clock.js';
import {RefreshFailedError, type OAuthError, type RefreshError} from './errors.js';
import type {RecordKeeper} from './keeper.js';
import {LockWaitTimeout, withLock} from './locks.js';
import type {NormalizedOptions} from './options.js';
import {compareToRef, refOf, refreshedRecord, rejectedRecord, type SessionRecord} from './record.js';
import type {Refresher} from './refresher.js';
import type {RecordStore} from './storage.js';
import {unusableLifetime} from './tokens.js';

/** What one refresh run came to; the coordinator applies it. */
export type RunOutcome =
	/** New tokens. `unusable`: their lifetime is too short to use, a failed refresh that still keeps the rotated refresh token. */
	| {type: 'ok'; record: SessionRecord; unusable?: {error: RefreshFailedError; retryAt: number}}
	/** The endpoint refused the refresh token: the session is over. */
	| {type: 'rejected'; record: SessionRecord; cause?: OAuthError}
	/** The session is kept; no tab tries again before `retryAt`. */
	| {type: 'failed'; error: RefreshError; retryAt: number}
	/** Storage holds a newer record than this tab (or the end of its session): adopt it instead. */
	| {type: 'found'; record: SessionRecord}
	/** Another tab holds newer tokens this tab never received: presenting its refresh token would reuse a spent one. */
	| {type: 'behind'}
	/** The record changed meanwhile (a login, a logout, tokens from another tab), or the run was stopped. */
	| {type: 'moot'};

export interface RefreshRunDeps {
	options: Pick<NormalizedOptions, 'locks' | 'namespace' | 'debug' | 'refreshTimeout' | 'refreshRetries' | 'refreshRetryDelay'>;
	tabId: string;
	clock: Clock;
	refresher: Refresher;
	store: RecordStore;
	keeper: Pick<RecordKeeper, 'record' | 'stored'>;
	/** When a failure now would let the next attempt run (the failure log's cooldown). */
	nextRetryAt(): number;
}

// How long tokens just broadcast may take to reach the other tabs. A tab that
// finishes a refresh keeps the lock this long, and a tab that had to wait for
// the lock with neither shared storage nor a fence to read waits this long
// for its predecessor's tokens: either way no tab holds the lock while tokens
// newer than its own are still on their way to it.
export const settleTime = 100;

/** The cross-tab lock every refresh (and a restore) runs under. */
export const refreshLockName = (namespace: string) => `tab-session:${namespace}:refresh`;

/** The longest a holder of the refresh lock can take: every attempt timing out, with the backoff between them. */
export const refreshLockTimeout = (options: Pick<NormalizedOptions, 'refreshTimeout' | 'refreshRetries' | 'refreshRetryDelay'>) =>
	(options.refreshTimeout * (options.refreshRetries + 1)) + (options.refreshRetryDelay * 1.25 * (2 ** options.refreshRetries)) + settleTime + 1000;

/**
 * One refresh of the record `from`, under the cross-tab lock
 * `tab-session:<namespace>:refresh` where Web Locks exist. With the lock held
 * it first checks what another tab may have done (shared storage, the fence),
 * then asks the endpoint, and persists the outcome before the lock is
 * released, so the next holder sees it. `outcome` resolves as soon as the
 * endpoint answered; `released` when the lock is let go.
 */
export function createRefreshRun(deps: RefreshRunDeps) {
	const {options, tabId, clock, refresher, store, keeper} = deps;
	const {debug} = options;
	const lockName = refreshLockName(options.namespace);
	const lockTimeout = refreshLockTimeout(options);

	/** What to do before presenting the refresh token, or undefined to go ahead. */
	function recheck(from: SessionRecord): RunOutcome | undefined {
		const news = keeper.stored();
		if (news.record) {
			return {type: 'found', record: news.record};
		}

		if (news.behind) {
			return {type: 'behind'};
		}

		if (keeper.record !== from) {
			return {type: 'moot'};
		}

		// A tab queued on the lock behind one whose refresh just failed keeps to that cooldown.
		const fence = store.fence();
		if (fence?.retryAt && fence.retryAt > clock.now() && compareToRef(fence, from) === 0) {
			const error = new RefreshFailedError(`Token refresh failed in another tab; the next attempt is due in ${fence.retryAt - clock.now()} ms`, null);
			return {type: 'failed', error, retryAt: fence.retryAt};
		}

		return undefined;
	}

	async function underLock(from: SessionRecord, signal: AbortSignal, contended: boolean): Promise<RunOutcome> {
		const early = recheck(from);
		if (early) {
			return early;
		}

		if (contended && !store.shared && !store.fence()) {
			// Nothing to read: give the previous holder's tokens time to arrive over the channel.
			await sleep(clock, settleTime, signal);
			if (keeper.record !== from) {
				return {type: 'moot'};
			}
		}

		const started = clock.now();
		debug('refreshing', {generation: from.generation, contended});
		const answer = await refresher.refresh(from.tokens!, signal);
		// A login or logout during the refresh made its result moot.
		if (keeper.record !== from) {
			return {type: 'moot'};
		}

		if (answer.type === 'rejected') {
			const record = rejectedRecord(from, tabId);
			store.write(record);
			return {type: 'rejected', record, ...(answer.cause ? {cause: answer.cause} : {})};
		}

		if (answer.type === 'failed') {
			const retryAt = deps.nextRetryAt();
			store.failed(refOf(from), retryAt);
			return {type: 'failed', error: answer.error, retryAt};
		}

		const record = refreshedRecord(from, tabId, answer.tokens);
		store.write(record);
		debug('refresh succeeded', {generation: record.generation, duration: clock.now() - started});
		const problem = unusableLifetime(answer.tokens);
		if (!problem) {
			return {type: 'ok', record};
		}

		const retryAt = deps.nextRetryAt();
		store.failed(refOf(record), retryAt);
		return {type: 'ok', record, unusable: {error: new RefreshFailedError(`Token refresh failed: ${problem}`, answer.status), retryAt}};
	}

	return function run(from: SessionRecord, signal: AbortSignal): {outcome: Promise<RunOutcome>; released: Promise<void>} {
		let settle!: (outcome: RunOutcome) => void;
		const outcome = new Promise<RunOutcome>(resolve => {
			settle = resolve;
		});
		const released = withLock(options.locks, lockName, {signal, timeout: lockTimeout, clock}, async contended => {
			const result = await underLock(from, signal, contended);
			settle(result);
			if (result.type === 'ok') {
				// Where tokens live per tab, the next holder learns of them only from the channel: a tab
				// whose own timer asks for the lock just after this one finished must still find it
				// taken, and so wait for the tokens rather than present the spent token.
				await sleep(clock, settleTime, signal).catch(() => undefined);
			}
		}).catch((error: unknown) => {
			if (error instanceof LockWaitTimeout) {
				settle({type: 'failed', error: new RefreshFailedError(`Token refresh failed: ${error.message}`, null), retryAt: deps.nextRetryAt()});
			} else {
				// Stopped by a login, a logout or close(); whoever stopped it says what comes next.
				settle({type: 'moot'});
			}
		});
		return {outcome, released};
	};
}

export type RefreshRun = ReturnType<typeof createRefreshRun>;
