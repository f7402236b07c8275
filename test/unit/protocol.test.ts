import {describe, expect, it} from 'vitest';
import {isNewer, parseMessage, parseRecord, protocolVersion, type Message, type SessionRecord} from '../../src/protocol.js';
import type {TokenSet} from '../../src/tokens.js';

const tokens: TokenSet = {accessToken: 'at', refreshToken: 'rt', expiresAt: 2_000_000, issuedAt: 1_000_000};
const signedIn: SessionRecord = {generation: 3, writer: 'tab-a', tokens, ended: null};
const loggedOut: SessionRecord = {generation: 4, writer: 'tab-a', tokens: null, ended: 'logout'};

const everyKind: Message[] = [
	{v: 1, from: 'tab-a', kind: 'tokens', record: signedIn},
	{v: 1, from: 'tab-a', kind: 'logout', record: loggedOut},
	{v: 1, from: 'tab-a', kind: 'logout', record: {...loggedOut, ended: 'refresh-rejected'}},
	{v: 1, from: 'tab-a', kind: 'refreshing', generation: 3},
	{v: 1, from: 'tab-a', kind: 'refresh-failed', generation: 3, status: 503, message: 'server down'},
	{v: 1, from: 'tab-a', kind: 'refresh-failed', generation: 0, status: null, message: ''},
	{v: 1, from: 'tab-a', kind: 'refresh-abandoned', generation: 3},
	{v: 1, from: 'tab-a', kind: 'refresh-request', generation: 0},
	{v: 1, from: 'tab-a', kind: 'hello'},
	{v: 1, from: 'tab-a', kind: 'state', to: 'tab-b', record: signedIn, refreshing: null},
	{v: 1, from: 'tab-a', kind: 'state', to: 'tab-b', record: loggedOut, refreshing: 4},
];

describe('parseMessage', () => {
	it('uses protocol version 1', () => {
		expect(protocolVersion).toBe(1);
	});

	for (const message of everyKind) {
		it(`round-trips a structured-cloned ${message.kind} message`, () => {
			expect(parseMessage(structuredClone(message))).toEqual(message);
		});
	}

	it('drops fields it does not know', () => {
		const parsed = parseMessage({v: 1, from: 'tab-a', kind: 'hello', evil: '<script>'});
		expect(parsed).toEqual({v: 1, from: 'tab-a', kind: 'hello'});
		const refreshing = parseMessage({v: 1, from: 'tab-a', kind: 'refreshing', generation: 2, record: signedIn});
		expect(refreshing).toEqual({v: 1, from: 'tab-a', kind: 'refreshing', generation: 2});
	});

	it('carries a token endpoint\'s OAuth error in refresh-failed, and drops a malformed one', () => {
		const oauth = {error: 'invalid_client', errorDescription: 'disabled', errorUri: null};
		expect(parseMessage({v: 1, from: 'x', kind: 'refresh-failed', generation: 1, status: 401, message: 'm', oauth}))
			.toEqual({v: 1, from: 'x', kind: 'refresh-failed', generation: 1, status: 401, message: 'm', oauth});
		for (const malformed of [{error: ''}, {error: 5}, {error: 'e', errorDescription: 7}, {error: 'x'.repeat(501)}, 'invalid_client']) {
			const parsed = parseMessage({v: 1, from: 'x', kind: 'refresh-failed', generation: 1, status: 401, message: 'm', oauth: malformed});
			expect(parsed).toEqual({v: 1, from: 'x', kind: 'refresh-failed', generation: 1, status: 401, message: 'm'});
		}
	});

	it('truncates a refresh-failed message to 500 characters', () => {
		const parsed = parseMessage({v: 1, from: 'x', kind: 'refresh-failed', generation: 1, status: 500, message: 'y'.repeat(2000)});
		expect(parsed?.kind === 'refresh-failed' && parsed.message).toBe('y'.repeat(500));
	});

	const invalid: Array<[string, unknown]> = [
		['null', null],
		['undefined', undefined],
		['a string', '{"v":1,"from":"a","kind":"hello"}'],
		['a number', 1],
		['an array', [1, 'a', 'hello']],
		['an empty object', {}],
		['v missing', {from: 'a', kind: 'hello'}],
		['v 2', {v: 2, from: 'a', kind: 'hello'}],
		['v as a string', {v: '1', from: 'a', kind: 'hello'}],
		['an unknown kind', {v: 1, from: 'a', kind: 'reboot'}],
		['no kind', {v: 1, from: 'a'}],
		['from missing', {v: 1, kind: 'hello'}],
		['from empty', {v: 1, from: '', kind: 'hello'}],
		['from not a string', {v: 1, from: 7, kind: 'hello'}],
		['from longer than 64', {v: 1, from: 'a'.repeat(65), kind: 'hello'}],
		['a negative generation', {v: 1, from: 'a', kind: 'refreshing', generation: -1}],
		['a float generation', {v: 1, from: 'a', kind: 'refresh-request', generation: 1.5}],
		['a NaN generation', {v: 1, from: 'a', kind: 'refresh-abandoned', generation: Number.NaN}],
		['a string generation', {v: 1, from: 'a', kind: 'refreshing', generation: '1'}],
		['an unsafe generation', {v: 1, from: 'a', kind: 'refreshing', generation: 2 ** 53}],
		['a missing generation', {v: 1, from: 'a', kind: 'refreshing'}],
		['refresh-failed with a float status', {v: 1, from: 'a', kind: 'refresh-failed', generation: 1, status: 500.5, message: 'x'}],
		['refresh-failed with a string status', {v: 1, from: 'a', kind: 'refresh-failed', generation: 1, status: '500', message: 'x'}],
		['refresh-failed without message', {v: 1, from: 'a', kind: 'refresh-failed', generation: 1, status: 500}],
		['refresh-failed with a negative generation', {v: 1, from: 'a', kind: 'refresh-failed', generation: -2, status: null, message: 'x'}],
		['tokens whose record has no tokens', {v: 1, from: 'a', kind: 'tokens', record: loggedOut}],
		['tokens whose record has no tokens and no end', {v: 1, from: 'a', kind: 'tokens', record: {...loggedOut, ended: null}}],
		['logout whose record has tokens', {v: 1, from: 'a', kind: 'logout', record: signedIn}],
		['a record with tokens and ended', {v: 1, from: 'a', kind: 'tokens', record: {...signedIn, ended: 'logout'}}],
		['a logout record with tokens and ended', {v: 1, from: 'a', kind: 'logout', record: {...signedIn, ended: 'logout'}}],
		['tokens without record', {v: 1, from: 'a', kind: 'tokens'}],
		['tokens with malformed tokens', {v: 1, from: 'a', kind: 'tokens', record: {...signedIn, tokens: {...tokens, accessToken: ''}}}],
		['a record with an unknown end reason', {v: 1, from: 'a', kind: 'logout', record: {...loggedOut, ended: 'bored'}}],
		['a record with a negative generation', {v: 1, from: 'a', kind: 'tokens', record: {...signedIn, generation: -1}}],
		['a record with an empty writer', {v: 1, from: 'a', kind: 'tokens', record: {...signedIn, writer: ''}}],
		['state without to', {v: 1, from: 'a', kind: 'state', record: signedIn, refreshing: null}],
		['state with refreshing -1', {v: 1, from: 'a', kind: 'state', to: 'b', record: signedIn, refreshing: -1}],
		['state with refreshing undefined', {v: 1, from: 'a', kind: 'state', to: 'b', record: signedIn}],
		['state with a bad record', {v: 1, from: 'a', kind: 'state', to: 'b', record: null, refreshing: null}],
	];
	for (const [label, data] of invalid) {
		it(`returns undefined for ${label}`, () => {
			expect(parseMessage(data)).toBeUndefined();
		});
	}

	it('accepts a from of exactly 64 characters', () => {
		expect(parseMessage({v: 1, from: 'a'.repeat(64), kind: 'hello'})).toBeDefined();
	});
});

