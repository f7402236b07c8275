export {initSession} from './session.js';
export {oauth2RefreshGrant} from './oauth.js';
export type {OAuth2RefreshOptions} from './oauth.js';
export type {Session} from './session.js';
export type {SessionOptions, RefreshRequestInit} from './options.js';
export type {SessionState, SessionStatus, TabRole, StateListener} from './state.js';
export type {TokenInput, TokenSet} from './tokens.js';
export type {StorageAdapter, StorageOption} from './storage.js';
export type {LockManagerLike} from './locks.js';
export type {ApiOptions, KyInstance} from './hooks.js';
export {
	SessionError,
	LoggedOutError,
	RefreshFailedError,
	PauseTimeoutError,
	InvalidOptionsError,
	InvalidTokensError,
	SessionClosedError,
	isSessionError,
} from './errors.js';
export type {SessionErrorCode, EndReason} from './errors.js';
