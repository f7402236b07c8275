// The bench server: the demo auth server (examples/server.mjs, unchanged) behind
// a thin front on the same machine. The front
// - serves the bench pages and bundles, and dist/ (the script-tag build);
// - passes every /api/* request through to the demo server unchanged, so every
//   client meets the same rotation, reuse detection, grace window and counters;
// - answers GoTrue's token endpoint (POST /auth/v1/token?grant_type=password|refresh_token)
//   for @supabase/auth-js by translating it to the demo server's login and refresh,
//   in the shapes auth-js reads (src/lib/fetch.ts `_sessionResponse`, `handleError`);
// - stamps the heartbeats it passes on, to count them per interval.
// Every client, Supabase's included, pays the same one extra local hop.
import {Agent, createServer, request as httpRequest} from 'node:http';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {contentTypes, readText, sendJson as json, serveStatic} from '../examples/http.mjs';
import {startServer} from '../examples/server.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const files = [['/dist/', join(root, 'dist')], ['/bench/build/', join(root, 'bench', 'build')]];

// Scripts of each bench page, in order. tab-session's page loads the script-tag build as a user would.
const pages = {
	'tab-session': ['/dist/tab-session.global.js', '/bench/build/page-tab-session.js'],
	recipe: ['/bench/build/page-recipe.js'],
	'axios-auth-refresh': ['/bench/build/page-axios-auth-refresh.js'],
	supabase: ['/bench/build/page-supabase.js'],
	'bare-ky': ['/bench/build/page-bare-ky.js'],
};

/** GoTrue's margin (auth-js EXPIRY_MARGIN_MS): a session is refreshed once less than this is left. */
export const supabaseMarginMs = 90_000;

export async function startBenchServer({accessTtl = 1, refreshDelay = 100, graceWindow = 0} = {}) {
	const inner = await startServer({port: 0, host: '127.0.0.1', accessTtl, refreshDelay, graceWindow});
	const agent = new Agent({keepAlive: true, maxSockets: 256});
	let heartbeatTimes = [];
	/** Milliseconds before GoTrue's 90-s margin at which a Supabase session becomes due (see results.md). */
	let supabaseDueInMs = 1000;

	const forward = (method, path, headers, body) => new Promise((resolve, reject) => {
		const outgoing = httpRequest({host: '127.0.0.1', port: inner.port, method, path, headers, agent}, response => {
			const chunks = [];
			response.on('data', chunk => chunks.push(chunk));
			response.on('end', () => resolve({status: response.statusCode, body: Buffer.concat(chunks).toString()}));
			response.on('error', reject);
		});
		outgoing.on('error', reject);
		outgoing.end(body);
	});

	const user = {
		id: '00000000-0000-4000-8000-000000000001',
		aud: 'authenticated',
		role: 'authenticated',
		email: 'bench@example.test',
		app_metadata: {provider: 'email', providers: ['email']},
		user_metadata: {},
		identities: [],
		created_at: '2026-01-01T00:00:00Z',
		updated_at: '2026-01-01T00:00:00Z',
		is_anonymous: false,
	};

	// The demo server's pair as GoTrue's session response. expires_at is whole epoch
	// seconds, as GoTrue sends it; it is placed so that auth-js's 90-s margin is
	// reached `supabaseDueInMs` (rounded up to the next whole second) after issue.
	const gotrueSession = pair => {
		const expiresAt = Math.ceil((Date.now() + supabaseDueInMs) / 1000) + (supabaseMarginMs / 1000);
		return {
			access_token: pair.accessToken,
			token_type: 'bearer',
			expires_in: Math.round(expiresAt - (Date.now() / 1000)),
			expires_at: expiresAt,
			refresh_token: pair.refreshToken,
			user,
		};
	};

	async function gotrueToken(request, response, url) {
		const grant = url.searchParams.get('grant_type');
		const body = JSON.parse((await readText(request, Number.POSITIVE_INFINITY)) || '{}');
		const headers = {'content-type': 'application/json'};
		if (grant === 'password') {
			const result = await forward('POST', '/api/auth/login', headers, '{}');
			json(response, 200, gotrueSession(JSON.parse(result.body)));
			return;
		}

		if (grant === 'refresh_token') {
			const result = await forward('POST', '/api/auth/refresh', headers, JSON.stringify({refreshToken: body.refresh_token ?? ''}));
			if (result.status === 200) {
				json(response, 200, gotrueSession(JSON.parse(result.body)));
				return;
			}

			// GoTrue answers a spent or unknown refresh token with 400 and an error_code (auth-js: AuthApiError, not retried).
			const reused = /reuse/.test(result.body);
			const code = reused ? 'refresh_token_already_used' : 'refresh_token_not_found';
			json(response, 400, {code: 400, error_code: code, msg: reused ? 'Invalid Refresh Token: Already Used' : 'Invalid Refresh Token: Refresh Token Not Found'});
			return;
		}

		json(response, 400, {code: 400, error_code: 'validation_failed', msg: 'unsupported grant_type'});
	}

	const proxy = (request, response) => {
		const outgoing = httpRequest({
			host: '127.0.0.1', port: inner.port, method: request.method, path: request.url, headers: request.headers, agent,
		}, answer => {
			response.writeHead(answer.statusCode, answer.headers);
			answer.pipe(response);
		});
		outgoing.on('error', () => {
			if (!response.headersSent) {
				json(response, 502, {error: 'bad_gateway'});
			}
		});
		request.pipe(outgoing);
	};

	const server = createServer(async (request, response) => {
		const url = new URL(request.url ?? '/', 'http://bench.invalid');
		try {
			if (url.pathname.startsWith('/api/')) {
				if (url.pathname === '/api/heartbeat') {
					heartbeatTimes.push(Date.now());
				}

				proxy(request, response);
				return;
			}

			if (request.method === 'POST' && url.pathname === '/auth/v1/token') {
				await gotrueToken(request, response, url);
				return;
			}

			const page = /^\/bench\/([\w-]+)\.html$/.exec(url.pathname);
			if (page && pages[page[1]]) {
				const scripts = pages[page[1]].map(src => `<script src="${src}"></script>`).join('\n');
				response.writeHead(200, {'content-type': contentTypes['.html'], 'cache-control': 'no-cache'});
				response.end(`<!doctype html><html><head><meta charset="utf-8"><title>bench: ${page[1]}</title></head><body>\n${scripts}\n</body></html>`);
				return;
			}

			if (request.method === 'GET' && await serveStatic(response, url, files)) {
				return;
			}

			response.writeHead(url.pathname === '/favicon.ico' ? 204 : 404);
			response.end();
		} catch (error) {
			if (!response.headersSent) {
				json(response, 500, {error: String(error)});
			} else {
				response.destroy();
			}
		}
	});

	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', resolve);
	});
	const {port} = server.address();
	return {
		url: `http://127.0.0.1:${port}`,
		stats: () => ({...inner.stats(), heartbeatTimes: [...heartbeatTimes]}),
		config(patch) {
			if (patch.supabaseDueInMs !== undefined) {
				supabaseDueInMs = patch.supabaseDueInMs;
			}

			const {supabaseDueInMs: _ignored, ...rest} = patch;
			return inner.config(rest);
		},
		reset() {
			inner.reset();
			heartbeatTimes = [];
		},
		async close() {
			server.closeAllConnections();
			await new Promise(resolve => {
				server.close(resolve);
			});
			agent.destroy();
			await inner.close();
		},
	};
}
