// @vitest-environment node
import {describe, expect, it} from 'vitest';
import {parseMessage, protocolVersion, type Message} from '../../src/protocol.js';
import type {RecordRef, SessionRecord} from '../../src/record.js';
import type {TokenSet} from '../../src/tokens.js';

const tokens: TokenSet = {accessToken: 'at', refreshToken: 'rt', expiresAt: 2_000_000, issuedAt: 1_000_000};
const signedIn: SessionRecord = {epoch: 1_700_000_000_000, session: 'a1b2', generation: 3, writer: 'tab-a', tokens, ended: null};
const loggedOut: SessionRecord = {epoch: 1_700_000_000_500, session: 'a1b2', generation: 4, writer: 'tab-a', tokens: null, ended: 'logout'};
const of: RecordRef = {epoch: signedIn.epoch, session: signedIn.session, generation: 3};
const v = protocolVersion;

const everyKind: Message[] = [
	{v, from: 'tab-a', kind: 'tokens', record: signedIn},
	{v, from: 'tab-a', kind: 'logout', record: loggedOut},
	{v, from: 'tab-a', kind: 'logout', record: {...loggedOut, ended: 'refresh-rejected'}},
	{v, from: 'tab-a', kind: 'refreshing', of},
	{v, from: 'tab-a', kind: 'refresh-failed', of, status: 503, message: 'server down', oauth: null, retryAt: 1_700_000_001_000},
	{v, from: 'tab-a', kind: 'refresh-failed', of, status: null, message: '', oauth: {error: 'invalid_client', errorDescription: null, errorUri: null}, retryAt: 5},
	{v, from: 'tab-a', kind: 'refresh-abandoned', of},
	{v, from: 'tab-a', kind: 'refresh-request', of},
	{v, from: 'tab-a', kind: 'hello'},
	{v, from: 'tab-a', kind: 'state', to: 'tab-b', record: signedIn, refreshing: null},
	{v, from: 'tab-a', kind: 'state', to: 'tab-b', record: loggedOut, refreshing: of},
	{v, from: 'tab-a', kind: 'leader', since: 1_700_000_000_000},
	{v, from: 'tab-a', kind: 'claim'},
	{v, from: 'tab-a', kind: 'resign'},
];

