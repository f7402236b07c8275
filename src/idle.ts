import type {Clock} from './clock.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import type {MessageBody} from './protocol.js';
import {createAlarm} from './schedule.js';
import {webStorage} from './storage.js';

/**
 * Where the session hears of user activity in this page, and returns the
 * unsubscribe function. Only subscribed when `idleTimeout` is set.
 */
export type ActivityPort = (listener: () => void) => () => void;

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/** Input that means a person is at this tab. Passive capture listeners: they never delay scrolling. */
const inputEvents = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll'] as const;

export const browserActivity: ActivityPort = listener => {
	const target = (globalThis as {window?: Target}).window;
	if (typeof target?.addEventListener !== 'function') {
		return () => undefined;
	}

	const handler = () => {
		listener();
	};

	const listenerOptions = {capture: true, passive: true};
	for (const type of inputEvents) {
		target.addEventListener(type, handler, listenerOptions);
	}

	return () => {
		for (const type of inputEvents) {
			target.removeEventListener(type, handler, listenerOptions);
		}
	};
};

export interface IdleDeps {
	options: Pick<NormalizedOptions, 'idleTimeout' | 'idleWarning' | 'leaderTimeout' | 'debug'>;
	clock: Clock;
	keeper: RecordKeeper;
	/** Storage key of the last activity, beside the session's own. */
	key: string;
	isLeader(): boolean;
	post(body: MessageBody): void;
	/** No activity in any tab for `idleTimeout`: sign every tab out of `session` with the reason `idle`. */
	end(session: string): void;
	/** The session ends at `idleAt` unless a tab sees activity first. */
	warn(idleAt: number): void;
	/** Activity after a warning: the session goes on. */
	resumed(): void;
}

/**
 * The cross-tab idle limit. Every tab knows the newest activity any tab saw
 * (`lastActive`): its own input, requests through the session, a visible tab
 * focused. A tab shares its activity at most once per `shareEvery` (a tenth
 * of the limit, at most 30 s): at once after a quiet spell, so the others
 * never judge the session idle while someone is at a tab, and at the end of
 * the spell for continuous activity. Shared over the channel and in
 * localStorage, so a tab that missed messages reads it before it decides.
 * At `lastActive + idleTimeout` the leader signs every tab out; a follower
 * does so `leaderTimeout` later when no leader did. Activity that comes after
 * a longer gap (a machine that slept, a browser restarted) ends the session
 * rather than extending it.
 */
