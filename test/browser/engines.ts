// One way to drive windows of one browser profile in Chromium (playwright-core),
// Firefox (puppeteer-core over WebDriver BiDi) and WebKit (selenium-webdriver
// with WebKitWebDriver and WebKitGTK's MiniBrowser under Xvfb). A test opens
// windows, evaluates functions in them and closes them; what only one engine
// can do (CDP, interception) stays in the Chromium suites.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {chromiumPath, launchChromium} from './harness.js';

export type EngineName = 'chromium' | 'firefox' | 'webkit';

export interface EngineWindow {
	/** Runs `fn(arg)` in the window's page and resolves with its (JSON) result; `fn` may be async. */
	evaluate<T, A = undefined>(fn: (arg: A) => T | Promise<T>, arg?: A): Promise<T>;
	goto(url: string): Promise<void>;
	/** History back, as the browser's back button (a page may come back from the back/forward cache). */
	back(): Promise<void>;
	close(): Promise<void>;
}

/** Windows that share storage, BroadcastChannel and Web Locks (one profile). */
export interface Profile {
	/** A new window; with `{tab: true}` a tab of the last window instead (it hides the tab before it, where tabs can hide). */
	open(url: string, options?: {tab?: boolean}): Promise<EngineWindow>;
	close(): Promise<void>;
}

export interface Engine {
	readonly name: EngineName;
	readonly version: string;
	profile(): Promise<Profile>;
	close(): Promise<void>;
}

const firefoxPath = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';
const webkitDriverPath = process.env['WEBKIT_DRIVER_PATH'] ?? '/usr/bin/WebKitWebDriver';
const miniBrowserPath = process.env['MINIBROWSER_PATH'] ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const xvfbPath = '/usr/bin/Xvfb';

const requirements: Record<EngineName, {files: string[]; install: string}> = {
	chromium: {files: [chromiumPath], install: 'apt-get install -y chromium'},
	firefox: {files: [firefoxPath], install: 'apt-get install -y firefox-esr'},
	webkit: {files: [webkitDriverPath, miniBrowserPath, xvfbPath], install: 'apt-get install -y webkit2gtk-driver xvfb xauth'},
};

/**
 * Whether `name` can run here. A missing engine fails with `CI=true` and is
 * skipped loudly elsewhere, with the command that installs it.
 */
export function engineAvailable(name: EngineName): boolean {
	const {files, install} = requirements[name];
	const missing = files.filter(file => !existsSync(file));
	if (missing.length === 0) {
		return true;
	}

	const message = `${name}: ${missing.join(', ')} not found; install it with ${install}`;
	if (process.env['CI'] === 'true') {
		throw new Error(message);
	}

	console.warn(`\n⚠ SKIPPING the ${name} tests: ${message}.\n`);
	return false;
}

/** A function and its argument as a script body every driver can run: `(fn)(arg)`. */
const callSource = (fn: (...args: never[]) => unknown): string => `(${fn.toString()})`;

/** The methods playwright-core's and puppeteer-core's pages share, by the same names. */
interface DriverPage {
	evaluate(fn: never, arg: unknown): Promise<unknown>;
	goto(url: string): Promise<unknown>;
	goBack(): Promise<unknown>;
	close(options: {runBeforeUnload: boolean}): Promise<void>;
}

/** A window over a playwright-core or puppeteer-core page: both evaluate a function with one argument. */
const pageWindow = (page: DriverPage): EngineWindow => ({
	evaluate: async (fn, arg) => page.evaluate(fn as never, arg) as never,
	async goto(next) {
		await page.goto(next);
	},
	async back() {
		await page.goBack();
	},
	async close() {
		await page.close({runBeforeUnload: false});
	},
});

/** A profile over a playwright-core or puppeteer-core browser context; `newPage(tab)` opens a window, or a tab. */
const contextProfile = (context: {close(): Promise<void>}, newPage: (tab: boolean) => Promise<DriverPage>): Profile => ({
	async open(url, options) {
		const page = await newPage(options?.tab === true);
		await page.goto(url);
		return pageWindow(page);
	},
	async close() {
		await context.close();
	},
});

