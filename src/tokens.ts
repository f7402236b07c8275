import {InvalidTokensError} from './errors.js';
import {readJwtTimes} from './jwt.js';

/** Tokens as `login` accepts them and as a refresh response is parsed into. */
export interface TokenInput {
	accessToken: string;
	/** Omitted when the refresh token lives in an httpOnly cookie, or when the server keeps the old one. */
	refreshToken?: string | null | undefined;
	/** Lifetime of the access token in seconds, as servers send it. */
	expiresIn?: number | null | undefined;
	/**
	 * Absolute expiry in epoch milliseconds (epoch seconds, as in a JWT `exp`,
	 * are recognised); used when `expiresIn` is absent. When both are absent
	 * and the access token is a JWT, its `exp` claim is read (decoded, never
	 * verified).
	 */
	expiresAt?: number | null | undefined;
	/** An OpenID Connect ID token, for the app (an end-session `id_token_hint`, say); kept across refreshes that omit it. */
	idToken?: string | null | undefined;
	/** The granted scope, as the server sent it; kept across refreshes that omit it. */
	scope?: string | null | undefined;
	/** The token type (`Bearer`); kept across refreshes that omit it. */
	tokenType?: string | null | undefined;
	/** Other fields of the token response the app wants in every tab: plain JSON, at most 8 KB. */
	extra?: Record<string, unknown> | null | undefined;
}

/** What a token response carries besides the tokens the session uses. */
export interface TokenDetails {
	idToken?: string;
	scope?: string;
	tokenType?: string;
	extra?: Record<string, unknown>;
}

/** The token set every tab holds. Plain data: it crosses the channel and storage. */
export interface TokenSet {
	accessToken: string;
	refreshToken: string | null;
	/** Epoch ms, or null when the server gave no lifetime (only a 401 then triggers a refresh). */
	expiresAt: number | null;
	/** Epoch ms at which this tab received the tokens; with `expiresAt` it gives the lifetime. */
	issuedAt: number;
	idToken?: string;
	scope?: string;
	tokenType?: string;
	extra?: Record<string, unknown>;
}

// Ten years: anything longer is a unit mistake (ms sent as seconds), not a lifetime.
const maxLifetimeSeconds = 10 * 365 * 24 * 3600;

const isToken = (value: unknown): value is string =>
	typeof value === 'string' && value.length > 0 && value.length <= 16_384 && !/[\s\u0000-\u001F\u007F]/.test(value);

const toNumber = (value: unknown): number | undefined => {
	if (typeof value === 'number') {
		return value;
	}

	// Some servers send `"expires_in": "3600"`.
	if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) {
		return Number(value);
	}

	return undefined;
};

/**
 * The expiry a JWT access token states. With `iat`, the lifetime is counted
 * from receipt, like `expires_in`, so a skewed client clock does not matter;
 * without it, `exp` is taken as it is.
 */
function jwtExpiry(accessToken: string, now: number): number | null {
	const times = readJwtTimes(accessToken);
	if (!times) {
		return null;
	}

	// `iat` is in whole seconds: the token was issued up to a second after it, so count a second less.
	const lifetime = times.iat === null ? 0 : times.exp - times.iat;
	const at = times.iat === null ? times.exp * 1000 : now + ((lifetime > 1 ? lifetime - 1 : lifetime) * 1000);
	return at > now + (maxLifetimeSeconds * 1000) ? null : at;
}

const isText = (value: unknown, max: number): value is string =>
	typeof value === 'string' && value.length > 0 && value.length <= max && !/[\u0000-\u001F\u007F]/.test(value);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** `extra` as JSON would carry it, or undefined when it is not plain JSON of at most 8 KB. */
function jsonExtra(value: unknown): Record<string, unknown> | undefined {
	if (!isPlainObject(value)) {
		return undefined;
	}

	try {
		const text = JSON.stringify(value);
		return text.length <= 8192 ? JSON.parse(text) as Record<string, unknown> : undefined;
	} catch {
		return undefined;
	}
}

/** The details of `input`, each one of `previous` where the input has none (a refresh that omits it). */
function detailsOf(input: Record<string, unknown>, previous: TokenDetails | null): TokenDetails {
	const details: TokenDetails = {};
	const {idToken, scope, tokenType, extra} = input;
	const fields = [['idToken', idToken, 16_384], ['scope', scope, 4096], ['tokenType', tokenType, 64]] as const;
	for (const [name, value, max] of fields) {
		if (value === undefined || value === null) {
			if (previous?.[name] !== undefined) {
				details[name] = previous[name];
			}
		} else if (isText(value, max)) {
			details[name] = value;
		} else {
			throw new InvalidTokensError(`\`${name}\` must be a non-empty string of at most ${max} characters when given`);
		}
	}

	if (extra === undefined || extra === null) {
		if (previous?.extra !== undefined) {
			details.extra = previous.extra;
		}
	} else {
		const json = jsonExtra(extra);
		if (!json) {
			throw new InvalidTokensError('`extra` must be a plain object of JSON values, at most 8 KB as JSON');
		}

		details.extra = json;
	}

	return details;
}

