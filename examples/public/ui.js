// The demo's shared UI, used by every page: the script-tag page hands it
// window.TabSession, the bundler page the module's imports, the cookie page a
// session that a README recipe created. Plain browser JavaScript, no
// dependencies, so the bundler page can inline it as is.

const logLimit = 200;
// tab-session's beforeRequest hook runs before the app's: a request that
// reaches the app's hook later than this after it was made was held by the session.
const pauseThreshold = 5;
const contextKey = 'tabSessionDemo';

const roleColors = {leader: '#d97706', follower: '#2563eb', none: '#9ca3af'};

const counterLabels = [
	['refreshCalls', 'Refresh calls'],
	['refreshOk', 'Refreshes OK'],
	['reuseDetections', 'Reuse detections'],
	['refreshRejected', 'Refreshes rejected'],
	['graceReuses', 'Grace reuses'],
	['maxRefreshInFlight', 'Max refreshes at once'],
	['apiRequests', 'API requests'],
	['apiOk', 'API OK'],
	['rejectedRequests', 'API 401s'],
	['heartbeats', 'Heartbeats'],
	['logins', 'Logins'],
	['revocations', 'Revocations'],
	['logouts', 'Logouts', 'cookie'],
	['refreshWithoutCookie', 'Refreshes without cookie', 'cookie'],
	['refreshBodyTokens', 'Refresh tokens in a body', 'cookie'],
];

/** Creates an element: h('div', {class: 'x', onclick}, 'text', child). */
function h(tag, attributes = {}, ...children) {
	const element = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (value === undefined || value === null || value === false) {
			continue;
		}

		if (name.startsWith('on') && typeof value === 'function') {
			element.addEventListener(name.slice(2), value);
		} else {
			element.setAttribute(name, value === true ? '' : String(value));
		}
	}

	element.append(...children.filter(child => child !== undefined && child !== null));
	return element;
}

/** The error's `code` (SessionError), `HTTP <status>` (ky's HTTPError), or its name. */
export function describeError(error) {
	if (error && typeof error.code === 'string' && error.code !== '') {
		return error.code;
	}

	const status = error?.response?.status;
	if (typeof status === 'number') {
		return `HTTP ${status}`;
	}

	return error?.name ?? 'Error';
}

function readOptions(search) {
	const query = new URLSearchParams(search);
	const number = name => {
		const raw = query.get(name);
		// Left as NaN when malformed, so initSession names the bad option.
		return raw === null || raw.trim() === '' ? undefined : Number(raw);
	};

	const heartbeat = number('heartbeat') ?? 30_000;
	const options = {
		refreshUrl: '/api/auth/refresh',
		storage: query.get('storage') || 'local',
		namespace: query.get('ns') || 'demo',
	};
	if (heartbeat !== 0) {
		options.heartbeatUrl = '/api/heartbeat';
		options.heartbeatInterval = heartbeat;
	}

	const leeway = number('leeway');
	if (leeway !== undefined) {
		options.refreshLeeway = leeway;
	}

	const pause = number('pause');
	if (pause !== undefined) {
		options.pauseTimeout = pause;
	}

	// ?idle=ms signs every tab out after that long without activity; ?idleWarning=ms warns before.
	const idle = number('idle');
	if (idle !== undefined) {
		options.idleTimeout = idle;
	}

	const idleWarning = number('idleWarning');
	if (idleWarning !== undefined) {
		options.idleWarning = idleWarning;
	}

	return options;
}

const clock = () => {
	const date = new Date();
	const pad = (value, size = 2) => String(value).padStart(size, '0');
	return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
};

const seconds = ms => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

function setFavicon(color) {
	let link = document.querySelector('link[rel="icon"]');
	if (!link) {
		link = h('link', {rel: 'icon'});
		document.head.append(link);
	}

	const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${color}"/></svg>`;
	link.setAttribute('href', `data:image/svg+xml,${encodeURIComponent(svg)}`);
}

