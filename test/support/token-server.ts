/**
 * A token server in one function, handed to sessions as `fetch`. It behaves
 * like Auth0/Okta/Supabase with rotation: each refresh token works once, and
 * presenting a spent one revokes the whole family (every token it led to).
 */
export interface TokenServerOptions {
	/** Access-token lifetime in seconds. */
	ttl?: number;
	origin?: string;
}

/** A refresh that rotates as usual but answers a lifetime of zero, a negative one, or under a second. */
type LifetimeFault = 'zero-lifetime' | 'negative-lifetime' | 'tiny-lifetime';
type FailureMode = 500 | 503 | 'garbage' | 'html' | 'network' | 'hang' | 'missing-field' | 400 | LifetimeFault;

const faultLifetimes: Record<LifetimeFault, number> = {'zero-lifetime': 0, 'negative-lifetime': -30, 'tiny-lifetime': 0.4};

interface RefreshCall {
	/** Fake-time ms when the call arrived. */
	at: number;
	/** The token family of the refresh token it presented; null when it presented none (or a failure was injected first). */
	family: number | null;
	ok: boolean;
}

interface ApiCall {
	/** Fake-time ms when it arrived (before any delay of the handler). */
	at: number;
	/** The request's `x-request-id` header, when it had one. */
	id: string | null;
	path: string;
	token: string | null;
	status: number;
	method: string;
	body: string;
}

