import type {EndReason} from './errors.js';
import {parseTokenSet, type TokenSet} from './tokens.js';

/**
 * What every tab agrees on. A login starts a session: a random id and an
 * epoch. Refreshes within the session add to its generation. Its end (a
 * logout, or the refresh endpoint rejecting the refresh token) is final:
 * only a later login starts a session again.
 */
export interface SessionRecord {
	/**
	 * Orders logins and logouts: the epoch ms at which the writer made the
	 * login or logout, and above every epoch it had seen. A refresh keeps it.
	 */
	epoch: number;
	/** Random id of the sign-in the record belongs to; '' before any. */
	session: string;
	/** Grows with every login, refresh and logout. */
	generation: number;
	/** Id of the tab that wrote the record; breaks the last ties. */
	writer: string;
	tokens: TokenSet | null;
	ended: EndReason | null;
}

/** Names a signed-in record without its tokens: what a refresh starts from. */
export interface RecordRef {
	epoch: number;
	session: string;
	generation: number;
}

/**
 * A record's place in the order, without tokens: what the fence in shared
 * storage keeps, so that a tab without the tokens still knows they exist.
 */
export interface Stamp extends RecordRef {
	writer: string;
	/** Holds tokens (false once the session ended). */
	open: boolean;
}

export const emptyRecord = (writer: string): SessionRecord =>
	({epoch: 0, session: '', generation: 0, writer, tokens: null, ended: null});

export const refOf = ({epoch, session, generation}: RecordRef): RecordRef => ({epoch, session, generation});

export const stampOf = (record: SessionRecord): Stamp =>
	({epoch: record.epoch, session: record.session, generation: record.generation, writer: record.writer, open: record.tokens !== null});

const compareText = (a: string, b: string) => a === b ? 0 : (a > b ? 1 : -1);

/**
 * The one order of records, the same in every tab: the later login or
 * logout (epoch) first; within a session, its end wins whatever the
 * generation, so no refresh result outlives a logout; then the generation;
 * then the writer. Positive when `a` is newer.
 */
export function compareStamps(a: Stamp, b: Stamp): number {
	if (a.epoch !== b.epoch) {
		return a.epoch - b.epoch;
	}

	if (a.session !== b.session) {
		return compareText(a.session, b.session);
	}

	if (a.open !== b.open) {
		return a.open ? -1 : 1;
	}

	return a.generation === b.generation ? compareText(a.writer, b.writer) : a.generation - b.generation;
}

export const isNewer = (candidate: SessionRecord, current: SessionRecord): boolean =>
	compareStamps(stampOf(candidate), stampOf(current)) > 0;

/**
 * How `record` stands to the signed-in record `ref` names: 0 when it is
 * that record (whoever wrote it), positive when newer, negative when older.
 */
export const compareToRef = (record: SessionRecord | Stamp, ref: RecordRef): number =>
	compareStamps({...('open' in record ? record : stampOf(record)), writer: ''}, {...refOf(ref), writer: '', open: true});

/** Orders two signed-in records by their refs alone. */
export const compareRefs = (a: RecordRef, b: RecordRef): number =>
	compareStamps({...refOf(a), writer: '', open: true}, {...refOf(b), writer: '', open: true});

export const isRecordOf = (record: SessionRecord, ref: RecordRef): boolean =>
	record.tokens !== null && compareToRef(record, ref) === 0;

// --- building records -------------------------------------------------------------

/** Where a login or logout made now stands: its epoch, and a generation above any this tab has seen. */
export interface Next {
	epoch: number;
	generation: number;
	writer: string;
}

export const loginRecord = (next: Next, session: string, tokens: TokenSet): SessionRecord =>
	({...next, session, tokens, ended: null});

/**
 * An explicit logout, or the idle limit: a new epoch, so it beats every login made before it,
 * also one this tab missed.
 */
export const logoutRecord = (next: Next, current: SessionRecord, reason: 'logout' | 'idle' = 'logout'): SessionRecord =>
	({...next, session: current.session, tokens: null, ended: reason});

/** The session `from` belongs to, ended by the refresh endpoint: it keeps its epoch, so a later login still wins. */
export const rejectedRecord = (from: SessionRecord, writer: string): SessionRecord =>
	({...refOf(from), generation: from.generation + 1, writer, tokens: null, ended: 'refresh-rejected'});

/**
 * The session `from` belongs to, over for a reason this tab learnt from storage alone (another
 * login replaced it, or a failed write lost what ended it): it keeps its epoch, like a rejection.
 */
export const endedRecord = (from: SessionRecord, writer: string): SessionRecord =>
	({...refOf(from), generation: from.generation + 1, writer, tokens: null, ended: 'logout'});

export const refreshedRecord = (from: SessionRecord, writer: string, tokens: TokenSet): SessionRecord =>
	({...refOf(from), generation: from.generation + 1, writer, tokens, ended: null});

// --- parsing ----------------------------------------------------------------------

const isCount = (value: unknown): value is number =>
	typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

export const isTabId = (value: unknown): value is string =>
	typeof value === 'string' && value.length > 0 && value.length <= 64;

const isSessionId = (value: unknown): value is string =>
	typeof value === 'string' && value.length <= 64;

export const isEndReason = (value: unknown): value is EndReason =>
	value === 'logout' || value === 'refresh-rejected' || value === 'idle';

export function parseRef(value: unknown): RecordRef | undefined {
	if (typeof value !== 'object' || value === null) {
		return undefined;
	}

	const {epoch, session, generation} = value as Record<string, unknown>;
	return isCount(epoch) && isSessionId(session) && isCount(generation) ? {epoch, session, generation} : undefined;
}

export function parseRecord(value: unknown): SessionRecord | undefined {
	const ref = parseRef(value);
	if (!ref) {
		return undefined;
	}

	const {writer, tokens, ended} = value as Record<string, unknown>;
	if (!isTabId(writer) || !(ended === null || isEndReason(ended))) {
		return undefined;
	}

	if (tokens === null) {
		return {...ref, writer, tokens: null, ended};
	}

	const parsed = parseTokenSet(tokens);
	// A record holds tokens or says why it has none, never both; tokens belong to a session.
	return parsed && ended === null && ref.session !== '' ? {...ref, writer, tokens: parsed, ended: null} : undefined;
}
