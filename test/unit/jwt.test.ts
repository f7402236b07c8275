// @vitest-environment node
import {describe, expect, it} from 'vitest';
import {readJwtTimes} from '../../src/jwt.js';
import {toTokenSet} from '../../src/tokens.js';

const base64url = (value: string) => Buffer.from(value).toString('base64url');
/** An unsigned-looking JWT: the signature part is never checked, so any text serves. */
const jwt = (claims: unknown, header: unknown = {alg: 'HS256', typ: 'JWT'}) =>
	`${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}.c2lnbmF0dXJl`;

describe('readJwtTimes', () => {
	it('reads exp and iat from the payload', () => {
		expect(readJwtTimes(jwt({sub: 'u', iat: 1_700_000_000, exp: 1_700_000_300}))).toEqual({exp: 1_700_000_300, iat: 1_700_000_000});
	});

	it('decodes base64url payloads with "-", "_" and no padding, and UTF-8 claims', () => {
		const claims = {exp: 1_700_000_300, name: 'Zoë ~~~ ???>>>', pad: 'x'};
		const token = jwt(claims);
		expect(token.split('.')[1]).toMatch(/[-_]/);
		expect(readJwtTimes(token)).toEqual({exp: 1_700_000_300, iat: null});
	});

	it('ignores an iat that is missing, later than exp or not a number', () => {
		expect(readJwtTimes(jwt({exp: 100, iat: 200}))?.iat).toBeNull();
		expect(readJwtTimes(jwt({exp: 100, iat: '50'}))?.iat).toBeNull();
	});

	it.each([
		['an opaque token', 'opaque-access-token'],
		['two parts', 'a.b'],
		['an encrypted JWT (five parts)', 'a.b.c.d.e'],
		['a payload that is not base64', 'a.!!!.c'],
		['a payload that is not JSON', `a.${base64url('not json')}.c`],
		['a payload that is not an object', `a.${base64url('42')}.c`],
		['no exp', jwt({sub: 'u'})],
		['a string exp', jwt({exp: '1700000300'})],
		['a negative exp', jwt({exp: -5})],
	])('returns undefined for %s', (_name, token) => {
		expect(readJwtTimes(token)).toBeUndefined();
	});
});

describe('toTokenSet with a JWT access token and no expiresIn', () => {
	const now = 1_800_000_000_000;

	it('counts the lifetime exp - iat from receipt, less the second iat may have been truncated by, so a skewed client clock does not matter', () => {
		// Issued by a server whose clock is a day away from this tab's.
		const token = jwt({iat: 1_000, exp: 1_300});
		expect(toTokenSet({accessToken: token}, now).expiresAt).toBe(now + 299_000);
		expect(toTokenSet({accessToken: jwt({iat: 1_000, exp: 1_001})}, now).expiresAt).toBe(now + 1000);
	});

	it('takes exp as the expiry when there is no iat', () => {
		expect(toTokenSet({accessToken: jwt({exp: 1_800_000_600})}, now).expiresAt).toBe(1_800_000_600_000);
	});

	it('prefers expiresIn and expiresAt when the server sends them', () => {
		const token = jwt({iat: 1_000, exp: 1_300});
		expect(toTokenSet({accessToken: token, expiresIn: 60}, now).expiresAt).toBe(now + 60_000);
		expect(toTokenSet({accessToken: token, expiresAt: now + 1000}, now).expiresAt).toBe(now + 1000);
	});

	it('leaves the expiry unknown for opaque tokens and absurd lifetimes', () => {
		expect(toTokenSet({accessToken: 'opaque'}, now).expiresAt).toBeNull();
		expect(toTokenSet({accessToken: jwt({iat: 1, exp: 1 + (20 * 365 * 24 * 3600)})}, now).expiresAt).toBeNull();
	});
});
