// What every bench page exposes as `window.bench`, whatever the client:
// init, login, when the token is due, timed bursts, sequential loops, and a
// log of when refreshes came back and when each tagged request left the tab.
// Times are performance.timeOrigin + performance.now(): epoch ms, comparable across tabs.
const now = () => performance.timeOrigin + performance.now();
const sleep = ms => new Promise(resolve => {
	setTimeout(resolve, Math.max(0, ms));
});

export function install(createClient, {prepare} = {}) {
	const log = {refreshReceived: [], left: new Map(), leaderAt: []};
	let stubApi = false;
	let client;
	let unsubscribe = () => undefined;

	const urlOf = input => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);

	// The `fetch` each client is given: it notes when a refresh response has been
	// read (the new tokens are in the tab) and when a tagged request leaves.
	const benchFetch = async (input, init) => {
		const url = urlOf(input);
		if (stubApi && url.includes('/api/orders')) {
			return new Response('{"orders":[]}', {status: 200, headers: {'content-type': 'application/json'}});
		}

		if (url.includes('/api/auth/refresh') || url.includes('grant_type=refresh_token')) {
			const response = await fetch(input, init);
			const body = await response.text();
			log.refreshReceived.push(now());
			return new Response(body, {status: response.status, statusText: response.statusText, headers: response.headers});
		}

		const tag = /[?&]b=([^&]+)/.exec(url);
		if (tag && !log.left.has(tag[1])) {
			log.left.set(tag[1], now());
		}

		return fetch(input, init);
	};

	const request = async (key, path) => {
		const t0 = now();
		try {
			await client.get(`${path}?b=${key}`);
			return {key, ok: true, t0, t1: now()};
		} catch (error) {
			return {key, ok: false, t0, t1: now(), error: String(error?.code ?? error?.name ?? error).slice(0, 80)};
		}
	};

	window.bench = {
		init(options = {}) {
			unsubscribe();
			client?.close();
			client = createClient({...options, fetch: benchFetch});
			const {session} = client;
			if (session) {
				let role = session.getState().role;
				unsubscribe = session.subscribe(state => {
					if (state.role === 'leader' && role !== 'leader') {
						log.leaderAt.push(Date.now());
					}

					role = state.role;
				});
				if (role === 'leader') {
					log.leaderAt.push(Date.now());
				}
			}
		},
		async prepare() {
			await prepare?.(client);
		},
		login: async () => client.login(),
		async signOut() {
			if (client.session) {
				if (client.session.getState().status !== 'unauthenticated') {
					await client.session.logout();
				}
			} else {
				localStorage.clear();
			}
		},
		dueAt: () => client.dueAt(),
		role: () => client.role?.() ?? null,
		authenticated: () => client.session ? client.session.getState().status === 'authenticated' : client.dueAt() !== null,
		setStub(value) {
			stubApi = value;
		},
		clearLog() {
			log.refreshReceived = [];
			log.left = new Map();
			log.leaderAt = [];
		},
		readLog: () => ({refreshReceived: log.refreshReceived, leaderAt: log.leaderAt}),
		/** M concurrent requests fired by this tab's clock at epoch ms `at`. */
		async burstAt(at, m, tag, path = '/api/orders') {
			while (Date.now() < at) {
				// eslint-disable-next-line no-await-in-loop
				await sleep(at - Date.now());
			}

			const startedAt = now();
			const results = await Promise.all(Array.from({length: m}, async (_, index) => request(`${tag}-${index}`, path)));
			return {
				startedAt,
				settledAt: now(),
				results: results.map(result => ({...result, left: log.left.get(result.key) ?? null})),
			};
		},
		/** `n` requests one after another; resolves with the total ms. */
		async loop(n, path = '/api/orders') {
			const started = now();
			for (let index = 0; index < n; index++) {
				// eslint-disable-next-line no-await-in-loop
				await client.get(path);
			}

			return now() - started;
		},
	};
}
