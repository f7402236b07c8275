// A real OAuth 2.0 authorization server for the tests: @node-oauth/oauth2-server
// (framework-agnostic) behind node:http, with an in-memory model. One public
// client 'spa' (no secret), one user demo/demo, the password grant for the
// first token pair and the refresh grant with rotation: every refresh revokes
// the presented refresh token, so presenting it again is answered
// `invalid_grant` by the library itself.
//
// Routes: POST /oauth/token (the library's token handler), GET /api/resource
// (the library's authenticate), /oauth.html (a page that loads the README's
// OAuth recipe), /dist/* (the package build) and /* (examples/public).
import {createHmac, randomBytes} from 'node:crypto';
import {createServer} from 'node:http';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import OAuth2Server from '@node-oauth/oauth2-server';
import {readText, sendJson as send, serveStatic} from '../../examples/http.mjs';

// The library's own Request and Response wrappers, not the fetch API's.
const {Request: OAuthRequest, Response: OAuthResponse, OAuthError, InvalidGrantError} = OAuth2Server;

// From the path, not `new URL('../../', import.meta.url)`: vite rewrites that form to an http: URL under jsdom.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const staticRoots = [
	['/dist/', join(root, 'dist')],
	['/', join(root, 'examples', 'public')],
];

/** The page the browser tests open: nothing but the recipe, as an app would load it. */
const oauthPage = `<!doctype html>
<html lang="en">
<head>
	<meta charset="utf-8">
	<title>tab-session with an OAuth 2.0 server</title>
	<link rel="icon" href="data:,">
</head>
<body>
	<p>examples/recipes/oauth.js, bundled: <code>globalThis.oauthDemo</code> holds its session.</p>
	<script type="module" src="/build/recipes/oauth.js"></script>
</body>
</html>
`;

const client = {id: 'spa', grants: ['password', 'refresh_token']};
const users = new Map([['demo', {id: 'user-1', username: 'demo', password: 'demo'}]]);

const sleep = async ms => new Promise(resolve => {
	setTimeout(resolve, ms);
});

const base64url = value => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT, signed with node:crypto: header.payload.signature, each base64url. */
const signJwt = (payload, secret) => {
	const unsigned = `${base64url({alg: 'HS256', typ: 'JWT'})}.${base64url(payload)}`;
	return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
};

const emptyCounters = () => ({
	/** Password-grant token requests answered with tokens. */
	passwordGrants: 0,
	/** Token requests with grant_type=refresh_token, whatever their outcome. */
	refreshCalls: 0,
	refreshOk: 0,
	/** RFC 7009 revocation requests, and of those the ones that named a live refresh token. */
	revocations: 0,
	revokedByClient: 0,
	/** Refresh calls answered `invalid_grant` (unknown, revoked or expired refresh token). */
	invalidGrant: 0,
	/** Of those, a refresh token this server had issued and already revoked by rotation: a reuse. */
	reuse: 0,
	/** Refresh calls answered with another OAuth error (an injected fault, a bad client, …). */
	refreshErrors: 0,
	refreshInFlight: 0,
	maxRefreshInFlight: 0,
	/** Server time (epoch ms) at which each refresh call arrived. */
	refreshTimes: [],
	/** Each refresh call: the refresh token presented and the outcome (`ok` or the OAuth error). */
	refreshLog: [],
	/** Every refresh token issued, in order (password grant and refreshes). */
	issuedRefreshTokens: [],
	apiOk: 0,
	api401: 0,
});

/**
 * Starts the server on 127.0.0.1 (port 0 by default). Options:
 * - accessTokenLifetime: seconds (default 3)
 * - refreshDelay: ms the refresh grant waits before answering (default 0)
 * - jwtAccessTokens: access tokens are HS256 JWTs with iat/exp
 * - omitExpiresIn: token responses carry no expires_in (clients must read the JWT's exp)
 * Resolves with {url, port, stats(), config(patch), failNextRefresh(...faults),
 * revokeAccessTokens(), decodeJwt(token), close()}.
 */
