import type {OAuthErrorFields} from './errors.js';
import {isTabId, parseRecord, parseRef, type RecordRef, type SessionRecord} from './record.js';

/**
 * Version 2 orders records by session and epoch (see record.ts); a tab
 * ignores every frame of another version, so tabs of an older deploy and
 * of this one never mix their records.
 */
export const protocolVersion = 2;

interface Envelope {
	v: typeof protocolVersion;
	/** Id of the sending tab. */
	from: string;
}

/** New tokens: a login or a finished refresh. */
export interface TokensMessage extends Envelope {kind: 'tokens'; record: SessionRecord}
/** The session ended in the sender's tab. */
export interface LogoutMessage extends Envelope {kind: 'logout'; record: SessionRecord}
/** A refresh of the record `of` started; tabs hold requests until its outcome. */
export interface RefreshingMessage extends Envelope {kind: 'refreshing'; of: RecordRef}
/** The refresh of `of` failed without ending the session; no tab tries again before `retryAt`. */
export interface RefreshFailedMessage extends Envelope {
	kind: 'refresh-failed';
	of: RecordRef;
	status: number | null;
	message: string;
	/** The token endpoint's OAuth error, when it sent one. */
	oauth: OAuthErrorFields | null;
	/** Epoch ms before which no tab refreshes `of` again. */
	retryAt: number;
}
/** The refresher went away before finishing; another tab may take the refresh over. */
export interface RefreshAbandonedMessage extends Envelope {kind: 'refresh-abandoned'; of: RecordRef}
/** A tab holding `of` needs newer tokens. */
export interface RefreshRequestMessage extends Envelope {kind: 'refresh-request'; of: RecordRef}
/** The newest user activity the sender saw in `session` (epoch ms), for the idle limit; throttled. */
export interface ActivityMessage extends Envelope {kind: 'activity'; session: string; at: number}
/** A tab that just opened, or may have missed messages, asks for the current record. */
export interface HelloMessage extends Envelope {kind: 'hello'}
/** Answer to `hello`. `refreshing` names the record being refreshed, if any. */
export interface StateMessage extends Envelope {kind: 'state'; to: string; record: SessionRecord; refreshing: RecordRef | null}
/** Leader election where there are no Web Locks (election.ts). `since`: when the sender became leader. */
export type ElectionMessage = Envelope & ({kind: 'leader'; since: number} | {kind: 'claim' | 'resign'});

export type Message =
	| TokensMessage
	| LogoutMessage
	| RefreshingMessage
	| RefreshFailedMessage
	| RefreshAbandonedMessage
	| RefreshRequestMessage
	| HelloMessage
	| ActivityMessage
	| StateMessage
	| ElectionMessage;

/** Distributes `Omit` over the union, so each kind keeps its own fields. */
export type MessageBody = Message extends infer M ? M extends Message ? Omit<M, 'v' | 'from'> : never : never;

const shortText = (value: unknown): value is string => typeof value === 'string' && value.length <= 500;

function parseOAuthFields(value: unknown): OAuthErrorFields | null {
	if (typeof value !== 'object' || value === null) {
		return null;
	}

	const {error, errorDescription, errorUri} = value as Record<string, unknown>;
	const description = errorDescription ?? null;
	const uri = errorUri ?? null;
	if (!shortText(error) || error === '' || !(description === null || shortText(description)) || !(uri === null || shortText(uri))) {
		return null;
	}

	return {error, errorDescription: description, errorUri: uri};
}

function parseRecordMessage(kind: 'tokens' | 'logout', value: unknown): {kind: 'tokens' | 'logout'; record: SessionRecord} | undefined {
	const record = parseRecord(value);
	return record && (record.tokens !== null) === (kind === 'tokens') && record.epoch > 0 ? {kind, record} : undefined;
}

function parseFailed(message: Record<string, unknown>): Omit<RefreshFailedMessage, 'v' | 'from'> | undefined {
	const of = parseRef(message['of']);
	const {status, retryAt} = message;
	const text = message['message'];
	if (!of || typeof text !== 'string' || typeof retryAt !== 'number' || !Number.isFinite(retryAt)
		|| !(status === null || (typeof status === 'number' && Number.isInteger(status)))) {
		return undefined;
	}

	return {kind: 'refresh-failed', of, status, message: text.slice(0, 500), oauth: parseOAuthFields(message['oauth']), retryAt};
}

function parseBody(message: Record<string, unknown>): MessageBody | undefined {
	const kind = message['kind'];
	switch (kind) {
		case 'tokens':
		case 'logout': {
			return parseRecordMessage(kind, message['record']);
		}

		case 'state': {
			const record = parseRecord(message['record']);
			const refreshing = message['refreshing'] === null ? null : parseRef(message['refreshing']);
			return record && isTabId(message['to']) && refreshing !== undefined
				? {kind, to: message['to'], record, refreshing}
				: undefined;
		}

		case 'refreshing':
		case 'refresh-abandoned':
		case 'refresh-request': {
			const of = parseRef(message['of']);
			return of ? {kind, of} : undefined;
		}

		case 'refresh-failed': {
			return parseFailed(message);
		}

		case 'activity': {
			const {session, at} = message;
			return typeof session === 'string' && session !== '' && session.length <= 64 && typeof at === 'number' && Number.isFinite(at)
				? {kind, session, at}
				: undefined;
		}

		case 'leader': {
			const {since} = message;
			return typeof since === 'number' && Number.isFinite(since) ? {kind, since} : undefined;
		}

		case 'hello':
		case 'claim':
		case 'resign': {
			return {kind};
		}

		default: {
			return undefined;
		}
	}
}

/**
 * Parses anything that arrived on the channel. Any same-origin script can
 * post there, so nothing is trusted: an unknown version or kind, or a
 * malformed field, yields undefined and the message is ignored.
 */
export function parseMessage(data: unknown): Message | undefined {
	if (typeof data !== 'object' || data === null) {
		return undefined;
	}

	const message = data as Record<string, unknown>;
	if (message['v'] !== protocolVersion || !isTabId(message['from'])) {
		return undefined;
	}

	const body = parseBody(message);
	return body ? {...body, v: protocolVersion, from: message['from']} as Message : undefined;
}
