// `npm run bench`: tab-session against the recipes people use today, in N real
// Chromium tabs of one browser context, N = 1, 2, 4, 8, 16, each point repeated.
// Writes bench/results/results.json, results.md and chart.svg. See results.md
// for what is measured and how; bench/server.mjs for the server.
import {execFileSync} from 'node:child_process';
import {readFileSync, writeFileSync, mkdirSync} from 'node:fs';
import os from 'node:os';
import {fileURLToPath} from 'node:url';
import {gzipSync} from 'node:zlib';
import {chromium} from 'playwright-core';
import {startBenchServer} from './server.mjs';
import {quantile, writeReport} from './report.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
const chromiumPath = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** Tab counts, largest first: tabs are closed between points. */
const tabCounts = (process.env.BENCH_TABS ?? '16,8,4,2,1').split(',').map(Number);
const reps = Number(process.env.BENCH_REPS ?? 5);
/** Concurrent requests per tab in a burst. */
const burstSize = 10;
/** Access-token lifetime (s) at login for the fast clients: one expiry per repetition. */
// At least a second: tab-session refuses tokens that arrive with less to live.
const accessTtl = 1.2;
/**
 * After the login has reached every tab, tokens the server hands out live this
 * long (s), so a repetition sees one expiry however long its burst takes.
 */
const laterTtl = 30;
/** Added to each refresh at the server: an auth server's usual latency. */
const refreshDelay = 100;
const heartbeatInterval = 1000;
const heartbeatWindows = 5;

/**
 * The clients. `init` is passed to the client's createClient in every tab.
 * Supabase sessions are placed so that auth-js's own 90-s margin is reached
 * 0.5–1.5 s after issue (server-side the token stays valid through expires_at).
 */
const allClients = [
	{id: 'tab-session', label: 'tab-session', page: 'tab-session', init: {refreshLeeway: 0}, server: {accessTtl}},
	{id: 'recipe', label: 'tutorial recipe', page: 'recipe', init: {}, server: {accessTtl}},
	{id: 'axios-auth-refresh', label: 'axios-auth-refresh', page: 'axios-auth-refresh', init: {}, server: {accessTtl}},
	{id: 'supabase-default', label: 'auth-js default', page: 'supabase', init: {mode: 'default'}, server: {accessTtl: 92, supabaseDueInMs: 200}, supabase: true},
	{id: 'supabase-lock', label: 'auth-js navigatorLock', page: 'supabase', init: {mode: 'lock'}, server: {accessTtl: 92, supabaseDueInMs: 200}, supabase: true},
	{
		id: 'supabase-default-grace', label: 'auth-js default, 10 s reuse interval', page: 'supabase', init: {mode: 'default'},
		server: {accessTtl: 92, supabaseDueInMs: 200, graceWindow: 10}, supabase: true, extra: true,
	},
];

// BENCH_CLIENTS=id,id runs a subset (for working on the bench).
const clients = process.env.BENCH_CLIENTS ? allClients.filter(client => process.env.BENCH_CLIENTS.split(',').includes(client.id)) : allClients;

