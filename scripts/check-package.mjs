// `npm run check:package`: the checks a maintainer runs before adopting the package, on the
// tarball `npm pack` produces (run `npm run build` first):
// 1. publint, strict, every level down to suggestions;
// 2. @arethetypeswrong/cli, its default (strictest) profile;
// 3. an install of the tarball in a throwaway app: Node imports and requires it, and TypeScript
//    compiles against its types, dependencies' declarations included (attw reads the tarball alone
//    and cannot see ky's).
// 4. `npm pack` in a copy of the sources without dist/, as in a fresh clone: `prepack` builds.
// Prints every finding and exits 1 when there is one.
import {execFile} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {publint} from 'publint';
import {formatMessage} from 'publint/utils';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = name => join(root, 'node_modules', '.bin', name);
const run = promisify(execFile);

/** Runs a command; resolves with its output and exit code instead of throwing on a non-zero exit. */
async function exec(file, args, options = {}) {
	const result = await run(file, args, {cwd: root, maxBuffer: 16 * 1024 * 1024, ...options}).catch(error => {
		if (typeof error.code !== 'number') {
			throw error;
		}

		return error;
	});
	const {stdout = '', stderr = ''} = result;
	return {code: result.code ?? 0, stdout, output: `${stdout}${stderr}`.trim()};
}

const findings = [];
const report = (check, ok, detail) => {
	console.log(`${ok ? '✓' : '✗'} ${check}${detail ? `: ${detail}` : ''}`);
	if (!ok) {
		findings.push(check);
	}
};

const temp = mkdtempSync(join(tmpdir(), 'tab-session-pack-'));
try {
	// The builds in dist/ as they are (`npm test` has just built them); the fresh-clone check below runs `prepack`.
	if (!existsSync(join(root, 'dist', 'tab-session.js'))) {
		throw new Error('dist/ has no build: run `npm run build` first');
	}

	const packed = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp]);
	if (packed.code !== 0) {
		throw new Error(`npm pack failed:\n${packed.output}`);
	}

	const [manifest] = JSON.parse(packed.stdout);
	const tarball = join(temp, manifest.filename);
	const files = manifest.files.map(file => file.path);
	// Only the builds, their maps and types, and the package's documents: no sources, tests or configs.
	const stray = files.filter(path => !/^(?:dist\/tab-session\.[\w.]+|README\.md|SECURITY\.md|LICENSE(?:\.\w+)?|package\.json)$/.test(path));
	// The README links to SECURITY.md: it ships beside it.
	const missing = ['SECURITY.md', 'README.md', 'dist/tab-session.js', 'dist/tab-session.cjs', 'dist/tab-session.global.js', 'dist/tab-session.d.ts']
		.filter(path => !files.includes(path));
	report('packed files', stray.length === 0 && missing.length === 0,
		`${files.length} files, ${(manifest.size / 1000).toFixed(1)} kB packed${stray.length > 0 ? `; unexpected: ${stray.join(', ')}` : ''}${missing.length > 0 ? `; missing: ${missing.join(', ')}` : ''}`);

	// A fresh clone has no dist/: `prepack` must build it, or the tarball holds documents only.
	const clone = join(temp, 'clone');
	mkdirSync(clone);
	for (const entry of ['package.json', 'rollup.config.mjs', 'tsconfig.json', 'src', 'README.md', 'SECURITY.md', 'LICENSE']) {
		cpSync(join(root, entry), join(clone, entry), {recursive: true});
	}

	symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
	// Its build runs while the checks below read the tarball.
	const freshPack = exec('npm', ['pack', '--dry-run', '--json'], {cwd: clone});

	const buffer = readFileSync(tarball);
	const linted = publint({
		pack: {tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)},
		level: 'suggestion',
		strict: true,
	});
	// The default profile checks node10, node16 (from CJS and from ESM) and bundler resolution.
	const typesChecked = exec(bin('attw'), [tarball, '--format', 'ascii', '--no-color', '--no-emoji']);
	const installed = checkInstalled(tarball);
	// Awaited in turn below; a rejection meanwhile is not unhandled.
	for (const pending of [linted, typesChecked, installed]) {
		pending.catch(() => undefined);
	}

	const fresh = await freshPack;
	const freshFiles = fresh.code === 0 ? JSON.parse(fresh.stdout)[0].files.map(file => file.path) : [];
	const built = ['dist/tab-session.js', 'dist/tab-session.cjs', 'dist/tab-session.global.js', 'dist/tab-session.d.ts'].every(path => freshFiles.includes(path));
	report('npm pack from a fresh clone (prepack builds)', built, built ? `${freshFiles.length} files` : fresh.output.slice(-400));

	const {messages, pkg} = await linted;
	report('publint --strict', messages.length === 0, messages.length === 0 ? 'nothing reported' : `${messages.length} message(s)`);
	for (const message of messages) {
		console.log(`  ${message.type} ${message.code}: ${formatMessage(message, pkg, {color: false})}`);
	}

	const attw = await typesChecked;
	report('attw (profile strict)', attw.code === 0, attw.code === 0 ? 'no problems' : `exit code ${attw.code}`);
	if (attw.code !== 0) {
		console.log(attw.output.replaceAll(/^/gm, '  '));
	}

	await installed;
} finally {
	rmSync(temp, {recursive: true, force: true});
}