/**
 * Validates tokens and computes the absolute expiry at receipt, so a client
 * clock that is off by hours does not matter: only elapsed local time does.
 */
export function toTokenSet(input: unknown, now: number, previous: TokenSet | null = null): TokenSet {
	if (typeof input !== 'object' || input === null) {
		throw new InvalidTokensError('expected an object with an `accessToken`');
	}

	const {accessToken, refreshToken, expiresIn, expiresAt} = input as Record<string, unknown>;
	if (accessToken === undefined && 'access_token' in input) {
		throw new InvalidTokensError('got `access_token`: did you mean `accessToken`? Map an OAuth 2.0 token response '
			+ '({accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in}), or use `oauth2RefreshGrant()` for refreshes');
	}

	if (typeof accessToken === 'string' && /^bearer\s/i.test(accessToken)) {
		throw new InvalidTokensError('`accessToken` starts with `Bearer `: drop the prefix, the session adds it');
	}

	if (!isToken(accessToken)) {
		throw new InvalidTokensError('`accessToken` must be a non-empty string without whitespace');
	}

	if (refreshToken === undefined && 'refresh_token' in input) {
		throw new InvalidTokensError('got `refresh_token`: did you mean `refreshToken`?');
	}

	if (refreshToken !== undefined && refreshToken !== null && !isToken(refreshToken)) {
		throw new InvalidTokensError('`refreshToken` must be a non-empty string without whitespace when given');
	}

	let absoluteExpiry: number | null = null;
	if (expiresIn !== undefined && expiresIn !== null) {
		const seconds = toNumber(expiresIn);
		// A negative lifetime is a token already expired: `unusableLifetime` says so, after the refresh token is kept.
		if (seconds === undefined || !Number.isFinite(seconds) || Math.abs(seconds) > maxLifetimeSeconds) {
			throw new InvalidTokensError('`expiresIn` must be a number of seconds of at most ten years');
		}

		absoluteExpiry = now + Math.round(seconds * 1000);
	} else if (expiresAt !== undefined && expiresAt !== null) {
		let at = toNumber(expiresAt);
		// Epoch seconds (a JWT `exp`) are below 1e12; as milliseconds that would be 2001.
		if (at !== undefined && at > 0 && at < 1e12) {
			at *= 1000;
		}

		if (at === undefined || !Number.isFinite(at) || at <= 0 || at > now + (maxLifetimeSeconds * 1000)) {
			throw new InvalidTokensError('`expiresAt` must be an epoch time in milliseconds (or seconds)');
		}

		absoluteExpiry = at;
	} else {
		absoluteExpiry = jwtExpiry(accessToken, now);
	}

	return {
		accessToken,
		refreshToken: typeof refreshToken === 'string' ? refreshToken : previous?.refreshToken ?? null,
		expiresAt: absoluteExpiry,
		issuedAt: now,
		...detailsOf(input as Record<string, unknown>, previous),
	};
}

/**
 * The shortest lifetime an access token may have left on arrival. Less would
 * make the leader refresh again at once: a server answering `expires_in: 0`,
 * an `expiresAt` already past, or a JWT `exp` behind a client clock that runs
 * ahead would turn into a refresh loop.
 */
export const minTokenLifetime = 1000;

/** Why tokens that just arrived cannot be used, or undefined when they can: their lifetime from receipt (`issuedAt`). */
export function unusableLifetime(tokens: TokenSet): string | undefined {
	const left = tokens.expiresAt === null ? Number.POSITIVE_INFINITY : tokens.expiresAt - tokens.issuedAt;
	if (left >= minTokenLifetime) {
		return undefined;
	}

	return `the access token expires ${left <= 0 ? 'on arrival' : `in ${left} ms`}, under the minimum lifetime of ${minTokenLifetime} ms`;
}

/** Checks a token set that came from storage or another tab; undefined when malformed. */
export function parseTokenSet(value: unknown): TokenSet | undefined {
	if (typeof value !== 'object' || value === null) {
		return undefined;
	}

	const {accessToken, refreshToken, expiresAt, issuedAt} = value as Record<string, unknown>;
	const validExpiry = expiresAt === null || (typeof expiresAt === 'number' && Number.isFinite(expiresAt));
	if (!isToken(accessToken)
		|| !(refreshToken === null || isToken(refreshToken))
		|| !validExpiry
		|| typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) {
		return undefined;
	}

	let details: TokenDetails;
	try {
		details = detailsOf(value as Record<string, unknown>, null);
	} catch {
		return undefined;
	}

	return {accessToken, refreshToken, expiresAt: expiresAt as number | null, issuedAt, ...details};
}
