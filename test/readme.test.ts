// @vitest-environment node
// The README's recipes are the files the tests run: each code block that
// follows a `<!-- recipe: examples/recipes/<file> -->` marker must be that
// file, byte for byte (a trailing newline aside).
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, extname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';

// From the path, not `new URL('../', import.meta.url)`: vite rewrites that form to an http: URL under jsdom.
const root = `${join(dirname(fileURLToPath(import.meta.url)), '..')}/`;
const readme = readFileSync(`${root}README.md`, 'utf8');

interface RecipeBlock {
	/** Path from the repository root, as the marker names it. */
	file: string;
	/** README line (1-based) of the marker. */
	line: number;
	/** The fence's info string (its language). */
	language: string;
	/** The block's text, without the fences. */
	code: string;
}

const markerPattern = /^<!-- recipe: (\S+) -->$/;

/** Every marker and the fenced block right after it (blank lines between them allowed). */
function recipeBlocks(markdown: string): RecipeBlock[] {
	const lines = markdown.split('\n');
	const blocks: RecipeBlock[] = [];
	for (const [index, line] of lines.entries()) {
		const file = markerPattern.exec(line.trim())?.[1];
		if (file === undefined) {
			continue;
		}

		let start = index + 1;
		while (start < lines.length && lines[start]!.trim() === '') {
			start++;
		}

		// A fence of three or more backticks; the closing one is at least as long.
		const opening = /^(`{3,})([^`]*)$/.exec(lines[start] ?? '');
		if (!opening) {
			throw new Error(`README.md:${index + 1}: the marker for ${file} is not followed by a fenced code block`);
		}

		const closes = (candidate: string) => /^`{3,}\s*$/.test(candidate) && candidate.trim().length >= opening[1]!.length;
		let end = start + 1;
		while (end < lines.length && !closes(lines[end]!)) {
			end++;
		}

		if (end >= lines.length) {
			throw new Error(`README.md:${start + 1}: the code block for ${file} is not closed`);
		}

		blocks.push({file, line: index + 1, language: opening[2]!.trim(), code: lines.slice(start + 1, end).join('\n')});
	}

	return blocks;
}

const blocks = recipeBlocks(readme);
const withoutFinalNewline = (text: string) => text.replace(/\r?\n$/, '');
const languages: Record<string, string> = {'.js': 'js', '.jsx': 'jsx', '.tsx': 'tsx', '.ts': 'ts', '.html': 'html'};

describe('README recipes', () => {
	it('has the OAuth 2.0, cookie, React and script-tag recipes', () => {
		const files = blocks.map(block => block.file);
		expect(files).toContain('examples/recipes/oauth.js');
		expect(files).toContain('examples/recipes/cookie.js');
		expect(files.filter(file => /^examples\/recipes\/react\.[jt]sx$/.test(file))).toHaveLength(1);
		expect(files).toContain('examples/recipes/script-tag.html');
		// One block per file: two copies would drift apart.
		expect(new Set(files).size).toBe(files.length);
	});

	it('shows every file of examples/recipes/', () => {
		const onDisk = readdirSync(`${root}examples/recipes`).map(name => `examples/recipes/${name}`).sort();
		expect(blocks.map(block => block.file).sort()).toEqual(onDisk);
	});

	it.each(blocks.map(block => [block.file, block] as const))('%s: the block is the file, byte for byte', (_file, block) => {
		expect(block.file, `README.md:${block.line}`).toMatch(/^examples\/recipes\/[\w.-]+$/);
		const source = readFileSync(`${root}${block.file}`, 'utf8');
		expect(block.code, `README.md:${block.line}: the block differs from ${block.file}; copy the file into the README`)
			.toBe(withoutFinalNewline(source));
		expect(block.language).toBe(languages[extname(block.file)]);
	});

	it('finds a changed block (the check itself)', () => {
		const [first] = blocks;
		expect(first).toBeDefined();
		const tampered = readme.replace(first!.code, `${first!.code}\n// changed`);
		const found = recipeBlocks(tampered).find(block => block.file === first!.file);
		expect(found?.code).not.toBe(withoutFinalNewline(readFileSync(`${root}${first!.file}`, 'utf8')));
		expect(() => recipeBlocks('<!-- recipe: examples/recipes/x.js -->\ntext\n')).toThrow(/not followed by a fenced code block/);
		expect(() => recipeBlocks('<!-- recipe: examples/recipes/x.js -->\n```js\nopen\n')).toThrow(/not closed/);
	});
});
