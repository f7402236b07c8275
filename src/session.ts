import {createTabChannel} from './channel.js';
import {
	LoggedOutError,
	RefreshFailedError,
	SessionClosedError,
	type EndReason,
} from './errors.js';
import {createApi, type KyInstance} from './hooks.js';
import {withLock} from './locks.js';
import {normalizeOptions, type SessionOptions} from './options.js';
import {isNewer, parseMessage, type Message, type SessionRecord} from './protocol.js';
import {createRefresher} from './refresher.js';
import {createAlarm, freshness, refreshLead} from './schedule.js';
import {createStateStore, type SessionState, type StateListener} from './state.js';
import {createRecordStore} from './storage.js';
import {toTokenSet, type TokenInput} from './tokens.js';
import {createWaiters} from './waiters.js';

export interface Session {
	/** A ky instance: bearer attached to authorized URLs, paused during refreshes, 401s retried once with new tokens. */
	readonly api: KyInstance;
	/** Stores the tokens and signs in every tab. Throws `InvalidTokensError` for unusable tokens. */
	login(tokens: TokenInput): Promise<void>;
	/** Signs out every tab: tokens cleared, waiting requests rejected with `LoggedOutError`. */
	logout(): Promise<void>;
	/** Refreshes now (once for all tabs) and resolves when the new tokens are here. */
	refresh(options?: {signal?: AbortSignal}): Promise<void>;
	getState(): SessionState;
	subscribe(listener: StateListener): () => void;
	/** The current access token, after any refresh under way. Rejects with `LoggedOutError` when signed out. */
	getAccessToken(options?: {signal?: AbortSignal}): Promise<string>;
	/** Leaves the election, closes the channel, stops timers and listeners. Safe to call twice. */
	close(): void;
}

interface Failure {
	generation: number;
	at: number;
	error: RefreshFailedError;
	count: number;
}

const randomId = (): string => {
	// getRandomValues, unlike randomUUID, also exists on plain-http pages.
	const bytes = new Uint8Array(12);
	globalThis.crypto.getRandomValues(bytes);
	return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
};

// Lets a tab that acquired a contended lock hear the tokens its predecessor broadcast just before releasing it.
const settleTime = 100;

