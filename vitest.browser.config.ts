import {defineConfig} from 'vitest/config';

// Real-browser tests (test/browser): several tabs of one browser profile
// against the example server, in Chromium, Firefox and WebKit. Run after the
// unit tests, on built files (`npm run build && npm run build:examples`).
export default defineConfig({
	test: {
		environment: 'node',
		include: ['test/browser/**/*.test.ts'],
		// One browser at a time. Two at once (measured: 490–523 s instead of 677 for the whole
		// suite on 2 cores) slowed the drivers enough to break bounds the scenarios rely on: a
		// WebKit window took over 4 s to close, a Chromium request met its pause timeout.
		fileParallelism: false,
		// No retries: a flaky scenario is a race to find, not to paper over.
		retry: 0,
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
