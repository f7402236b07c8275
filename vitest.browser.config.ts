import {defineConfig} from 'vitest/config';

// Real-Chromium tests (test/browser): several tabs of one browser profile
// against the example server. Run after the unit tests, on built files
// (`npm run build && npm run build:examples`).
export default defineConfig({
	test: {
		environment: 'node',
		include: ['test/browser/**/*.test.ts'],
		// One browser at a time: the scenarios measure timing on a small machine.
		fileParallelism: false,
		// No retries: a flaky scenario is a race to find, not to paper over.
		retry: 0,
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
