export {initSession} from './session.js';
export {oauth2RefreshGrant} from './oauth.js';
export type {OAuth2RefreshOptions, OAuth2RefreshGrant} from './oauth.js';
export {cookieRefresh} from './cookie.js';
export type {CookieRefreshOptions, CookieRefresh} from './cookie.js';
export type {Session, AppTokens} from './session.js';
export type {SessionOptions, RefreshRequestInit, LogoutRequest, RefreshErrorVerdict, DebugLogger} from './options.js';
export type {SessionState, SessionStatus, TabRole, StateListener} from './state.js';
export type {SessionEvent, SessionEventType, SessionEventListener} from './events.js';
export type {TokenInput, TokenSet, TokenDetails} from './tokens.js';
export type {StorageAdapter, StorageOption} from './storage.js';
export type {LockManagerLike} from './locks.js';
export type {ChannelMethod} from './channel.js';
export type {LifecycleEvent, LifecyclePort} from './lifecycle.js';
export type {ActivityPort} from './idle.js';
export type {Clock} from './clock.js';
export type {ApiOptions, KyInstance} from './hooks.js';
export {
	SessionError,
	LoggedOutError,
	RefreshFailedError,
	OAuthError,
	PauseTimeoutError,
	InvalidOptionsError,
	InvalidTokensError,
	SessionClosedError,
	UnsupportedError,
	isSessionError,
} from './errors.js';
export type {SessionErrorCode, EndReason, OAuthErrorFields, RefreshError, TabSessionError} from './errors.js';
