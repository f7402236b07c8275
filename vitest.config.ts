import {availableParallelism} from 'node:os';
import {defineConfig} from 'vitest/config';

export default defineConfig({
	test: {
		// A jsdom window costs about a second per file: files that use no DOM say `@vitest-environment node`.
		environment: 'jsdom',
		include: ['test/**/*.test.ts'],
		// Real-browser tests have their own config and run after these (see package.json).
		exclude: ['test/browser/**', 'node_modules/**'],
		testTimeout: 20_000,
		// Every core (the default leaves one idle, half the machine on 2 cores), in worker threads.
		pool: 'threads',
		maxWorkers: availableParallelism(),
	},
});