const sleep = ms => new Promise(resolve => {
	setTimeout(resolve, Math.max(0, ms));
});
const log = message => console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${message}`);
const startedAt = Date.now();

const summary = values => {
	const present = values.filter(value => value !== null && value !== undefined && Number.isFinite(value));
	return present.length === 0
		? null
		: {median: quantile(present, 0.5), min: Math.min(...present), max: Math.max(...present), n: present.length};
};

async function waitFor(what, probe, accept, timeout = 5000, interval = 10) {
	const started = Date.now();
	for (;;) {
		// eslint-disable-next-line no-await-in-loop
		const value = await probe();
		if (accept(value)) {
			return value;
		}

		if (Date.now() - started > timeout) {
			throw new Error(`${what}: not reached within ${timeout} ms; last value ${JSON.stringify(value)}`);
		}

		// eslint-disable-next-line no-await-in-loop
		await sleep(interval);
	}
}

// --- build and sizes ---------------------------------------------------------------

function build() {
	log('building the SDK (npm run build) and the bench bundles');
	execFileSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: ['ignore', 'ignore', 'inherit']});
	execFileSync('npx', ['rollup', '--silent', '-c', 'bench/rollup.config.mjs'], {cwd: root, stdio: ['ignore', 'ignore', 'inherit']});
}

function sizes() {
	const measure = file => {
		const content = readFileSync(`${root}${file}`);
		return {file, minified: content.length, gzip: gzipSync(content, {level: 9}).length};
	};

	return [
		{id: 'tab-session-global', label: 'tab-session script-tag build (ky inside)', ...measure('dist/tab-session.global.js')},
		{id: 'tab-session-esm', label: 'tab-session ESM + ky, bundled (rollup, terser)', ...measure('bench/build/size-tab-session-esm.js')},
		{id: 'recipe', label: 'tutorial recipe', ...measure('bench/build/size-recipe.js')},
		{id: 'axios-auth-refresh', label: 'axios + axios-auth-refresh', ...measure('bench/build/size-axios-auth-refresh.js')},
		{id: 'supabase', label: '@supabase/auth-js (GoTrueClient, tree-shaken)', ...measure('bench/build/size-supabase.js')},
		{id: 'bare-ky', label: 'ky alone (reference)', ...measure('bench/build/size-bare-ky.js')},
	];
}

// --- tabs --------------------------------------------------------------------------

async function launch() {
	return chromium.launch({
		executablePath: chromiumPath,
		headless: true,
		// The flags of test/browser/harness.ts.
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
	});
}

function tabOpener(server, context, client, pageErrors) {
	return async () => {
		const tab = await context.newPage();
		tab.on('pageerror', error => {
			pageErrors.push(`${client.id}: ${error.message}`.slice(0, 200));
		});
		await tab.goto(`${server.url}/bench/${client.page}.html`);
		await tab.evaluate(async init => {
			window.bench.init(init);
		}, client.init);
		return tab;
	};
}

const evaluateAll = async (tabs, fn, argument) => Promise.all(tabs.map(async tab => tab.evaluate(fn, argument)));

// --- 1. expiry: refresh calls, reuse, failures, burst time, follower resume ------------

async function expiryRep(server, client, tabs, rep) {
	// A clean slate: signed out everywhere, fresh counters, then one login.
	await tabs[0].evaluate(async () => {
		await window.bench.signOut();
	});
	await evaluateAll(tabs, async () => {
		await window.bench.prepare();
		window.bench.clearLog();
	});
	server.config(client.server);
	await sleep(20);
	server.reset();
	await tabs[0].evaluate(async () => window.bench.login());
	const dues = await waitFor('every tab to hold the session', async () => evaluateAll(tabs, () => window.bench.dueAt()),
		values => values.every(value => value !== null && value === values[0]), 3000, 5);
	// From here on, refreshed tokens outlive the repetition: it measures one expiry.
	server.config(client.supabase ? {accessTtl: laterTtl + 92, supabaseDueInMs: laterTtl * 1000} : {accessTtl: laterTtl});
	const at = dues[0] + 1;
	if (at - Date.now() < 50) {
		throw new Error(`the login took too long to reach every tab: due in ${at - Date.now()} ms`);
	}
	const bursts = await Promise.all(tabs.map(async (tab, index) => tab.evaluate(
		async ({at, size, tag}) => window.bench.burstAt(at, size, tag), {at, size: burstSize, tag: `r${rep}t${index}`})));
	// Stray refreshes (a tab that meets a 401 late) still count.
	await sleep(200);
	const stats = server.stats();
	const logs = await evaluateAll(tabs, () => window.bench.readLog());

	const results = bursts.flatMap(burst => burst.results);
	const latencies = results.map(result => result.t1 - result.t0);
	const errors = [...new Set(results.filter(result => !result.ok).map(result => result.error))];

	// Follower resume: a request of a tab other than the refreshing one, called
	// before the new tokens reached the refreshing tab and sent after.
	let resume = null;
	const refreshers = logs.map((entry, index) => ({index, times: entry.refreshReceived})).filter(entry => entry.times.length > 0);
	if (refreshers.length === 1 && refreshers[0].times.length === 1 && tabs.length > 1) {
		const received = refreshers[0].times[0];
		const delays = bursts.flatMap((burst, index) => (index === refreshers[0].index ? [] : burst.results))
			.filter(result => result.left !== null && result.t0 < received && result.left >= received)
			.map(result => result.left - received);
		const sentEarly = bursts.flatMap((burst, index) => (index === refreshers[0].index ? [] : burst.results))
			.filter(result => result.left !== null && result.left < received).length;
		// The first paused request of each follower tab: the channel's delivery alone.
		const firsts = bursts.map((burst, index) => {
			if (index === refreshers[0].index) {
				return null;
			}

			const lefts = burst.results.filter(result => result.left !== null && result.t0 < received && result.left >= received).map(result => result.left);
			return lefts.length > 0 ? Math.min(...lefts) - received : null;
		}).filter(value => value !== null);
		resume = {
			median: quantile(delays, 0.5), p95: quantile(delays, 0.95), max: delays.length > 0 ? Math.max(...delays) : null,
			firstMedian: quantile(firsts, 0.5), paused: delays.length, sentEarly,
		};
	}

	return {
		refreshCalls: stats.refreshCalls,
		refreshOk: stats.refreshOk,
		reuseDetections: stats.reuseDetections,
		graceReuses: stats.graceReuses,
		refreshRejected: stats.refreshRejected,
		maxRefreshInFlight: stats.maxRefreshInFlight,
		rejected401: stats.rejectedRequests,
		requests: results.length,
		failed: results.filter(result => !result.ok).length,
		errors,
		latencyP50: quantile(latencies, 0.5),
		latencyP95: quantile(latencies, 0.95),
		completion: Math.max(...bursts.map(burst => burst.settledAt)) - at,
		// When the first refresh reached the server, and its answer the tab, after the due moment.
		refreshAtServer: stats.refreshTimes.length > 0 ? stats.refreshTimes[0] - at : null,
		refreshReceived: refreshers.length > 0 ? Math.min(...refreshers.flatMap(entry => entry.times)) - at : null,
		resume,
	};
}

// --- 2. heartbeats per interval --------------------------------------------------------

async function heartbeats(server, tabs, client) {
	await tabs[0].evaluate(async () => window.bench.signOut());
	await evaluateAll(tabs, init => {
		window.bench.init(init);
	}, {...client.init, heartbeatInterval});
	server.config({accessTtl: 600});
	await tabs[0].evaluate(async () => window.bench.login());
	await waitFor('every tab signed in', async () => evaluateAll(tabs, () => window.bench.authenticated()), values => values.every(Boolean));
	await sleep(100);
	const from = Date.now();
	await sleep((heartbeatWindows * heartbeatInterval) + 50);
	const times = server.stats().heartbeatTimes;
	const perInterval = Array.from({length: heartbeatWindows}, (_, index) =>
		times.filter(time => time >= from + (index * heartbeatInterval) && time < from + ((index + 1) * heartbeatInterval)).length);
	// Back to the expiry setup: no heartbeat, short tokens.
	await tabs[0].evaluate(async () => window.bench.signOut());
	await evaluateAll(tabs, init => {
		window.bench.init(init);
	}, client.init);
	server.config(client.server);
	return perInterval;
}

// --- 3. leader failover (tab-session) ---------------------------------------------------

async function failover(server, context, tabs, openTab) {
	server.config({accessTtl: 600});
	await tabs[0].evaluate(async () => window.bench.signOut());
	await tabs[0].evaluate(async () => window.bench.login());
	await waitFor('every tab signed in', async () => evaluateAll(tabs, () => window.bench.authenticated()), values => values.every(Boolean));
	const figures = {close: [], crash: []};
	for (const kind of ['close', 'crash']) {
		for (let rep = 0; rep < reps; rep++) {
			// eslint-disable-next-line no-await-in-loop
			const roles = await waitFor('one leader', async () => evaluateAll(tabs, () => window.bench.role()),
				values => values.filter(role => role === 'leader').length === 1, 3000);
			const leader = tabs[roles.indexOf('leader')];
			const others = tabs.filter(tab => tab !== leader);
			// eslint-disable-next-line no-await-in-loop
			await evaluateAll(others, () => window.bench.clearLog());
			// eslint-disable-next-line no-await-in-loop
			const cdp = kind === 'crash' ? await context.newCDPSession(leader) : undefined;
			const killedAt = Date.now();
			if (kind === 'close') {
				// eslint-disable-next-line no-await-in-loop
				await leader.close({runBeforeUnload: false});
			} else {
				// The renderer dies; the command itself never gets an answer.
				cdp.send('Page.crash').catch(() => undefined);
			}

			// eslint-disable-next-line no-await-in-loop
			const logs = await waitFor('a new leader', async () => evaluateAll(others, () => window.bench.readLog()),
				values => values.some(value => value.leaderAt.length > 0), 5000, 2);
			const newLeaderAt = Math.min(...logs.flatMap(value => value.leaderAt));
			figures[kind].push(newLeaderAt - killedAt);
			if (kind === 'crash') {
				// eslint-disable-next-line no-await-in-loop
				await leader.close().catch(() => undefined);
			}

			tabs.splice(tabs.indexOf(leader), 1);
			// eslint-disable-next-line no-await-in-loop
			tabs.push(await openTab());
		}
	}

	// The session survived: one request through the new leader's tab works.
	const check = await tabs[0].evaluate(async () => window.bench.burstAt(Date.now(), 1, 'after-failover'));
	server.config({accessTtl});
	return {...figures, requestAfterwards: check.results[0].ok};
}

// --- 4. per-request overhead -------------------------------------------------------------

async function overhead(server, browser) {
	const context = await browser.newContext();
	try {
		const pageErrors = [];
		server.config({accessTtl: 600});
		const variants = {
			session: await tabOpener(server, context, clients.find(client => client.id === 'tab-session') ?? allClients[0], pageErrors)(),
			ky: await tabOpener(server, context, {id: 'bare-ky', page: 'bare-ky', init: {}}, pageErrors)(),
			kyHook: await tabOpener(server, context, {id: 'bare-ky', page: 'bare-ky', init: {afterResponseHook: true}}, pageErrors)(),
		};
		const tabs = Object.values(variants);
		for (const tab of tabs) {
			// eslint-disable-next-line no-await-in-loop
			await tab.evaluate(async () => window.bench.login());
		}

		const measure = async (n, rounds) => {
			const rows = [];
			await evaluateAll(tabs, async n => window.bench.loop(n), n);
			for (let index = 0; index < rounds; index++) {
				const row = {};
				// One tab at a time, in a rotating order, so drift favours none.
				const order = Object.keys(variants).map((_, position, keys) => keys[(position + index) % keys.length]);
				for (const name of order) {
					// eslint-disable-next-line no-await-in-loop
					row[name] = (await variants[name].evaluate(async n => window.bench.loop(n), n)) / n;
				}

				rows.push({...row, overhead: row.session - row.ky, hookCost: row.kyHook - row.ky});
			}

			return rows;
		};

		// In-tab: a stub fetch answers at once, so only the client's own work is timed.
		await evaluateAll(tabs, () => window.bench.setStub(true));
		const stub = await measure(500, 5);
		// Over the network to the bench server, with a valid token.
		await evaluateAll(tabs, () => window.bench.setStub(false));
		const network = await measure(100, 5);
		return {stub, network, refreshCalls: server.stats().refreshCalls, pageErrors};
	} finally {
		await context.close();
		server.config({accessTtl});
	}
}

// --- the run --------------------------------------------------------------------------------

async function main() {
	build();
	const sizeRows = sizes();
	const server = await startBenchServer({accessTtl, refreshDelay, graceWindow: 0});
	const browser = await launch();
	const stop = async () => {
		await browser.close().catch(() => undefined);
		await server.close().catch(() => undefined);
	};

	process.once('SIGINT', () => {
		void stop().then(() => process.exit(130));
	});
	const results = {
		meta: {
			date: new Date().toISOString(),
			node: process.version,
			chromium: browser.version(),
			cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
			tabCounts: [...tabCounts].reverse(),
			reps,
			burstSize,
			accessTtlSeconds: accessTtl,
			refreshDelayMs: refreshDelay,
			heartbeatIntervalMs: heartbeatInterval,
			versions: Object.fromEntries(['ky', 'axios', 'axios-auth-refresh', '@supabase/auth-js', 'playwright-core'].map(name =>
				[name, JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')).version])),
		},
		clients: clients.map(({id, label, extra}) => ({id, label, extra: Boolean(extra)})),
		sizes: sizeRows,
		expiry: {},
		heartbeat: {},
		failover: {},
		overhead: null,
		pageErrors: [],
		warnings: [],
	};

	try {
		for (const client of clients) {
			log(`${client.label}: opening ${tabCounts[0]} tabs`);
			server.config({graceWindow: 0, ...client.server});
			// eslint-disable-next-line no-await-in-loop
			const context = await browser.newContext();
			const openTab = tabOpener(server, context, client, results.pageErrors);
			// The first tab alone, so that it asks for leadership first; the others four at a time.
			const tabs = [];
			const fill = async count => {
				if (tabs.length === 0 && count > 0) {
					tabs.push(await openTab());
				}

				while (tabs.length < count) {
					// eslint-disable-next-line no-await-in-loop
					tabs.push(...await Promise.all(Array.from({length: Math.min(4, count - tabs.length)}, async () => openTab())));
				}
			};

			results.expiry[client.id] = {};
			for (const n of tabCounts) {
				let openedAt = null;
				if (client.supabase) {
					// Fresh tabs for each point, all done before auth-js's 30-s ticker ticks again
					// (it ticks once at page load, with no session yet): no tick falls in a repetition.
					while (tabs.length > 0) {
						// eslint-disable-next-line no-await-in-loop
						await tabs.pop().close({runBeforeUnload: false});
					}

					openedAt = Date.now();
				}

				while (tabs.length > n) {
					// eslint-disable-next-line no-await-in-loop
					await tabs.pop().close({runBeforeUnload: false});
				}

				// eslint-disable-next-line no-await-in-loop
				await fill(n);
				const rows = [];
				for (let rep = 0; rep < reps; rep++) {
					// eslint-disable-next-line no-await-in-loop
					rows.push(await expiryRep(server, client, tabs, rep));
				}

				results.expiry[client.id][n] = rows;
				if (openedAt !== null && Date.now() - openedAt > 29_000) {
					// Not expected: the point outlasted the ticker's 30 s; its repetitions may have met a tick.
					results.warnings.push(`${client.id} N=${n}: the point took ${Date.now() - openedAt} ms from the first tab's load`);
				}

				const refreshes = rows.map(row => row.refreshCalls).join(',');
				const failed = rows.map(row => row.failed).join(',');
				log(`${client.label} N=${n}: refresh calls ${refreshes}; reuse ${rows.map(row => row.reuseDetections).join(',')}; failed ${failed}; burst p50 ${summary(rows.map(row => row.latencyP50)).median.toFixed(1)} ms`);

				if (client.id === 'tab-session' || client.id === 'recipe') {
					results.heartbeat[client.id] ??= {};
					// eslint-disable-next-line no-await-in-loop
					results.heartbeat[client.id][n] = await heartbeats(server, tabs, client);
					log(`${client.label} N=${n}: heartbeats per ${heartbeatInterval} ms: ${results.heartbeat[client.id][n].join(',')}`);
				}

				if (client.id === 'tab-session' && n > 1) {
					// eslint-disable-next-line no-await-in-loop
					results.failover[n] = await failover(server, context, tabs, openTab);
					log(`tab-session N=${n}: failover after close ${results.failover[n].close.join(',')} ms; after crash ${results.failover[n].crash.join(',')} ms`);
				}
			}

			// eslint-disable-next-line no-await-in-loop
			await context.close();
		}

		log('per-request overhead: tab-session vs bare ky');
		results.overhead = await overhead(server, browser);
	} finally {
		await stop();
	}

	results.meta.durationSeconds = Math.round((Date.now() - startedAt) / 1000);
	mkdirSync(resultsDir, {recursive: true});
	writeFileSync(`${resultsDir}results.json`, `${JSON.stringify(results, null, '\t')}\n`);
	writeReport(results, resultsDir);
	log(`done in ${results.meta.durationSeconds} s: bench/results/results.md`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	await main();
}