// --- Chromium -------------------------------------------------------------------

async function chromiumEngine(): Promise<Engine> {
	const browser = await launchChromium();
	return {
		name: 'chromium',
		version: browser.version(),
		async profile() {
			const context = await browser.newContext();
			// Headless Chromium has no tab strip: every page is a visible window.
			return contextProfile(context, async () => context.newPage());
		},
		async close() {
			await browser.close();
		},
	};
}

// --- Firefox ----------------------------------------------------------------------

/** `throttled`: Firefox's own timer throttling of background tabs (at least 1 s, and budget-based), as users have it. */
async function firefoxEngine(throttled: boolean): Promise<Engine> {
	const {default: puppeteer} = await import('puppeteer-core');
	const browser = await puppeteer.launch({
		browser: 'firefox',
		executablePath: firefoxPath,
		headless: true,
		extraPrefsFirefox: throttled ? {} : {
			// Windows, not tabs, keep their timers; these make a background one behave the same.
			'dom.min_background_timeout_value': 4,
			'dom.min_background_timeout_value_without_budget_throttling': 4,
			'dom.timeout.enable_budget_timer_throttling': false,
		},
	});
	return {
		name: 'firefox',
		version: await browser.version(),
		async profile() {
			const context = await browser.createBrowserContext();
			return contextProfile(context, async tab => context.newPage({type: tab ? 'tab' : 'window'}));
		},
		async close() {
			await browser.close();
		},
	};
}

// --- WebKit -------------------------------------------------------------------------

