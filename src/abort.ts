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
