import {defineConfig} from 'vitest/config';

export default defineConfig({
	test: {
		environment: 'jsdom',
		include: ['test/**/*.test.ts'],
		testTimeout: 20_000,
		// The script-tag smoke test reads the built file.
		globalSetup: [],
	},
});