/**
 * Mounts the demo into `options.root` (default: #app or the body) and sets
 * `window.demo`. `sdk` is the package's exports: window.TabSession, or
 * `{initSession}` imported from 'tab-session'; the session is then built from
 * the query string. A page whose app already made its session (a recipe)
 * passes it as `options.session` instead, with its own `signIn(username,
 * password)` and `signOut()` if it has them, and a `mode` line for the header.
 */
export function mountDemo(sdk, {build = 'script-tag', root, session, signIn, signOut, mode} = {}) {
	const results = {sent: 0, ok: 0, failed: 0, paused: 0, retried: 0, errors: []};
	let markReady;
	let failReady;
	const ready = new Promise((resolve, reject) => {
		markReady = resolve;
		failReady = reject;
	});
	// A test may never await it; a failed start must still not be an unhandled rejection.
	ready.catch(() => undefined);

	const demo = {
		session: null,
		ready,
		results,
		burst: async () => ({ok: 0, failed: 0, errors: []}),
		login: async () => undefined,
		logout: async () => undefined,
		revoke: async () => undefined,
	};
	globalThis.demo = demo;

	const start = () => {
		try {
			mount(sdk, {build, root, demo, results, app: {session, signIn, signOut, mode}});
			markReady();
		} catch (error) {
			failReady(error);
		}
	};

	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', start, {once: true});
	} else {
		start();
	}

	return demo;
}

