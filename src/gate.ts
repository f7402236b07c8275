import type {Coordinator} from './coordinator.js';
import {LoggedOutError, SessionClosedError} from './errors.js';
import type {AuthGate} from './hooks.js';
import type {NormalizedOptions} from './options.js';
import {freshness} from './schedule.js';
import type {TokenSet} from './tokens.js';
import type {createWaiters} from './waiters.js';

export interface GateDeps {
	coordinator: Coordinator;
	waiters: ReturnType<typeof createWaiters>;
	options: Pick<NormalizedOptions, 'pauseTimeout' | 'refreshLeeway' | 'isAuthorized' | 'debug'>;
	now: () => number;
	untilJoined(signal: AbortSignal): Promise<void>;
}

/**
 * The request side of the pause gate: what a request (or `getAccessToken`)
 * waits for before it goes out, and after a 401. All the waits of one request
 * together are bounded by `pauseTimeout` from the moment it first asked.
 */
export function createGate(deps: GateDeps): AuthGate & {signedIn(): TokenSet} {
	const {coordinator, waiters, options, now} = deps;

	const signedIn = (): TokenSet => {
		if (coordinator.closed) {
			throw new SessionClosedError();
		}

		const {tokens, ended} = coordinator.record;
		if (!tokens) {
			throw new LoggedOutError(ended);
		}

		return tokens;
	};

	return {
		isAuthorized: options.isAuthorized,
		signedIn,
		async acquire(signal, since = now()) {
			const deadline = since + options.pauseTimeout;
			const wait = async (from: number, tolerant: boolean) =>
				waiters.wait(from, {signal, deadline, pauseTimeout: options.pauseTimeout, tolerant});
			await deps.untilJoined(signal);
			for (;;) {
				const tokens = signedIn();
				const {generation} = coordinator.record;
				const timing = freshness(tokens, options.refreshLeeway, now());
				const failure = coordinator.failureFor(generation);
				if (timing === 'expired' && failure) {
					// The endpoint just failed: fail fast rather than hammer it; the leader retries after the cooldown.
					throw failure;
				}

				if (coordinator.refreshUnderWay(generation) || timing === 'expired') {
					if (timing !== 'fresh') {
						coordinator.ensureFresh(generation);
					}

					// A request with a still-valid token only waits out a refresh under way (tolerant).
					const pausedAt = now();
					options.debug('request paused', {generation, reason: timing === 'expired' ? 'token expired' : 'refresh under way'});
					// eslint-disable-next-line no-await-in-loop
					await wait(generation, timing !== 'expired');
					options.debug('request resumed', {generation: coordinator.record.generation, waited: now() - pausedAt});
					const current = coordinator.record;
					if (current.generation === generation && current.tokens
						&& !coordinator.refreshUnderWay(generation) && coordinator.tokenUsable()) {
						// The refresh failed or was abandoned, and the token still works: send it.
						return {accessToken: current.tokens.accessToken, generation};
					}

					continue;
				}

				if (timing === 'due') {
					// Refresh ahead, without making this request wait.
					coordinator.ensureFresh(generation);
				}

				return {accessToken: tokens.accessToken, generation};
			}
		},
		async renew(generation, signal, since = now()) {
			const deadline = since + options.pauseTimeout;
			if (coordinator.record.generation <= generation) {
				options.debug('waiting for newer tokens', {generation});
			}

			while (signedIn() && coordinator.record.generation <= generation) {
				const current = coordinator.record.generation;
				const failure = coordinator.failureFor(current);
				if (failure) {
					throw failure;
				}

				coordinator.ensureFresh(current);
				// eslint-disable-next-line no-await-in-loop
				await waiters.wait(current, {signal, deadline, pauseTimeout: options.pauseTimeout, tolerant: false});
			}
		},
	};
}
