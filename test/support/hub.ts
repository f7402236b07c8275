import type {ChannelMethod} from '../../src/index.js';

interface HubState {
	name: string;
	time: number;
	callback: ((frame: unknown) => void) | null;
	severed: boolean;
}

let lastMicroseconds = 0;
const microSeconds = () => {
	lastMicroseconds = Math.max(Date.now() * 1000, lastMicroseconds + 1);
	return lastMicroseconds;
};

/**
 * An in-process channel method: every session created with
 * `hub.method` talks to the others through it. Delivery goes through
 * `setTimeout`, so fake timers control it, and each frame is structured-cloned
 * as a real channel would. A severed state neither sends nor receives: a crashed tab.
 */
export function createHub(options: {delay?: number} = {}) {
	const delay = options.delay ?? 1;
	const states = new Set<HubState>();
	const created: HubState[] = [];
	let delivered = 0;
	let inFlight = 0;

	const deliver = (from: HubState | undefined, name: string, frame: unknown) => {
		for (const target of states) {
			if (target !== from && target.name === name && !target.severed && target.callback) {
				delivered++;
				target.callback(structuredClone(frame));
			}
		}
	};

	const method: ChannelMethod<HubState> = {
		create(name) {
			const state: HubState = {name, time: microSeconds(), callback: null, severed: false};
			states.add(state);
			created.push(state);
			return state;
		},
		close(state) {
			states.delete(state);
		},
		onMessage(state, callback) {
			state.callback = callback;
		},
		async postMessage(state, frame) {
			if (state.severed) {
				return;
			}

			const copy = structuredClone(frame);
			inFlight++;
			await new Promise<void>(resolve => {
				setTimeout(() => {
					inFlight--;
					deliver(state, state.name, copy);
					resolve();
				}, delay);
			});
		},
	};

	return {
		method,
		/** Channel states created so far, in order; a session creates one (more after an election reset). */
		created,
		/** Posts a raw frame, as another same-origin script could. */
		inject(name: string, frame: unknown) {
			setTimeout(() => {
				deliver(undefined, name, frame);
			}, delay);
		},
		/** Cuts these states off the hub: they neither send nor receive (a crashed or frozen tab). */
		sever(states: readonly object[]) {
			for (const state of states as HubState[]) {
				state.severed = true;
			}
		},
		get open() {
			return states.size;
		},
		get delivered() {
			return delivered;
		},
		/** Frames posted and not yet delivered. */
		get inFlight() {
			return inFlight;
		},
	};
}

export type Hub = ReturnType<typeof createHub>;
