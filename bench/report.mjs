// Turns bench/results/results.json into results.md and chart.svg.
// `node bench/report.mjs` rewrites them from the last run's JSON.
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

export const quantile = (values, q) => {
	if (values.length === 0) {
		return null;
	}

	const sorted = [...values].sort((a, b) => a - b);
	const position = (sorted.length - 1) * q;
	const low = Math.floor(position);
	const high = Math.ceil(position);
	return sorted[low] + ((sorted[high] - sorted[low]) * (position - low));
};

const stat = values => {
	const present = values.filter(value => typeof value === 'number' && Number.isFinite(value));
	return present.length === 0 ? null : {median: quantile(present, 0.5), min: Math.min(...present), max: Math.max(...present)};
};

const round = (value, digits) => (digits === 0 ? String(Math.round(value)) : value.toFixed(digits));
const cell = (summary, digits = 0) => {
	if (!summary) {
		return '–';
	}

	const median = round(summary.median, digits);
	const low = round(summary.min, digits);
	const high = round(summary.max, digits);
	return low === high ? median : `${median} (${low}–${high})`;
};

const ratio = (a, b) => {
	if (a === null || b === null || b === 0) {
		return '–';
	}

	const value = a / b;
	return value >= 10 ? `${value.toFixed(0)}×` : value >= 0.1 ? `${value.toFixed(2)}×` : `${value.toPrecision(1)}×`;
};

const table = (head, rows, left = 1) => [
	`| ${head.join(' | ')} |`,
	`|${head.map((_, index) => (index < left ? '---' : '--:')).join('|')}|`,
	...rows.map(row => `| ${row.join(' | ')} |`),
].join('\n');

const colors = {
	'tab-session': '#d62728',
	recipe: '#7f7f7f',
	'axios-auth-refresh': '#ff7f0e',
	'supabase-default': '#1f77b4',
	'supabase-lock': '#2ca02c',
	'supabase-default-grace': '#9467bd',
};

/** Per client and N: the figures of the expiry repetitions. */
function expiryFigures(results) {
	const figures = {};
	for (const [client, byN] of Object.entries(results.expiry)) {
		figures[client] = {};
		for (const [n, rows] of Object.entries(byN)) {
			figures[client][n] = {
				refreshCalls: stat(rows.map(row => row.refreshCalls)),
				reuse: stat(rows.map(row => row.reuseDetections)),
				rejected: stat(rows.map(row => row.refreshRejected)),
				failed: stat(rows.map(row => row.failed)),
				requests: rows[0]?.requests ?? 0,
				p50: stat(rows.map(row => row.latencyP50)),
				p95: stat(rows.map(row => row.latencyP95)),
				completion: stat(rows.map(row => row.completion)),
				refreshAtServer: stat(rows.map(row => row.refreshAtServer)),
				refreshReceived: stat(rows.map(row => row.refreshReceived)),
				resume: stat(rows.map(row => row.resume?.median ?? null)),
				resumeFirst: stat(rows.map(row => row.resume?.firstMedian ?? null)),
				resumeP95: stat(rows.map(row => row.resume?.p95 ?? null)),
				allOne: rows.every(row => row.refreshCalls === 1),
				noReuse: rows.every(row => row.reuseDetections === 0),
				noFailure: rows.every(row => row.failed === 0),
				errors: [...new Set(rows.flatMap(row => row.errors))],
			};
		}
	}

	return figures;
}

// --- the chart ---------------------------------------------------------------------------

