import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import {dts} from 'rollup-plugin-dts';

const input = 'src/index.ts';
const banner = '/*! tab-session | MIT License */';
// The compiled output is plain JavaScript; types come from the dts pass.
const ts = () => typescript({tsconfig: './tsconfig.json', declaration: false, outDir: undefined});
// Bundlers resolve ky from the app's own node_modules.
const external = ['ky'];

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
		// The script-tag build: ky inside, window.TabSession outside.
		input,
		plugins: [nodeResolve({browser: true}), ts()],
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
