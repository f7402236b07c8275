/**
 * Every error tab-session produces is a `SessionError` with a stable `code`,
 * so an app can tell failures apart without `instanceof` across bundles.
 */
export type SessionErrorCode =
	| 'LOGGED_OUT'
	| 'REFRESH_FAILED'
	| 'PAUSE_TIMEOUT'
	| 'INVALID_OPTIONS'
	| 'INVALID_TOKENS'
	| 'SESSION_CLOSED';

export class SessionError extends Error {
	readonly code: SessionErrorCode;

	constructor(code: SessionErrorCode, message: string, options?: {cause?: unknown}) {
		super(message, options?.cause === undefined ? undefined : {cause: options.cause});
		this.name = 'SessionError';
		this.code = code;
	}
}

/** Why a session ended: an explicit logout, or the refresh endpoint rejecting the refresh token. */
export type EndReason = 'logout' | 'refresh-rejected';

/** The session is signed out (or was signed out while the request waited). */
export class LoggedOutError extends SessionError {
	readonly reason: EndReason | null;

	constructor(reason: EndReason | null, options?: {cause?: unknown}) {
		super('LOGGED_OUT', reason === 'refresh-rejected'
			? 'The session ended: the refresh endpoint rejected the refresh token'
			: 'The session is signed out', options);
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
	/** HTTP status of the last attempt, when there was a response. */
	readonly status: number | null;

	constructor(message: string, status: number | null, options?: {cause?: unknown}) {
		super('REFRESH_FAILED', message, options);
		this.name = 'RefreshFailedError';
		this.status = status;
	}
}

/** A request waited longer than `pauseTimeout` for a refresh to finish. */
export class PauseTimeoutError extends SessionError {
	readonly timeout: number;

	constructor(timeout: number) {
		super('PAUSE_TIMEOUT', `Waited ${timeout} ms for a token refresh without an outcome`);
		this.name = 'PauseTimeoutError';
		this.timeout = timeout;
	}
}

/** `initSession` was called with an option it cannot use. */
export class InvalidOptionsError extends SessionError {
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
	constructor(problem: string) {
		super('INVALID_TOKENS', `tab-session: invalid tokens: ${problem}`);
		this.name = 'InvalidTokensError';
	}
}

/** The session was closed with `close()`; it no longer sends or waits. */
export class SessionClosedError extends SessionError {
	constructor() {
		super('SESSION_CLOSED', 'The session is closed');
		this.name = 'SessionClosedError';
	}
}

export const isSessionError = (error: unknown): error is SessionError => error instanceof SessionError;