export async function startOAuthServer(options = {}) {
	const config = {
		refreshDelay: options.refreshDelay ?? 0,
		omitExpiresIn: options.omitExpiresIn === true,
	};
	const accessTokenLifetime = options.accessTokenLifetime ?? 3;
	const jwtSecret = randomBytes(32);
	let counters = emptyCounters();
	/** access token → saved token */
	const accessTokens = new Map();
	/** refresh token → saved token */
	const refreshTokens = new Map();
	/** Refresh tokens this server issued and revoked by rotation; presenting one again is a reuse. */
	const revokedRefreshTokens = new Set();
	/** Errors the next refresh grants answer with, in order. */
	const pendingFaults = [];

	const model = {
		async getClient(clientId, clientSecret) {
			// A public client: no secret, and none accepted.
			return clientId === client.id && !clientSecret ? client : null;
		},
		async getUser(username, password) {
			const user = users.get(username);
			return user && user.password === password ? {id: user.id, username: user.username} : null;
		},
		async generateAccessToken(tokenClient, user, scope) {
			if (!options.jwtAccessTokens) {
				return randomBytes(24).toString('base64url');
			}

			const iat = Math.floor(Date.now() / 1000);
			return signJwt({
				sub: user.id,
				client_id: tokenClient.id,
				scope: Array.isArray(scope) ? scope.join(' ') : undefined,
				iat,
				exp: iat + accessTokenLifetime,
				jti: randomBytes(8).toString('hex'),
			}, jwtSecret);
		},
		async saveToken(token, savedClient, user) {
			const saved = {...token, client: savedClient, user};
			accessTokens.set(token.accessToken, saved);
			if (token.refreshToken) {
				refreshTokens.set(token.refreshToken, saved);
				counters.issuedRefreshTokens.push(token.refreshToken);
			}

			return saved;
		},
		async getAccessToken(accessToken) {
			return accessTokens.get(accessToken) ?? null;
		},
		async getRefreshToken(refreshToken) {
			if (config.refreshDelay > 0) {
				await sleep(config.refreshDelay);
			}

			const fault = pendingFaults.shift();
			if (fault) {
				// Thrown inside the library's grant handling, so its own error path answers.
				throw new OAuthError(fault.description ?? `injected ${fault.error}`, {code: fault.status ?? 400, name: fault.error});
			}

			if (revokedRefreshTokens.has(refreshToken)) {
				counters.reuse++;
				return null;
			}

			return refreshTokens.get(refreshToken) ?? null;
		},
		async revokeToken(token) {
			// Rotation: the presented refresh token dies here; a concurrent second use finds it gone.
			const deleted = refreshTokens.delete(token.refreshToken);
			if (deleted) {
				revokedRefreshTokens.add(token.refreshToken);
			}

			return deleted;
		},
	};

	const oauth = new OAuth2Server({
		model,
		accessTokenLifetime,
		requireClientAuthentication: {password: false, refresh_token: false},
		alwaysIssueNewRefreshToken: true,
	});

	/** node:http's request as the library's framework-agnostic Request. */
	const toOAuthRequest = (request, url, body) => new OAuthRequest({
		headers: request.headers,
		method: request.method,
		query: Object.fromEntries(url.searchParams),
		body,
	});

	/** The library's error as RFC 6749 §5.2 JSON, with its status and any headers it set. */
	const sendError = (response, oauthResponse, error) => {
		const known = error instanceof OAuthError;
		send(response, known ? error.code : 500, {
			error: known ? error.name : 'server_error',
			error_description: known ? error.message : 'Internal error',
		}, oauthResponse.headers);
	};

	async function token(request, response, url) {
		const raw = await readText(request);
		const form = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
			? Object.fromEntries(new URLSearchParams(raw))
			: {};
		const isRefresh = form.grant_type === 'refresh_token';
		if (isRefresh) {
			counters.refreshCalls++;
			counters.refreshTimes.push(Date.now());
			counters.refreshInFlight++;
			counters.maxRefreshInFlight = Math.max(counters.maxRefreshInFlight, counters.refreshInFlight);
		}

		const oauthResponse = new OAuthResponse({});
		const entry = {presented: typeof form.refresh_token === 'string' ? form.refresh_token : null, at: Date.now(), outcome: 'ok'};
		try {
			await oauth.token(toOAuthRequest(request, url, form), oauthResponse);
			const body = {...oauthResponse.body};
			if (config.omitExpiresIn) {
				delete body.expires_in;
			}

			if (isRefresh) {
				counters.refreshOk++;
			} else {
				counters.passwordGrants++;
			}

			send(response, oauthResponse.status, body, oauthResponse.headers);
		} catch (error) {
			entry.outcome = error instanceof OAuthError ? error.name : 'server_error';
			if (isRefresh && error instanceof InvalidGrantError) {
				counters.invalidGrant++;
			} else if (isRefresh) {
				counters.refreshErrors++;
			}

			sendError(response, oauthResponse, error);
		} finally {
			if (isRefresh) {
				counters.refreshInFlight--;
				counters.refreshLog.push(entry);
			}
		}
	}

	/**
	 * RFC 7009 token revocation for the public client: 200 whatever the token (§2.2); a refresh
	 * token is revoked with the access tokens issued beside it.
	 */
	async function revoke(request, response) {
		const form = new URLSearchParams(await readText(request));
		counters.revocations++;
		if (form.get('client_id') !== client.id) {
			send(response, 401, {error: 'invalid_client'});
			return;
		}

		const token = form.get('token') ?? '';
		const saved = refreshTokens.get(token);
		if (saved) {
			refreshTokens.delete(token);
			revokedRefreshTokens.add(token);
			for (const [accessToken, entry] of accessTokens) {
				if (entry.refreshToken === token) {
					accessTokens.delete(accessToken);
				}
			}

			counters.revokedByClient++;
		}

		response.writeHead(200, {'cache-control': 'no-store'});
		response.end();
	}

	async function resource(request, response, url) {
		const oauthResponse = new OAuthResponse({});
		try {
			const saved = await oauth.authenticate(toOAuthRequest(request, url, {}), oauthResponse);
			counters.apiOk++;
			send(response, 200, {user: saved.user.username, at: Date.now()}, oauthResponse.headers);
		} catch (error) {
			if (error instanceof OAuthError && error.code === 401) {
				counters.api401++;
			}

			sendError(response, oauthResponse, error);
		}
	}

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? '/', 'http://server.invalid');
		try {
			if (url.pathname === '/oauth/token') {
				await token(request, response, url);
			} else if (url.pathname === '/oauth/revoke' && request.method === 'POST') {
				await revoke(request, response);
			} else if (url.pathname === '/api/resource' && request.method === 'GET') {
				await resource(request, response, url);
			} else if (url.pathname === '/oauth.html' && request.method === 'GET') {
				response.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache'});
				response.end(oauthPage);
			} else if (request.method !== 'GET' || url.pathname.startsWith('/api/') || !(await serveStatic(response, url, staticRoots))) {
				send(response, 404, {error: 'not_found', path: url.pathname});
			}
		} catch (error) {
			if (!response.headersSent) {
				send(response, 500, {error: 'server_error', error_description: String(error)});
			}
		}
	});

	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, '127.0.0.1', resolve);
	});
	const {port} = server.address();

	return {
		url: `http://127.0.0.1:${port}`,
		port,
		accessTokenLifetime,
		stats: () => ({
			...counters,
			refreshTimes: [...counters.refreshTimes],
			refreshLog: counters.refreshLog.map(entry => ({...entry})),
			issuedRefreshTokens: [...counters.issuedRefreshTokens],
		}),
		config(patch) {
			Object.assign(config, patch);
			return {...config};
		},
		/**
		 * The next refresh grants answer with these OAuth errors, in order, through
		 * the library's error handling: e.g. {error: 'invalid_client', status: 401}.
		 * The presented refresh token stays valid.
		 */
		failNextRefresh(...faults) {
			pendingFaults.push(...faults);
		},
		/** Every access token stops working at once (the refresh tokens stay valid). */
		revokeAccessTokens() {
			accessTokens.clear();
		},
		reset() {
			counters = emptyCounters();
		},
		/** The claims of a JWT this server issued (decoded; the tests compare them with the client's view). */
		decodeJwt(jwt) {
			return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
		},
		async close() {
			server.closeAllConnections();
			await new Promise(resolve => {
				server.close(resolve);
			});
		},
	};
}