export function createIdleWatch(deps: IdleDeps) {
	const {options, clock, keeper, key} = deps;
	const {idleTimeout, idleWarning} = options;
	const shareEvery = Math.min(30_000, idleTimeout / 10);
	const storage = webStorage('localStorage');
	const shareAlarm = createAlarm(clock);
	const idleAlarm = createAlarm(clock);
	/** The session `lastActive` belongs to; '' when signed out. */
	let session = '';
	let lastActive = 0;
	/** When this tab last shared activity, and what it shared. */
	let sharedAt = Number.NEGATIVE_INFINITY;
	let sharedValue = 0;
	/** The idle moment a warning was given for; 0 for none. */
	let warnedFor = 0;

	const readStored = (): number => {
		try {
			const parsed = JSON.parse(storage?.getItem(key) ?? 'null') as {session?: unknown; at?: unknown} | null;
			return parsed?.session === session && typeof parsed.at === 'number' && Number.isFinite(parsed.at) ? Math.min(parsed.at, clock.now()) : 0;
		} catch {
			return 0;
		}
	};

	const share = () => {
		shareAlarm.clear();
		if (session === '' || lastActive <= sharedValue) {
			return;
		}

		sharedAt = clock.now();
		sharedValue = lastActive;
		deps.post({kind: 'activity', session, at: lastActive});
		try {
			storage?.setItem(key, JSON.stringify({session, at: lastActive}));
		} catch {}
	};

	/** Warning and end, from what this tab knows now. */
	function arm() {
		idleAlarm.clear();
		if (session === '') {
			return;
		}

		const idleAt = lastActive + idleTimeout;
		if (warnedFor !== 0 && idleAt > warnedFor) {
			warnedFor = 0;
			deps.resumed();
		}

		const now = clock.now();
		const warnAt = idleAt - idleWarning;
		if (idleWarning > 0 && now < warnAt) {
			idleAlarm.set(warnAt, arm);
			return;
		}

		if (idleWarning > 0 && warnedFor === 0 && now < idleAt) {
			// A tab that missed messages may find newer activity in storage.
			const stored = readStored();
			if (stored > lastActive) {
				lastActive = stored;
				arm();
				return;
			}

			warnedFor = idleAt;
			deps.warn(idleAt);
		}

		// The leader ends the session; a follower only when no leader did.
		const endAt = deps.isLeader() ? idleAt : idleAt + options.leaderTimeout;
		idleAlarm.set(Math.max(endAt, warnAt), decide);
	}

	function decide() {
		// Another tab's activity may have reached storage and not this tab.
		lastActive = Math.max(lastActive, readStored());
		const now = clock.now();
		if (now < lastActive + idleTimeout || (!deps.isLeader() && now < lastActive + idleTimeout + options.leaderTimeout)) {
			arm();
			return;
		}

		options.debug('idle: no activity in any tab', {idleTimeout, lastActiveAgo: now - lastActive});
		deps.end(session);
	}

	/** Activity after a gap longer than the limit: the session was idle all along. */
	const gapEnds = (at: number): boolean => {
		if (at - lastActive < idleTimeout) {
			return false;
		}

		lastActive = Math.max(lastActive, readStored());
		if (at - lastActive < idleTimeout) {
			return false;
		}

		options.debug('idle: activity after a longer gap than idleTimeout', {idleTimeout, gap: at - lastActive});
		deps.end(session);
		return true;
	};

	return {
		/** Activity in this tab. */
		activity() {
			const now = clock.now();
			if (session === '' || now <= lastActive || gapEnds(now)) {
				return;
			}

			lastActive = now;
			if (now - sharedAt >= shareEvery) {
				share();
			} else if (!shareAlarm.armed) {
				shareAlarm.set(sharedAt + shareEvery, share);
			}

			if (warnedFor !== 0 || !idleAlarm.armed) {
				arm();
			}
		},
		/** Another tab's activity. */
		receive(from: string, at: number) {
			const seen = Math.min(at, clock.now());
			if (from !== session || seen <= lastActive || seen - lastActive >= idleTimeout) {
				return;
			}

			lastActive = seen;
			// What this tab shared is older: nothing of its own to pass on for that moment.
			sharedValue = Math.max(sharedValue, seen);
			arm();
		},
		/** The record or the role changed. */
		sync() {
			const {record} = keeper;
			const current = record.tokens ? record.session : '';
			if (current === session) {
				// A new leader takes the end over at once; a follower keeps its grace.
				arm();
				return;
			}

			session = current;
			warnedFor = 0;
			sharedValue = 0;
			sharedAt = Number.NEGATIVE_INFINITY;
			shareAlarm.clear();
			idleAlarm.clear();
			if (session === '') {
				lastActive = 0;
				return;
			}

			// A login, or a tab that opens on a session: that is activity, unless storage says the session
			// went idle before (a browser restart, a machine that slept with every tab closed).
			const stored = readStored();
			if (stored !== 0 && clock.now() - stored >= idleTimeout) {
				lastActive = stored;
				const ended = session;
				options.debug('idle: the session was idle before this tab saw it', {idleTimeout, lastActiveAgo: clock.now() - stored});
				// Not from inside the change that brought the record here.
				queueMicrotask(() => {
					deps.end(ended);
				});
				return;
			}

			lastActive = clock.now();
			share();
			arm();
		},
		stop() {
			session = '';
			shareAlarm.clear();
			idleAlarm.clear();
		},
	};
}

export type IdleWatch = ReturnType<typeof createIdleWatch>;
