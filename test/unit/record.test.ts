// @vitest-environment node
import {describe, expect, it} from 'vitest';
import {
	compareToRef,
	emptyRecord,
	isNewer,
	isRecordOf,
	loginRecord,
	logoutRecord,
	parseRecord,
	refOf,
	refreshedRecord,
	rejectedRecord,
	type SessionRecord,
} from '../../src/record.js';
import type {TokenSet} from '../../src/tokens.js';

const tokens: TokenSet = {accessToken: 'at', refreshToken: 'rt', expiresAt: 2_000_000, issuedAt: 1_000_000};
const login = (epoch: number, session: string, generation = 1, writer = 'tab-a'): SessionRecord =>
	({epoch, session, generation, writer, tokens, ended: null});

describe('the order of records', () => {
	it('puts the later login first, whatever the generations', () => {
		const old = login(100, 'old', 40);
		const fresh = login(200, 'new', 1);
		expect(isNewer(fresh, old)).toBe(true);
		expect(isNewer(old, fresh)).toBe(false);
	});

	it('within a session, its end wins over tokens of any generation: no refresh outlives a logout', () => {
		const session = login(100, 's', 2);
		const rejected = rejectedRecord(session, 'tab-b');
		// A stale tab refreshed the same session later, to a higher generation.
		const stale = refreshedRecord(login(100, 's', 9), 'tab-c', tokens);
		expect(rejected.epoch).toBe(100);
		expect(isNewer(rejected, stale)).toBe(true);
		expect(isNewer(stale, rejected)).toBe(false);
	});

	it('an explicit logout takes a new epoch: it beats a login made before it that the tab never heard of', () => {
		const missed = login(150, 'missed');
		const logout = logoutRecord({epoch: 200, generation: 6, writer: 'tab-stale'}, login(100, 'old', 5));
		expect(isNewer(logout, missed)).toBe(true);
		// A login after the logout wins again.
		expect(isNewer(loginRecord({epoch: 201, generation: 7, writer: 'tab-a'}, 'next', tokens), logout)).toBe(true);
	});

	it('the end of a session by the refresh endpoint never beats a later login (an account switch)', () => {
		const oldSession = login(100, 'old', 3);
		const nextUser = login(150, 'next');
		expect(isNewer(nextUser, rejectedRecord(oldSession, 'tab-b'))).toBe(true);
	});

	it('orders by generation within a session, then by writer', () => {
		expect(isNewer(login(100, 's', 3), login(100, 's', 2))).toBe(true);
		expect(isNewer(login(100, 's', 2, 'tab-b'), login(100, 's', 2, 'tab-a'))).toBe(true);
		expect(isNewer(login(100, 's', 2, 'tab-a'), login(100, 's', 2, 'tab-b'))).toBe(false);
	});

	it('breaks a tie between two logins of one epoch by session id, the same way in every tab', () => {
		expect(isNewer(login(100, 'b'), login(100, 'a'))).toBe(true);
		expect(isNewer(login(100, 'a'), login(100, 'b'))).toBe(false);
	});

	it('does not call identical records newer', () => {
		const record = login(100, 's', 2);
		expect(isNewer(record, structuredClone(record))).toBe(false);
		const ended = logoutRecord({epoch: 300, generation: 3, writer: 'tab-a'}, record);
		expect(isNewer(ended, structuredClone(ended))).toBe(false);
	});

	it('any login beats the empty record a tab starts with', () => {
		expect(isNewer(login(1, 's'), emptyRecord('tab-z'))).toBe(true);
		expect(isNewer(emptyRecord('tab-z'), login(1, 's'))).toBe(false);
	});
});

describe('refs', () => {
	it('name a signed-in record whoever wrote it', () => {
		const record = login(100, 's', 4, 'tab-a');
		const ref = refOf(record);
		expect(isRecordOf({...record, writer: 'tab-b'}, ref)).toBe(true);
		expect(compareToRef(record, ref)).toBe(0);
		expect(compareToRef(login(100, 's', 5), ref)).toBeGreaterThan(0);
		expect(compareToRef(login(100, 's', 3), ref)).toBeLessThan(0);
		expect(compareToRef(rejectedRecord(record, 'tab-b'), ref)).toBeGreaterThan(0);
		expect(isRecordOf(rejectedRecord(record, 'tab-b'), {...ref, generation: 5})).toBe(false);
	});
});

describe('parseRecord', () => {
	it('accepts signed-in and ended records and the empty one', () => {
		const record = login(100, 's', 2);
		expect(parseRecord(record)).toEqual(record);
		const ended = logoutRecord({epoch: 200, generation: 3, writer: 'tab-a'}, record);
		expect(parseRecord(ended)).toEqual(ended);
		expect(parseRecord(emptyRecord('w'))).toEqual(emptyRecord('w'));
	});

	it('rejects a record with tokens and ended, or tokens outside a session', () => {
		expect(parseRecord({...login(100, 's'), ended: 'refresh-rejected'})).toBeUndefined();
		expect(parseRecord({...login(100, ''), session: ''})).toBeUndefined();
	});
});
