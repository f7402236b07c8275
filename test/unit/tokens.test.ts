// @vitest-environment node
import {describe, expect, it} from 'vitest';
import {InvalidTokensError} from '../../src/errors.js';
import {minTokenLifetime, parseTokenSet, toTokenSet, unusableLifetime, type TokenSet} from '../../src/tokens.js';

const now = 1_700_000_000_000;
const tenYearsSeconds = 10 * 365 * 24 * 3600;

describe('toTokenSet', () => {
	it('turns expiresIn seconds into an absolute expiry in ms from now', () => {
		expect(toTokenSet({accessToken: 'at', refreshToken: 'rt', expiresIn: 3600}, now)).toEqual({
			accessToken: 'at',
			refreshToken: 'rt',
			expiresAt: now + 3_600_000,
			issuedAt: now,
		});
	});

	it('accepts a numeric string expiresIn, including a decimal one', () => {
		expect(toTokenSet({accessToken: 'at', expiresIn: '3600'}, now).expiresAt).toBe(now + 3_600_000);
		expect(toTokenSet({accessToken: 'at', expiresIn: '1.5'}, now).expiresAt).toBe(now + 1500);
	});

	it('rounds fractional seconds to whole ms', () => {
		expect(toTokenSet({accessToken: 'at', expiresIn: 0.0004}, now).expiresAt).toBe(now);
		expect(toTokenSet({accessToken: 'at', expiresIn: 1.2346}, now).expiresAt).toBe(now + 1235);
	});

	it('accepts expiresIn 0 and exactly ten years', () => {
		expect(toTokenSet({accessToken: 'at', expiresIn: 0}, now).expiresAt).toBe(now);
		expect(toTokenSet({accessToken: 'at', expiresIn: tenYearsSeconds}, now).expiresAt).toBe(now + (tenYearsSeconds * 1000));
	});

	it('recognises expiresAt in epoch seconds, as in a JWT exp', () => {
		const seconds = Math.floor((now + 60_000) / 1000);
		expect(toTokenSet({accessToken: 'at', expiresAt: seconds}, now).expiresAt).toBe(seconds * 1000);
	});

	it('uses expiresAt (epoch ms) when expiresIn is absent', () => {
		expect(toTokenSet({accessToken: 'at', expiresAt: now + 5000}, now).expiresAt).toBe(now + 5000);
		expect(toTokenSet({accessToken: 'at', expiresIn: null, expiresAt: now + 7000}, now).expiresAt).toBe(now + 7000);
	});

	it('prefers expiresIn over expiresAt when both are given', () => {
		expect(toTokenSet({accessToken: 'at', expiresIn: 10, expiresAt: now + 999_999}, now).expiresAt).toBe(now + 10_000);
	});

	it('gives a null expiry when the response has no lifetime', () => {
		const tokens = toTokenSet({accessToken: 'at', refreshToken: 'rt'}, now);
		expect(tokens.expiresAt).toBeNull();
		expect(tokens.issuedAt).toBe(now);
	});

	it('keeps the previous refresh token when the response has none', () => {
		const previous = toTokenSet({accessToken: 'old-at', refreshToken: 'old-rt'}, now);
		expect(toTokenSet({accessToken: 'at'}, now, previous).refreshToken).toBe('old-rt');
		expect(toTokenSet({accessToken: 'at', refreshToken: null}, now, previous).refreshToken).toBe('old-rt');
		expect(toTokenSet({accessToken: 'at', refreshToken: 'new-rt'}, now, previous).refreshToken).toBe('new-rt');
		expect(toTokenSet({accessToken: 'at'}, now).refreshToken).toBeNull();
	});

	it('does not copy unknown fields from the input', () => {
		const tokens = toTokenSet({accessToken: 'at', other: 'x', token_type: 'Bearer'}, now);
		expect(Object.keys(tokens).sort()).toEqual(['accessToken', 'expiresAt', 'issuedAt', 'refreshToken']);
	});

	it('keeps idToken, scope, tokenType and extra, and each of the previous set where a refresh answer omits it', () => {
		const first = toTokenSet({accessToken: 'at', refreshToken: 'rt', idToken: 'id.jwt.sig', scope: 'openid profile', tokenType: 'Bearer', extra: {tenant: 't1', roles: ['a']}}, now);
		expect(first).toMatchObject({idToken: 'id.jwt.sig', scope: 'openid profile', tokenType: 'Bearer', extra: {tenant: 't1', roles: ['a']}});
		const next = toTokenSet({accessToken: 'at2', scope: 'openid'}, now, first);
		expect(next).toMatchObject({refreshToken: 'rt', idToken: 'id.jwt.sig', scope: 'openid', tokenType: 'Bearer', extra: {tenant: 't1', roles: ['a']}});
		// What a tab receives from storage or another tab is checked the same way.
		expect(parseTokenSet(JSON.parse(JSON.stringify(next)))).toEqual(next);
		expect(parseTokenSet({...next, idToken: 42})).toBeUndefined();
	});

	it('refuses details that are not what they say', () => {
		expect(() => toTokenSet({accessToken: 'at', idToken: ''}, now)).toThrow('`idToken` must be a non-empty string of at most 16384 characters when given');
		expect(() => toTokenSet({accessToken: 'at', scope: 7}, now)).toThrow('`scope` must be a non-empty string');
		expect(() => toTokenSet({accessToken: 'at', extra: 'x'}, now)).toThrow('`extra` must be a plain object of JSON values, at most 8 KB as JSON');
		expect(() => toTokenSet({accessToken: 'at', extra: {big: 'x'.repeat(9000)}}, now)).toThrow('at most 8 KB');
		expect(() => toTokenSet({accessToken: 'at', extra: new Map()}, now)).toThrow(InvalidTokensError);
	});

	const badAccessTokens: Array<[string, unknown]> = [
		['missing', undefined],
		['empty', ''],
		['whitespace only', '   '],
		['containing a space', 'abc def'],
		['containing a newline', 'abc\ndef'],
		['containing a tab', 'abc\tdef'],
		['containing a control character', 'abc\u0000def'],
		['containing DEL', 'abc\u007Fdef'],
		['a number', 12_345],
		['an object', {token: 'x'}],
		['longer than 16 KiB', 'a'.repeat(16_385)],
	];
	for (const [label, accessToken] of badAccessTokens) {
		it(`rejects an accessToken that is ${label}`, () => {
			expect(() => toTokenSet({accessToken, expiresIn: 60}, now)).toThrow(InvalidTokensError);
		});
	}

	it('says what the mistake is: a raw OAuth 2.0 body, a `Bearer ` prefix, `refresh_token`', () => {
		expect(() => toTokenSet({access_token: 'at', refresh_token: 'rt', expires_in: 60}, now))
			.toThrow('got `access_token`: did you mean `accessToken`? Map an OAuth 2.0 token response ({accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in}), or use `oauth2RefreshGrant()` for refreshes');
		expect(() => toTokenSet({accessToken: 'Bearer abc'}, now)).toThrow('`accessToken` starts with `Bearer `: drop the prefix, the session adds it');
		expect(() => toTokenSet({accessToken: 'bearer\tabc'}, now)).toThrow('drop the prefix');
		expect(() => toTokenSet({accessToken: 'at', refresh_token: 'rt'}, now)).toThrow('got `refresh_token`: did you mean `refreshToken`?');
		// An empty string still gets the plain message.
		expect(() => toTokenSet({accessToken: ''}, now)).toThrow('`accessToken` must be a non-empty string without whitespace');
	});

	it('accepts an accessToken of exactly 16 KiB', () => {
		expect(toTokenSet({accessToken: 'a'.repeat(16_384)}, now).accessToken).toHaveLength(16_384);
	});

	for (const [label, refreshToken] of [['a number', 42], ['an empty string', ''], ['with a newline', 'r\nt'], ['an object', {}], ['true', true]] as const) {
		it(`rejects a refreshToken that is ${label}`, () => {
			expect(() => toTokenSet({accessToken: 'at', refreshToken}, now)).toThrow(InvalidTokensError);
		});
	}

	const badExpiresIn: Array<[string, unknown]> = [
		['NaN', Number.NaN],
		['Infinity', Number.POSITIVE_INFINITY],
		['above ten years (ms sent as seconds)', tenYearsSeconds + 1],
		['below minus ten years', -tenYearsSeconds - 1],
		['a huge number', 1e15],
		['a negative string', '-5'],
		['an exponent string', '1e3'],
		['a non-numeric string', 'soon'],
		['an empty string', ''],
		['a boolean', true],
		['an object', {}],
	];
	for (const [label, expiresIn] of badExpiresIn) {
		it(`rejects an expiresIn that is ${label}`, () => {
			expect(() => toTokenSet({accessToken: 'at', expiresIn}, now)).toThrow(InvalidTokensError);
		});
	}

	it('takes a negative expiresIn as a token already expired (the lifetime floor refuses it; a refresh still keeps the refresh token)', () => {
		const set = toTokenSet({accessToken: 'at', refreshToken: 'rt', expiresIn: -5}, now);
		expect(set.expiresAt).toBe(now - 5000);
		expect(unusableLifetime(set)).toMatch(/expires on arrival/);
	});

	it('calls a lifetime under a second unusable, and one of a second or more usable', () => {
		expect(unusableLifetime(toTokenSet({accessToken: 'at', expiresIn: 0}, now))).toMatch(/on arrival, under the minimum lifetime of 1000 ms/);
		expect(unusableLifetime(toTokenSet({accessToken: 'at', expiresIn: 0.3}, now))).toMatch(/in 300 ms/);
		expect(unusableLifetime(toTokenSet({accessToken: 'at', expiresAt: now - 60_000}, now))).toMatch(/on arrival/);
		// Counted from receipt: a 1 s token is usable however long it took to check it.
		expect(unusableLifetime(toTokenSet({accessToken: 'at', expiresIn: 1}, now))).toBeUndefined();
		expect(unusableLifetime(toTokenSet({accessToken: 'at'}, now))).toBeUndefined();
		expect(minTokenLifetime).toBe(1000);
	});

	for (const [label, expiresAt] of [['zero', 0], ['negative', -5], ['NaN', Number.NaN], ['beyond ten years from now', now + (tenYearsSeconds * 1000) + 1], ['a word', 'tomorrow']] as const) {
		it(`rejects an expiresAt that is ${label}`, () => {
			expect(() => toTokenSet({accessToken: 'at', expiresAt}, now)).toThrow(InvalidTokensError);
		});
	}

	for (const [label, input] of [['null', null], ['undefined', undefined], ['a string', 'at'], ['a number', 1], ['an array', ['at']]] as const) {
		it(`rejects input that is ${label}`, () => {
			expect(() => toTokenSet(input, now)).toThrow(InvalidTokensError);
		});
	}

	it('never quotes a token in its error message', () => {
		const secret = 'super-secret-refresh';
		try {
			toTokenSet({accessToken: 'bad token-value', refreshToken: secret}, now);
			expect.unreachable();
		} catch (error) {
			expect(error).toBeInstanceOf(InvalidTokensError);
			expect((error as Error).message).not.toContain('token-value');
		}

		try {
			toTokenSet({accessToken: 'fine', refreshToken: `${secret} x`}, now);
			expect.unreachable();
		} catch (error) {
			expect((error as Error).message).not.toContain(secret);
		}
	});
});

