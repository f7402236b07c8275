import {sleep, type Clock} from './clock.js';
import type {RecordKeeper} from './keeper.js';
import {withLock} from './locks.js';
import type {NormalizedOptions} from './options.js';
import {compareStamps} from './record.js';
import {refreshLockName, refreshLockTimeout, settleTime} from './refresh-run.js';
import type {Refresher} from './refresher.js';
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
	options: Pick<NormalizedOptions, 'locks' | 'namespace' | 'refreshTimeout' | 'refreshRetries' | 'refreshRetryDelay' | 'logoutRequest' | 'debug'>;
	clock: Clock;
	keeper: RecordKeeper;
	store: RecordStore;
	refresher: Refresher;
	login(tokens: TokenSet): void;
}) {
	const {options, clock, keeper, store, refresher} = deps;

	/**
	 * A logout whose cookie may still be valid: without a logout request nothing told the server,
	 * so a restore would undo the logout. (With one, the server cleared the cookie: a restore then
	 * finds only a login made since, such as a server-side sign-in that set a new cookie.)
	 */
	const loggedOut = (ended: string | null | undefined) => (ended === 'logout' || ended === 'idle') && !options.logoutRequest;

	/** True when this tab should try: nothing held, no logout that stands. */
	const wanted = (fence = store.fence()): boolean =>
		keeper.record.tokens === null && !loggedOut(keeper.record.ended) && !(fence && !fence.open && loggedOut(fence.ended));

	return {
		wanted: (): boolean => wanted(),
		async run(signal: AbortSignal): Promise<RestoreOutcome> {
			const seen = store.fence();
			return withLock(options.locks, refreshLockName(options.namespace), {signal, timeout: refreshLockTimeout(options), clock}, async () => {
				// Another tab restored (or signed in) while this one waited: its tokens are on their way,
				// and the fence moved.
				const fence = store.fence();
				if (!wanted(fence) || (fence !== undefined && (seen === undefined || compareStamps(fence, seen) > 0))) {
					return 'skipped';
				}

				const outcome = await refresher.refresh(noTokens, signal);
				if (outcome.type === 'ok') {
					deps.login(outcome.tokens);
					// Held a moment longer: a tab that asks for the lock now finds the session and waits for its tokens.
					await sleep(clock, settleTime, signal).catch(() => undefined);
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
