import {bounded} from './abort.js';
import {createTabChannel} from './channel.js';
import {createCoordinator, type Coordinator} from './coordinator.js';
import {createLeaderDuties} from './duties.js';
import {createElection, type Election} from './election.js';
import {InvalidTokensError, SessionClosedError} from './errors.js';
import {createFailureLog} from './failures.js';
import {createGate} from './gate.js';
import {createApi, type KyInstance} from './hooks.js';
import {createEvents, type SessionEventListener, type SessionEventType} from './events.js';
import {createIdleWatch, type IdleWatch} from './idle.js';
import {createRecordKeeper, type RecordKeeper} from './keeper.js';
import {createRestore} from './restore.js';
import type {LifecycleEvent} from './lifecycle.js';
import {normalizeOptions, type NormalizedOptions, type SessionOptions} from './options.js';
import {parseMessage} from './protocol.js';
import {createRefreshRun} from './refresh-run.js';
import {createRefresher} from './refresher.js';
import {createResync, type Resync} from './resync.js';
import {createStateStore, type SessionState, type StateListener} from './state.js';
import {createRecordStore} from './storage.js';
import {toTokenSet, unusableLifetime, type TokenDetails, type TokenInput, type TokenSet} from './tokens.js';
import {createWaiters} from './waiters.js';

export interface Session {
	/** A ky instance: bearer attached to authorized URLs, paused during refreshes, 401s retried once with new tokens. */
	readonly api: KyInstance;
	/** Stores the tokens and signs in every tab. Rejects with `InvalidTokensError` for unusable tokens. */
	login(tokens: TokenInput): Promise<void>;
	/** Signs out every tab: tokens cleared, waiting requests rejected with `LoggedOutError`. */
	logout(): Promise<void>;
	/**
	 * Refreshes now (once for all tabs) and resolves when the new tokens are here. With `ifToken`,
	 * only if that access token is still the current one: an interceptor's 401 handler passes the
	 * token its request carried, so that tabs and requests that met the same revocation share one refresh.
	 */
	refresh(options?: {signal?: AbortSignal | null | undefined; ifToken?: string | undefined}): Promise<void>;
	/**
	 * A drop-in `fetch` with the guarantees of `api`: the bearer on authorized URLs only, the pause
	 * during refreshes, one retry of a 401 with newer tokens, the same bounds and errors. HTTP errors
	 * resolve as responses, as with `fetch`; the session's own errors reject.
	 */
	fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
	/** This tab's view of the session; the same object until something changes. */
	getState(): SessionState;
	/** Calls `listener` on every state change; returns the unsubscribe function. */
	subscribe(listener: StateListener): () => void;
	/**
	 * Calls `listener` on each event of `type` (`login`, `refresh`, `tokens`, `logout`, `refresh-failed`,
	 * `role`); returns the unsubscribe function. Record events come in the same order in every tab.
	 */
	on<T extends SessionEventType>(type: T, listener: SessionEventListener<T>): () => void;
	/** The current access token, after any refresh under way. Rejects with `LoggedOutError` when signed out. */
	getAccessToken(options?: {signal?: AbortSignal | null | undefined}): Promise<string>;
	/**
	 * The current tokens as the app may use them (never the refresh token): the access token, its
	 * expiry, and the `idToken`, `scope`, `tokenType` and `extra` of the last token response that had them.
	 */
	getTokens(options?: {signal?: AbortSignal | null | undefined}): Promise<AppTokens>;
	/**
	 * Activity the page's input does not show (a video playing, a long form read): keeps the
	 * session from the `idleTimeout` end, in every tab. Does nothing without `idleTimeout`.
	 */
	markActive(): void;
	/** Leaves the election, closes the channel, stops timers and listeners. Safe to call twice. */
	close(): void;
	/**
	 * Resolves once this tab knows where it stands: the open tabs answered (or none is open) and a
	 * restore, if one ran, is over. Never rejects; `getState().status` says the outcome.
	 */
	readonly ready: Promise<void>;
}

/** What `getTokens` gives the app. */
export interface AppTokens extends TokenDetails {
	accessToken: string;
	expiresAt: number | null;
}

const randomId = (): string => {
	// getRandomValues, unlike randomUUID, also exists on plain-http pages.
	const bytes = new Uint8Array(12);
	globalThis.crypto.getRandomValues(bytes);
	return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
};

const neverAborted = () => new AbortController().signal;

/**
 * The logout request, once every tab is signed out: no refresh can rotate past the token it
 * names any more. Bounded by `refreshTimeout`; `keepalive` lets it outlive a navigation to the
 * login page. Whatever happens, it only ever gets logged.
 */