export function initSession(input: SessionOptions): Session {
	const options = normalizeOptions(input);
	const now = () => Date.now();
	const tabId = randomId();
	const store = createRecordStore(options.storage, `tab-session:${options.namespace}`);
	const lockName = `tab-session:${options.namespace}:refresh`;
	const refresher = createRefresher(options, now);
	const waiters = createWaiters(now);
	const refreshAlarm = createAlarm(now);
	const heartbeatAlarm = createAlarm(now);
	const stallAlarm = createAlarm(now);
	const cleanups: Array<() => void> = [];

	let record: SessionRecord = store.read() ?? {generation: 0, writer: tabId, tokens: null, ended: null};
	let role: SessionState['role'] = 'follower';
	let closed = false;
	/** The refresh this tab runs. */
	let local: {from: number; controller: AbortController; promise: Promise<void>} | undefined;
	/** A refresh another tab announced and has not finished. */
	let remote: {from: number; since: number} | undefined;
	/** The refresh this follower asked the leader for, with the timer after which it refreshes itself. */
	let asked: {from: number; timer: ReturnType<typeof setTimeout>} | undefined;
	/** Highest generation any tab asked a refresh from; a new leader completes it. */
	let wanted: number | undefined;
	let failure: Failure | undefined;
	let nextHeartbeatAt = 0;

	// A new tab without stored tokens gives open tabs `joinTimeout` to hand theirs over before its first request.
	let isJoined = store.shared || record.tokens !== null;
	const joinWaiters = new Set<() => void>();
	const markJoined = () => {
		isJoined = true;
		for (const resolve of joinWaiters) {
			resolve();
		}

		joinWaiters.clear();
	};

	const joinTimer = isJoined ? undefined : setTimeout(markJoined, options.joinTimeout);
	const untilJoined = async (signal: AbortSignal) => {
		signal.throwIfAborted();
		if (isJoined) {
			return;
		}

		await new Promise<void>((resolve, reject) => {
			const onAbort = () => {
				joinWaiters.delete(done);
				reject(signal.reason);
			};

			const done = () => {
				signal.removeEventListener('abort', onAbort);
				resolve();
			};

			joinWaiters.add(done);
			signal.addEventListener('abort', onAbort, {once: true});
		});
	};

	const cooldown = (count: number) => Math.min(30_000, Math.max(1000, options.refreshRetryDelay * (2 ** count)));
	const coolingDown = (generation: number) =>
		failure !== undefined && failure.generation === generation && now() < failure.at + cooldown(failure.count);
	const tokenUsable = () => record.tokens !== null && freshness(record.tokens, options.refreshLeeway, now()) !== 'expired';
	const remoteActive = () => remote !== undefined && now() - remote.since < options.pauseTimeout;
	/** A refresh from `generation` is running here or in another tab. */
	const refreshUnderWay = (generation: number) =>
		local?.from === generation || (remote?.from === generation && remoteActive());

	const state = createStateStore(snapshot());
	function snapshot(): SessionState {
		let status: SessionState['status'] = 'unauthenticated';
		if (record.tokens) {
			status = refreshUnderWay(record.generation) ? 'refreshing' : 'authenticated';
		}

		return {
			status,
			role,
			expiresAt: record.tokens?.expiresAt ?? null,
			generation: record.generation,
			endReason: record.tokens ? null : record.ended,
			lastError: failure?.generation === record.generation ? failure.error : null,
			closed,
		};
	}

	const publish = () => {
		state.update(snapshot());
	};

	const channel = createTabChannel({
		name: `tab-session:${options.namespace}`,
		tabId,
		method: options.broadcastMethod,
		onMessage: data => {
			const message = parseMessage(data);
			if (message && !closed) {
				receive(message);
			}
		},
		onLeadership(isLeader) {
			if (closed) {
				return;
			}

			role = isLeader ? 'leader' : 'follower';
			publish();
			reschedule();
			// A refresh the previous leader left unfinished, or one a tab asked for meanwhile, is ours now.
			if (isLeader && record.tokens && (remote || (wanted !== undefined && wanted >= record.generation) || waiters.size > 0)) {
				remote = undefined;
				ensureFresh(record.generation);
			}
		},
	});

	function adopt(candidate: SessionRecord): boolean {
		if (!isNewer(candidate, record)) {
			return false;
		}

		record = candidate;
		// Shared storage is written once, by the tab that made the record.
		if (!store.shared || candidate.writer === tabId) {
			store.write(candidate);
		}

		if (remote && candidate.generation > remote.from) {
			remote = undefined;
			stallAlarm.clear();
		}

		if (wanted !== undefined && candidate.generation > wanted) {
			wanted = undefined;
		}

		if (asked && candidate.generation > asked.from) {
			clearTimeout(asked.timer);
			asked = undefined;
		}

		if (candidate.tokens) {
			waiters.settle(candidate.generation);
		} else {
			local?.controller.abort(new LoggedOutError(candidate.ended));
			remote = undefined;
			wanted = undefined;
			waiters.rejectAll(new LoggedOutError(candidate.ended));
		}

		markJoined();
		publish();
		reschedule();
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
					markJoined();
					if (message.refreshing !== null && message.refreshing >= record.generation && !remote) {
						markRemote(message.refreshing);
					}
				}

				break;
			}

			case 'hello': {
				if (record.generation > 0) {
					channel.post({kind: 'state', to: message.from, record, refreshing: local?.from ?? remote?.from ?? null});
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
				const error = new RefreshFailedError(message.message, message.status);
				if (record.tokens && message.generation === record.generation) {
					failure = {generation: message.generation, at: now(), error, count: (failure?.count ?? 0) + 1};
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
					channel.post({kind: 'tokens', record});
				} else if (message.generation > record.generation) {
					// This tab missed tokens: it must not refresh with a spent refresh token.
					adoptStored();
					channel.post({kind: 'hello'});
				} else {
					ensureFresh(message.generation);
				}

				break;
			}
		}
	}

	function markRemote(from: number) {
		remote = {from, since: now()};
		if (asked && asked.from <= from) {
			// The leader answered: no need to refresh in its place.
			clearTimeout(asked.timer);
			asked = undefined;
		}

		// Bounded: a refresher that dies silently must not leave tabs "refreshing" forever.
		stallAlarm.set(now() + options.pauseTimeout, () => {
			remote = undefined;
			publish();
		});
		publish();
	}

	function endRemote(from: number) {
		if (remote && remote.from <= from) {
			remote = undefined;
			stallAlarm.clear();
			publish();
		}

		if (asked && asked.from <= from) {
			clearTimeout(asked.timer);
			asked = undefined;
		}
	}

	/** Makes sure some tab refreshes from `from`: this one if it leads, else the leader. */
	function ensureFresh(from: number) {
		if (closed || !record.tokens || record.generation > from || local || coolingDown(from)
			|| (remote && remote.from >= from && remoteActive())) {
			return;
		}

		if (role === 'leader') {
			void runRefresh(from);
		} else if (!asked || asked.from < from) {
			if (asked) {
				clearTimeout(asked.timer);
			}

			channel.post({kind: 'refresh-request', generation: from});
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
		channel.post({kind: 'refreshing', generation: from});
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

			const outcome = await refresher.refresh(tokens, controller.signal);
			// A login or logout during the refresh made its result moot.
			if (closed || record.generation !== from) {
				return;
			}

			if (outcome.type === 'ok') {
				failure = undefined;
				const next: SessionRecord = {generation: from + 1, writer: tabId, tokens: outcome.tokens, ended: null};
				// Stored and announced before the lock is released, so the next holder sees it.
				adopt(next);
				channel.post({kind: 'tokens', record: next});
			} else if (outcome.type === 'rejected') {
				end('refresh-rejected');
			} else {
				failure = {generation: from, at: now(), error: outcome.error, count: (failure?.count ?? 0) + 1};
				channel.post({kind: 'refresh-failed', generation: from, status: outcome.error.status, message: outcome.error.message});
				waiters.fail(from, outcome.error, tokenUsable());
			}
		}).catch(() => {
			// Aborted: by logout or login (already announced) or by close (announced in close).
		}).finally(() => {
			local = undefined;
			publish();
			reschedule();
		});
		local = {from, controller, promise};
		publish();
		return promise;
	}

	function end(reason: EndReason) {
		const next: SessionRecord = {generation: record.generation + 1, writer: tabId, tokens: null, ended: reason};
		failure = undefined;
		adopt(next);
		channel.post({kind: 'logout', record: next});
	}

	/** Leader duties, armed from absolute times: proactive refresh and heartbeat. */
	function reschedule() {
		refreshAlarm.clear();
		heartbeatAlarm.clear();
		const tokens = record.tokens;
		if (closed || role !== 'leader' || !tokens) {
			return;
		}

		if (tokens.expiresAt !== null && !local) {
			let at = tokens.expiresAt - refreshLead(tokens, options.refreshLeeway);
			if (failure?.generation === record.generation) {
				at = Math.max(at, failure.at + cooldown(failure.count));
			}

			const generation = record.generation;
			refreshAlarm.set(at, () => {
				ensureFresh(generation);
			});
		}

		if (options.heartbeatUrl) {
			nextHeartbeatAt ||= now() + options.heartbeatInterval;
			heartbeatAlarm.set(nextHeartbeatAt, () => {
				nextHeartbeatAt = now() + options.heartbeatInterval;
				void heartbeat();
				reschedule();
			});
		}
	}

	async function heartbeat() {
		try {
			// Through `api`, so a 401 refreshes and retries like any request.
			const response = await api.get(options.heartbeatUrl!, {throwHttpErrors: false});
			void response.body?.cancel().catch(() => undefined);
		} catch {
			// A failed heartbeat changes nothing; the next one tries again.
		}
	}

	async function acquire(signal: AbortSignal): Promise<{accessToken: string; generation: number}> {
		const deadline = now() + options.pauseTimeout;
		const wait = async (from: number, tolerant: boolean) =>
			waiters.wait(from, {signal, deadline, pauseTimeout: options.pauseTimeout, tolerant});
		await untilJoined(signal);
		for (;;) {
			const tokens = checkSignedIn();
			const {generation} = record;
			const timing = freshness(tokens, options.refreshLeeway, now());
			if (timing === 'expired' && coolingDown(generation)) {
				throw failure!.error;
			}

			if (refreshUnderWay(generation) || timing === 'expired') {
				if (timing !== 'fresh') {
					ensureFresh(generation);
				}

				// eslint-disable-next-line no-await-in-loop
				await wait(generation, timing !== 'expired');
				// A tolerant wait ends on failure with the token unchanged and still usable.
				if (record.generation === generation && record.tokens && !refreshUnderWay(generation) && tokenUsable()) {
					return {accessToken: record.tokens.accessToken, generation};
				}

				continue;
			}

			if (timing === 'due') {
				ensureFresh(generation);
			}

			return {accessToken: tokens.accessToken, generation};
		}
	}

	async function renew(generation: number, signal: AbortSignal): Promise<void> {
		const deadline = now() + options.pauseTimeout;
		while (checkSignedIn() && record.generation <= generation) {
			if (coolingDown(record.generation)) {
				throw failure!.error;
			}

			ensureFresh(record.generation);
			// eslint-disable-next-line no-await-in-loop
			await waiters.wait(record.generation, {signal, deadline, pauseTimeout: options.pauseTimeout, tolerant: false});
		}
	}

	function checkSignedIn() {
		if (closed) {
			throw new SessionClosedError();
		}

		if (!record.tokens) {
			throw new LoggedOutError(record.ended);
		}

		return record.tokens;
	}

	const api = createApi({
		gate: {isAuthorized: options.isAuthorized, acquire, renew},
		kyOptions: options.kyOptions,
		authStatuses: options.authStatuses,
		refreshUrl: options.refreshUrl,
		fetch: options.fetch,
	});

	const onWake = () => {
		if (closed) {
			return;
		}

		adoptStored();
		reschedule();
		// Any visible tab may notice an expiry the (possibly throttled) leader has not acted on yet.
		const visible = (globalThis as {document?: Document}).document?.visibilityState !== 'hidden';
		if (visible && record.tokens && freshness(record.tokens, options.refreshLeeway, now()) !== 'fresh') {
			ensureFresh(record.generation);
		}
	};

	const onPageHide = () => {
		if (local) {
			channel.post({kind: 'refresh-abandoned', generation: local.from});
		}
	};

	const listen = (target: EventTarget | undefined, type: string, listener: () => void) => {
		if (target && typeof target.addEventListener === 'function') {
			target.addEventListener(type, listener);
			cleanups.push(() => {
				target.removeEventListener(type, listener);
			});
		}
	};

	const {document, window} = globalThis as {document?: Document; window?: Window};
	listen(document, 'visibilitychange', onWake);
	listen(window, 'online', onWake);
	listen(window, 'pageshow', onWake);
	listen(window, 'focus', onWake);
	listen(window, 'pagehide', onPageHide);
	channel.post({kind: 'hello'});

	return {
		api,
		async login(tokens) {
			checkOpen();
			const next: SessionRecord = {generation: record.generation + 1, writer: tabId, tokens: toTokenSet(tokens, now()), ended: null};
			local?.controller.abort(new LoggedOutError('logout'));
			failure = undefined;
			adopt(next);
			channel.post({kind: 'tokens', record: next});
		},
		async logout() {
			if (!closed) {
				end('logout');
			}
		},
		async refresh(refreshOptions) {
			checkOpen();
			await renew(record.generation, refreshOptions?.signal ?? new AbortController().signal);
		},
		getState: state.get,
		subscribe: state.subscribe,
		async getAccessToken(tokenOptions) {
			const lease = await acquire(tokenOptions?.signal ?? new AbortController().signal);
			return lease.accessToken;
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			if (local) {
				channel.post({kind: 'refresh-abandoned', generation: local.from});
				local.controller.abort(new SessionClosedError());
			}

			if (asked) {
				clearTimeout(asked.timer);
			}

			if (joinTimer !== undefined) {
				clearTimeout(joinTimer);
			}

			markJoined();
			refreshAlarm.clear();
			heartbeatAlarm.clear();
			stallAlarm.clear();
			waiters.rejectAll(new SessionClosedError());
			for (const cleanup of cleanups.splice(0)) {
				cleanup();
			}

			channel.close();
			publish();
			state.clear();
		},
	};

	function checkOpen() {
		if (closed) {
			throw new SessionClosedError();
		}
	}
}

