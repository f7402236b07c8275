import type {EndReason, RefreshError} from './errors.js';

/** `restoring`: signed out so far, while a restore (see the `restore` option) is under way. */
export type SessionStatus = 'authenticated' | 'refreshing' | 'unauthenticated' | 'restoring';
export type TabRole = 'leader' | 'follower';

/** A snapshot of one tab's view of the session. The same object until something changes. */
export interface SessionState {
	readonly status: SessionStatus;
	/** Whether this tab runs the session's timers and refreshes for all tabs. */
	readonly role: TabRole;
	/** When the access token expires, epoch ms; null when signed out or unknown. */
	readonly expiresAt: number | null;
	/** Grows with every login, refresh and logout; equal in tabs that agree. */
	readonly generation: number;
	/** Why the session ended, while signed out after a session. */
	readonly endReason: EndReason | null;
	/** The last refresh failure that did not end the session; cleared by new tokens. */
	readonly lastError: RefreshError | null;
	/** True once `close()` ran. */
	readonly closed: boolean;
}

export type StateListener = (state: SessionState) => void;

/** Fits React's `useSyncExternalStore`: `get` is stable between changes. */
export function createStateStore(initial: SessionState) {
	let current = Object.freeze({...initial});
	const listeners = new Set<StateListener>();

	return {
		get: () => current,
		update(next: SessionState) {
			const keys = Object.keys(next) as Array<keyof SessionState>;
			if (keys.every(key => Object.is(next[key], current[key]))) {
				return;
			}

			current = Object.freeze({...next});
			for (const listener of [...listeners]) {
				try {
					listener(current);
				} catch (error) {
					// One broken listener must not stop the others or the session.
					queueMicrotask(() => {
						throw error;
					});
				}
			}
		},
		subscribe(listener: StateListener): () => void {
			if (typeof listener !== 'function') {
				throw new TypeError('subscribe expects a function');
			}

			listeners.add(listener);
			return () => {
				listeners.delete(listener);
			};
		},
		clear() {
			listeners.clear();
		},
	};
}
