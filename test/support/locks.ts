import type {LockManagerLike} from '../../src/locks.js';

interface Pending {
	callback: (lock: unknown) => unknown;
	resolve(value: unknown): void;
	reject(error: unknown): void;
	signal: AbortSignal | undefined;
}

/**
 * An exclusive-mode Web Locks stand-in shared by the tabs of a test:
 * FIFO grants, `ifAvailable`, `signal`. `held` counts locks held right now.
 */
export function createLockManager() {
	const queues = new Map<string, Pending[]>();
	const held = new Set<string>();
	let maxHeld = 0;

	const grant = (name: string) => {
		const queue = queues.get(name);
		const next = queue?.shift();
		if (!next) {
			return;
		}

		held.add(name);
		maxHeld = Math.max(maxHeld, held.size);
		const release = () => {
			held.delete(name);
			grant(name);
		};

		Promise.resolve()
			.then(() => next.callback({name, mode: 'exclusive'}))
			.then(value => {
				release();
				next.resolve(value);
			}, (error: unknown) => {
				release();
				next.reject(error);
			});
	};

	const manager: LockManagerLike = {
		async request(name, options, callback) {
			if (options.ifAvailable && (held.has(name) || (queues.get(name)?.length ?? 0) > 0)) {
				return callback(null) as never;
			}

			options.signal?.throwIfAborted();
			return new Promise((resolve, reject) => {
				const pending: Pending = {callback, resolve: resolve as (value: unknown) => void, reject, signal: options.signal};
				const queue = queues.get(name) ?? [];
				queues.set(name, queue);
				queue.push(pending);
				options.signal?.addEventListener('abort', () => {
					const index = queue.indexOf(pending);
					if (index !== -1) {
						queue.splice(index, 1);
						reject(options.signal!.reason);
					}
				}, {once: true});
				if (!held.has(name)) {
					grant(name);
				}
			});
		},
	};

	return {
		manager,
		isHeld: (name: string) => held.has(name),
		get maxHeld() {
			return maxHeld;
		},
	};
}
