// Bundles the bundler page (examples/app/main.js) and every README recipe
// (examples/recipes/*.js) the way an app would: `import {initSession} from
// 'tab-session'` resolved to this package's ESM build.
import {existsSync, readdirSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import nodeResolve from '@rollup/plugin-node-resolve';

const packageEntry = fileURLToPath(new URL('../dist/tab-session.js', import.meta.url));
const recipes = fileURLToPath(new URL('recipes/', import.meta.url));

const plugins = () => [
	{
		name: 'tab-session-self',
		resolveId: source => source === 'tab-session' ? packageEntry : null,
	},
	nodeResolve({browser: true}),
];

const bundle = (input, file) => ({
	input,
	plugins: plugins(),
	output: {file, format: 'es', sourcemap: true},
});

export default [
	bundle(fileURLToPath(new URL('app/main.js', import.meta.url)), fileURLToPath(new URL('public/build/app.js', import.meta.url))),
	// Recipes are bundled as they are written in the README; the browser tests load them.
	...(existsSync(recipes) ? readdirSync(recipes) : []).filter(name => name.endsWith('.js')).map(name =>
		bundle(recipes + name, fileURLToPath(new URL(`public/build/recipes/${name}`, import.meta.url)))),
];
