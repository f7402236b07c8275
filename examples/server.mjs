// The demo's auth server: login, refresh with rotation and reuse detection,
// a heartbeat and a few protected endpoints, counters, and the pages.
// Node.js only, no dependencies. `npm start` builds the SDK and runs this file.
import {createHash, randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {stat} from 'node:fs/promises';
import {createServer} from 'node:http';
import {dirname, extname, join, normalize, sep} from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const staticRoots = {
	'/dist/': join(root, 'dist'),
	'/build/': join(root, 'examples', 'public', 'build'),
	'/': join(root, 'examples', 'public'),
};
const types = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.map': 'application/json',
	'.svg': 'image/svg+xml',
	'.json': 'application/json',
};

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
});

/** What `failNext` can make the next refresh calls do instead of answering normally. */
const faultModes = new Set([500, 502, 503, 'html', 'invalid-json', 'no-access-token', 'hang']);

const digest = bytes => createHash('sha256').update(bytes).digest('hex');

/** The body's hash with its multipart boundary replaced, so two encodings of one FormData compare equal. */
const canonicalDigest = (bytes, contentType) => {
	const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
	const value = boundary?.[1] ?? boundary?.[2];
	return value ? digest(bytes.toString('latin1').split(value).join('BOUNDARY')) : digest(bytes);
};

const token = prefix => `${prefix}_${randomBytes(18).toString('base64url')}`;

/**
 * Starts the server. Options (all optional): port (0 picks a free one), host,
 * accessTtl (seconds), graceWindow (seconds; 0 = off), refreshDelay (ms),
 * refreshCookie (true: the refresh token travels in an httpOnly cookie).
 * Resolves with {url, stats(), config(patch), revokeAll(), reset(), close()},
 * and for fault tests failNext(...modes), pendingFaults(), faults() and bodies().
 */
export async function startServer(options = {}) {
	const config = {
		accessTtl: options.accessTtl ?? 20,
		graceWindow: options.graceWindow ?? 0,
		refreshDelay: options.refreshDelay ?? 0,
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
	/** Every injected fault: {mode, at, secrets} (token-like strings its body carried). */
	const faultLog = [];
	/** Every request to /api/echo-body: {id, method, contentType, length, sha256, canonicalSha256, authorized}. */
	const echoBodies = [];

	const failNext = (...modes) => {
		for (const mode of modes) {
			if (!faultModes.has(mode)) {
				throw new TypeError(`unknown fault mode ${JSON.stringify(mode)}; one of ${[...faultModes].join(', ')}`);
			}
		}

		pendingFaults.push(...modes);
		return [...pendingFaults];
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

	const send = (response, status, body, headers = {}) => {
		response.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', ...headers});
		response.end(JSON.stringify(body));
	};

	const readJson = async request => {
		let text = '';
		for await (const chunk of request) {
			text += chunk;
			if (text.length > 100_000) {
				break;
			}
		}

		try {
			return JSON.parse(text || '{}');
		} catch {
			return {};
		}
	};

	async function refresh(request, response) {
		counters.refreshCalls++;
		counters.refreshTimes.push(Date.now());
		counters.refreshInFlight++;
		counters.maxRefreshInFlight = Math.max(counters.maxRefreshInFlight, counters.refreshInFlight);
		try {
			const body = await readJson(request);
			if (pendingFaults.length > 0) {
				await answerFault(pendingFaults.shift(), request, response);
				return;
			}

			if (config.refreshDelay > 0) {
				await new Promise(resolve => {
					setTimeout(resolve, config.refreshDelay);
				});
			}

			const presented = typeof body.refreshToken === 'string' ? body.refreshToken : '';
			const entry = refreshTokens.get(presented);
			if (!entry || revokedFamilies.has(entry.family)) {
				counters.refreshRejected++;
				send(response, 401, {error: 'invalid_grant'});
				return;
			}

			if (entry.usedAt !== null) {
				if (config.graceWindow > 0 && Date.now() - entry.usedAt <= config.graceWindow * 1000 && entry.next) {
					// Within the grace window a retry gets the same new pair, as Auth0 and Okta allow.
					counters.graceReuses++;
					counters.refreshOk++;
					send(response, 200, entry.next);
					return;
				}

				// Reuse of a spent token: treat it as theft and end every session of the family.
				counters.reuseDetections++;
				counters.refreshRejected++;
				revokeFamily(entry.family);
				send(response, 401, {error: 'invalid_grant', error_description: 'refresh token reuse detected'});
				return;
			}

			entry.usedAt = Date.now();
			entry.next = issue(entry.family);
			counters.refreshOk++;
			send(response, 200, entry.next);
		} finally {
			counters.refreshInFlight--;
		}
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
		if (!bearerValid(request)) {
			counters.rejectedRequests++;
			send(response, 401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer error="invalid_token"'});
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
		} else {
			send(response, 404, {error: 'not_found'});
		}
	}

	async function serveFile(request, response, url) {
		const prefix = Object.keys(staticRoots).find(candidate => url.pathname.startsWith(candidate));
		const base = staticRoots[prefix];
		let relative = decodeURIComponent(url.pathname.slice(prefix.length));
		if (relative === '' || relative.endsWith('/')) {
			relative += 'index.html';
		}

		const file = normalize(join(base, relative));
		if (!file.startsWith(base + sep)) {
			send(response, 404, {error: 'not_found'});
			return;
		}

		try {
			const info = await stat(file);
			if (!info.isFile()) {
				throw new Error('not a file');
			}

			response.writeHead(200, {'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache'});
			createReadStream(file).pipe(response);
		} catch {
			send(response, 404, {error: 'not_found', path: url.pathname});
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
					send(response, 200, issue(++familySerial));
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
					for (const key of Object.keys(config)) {
						if (typeof patch[key] === 'number' && patch[key] >= 0) {
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
				await serveFile(request, response, url);
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
		},
		/** The next refresh calls answer with these faults, in order: 500, 502, 503, 'html', 'invalid-json', 'no-access-token', 'hang'. */
		failNext,
		pendingFaults: () => [...pendingFaults],
		faults: () => faultLog.map(entry => ({...entry, secrets: [...entry.secrets]})),
		bodies: () => echoBodies.map(entry => ({...entry})),
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
	});
	const {config} = server.stats();
	console.log(`tab-session demo: open ${server.url}/ in several tabs (bundler version: ${server.url}/module.html)`);
	console.log(`access tokens live ${config.accessTtl} s; grace window ${config.graceWindow} s. Ctrl+C stops.`);
	const stop = async () => {
		await server.close();
		process.exit(0);
	};

	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}