describe('parseTokenSet', () => {
	const valid: TokenSet = {accessToken: 'at', refreshToken: 'rt', expiresAt: now + 60_000, issuedAt: now};

	it('accepts a valid token set', () => {
		expect(parseTokenSet(valid)).toEqual(valid);
		expect(parseTokenSet({...valid, refreshToken: null, expiresAt: null})).toEqual({...valid, refreshToken: null, expiresAt: null});
	});

	it('returns a copy without unknown fields', () => {
		const parsed = parseTokenSet({...valid, evil: 'x'});
		expect(parsed).toEqual(valid);
		expect(parsed).not.toHaveProperty('evil');
	});

	const malformed: Array<[string, unknown]> = [
		['null', null],
		['a string', 'at'],
		['missing accessToken', {...valid, accessToken: undefined}],
		['empty accessToken', {...valid, accessToken: ''}],
		['accessToken with whitespace', {...valid, accessToken: 'a b'}],
		['refreshToken undefined', {...valid, refreshToken: undefined}],
		['refreshToken a number', {...valid, refreshToken: 1}],
		['refreshToken empty', {...valid, refreshToken: ''}],
		['expiresAt a string', {...valid, expiresAt: String(now)}],
		['expiresAt Infinity', {...valid, expiresAt: Number.POSITIVE_INFINITY}],
		['expiresAt missing', {...valid, expiresAt: undefined}],
		['issuedAt missing', {...valid, issuedAt: undefined}],
		['issuedAt NaN', {...valid, issuedAt: Number.NaN}],
		['issuedAt null', {...valid, issuedAt: null}],
	];
	for (const [label, value] of malformed) {
		it(`rejects ${label}`, () => {
			expect(parseTokenSet(value)).toBeUndefined();
		});
	}
});
