import {vi} from 'vitest';
import type {ChannelMethod, Clock} from '../../src/index.js';
import {createLifecycle} from './tab-doubles.js';

/**
 * How a tab's page is doing, as the browser would make it:
 * - `running`: hears and says everything.
 * - `deaf`: messages to it are dropped, not queued (a broken channel); what it posts goes out.
 * - `cached`: in the back/forward cache: messages to it are dropped (Safari), it posts nothing and its timers wait.
 * - `frozen`: Page Lifecycle freeze: messages to it queue, it posts nothing and its timers wait.
 */
export type PageMode = 'running' | 'deaf' | 'cached' | 'frozen';

/** The wall clock of the machine, shared by its tabs: a laptop that wakes jumps it forward. */
export function createMachineClock() {
	let skew = 0;
	return {
		now: () => Date.now() + skew,
		jump(ms: number) {
			skew += ms;
		},
		get skew() {
			return skew;
		},
	};
}

interface Timer {
	cancelled: boolean;
	handle: ReturnType<typeof setTimeout> | undefined;
}

/**
 * One tab's page: its lifecycle port, a clock whose timers wait while the
 * page is cached or frozen, and a channel method that drops, queues or holds
 * messages according to the page's mode. Hand `options` to `initSession`.
 */
export function createPage(method: ChannelMethod, machine: ReturnType<typeof createMachineClock>) {
	const lifecycle = createLifecycle();
	let mode: PageMode = 'running';
	/** Timer callbacks and deliveries that came due while the page could not run. */
	let late: Array<() => void> = [];
	let outbox: Array<() => void> = [];
	let suspendedFor = 0;
	let suspendedAt: number | undefined;

	const runs = () => mode === 'running' || mode === 'deaf';

	const clock: Clock = {
		now: () => machine.now(),
		setTimeout(callback, ms) {
			const timer: Timer = {cancelled: false, handle: undefined};
			timer.handle = setTimeout(() => {
				if (timer.cancelled) {
					return;
				}

				if (runs()) {
					callback();
				} else {
					late.push(() => {
						if (!timer.cancelled) {
							callback();
						}
					});
				}
			}, ms);
			return timer;
		},
		clearTimeout(handle) {
			const timer = handle as Timer | undefined;
			if (timer) {
				timer.cancelled = true;
				clearTimeout(timer.handle);
			}
		},
	};

	const channel: ChannelMethod = {
		create: (name, options) => method.create(name, options),
		close: state => method.close(state),
		onMessage(state, listener) {
			method.onMessage(state, data => {
				if (mode === 'running') {
					listener(data);
				} else if (mode === 'frozen') {
					late.push(() => {
						listener(data);
					});
				}
			});
		},
		postMessage(state, data) {
			if ((mode === 'cached' || mode === 'frozen') && !stopping) {
				outbox.push(() => method.postMessage(state, data));
				return undefined;
			}

			return method.postMessage(state, data);
		},
	};

	/** Set while the event that stops the page is being handled: what its handlers post still goes out. */
	let stopping = false;
	const suspend = (next: 'cached' | 'frozen') => {
		mode = next;
		suspendedAt ??= Date.now();
		stopping = true;
		void Promise.resolve().then(() => undefined).then(() => {
			stopping = false;
		});
	};

	return {
		options: {lifecycle: lifecycle.port, clock, broadcastMethod: channel},
		lifecycle,
		get mode() {
			return mode;
		},
		/** Fake-time ms this page spent cached or frozen, so far. */
		get suspendedFor() {
			return suspendedFor + (suspendedAt === undefined ? 0 : Date.now() - suspendedAt);
		},
		deafen() {
			if (mode === 'running') {
				mode = 'deaf';
			}
		},
		/** Enters the back/forward cache. */
		hide() {
			if (mode === 'running' || mode === 'deaf') {
				lifecycle.fire({type: 'pagehide', persisted: true});
				suspend('cached');
			}
		},
		freeze() {
			if (mode === 'running' || mode === 'deaf') {
				lifecycle.fire({type: 'freeze'});
				suspend('frozen');
			}
		},
		/** Back to running: what waited runs, then the page hears the event that brought it back. */
		wake() {
			const was = mode;
			mode = 'running';
			if (suspendedAt !== undefined) {
				suspendedFor += Date.now() - suspendedAt;
				suspendedAt = undefined;
			}

			const due = [...late, ...outbox];
			late = [];
			outbox = [];
			for (const run of due) {
				run();
			}

			if (was === 'cached') {
				lifecycle.fire({type: 'pageshow', persisted: true});
			} else if (was === 'frozen') {
				lifecycle.fire({type: 'resume'});
			}
		},
	};
}

export type Page = ReturnType<typeof createPage>;

/** Makes every `localStorage` write throw while `full` is set, as a full quota does. */
export function createQuota() {
	let full = false;
	const original = Storage.prototype.setItem;
	const spy = vi.spyOn(Storage.prototype, 'setItem').mockImplementation(function (this: Storage, key: string, value: string) {
		if (full) {
			throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
		}

		original.call(this, key, value);
	});
	return {
		set full(value: boolean) {
			full = value;
		},
		get full() {
			return full;
		},
		restore() {
			full = false;
			spy.mockRestore();
		},
	};
}
