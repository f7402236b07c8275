import {createTabChannel} from './channel.js';
import {createCoordinator} from './coordinator.js';
import {createLeaderDuties} from './duties.js';
import {SessionClosedError} from './errors.js';
import {createGate} from './gate.js';
import {createApi, type KyInstance} from './hooks.js';
import {createJoin} from './join.js';
import {normalizeOptions, type SessionOptions} from './options.js';
import {parseMessage} from './protocol.js';
import {freshness} from './schedule.js';
import {createStateStore, type SessionState, type StateListener} from './state.js';
import {createRecordStore} from './storage.js';
import {toTokenSet, type TokenInput} from './tokens.js';
import {createWaiters} from './waiters.js';

export interface Session {
	/** A ky instance: bearer attached to authorized URLs, paused during refreshes, 401s retried once with new tokens. */
	readonly api: KyInstance;
	/** Stores the tokens and signs in every tab. Rejects with `InvalidTokensError` for unusable tokens. */
	login(tokens: TokenInput): Promise<void>;
	/** Signs out every tab: tokens cleared, waiting requests rejected with `LoggedOutError`. */
	logout(): Promise<void>;
	/** Refreshes now (once for all tabs) and resolves when the new tokens are here. */
	refresh(options?: {signal?: AbortSignal}): Promise<void>;
	/** This tab's view of the session; the same object until something changes. */
	getState(): SessionState;
	/** Calls `listener` on every state change; returns the unsubscribe function. */
	subscribe(listener: StateListener): () => void;
	/** The current access token, after any refresh under way. Rejects with `LoggedOutError` when signed out. */
	getAccessToken(options?: {signal?: AbortSignal}): Promise<string>;
	/** Leaves the election, closes the channel, stops timers and listeners. Safe to call twice. */
	close(): void;
}

const randomId = (): string => {
	// getRandomValues, unlike randomUUID, also exists on plain-http pages.
	const bytes = new Uint8Array(12);
	globalThis.crypto.getRandomValues(bytes);
	return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
};

const neverAborted = () => new AbortController().signal;

/**
 * Starts the session in this tab. Call it once per tab, with the same options
 * in every tab of the app. Throws `InvalidOptionsError` naming a bad option.
 */
export function initSession(input: SessionOptions): Session {
	const options = normalizeOptions(input);
	const {clock} = options;
	const now = () => clock.now();
	const tabId = randomId();
	const store = createRecordStore(options.storage, `tab-session:${options.namespace}`);
	const waiters = createWaiters(clock);
	const cleanups: Array<() => void> = [];

	// Late-bound: the channel can deliver only after initSession returns, and needs the coordinator.
	let post: (body: Parameters<ReturnType<typeof createTabChannel>['post']>[0]) => void = () => undefined;
	let onChange = () => undefined as void;
	let join: ReturnType<typeof createJoin> | undefined;
	const coordinator = createCoordinator({
		options,
		tabId,
		clock,
		store,
		waiters,
		post(body) {
			post(body);
		},
		onChange() {
			onChange();
		},
		onJoined() {
			join?.mark();
		},
	});
	join = createJoin(clock, store.shared || coordinator.record.tokens !== null, options.joinTimeout);

	const snapshot = (): SessionState => {
		const {record} = coordinator;
		let status: SessionState['status'] = 'unauthenticated';
		if (record.tokens) {
			status = coordinator.refreshUnderWay(record.generation) ? 'refreshing' : 'authenticated';
		}

		return {
			status,
			role: coordinator.role,
			expiresAt: record.tokens?.expiresAt ?? null,
			generation: record.generation,
			endReason: record.tokens ? null : record.ended,
			lastError: coordinator.lastError(),
			closed: coordinator.closed,
		};
	};

	const state = createStateStore(snapshot());
	const gate = createGate({coordinator, waiters, options, now, untilJoined: join.until});
	const api = createApi({
		gate,
		kyOptions: options.kyOptions,
		authStatuses: options.authStatuses,
		refreshUrl: options.refreshUrl,
		fetch: options.fetch,
	});
	let heartbeatInFlight = false;
	const duties = createLeaderDuties({
		coordinator,
		options,
		clock,
		async heartbeat() {
			// One at a time: a heartbeat paused by a slow refresh must not pile up with the next.
			if (heartbeatInFlight) {
				return;
			}

			heartbeatInFlight = true;
			try {
				// Through `api`, so a 401 refreshes and retries like any request.
				const response = await api.get(options.heartbeatUrl!, {throwHttpErrors: false});
				void response.body?.cancel().catch(() => undefined);
			} catch {
				// A failed heartbeat changes nothing; the next one tries again.
			} finally {
				heartbeatInFlight = false;
			}
		},
	});
	onChange = () => {
		state.update(snapshot());
		duties.reschedule();
	};

	const channel = createTabChannel({
		name: `tab-session:${options.namespace}`,
		tabId,
		method: options.broadcastMethod,
		onMessage(data) {
			const message = parseMessage(data);
			if (message) {
				coordinator.receive(message);
			}
		},
		onLeadership(isLeader) {
			coordinator.setLeader(isLeader);
		},
	});
	post = channel.post;

	const onWake = () => {
		if (coordinator.closed) {
			return;
		}

		coordinator.adoptStored();
		duties.reschedule();
		// Any visible tab may notice an expiry the (possibly throttled) leader has not acted on yet.
		const {record} = coordinator;
		const visible = (globalThis as {document?: Document}).document?.visibilityState !== 'hidden';
		if (visible && record.tokens && freshness(record.tokens, options.refreshLeeway, now()) !== 'fresh') {
			coordinator.ensureFresh(record.generation);
		}
	};

	const onOnline = () => {
		coordinator.forgetFailure();
		onWake();
	};

	const stopLifecycle = options.lifecycle?.(event => {
		if (event.type === 'online') {
			onOnline();
		} else if (event.type === 'pagehide') {
			coordinator.pageHidden();
		} else if (event.type !== 'offline' && event.type !== 'freeze' && event.type !== 'resume') {
			onWake();
		}
	});
	if (stopLifecycle) {
		cleanups.push(stopLifecycle);
	}

	post({kind: 'hello'});

	const checkOpen = () => {
		if (coordinator.closed) {
			throw new SessionClosedError();
		}
	};

	return {
		api,
		async login(tokens) {
			checkOpen();
			const tokenSet = toTokenSet(tokens, now());
			// A tab that just opened first learns the current generation from the others,
			// so that its login (or logout) is newer than the session they hold.
			await join.until(neverAborted());
			checkOpen();
			coordinator.login(tokenSet);
		},
		async logout() {
			await join.until(neverAborted());
			if (!coordinator.closed) {
				coordinator.end('logout');
			}
		},
		async refresh(refreshOptions) {
			checkOpen();
			await gate.renew(coordinator.record.generation, refreshOptions?.signal ?? neverAborted());
		},
		getState: state.get,
		subscribe: state.subscribe,
		async getAccessToken(tokenOptions) {
			const lease = await gate.acquire(tokenOptions?.signal ?? neverAborted());
			return lease.accessToken;
		},
		close() {
			if (coordinator.closed) {
				return;
			}

			coordinator.close();
			join.mark();
			duties.stop();
			for (const cleanup of cleanups.splice(0)) {
				cleanup();
			}

			channel.close();
			state.update(snapshot());
			state.clear();
		},
	};
}
