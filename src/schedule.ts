import type {Clock} from './clock.js';
import type {TokenSet} from './tokens.js';

// setTimeout wraps delays above 2^31-1 ms; longer waits are chained.
const maxTimerDelay = 2_147_483_647;

export type Freshness = 'fresh' | 'due' | 'expired';

/**
 * How long before expiry the leader refreshes: `refreshLeeway`, shrunk to a
 * quarter of the token's lifetime, so a 2-second token is refreshed every
 * 1.5 s rather than continuously.
 */
export function refreshLead(tokens: TokenSet, leeway: number): number {
	if (tokens.expiresAt === null) {
		return 0;
	}

	const lifetime = Math.max(0, tokens.expiresAt - tokens.issuedAt);
	return Math.min(leeway, lifetime / 4);
}

/**
 * `expired`: too close to expiry to send (it could expire in flight), so a
 * request waits for a refresh. `due`: inside the lead, a refresh is wanted but
 * the request goes out with the current token.
 */
export function freshness(tokens: TokenSet, leeway: number, now: number): Freshness {
	if (tokens.expiresAt === null) {
		return 'fresh';
	}

	const lead = refreshLead(tokens, leeway);
	if (now >= tokens.expiresAt - Math.min(5000, lead / 2)) {
		return 'expired';
	}

	return now >= tokens.expiresAt - lead ? 'due' : 'fresh';
}

/** A timer set for an absolute time, which tolerates throttled and late timers. */
export function createAlarm(clock: Clock) {
	let timer: unknown;
	const clear = () => {
		if (timer !== undefined) {
			clock.clearTimeout(timer);
			timer = undefined;
		}
	};

	return {
		set(at: number, callback: () => void) {
			clear();
			const tick = () => {
				const rest = at - clock.now();
				if (rest > 0) {
					timer = clock.setTimeout(tick, Math.min(rest, maxTimerDelay));
					return;
				}

				timer = undefined;
				callback();
			};

			timer = clock.setTimeout(tick, Math.max(0, Math.min(at - clock.now(), maxTimerDelay)));
		},
		clear,
		get armed() {
			return timer !== undefined;
		},
	};
}

export type Alarm = ReturnType<typeof createAlarm>;
