import type {OAuthErrorFields} from './errors.js';
import type {LogoutRequest, RefreshErrorVerdict, RefreshRequestInit} from './options.js';
import type {TokenInput} from './tokens.js';

export interface OAuth2RefreshOptions {
	/** Sent as `client_id` (public clients). */
	clientId?: string | undefined;
	/** Sent as `scope` when given, to narrow the new access token. */
	scope?: string | undefined;
	/**
	 * The revocation endpoint (RFC 7009): `logout()` revokes the refresh token there
	 * (`token`, `token_type_hint=refresh_token`, `client_id`), so it stops working on the server too.
	 */
	revocationUrl?: string | URL | undefined;
}

/** What `oauth2RefreshGrant` returns: spread it into `initSession`'s options. */
export interface OAuth2RefreshGrant {
	refreshRequest: (tokens: {accessToken: string; refreshToken: string | null}) => RefreshRequestInit;
	parseRefreshResponse: (body: unknown) => TokenInput;
	parseRefreshError: (body: unknown) => RefreshErrorVerdict | undefined;
	logoutRequest?: (tokens: {accessToken: string; refreshToken: string | null}) => LogoutRequest | null;
}

// Error codes a token endpoint uses for a passing fault; the others say retrying cannot help.
const transient = new Set(['server_error', 'temporarily_unavailable']);

const fields = (body: unknown): Record<string, unknown> =>
	(typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;

const text = (value: unknown): string | null =>
	typeof value === 'string' && value !== '' ? value.slice(0, 500) : null;

/**
 * The standard OAuth 2.0 refresh grant (RFC 6749 §6): a form-encoded
 * `grant_type=refresh_token` request; a response with `access_token`,
 * `expires_in`, `token_type` and, from servers that rotate, a new
 * `refresh_token`. Error responses (§5.2) map to the session:
 * `invalid_grant` signs every tab out, `server_error` and
 * `temporarily_unavailable` are retried, and any other `error` rejects
 * waiting requests with an `OAuthError` carrying `error` and
 * `error_description`, keeping the session.
 * @example initSession({refreshUrl: 'https://auth.example.com/oauth/token', ...oauth2RefreshGrant({clientId: 'spa'})})
 */
export function oauth2RefreshGrant(options: OAuth2RefreshOptions = {}): OAuth2RefreshGrant {
	const {revocationUrl} = options;
	const revoke = revocationUrl === undefined ? {} : {
		logoutRequest({refreshToken}: {refreshToken: string | null}): LogoutRequest | null {
			if (refreshToken === null) {
				return null;
			}

			const form = new URLSearchParams({token: refreshToken, token_type_hint: 'refresh_token'});
			if (options.clientId !== undefined) {
				form.set('client_id', options.clientId);
			}

			return {url: revocationUrl, method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: form.toString()};
		},
	};
	return {
		...revoke,
		refreshRequest({refreshToken}) {
			const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: refreshToken ?? ''});
			if (options.clientId !== undefined) {
				form.set('client_id', options.clientId);
			}

			if (options.scope !== undefined) {
				form.set('scope', options.scope);
			}

			return {
				method: 'POST',
				headers: {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'},
				body: form.toString(),
			};
		},
		parseRefreshResponse(body) {
			const response = fields(body);
			const tokenType = response['token_type'];
			// The session sends `Authorization: Bearer`; a DPoP or MAC token would be refused by every API call.
			if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
				throw new TypeError(`token_type must be Bearer, got ${typeof tokenType === 'string' ? tokenType.slice(0, 20) : typeof tokenType}`);
			}

			const known = new Set(['access_token', 'refresh_token', 'expires_in', 'id_token', 'scope', 'token_type']);
			const others = Object.entries(response).filter(([name]) => !known.has(name));
			return {
				accessToken: response['access_token'] as string,
				refreshToken: response['refresh_token'] as string | undefined,
				expiresIn: response['expires_in'] as number | undefined,
				idToken: response['id_token'] as string | undefined,
				scope: response['scope'] as string | undefined,
				tokenType: tokenType as string | undefined,
				...others.length > 0 ? {extra: Object.fromEntries(others)} : {},
			};
		},
		parseRefreshError(body) {
			const response = fields(body);
			const error = text(response['error']);
			if (error === null) {
				return undefined;
			}

			const oauth: OAuthErrorFields = {error, errorDescription: text(response['error_description']), errorUri: text(response['error_uri'])};
			if (error === 'invalid_grant') {
				return {action: 'logout', error: oauth};
			}

			return transient.has(error) ? {action: 'retry', error: oauth} : {action: 'fail', error: oauth};
		},
	};
}