async function sendLogout(options: NormalizedOptions, tokens: TokenSet): Promise<void> {
	const {clock, debug} = options;
	const limits = {ms: options.refreshTimeout, timeoutReason: () => new DOMException(`no answer within ${options.refreshTimeout} ms`, 'TimeoutError')};
	try {
		await bounded(clock, limits, async signal => {
			const request = options.logoutRequest!({accessToken: tokens.accessToken, refreshToken: tokens.refreshToken});
			if (!request) {
				return;
			}

			const url = new URL(request.url, options.refreshUrl);
			const response = await options.fetch(url.href, {
				method: request.method ?? 'POST',
				headers: request.headers ?? {},
				body: request.body ?? null,
				credentials: request.credentials ?? 'same-origin',
				keepalive: true,
				signal,
			});
			void response.body?.cancel().catch(() => undefined);
			debug(response.ok ? 'logout request answered' : 'logout request refused; every tab is signed out all the same', {url: url.href, status: response.status});
		});
	} catch (error) {
		debug('logout request failed; every tab is signed out all the same', {error: error instanceof Error ? error.name : typeof error});
	}
}

/** What `fetch(request)` would send, as init for ky. */
async function requestInit(request: Request): Promise<RequestInit> {
	const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
	return {
		method: request.method,
		headers: request.headers,
		credentials: request.credentials,
		signal: request.signal,
		...hasBody ? {body: await request.clone().blob()} : {},
	};
}

/** Namespaces with a session open in this page, and those already warned about. */
const openHere = new Map<string, number>();
const warned = new Set<string>();

/**
 * A second session for a namespace in one page acts as another tab: two elections, two sets of
 * timers. Hot reload and React's strict mode do it for a moment, so this warns (once) rather than throw.
 * Not with an app-supplied `broadcastMethod`: then several sessions in one page are several tabs on purpose.
 */
function countOpen(namespace: string): () => void {
	const count = (openHere.get(namespace) ?? 0) + 1;
	openHere.set(namespace, count);
	if (count > 1 && !warned.has(namespace)) {
		warned.add(namespace);
		globalThis.console?.warn?.(`tab-session: initSession was called again for namespace '${namespace}' while a session of it is open in this page; `
			+ 'each one acts as a separate tab. Create the session once (a module of its own) and import it where it is needed, '
			+ 'or close() the first before creating another.');
	}

	let counted = true;
	return () => {
		if (counted) {
			counted = false;
			openHere.set(namespace, (openHere.get(namespace) ?? 1) - 1);
		}
	};
}

/** The parts of one tab's session, built in dependency order. */
function assemble(options: NormalizedOptions) {
	const {clock, debug} = options;
	const tabId = randomId();
	const name = `tab-session:${options.namespace}`;
	const channel = createTabChannel({name, tabId, method: options.broadcastMethod});
	const store = createRecordStore(options.storage, name, debug);
	const keeper = createRecordKeeper({tabId, clock, store});
	const resync = createResync({clock, joinTimeout: options.joinTimeout, post: channel.post});
	const waiters = createWaiters(clock);
	const failures = createFailureLog(clock, options.refreshRetryDelay);
	const refresher = createRefresher(options, clock);
	const run = createRefreshRun({options, tabId, clock, refresher, store, keeper, nextRetryAt: failures.next});
	const coordinator = createCoordinator({options, tabId, clock, keeper, waiters, failures, resync, run, store, post: channel.post, newSessionId: randomId});
	const restore = createRestore({options, clock, keeper, store, refresher, login: coordinator.login});
	const election = createElection({locks: options.locks, lockName: `${name}:leader`, tabId, clock, post: channel.post});
	const events = createEvents(tabId, {record: keeper.record, role: coordinator.role, error: coordinator.lastError(), joining: true});
	const idle = options.idleTimeout > 0 ? createIdleWatch({
		options,
		clock,
		keeper,
		key: `${name}:active`,
		isLeader: () => coordinator.role === 'leader',
		post: channel.post,
		end: session => {
			endIdle(options, keeper, coordinator, session);
		},
		warn: idleAt => {
			events.fire({type: 'idle-warning', idleAt});
		},
		resumed: () => {
			events.fire({type: 'active'});
		},
	}) : undefined;
	const gate = createGate({coordinator, keeper, waiters, resync, options, clock, activity: idle?.activity});
	const api = createApi({gate, kyOptions: options.kyOptions, authStatuses: options.authStatuses, refreshUrl: options.refreshUrl, fetch: options.fetch});
	return {tabId, channel, store, keeper, resync, coordinator, election, gate, api, restore, events, idle};
}

