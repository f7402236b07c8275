import {createAdoption} from './adoption.js';
import type {Clock} from './clock.js';
import {createRefreshDriver} from './driver.js';
import {SessionClosedError, type RefreshError} from './errors.js';
import type {Failure, FailureLog} from './failures.js';
import {createInbox} from './inbox.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import {createPeers} from './peers.js';
import type {Message, MessageBody} from './protocol.js';
import {loginRecord, logoutRecord, refOf} from './record.js';
import type {RefreshRun} from './refresh-run.js';
import type {Resync} from './resync.js';
import {freshness, refreshLead} from './schedule.js';
import type {TabRole} from './state.js';
import type {RecordStore} from './storage.js';
import type {TokenSet} from './tokens.js';
import type {Waiters} from './waiters.js';

export interface CoordinatorDeps {
	options: NormalizedOptions;
	tabId: string;
	clock: Clock;
	keeper: RecordKeeper;
	waiters: Waiters;
	failures: FailureLog;
	resync: Resync;
	run: RefreshRun;
	store: Pick<RecordStore, 'failed'>;
	post(body: MessageBody): void;
	/** A random id for a new session. */
	newSessionId(): string;
}

/**
 * One tab's part in the session, put together: what a new record means
 * (adoption.ts), this tab's refreshes (driver.ts), what the other tabs say
 * (inbox.ts) and what the app and the page do. Only the leader refreshes,
 * unless it stays silent and Web Locks guard a follower's refresh.
 */
export function createCoordinator(deps: CoordinatorDeps) {
	const {options, tabId, clock, keeper, waiters, failures, resync, post} = deps;
	const listeners = new Set<() => void>();
	let role: TabRole = 'follower';
	let closed = false;
	const changed = () => {
		for (const listener of listeners) {
			listener();
		}
	};

	const isLeader = () => role === 'leader';
	const peers = createPeers({clock, options, post});
	const offer = createAdoption({tabId, keeper, peers, waiters, failures, debug: options.debug, changed});
	const driver = createRefreshDriver({options, clock, keeper, peers, waiters, failures, resync, run: deps.run, offer, post, isLeader, isClosed: () => closed, changed});

	/** Storage may hold news: a newer record, the end of the session, or newer tokens this tab must ask for. */
	const readStorage = () => {
		const news = keeper.stored();
		if (news.record) {
			driver.adopt(news.record);
		}

		if (news.behind) {
			resync.ask(false);
		}
	};

	const receive = createInbox({tabId, keeper, peers, waiters, failures, resync, driver, debug: options.debug, post, isLeader, readStorage, changed});

	/** The tab woke: storage may hold news; a visible tab notices an expiry a throttled leader has not acted on. */
	const wake = (visible: boolean) => {
		if (closed) {
			return;
		}

		readStorage();
		changed();
		const {tokens} = keeper.record;
		if (visible && tokens && freshness(tokens, options.refreshLeeway, clock.now()) !== 'fresh') {
			driver.ensureFresh();
		}
	};

	return {
		get role(): TabRole {
			return role;
		},
		get closed() {
			return closed;
		},
		refreshUnderWay: driver.underWay,
		tokenUsable: driver.tokenUsable,
		ensureFresh: driver.ensureFresh,
		reconsider: driver.reconsider,
		wake,
		/** The failure of the current record's last refresh, cooldown or not. */
		failure: (): Failure | undefined => failures.of(keeper.record),
		/** The last failure of the current record, for the state snapshot. */
		lastError: (): RefreshError | null => failures.of(keeper.record)?.error ?? null,
		/** When the leader should refresh; null when there is nothing to schedule. */
		refreshDueAt(): number | null {
			const {tokens} = keeper.record;
			if (!tokens || tokens.expiresAt === null || driver.running) {
				return null;
			}

			const at = tokens.expiresAt - refreshLead(tokens, options.refreshLeeway);
			return Math.max(at, failures.of(keeper.record)?.retryAt ?? at);
		},
		receive(message: Message) {
			if (!closed) {
				receive(message);
			}
		},
		setLeader(isLeaderNow: boolean) {
			if (closed) {
				return;
			}

			const next: TabRole = isLeaderNow ? 'leader' : 'follower';
			if (next !== role) {
				options.debug(isLeaderNow ? 'this tab is now the leader' : 'this tab is now a follower', {tab: tabId});
			}

			role = next;
			changed();
			// A refresh the previous leader left unfinished, or one a tab asked for meanwhile, is ours now.
			// Without Web Locks nothing stops two refreshes at once: a refresh announced within
			// `leaderTimeout` may be a live tab's (a claim made before its heartbeat was heard), and is
			// left to finish or stall.
			const {record} = keeper;
			const age = peers.remoteAge();
			const takeOver = age !== undefined && (options.locks !== null || age >= options.leaderTimeout);
			if (isLeaderNow && record.tokens && (takeOver || peers.wants(record) || waiters.size > 0)) {
				if (takeOver) {
					peers.forgetRemote();
				}

				driver.ensureFresh();
			}
		},
		/** The network is back: a refresh failure seen while offline says nothing about now. */
		online() {
			if (failures.clear()) {
				changed();
			}

			// Every tab hears `online`; none keeps to a cooldown the fence still reports.
			if (keeper.record.tokens) {
				deps.store.failed(refOf(keeper.record), null);
			}

			wake(true);
		},
		login(tokens: TokenSet) {
			failures.clear();
			const record = loginRecord(keeper.next(), deps.newSessionId(), tokens);
			driver.adopt(record);
			post({kind: 'tokens', record});
		},
		/** Ends the session every tab holds: a new epoch, so it wins over logins this tab may have missed. */
		logout(reason: 'logout' | 'idle' = 'logout') {
			const record = logoutRecord(keeper.next(), keeper.record, reason);
			driver.adopt(record);
			post({kind: 'logout', record});
		},
		/** The page is going away (maybe into the back/forward cache): another tab may take the refresh over. */
		pageHidden: driver.abandon,
		subscribe(listener: () => void) {
			listeners.add(listener);
		},
		close() {
			if (closed) {
				return;
			}

			closed = true;
			driver.close();
			peers.clear();
			waiters.rejectAll(new SessionClosedError());
			listeners.clear();
		},
	};
}

export type Coordinator = ReturnType<typeof createCoordinator>;
