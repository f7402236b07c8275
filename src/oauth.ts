import type {RefreshRequestInit} from './options.js';
import type {TokenInput} from './tokens.js';

export interface OAuth2RefreshOptions {
	/** Sent as `client_id` (public clients). */
	clientId?: string;
	/** Sent as `scope` when given. */
	scope?: string;
}

/**
 * The standard OAuth 2.0 refresh grant (RFC 6749 §6): a form-encoded
 * `grant_type=refresh_token` request, and a response with `access_token`,
 * `expires_in` and, from servers that rotate, a new `refresh_token`.
 * Spread the result into `initSession`'s options.
 * @example initSession({refreshUrl: 'https://auth.example.com/oauth/token', ...oauth2RefreshGrant({clientId: 'spa'})})
 */
export function oauth2RefreshGrant(options: OAuth2RefreshOptions = {}): {
	refreshRequest: (tokens: {accessToken: string; refreshToken: string | null}) => RefreshRequestInit;
	parseRefreshResponse: (body: unknown) => TokenInput;
} {
	return {
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
			const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
			return {
				accessToken: fields['access_token'] as string,
				refreshToken: fields['refresh_token'] as string | undefined,
				expiresIn: fields['expires_in'] as number | undefined,
			};
		},
	};
}
