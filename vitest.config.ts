import {defineConfig} from 'vitest/config';

export default defineConfig({
	test: {
		environment: 'jsdom',
		include: ['test/**/*.test.ts'],
		// Real-Chromium tests have their own config and run after these (see package.json).
		exclude: ['test/browser/**', 'node_modules/**'],
		testTimeout: 20_000,
	},
});
