/**
 * Reads the `exp` (and `iat`) claims of a JWT access token, for servers that
 * send no `expires_in`. Decoding only: the signature is never checked, and
 * needs not be, since the claims only tell this tab when to refresh; the
 * server still judges every token it receives.
 */
export function readJwtTimes(token: string): {exp: number; iat: number | null} | undefined {
	const parts = token.split('.');
	// A JWS compact serialization has three parts; an encrypted JWT (five) hides its claims.
	if (parts.length !== 3 || parts[1] === undefined || parts[1].length > 12_000) {
		return undefined;
	}

	let claims: unknown;
	try {
		const base64 = parts[1].replaceAll('-', '+').replaceAll('_', '/');
		const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
		claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, character => character.codePointAt(0)!)));
	} catch {
		return undefined;
	}

	if (typeof claims !== 'object' || claims === null) {
		return undefined;
	}

	const {exp, iat} = claims as Record<string, unknown>;
	if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0) {
		return undefined;
	}

	return {exp, iat: typeof iat === 'number' && Number.isFinite(iat) && iat > 0 && iat <= exp ? iat : null};
}
