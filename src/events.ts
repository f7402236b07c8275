import type {EndReason, RefreshError} from './errors.js';
import type {SessionRecord} from './record.js';
import type {TabRole} from './state.js';

/**
 * What happened to the session, as this tab learns it. Record events
 * (`login`, `refresh`, `tokens`, `logout`) follow the record order, so every
 * tab sees them in the same order (a tab that missed a record skips its
 * events); `role`, `refresh-failed`, `idle-warning` and `active` are this tab's own.
 */
export type SessionEvent =
	/** A login: in this tab (`byThisTab`) or another. Not fired for a session a new tab finds already signed in. */
	| {type: 'login'; byThisTab: boolean}
	/** New tokens of the same session, refreshed by this tab or another. */
	| {type: 'refresh'; byThisTab: boolean}
	/** Any new access token (login, refresh, or a new tab receiving the session): reconnect a WebSocket here. */
	| {type: 'tokens'; accessToken: string; expiresAt: number | null; byThisTab: boolean}
	/** Signed out, with the reason (`endReason`). */
	| {type: 'logout'; reason: EndReason}
	/** A refresh failed without ending the session (the same error as `state.lastError`). */
	| {type: 'refresh-failed'; error: RefreshError}
	/** This tab became the leader or a follower. */
	| {type: 'role'; role: TabRole}
	/** `idleTimeout`: no activity in any tab, and the session ends at `idleAt` (epoch ms) unless some comes. */
	| {type: 'idle-warning'; idleAt: number}
	/** Activity in some tab after an `idle-warning`: the session goes on. */
	| {type: 'active'};

export type SessionEventType = SessionEvent['type'];
export type SessionEventListener<T extends SessionEventType = SessionEventType> = (event: Extract<SessionEvent, {type: T}>) => void;

const eventTypes: readonly SessionEventType[] = ['login', 'refresh', 'tokens', 'logout', 'refresh-failed', 'role', 'idle-warning', 'active'];

interface Seen {
	record: SessionRecord;
	role: TabRole;
	error: RefreshError | null;
	/** The tab is still waiting for the open tabs' first answer: what it adopts now it joins, nobody logged in. */
	joining: boolean;
}

/** The events between two views of the session, in the order they happened. */
function eventsBetween(previous: Seen, current: Seen, tabId: string): SessionEvent[] {
	const events: SessionEvent[] = [];
	const before = previous.record;
	const {record} = current;
	if (record !== before) {
		const byThisTab = record.writer === tabId;
		if (record.tokens) {
			// A new tab that joins a session: no login happened.
			if (!(current.joining && before.epoch === 0)) {
				events.push(!before.tokens || before.session !== record.session ? {type: 'login', byThisTab} : {type: 'refresh', byThisTab});
			}

			if (record.tokens.accessToken !== before.tokens?.accessToken) {
				events.push({type: 'tokens', accessToken: record.tokens.accessToken, expiresAt: record.tokens.expiresAt, byThisTab});
			}
		} else if (before.tokens) {
			events.push({type: 'logout', reason: record.ended ?? 'logout'});
		}
	}

	if (current.role !== previous.role) {
		events.push({type: 'role', role: current.role});
	}

	if (current.error && current.error !== previous.error) {
		events.push({type: 'refresh-failed', error: current.error});
	}

	return events;
}

/** Where the browser reports an uncaught error (the console, `window.onerror`), without throwing here. */
const report = (error: unknown) => {
	const {reportError, console} = globalThis as {reportError?: (error: unknown) => void; console?: Console};
	if (typeof reportError === 'function') {
		reportError(error);
	} else {
		console?.error('tab-session: an event listener threw', error);
	}
};

/**
 * `session.on(type, listener)`. A listener that throws does not stop the
 * others or the session: its error is reported as an uncaught one would be
 * (`reportError`: the console and `window.onerror`).
 */
export function createEvents(tabId: string, initial: Seen) {
	const listeners = new Map<SessionEventType, Set<(event: SessionEvent) => void>>();
	let seen = initial;

	const emit = (event: SessionEvent) => {
		for (const listener of [...listeners.get(event.type) ?? []]) {
			try {
				listener(event);
			} catch (error) {
				report(error);
			}
		}
	};

	return {
		on<T extends SessionEventType>(type: T, listener: SessionEventListener<T>): () => void {
			if (!eventTypes.includes(type)) {
				throw new TypeError(`tab-session: unknown event ${JSON.stringify(type)}; the events are ${eventTypes.join(', ')}`);
			}

			if (typeof listener !== 'function') {
				throw new TypeError(`tab-session: the listener for '${type}' must be a function`);
			}

			const set = listeners.get(type) ?? new Set();
			listeners.set(type, set);
			const entry = listener as unknown as (event: SessionEvent) => void;
			set.add(entry);
			return () => {
				set.delete(entry);
			};
		},
		/** An event that no change of the record or role shows (the idle limit's). */
		fire: emit,
		/** The session changed: fire what happened since the last call. */
		observe(current: Seen) {
			const events = eventsBetween(seen, current, tabId);
			seen = current;
			for (const event of events) {
				emit(event);
			}
		},
		clear() {
			listeners.clear();
		},
	};
}