describe('parseMessage', () => {
	it('uses protocol version 2: records carry a session and an epoch', () => {
		expect(protocolVersion).toBe(2);
	});

	for (const message of everyKind) {
		it(`round-trips a structured-cloned ${message.kind} message`, () => {
			expect(parseMessage(structuredClone(message))).toEqual(message);
		});
	}

	it('drops fields it does not know', () => {
		expect(parseMessage({v, from: 'tab-a', kind: 'hello', evil: '<script>'})).toEqual({v, from: 'tab-a', kind: 'hello'});
		expect(parseMessage({v, from: 'tab-a', kind: 'refreshing', of: {...of, extra: 1}, record: signedIn})).toEqual({v, from: 'tab-a', kind: 'refreshing', of});
	});

	it('keeps a well-formed OAuth error in refresh-failed and drops a malformed one', () => {
		const base = {v, from: 'x', kind: 'refresh-failed', of, status: 401, message: 'm', retryAt: 9};
		const oauth = {error: 'invalid_client', errorDescription: 'disabled', errorUri: null};
		expect(parseMessage({...base, oauth})).toEqual({...base, oauth});
		for (const malformed of [{error: ''}, {error: 5}, {error: 'e', errorDescription: 7}, {error: 'x'.repeat(501)}, 'invalid_client']) {
			expect(parseMessage({...base, oauth: malformed})).toEqual({...base, oauth: null});
		}
	});

	it('truncates a refresh-failed message to 500 characters', () => {
		const parsed = parseMessage({v, from: 'x', kind: 'refresh-failed', of, status: 500, message: 'y'.repeat(2000), oauth: null, retryAt: 1});
		expect(parsed?.kind === 'refresh-failed' && parsed.message).toBe('y'.repeat(500));
	});

	const invalid: Array<[string, unknown]> = [
		['null', null],
		['undefined', undefined],
		['a string', '{"v":2,"from":"a","kind":"hello"}'],
		['a number', 1],
		['an array', [2, 'a', 'hello']],
		['an empty object', {}],
		['v missing', {from: 'a', kind: 'hello'}],
		['a version 1 frame', {v: 1, from: 'a', kind: 'tokens', record: {generation: 2, writer: 'a', tokens, ended: null}}],
		['v 3', {v: 3, from: 'a', kind: 'hello'}],
		['v as a string', {v: '2', from: 'a', kind: 'hello'}],
		['an unknown kind', {v, from: 'a', kind: 'reboot'}],
		['no kind', {v, from: 'a'}],
		['from missing', {v, kind: 'hello'}],
		['from empty', {v, from: '', kind: 'hello'}],
		['from not a string', {v, from: 7, kind: 'hello'}],
		['from longer than 64', {v, from: 'a'.repeat(65), kind: 'hello'}],
		['a ref with a negative generation', {v, from: 'a', kind: 'refreshing', of: {...of, generation: -1}}],
		['a ref with a float generation', {v, from: 'a', kind: 'refresh-request', of: {...of, generation: 1.5}}],
		['a ref with a NaN epoch', {v, from: 'a', kind: 'refresh-abandoned', of: {...of, epoch: Number.NaN}}],
		['a ref with a string generation', {v, from: 'a', kind: 'refreshing', of: {...of, generation: '1'}}],
		['a ref with an unsafe epoch', {v, from: 'a', kind: 'refreshing', of: {...of, epoch: 2 ** 53}}],
		['a ref with a session longer than 64', {v, from: 'a', kind: 'refreshing', of: {...of, session: 's'.repeat(65)}}],
		['a ref without session', {v, from: 'a', kind: 'refreshing', of: {epoch: 1, generation: 1}}],
		['a missing ref', {v, from: 'a', kind: 'refreshing'}],
		['a generation instead of a ref (version 1 shape)', {v, from: 'a', kind: 'refreshing', generation: 3}],
		['refresh-failed with a float status', {v, from: 'a', kind: 'refresh-failed', of, status: 500.5, message: 'x', oauth: null, retryAt: 1}],
		['refresh-failed with a string status', {v, from: 'a', kind: 'refresh-failed', of, status: '500', message: 'x', oauth: null, retryAt: 1}],
		['refresh-failed without message', {v, from: 'a', kind: 'refresh-failed', of, status: 500, oauth: null, retryAt: 1}],
		['refresh-failed without retryAt', {v, from: 'a', kind: 'refresh-failed', of, status: 500, message: 'x', oauth: null}],
		['refresh-failed with an infinite retryAt', {v, from: 'a', kind: 'refresh-failed', of, status: 500, message: 'x', oauth: null, retryAt: Number.POSITIVE_INFINITY}],
		['leader without since', {v, from: 'a', kind: 'leader'}],
		['leader with a string since', {v, from: 'a', kind: 'leader', since: '1'}],
		['tokens whose record has no tokens', {v, from: 'a', kind: 'tokens', record: loggedOut}],
		['tokens whose record has no tokens and no end', {v, from: 'a', kind: 'tokens', record: {...loggedOut, ended: null}}],
		['logout whose record has tokens', {v, from: 'a', kind: 'logout', record: signedIn}],
		['a logout of epoch 0 (no session ever)', {v, from: 'a', kind: 'logout', record: {...loggedOut, epoch: 0}}],
		['a record with tokens and ended', {v, from: 'a', kind: 'tokens', record: {...signedIn, ended: 'logout'}}],
		['a record with tokens and no session', {v, from: 'a', kind: 'tokens', record: {...signedIn, session: ''}}],
		['a record without epoch (version 1 shape)', {v, from: 'a', kind: 'tokens', record: {generation: 2, writer: 'a', tokens, ended: null}}],
		['tokens without record', {v, from: 'a', kind: 'tokens'}],
		['tokens with malformed tokens', {v, from: 'a', kind: 'tokens', record: {...signedIn, tokens: {...tokens, accessToken: ''}}}],
		['a record with an unknown end reason', {v, from: 'a', kind: 'logout', record: {...loggedOut, ended: 'bored'}}],
		['a record with a negative generation', {v, from: 'a', kind: 'tokens', record: {...signedIn, generation: -1}}],
		['a record with an empty writer', {v, from: 'a', kind: 'tokens', record: {...signedIn, writer: ''}}],
		['state without to', {v, from: 'a', kind: 'state', record: signedIn, refreshing: null}],
		['state with a malformed refreshing', {v, from: 'a', kind: 'state', to: 'b', record: signedIn, refreshing: -1}],
		['state with refreshing undefined', {v, from: 'a', kind: 'state', to: 'b', record: signedIn}],
		['state with a bad record', {v, from: 'a', kind: 'state', to: 'b', record: null, refreshing: null}],
	];
	for (const [label, data] of invalid) {
		it(`returns undefined for ${label}`, () => {
			expect(parseMessage(data)).toBeUndefined();
		});
	}

	it('accepts a from of exactly 64 characters', () => {
		expect(parseMessage({v, from: 'a'.repeat(64), kind: 'hello'})).toBeDefined();
	});
});
