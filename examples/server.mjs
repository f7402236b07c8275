// The demo's auth server: login, refresh with rotation and reuse detection,
// a heartbeat and a few protected endpoints, counters, and the pages.
// Node.js only, no dependencies. `npm start` builds the SDK and runs this file.
import {createHash, randomBytes} from 'node:crypto';
import {createServer} from 'node:http';
import {dirname, join, normalize} from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {readText, sendJson as send, serveStatic} from './http.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const staticRoots = [
	['/dist/', join(root, 'dist')],
	['/build/', join(root, 'examples', 'public', 'build')],
	['/', join(root, 'examples', 'public')],
];

const emptyCounters = () => ({
	logins: 0,
	refreshCalls: 0,
	refreshOk: 0,
	/** A spent refresh token presented again, outside the grace window: the family is revoked. */
	reuseDetections: 0,
	/** Reuses answered from the grace window with the same new pair. */
	graceReuses: 0,
	/** Refresh calls answered 401 (unknown, revoked or reused token). */
	refreshRejected: 0,
	refreshInFlight: 0,
	maxRefreshInFlight: 0,
	apiRequests: 0,
	apiOk: 0,
	/** API and heartbeat requests answered 401. */
	rejectedRequests: 0,
	heartbeats: 0,
	revocations: 0,
	/** Requests to /api/echo-headers that carried an Authorization header. */
	foreignAuthorization: 0,
	/** Server time (ms) of each refresh call, for counting refreshes per expiry. */
	refreshTimes: [],
	/** Refresh calls answered with an injected fault (see `failNext`); also counted in refreshCalls. */
	refreshFaults: 0,
	/** Calls to /api/auth/logout. */
	logouts: 0,
	/** Cookie mode: refresh calls whose body carried a refresh token (the client must send none). */
	refreshBodyTokens: 0,
	/** Cookie mode: refresh calls that arrived without the refresh-token cookie. */
	refreshWithoutCookie: 0,
	/** Refresh calls answered by a rotating fault ('zero-lifetime', 'past-expiry'): a new pair announced as already expired. */
	unusableLifetimes: 0,
	/** Refresh calls that presented a refresh token an earlier call had presented (whatever either answer was). */
	repeatedRefreshTokens: 0,
	/** Calls to /api/flaky answered 503 (see `flakyCalls`). */
	flakyUnavailable: 0,
	/** Requests to /api/slow received and not answered yet. */
	slowInFlight: 0,
});

/** The cookie that holds the refresh token in cookie mode; sent only to the auth endpoints. */
const refreshCookieName = 'refresh_token';
const refreshCookiePath = '/api/auth';

/** What `failNext` can make the next refresh calls do instead of answering normally. */
const faultModes = new Set([500, 502, 503, 'html', 'invalid-json', 'no-access-token', 'hang', 'zero-lifetime', 'past-expiry']);

/**
 * Faults that rotate like a good answer (the presented refresh token is spent,
 * a new pair is issued and valid at this server for `accessTtl`) but announce
 * an unusable lifetime: `expiresIn: 0`, or no `expiresIn` and an `expiresAt`
 * (epoch ms) 60 s in the past, as a server with a wrong clock or a unit bug would.
 * The call that meets one consumes it even when its token is refused (401).
 */
const rotatingFaults = new Set(['zero-lifetime', 'past-expiry']);

/** The longest /api/slow waits, so a typo cannot keep a socket open for minutes. */
const maxSlowMs = 30_000;

const digest = bytes => createHash('sha256').update(bytes).digest('hex');

/** The body's hash with its multipart boundary replaced, so two encodings of one FormData compare equal. */
const canonicalDigest = (bytes, contentType) => {
	const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
	const value = boundary?.[1] ?? boundary?.[2];
	return value ? digest(bytes.toString('latin1').split(value).join('BOUNDARY')) : digest(bytes);
};

const token = prefix => `${prefix}_${randomBytes(18).toString('base64url')}`;

const readCookie = (request, name) => {
	for (const part of (request.headers.cookie ?? '').split(';')) {
		const separator = part.indexOf('=');
		if (separator > 0 && part.slice(0, separator).trim() === name) {
			return part.slice(separator + 1).trim();
		}
	}

	return undefined;
};

