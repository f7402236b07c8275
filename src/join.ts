/**
 * A new tab that has no tokens of its own (memory or session storage) gives
 * the open tabs `joinTimeout` to hand theirs over before its first request.
 */
import type {Clock} from './clock.js';

export function createJoin(clock: Clock, joinedAlready: boolean, joinTimeout: number) {
	let joined = joinedAlready;
	const waiting = new Set<() => void>();
	const mark = () => {
		joined = true;
		clock.clearTimeout(timer);
		for (const resolve of waiting) {
			resolve();
		}

		waiting.clear();
	};

	const timer = joined ? undefined : clock.setTimeout(mark, joinTimeout);

	return {
		/** The tab knows the session: from storage, another tab, or the timeout. */
		mark,
		async until(signal: AbortSignal): Promise<void> {
			signal.throwIfAborted();
			if (joined) {
				return;
			}

			await new Promise<void>((resolve, reject) => {
				const onAbort = () => {
					waiting.delete(done);
					reject(signal.reason);
				};

				const done = () => {
					signal.removeEventListener('abort', onAbort);
					resolve();
				};

				waiting.add(done);
				signal.addEventListener('abort', onAbort, {once: true});
			});
		},
	};
}