describe('parseRecord', () => {
	it('accepts signed-in and ended records', () => {
		expect(parseRecord(signedIn)).toEqual(signedIn);
		expect(parseRecord(loggedOut)).toEqual(loggedOut);
		expect(parseRecord({generation: 0, writer: 'w', tokens: null, ended: null})).toEqual({generation: 0, writer: 'w', tokens: null, ended: null});
	});

	it('rejects a record with tokens and ended', () => {
		expect(parseRecord({...signedIn, ended: 'refresh-rejected'})).toBeUndefined();
	});
});

describe('isNewer', () => {
	const record = (generation: number, writer: string, withTokens: boolean): SessionRecord => withTokens
		? {generation, writer, tokens, ended: null}
		: {generation, writer, tokens: null, ended: 'logout'};

	it('orders by generation first', () => {
		expect(isNewer(record(5, 'a', true), record(4, 'z', true))).toBe(true);
		expect(isNewer(record(4, 'z', true), record(5, 'a', true))).toBe(false);
		// A higher generation wins whatever it holds.
		expect(isNewer(record(5, 'a', true), record(4, 'a', false))).toBe(true);
		expect(isNewer(record(4, 'a', false), record(5, 'a', true))).toBe(false);
	});

	it('lets logout beat tokens at equal generation', () => {
		expect(isNewer(record(5, 'a', false), record(5, 'z', true))).toBe(true);
		expect(isNewer(record(5, 'z', true), record(5, 'a', false))).toBe(false);
	});

	it('lets the larger writer win between two token records of one generation', () => {
		expect(isNewer(record(5, 'tab-b', true), record(5, 'tab-a', true))).toBe(true);
		expect(isNewer(record(5, 'tab-a', true), record(5, 'tab-b', true))).toBe(false);
	});

	it('does not call identical records newer', () => {
		expect(isNewer(signedIn, structuredClone(signedIn))).toBe(false);
		expect(isNewer(loggedOut, structuredClone(loggedOut))).toBe(false);
	});

	it('orders two ended records of one generation by writer, so every tab keeps the same one', () => {
		expect(isNewer(record(5, 'b', false), record(5, 'a', false))).toBe(true);
		expect(isNewer(record(5, 'a', false), record(5, 'b', false))).toBe(false);
		expect(isNewer(record(5, 'a', false), record(5, 'a', false))).toBe(false);
	});
});
