import type {Clock} from './clock.js';
import type {MessageBody} from './protocol.js';

/**
 * Asking the other tabs for the current record (`hello`). A tab that opens
 * without tokens of its own, or may have missed messages (back from the
 * back/forward cache, resumed after a freeze, about to refresh on its own),
 * holds its requests and refreshes until an answer arrives, at most
 * `joinTimeout`: it acts on what the others hold, not on what it last heard.
 */
export function createResync(deps: {clock: Clock; joinTimeout: number; post(body: MessageBody): void}) {
	const {clock, joinTimeout, post} = deps;
	let joined = true;
	let timer: unknown;
	const waiting = new Set<() => void>();
	const listeners = new Set<() => void>();

	const mark = () => {
		if (joined) {
			return;
		}

		joined = true;
		clock.clearTimeout(timer);
		for (const resolve of [...waiting]) {
			resolve();
		}

		for (const listener of listeners) {
			listener();
		}
	};

	return {
		/** No answer is awaited: requests and refreshes go ahead. */
		get joined() {
			return joined;
		},
		/** Says hello; with `hold`, requests and refreshes wait for an answer (at most `joinTimeout`). */
		ask(hold: boolean) {
			post({kind: 'hello'});
			if (hold && joined) {
				joined = false;
				timer = clock.setTimeout(mark, joinTimeout);
			}
		},
		/** An answer, or news, arrived. */
		mark,
		/** Resolves once no answer is awaited. */
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
					waiting.delete(done);
					signal.removeEventListener('abort', onAbort);
					resolve();
				};

				waiting.add(done);
				signal.addEventListener('abort', onAbort, {once: true});
			});
		},
		/** Called each time a wait for answers ends. */
		subscribe(listener: () => void) {
			listeners.add(listener);
		},
	};
}

export type Resync = ReturnType<typeof createResync>;