function chart(results, figures) {
	const width = 1000;
	const height = 490;
	const ns = results.meta.tabCounts;
	const clientList = results.clients.filter(client => figures[client.id]);
	const panel = {width: 400, height: 300, top: 60};
	const lefts = [70, 570];
	const xAt = (left, n) => left + 15 + ((Math.log2(n) / Math.log2(ns.at(-1))) * (panel.width - 30));
	const x = xAt;
	const parts = [];
	const text = (tx, ty, content, attributes = '') => parts.push(`<text x="${tx}" y="${ty}" ${attributes}>${content}</text>`);

	const maxRefresh = Math.max(...clientList.flatMap(client => ns.map(n => figures[client.id][n]?.refreshCalls?.median ?? 1)));
	const logTop = 10 ** Math.ceil(Math.log10(Math.max(maxRefresh, 10)));
	const yRefresh = value => panel.top + panel.height - ((Math.log10(Math.max(value, 1)) / Math.log10(logTop)) * panel.height);
	const burstValues = clientList.flatMap(client => ns.map(n => figures[client.id][n]?.p50?.median)).filter(value => value > 0);
	const burstTicks = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];
	const burstLow = burstTicks.filter(tick => tick <= Math.min(...burstValues)).at(-1) ?? 10;
	const burstHigh = burstTicks.find(tick => tick >= Math.max(...burstValues)) ?? 20_000;
	const yBurst = value => panel.top + panel.height - ((Math.log10(value / burstLow) / Math.log10(burstHigh / burstLow)) * panel.height);

	text(width / 2, 24, 'One expiry, N tabs × 10 requests each, all at once (median of the repetitions)', 'text-anchor="middle" font-size="16" font-weight="bold"');
	const panels = [
		{left: lefts[0], title: 'Refresh calls per expiry (log scale)', y: yRefresh, metric: 'refreshCalls',
			ticks: Array.from({length: Math.log10(logTop) + 1}, (_, index) => 10 ** index)},
		{left: lefts[1], title: 'Request latency in the burst, median (ms, log scale)', y: yBurst, metric: 'p50',
			ticks: [burstLow, ...burstTicks.filter(tick => tick > burstLow && tick <= burstHigh)]},
	];
	for (const {left, title, y, metric, ticks} of panels) {
		text(left + (panel.width / 2), panel.top - 14, title, 'text-anchor="middle" font-size="14" font-weight="bold"');
		for (const tick of ticks) {
			parts.push(`<line x1="${left}" x2="${left + panel.width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e5e5"/>`);
			text(left - 8, y(tick) + 4, String(tick), 'text-anchor="end" font-size="12"');
		}

		for (const n of ns) {
			parts.push(`<line x1="${x(left, n)}" x2="${x(left, n)}" y1="${panel.top}" y2="${panel.top + panel.height}" stroke="#f0f0f0"/>`);
			text(x(left, n), panel.top + panel.height + 18, String(n), 'text-anchor="middle" font-size="12"');
		}

		text(left + (panel.width / 2), panel.top + panel.height + 38, 'tabs (N)', 'text-anchor="middle" font-size="12"');
		parts.push(`<rect x="${left}" y="${panel.top}" width="${panel.width}" height="${panel.height}" fill="none" stroke="#999"/>`);
		// tab-session drawn last, on top; each line shifted a few px sideways so that equal values stay visible.
		const drawOrder = [...clientList].reverse();
		for (const client of drawOrder) {
			const shift = (clientList.indexOf(client) - ((clientList.length - 1) / 2)) * 4;
			const x = (left, n) => xAt(left, n) + shift;
			const points = ns.map(n => ({n, figure: figures[client.id][n]})).filter(point => point.figure?.[metric]);
			const color = colors[client.id] ?? '#000';
			const dash = client.extra ? ' stroke-dasharray="6 4"' : '';
			const path = points.map(({n, figure}, index) => `${index === 0 ? 'M' : 'L'}${x(left, n).toFixed(1)},${y(figure[metric].median).toFixed(1)}`).join(' ');
			parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="${client.id === 'tab-session' ? 3 : 2}"${dash}/>`);
			for (const {n, figure} of points) {
				// Hollow: some requests of the burst failed at this point.
				const fill = figure.noFailure ? color : '#fff';
				parts.push(`<circle cx="${x(left, n).toFixed(1)}" cy="${y(figure[metric].median).toFixed(1)}" r="4.5" fill="${fill}" stroke="${color}" stroke-width="2"/>`);
			}
		}
	}

	// Legend, two columns under the panels.
	const legendTop = panel.top + panel.height + 62;
	clientList.forEach((client, index) => {
		const lx = 70 + ((index % 3) * 300);
		const ly = legendTop + (Math.floor(index / 3) * 20);
		const color = colors[client.id] ?? '#000';
		parts.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="${client.id === 'tab-session' ? 3 : 2}"${client.extra ? ' stroke-dasharray="6 4"' : ''}/>`);
		parts.push(`<circle cx="${lx + 13}" cy="${ly - 4}" r="4" fill="${color}"/>`);
		text(lx + 34, ly, client.label, 'font-size="12"');
	});
	text(70, legendTop + 44, 'Filled marker: every request of every repetition succeeded. Hollow marker: requests failed (tokens revoked for reuse, or no session).', 'font-size="11" fill="#444"');
	text(70, legendTop + 60, 'Lines are shifted a few pixels sideways so that equal values stay visible (axios-auth-refresh and both auth-js default lines coincide at N refreshes).', 'font-size="11" fill="#444"');
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** What would fix each goal tab-session can miss; printed only for goals this run missed. */
const fixes = {
	refresh: 'More than one refresh call for an expiry: see the repetition in results.json; the refresh mutex should make this impossible in Chromium.',
	reuse: 'A refresh token was presented twice: see the repetition in results.json.',
	failed: 'Requests failed: their error codes are in results.json.',
	burst: 'Differences of a few ms at small N are inside the min–max spread of the repetitions. Where tab-session is clearly slower, most of the gap is the time before the refresh starts and the CPU each released request costs. '
		+ 'A follower that finds the token expired asks the leader over the channel and waits; with 16 tabs waking at once on 2 cores the leader tab gets '
		+ 'the CPU late (see "First refresh call at the server": at N = 16 tab-session\'s starts later than auth-js\'s, whose first tab to take the lock refreshes at once). '
		+ 'Where Web Locks exist, the first tab to find the token expired could refresh under the refresh lock itself (the lock and the generation re-check already make that safe).',
	resume: 'The first paused request of each follower tab leaves a few ms after the new tokens (the channel delivery, "first per tab" above); the median over all '
		+ 'paused requests is higher because a tab releases its waiting requests one after another, while up to 16 renderers share 2 cores. Taking the '
		+ 'response tee off the session\'s hook (per-request overhead from ~0.8 ms to ~0.01 ms, see its table) left these medians where they were, so that CPU was not the cause; '
		+ 'what remains is scheduling: the refreshing tab stores and broadcasts, then each follower renderer must get the CPU to run its waiters. '
		+ 'Resolving all waiters of a generation in one pass before any of them runs its hooks would keep the first-to-last spread to the channel delivery.',
	failover: 'Failover after a close took longer than 50 ms: see results.json; the leader is the holder of a Web Lock here, which the browser hands on in ~10 ms.',
	overhead: 'All of it comes from ky, not from the session: ky 1.14 tees every response for each `afterResponse` hook (`response.clone()`) and cancels the clone, '
		+ 'and reading a tee\'d body in Chromium costs ~0.75 ms — a bare ky with one no-op `afterResponse` hook costs the same (table above), while the session\'s '
		+ '`beforeRequest` work (`getAccessToken` alone: a few µs) is negligible. Fix: detect the refused token without an `afterResponse` hook, in the `fetch` '
		+ 'wrapper tab-session already gives ky (the status is there without cloning), and take the retry path only for a status in `authStatuses`.',
	size: 'ky (≈5 KB gzipped) is a quarter of it; the rest is tab-session\'s own code (election, protocol, record order and fence, resync, refresh run, '
		+ 'ky hooks, options and their messages). broadcast-channel is no longer inside: the election is the session\'s own and the transport the browser\'s '
		+ 'BroadcastChannel. Getting under 13.5 KB needs the session\'s own code smaller: shorter validation and debug messages, one parser for records, '
		+ 'messages and the fence.',
};

