import {defineConfig} from 'vitest/config';

// Real-browser tests (test/browser): several tabs of one browser profile
// against the example server, in Chromium, Firefox and WebKit. Run after the
// unit tests, on built files (`npm run build && npm run build:examples`).
const shared = {
	environment: 'node',
	// No retries: a flaky scenario is a race to find, not to paper over.
	retry: 0,
	testTimeout: 60_000,
	hookTimeout: 60_000,
} as const;

/** Browsers at a time (`BROWSER_WORKERS`, default 2); `npm run bench:engines` measures with 1. */
const workers = Number(process.env['BROWSER_WORKERS'] ?? 2);
if (!Number.isInteger(workers) || workers < 1) {
	throw new Error(`BROWSER_WORKERS must be a whole number of at least 1, not ${JSON.stringify(process.env['BROWSER_WORKERS'])}`);
}

/** Runs alone, after the others: its 1-s tokens leave no room for a second browser's load. */
const alone = ['test/browser/soak.test.ts'];

export default defineConfig({
	test: {
		projects: [
			{
				test: {
					...shared,
					name: 'browser',
					include: ['test/browser/**/*.test.ts'],
					exclude: alone,
					// Two files (two browsers) at a time: the scenarios spend most of their time waiting out
					// token lifetimes, and the demo page idles at next to no CPU (measured on 2 cores: 737 s
					// one at a time, 484 s two at a time).
					maxWorkers: workers,
					sequence: {groupOrder: 0},
				},
			},
			{
				test: {
					...shared,
					name: 'soak',
					include: alone,
					// With another browser busy beside it, a request sometimes took longer than the
					// 750 ms a refreshed 1-s token has left, met a second 401 and reached the page.
					maxWorkers: 1,
					sequence: {groupOrder: 1},
				},
			},
		],
	},
});
