import {sleep, type Clock} from './clock.js';
import type {RecordKeeper} from './keeper.js';
import {withLock} from './locks.js';
import type {NormalizedOptions} from './options.js';
import type {Refresher} from './refresher.js';
import {compareStamps} from './record.js';
import type {RecordStore} from './storage.js';
import type {TokenSet} from './tokens.js';

/** What a restore came to: new tokens, "not signed in" (400/401), a failure, or nothing to do. */
export type RestoreOutcome = 'restored' | 'signed-out' | 'failed' | 'skipped';

/** Nothing to present: the refresh carries its credential itself (an httpOnly cookie). */
const noTokens: TokenSet = {accessToken: '', refreshToken: null, expiresAt: null, issuedAt: 0};

/**
 * Signs a tab in that opens with no session in storage and none in any open
 * tab, where the refresh needs no stored refresh token (a cookie): a reload
 * of the only tab, a browser restart. Under the refresh lock, so that of the
 * tabs a restart opens together one calls the endpoint (a rotating cookie is
 * spent once) and the others receive its tokens. A 400 or 401 means "not
 * signed in": no error, no logout message.
 */
export function createRestore(deps: {
	options: Pick<NormalizedOptions, 'locks' | 'namespace' | 'refreshTimeout' | 'refreshRetries' | 'refreshRetryDelay' | 'debug'>;
	clock: Clock;
	keeper: RecordKeeper;
	store: RecordStore;
	refresher: Refresher;
	/** Set when `logout()` tells the server: then a logout does not stop a later restore. */
	logoutRequest: unknown;
	login(tokens: TokenSet): void;
}) {
	const {options, clock, keeper, store, refresher} = deps;
	const lockTimeout = (options.refreshTimeout * (options.refreshRetries + 1)) + (options.refreshRetryDelay * 4) + 1000;

	/**
	 * A logout whose cookie may still be valid: without a logout request nothing told the server,
	 * so a restore would undo the logout. (With one, the server cleared the cookie: a restore then
	 * finds only a login made since, such as a server-side sign-in that set a new cookie.)
	 */
	const loggedOut = (ended: string | null | undefined) => ended === 'logout' && !deps.logoutRequest;

	/** Nothing to restore: a session is held here, a logout stands, or the fence moved since `seen` (another tab did it). */
	const settled = (seen: ReturnType<RecordStore['fence']>) => {
		const fence = store.fence();
		return keeper.record.tokens !== null || loggedOut(keeper.record.ended) || (fence !== undefined && !fence.open && loggedOut(fence.ended))
			|| (fence !== undefined && seen !== undefined && compareStamps(fence, seen) > 0)
			|| (fence !== undefined && seen === undefined);
	};

	return {
		/** True when this tab should try: nothing held, no logout that stands. */
		wanted(): boolean {
			const fence = store.fence();
			return keeper.record.tokens === null && !loggedOut(keeper.record.ended) && !(fence && !fence.open && loggedOut(fence.ended));
		},
		async run(signal: AbortSignal): Promise<RestoreOutcome> {
			const seen = store.fence();
			return withLock(options.locks, `tab-session:${options.namespace}:refresh`, {signal, timeout: lockTimeout, clock}, async () => {
				// Another tab restored (or signed in) while this one waited: its tokens are on their way.
				if (settled(seen)) {
					return 'skipped';
				}

				const outcome = await refresher.refresh(noTokens, signal);
				if (outcome.type === 'ok') {
					deps.login(outcome.tokens);
					// Held a moment longer: a tab that asks for the lock now finds the session and waits for its tokens.
					await sleep(clock, 100, signal).catch(() => undefined);
					return 'restored';
				}

				options.debug(outcome.type === 'rejected' ? 'restore: not signed in' : 'restore failed', {
					status: outcome.type === 'rejected' ? outcome.status : outcome.error.status,
				});
				return outcome.type === 'rejected' ? 'signed-out' : 'failed';
			});
		},
	};
}