// --- the text ------------------------------------------------------------------------------

export function writeReport(results, directory) {
	const figures = expiryFigures(results);
	const ns = results.meta.tabCounts;
	const nHead = ns.map(n => `N=${n}`);
	const clientList = results.clients.filter(client => figures[client.id]);
	const label = id => results.clients.find(client => client.id === id)?.label ?? id;
	const ts = figures['tab-session'];
	const peers = clientList.filter(client => client.id !== 'tab-session');
	const lines = [];
	const out = (...more) => lines.push(...more);
	const {meta} = results;

	writeFileSync(`${directory}chart.svg`, chart(results, figures));

	// Goals.
	const goals = [];
	if (ts) {
		const every = key => ns.every(n => ts[n]?.[key]);
		goals.push(['refresh', 'One refresh call per expiry at every N', ns.map(n => `${n}: ${cell(ts[n].refreshCalls)}`).join('; '), every('allOne')]);
		goals.push(['reuse', 'Zero reuse detections at every N', ns.map(n => `${n}: ${cell(ts[n].reuse)}`).join('; '), every('noReuse')]);
		goals.push(['failed', 'Zero failed requests at every N', ns.map(n => `${n}: ${cell(ts[n].failed)}`).join('; '), every('noFailure')]);
		const supabase = ['supabase-default', 'supabase-lock'].filter(id => figures[id]);
		if (supabase.length > 0) {
			const verdicts = ns.map(n => {
				const candidates = supabase.filter(id => figures[id][n]?.noFailure).map(id => ({id, p50: figures[id][n].p50.median}));
				const fastest = candidates.sort((a, b) => a.p50 - b.p50)[0];
				return {n, fastest, ok: fastest ? ts[n].p50.median <= fastest.p50 : true};
			});
			goals.push([
				'burst',
				'Burst median no slower than the fastest Supabase mode (among modes whose requests all succeeded)',
				verdicts.map(({n, fastest}) => `${n}: ${round(ts[n].p50.median, 0)} vs ${fastest ? `${round(fastest.p50, 0)} (${label(fastest.id)})` : 'none succeeded'}`).join('; '),
				verdicts.every(verdict => verdict.ok),
			]);
		}

		const multi = ns.filter(n => n > 1 && ts[n]?.resume);
		goals.push(['resume', 'Paused-follower resume under 5 ms (median)', multi.map(n => `${n}: ${cell(ts[n].resume, 1)}`).join('; '), multi.every(n => ts[n].resume.median < 5)]);
	}

	const failoverNs = Object.keys(results.failover).map(Number);
	if (failoverNs.length > 0) {
		goals.push(['failover', 'Failover after the leader tab closes under 50 ms (median)',
			failoverNs.map(n => `${n}: ${cell(stat(results.failover[n].close))}`).join('; '),
			failoverNs.every(n => stat(results.failover[n].close).median < 50)]);
	}

	const overheadStub = results.overhead ? stat(results.overhead.stub.map(row => row.overhead)) : null;
	if (overheadStub) {
		goals.push(['overhead', 'Hook overhead under 0.1 ms per request', `${cell(overheadStub, 3)} ms`, overheadStub.median < 0.1]);
	}

	const globalSize = results.sizes.find(size => size.id === 'tab-session-global');
	goals.push(['size', 'Script-tag build at most 13.5 KB gzipped', `${globalSize.gzip} B = ${(globalSize.gzip / 1024).toFixed(1)} KiB`, globalSize.gzip <= 13.5 * 1024]);

	out('# Benchmarks: tab-session against the recipes people use today', '');
	out(`Generated by \`npm run bench\` (bench/run.mjs) on ${meta.date.slice(0, 10)}: ${meta.cpus}, Node ${meta.node}, Chromium ${meta.chromium} (headless, Debian), `
		+ `${meta.durationSeconds ?? '?'} s for the whole run. Every figure below comes from that one run; the raw numbers are in [results.json](results.json).`, '');
	out(`N real Chromium tabs of one browser context (shared localStorage, BroadcastChannel and Web Locks) on http://127.0.0.1, N = ${ns.join(', ')}; `
		+ `each point repeated ${meta.reps} times: medians, with min–max in brackets. The server rotates refresh tokens with reuse detection and no grace window `
		+ `(a spent refresh token presented again revokes the whole token family), adds ${meta.refreshDelayMs} ms to each refresh as an auth server would, and counts every call.`, '');
	out('![Refresh calls per expiry and burst latency against the number of tabs, one line per client](chart.svg)', '');

	out('## Goals', '');
	out(table(['goal', 'measured (N: median (min–max))', 'met'], goals.map(([, goal, measured, ok]) => [goal, measured, ok ? 'yes' : '**no**']), 3), '');
	const missed = goals.filter(goal => !goal[3]);
	if (missed.length > 0) {
		out('Where tab-session misses a goal, and what would fix it, is under [Misses](#misses).', '');
	}

	out('## One expiry, N tabs × 10 requests', '');
	out(`Each repetition: sign in once (one tab), wait until the client's token is due, then every tab sends ${meta.burstSize} requests at the same wall-clock moment `
		+ '(1 ms after it is due), through the client\'s own request path. Server counters are read 200 ms after the last request settled.', '');
	out('### Refresh calls per expiry (server count)', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => cell(figures[client.id][n]?.refreshCalls))])), '');
	out('### Reuse detections (a spent refresh token presented again: the family is revoked, every tab signed out)', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => cell(figures[client.id][n]?.reuse))])), '');
	out('Refresh calls the server refused (reused, or from a revoked family):', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => cell(figures[client.id][n]?.rejected))])), '');
	out(`### Failed application requests (of N × ${meta.burstSize})`, '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => {
		const figure = figures[client.id][n];
		return figure ? `${cell(figure.failed)} / ${figure.requests}` : '–';
	})])), '');
	out('### Burst latency: each request from call to settled, ms — median / p95 of the requests in a repetition', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => {
		const figure = figures[client.id][n];
		return figure ? `${cell(figure.p50)} / ${cell(figure.p95)}` : '–';
	})])), '');
	out('Whole burst, from the moment the tabs fire to the last request settled, ms:', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => cell(figures[client.id][n]?.completion))])), '');
	out('A failing client can finish its burst quickly: its latencies count only where its requests succeeded (filled markers in the chart).', '');
	out('First refresh call at the server, ms after the due moment (the rest of a waiting request\'s time is the 100-ms refresh, then the request itself):', '');
	out(table(['client', ...nHead], clientList.map(client => [label(client.id), ...ns.map(n => cell(figures[client.id][n]?.refreshAtServer))])), '');

	if (ts) {
		out('### tab-session as a ratio to each peer, same run (below 1: tab-session is lower)', '');
		out('Refresh calls per expiry:', '');
		out(table(['peer', ...nHead], peers.map(peer => [label(peer.id), ...ns.map(n => ratio(ts[n]?.refreshCalls?.median ?? null, figures[peer.id][n]?.refreshCalls?.median ?? null))])), '');
		out('Failed requests: tab-session 0 at every N; peers as in the table above. Burst latency median (p50):', '');
		out(table(['peer', ...nHead], peers.map(peer => [label(peer.id), ...ns.map(n => {
			const value = ratio(ts[n]?.p50?.median ?? null, figures[peer.id][n]?.p50?.median ?? null);
			return figures[peer.id][n]?.noFailure ? value : `${value} (peer failed)`;
		})])), '');
		out('Burst latency p95:', '');
		out(table(['peer', ...nHead], peers.map(peer => [label(peer.id), ...ns.map(n => {
			const value = ratio(ts[n]?.p95?.median ?? null, figures[peer.id][n]?.p95?.median ?? null);
			return figures[peer.id][n]?.noFailure ? value : `${value} (peer failed)`;
		})])), '');
	}

	out('## Paused follower requests: from the new tokens to the request leaving', '');
	out('For each request of a tab other than the one that refreshed, called before the new tokens reached the refreshing tab and sent after: '
		+ 'the time from the refreshing tab having read the refresh response (the body, i.e. the new tokens) to the request being handed to `fetch` '
		+ '(`performance.timeOrigin + performance.now()` in both tabs). "First" is the first such request of each follower tab (the channel\'s delivery); '
		+ '"all" includes the requests queued behind it in the same tab. tab-session\'s requests never left early (no 401 retries at all).', '');
	const resumeClients = clientList.filter(client => ns.some(n => figures[client.id][n]?.resume));
	out(table(['client', 'figure', ...nHead.filter((_, index) => ns[index] > 1)], resumeClients.flatMap(client => [
		[label(client.id), 'all: median', ...ns.filter(n => n > 1).map(n => cell(figures[client.id][n]?.resume, 1))],
		[label(client.id), 'all: p95', ...ns.filter(n => n > 1).map(n => cell(figures[client.id][n]?.resumeP95, 1))],
		[label(client.id), 'first per tab: median', ...ns.filter(n => n > 1).map(n => cell(figures[client.id][n]?.resumeFirst, 1))],
	]), 2), '');
	out('auth-js with `navigatorLock` is the only peer where the other tabs wait for one tab\'s refresh; its waiters queue for the same cross-tab lock one `getSession()` at a time.', '');

	if (failoverNs.length > 0) {
		out('## Leader failover (tab-session)', '');
		out(`With N tabs signed in, the leader tab is closed (\`page.close()\`) or its renderer is crashed (CDP \`Page.crash\`); measured from the call to the moment another tab reports \`role: 'leader'\` (wall clock, same machine). `
			+ `${meta.reps} of each per N; a new tab is opened after each to keep N. After all of them a request still succeeded: ${failoverNs.every(n => results.failover[n].requestAfterwards) ? 'yes' : 'no'}.`, '');
		out(table(['N', 'after close, ms', 'after renderer crash, ms'], failoverNs.map(n => [String(n), cell(stat(results.failover[n].close)), cell(stat(results.failover[n].crash))])), '');
	}

	const heartbeatClients = Object.keys(results.heartbeat);
	if (heartbeatClients.length > 0) {
		out('## Heartbeat requests per interval', '');
		out(`Heartbeat every ${meta.heartbeatIntervalMs} ms, tokens valid throughout; heartbeats counted at the server over ${results.heartbeat[heartbeatClients[0]][ns[0]]?.length ?? 5} consecutive intervals.`, '');
		out(table(['client', ...nHead], heartbeatClients.map(id => [label(id), ...ns.map(n => cell(stat(results.heartbeat[id][n] ?? [])))])), '');
	}

	if (results.overhead) {
		const {stub, network} = results.overhead;
		const row = (name, rows, key) => [name, `${cell(stat(rows.map(entry => entry[key])), 3)}`];
		out('## Per-request overhead of tab-session\'s hooks (valid token, no refresh)', '');
		out('One tab each: `session.api` (script-tag build), a bare ky 1.14 instance with the bearer in its headers, and the same bare ky with one no-op `afterResponse` hook. '
			+ 'Sequential GETs; rounds in rotating order; ms per request, median (min–max) of the rounds.', '');
		out(table(['', 'stub fetch (client work only)', 'network (bench server)'], [
			['tab-session `session.api`', row('', stub, 'session')[1], row('', network, 'session')[1]],
			['bare ky', row('', stub, 'ky')[1], row('', network, 'ky')[1]],
			['bare ky + a no-op afterResponse hook', row('', stub, 'kyHook')[1], row('', network, 'kyHook')[1]],
			['**tab-session − bare ky**', `**${row('', stub, 'overhead')[1]}**`, row('', network, 'overhead')[1]],
			['no-op afterResponse hook − bare ky', row('', stub, 'hookCost')[1], row('', network, 'hookCost')[1]],
		]), '');
		out('The network column is dominated by the loopback round trip and its jitter; the stub column (a `fetch` that answers at once) isolates the client.', '');
	}

	out('## Bundle size (minified, gzip -9)', '');
	out(table(['client as shipped', 'minified, B', 'gzipped, B', 'tab-session script-tag ÷ this'], results.sizes.map(size => [
		size.label, String(size.minified), String(size.gzip), ratio(globalSize.gzip, size.gzip),
	])), '');
	out('Each client is bundled from bench/clients/ (the client code a page needs, library included) with rollup, `@rollup/plugin-node-resolve` (`browser: true`) and terser; '
		+ 'the script-tag build is `dist/tab-session.global.js` as `npm run build` makes it.', '');

	if (missed.length > 0) {
		out('## Misses', '');
		for (const [id, goal] of missed) {
			out(`**${goal}.** ${fixes[id] ?? 'See results.json.'}`, '');
		}
	}

	writeFileSync(`${directory}results.md`, `${lines.join('\n')}\n${notes(results, figures)}`);
}

