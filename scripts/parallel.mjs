// `node scripts/parallel.mjs <script>...`: runs the named npm scripts at the same time (the steps
// of `npm test` that do not depend on each other), prints each one's output whole when it ends,
// and exits 1 when any failed. On 2 cores, typecheck beside build saves about 6 s.
import {spawn} from 'node:child_process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
	console.error('usage: node scripts/parallel.mjs <npm script> [<npm script>...]');
	process.exit(2);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const results = await Promise.all(scripts.map(async script => new Promise(resolve => {
	const started = Date.now();
	const child = spawn(npm, ['run', script], {stdio: ['ignore', 'pipe', 'pipe'], env: process.env});
	const chunks = [];
	child.stdout.on('data', chunk => chunks.push(chunk));
	child.stderr.on('data', chunk => chunks.push(chunk));
	let finished = false;
	const finish = (code, error) => {
		if (finished) {
			return;
		}

		finished = true;
		const seconds = ((Date.now() - started) / 1000).toFixed(1);
		const output = Buffer.concat(chunks).toString('utf8').trimEnd();
		console.log(`${code === 0 ? '✓' : '✗'} npm run ${script} (${seconds} s${code === 0 ? '' : `, ${error ?? `exit code ${code}`}`})`);
		if (output) {
			console.log(output.replaceAll(/^/gm, '  '));
		}

		resolve({script, code});
	};

	child.on('error', error => {
		finish(1, error.message);
	});
	child.on('close', (code, signal) => {
		finish(code ?? 1, signal ? `killed by ${signal}` : undefined);
	});
})));

const failed = results.filter(result => result.code !== 0).map(result => result.script);
if (failed.length > 0) {
	console.error(`failed: ${failed.join(', ')}`);
	process.exit(1);
}
