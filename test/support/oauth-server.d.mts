// Types of the OAuth 2.0 test server (oauth-server.mjs), for the tests that start it.

export interface OAuthServerOptions {
	/** Seconds. @default 3 */
	accessTokenLifetime?: number;
	/** Ms the refresh grant waits before answering. @default 0 */
	refreshDelay?: number;
	/** Access tokens are HS256 JWTs with `iat`/`exp`. */
	jwtAccessTokens?: boolean;
	/** Token responses carry no `expires_in`. */
	omitExpiresIn?: boolean;
	port?: number;
}

export interface RefreshLogEntry {
	presented: string | null;
	at: number;
	/** 'ok' or the OAuth error the server answered. */
	outcome: string;
}

export interface OAuthStats {
	passwordGrants: number;
	/** RFC 7009 revocation requests; of those, the ones that revoked a live refresh token. */
	revocations: number;
	revokedByClient: number;
	refreshCalls: number;
	refreshOk: number;
	invalidGrant: number;
	reuse: number;
	refreshErrors: number;
	/** Refresh calls received and not yet answered. */
	refreshInFlight: number;
	maxRefreshInFlight: number;
	refreshTimes: number[];
	refreshLog: RefreshLogEntry[];
	issuedRefreshTokens: string[];
	apiOk: number;
	api401: number;
}

export interface OAuthFault {
	error: string;
	status?: number;
	description?: string;
}

export interface OAuthServer {
	url: string;
	port: number;
	accessTokenLifetime: number;
	stats(): OAuthStats;
	config(patch: {refreshDelay?: number; omitExpiresIn?: boolean}): {refreshDelay: number; omitExpiresIn: boolean};
	failNextRefresh(...faults: OAuthFault[]): void;
	revokeAccessTokens(): void;
	reset(): void;
	decodeJwt(jwt: string): Record<string, unknown>;
	close(): Promise<void>;
}

export function startOAuthServer(options?: OAuthServerOptions): Promise<OAuthServer>;