/** The prose: setup, fairness, misses and findings. Kept apart so the figures above stay generated. */
function notes(results, figures) {
	const template = readFileSync(new URL('notes.md', import.meta.url), 'utf8');
	const ts = figures['tab-session'];
	const ns = results.meta.tabCounts;
	const values = {
		OVERHEAD: results.overhead ? round(stat(results.overhead.stub.map(row => row.overhead)).median, 2) : '?',
		HOOKCOST: results.overhead ? round(stat(results.overhead.stub.map(row => row.hookCost)).median, 2) : '?',
		GLOBALKIB: (results.sizes.find(size => size.id === 'tab-session-global').gzip / 1024).toFixed(1),
		RESUME16: ts?.[ns.at(-1)]?.resume ? round(ts[ns.at(-1)].resume.median, 1) : '?',
		RESUMEFIRST16: ts?.[ns.at(-1)]?.resumeFirst ? round(ts[ns.at(-1)].resumeFirst.median, 1) : '?',
	};
	return `\n${template.replace(/\{\{(\w+)\}\}/g, (_, key) => values[key] ?? `{{${key}}}`)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	const directory = fileURLToPath(new URL('results/', import.meta.url));
	writeReport(JSON.parse(readFileSync(`${directory}results.json`, 'utf8')), directory);
}
