// `npm run check:size`: gzipped sizes of what users ship, against budgets. Run after `npm run build`.
// An equivalent of size-limit (which needs Node 22): gzip level 9, as bench/run.mjs measures, of
// the script-tag build as published and of the ESM entry minified the way an app's bundler ships it.
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {gzipSync} from 'node:zlib';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import {rollup} from 'rollup';

/**
 * Budgets in bytes, gzipped: about 5 % above the size measured when each was set (noted beside
 * it). Raise one deliberately, in the change that needs the bytes.
 */
const budgets = {
	// <script src>: ky inside, minified. Raised from 18,000 for the session ids and epochs, the
	// fence, the election of its own, resync and the page lifecycle; broadcast-channel went out.
	// Then from 20,300 for the lost-fence rules and error messages that name the mistake, and
	// from 21,400 for events, session.fetch, token details and the logout request, then from
	// 23,000 for restore and the cross-tab idle limit.
	global: 24_800, // 23,643 B
	// `import … from 'tab-session'` in an app: every export, with ky
	// resolved for browsers.
	bundled: 24_500, // 23,370 B
	// dist/tab-session.js alone, ky left to the app: what the SDK itself adds.
	esm: 20_100, // 19,182 B
};

const root = fileURLToPath(new URL('../', import.meta.url));
const entry = `${root}dist/tab-session.js`;
const gzipSize = code => gzipSync(code, {level: 9}).length;

/** Bundles the ESM entry with rollup and terser (the options of bench/rollup.config.mjs) and gzips it. */
async function bundledSize({withDependencies}) {
	const warnings = [];
	const bundle = await rollup({
		input: entry,
		external: withDependencies ? [] : ['ky'],
		plugins: withDependencies ? [nodeResolve({browser: true})] : [],
		onwarn: warning => warnings.push(warning.message),
	});
	try {
		const {output} = await bundle.generate({format: 'es', plugins: [terser({compress: {passes: 2}})]});
		// An unresolved import or a circular dependency would make the figure wrong, not just noisy.
		if (warnings.length > 0) {
			throw new Error(`bundling dist/tab-session.js warned:\n${warnings.join('\n')}`);
		}

		return gzipSize(output[0].code);
	} finally {
		await bundle.close();
	}
}

const rows = [
	{id: 'global', label: 'script-tag build (dist/tab-session.global.js)', size: gzipSize(readFileSync(`${root}dist/tab-session.global.js`))},
	{id: 'bundled', label: 'ESM entry + ky, bundled, minified', size: await bundledSize({withDependencies: true})},
	{id: 'esm', label: 'ESM entry alone, minified (ky external)', size: await bundledSize({withDependencies: false})},
];

const kb = bytes => `${(bytes / 1000).toFixed(2)} KB`;
const over = rows.filter(({id, size}) => size > budgets[id]);
for (const {id, label, size} of rows) {
	const budget = budgets[id];
	const verdict = size > budget ? `OVER by ${size - budget} B` : `${budget - size} B left`;
	console.log(`${size > budget ? '✗' : '✓'} ${label}: ${kb(size)} gzipped (${size} B) of ${kb(budget)}: ${verdict}`);
}

if (over.length > 0) {
	console.error(`${over.length} size budget(s) exceeded: shrink the code, or raise the budget in scripts/check-size.mjs deliberately.`);
	process.exit(1);
}
