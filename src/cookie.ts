import type {LogoutRequest, RefreshRequestInit} from './options.js';
import type {TokenInput} from './tokens.js';

export interface CookieRefreshOptions {
	/**
	 * `'include'` when the refresh endpoint is on another origin (it must then
	 * answer CORS with credentials); `'same-origin'` otherwise.
	 * @default 'include'
	 */
	credentials?: 'include' | 'same-origin' | undefined;
	/** Extra request headers, e.g. a CSRF token header the server checks. */
	headers?: Record<string, string> | undefined;
	/** A logout endpoint: `logout()` POSTs to it with the cookie, so the server clears (and revokes) it. */
	logoutUrl?: string | URL | undefined;
}

/** What `cookieRefresh` returns: spread it into `initSession`'s options. */
export interface CookieRefresh {
	refreshRequest: () => RefreshRequestInit;
	parseRefreshResponse: (body: unknown) => TokenInput;
	logoutRequest?: () => LogoutRequest;
	/** On: the cookie restores the session after a reload or a restart. */
	restore: boolean;
}

/**
 * For a refresh token kept in an httpOnly cookie: the refresh request carries
 * the cookie and no body, and a refresh token that a response carries anyway
 * is dropped, so no refresh token ever reaches storage or script. The server
 * rotates the cookie with `Set-Cookie`. Log in without a `refreshToken`.
 * @example initSession({refreshUrl: '/api/auth/refresh', storage: 'memory', ...cookieRefresh()})
 */
export function cookieRefresh(options: CookieRefreshOptions = {}): CookieRefresh {
	const {logoutUrl} = options;
	return {
		restore: true,
		...logoutUrl === undefined ? {} : {
			logoutRequest: (): LogoutRequest => ({
				url: logoutUrl, method: 'POST', headers: {accept: 'application/json', ...options.headers}, body: null, credentials: options.credentials ?? 'include',
			}),
		},
		refreshRequest: () => ({
			method: 'POST',
			headers: {accept: 'application/json', ...options.headers},
			body: null,
			credentials: options.credentials ?? 'include',
		}),
		parseRefreshResponse(body) {
			const {accessToken, expiresIn, expiresAt} = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
			return {
				accessToken: accessToken as string,
				refreshToken: null,
				expiresIn: expiresIn as number | undefined,
				expiresAt: expiresAt as number | undefined,
			};
		},
	};
}