function mount(sdk, {build, root, demo, results, app}) {
	const host = root ?? document.querySelector('#app') ?? document.body;
	const search = location.search;
	const isBundler = build === 'bundler';
	const other = isBundler
		? {href: `/${search}`, label: 'script-tag page'}
		: {href: `/module.html${search}`, label: 'bundler page'};
	const options = readOptions(search);

	// --- header ---------------------------------------------------------------
	const storageLinks = ['local', 'session', 'memory'].map(kind => {
		const query = new URLSearchParams(search);
		query.set('storage', kind);
		return kind === options.storage
			? h('strong', {class: 'chip chip-on'}, kind)
			: h('a', {class: 'chip', href: `${location.pathname}?${query}`}, kind);
	});
	// The query string configures only a session this page creates.
	const optionsRow = app.session
		? h('p', {class: 'options'}, h('span', {}, app.mode ?? 'the app’s own session'))
		: h('p', {class: 'options'},
			h('span', {}, 'storage '), ...storageLinks,
			h('span', {class: 'sep'}, '·'),
			h('span', {}, `namespace ${options.namespace}`),
			h('span', {class: 'sep'}, '·'),
			h('span', {}, options.heartbeatUrl ? `heartbeat ${seconds(options.heartbeatInterval)}` : 'no heartbeat'),
			options.refreshLeeway === undefined ? null : h('span', {class: 'sep'}, '·'),
			options.refreshLeeway === undefined ? null : h('span', {}, `leeway ${options.refreshLeeway} ms`),
			options.pauseTimeout === undefined ? null : h('span', {class: 'sep'}, '·'),
			options.pauseTimeout === undefined ? null : h('span', {}, `pause timeout ${options.pauseTimeout} ms`),
		);
	const header = h('header', {class: 'top'},
		h('div', {class: 'title-row'},
			h('h1', {}, 'tab-session demo'),
			h('span', {class: 'build'}, isBundler ? 'bundler build' : 'script-tag build'),
			h('a', {class: 'switch', href: other.href, id: 'switch-page'}, `Open the ${other.label} →`),
		),
		h('p', {class: 'lead'}, 'Open this page in several tabs. One tab (the leader) refreshes for all.'),
		optionsRow,
	);
	host.replaceChildren(header);

	if (!app.session && (!sdk || typeof sdk.initSession !== 'function')) {
		host.append(h('div', {class: 'banner error'},
			'The SDK did not load (window.TabSession is missing). Run ',
			h('code', {}, 'npm run build'), ' and reload.'));
		setFavicon(roleColors.none);
		throw new Error('tab-session is not loaded');
	}

	// --- log ------------------------------------------------------------------
	const logList = h('ol', {class: 'log', id: 'log'});
	const trim = () => {
		while (logList.childElementCount > logLimit) {
			logList.lastElementChild.remove();
		}
	};

	const logEvent = (text, kind = 'event') => {
		logList.prepend(h('li', {class: `row ${kind}`},
			h('span', {class: 'time'}, clock()),
			h('span', {class: 'text'}, text)));
		trim();
	};

	let requestSerial = 0;
	const logRequest = entry => {
		entry.tags = h('span', {class: 'tags'});
		entry.outcome = h('span', {class: 'outcome pending'}, 'sent');
		entry.row = h('li', {class: 'row request'},
			h('span', {class: 'time'}, clock()),
			h('span', {class: 'text'}, h('span', {class: 'serial'}, `#${entry.id}`), ` GET ${entry.path}`),
			entry.tags,
			entry.outcome);
		logList.prepend(entry.row);
		trim();
	};

	const addTag = (entry, text, kind) => {
		entry.tags.append(h('span', {class: `tag ${kind}`}, text));
	};

	// --- session --------------------------------------------------------------
	const demoEntry = options_ => options_?.context?.[contextKey];
	const isHeartbeat = url => {
		try {
			return new URL(url).pathname === '/api/heartbeat';
		} catch {
			return false;
		}
	};

	const demoHooks = {
		beforeRequest: [
			(request, requestOptions) => {
				const entry = demoEntry(requestOptions);
				if (!entry || entry.reached) {
					return;
				}

				entry.reached = true;
				const waited = performance.now() - entry.startedAt;
				if (waited > pauseThreshold) {
					entry.paused = true;
					results.paused++;
					addTag(entry, `paused ${Math.round(waited)} ms`, 'paused');
				}
			},
		],
		beforeRetry: [
			({options: requestOptions, error}) => {
				const entry = demoEntry(requestOptions);
				if (!entry) {
					return;
				}

				if (!entry.retried) {
					entry.retried = true;
					results.retried++;
				}

				const why = error?.name === 'ForceRetryError' ? 'retried with new token' : `retried after ${describeError(error)}`;
				addTag(entry, why, 'retried');
			},
		],
		afterResponse: [
			(request, requestOptions, response) => {
				// The leader's heartbeat goes through session.api too: show it, outside the results.
				if (!demoEntry(requestOptions) && isHeartbeat(request.url)) {
					logEvent(`♥ heartbeat → ${response.status}`, 'heartbeat');
				}
			},
		],
	};

	let session;
	let api;
	if (app.session) {
		session = app.session;
		// ky runs an extension's hooks after the instance's, as with kyOptions: the session's first.
		api = session.api.extend({hooks: demoHooks});
	} else {
		try {
			session = sdk.initSession({...options, kyOptions: {hooks: demoHooks}});
		} catch (error) {
			host.append(h('div', {class: 'banner error'}, `initSession failed: ${describeError(error)}: ${error?.message ?? error}`));
			setFavicon(roleColors.none);
			throw error;
		}

		api = session.api;
	}

	demo.session = session;

	const sendOne = async (path, entry) => {
		try {
			const response = await api.get(path, {context: {[contextKey]: entry}});
			await response.text();
			results.ok++;
			entry.outcome.className = 'outcome ok';
			entry.outcome.textContent = `ok ${response.status} · ${Math.round(performance.now() - entry.startedAt)} ms`;
			return {ok: true};
		} catch (error) {
			const code = describeError(error);
			results.failed++;
			results.errors.push(code);
			entry.outcome.className = 'outcome failed';
			entry.outcome.textContent = `failed ${code}`;
			entry.outcome.title = error?.message ?? String(error);
			return {ok: false, code};
		}
	};

	/** n concurrent GETs through session.api; never rejects. */
	const burst = async (n = 10, path = '/api/orders') => {
		const count = Math.max(0, Math.floor(Number(n) || 0));
		const entries = [];
		const pending = [];
		for (let index = 0; index < count; index++) {
			const entry = {id: ++requestSerial, path, startedAt: performance.now()};
			results.sent++;
			logRequest(entry);
			entries.push(entry);
			pending.push(sendOne(path, entry));
		}

		// No hook can run before this synchronous loop ends, so time every
		// request from here: building the others must not count as a pause.
		const launched = performance.now();
		for (const entry of entries) {
			entry.startedAt = launched;
		}

		const outcomes = await Promise.all(pending);
		const summary = {ok: 0, failed: 0, errors: []};
		for (const outcome of outcomes) {
			if (outcome.ok) {
				summary.ok++;
			} else {
				summary.failed++;
				summary.errors.push(outcome.code);
			}
		}

		renderResults();
		return summary;
	};

	const login = async (username = 'demo') => {
		if (app.signIn) {
			await app.signIn(username, 'demo');
			logEvent(`signed in as ${username}`);
			return;
		}

		const response = await fetch('/api/auth/login', {
			method: 'POST',
			headers: {'content-type': 'application/json', accept: 'application/json'},
			body: JSON.stringify({username}),
		});
		if (!response.ok) {
			throw new Error(`login failed: HTTP ${response.status}`);
		}

		await session.login(await response.json());
		logEvent(`signed in as ${username}`);
	};

	const logout = async () => {
		await (app.signOut ? app.signOut() : session.logout());
		logEvent('signed out (all tabs)');
	};

	const revoke = async () => {
		const response = await fetch('/api/admin/revoke', {method: 'POST'});
		if (!response.ok) {
			throw new Error(`revoke failed: HTTP ${response.status}`);
		}

		await response.body?.cancel();
		logEvent('server revoked every access token');
		pollStats();
	};

	Object.assign(demo, {burst, login, logout, revoke});

	// Button actions report failures in the log; none becomes an unhandled rejection.
	const action = (label, run) => async event => {
		const button = event.currentTarget;
		button.disabled = true;
		try {
			await run();
		} catch (error) {
			logEvent(`${label} failed: ${describeError(error)} — ${error?.message ?? error}`, 'error');
		} finally {
			button.disabled = false;
			renderResults();
		}
	};

	// --- layout ---------------------------------------------------------------
	const view = {
		role: h('div', {class: 'role', id: 'role'}),
		status: h('span', {class: 'status', id: 'status'}),
		endReason: h('span', {class: 'end-reason', id: 'end-reason'}),
		generation: h('span', {class: 'value', id: 'generation'}),
		expires: h('span', {class: 'value', id: 'expires'}),
		bar: h('span', {class: 'bar-fill'}),
		lastError: h('p', {class: 'last-error', id: 'last-error', hidden: true}),
		results: h('div', {class: 'results', id: 'results'}),
		stats: h('div', {class: 'stats', id: 'stats'}),
		statsNote: h('p', {class: 'note', id: 'stats-note'}, 'loading…'),
	};

	const tabCard = h('section', {class: 'card tab-card'},
		view.role,
		h('dl', {class: 'facts'},
			h('dt', {}, 'Status'), h('dd', {}, view.status, view.endReason),
			h('dt', {}, 'Generation'), h('dd', {}, view.generation),
			h('dt', {}, 'Token expires in'), h('dd', {}, view.expires, h('span', {class: 'bar'}, view.bar)),
		),
		view.lastError,
	);

	const actionsCard = h('section', {class: 'card actions-card'},
		h('h2', {}, 'Actions'),
		h('div', {class: 'buttons'},
			h('button', {type: 'button', class: 'primary', id: 'login', onclick: action('Sign in', async () => login())}, 'Sign in'),
			h('button', {type: 'button', id: 'burst', onclick: action('Send', async () => burst(20))}, 'Send 20 requests now'),
			h('button', {type: 'button', id: 'logout', onclick: action('Sign out', logout)}, 'Sign out'),
			h('button', {type: 'button', class: 'danger', id: 'revoke', onclick: action('Revoke', revoke)}, 'Revoke tokens on server'),
		),
		h('h3', {}, 'This tab’s requests'),
		view.results,
	);

	const statsCard = h('section', {class: 'card stats-card'},
		h('div', {class: 'card-head'},
			h('h2', {}, 'Server counters'),
			h('button', {type: 'button', class: 'small', id: 'reset', onclick: action('Reset counters', async () => {
				const response = await fetch('/api/admin/reset', {method: 'POST'});
				await response.body?.cancel();
				pollStats();
			})}, 'Reset'),
		),
		view.stats,
		view.statsNote,
	);

	const logCard = h('section', {class: 'card log-card'},
		h('div', {class: 'card-head'},
			h('h2', {}, 'Log'),
			h('span', {class: 'note'}, 'newest first'),
			h('button', {type: 'button', class: 'small', onclick: () => logList.replaceChildren()}, 'Clear'),
		),
		logList,
	);

	host.append(h('main', {class: 'grid'}, tabCard, actionsCard, statsCard, logCard));

	// --- rendering ------------------------------------------------------------
	let lifetime = null;
	let previous = null;
	// What the page shows now, so that a render writes only what changed.
	const shown = {text: null, expired: null, width: null, color: null, icon: null};

	const renderResults = () => {
		const cell = (label, value, kind = '') => h('div', {class: `result ${kind}`},
			h('span', {class: 'number'}, String(value)), h('span', {class: 'label'}, label));
		view.results.replaceChildren(
			cell('sent', results.sent),
			cell('ok', results.ok, results.ok > 0 ? 'good' : ''),
			cell('failed', results.failed, results.failed > 0 ? 'bad' : ''),
			cell('paused', results.paused, results.paused > 0 ? 'warn' : ''),
			cell('retried', results.retried, results.retried > 0 ? 'warn' : ''),
		);
	};

	// Called 4 times a second in every open tab: it writes to the page only what changed, so an
	// idle tab costs next to nothing (every write is a style, layout and paint pass; with many tabs
	// open on a small machine, such writes were most of the CPU the tabs used).
	const renderExpiry = () => {
		const {expiresAt, status} = session.getState();
		const left = expiresAt === null || status === 'unauthenticated' ? null : expiresAt - Date.now();
		const text = left === null ? '—' : (left > 0 ? seconds(left) : 'expired');
		const fraction = left === null || !lifetime ? 0 : Math.min(1, Math.max(0, left / lifetime));
		const width = `${(fraction * 100).toFixed(0)}%`;
		const expired = left !== null && left <= 0;
		if (text !== shown.text) {
			view.expires.textContent = text;
			shown.text = text;
		}

		if (expired !== shown.expired) {
			view.expires.classList.toggle('expired', expired);
			shown.expired = expired;
		}

		if (width !== shown.width) {
			view.bar.style.width = width;
			shown.width = width;
		}
	};

	const render = state => {
		const {role, status} = state;
		view.role.className = `role ${role}`;
		view.role.replaceChildren(
			h('span', {class: 'role-name'}, role === 'leader' ? '★ LEADER' : 'FOLLOWER'),
			h('span', {class: 'role-hint'}, role === 'leader'
				? 'this tab refreshes tokens for every tab'
				: 'waits for the leader’s tokens'),
		);
		// The page-wide colour, the icon and the title only when they change: each write restyles the
		// whole page or redraws the browser's tab strip.
		const color = roleColors[role] ?? roleColors.none;
		if (color !== shown.color) {
			document.documentElement.style.setProperty('--role', color);
			shown.color = color;
		}

		const icon = state.closed ? roleColors.none : roleColors[role];
		if (icon !== shown.icon) {
			setFavicon(icon);
			shown.icon = icon;
		}

		const title = `${role === 'leader' ? '★ Leader' : 'Follower'} · ${status === 'unauthenticated' ? 'signed out' : status} · tab-session`;
		if (title !== document.title) {
			document.title = title;
		}

		view.status.className = `status ${status}`;
		view.status.textContent = status === 'unauthenticated' ? 'signed out' : status;
		view.endReason.textContent = status === 'unauthenticated' && state.endReason
			? state.endReason === 'refresh-rejected' ? 'refresh token rejected' : state.endReason
			: '';
		view.generation.textContent = String(state.generation);

		if (state.expiresAt !== null && state.expiresAt !== previous?.expiresAt) {
			lifetime = Math.max(1, state.expiresAt - Date.now());
		}

		view.lastError.hidden = !state.lastError;
		view.lastError.textContent = state.lastError
			? `Last refresh failed (${describeError(state.lastError)}): ${state.lastError.message}`
			: '';
		renderExpiry();

		if (previous) {
			if (previous.role !== role) {
				logEvent(role === 'leader' ? 'this tab became the leader' : 'this tab is now a follower', 'role-change');
			}

			if (previous.generation !== state.generation) {
				const signedOut = status === 'unauthenticated' ? ` (signed out${state.endReason ? `: ${state.endReason}` : ''})` : '';
				logEvent(`tokens: generation ${previous.generation} → ${state.generation}${signedOut}`);
			}

			if (previous.status !== status && status !== 'authenticated' && previous.generation === state.generation) {
				logEvent(`status: ${status}${state.endReason ? ` (${state.endReason})` : ''}`);
			}
		}

		previous = state;
	};

	const renderStats = stats => {
		view.stats.replaceChildren(...counterLabels
			.filter(([key, _label, only]) => typeof stats[key] === 'number' && (only !== 'cookie' || stats.config?.refreshCookie))
			.map(([key, label]) => {
				const value = stats[key];
				const alarming = (['reuseDetections', 'refreshBodyTokens'].includes(key) && value > 0) || (key === 'maxRefreshInFlight' && value > 1);
				return h('div', {class: `stat${alarming ? ' alarm' : ''}`, 'data-key': key},
					h('span', {class: 'number'}, String(value)),
					h('span', {class: 'label'}, label));
			}));
		const {config} = stats;
		view.statsNote.classList.remove('bad');
		view.statsNote.textContent = config
			? `Access tokens live ${config.accessTtl} s · grace window ${config.graceWindow} s · refresh delay ${config.refreshDelay} ms${config.refreshCookie ? ' · refresh token in an httpOnly cookie' : ''}`
			: '';
	};

	// Plain fetch, not session.api: the counters must not pause, retry or count as app requests.
	// Only a visible tab polls, and the counters are drawn again only when they changed.
	let polling = false;
	let lastStats = null;
	const pollStats = async () => {
		if (polling || document.visibilityState === 'hidden') {
			return;
		}

		polling = true;
		try {
			const response = await fetch('/api/stats', {cache: 'no-store'});
			if (!response.ok) {
				throw new Error(`HTTP ${response.status}`);
			}

			const text = await response.text();
			if (text !== lastStats) {
				renderStats(JSON.parse(text));
				lastStats = text;
			}
		} catch (error) {
			lastStats = null;
			view.statsNote.classList.add('bad');
			view.statsNote.textContent = `Server unreachable (${error?.message ?? error})`;
		} finally {
			polling = false;
		}
	};

	render(session.getState());
	renderResults();
	session.subscribe(render);
	setInterval(renderExpiry, 250);
	setInterval(pollStats, 1000);
	void pollStats();
}
