// Small node:http helpers shared by the demo server (server.mjs), the OAuth 2.0
// test server (test/support/oauth-server.mjs) and the bench server. No dependencies.
import {createReadStream} from 'node:fs';
import {stat} from 'node:fs/promises';
import {extname, join, normalize, sep} from 'node:path';

export const contentTypes = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.map': 'application/json',
	'.svg': 'image/svg+xml',
	'.json': 'application/json',
};

/** Answers with a JSON body that no cache keeps. */
export function sendJson(response, status, body, headers = {}) {
	response.writeHead(status, {'content-type': 'application/json', 'cache-control': 'no-store', ...headers});
	response.end(JSON.stringify(body));
}

/** The request body as text; reading stops past `limit` characters. */
export async function readText(request, limit = 100_000) {
	let text = '';
	for await (const chunk of request) {
		text += chunk;
		if (text.length > limit) {
			break;
		}
	}

	return text;
}

/**
 * Serves a GET for a file under one of `roots` ([url prefix, folder] pairs,
 * the first that matches wins; a path ending in `/` serves its index.html).
 * Resolves true when it answered, false when there is no such file, so the
 * caller chooses the 404.
 */
export async function serveStatic(response, url, roots) {
	const match = roots.find(([prefix]) => url.pathname.startsWith(prefix));
	if (!match) {
		return false;
	}

	const [prefix, base] = match;
	let relative = decodeURIComponent(url.pathname.slice(prefix.length));
	if (relative === '' || relative.endsWith('/')) {
		relative += 'index.html';
	}

	const file = normalize(join(base, relative));
	if (!file.startsWith(base + sep)) {
		return false;
	}

	try {
		if (!(await stat(file)).isFile()) {
			return false;
		}
	} catch {
		return false;
	}

	response.writeHead(200, {'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache'});
	createReadStream(file).pipe(response);
	return true;
}
