import type {Clock} from './clock.js';

/**
 * A signal that aborts when any of `signals` does, and `dispose` to detach
 * it again. Unlike `AbortSignal.any` (missing before Safari 17.4), no
 * listener outlives the operation it guarded: a session that refreshes every
 * minute for days must not collect one per refresh on a long-lived signal.
 */
export function linkSignals(signals: readonly AbortSignal[]): {signal: AbortSignal; dispose(): void} {
	const controller = new AbortController();
	const detach: Array<() => void> = [];
	const dispose = () => {
		for (const remove of detach.splice(0)) {
			remove();
		}
	};

	for (const source of signals) {
		if (source.aborted) {
			dispose();
			controller.abort(source.reason);
			break;
		}

		const onAbort = () => {
			dispose();
			controller.abort(source.reason);
		};

		source.addEventListener('abort', onAbort, {once: true});
		detach.push(() => {
			source.removeEventListener('abort', onAbort);
		});
	}

	return {signal: controller.signal, dispose};
}

/**
 * Runs `operation` with a signal that aborts after `ms` (with `timeoutReason()`) or when
 * `signal` does, and settles by then even if the operation ignores its signal (a `fetch` that
 * does not honour it). Nothing of it outlives the call: no timer, no listener.
 */
export async function bounded<T>(
	clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
	limits: {ms: number; timeoutReason: () => unknown; signal?: AbortSignal | undefined},
	operation: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
	const timeout = new AbortController();
	const timer = clock.setTimeout(() => {
		timeout.abort(limits.timeoutReason());
	}, limits.ms);
	const combined = linkSignals(limits.signal ? [limits.signal, timeout.signal] : [timeout.signal]);
	let onAbort: (() => void) | undefined;
	try {
		return await Promise.race([
			operation(combined.signal),
			new Promise<never>((_resolve, reject) => {
				onAbort = () => {
					reject(combined.signal.reason);
				};

				if (combined.signal.aborted) {
					onAbort();
				} else {
					combined.signal.addEventListener('abort', onAbort, {once: true});
				}
			}),
		]);
	} finally {
		clock.clearTimeout(timer);
		combined.dispose();
		combined.signal.removeEventListener('abort', onAbort!);
	}
}
