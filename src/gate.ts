import type {Clock} from './clock.js';
import type {Coordinator} from './coordinator.js';
import {LoggedOutError, OAuthError, PauseTimeoutError, RefreshFailedError, SessionClosedError} from './errors.js';
import type {AuthGate, WaitBudget} from './hooks.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import type {Resync} from './resync.js';
import {freshness} from './schedule.js';
import type {TokenSet} from './tokens.js';
import type {Waiters} from './waiters.js';

export interface GateDeps {
	coordinator: Coordinator;
	keeper: RecordKeeper;
	waiters: Waiters;
	resync: Resync;
	options: Pick<NormalizedOptions, 'pauseTimeout' | 'refreshLeeway' | 'isAuthorized' | 'debug'>;
	clock: Clock;
	/** A request went out: activity, for the idle limit. */
	activity?: (() => void) | undefined;
}

/**
 * The request side of the pause gate: what a request (or `getAccessToken`)
 * waits for before it goes out, and after a 401. `pauseTimeout` bounds the
 * time one request spends waiting, all its waits together, and nothing
 * else: its own network time is the app's `timeout`'s business.
 */
export function createGate(deps: GateDeps): AuthGate {
	const {coordinator, keeper, waiters, resync, options, clock} = deps;

	const signedIn = (): TokenSet => {
		if (coordinator.closed) {
			throw new SessionClosedError();
		}

		const {tokens, ended} = keeper.record;
		if (!tokens) {
			throw new LoggedOutError(ended);
		}

		return tokens;
	};

	/**
	 * After a failed refresh: whether this request waits for the next attempt
	 * (it comes before `deadline`), or fails now with the failure's error.
	 * Starts the refresh when no cooldown holds it back.
	 */
	const askForRefresh = (deadline: number) => {
		const failure = coordinator.failure();
		if (failure && failure.retryAt > clock.now()) {
			// An OAuth error other than invalid_grant says retrying cannot help: no waiting for the next attempt.
			if (failure.retryAt > deadline || failure.error instanceof OAuthError) {
				throw failure.error;
			}

			// The leader tries again when the cooldown ends: wait for that attempt.
			return;
		}

		coordinator.ensureFresh();
	};

	/**
	 * A failed refresh ends the wait only when no further attempt comes in
	 * time; a wait that runs out after failed attempts reports the failure,
	 * which says more than the timeout.
	 */
	const waitForTokens = async (after: number, signal: AbortSignal, deadline: number, tolerant: boolean) => {
		try {
			await waiters.wait(after, {signal, deadline, pauseTimeout: options.pauseTimeout, tolerant});
		} catch (error) {
			const failure = coordinator.failure();
			if (error instanceof PauseTimeoutError && failure) {
				throw failure.error;
			}

			if (!(error instanceof RefreshFailedError) || failure === undefined || failure.retryAt > deadline) {
				throw error;
			}
		}
	};

	/** Runs `wait`, counting the time it takes against the request's budget. */
	const timed = async <T>(budget: WaitBudget, wait: (deadline: number) => Promise<T>): Promise<T> => {
		const started = clock.now();
		try {
			return await wait(started + options.pauseTimeout - budget.waited);
		} finally {
			budget.waited += clock.now() - started;
		}
	};

	return {
		isAuthorized: options.isAuthorized,
		...deps.activity ? {activity: deps.activity} : {},
		async acquire(signal, budget = {waited: 0}) {
			return timed(budget, async deadline => {
				await resync.until(signal);
				for (;;) {
					const tokens = signedIn();
					const {version} = keeper;
					const timing = freshness(tokens, options.refreshLeeway, clock.now());
					const underWay = coordinator.refreshUnderWay();
					if (!underWay && timing !== 'expired') {
						if (timing === 'due') {
							// Refresh ahead, without making this request wait.
							coordinator.ensureFresh();
						}

						return {accessToken: tokens.accessToken, version};
					}

					if (timing === 'expired') {
						askForRefresh(deadline);
					}

					// A request with a still-valid token only waits out a refresh under way (tolerant).
					const pausedAt = clock.now();
					options.debug('request paused', {generation: keeper.record.generation, reason: timing === 'expired' ? 'token expired' : 'refresh under way'});
					// eslint-disable-next-line no-await-in-loop
					await waitForTokens(version, signal, deadline, timing !== 'expired');
					options.debug('request resumed', {generation: keeper.record.generation, waited: clock.now() - pausedAt});
					if (keeper.version === version && keeper.record.tokens && !coordinator.refreshUnderWay() && coordinator.tokenUsable()) {
						// The refresh failed or was abandoned, and the token still works: send it.
						return {accessToken: keeper.record.tokens.accessToken, version};
					}
				}
			});
		},
		async renew(version, signal, budget = {waited: 0}) {
			if (keeper.version <= version) {
				options.debug('waiting for newer tokens', {generation: keeper.record.generation});
			}

			await timed(budget, async deadline => {
				while (signedIn() && keeper.version <= version) {
					askForRefresh(deadline);
					// eslint-disable-next-line no-await-in-loop
					await waitForTokens(keeper.version, signal, deadline, false);
				}
			});
		},
	};
}
