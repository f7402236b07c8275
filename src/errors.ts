/**
 * Every error tab-session produces is a `SessionError` with a stable `code`,
 * so an app can tell failures apart without `instanceof` across bundles.
 */
const sessionErrorCodes = ['LOGGED_OUT', 'REFRESH_FAILED', 'OAUTH_ERROR', 'PAUSE_TIMEOUT', 'INVALID_OPTIONS', 'INVALID_TOKENS', 'SESSION_CLOSED', 'UNSUPPORTED'] as const;
export type SessionErrorCode = typeof sessionErrorCodes[number];

export class SessionError extends Error {
	readonly code: SessionErrorCode;

	constructor(code: SessionErrorCode, message: string, options?: {cause?: unknown}) {
		super(message, options?.cause === undefined ? undefined : {cause: options.cause});
		this.name = 'SessionError';
		this.code = code;
	}
}

/**
 * Why a session ended: an explicit logout, the refresh endpoint rejecting the refresh token,
 * or no activity in any tab for `idleTimeout`.
 */
export type EndReason = 'logout' | 'refresh-rejected' | 'idle';

/** The session is signed out (or was signed out while the request waited). */
export class LoggedOutError extends SessionError {
	declare readonly code: 'LOGGED_OUT';
	readonly reason: EndReason | null;

	constructor(reason: EndReason | null, options?: {cause?: unknown}) {
		super('LOGGED_OUT', reason === 'refresh-rejected'
			? 'The session ended: the refresh endpoint rejected the refresh token'
			: (reason === 'idle' ? 'The session ended after idleTimeout without activity in any tab' : 'The session is signed out'), options);
		this.name = 'LoggedOutError';
		this.reason = reason;
	}
}

/**
 * The refresh endpoint failed in a way that does not end the session (5xx,
 * network error, timeout, a response that is not the expected JSON). The
 * session stays signed in; a later request tries again.
 */
export class RefreshFailedError extends SessionError {
	declare readonly code: 'REFRESH_FAILED';
	/** HTTP status of the last attempt, when there was a response. */
	readonly status: number | null;

	constructor(message: string, status: number | null, options?: {cause?: unknown}) {
		super('REFRESH_FAILED', message, options);
		this.name = 'RefreshFailedError';
		this.status = status;
	}
}

/** The fields of an OAuth 2.0 error response (RFC 6749 §5.2). */
export interface OAuthErrorFields {
	/** The server's `error`, e.g. `invalid_client`. */
	error: string;
	/** The server's `error_description`, when it sent one. */
	errorDescription?: string | null | undefined;
	/** The server's `error_uri`, when it sent one. */
	errorUri?: string | null | undefined;
}

/**
 * The refresh endpoint answered with an OAuth 2.0 error other than
 * `invalid_grant` (which signs every tab out instead): `invalid_client`,
 * `invalid_scope`, `unauthorized_client`, … Retrying does not help, so it is
 * not retried; the session stays signed in and the app decides.
 */
export class OAuthError extends SessionError {
	declare readonly code: 'OAUTH_ERROR';
	/** HTTP status of the error response. */
	readonly status: number;
	readonly error: string;
	readonly errorDescription: string | null;
	readonly errorUri: string | null;

	constructor(fields: OAuthErrorFields, status: number) {
		const description = fields.errorDescription ?? null;
		super('OAUTH_ERROR', `The token endpoint answered ${status} ${fields.error}${description ? `: ${description}` : ''}`);
		this.name = 'OAuthError';
		this.status = status;
		this.error = fields.error;
		this.errorDescription = description;
		this.errorUri = fields.errorUri ?? null;
	}
}

/** A refresh that failed without ending the session. */
export type RefreshError = RefreshFailedError | OAuthError;

/** A request waited longer than `pauseTimeout` for a refresh to finish. */
export class PauseTimeoutError extends SessionError {
	declare readonly code: 'PAUSE_TIMEOUT';
	readonly timeout: number;

	constructor(timeout: number) {
		super('PAUSE_TIMEOUT', `Waited ${timeout} ms for a token refresh without an outcome`);
		this.name = 'PauseTimeoutError';
		this.timeout = timeout;
	}
}

/** `initSession` was called with an option it cannot use. */
export class InvalidOptionsError extends SessionError {
	declare readonly code: 'INVALID_OPTIONS';
	/** The name of the offending option, e.g. `pauseTimeout`. */
	readonly option: string;

	constructor(option: string, problem: string) {
		super('INVALID_OPTIONS', `tab-session: option \`${option}\` ${problem}`);
		this.name = 'InvalidOptionsError';
		this.option = option;
	}
}

/** Tokens handed to `login` are not usable. (An unusable refresh response becomes a `RefreshFailedError` with this as its `cause`.) */
export class InvalidTokensError extends SessionError {
	declare readonly code: 'INVALID_TOKENS';
	constructor(problem: string) {
		super('INVALID_TOKENS', `tab-session: invalid tokens: ${problem}`);
		this.name = 'InvalidTokensError';
	}
}

/** The session was closed with `close()`; it no longer sends or waits. */
export class SessionClosedError extends SessionError {
	declare readonly code: 'SESSION_CLOSED';
	constructor() {
		super('SESSION_CLOSED', 'The session is closed');
		this.name = 'SessionClosedError';
	}
}

/** The browser lacks something the session cannot work without (thrown by `initSession`). */
export class UnsupportedError extends SessionError {
	declare readonly code: 'UNSUPPORTED';
	/** What is missing, e.g. `BroadcastChannel`. */
	readonly feature: string;

	constructor(feature: string, problem: string) {
		super('UNSUPPORTED', `tab-session: this browser has no ${feature}: ${problem}`);
		this.name = 'UnsupportedError';
		this.feature = feature;
	}
}

/** Every error tab-session throws; `switch (error.code)` narrows it to one class. */
export type TabSessionError =
	| LoggedOutError
	| RefreshFailedError
	| OAuthError
	| PauseTimeoutError
	| InvalidOptionsError
	| InvalidTokensError
	| SessionClosedError
	| UnsupportedError;

const codes = new Set<unknown>(sessionErrorCodes);

/**
 * True for every error tab-session produces, also one from another copy of
 * the package (an app that loads both the ESM and the CJS build), where
 * `instanceof SessionError` says no.
 */
export const isSessionError = (error: unknown): error is TabSessionError =>
	error instanceof SessionError
	|| (error instanceof Error && codes.has((error as {code?: unknown}).code) && /^\w+Error$/.test(error.name));
