// Bundles for the bench (output in bench/build/, not committed):
// - page-*.js: each bench page, the harness and one client (iife);
// - size-*.js: each client alone, minified, as a user would ship it (ESM, terser).
// `tab-session` resolves to this package's ESM build, with ky from node_modules, as
// an app's bundler would resolve it.
import {fileURLToPath} from 'node:url';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const here = path => fileURLToPath(new URL(path, import.meta.url));
const packageEntry = here('../dist/tab-session.js');
const plugins = () => [
	{name: 'tab-session-self', resolveId: source => (source === 'tab-session' ? packageEntry : null)},
	nodeResolve({browser: true}),
];
const quiet = (warning, warn) => {
	// auth-js and axios use `this` at the top level of some modules and have circular imports; harmless here.
	if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') {
		return;
	}

	warn(warning);
};

const pages = ['tab-session', 'recipe', 'axios-auth-refresh', 'supabase', 'bare-ky'].map(name => ({
	input: here(`pages/page-${name}.js`),
	plugins: plugins(),
	onwarn: quiet,
	output: {file: here(`build/page-${name}.js`), format: 'iife'},
}));

const sizes = ['tab-session-esm', 'recipe', 'axios-auth-refresh', 'supabase', 'bare-ky'].map(name => ({
	input: here(`clients/${name}.js`),
	plugins: plugins(),
	onwarn: quiet,
	output: {file: here(`build/size-${name}.js`), format: 'es', plugins: [terser({compress: {passes: 2}})]},
}));

export default [...pages, ...sizes];
