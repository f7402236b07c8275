import {OAuthError, type EndReason} from './errors.js';
import type {createFailureLog} from './failures.js';
import {withLock} from './locks.js';
import type {NormalizedOptions} from './options.js';
import type {MessageBody, SessionRecord} from './protocol.js';
import {sleep, type Clock} from './clock.js';
import type {createRefresher} from './refresher.js';
import type {createWaiters} from './waiters.js';

export interface RefreshRunDeps {
	options: Pick<NormalizedOptions, 'locks' | 'namespace' | 'debug'>;
	tabId: string;
	clock: Clock;
	refresher: ReturnType<typeof createRefresher>;
	waiters: ReturnType<typeof createWaiters>;
	failures: ReturnType<typeof createFailureLog>;
	post(body: MessageBody): void;
	/** The record this tab holds now, and whether the session was closed. */
	current(): {record: SessionRecord; closed: boolean};
	adopt(record: SessionRecord): void;
	adoptStored(): void;
	end(reason: EndReason, cause?: unknown): void;
	tokenUsable(): boolean;
	changed(): void;
}

// How long tokens just broadcast may take to reach the other tabs. A tab that
// finishes a refresh keeps the lock this long, and a tab that had to wait for
// the lock waits this long for its predecessor's tokens: either way no tab
// holds the lock while tokens newer than its own are still on their way to it.
const settleTime = 100;

/**
 * The refresh this tab runs, one at a time: announced, then under the
 * cross-tab lock `tab-session:<namespace>:refresh` (where Web Locks exist),
 * with a re-check that no other tab produced newer tokens meanwhile, and its
 * outcome stored and announced before the lock is released.
 */
export function createRefreshRun(deps: RefreshRunDeps) {
	const {options, tabId, clock, refresher, waiters, failures, post} = deps;
	const now = () => clock.now();
	const {debug} = options;
	const lockName = `tab-session:${options.namespace}:refresh`;
	let local: {from: number; controller: AbortController; promise: Promise<void>} | undefined;

	/**
	 * The refresh of `from` with the lock held: what another tab may have done
	 * first is checked again. `finished` runs as soon as the endpoint answered,
	 * before the outcome is adopted: code woken by the new tokens may want the
	 * next refresh at once, and must not find this one still "running".
	 */
	async function underLock(from: number, signal: AbortSignal, contended: boolean, finished: () => void): Promise<void> {
		deps.adoptStored();
		if (contended && deps.current().record.generation === from) {
			// The previous holder just refreshed; its tokens may still be on their way.
			await waiters.wait(from, {signal, deadline: now() + settleTime, pauseTimeout: settleTime, tolerant: true})
				.catch(() => undefined);
		}

		const {tokens, generation} = deps.current().record;
		if (!tokens || generation !== from || signal.aborted) {
			return;
		}

		const started = now();
		debug('refreshing', {generation: from, contended});
		const outcome = await refresher.refresh(tokens, signal);
		finished();
		// A login or logout during the refresh made its result moot.
		const {record, closed} = deps.current();
		if (closed || record.generation !== from) {
			return;
		}

		if (outcome.type === 'ok') {
			debug('refresh succeeded', {generation: from + 1, duration: now() - started});
			failures.clear();
			const next: SessionRecord = {generation: from + 1, writer: tabId, tokens: outcome.tokens, ended: null};
			// Stored and announced before the lock is released, so the next holder sees it.
			deps.adopt(next);
			post({kind: 'tokens', record: next});
			// Where tokens live per tab (memory, session) the next holder learns of them only from
			// the channel: a tab whose own timer asks for the lock just after this one finished must
			// still find it taken, and so wait for the tokens rather than present the spent token.
			await sleep(clock, settleTime, signal).catch(() => undefined);
		} else if (outcome.type === 'rejected') {
			debug('the refresh endpoint rejected the refresh token: signing every tab out', {status: outcome.status, error: outcome.cause?.error ?? null});
			deps.end('refresh-rejected', outcome.cause);
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
			waiters.fail(from, error, deps.tokenUsable());
		}
	}

	return {
		/** The generation this tab is refreshing from, if it is. */
		get from(): number | undefined {
			return local?.from;
		},
		/** Refreshes from generation `from`, unless this tab already runs a refresh (whose promise it returns). */
		async run(from: number): Promise<void> {
			if (local) {
				return local.promise;
			}

			const {record, closed} = deps.current();
			if (closed || !record.tokens || record.generation !== from) {
				return;
			}

			const controller = new AbortController();
			const finished = () => {
				if (local?.controller === controller) {
					local = undefined;
				}
			};

			post({kind: 'refreshing', generation: from});
			const promise = withLock(options.locks, lockName, controller.signal, async contended => underLock(from, controller.signal, contended, finished))
				.catch(() => {
					// Aborted: by logout or login (already announced) or by close (announced in close).
				})
				.finally(() => {
					finished();
					deps.changed();
				});
			local = {from, controller, promise};
			deps.changed();
			return promise;
		},
		abort(reason: unknown) {
			local?.controller.abort(reason);
		},
	};
}