// Secure only over https (directly or behind a TLS proxy): the tests and the demo run on
// plain http://127.0.0.1, where Chromium keeps a cookie only without it.
const isHttps = request => Boolean(request.socket.encrypted) || request.headers['x-forwarded-proto'] === 'https';

/** The Set-Cookie value that stores `value` as the refresh token, or deletes the cookie when `value` is null. */
const refreshCookie = (request, value) => [
	`${refreshCookieName}=${value ?? ''}`,
	'HttpOnly',
	'SameSite=Strict',
	`Path=${refreshCookiePath}`,
	...(value === null ? ['Max-Age=0'] : []),
	...(isHttps(request) ? ['Secure'] : []),
].join('; ');

/**
 * Starts the server. Options (all optional): port (0 picks a free one), host,
 * accessTtl (seconds), graceWindow (seconds; 0 = off), refreshDelay (ms),
 * refreshCookie (true: the refresh token travels in an httpOnly cookie).
 * Resolves with {url, stats(), config(patch), revokeAll(), reset(), close()},
 * for fault tests failNext(...modes), outage(mode), pendingFaults(), faults() and bodies(),
 * issuedRefreshTokens() (every refresh token handed out, to prove none leaks),
 * refreshLog() (each refresh call's presented token and outcome), and for the
 * resilience tests apiLog() and flakyCalls(id) (GET /api/slow?ms=N waits, then
 * checks the bearer; GET /api/flaky?fail=N answers 503 to the first N calls of
 * each x-request-id).
 *
 * Cookie mode: login and refresh answer {accessToken, expiresIn} and set the
 * refresh token as an HttpOnly, SameSite=Strict cookie on /api/auth; refresh
 * reads it from the cookie (never the body) and sets the rotated one; a
 * rejected refresh and a logout clear it.
 */
