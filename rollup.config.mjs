import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import {dts} from 'rollup-plugin-dts';

const input = 'src/index.ts';
const banner = '/*! tab-session | MIT License */';
// The compiled output is plain JavaScript; types come from the dts pass.
const ts = () => typescript({tsconfig: './tsconfig.json', declaration: false, outDir: undefined});
// Bundlers resolve these from the app's own node_modules.
const external = ['ky', 'broadcast-channel'];

// broadcast-channel bundles transports for browsers without BroadcastChannel
// (IndexedDB, localStorage), a test transport and an unguarded native one. Every browser with
// AbortSignal.any, which tab-session needs, has BroadcastChannel, so the
// script-tag build replaces them with transports that never apply.
const unusedTransports = {
	name: 'unused-broadcast-transports',
	load(id) {
		const match = /broadcast-channel[\\/]dist[\\/]esbrowser[\\/]methods[\\/](indexed-db|localstorage|simulate|native)\.js$/.exec(id);
		if (!match) {
			return null;
		}

		const [exportName, type] = {
			'indexed-db': ['IndexedDBMethod', 'idb'],
			localstorage: ['LocalstorageMethod', 'localstorage'],
			simulate: ['SimulateMethod', 'simulate'],
			// tab-session always passes its own guarded native transport first.
			native: ['NativeMethod', 'native'],
		}[match[1]];
		return `export const ${exportName} = {type: '${type}', canBeUsed: () => false};`;
	},
};

export default [
	{
		input,
		external,
		plugins: [ts()],
		output: [
			{file: 'dist/tab-session.js', format: 'es', sourcemap: true, banner},
			{file: 'dist/tab-session.cjs', format: 'cjs', sourcemap: true, banner, interop: 'auto'},
		],
	},
	{
		// The script-tag build: everything inside, window.TabSession outside.
		input,
		plugins: [unusedTransports, nodeResolve({browser: true}), ts()],
		output: {
			file: 'dist/tab-session.global.js',
			format: 'iife',
			name: 'TabSession',
			sourcemap: true,
			banner,
			plugins: [terser({compress: {passes: 2}, format: {comments: /^!/}})],
		},
	},
	{
		input,
		external,
		plugins: [dts()],
		output: [
			{file: 'dist/tab-session.d.ts', format: 'es'},
			{file: 'dist/tab-session.d.cts', format: 'es'},
		],
	},
];
