/**
 * What happens to the page, as the session needs to know it. `persisted`
 * tells a back/forward-cache entry (`pagehide`) or restore (`pageshow`) from
 * an unload or a first load.
 */
export type LifecycleEvent =
	| {type: 'visible' | 'hidden' | 'focus' | 'online' | 'offline' | 'freeze' | 'resume'}
	| {type: 'pageshow' | 'pagehide'; persisted: boolean};

/**
 * Subscribes to the page's lifecycle and returns the unsubscribe function,
 * the way TanStack Query's focus and online managers take an event-listener
 * setter. Tests drive a session through one of their own.
 */
export type LifecyclePort = (listener: (event: LifecycleEvent) => void) => () => void;

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

const isTarget = (value: unknown): value is Target =>
	typeof value === 'object' && value !== null && typeof (value as Target).addEventListener === 'function';

/**
 * The browser's events: `visibilitychange`, `freeze` and `resume` on the
 * document; `focus`, `online`, `offline`, `pageshow` and `pagehide` on the
 * window. No `unload` or `beforeunload`: either keeps a page out of the
 * back/forward cache.
 */
export const browserLifecycle: LifecyclePort = listener => {
	const {document, window} = globalThis as {document?: Document; window?: Window};
	const removers: Array<() => void> = [];
	const on = (target: unknown, type: string, handler: (event: Event) => void) => {
		if (isTarget(target)) {
			target.addEventListener(type, handler);
			removers.push(() => {
				target.removeEventListener(type, handler);
			});
		}
	};

	on(document, 'visibilitychange', () => {
		listener({type: document?.visibilityState === 'hidden' ? 'hidden' : 'visible'});
	});
	for (const type of ['freeze', 'resume'] as const) {
		on(document, type, () => {
			listener({type});
		});
	}

	for (const type of ['focus', 'online', 'offline'] as const) {
		on(window, type, () => {
			listener({type});
		});
	}

	for (const type of ['pageshow', 'pagehide'] as const) {
		on(window, type, event => {
			listener({type, persisted: (event as PageTransitionEvent).persisted === true});
		});
	}

	return () => {
		for (const remove of removers.splice(0)) {
			remove();
		}
	};
};
