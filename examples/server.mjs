// The demo's auth server: login, refresh with rotation and reuse detection,
// a heartbeat and a few protected endpoints, counters, and the pages.
// Node.js only, no dependencies. `npm start` builds the SDK and runs this file.
import {randomBytes} from 'node:crypto';
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
});

const token = prefix => `${prefix}_${randomBytes(18).toString('base64url')}`;

/**
 * Starts the server. Options (all optional): port (0 picks a free one), host,
 * accessTtl (seconds), graceWindow (seconds; 0 = off), refreshDelay (ms),
 * refreshCookie (true: the refresh token travels in an httpOnly cookie).
 * Resolves with {url, stats(), config(patch), revokeAll(), reset(), close()}.
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

	async function api(request, response, url) {
		const isHeartbeat = url.pathname === '/api/heartbeat';
		counters.apiRequests++;
		if (isHeartbeat) {
			counters.heartbeats++;
		}

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