if (findings.length > 0) {
	console.error(`The packed package has findings: ${findings.join(', ')}.`);
	process.exit(1);
}

/** Unpacks the tarball into an app's node_modules beside this repository's ky, and uses it. */
async function checkInstalled(tarball) {
	const app = join(temp, 'app');
	const modules = join(app, 'node_modules');
	mkdirSync(join(modules, 'tab-session'), {recursive: true});
	const unpacked = await exec('tar', ['-xzf', tarball, '-C', join(modules, 'tab-session'), '--strip-components=1']);
	if (unpacked.code !== 0) {
		throw new Error(`tar failed:\n${unpacked.output}`);
	}

	for (const name of ['ky']) {
		symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
	}

	writeFileSync(join(app, 'package.json'), '{"name": "app", "private": true, "type": "commonjs"}\n');

	// Node: the ESM build through `import`, the CJS build through `require` (ky is ESM-only:
	// this needs require(esm), hence the package's engines range).
	const names = 'Object.keys(api).filter(name => name !== "default" && name !== "__esModule").sort().join(" ")';
	const imported = await exec(process.execPath, ['--input-type=module', '-e', `const api = await import('tab-session'); console.log(${names});`], {cwd: app});
	const required = await exec(process.execPath, ['-e', `const api = require('tab-session'); console.log(${names});`], {cwd: app});
	const loaded = imported.code === 0 && required.code === 0 && imported.output === required.output && imported.output.includes('initSession');
	report('installed: import and require in Node', loaded, loaded ? `${imported.output.split(' ').length} exports each` : '');
	if (!loaded) {
		console.log(`  import: ${imported.output}\n  require: ${required.output}`);
	}

	// TypeScript: an ESM and a CJS file under nodenext, and an app under bundler resolution, with
	// skipLibCheck off so that the published declarations and those they import are checked too.
	// (module node16 is left out: it models Node without require(esm), where the CJS build cannot load ky.)
	const use = `import {initSession, oauth2RefreshGrant, isSessionError, type SessionState} from 'tab-session';
const session = initSession({refreshUrl: '/auth/refresh', ...oauth2RefreshGrant({clientId: 'app'})});
export const status: SessionState['status'] = session.getState().status;
// An app's own fetch wrapper hands the request's signal on as it is (null or undefined included).
export const tokenFor = async (init: RequestInit): Promise<string> => session.getAccessToken({signal: init.signal});
export const refreshFor = async (init: RequestInit): Promise<void> => session.refresh({signal: init.signal ?? undefined});
export async function orders(): Promise<Array<{id: number}> | string> {
	try {
		return await session.api.get('orders').json<Array<{id: number}>>();
	} catch (error) {
		return isSessionError(error) && error.code === 'OAUTH_ERROR' ? error.error : String(error);
	}
}
`;
	for (const file of ['esm.mts', 'cjs.cts', 'app.ts']) {
		writeFileSync(join(app, file), use);
	}

	const compilerOptions = {noEmit: true, strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, target: 'es2022', lib: ['es2022', 'dom', 'dom.iterable'], types: []};
	const compiles = [
		{label: 'nodenext', files: ['esm.mts', 'cjs.cts'], compilerOptions: {module: 'nodenext', moduleResolution: 'nodenext'}},
		{label: 'bundler', files: ['app.ts'], compilerOptions: {module: 'esnext', moduleResolution: 'bundler'}},
	];
	for (const {label, files, compilerOptions: resolution} of compiles) {
		writeFileSync(join(app, `tsconfig.${label}.json`), JSON.stringify({compilerOptions: {...compilerOptions, ...resolution}, files}));
	}

	const results = await Promise.all(compiles.map(async ({label}) => exec(bin('tsc'), ['-p', `tsconfig.${label}.json`], {cwd: app})));
	for (const [index, {label}] of compiles.entries()) {
		const {code, output} = results[index];
		report(`installed: tsc --moduleResolution ${label}`, code === 0, code === 0 ? 'compiles' : '');
		if (code !== 0) {
			console.log(output.replaceAll(/^/gm, '  '));
		}
	}
}