/** Starts Xvfb on a free display; resolves once it accepts clients. */
async function startXvfb(): Promise<{display: string; stop(): void}> {
	for (let number = 90 + Math.floor(Math.random() * 100); ; number++) {
		const display = `:${number}`;
		if (existsSync(`/tmp/.X11-unix/X${number}`)) {
			continue;
		}

		const child: ChildProcess = spawn(xvfbPath, [display, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {stdio: 'ignore'});
		// eslint-disable-next-line no-await-in-loop
		const started = await new Promise<boolean>(resolve => {
			const timer = setInterval(() => {
				if (existsSync(`/tmp/.X11-unix/X${number}`)) {
					clearInterval(timer);
					resolve(true);
				}
			}, 50);
			child.once('exit', () => {
				clearInterval(timer);
				resolve(false);
			});
		});
		if (started) {
			return {
				display,
				stop() {
					child.kill();
				},
			};
		}
	}
}

/**
 * One WebDriver session drives every window, and a script runs in the current
 * window only: each call switches first, under one queue. A call starts its
 * function in the page and polls for the outcome, so that a long wait in one
 * window (a burst paused by a refresh) never holds the driver from the others.
 */
async function webkitEngine(): Promise<Engine> {
	const {Builder} = await import('selenium-webdriver');
	const {DriverService} = await import('selenium-webdriver/remote');
	const xvfb = await startXvfb();
	const service = new DriverService.Builder(webkitDriverPath)
		.setLoopback(true)
		// Without accelerated compositing (no GPU under Xvfb): measured, four idle windows took 35 % of
		// the machine's two cores with it and 15 % without, CPU the scenarios' own work then lacked.
		.setEnvironment({WEBKIT_DISABLE_COMPOSITING_MODE: '1', ...process.env, DISPLAY: xvfb.display} as Record<string, string>)
		.build();
	const serverUrl = await service.start();
	const sessions: Array<{quit(): Promise<void>}> = [];
	let version = 'WebKitGTK';
	try {
		version = `WebKitGTK ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libwebkit2gtk-4.1-0'], {encoding: 'utf8'}).trim()}`;
	} catch {}

	return {
		name: 'webkit',
		version,
		async profile() {
			// A MiniBrowser process is one profile: its windows share storage, channels and locks.
			const driver = await new Builder()
				.forBrowser('MiniBrowser')
				.withCapabilities({
					browserName: 'MiniBrowser',
					'webkitgtk:browserOptions': {binary: miniBrowserPath, args: ['--automation']},
				})
				.usingServer(serverUrl)
				.build();
			sessions.push(driver);
			let queue: Promise<unknown> = Promise.resolve();
			const serial = async <T>(work: () => Promise<T>): Promise<T> => {
				const run = queue.then(work, work);
				queue = run.catch(() => undefined);
				return run;
			};

			let jobs = 0;
			let first: string | undefined = await driver.getWindowHandle();
			/** The window WebDriver's commands go to: a call switches only when it is another. */
			let current: string | undefined = first;
			const windows = new Set<string>();
			return {
				async open(url, options) {
					const handle = await serial(async () => {
						let next: string;
						if (first) {
							// The session's own window is the first one.
							next = first;
							first = undefined;
						} else {
							await driver.switchTo().newWindow(options?.tab ? 'tab' : 'window');
							next = await driver.getWindowHandle();
						}

						current = next;

						windows.add(next);
						await driver.get(url);
						return next;
					});
					const inWindow = async <T>(work: () => Promise<T>) => serial(async () => {
						if (current !== handle) {
							await driver.switchTo().window(handle);
							current = handle;
						}

						return work();
					});

					return {
						async evaluate(fn, arg) {
							const id = `job${++jobs}`;
							// A function that returns at once answers in this one command; one that returns a
							// promise leaves a job to poll.
							const started = await inWindow(async () => driver.executeScript(`
								const failed = error => ({done: true, error: String(error && error.stack || error)});
								let result;
								try {
									result = ${callSource(fn)}(arguments[1]);
								} catch (error) {
									return failed(error);
								}

								if (!result || typeof result.then !== 'function') {
									return {done: true, value: JSON.stringify(result ?? null)};
								}

								const jobs = window.__tabSessionJobs ??= {};
								jobs[arguments[0]] = {done: false};
								result.then(
									value => { jobs[arguments[0]] = {done: true, value: JSON.stringify(value ?? null)}; },
									error => { jobs[arguments[0]] = failed(error); },
								);
								return {done: false};
							`, id, arg ?? null)) as {done: boolean; value?: string; error?: string};
							if (started.done) {
								if (started.error !== undefined) {
									throw new Error(`in ${handle}: ${started.error}`);
								}

								return JSON.parse(started.value ?? 'null') as never;
							}

							for (let polls = 0; ; polls++) {
								// eslint-disable-next-line no-await-in-loop
								const job = await inWindow(async () => driver.executeScript(`
									const job = (window.__tabSessionJobs ?? {})[arguments[0]];
									if (job && job.done) { delete window.__tabSessionJobs[arguments[0]]; }
									return job ?? {done: true, error: 'the page navigated away before the call settled'};
								`, id)) as {done: boolean; value?: string; error?: string};
								if (job.done) {
									if (job.error !== undefined) {
										throw new Error(`in ${handle}: ${job.error}`);
									}

									return JSON.parse(job.value ?? 'null') as never;
								}

								// eslint-disable-next-line no-await-in-loop
								await new Promise(resolve => {
									setTimeout(resolve, Math.min(50, 5 + polls));
								});
							}
						},
						async goto(next) {
							await inWindow(async () => driver.get(next));
						},
						async back() {
							await inWindow(async () => driver.navigate().back());
						},
						async close() {
							await inWindow(async () => driver.close());
							current = undefined;
							windows.delete(handle);
						},
					};
				},
				async close() {
					await serial(async () => driver.quit());
				},
			};
		},
		async close() {
			for (const session of sessions.splice(0)) {
				// eslint-disable-next-line no-await-in-loop
				await session.quit().catch(() => undefined);
			}

			await service.kill();
			xvfb.stop();
		},
	};
}

export async function launchEngine(name: EngineName, options: {throttledBackgroundTabs?: boolean} = {}): Promise<Engine> {
	switch (name) {
		case 'chromium': {
			return chromiumEngine();
		}

		case 'firefox': {
			return firefoxEngine(options.throttledBackgroundTabs === true);
		}

		case 'webkit': {
			return webkitEngine();
		}
	}
}
