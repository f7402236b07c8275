import type {EndReason, OAuthErrorFields} from './errors.js';
import {parseTokenSet, type TokenSet} from './tokens.js';

/**
 * What every tab agrees on: the token set (or none) and the generation that
 * produced it. Generations only grow: login, each refresh and logout add one.
 */
export interface SessionRecord {
	generation: number;
	/** Id of the tab that wrote this record; breaks ties between equal generations. */
	writer: string;
	tokens: TokenSet | null;
	ended: EndReason | null;
}

export const protocolVersion = 1;

interface Envelope {
	v: typeof protocolVersion;
	/** Id of the sending tab. */
	from: string;
}

/** New tokens: a login or a finished refresh. */
export interface TokensMessage extends Envelope {kind: 'tokens'; record: SessionRecord}
/** The session ended in the sender's tab. */
export interface LogoutMessage extends Envelope {kind: 'logout'; record: SessionRecord}
/** A refresh from `generation` started; tabs hold requests until its outcome. */
export interface RefreshingMessage extends Envelope {kind: 'refreshing'; generation: number}
/** The refresh from `generation` failed without ending the session. */
export interface RefreshFailedMessage extends Envelope {
	kind: 'refresh-failed';
	generation: number;
	status: number | null;
	message: string;
	/** The token endpoint's OAuth error, when it sent one; optional so older tabs' messages still parse. */
	oauth?: OAuthErrorFields | null;
}
/** The refresher closed before finishing; another tab may take the refresh over. */
export interface RefreshAbandonedMessage extends Envelope {kind: 'refresh-abandoned'; generation: number}
/** A tab needs tokens newer than `generation`. */
export interface RefreshRequestMessage extends Envelope {kind: 'refresh-request'; generation: number}
/** A tab just opened and asks for the current state. */
export interface HelloMessage extends Envelope {kind: 'hello'}
/** Answer to `hello`. `refreshing` is the generation being refreshed from, if any. */
export interface StateMessage extends Envelope {kind: 'state'; to: string; record: SessionRecord; refreshing: number | null}

export type Message =
	| TokensMessage
	| LogoutMessage
	| RefreshingMessage
	| RefreshFailedMessage
	| RefreshAbandonedMessage
	| RefreshRequestMessage
	| HelloMessage
	| StateMessage;

/** Distributes `Omit` over the union, so each kind keeps its own fields. */
export type MessageBody = Message extends infer M ? M extends Message ? Omit<M, 'v' | 'from'> : never : never;

const isGeneration = (value: unknown): value is number =>
	typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const isTabId = (value: unknown): value is string =>
	typeof value === 'string' && value.length > 0 && value.length <= 64;

const isEndReason = (value: unknown): value is EndReason =>
	value === 'logout' || value === 'refresh-rejected';

const shortText = (value: unknown): value is string => typeof value === 'string' && value.length <= 500;

function parseOAuthFields(value: unknown): OAuthErrorFields | undefined {
	if (typeof value !== 'object' || value === null) {
		return undefined;
	}

	const {error, errorDescription, errorUri} = value as Record<string, unknown>;
	const description = errorDescription ?? null;
	const uri = errorUri ?? null;
	if (!shortText(error) || error === '' || !(description === null || shortText(description)) || !(uri === null || shortText(uri))) {
		return undefined;
	}

	return {error, errorDescription: description, errorUri: uri};
}

export function parseRecord(value: unknown): SessionRecord | undefined {
	if (typeof value !== 'object' || value === null) {
		return undefined;
	}

	const {generation, writer, tokens, ended} = value as Record<string, unknown>;
	if (!isGeneration(generation) || !isTabId(writer) || !(ended === null || isEndReason(ended))) {
		return undefined;
	}

	if (tokens === null) {
		return {generation, writer, tokens: null, ended};
	}

	const parsed = parseTokenSet(tokens);
	// A record holds tokens or says why it has none, never both.
	return parsed && ended === null ? {generation, writer, tokens: parsed, ended: null} : undefined;
}

/**
 * True when `candidate` should replace `current`. Ties between equal
 * generations (two tabs logging in or out at once) resolve the same way in
 * every tab: an ended session wins over tokens, then the larger writer id.
 * A record is never newer than itself.
 */
export function isNewer(candidate: SessionRecord, current: SessionRecord): boolean {
	if (candidate.generation !== current.generation) {
		return candidate.generation > current.generation;
	}

	if ((candidate.tokens === null) !== (current.tokens === null)) {
		return candidate.tokens === null;
	}

	return candidate.writer > current.writer;
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

	const from = message['from'];
	const v = protocolVersion;
	switch (message['kind']) {
		case 'tokens':
		case 'logout': {
			const record = parseRecord(message['record']);
			const wantsTokens = message['kind'] === 'tokens';
			if (!record || (record.tokens !== null) !== wantsTokens) {
				return undefined;
			}

			return wantsTokens ? {v, from, kind: 'tokens', record} : {v, from, kind: 'logout', record};
		}

		case 'state': {
			const record = parseRecord(message['record']);
			const refreshing = message['refreshing'];
			if (!record || !isTabId(message['to']) || !(refreshing === null || isGeneration(refreshing))) {
				return undefined;
			}

			return {v, from, kind: 'state', to: message['to'], record, refreshing};
		}

		case 'refreshing':
		case 'refresh-abandoned':
		case 'refresh-request': {
			const generation = message['generation'];
			return isGeneration(generation) ? {v, from, kind: message['kind'], generation} : undefined;
		}

		case 'refresh-failed': {
			const {generation, status} = message;
			const text = message['message'];
			if (!isGeneration(generation) || typeof text !== 'string'
				|| !(status === null || (typeof status === 'number' && Number.isInteger(status)))) {
				return undefined;
			}

			const oauth = parseOAuthFields(message['oauth']);
			return {v, from, kind: 'refresh-failed', generation, status, message: text.slice(0, 500), ...(oauth ? {oauth} : {})};
		}

		case 'hello': {
			return {v, from, kind: 'hello'};
		}

		default: {
			return undefined;
		}
	}
}
