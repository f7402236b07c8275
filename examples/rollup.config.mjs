// Bundles the bundler page (examples/app/main.js) the way an app would:
// `import {initSession} from 'tab-session'` resolved to this package's ESM build.
import {fileURLToPath} from 'node:url';
import nodeResolve from '@rollup/plugin-node-resolve';

const packageEntry = fileURLToPath(new URL('../dist/tab-session.js', import.meta.url));

export default {
	input: fileURLToPath(new URL('app/main.js', import.meta.url)),
	plugins: [
		{
			name: 'tab-session-self',
			resolveId: source => source === 'tab-session' ? packageEntry : null,
		},
		nodeResolve({browser: true}),
	],
	output: {
		file: fileURLToPath(new URL('public/build/app.js', import.meta.url)),
		format: 'es',
		sourcemap: true,
	},
};