export async function startServer(options = {}) {
	const config = {
		accessTtl: options.accessTtl ?? 20,
		graceWindow: options.graceWindow ?? 0,
		refreshDelay: options.refreshDelay ?? 0,
		refreshCookie: options.refreshCookie === true,
	};
	let counters = emptyCounters();
	/** access token → {family, expiresAt} */
	const accessTokens = new Map();
	/** refresh token → {family, usedAt, next} where next is the pair it was exchanged for */
	const refreshTokens = new Map();
	const revokedFamilies = new Set();
	let familySerial = 0;
	/** Faults the next refresh calls answer with, in order (`failNext`). */
	const pendingFaults = [];
	/** The fault every refresh call answers with once the queue is empty, until cleared (`outage`); null: none. */
	let outageMode = null;
	/** Every injected fault: {mode, at, secrets} (token-like strings its body carried). */
	const faultLog = [];
	/** Every request to /api/echo-body: {id, method, contentType, length, sha256, canonicalSha256, authorized}. */
	const echoBodies = [];
	/**
	 * Every refresh call: {at, presented (the refresh token it carried, or null), outcome, issued (the
	 * new refresh token, when it got one)}. outcome: 'rotated', 'grace', 'reuse', 'unknown' (unknown or
	 * revoked token), a rotating fault's name, or 'fault:<mode>' for a fault that left the token unused.
	 */
	let refreshLog = [];
	/** Every finished request to /api/slow and /api/flaky: {path, id (x-request-id), status, receivedAt, at}. */
	let apiLog = [];
	/** /api/flaky: calls seen per x-request-id. */
	const flakyCounts = new Map();

	const failNext = (...modes) => {
		for (const mode of modes) {
			if (!faultModes.has(mode)) {
				throw new TypeError(`unknown fault mode ${JSON.stringify(mode)}; one of ${[...faultModes].join(', ')}`);
			}
		}

		pendingFaults.push(...modes);
		return [...pendingFaults];
	};

	/** From now on every refresh call answers with `mode` (not a rotating one), until `outage(null)`. */
	const outage = mode => {
		if (mode !== null && (!faultModes.has(mode) || rotatingFaults.has(mode))) {
			throw new TypeError(`an outage answers with one of ${[...faultModes].filter(name => !rotatingFaults.has(name)).join(', ')}, not ${JSON.stringify(mode)}`);
		}

		outageMode = mode;
	};

	/** Answers a refresh call with the fault `mode`; the presented refresh token stays unused. */
	async function answerFault(mode, request, response) {
		counters.refreshFaults++;
		const entry = {mode, at: Date.now(), secrets: []};
		faultLog.push(entry);
		if (mode === 'hang') {
			// Never answers: the socket stays open until the client gives up or the server closes.
			await new Promise(resolve => {
				response.once('close', resolve);
			});
			return;
		}

		if (typeof mode === 'number') {
			send(response, mode, {error: 'injected_fault', status: mode});
			return;
		}

		if (mode === 'html') {
			response.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store'});
			response.end('<!doctype html><html><head><title>Maintenance</title></head><body><h1>Back soon</h1></body></html>');
			return;
		}

		// Token-like strings in a body the client must reject: they must not surface in its errors.
		const accessToken = token('at');
		const refreshToken = token('rt');
		if (mode === 'invalid-json') {
			entry.secrets.push(accessToken, refreshToken);
			response.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-store'});
			response.end(`{"accessToken":"${accessToken}","refreshToken":"${refreshToken}","expiresIn":`);
			return;
		}

		// 'no-access-token'
		entry.secrets.push(refreshToken);
		send(response, 200, {refreshToken, expiresIn: config.accessTtl, tokenType: 'Bearer'});
	}

	const issue = family => {
		const pair = {accessToken: token('at'), refreshToken: token('rt'), expiresIn: config.accessTtl};
		accessTokens.set(pair.accessToken, {family, expiresAt: Date.now() + (config.accessTtl * 1000)});
		refreshTokens.set(pair.refreshToken, {family, usedAt: null, next: null});
		return pair;
	};

	const revokeFamily = family => {
		revokedFamilies.add(family);
		for (const [key, entry] of accessTokens) {
			if (entry.family === family) {
				accessTokens.delete(key);
			}
		}
	};

	const bearerValid = request => {
		const header = request.headers.authorization ?? '';
		const entry = header.startsWith('Bearer ') ? accessTokens.get(header.slice(7)) : undefined;
		return entry !== undefined && !revokedFamilies.has(entry.family) && Date.now() < entry.expiresAt;
	};

	const parseJson = text => {
		try {
			return JSON.parse(text || '{}');
		} catch {
			return {};
		}
	};

	const readJson = async request => parseJson(await readText(request));

	/** Whether a refresh body carries a refresh token: JSON, form-encoded, or any token this server issued. */
	const carriesRefreshToken = text => {
		if (text === '') {
			return false;
		}

		const json = parseJson(text);
		const form = new URLSearchParams(text);
		const fields = [json?.refreshToken, json?.refresh_token, form.get('refresh_token')];
		return fields.some(value => typeof value === 'string' && value !== '')
			|| [...refreshTokens.keys()].some(issued => text.includes(issued));
	};

	/** The access token's half of a pair: what cookie mode puts in a body. */
	const withoutRefreshToken = ({accessToken, expiresIn, expiresAt}) => ({accessToken, expiresIn, ...(expiresAt === undefined ? {} : {expiresAt})});

	/** Answers with a new or rotated pair: in cookie mode the refresh token goes in the cookie. */
	const sendPair = (request, response, pair) => {
		if (config.refreshCookie) {
			send(response, 200, withoutRefreshToken(pair), {'set-cookie': refreshCookie(request, pair.refreshToken)});
		} else {
			send(response, 200, pair);
		}
	};

	/** Answers 401 invalid_grant; in cookie mode the dead cookie is cleared. */
	const rejectRefresh = (request, response, body) => {
		counters.refreshRejected++;
		send(response, 401, body, config.refreshCookie ? {'set-cookie': refreshCookie(request, null)} : {});
	};

	async function refresh(request, response) {
		counters.refreshCalls++;
		counters.refreshTimes.push(Date.now());
		counters.refreshInFlight++;
		counters.maxRefreshInFlight = Math.max(counters.maxRefreshInFlight, counters.refreshInFlight);
		try {
			const text = await readText(request);
			const cookieMode = config.refreshCookie;
			let presented;
			if (cookieMode) {
				// The body is ignored; a token in it means the client still handles the refresh token.
				if (carriesRefreshToken(text)) {
					counters.refreshBodyTokens++;
				}

				presented = readCookie(request, refreshCookieName);
				if (presented === undefined) {
					counters.refreshWithoutCookie++;
				}
			} else {
				const body = parseJson(text);
				presented = typeof body.refreshToken === 'string' ? body.refreshToken : '';
			}

			const logEntry = {at: Date.now(), presented: presented || null, outcome: 'pending', issued: null};
			if (presented && refreshLog.some(entry => entry.presented === presented)) {
				counters.repeatedRefreshTokens++;
			}

			refreshLog.push(logEntry);
			// A rotating fault is answered below, once the presented token has been checked and spent.
			const rotatingFault = rotatingFaults.has(pendingFaults[0]) ? pendingFaults.shift() : undefined;
			if ((pendingFaults.length > 0 || outageMode !== null) && rotatingFault === undefined) {
				const mode = pendingFaults.length > 0 ? pendingFaults.shift() : outageMode;
				logEntry.outcome = `fault:${mode}`;
				await answerFault(mode, request, response);
				return;
			}

			if (config.refreshDelay > 0) {
				await new Promise(resolve => {
					setTimeout(resolve, config.refreshDelay);
				});
			}

			const entry = refreshTokens.get(presented ?? '');
			if (!entry || revokedFamilies.has(entry.family)) {
				logEntry.outcome = 'unknown';
				rejectRefresh(request, response, {error: 'invalid_grant'});
				return;
			}

			if (entry.usedAt !== null) {
				if (config.graceWindow > 0 && Date.now() - entry.usedAt <= config.graceWindow * 1000 && entry.next) {
					// Within the grace window a retry gets the same new pair, as Auth0 and Okta allow.
					counters.graceReuses++;
					counters.refreshOk++;
					logEntry.outcome = 'grace';
					logEntry.issued = entry.next.refreshToken;
					sendPair(request, response, entry.next);
					return;
				}

				// Reuse of a spent token: treat it as theft and end every session of the family.
				logEntry.outcome = 'reuse';
				counters.reuseDetections++;
				revokeFamily(entry.family);
				rejectRefresh(request, response, {error: 'invalid_grant', error_description: 'refresh token reuse detected'});
				return;
			}

			entry.usedAt = Date.now();
			entry.next = issue(entry.family);
			counters.refreshOk++;
			logEntry.issued = entry.next.refreshToken;
			if (rotatingFault === undefined) {
				logEntry.outcome = 'rotated';
				sendPair(request, response, entry.next);
				return;
			}

			// The pair works here for accessTtl; only the lifetime the answer states is unusable.
			counters.refreshFaults++;
			counters.unusableLifetimes++;
			logEntry.outcome = rotatingFault;
			faultLog.push({mode: rotatingFault, at: Date.now(), secrets: []});
			const {expiresIn: _expiresIn, ...pair} = entry.next;
			const lifetime = rotatingFault === 'zero-lifetime' ? {expiresIn: 0} : {expiresAt: Date.now() - 60_000};
			sendPair(request, response, {...pair, ...lifetime});
		} finally {
			counters.refreshInFlight--;
		}
	}

	/**
	 * Ends the family of the presented refresh token: the cookie's in cookie mode
	 * (then cleared), else the body's `refreshToken` or the bearer's family.
	 */
	async function logout(request, response) {
		counters.logouts++;
		const body = await readJson(request);
		let family;
		if (config.refreshCookie) {
			family = refreshTokens.get(readCookie(request, refreshCookieName) ?? '')?.family;
		} else {
			const header = request.headers.authorization ?? '';
			family = (typeof body.refreshToken === 'string' ? refreshTokens.get(body.refreshToken)?.family : undefined)
				?? (header.startsWith('Bearer ') ? accessTokens.get(header.slice(7))?.family : undefined);
		}

		if (family !== undefined) {
			revokeFamily(family);
		}

		send(response, 200, {ok: true, revoked: family !== undefined},
			config.refreshCookie ? {'set-cookie': refreshCookie(request, null)} : {});
	}

	/** Reads the raw body of a /api/echo-body request and records what arrived. */
	async function recordBody(request) {
		const chunks = [];
		let length = 0;
		for await (const chunk of request) {
			length += chunk.length;
			if (length <= 10_000_000) {
				chunks.push(chunk);
			}
		}

		const bytes = Buffer.concat(chunks);
		const contentType = request.headers['content-type'] ?? null;
		const record = {
			id: request.headers['x-echo-id'] ?? null,
			method: request.method,
			contentType,
			length,
			sha256: digest(bytes),
			canonicalSha256: canonicalDigest(bytes, contentType),
			authorized: bearerValid(request),
		};
		echoBodies.push(record);
		return record;
	}

	async function api(request, response, url) {
		const isHeartbeat = url.pathname === '/api/heartbeat';
		const isEchoBody = url.pathname === '/api/echo-body' && ['POST', 'PUT', 'PATCH'].includes(request.method);
		counters.apiRequests++;
		if (isHeartbeat) {
			counters.heartbeats++;
		}

		// Read before the bearer check, so a rejected attempt's body is recorded too.
		const echoed = isEchoBody ? await recordBody(request) : undefined;
		const logged = ['/api/slow', '/api/flaky'].includes(url.pathname)
			? {path: url.pathname, id: request.headers['x-request-id'] ?? null, status: 0, receivedAt: Date.now(), at: 0}
			: undefined;
		const answer = (status, body, headers) => {
			if (logged) {
				logged.status = status;
				logged.at = Date.now();
				apiLog.push(logged);
			}

			send(response, status, body, headers);
		};

		if (url.pathname === '/api/slow') {
			// GET /api/slow?ms=N waits N ms and only then checks the bearer: a token revoked
			// (or expired) during the wait gets a 401, as a slow backend would answer.
			const ms = Math.min(maxSlowMs, Math.max(0, Number(url.searchParams.get('ms')) || 0));
			counters.slowInFlight++;
			try {
				await new Promise(resolve => {
					setTimeout(resolve, ms);
				});
			} finally {
				counters.slowInFlight--;
			}
		} else if (url.pathname === '/api/flaky') {
			// GET /api/flaky?fail=N answers 503 to the first N calls of each x-request-id, before
			// any bearer check (as a proxy in front of the API would); later calls are served normally.
			// &retryAfter=S adds a Retry-After header (seconds) to the 503s.
			const key = logged.id ?? '';
			const calls = (flakyCounts.get(key) ?? 0) + 1;
			flakyCounts.set(key, calls);
			if (calls <= (Number(url.searchParams.get('fail')) || 0)) {
				counters.flakyUnavailable++;
				const retryAfter = url.searchParams.get('retryAfter');
				answer(503, {error: 'unavailable', call: calls}, retryAfter === null ? {} : {'retry-after': retryAfter});
				return;
			}
		}

		if (!bearerValid(request)) {
			counters.rejectedRequests++;
			answer(401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer error="invalid_token"'});
			return;
		}

		counters.apiOk++;
		if (url.pathname === '/api/orders') {
			send(response, 200, {orders: [{id: 1, item: 'Tea', quantity: 2}, {id: 2, item: 'Scones', quantity: 6}]});
		} else if (url.pathname === '/api/profile') {
			send(response, 200, {name: 'Demo User'});
		} else if (url.pathname === '/api/echo') {
			send(response, 200, {method: request.method, body: await readJson(request)});
		} else if (echoed) {
			const {method, contentType, length, sha256, canonicalSha256} = echoed;
			send(response, 200, {method, contentType, length, sha256, canonicalSha256});
		} else if (isHeartbeat) {
			send(response, 200, {ok: true});
		} else if (url.pathname === '/api/slow') {
			answer(200, {waited: Number(url.searchParams.get('ms')) || 0});
		} else if (url.pathname === '/api/flaky') {
			answer(200, {calls: flakyCounts.get(logged.id ?? '')});
		} else {
			send(response, 404, {error: 'not_found'});
		}
	}

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? '/', 'http://server.invalid');
		const route = `${request.method} ${url.pathname}`;
		try {
			if (url.pathname === '/api/echo-headers') {
				// Another origin's endpoint in the tests: it reports whether a bearer reached it.
				if (request.headers.authorization) {
					counters.foreignAuthorization++;
				}

				send(response, 200, {authorization: request.headers.authorization ?? null}, {
					'access-control-allow-origin': '*',
					'access-control-allow-headers': '*',
				});
				return;
			}

			switch (route) {
				case 'POST /api/auth/login': {
					await readJson(request);
					counters.logins++;
					sendPair(request, response, issue(++familySerial));
					return;
				}

				case 'POST /api/auth/logout': {
					await logout(request, response);
					return;
				}

				case 'POST /api/auth/refresh': {
					await refresh(request, response);
					return;
				}

				case 'GET /api/stats': {
					send(response, 200, {...counters, refreshTimes: undefined, config});
					return;
				}

				case 'POST /api/admin/revoke': {
					counters.revocations++;
					accessTokens.clear();
					send(response, 200, {ok: true});
					return;
				}

				case 'POST /api/admin/reset': {
					counters = emptyCounters();
					refreshLog = [];
					apiLog = [];
					flakyCounts.clear();
					send(response, 200, {ok: true});
					return;
				}

				case 'POST /api/admin/fail': {
					// {modes: [503, 'html', …]}: the next refresh calls answer with these faults, in order.
					const {modes} = await readJson(request);
					try {
						send(response, 200, {pending: failNext(...(Array.isArray(modes) ? modes : []))});
					} catch (error) {
						send(response, 400, {error: 'invalid_request', message: error.message});
					}

					return;
				}

				case 'POST /api/admin/config': {
					const patch = await readJson(request);
					// Numbers only: the mode (refreshCookie) is chosen when the server starts.
					for (const key of Object.keys(config)) {
						if (typeof config[key] === 'number' && typeof patch[key] === 'number' && patch[key] >= 0) {
							config[key] = patch[key];
						}
					}

					send(response, 200, config);
					return;
				}

				default: {
					break;
				}
			}

			if (url.pathname.startsWith('/api/')) {
				await api(request, response, url);
				return;
			}

			if (request.method === 'GET' || request.method === 'HEAD') {
				if (!(await serveStatic(response, url, staticRoots))) {
					send(response, 404, {error: 'not_found', path: url.pathname});
				}

				return;
			}

			send(response, 404, {error: 'not_found'});
		} catch (error) {
			if (!response.headersSent) {
				send(response, 500, {error: 'server_error', message: String(error)});
			}
		}
	});

	const host = options.host ?? '127.0.0.1';
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, host, resolve);
	});
	const {port} = server.address();
	return {
		url: `http://${host}:${port}`,
		port,
		stats: () => ({...counters, refreshTimes: [...counters.refreshTimes], config: {...config}}),
		config(patch) {
			Object.assign(config, patch);
			return {...config};
		},
		revokeAll() {
			counters.revocations++;
			accessTokens.clear();
		},
		reset() {
			counters = emptyCounters();
			refreshLog = [];
			apiLog = [];
			flakyCounts.clear();
		},
		/** The next refresh calls answer with these faults, in order: 500, 502, 503, 'html', 'invalid-json', 'no-access-token', 'hang', and the rotating 'zero-lifetime', 'past-expiry'. */
		failNext,
		/** Every refresh call answers with `mode` until `outage(null)`; queued `failNext` faults come first. */
		outage,
		pendingFaults: () => [...pendingFaults],
		faults: () => faultLog.map(entry => ({...entry, secrets: [...entry.secrets]})),
		bodies: () => echoBodies.map(entry => ({...entry})),
		/** Every refresh call: {at, presented, outcome, issued} (see refreshLog above). */
		refreshLog: () => refreshLog.map(entry => ({...entry})),
		/** Every finished /api/slow and /api/flaky request: {path, id, status, receivedAt, at}. */
		apiLog: () => apiLog.map(entry => ({...entry})),
		/** /api/flaky calls seen for one x-request-id. */
		flakyCalls: id => flakyCounts.get(id) ?? 0,
		issuedRefreshTokens: () => [...refreshTokens.keys()],
		async close() {
			server.closeAllConnections();
			await new Promise(resolve => {
				server.close(resolve);
			});
		},
	};
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
	const server = await startServer({
		port: Number(process.env.PORT ?? 8080),
		host: process.env.HOST ?? '127.0.0.1',
		accessTtl: Number(process.env.ACCESS_TTL ?? 20),
		graceWindow: Number(process.env.GRACE_WINDOW ?? 0),
		refreshDelay: Number(process.env.REFRESH_DELAY ?? 0),
		refreshCookie: process.env.REFRESH_COOKIE === '1',
	});
	const {config} = server.stats();
	if (config.refreshCookie) {
		console.log(`tab-session demo, refresh token in an httpOnly cookie: open ${server.url}/cookie.html in several tabs`);
	} else {
		console.log(`tab-session demo: open ${server.url}/ in several tabs (bundler version: ${server.url}/module.html)`);
	}

	console.log(`mode: ${config.refreshCookie ? 'cookie (refresh token in an httpOnly cookie)' : 'body (refresh token in the JSON body)'}; access tokens live ${config.accessTtl} s; grace window ${config.graceWindow} s. Ctrl+C stops.`);
	const stop = async () => {
		await server.close();
		process.exit(0);
	};

	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}