/** The idle limit ends `session` in every tab, and tells the server as a logout would. */
function endIdle(options: NormalizedOptions, keeper: RecordKeeper, coordinator: Coordinator, session: string) {
	const {tokens, session: current} = keeper.record;
	if (coordinator.closed || !tokens || current !== session) {
		return;
	}

	coordinator.logout('idle');
	if (options.logoutRequest) {
		void sendLogout(options, tokens);
	}
}

/** This tab's view of the session, for `getState`. */
function snapshotOf(keeper: RecordKeeper, coordinator: Coordinator, restoring: boolean): SessionState {
	const {record} = keeper;
	let status: SessionState['status'] = restoring ? 'restoring' : 'unauthenticated';
	if (record.tokens) {
		status = coordinator.refreshUnderWay() ? 'refreshing' : 'authenticated';
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
}

/** The leader's heartbeat: through `api`, so a 401 refreshes and retries like any request; one at a time. */
function heartbeatThrough(api: KyInstance, url: URL | null) {
	let inFlight = false;
	return async () => {
		// A heartbeat paused by a slow refresh must not pile up with the next.
		if (inFlight || !url) {
			return;
		}

		inFlight = true;
		try {
			// Not activity: the leader's own timer must not keep an idle session alive.
			const response = await api.get(url, {throwHttpErrors: false, context: {activity: false}});
			void response.body?.cancel().catch(() => undefined);
		} catch {
			// A failed heartbeat changes nothing; the next one tries again.
		} finally {
			inFlight = false;
		}
	};
}

/** What the page's lifecycle means for the session. */
function followPage(parts: {resync: Resync; election: Election; coordinator: Coordinator; keeper: RecordKeeper; idle: IdleWatch | undefined}) {
	const {resync, election, coordinator, keeper, idle} = parts;
	let visible = (globalThis as {document?: Document}).document?.visibilityState !== 'hidden';
	/** Back from the back/forward cache or a freeze: what this tab holds may be stale. */
	const cameBack = () => {
		keeper.markMissed();
		resync.ask(true);
		election.start();
		coordinator.wake(visible);
	};

	return (event: LifecycleEvent) => {
		switch (event.type) {
			case 'visible':
			case 'hidden': {
				visible = event.type === 'visible';
				if (visible) {
					// A cheap check for messages lost while the tab was in the background.
					resync.ask(false);
					coordinator.wake(true);
					idle?.activity();
				}

				break;
			}

			case 'focus': {
				coordinator.wake(visible);
				if (visible) {
					idle?.activity();
				}

				break;
			}

			case 'online': {
				coordinator.online();
				break;
			}

			case 'pageshow': {
				if (event.persisted) {
					cameBack();
				} else {
					coordinator.wake(visible);
				}

				break;
			}

			case 'resume': {
				cameBack();
				break;
			}

			case 'pagehide': {
				coordinator.pageHidden();
				election.stop();
				break;
			}

			case 'freeze': {
				// A frozen page runs no timers but keeps its locks (and Chromium still delivers its
				// channel messages): hand leadership and any refresh between attempts over now.
				coordinator.pageHidden();
				election.stop();
				break;
			}

			case 'offline': {
				break;
			}
		}
	};
}

/**
 * Starts the session in this tab. Call it once per tab, with the same options
 * in every tab of the app. Throws `InvalidOptionsError` naming a bad option,
 * and `UnsupportedError` where the browser cannot coordinate tabs.
 */
export function initSession(input: SessionOptions): Session {
	const options = normalizeOptions(input);
	const {clock} = options;
	const {tabId, channel, store, keeper, resync, coordinator, election, gate, api, restore, events, idle} = assemble(options);
	// Several sessions over an app-supplied transport are several tabs on purpose (tests, frames).
	const uncount = options.broadcastMethod ? () => undefined : countOpen(options.namespace);
	if (options.refreshUrl.origin !== globalThis.location?.origin) {
		options.debug('refreshUrl is on another origin: the endpoint must answer CORS preflights for this origin (and allow credentials for cookies)', {refreshUrl: options.refreshUrl.origin});
	}

	let restoring = false;
	const snapshot = () => snapshotOf(keeper, coordinator, restoring);
	const state = createStateStore(snapshot());
	let joining = true;
	const seen = () => ({record: keeper.record, role: coordinator.role, error: coordinator.lastError(), joining});
	const duties = createLeaderDuties({coordinator, keeper, options, clock, heartbeat: heartbeatThrough(api, options.heartbeatUrl)});

	coordinator.subscribe(() => {
		state.update(snapshot());
		duties.reschedule();
		events.observe(seen());
		idle?.sync();
	});
	election.subscribe(coordinator.setLeader);
	resync.subscribe(coordinator.reconsider);
	channel.listen(data => {
		const message = parseMessage(data);
		if (message?.kind === 'leader' || message?.kind === 'claim' || message?.kind === 'resign') {
			election.receive(message);
		} else if (message?.kind === 'activity') {
			idle?.receive(message.session, message.at);
		} else if (message) {
			coordinator.receive(message);
		}
	});

	const stopLifecycle = options.lifecycle?.(followPage({resync, election, coordinator, keeper, idle}));
	const stopActivity = idle && options.activity?.(idle.activity);
	// Read what storage knows (a fence may say the session ended), then ask the open tabs.
	coordinator.wake(false);
	resync.ask(!(store.shared || keeper.record.tokens !== null) || keeper.stored().behind);
	joining = !resync.joined;
	resync.subscribe(() => {
		joining = false;
	});
	election.start();
	idle?.sync();

	const stopRestore = new AbortController();
	// With a restore to come the tab says `restoring` from the start, not a signed-out moment first.
	restoring = options.restore && restore.wanted();
	state.update(snapshot());
	const ready = (async () => {
		await resync.until(stopRestore.signal).catch(() => undefined);
		if (!restoring || coordinator.closed || !restore.wanted()) {
			return;
		}

		try {
			const outcome = await restore.run(stopRestore.signal);
			options.debug('restore', {outcome});
		} catch {
			// Closed meanwhile, or the lock wait gave up: signed out, as before.
		}
	})().finally(() => {
		restoring = false;
		if (!coordinator.closed) {
			state.update(snapshot());
		}
	});

	const checkOpen = () => {
		if (coordinator.closed) {
			throw new SessionClosedError();
		}
	};

	return {
		api,
		async login(tokens) {
			checkOpen();
			const tokenSet = toTokenSet(tokens, clock.now());
			const problem = unusableLifetime(tokenSet);
			if (problem) {
				throw new InvalidTokensError(problem);
			}

			// A tab that just opened first learns the current record from the others.
			await resync.until(neverAborted());
			checkOpen();
			coordinator.login(tokenSet);
		},
		async logout() {
			await resync.until(neverAborted());
			if (coordinator.closed) {
				return;
			}

			const ended = keeper.record.tokens;
			coordinator.logout();
			if (ended && options.logoutRequest) {
				await sendLogout(options, ended);
			}
		},
		async refresh(refreshOptions) {
			checkOpen();
			const ifToken = refreshOptions?.ifToken;
			if (ifToken !== undefined && typeof ifToken !== 'string') {
				throw new TypeError('tab-session: refresh({ifToken}) takes the access token a request carried, a string');
			}

			const current = keeper.record.tokens?.accessToken;
			if (ifToken !== undefined && current !== undefined && current !== ifToken) {
				// Newer tokens are here already: another request or tab refreshed.
				return;
			}

			await gate.renew(keeper.version, refreshOptions?.signal ?? neverAborted());
		},
		// No `this`: `const {fetch} = session` works.
		fetch: async (input, init) => api(input instanceof Request ? input.url : String(input), {
			// A Request's own fields, then init over them, as fetch(request, init) does. Its body is read
			// into a Blob: a retry after a 401 sends it again, which a stream could not.
			...input instanceof Request ? await requestInit(input) : {},
			...init,
			// fetch's own semantics: no prefix, no timeout, no retries but the session's 401 one, HTTP errors resolved.
			prefixUrl: '',
			timeout: false,
			retry: 0,
			throwHttpErrors: false,
		}),
		ready,
		markActive() {
			idle?.activity();
		},
		getState: state.get,
		subscribe: state.subscribe,
		on: events.on,
		async getAccessToken(tokenOptions) {
			const lease = await gate.acquire(tokenOptions?.signal ?? neverAborted());
			return lease.accessToken;
		},
		async getTokens(tokenOptions) {
			const lease = await gate.acquire(tokenOptions?.signal ?? neverAborted());
			const held = keeper.record.tokens?.accessToken === lease.accessToken ? keeper.record.tokens : undefined;
			const {idToken, scope, tokenType, extra, expiresAt = null}: Partial<TokenSet> = held ?? {};
			return {
				accessToken: lease.accessToken,
				expiresAt,
				...idToken === undefined ? {} : {idToken},
				...scope === undefined ? {} : {scope},
				...tokenType === undefined ? {} : {tokenType},
				...extra === undefined ? {} : {extra: structuredClone(extra)},
			};
		},
		close() {
			if (coordinator.closed) {
				return;
			}

			stopRestore.abort(new SessionClosedError());
			coordinator.close();
			uncount();
			resync.mark();
			duties.stop();
			idle?.stop();
			stopLifecycle?.();
			stopActivity?.();
			election.stop();
			channel.close();
			state.update(snapshot());
			state.clear();
			events.clear();
		},
	};
}
