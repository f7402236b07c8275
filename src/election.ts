import type {Clock} from './clock.js';
import type {LockManagerLike} from './locks.js';
import type {ElectionMessage, MessageBody} from './protocol.js';

export interface Election {
	/** Competes for leadership; again after `stop`. */
	start(): void;
	/** Leaves the election, handing leadership over at once (close, freeze, pagehide). */
	stop(): void;
	receive(message: ElectionMessage): void;
	readonly leading: boolean;
	/** Called with every change of `leading`. */
	subscribe(listener: (leading: boolean) => void): void;
}

export interface ElectionDeps {
	locks: LockManagerLike | null;
	/** The Web Lock held by the leader. */
	lockName: string;
	tabId: string;
	clock: Clock;
	post(body: MessageBody): void;
}

// The message election: a leader says so every second; three silent seconds
// and the others claim; a claim stands when no leader and no higher claimant
// answered within the window.
const heartbeatInterval = 1000;
const silenceLimit = 3000;
const claimWindow = 200;

/**
 * Where Web Locks exist, the leader is the tab holding one lock: never two,
 * and the browser hands it on the moment its holder closes or crashes. It is
 * released on `stop`, not on unload: no `unload` listener, which would keep
 * the page out of the back/forward cache.
 */
function lockElection(locks: LockManagerLike, name: string, emit: (leading: boolean) => void) {
	let stopper: AbortController | undefined;
	let release: (() => void) | undefined;
	let leading = false;

	return {
		start() {
			if (stopper) {
				return;
			}

			const controller = new AbortController();
			stopper = controller;
			locks.request(name, {signal: controller.signal}, async () => {
				// Stopped while the grant was on its way: let it go at once.
				if (controller.signal.aborted) {
					return;
				}

				leading = true;
				emit(true);
				await new Promise<void>(resolve => {
					release = resolve;
				});
			}).catch(() => undefined);
		},
		stop() {
			stopper?.abort();
			stopper = undefined;
			release?.();
			release = undefined;
			if (leading) {
				leading = false;
				emit(false);
			}
		},
		receive() {
			// The lock decides.
		},
		get leading() {
			return leading;
		},
	};
}

/**
 * Without Web Locks (plain-http hosts other than localhost), leadership is
 * agreed over the channel. Two leaders can happen (a tab that stopped
 * hearing the others); when they hear each other, the one that led first
 * stays, the same way in both tabs.
 */
function messageElection(deps: Pick<ElectionDeps, 'tabId' | 'clock' | 'post'>, emit: (leading: boolean) => void) {
	const {tabId, clock, post} = deps;
	let running = false;
	let leadingSince: number | undefined;
	let leader: {id: string; at: number} | undefined;
	let claim: {heard: boolean; rivals: Set<string>} | undefined;
	/** Claims heard lately, also while not claiming: a claim started just after another's must know of it. */
	const claims = new Map<string, number>();
	let timer: unknown;

	const schedule = (ms: number, callback: () => void) => {
		clock.clearTimeout(timer);
		timer = clock.setTimeout(callback, ms);
	};

	const beat = () => {
		schedule(heartbeatInterval, () => {
			post({kind: 'leader', since: leadingSince!});
			beat();
		});
	};

	const watch = () => {
		schedule(heartbeatInterval, () => {
			if (!leader || clock.now() - leader.at > silenceLimit) {
				startClaim();
			} else {
				watch();
			}
		});
	};

	function startClaim() {
		const now = clock.now();
		for (const [from, at] of claims) {
			if (now - at > claimWindow) {
				claims.delete(from);
			}
		}

		const current = {heard: false, rivals: new Set(claims.keys())};
		claim = current;
		post({kind: 'claim'});
		schedule(claimWindow, () => {
			claim = undefined;
			if (current.heard || [...current.rivals].some(rival => rival > tabId)) {
				watch();
				return;
			}

			leadingSince = clock.now();
			leader = undefined;
			post({kind: 'leader', since: leadingSince});
			emit(true);
			beat();
		});
	}

	const stepDown = () => {
		leadingSince = undefined;
		emit(false);
		watch();
	};

	return {
		start() {
			if (!running) {
				running = true;
				startClaim();
			}
		},
		stop() {
			if (!running) {
				return;
			}

			running = false;
			clock.clearTimeout(timer);
			claim = undefined;
			leader = undefined;
			if (leadingSince !== undefined) {
				leadingSince = undefined;
				post({kind: 'resign'});
				emit(false);
			}
		},
		receive(message: ElectionMessage) {
			if (!running) {
				return;
			}

			if (message.kind === 'leader') {
				leader = {id: message.from, at: clock.now()};
				if (claim) {
					claim.heard = true;
				}

				if (leadingSince !== undefined) {
					const theirsFirst = message.since < leadingSince || (message.since === leadingSince && message.from > tabId);
					if (theirsFirst) {
						stepDown();
					} else {
						post({kind: 'leader', since: leadingSince});
					}
				}
			} else if (message.kind === 'claim') {
				if (leadingSince === undefined) {
					claims.set(message.from, clock.now());
					// A claimant that opened after this claim was sent never heard it: it hears it now.
					if (claim && !claim.rivals.has(message.from) && message.from < tabId) {
						post({kind: 'claim'});
					}

					claim?.rivals.add(message.from);
				} else {
					post({kind: 'leader', since: leadingSince});
				}
			} else if (leader?.id === message.from) {
				// The leader resigned: elect now rather than after the silence limit.
				leader = undefined;
				if (claim) {
					claim.heard = false;
				} else {
					startClaim();
				}
			}
		},
		get leading() {
			return leadingSince !== undefined;
		},
	};
}

/** This tab's part in electing the one tab that runs the timers and refreshes. */
export function createElection(deps: ElectionDeps): Election {
	const listeners = new Set<(leading: boolean) => void>();
	const emit = (leading: boolean) => {
		for (const listener of listeners) {
			listener(leading);
		}
	};

	const elector = deps.locks ? lockElection(deps.locks, deps.lockName, emit) : messageElection(deps, emit);
	return {
		start: elector.start,
		stop: elector.stop,
		receive: elector.receive,
		get leading() {
			return elector.leading;
		},
		subscribe(listener) {
			listeners.add(listener);
		},
	};
}