export function createTokenServer(options: TokenServerOptions = {}) {
	const origin = options.origin ?? 'http://localhost:3000';
	let ttl = options.ttl ?? 60;
	let serial = 0;
	const access = new Map<string, {expiresAt: number; family: number}>();
	const refresh = new Map<string, {family: number; used: boolean}>();
	const revokedFamilies = new Set<number>();
	const failures: FailureMode[] = [];
	let outage: FailureMode | null = null;
	let refreshDelay = 0;
	let slowDelay = 0;
	let inFlight = 0;
	/** The server's clock is this far ahead of the client's (ms). */
	let clockOffset = 0;
	const serverNow = () => Date.now() + clockOffset;

	const counters = {
		refreshCalls: 0,
		refreshOk: 0,
		reuseDetections: 0,
		maxConcurrentRefreshes: 0,
		api: 0,
		api401: 0,
		heartbeats: 0,
	};
	const apiCalls: ApiCall[] = [];
	const presentedRefreshTokens: string[] = [];
	const refreshLog: RefreshCall[] = [];

	const issue = (family: number, lifetime = ttl) => {
		serial++;
		const accessToken = `at-${family}-${serial}`;
		const refreshToken = `rt-${family}-${serial}`;
		access.set(accessToken, {expiresAt: serverNow() + (lifetime * 1000), family});
		refresh.set(refreshToken, {family, used: false});
		return {accessToken, refreshToken, expiresIn: lifetime};
	};

	const json = (status: number, body: unknown) =>
		new Response(JSON.stringify(body), {status, headers: {'content-type': 'application/json'}});

	const delay = async (ms: number, signal: AbortSignal | null | undefined) => new Promise<void>((resolve, reject) => {
		if (ms <= 0) {
			resolve();
			return;
		}

		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			reject(signal.reason);
		}, {once: true});
	});

	const validAccess = (token: string | null) => {
		const entry = token ? access.get(token) : undefined;
		return entry !== undefined && !revokedFamilies.has(entry.family) && serverNow() < entry.expiresAt;
	};

	async function handleRefresh(body: string, signal: AbortSignal | null | undefined): Promise<Response> {
		counters.refreshCalls++;
		const call: RefreshCall = {at: Date.now(), family: null, ok: false};
		refreshLog.push(call);
		inFlight++;
		counters.maxConcurrentRefreshes = Math.max(counters.maxConcurrentRefreshes, inFlight);
		try {
			const failure = failures.shift() ?? outage ?? undefined;
			if (failure === 'network') {
				throw new TypeError('fetch failed');
			}

			if (failure === 'hang') {
				await delay(24 * 3600 * 1000, signal);
			}

			await delay(refreshDelay, signal);
			if (typeof failure === 'number') {
				return json(failure, {error: failure === 400 ? 'invalid_grant' : 'server_error'});
			}

			if (failure === 'garbage') {
				return new Response('{"accessToken": tru', {status: 200});
			}

			if (failure === 'html') {
				return new Response('<html><body>Gateway</body></html>', {status: 200, headers: {'content-type': 'text/html'}});
			}

			if (failure === 'missing-field') {
				return json(200, {token: 'x'});
			}

			let token: unknown;
			try {
				token = (JSON.parse(body) as {refreshToken?: unknown}).refreshToken;
			} catch {}

			if (typeof token !== 'string') {
				return json(400, {error: 'invalid_request'});
			}

			presentedRefreshTokens.push(token);
			const entry = refresh.get(token);
			call.family = entry?.family ?? null;
			if (!entry || revokedFamilies.has(entry.family)) {
				return json(401, {error: 'invalid_grant'});
			}

			if (entry.used) {
				// Reuse: someone presented a spent token. Revoke the family, as rotating servers do.
				counters.reuseDetections++;
				revokedFamilies.add(entry.family);
				return json(401, {error: 'invalid_grant', error_description: 'refresh token reuse detected'});
			}

			entry.used = true;
			counters.refreshOk++;
			call.ok = true;
			if (failure === 'zero-lifetime' || failure === 'negative-lifetime' || failure === 'tiny-lifetime') {
				return json(200, issue(entry.family, faultLifetimes[failure]));
			}

			return json(200, issue(entry.family));
		} finally {
			inFlight--;
		}
	}

	const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
		const arrived = Date.now();
		const request = input instanceof Request ? input : new Request(String(input), init);
		const url = new URL(request.url);
		const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
		await Promise.resolve();
		if (url.origin !== origin) {
			// Another origin: record what it received.
			apiCalls.push({at: arrived, id: request.headers.get('x-request-id'), path: url.href, token: request.headers.get('authorization'), status: 200, method: request.method, body});
			return json(200, {ok: true, foreign: true});
		}

		if (url.pathname === '/auth/refresh') {
			return handleRefresh(body, init?.signal ?? request.signal);
		}

		if (url.pathname.startsWith('/api/')) {
			counters.api++;
			if (url.pathname === '/api/heartbeat') {
				counters.heartbeats++;
			}

			const header = request.headers.get('authorization');
			const token = header?.startsWith('Bearer ') ? header.slice(7) : null;
			if (url.pathname.startsWith('/api/slow')) {
				// The token is checked after the delay, as a slow handler behind the auth check would see it.
				await delay(slowDelay, request.signal);
			}

			// `/api/deny` refuses every token: a permission the user lacks, say.
			const ok = validAccess(token) && url.pathname !== '/api/deny';
			apiCalls.push({at: arrived, id: request.headers.get('x-request-id'), path: url.pathname, token, status: ok ? 200 : 401, method: request.method, body});
			if (!ok) {
				counters.api401++;
				return json(401, {error: 'invalid_token'});
			}

			return json(200, {ok: true, path: url.pathname, body});
		}

		return json(404, {error: 'not_found'});
	};

	return {
		fetch,
		origin,
		counters,
		apiCalls,
		presentedRefreshTokens,
		/** Every refresh call, in arrival order. */
		refreshLog,
		/** A fresh token family, as the login endpoint would issue. */
		login: () => issue(++serial * 1000),
		/** Every access token stops working (a key rotation); refresh tokens still work. */
		revokeAccessTokens() {
			for (const entry of access.values()) {
				entry.expiresAt = 0;
			}
		},
		/** The next refresh calls fail this way, in order. */
		failNext(...modes: FailureMode[]) {
			failures.push(...modes);
		},
		/** Until set back to null, every refresh call without a queued failure fails this way. */
		set outage(mode: FailureMode | null) {
			outage = mode;
		},
		set refreshDelay(ms: number) {
			refreshDelay = ms;
		},
		/** How far the server's clock runs ahead of the client's (negative: behind). */
		set clockOffset(ms: number) {
			clockOffset = ms;
		},
		/** Delay of `/api/slow*` responses. */
		set slowDelay(ms: number) {
			slowDelay = ms;
		},
		set ttl(seconds: number) {
			ttl = seconds;
		},
		/** Refresh calls the server is handling right now. */
		get refreshesInFlight() {
			return inFlight;
		},
		/** True when no refresh token was presented twice. */
		get noReuse() {
			return new Set(presentedRefreshTokens).size === presentedRefreshTokens.length;
		},
	};
}

export type TokenServer = ReturnType<typeof createTokenServer>;
