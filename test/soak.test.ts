import {describe, expect, it, vi} from 'vitest';
import {createWorld, worldPerTest} from './support/world.js';

/**
 * Load with 1-second tokens: every tab sends a burst at every expiry. The
 * default run is short enough for `npm test`; SOAK=1 runs the full minute
 * with 16 tabs × 50 requests per expiry.
 */
const full = process.env['SOAK'] === '1';
const tabs = full ? 16 : 6;
const perTab = full ? 50 : 15;
const duration = full ? 60_000 : 15_000;

const worlds = worldPerTest();

describe('load and soak', () => {
	it(`${tabs} tabs × ${perTab} requests per expiry, 1 s tokens, ${duration / 1000} s: no failure, no reuse, one refresh per token lifetime, no growth`, async () => {
		const current = worlds.use(createWorld({ttl: 1, locks: true}));
		for (let index = 0; index < tabs; index++) {
			current.openTab();
			// eslint-disable-next-line no-await-in-loop
			await current.tick(23);
		}

		await current.tick(1000);
		await current.tabs[0]!.session.login(current.server.login());
		await current.tick(50);
		const started = Date.now();
		const pending: Array<Promise<unknown>> = [];
		let samples: Array<{timers: number; open: number}> = [];
		while (Date.now() - started < duration) {
			// Right at expiry of the current token, every tab sends its burst.
			const expiresAt = current.tabs[0]!.session.getState().expiresAt!;
			// eslint-disable-next-line no-await-in-loop
			await current.tick(Math.max(1, expiresAt - Date.now()));
			for (const tab of current.tabs) {
				pending.push(tab.burst(perTab));
			}

			// eslint-disable-next-line no-await-in-loop
			await current.tick(100);
			samples.push({timers: vi.getTimerCount(), open: current.hub.open});
		}

		await current.run(Promise.all(pending));
		const elapsed = Date.now() - started;
		const {counters} = current.server;
		expect(current.failed()).toHaveLength(0);
		expect(current.tabs.reduce((sum, tab) => sum + tab.results.length, 0)).toBe(pending.length * perTab);
		expect(counters.reuseDetections).toBe(0);
		expect(current.server.noReuse).toBe(true);
		expect(counters.maxConcurrentRefreshes).toBe(1);
		// A 1 s token is refreshed 0.75 s into its life (lead: a quarter of the lifetime).
		expect(counters.refreshOk).toBeGreaterThanOrEqual(Math.floor(elapsed / 750) - 2);
		expect(counters.refreshOk).toBeLessThanOrEqual(Math.ceil(elapsed / 750) + 2);
		// No growth: pending timers (waiters, alarms, election) and channels stay flat from the first seconds to the end.
		samples = samples.slice(2);
		const early = samples.slice(0, 3);
		const late = samples.slice(-3);
		const peak = (list: typeof samples) => Math.max(...list.map(sample => sample.timers));
		expect(peak(late)).toBeLessThanOrEqual(peak(early) + tabs);
		expect(Math.max(...late.map(sample => sample.open))).toBe(tabs);
		console.info(`[soak] ${tabs} tabs, ${pending.length * perTab} requests, ${counters.refreshOk} refreshes in ${elapsed} ms; timers early ${peak(early)}, late ${peak(late)}`);
	}, full ? 600_000 : 120_000);
});
