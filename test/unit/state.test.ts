// @vitest-environment node
import {afterEach, describe, expect, it, vi} from 'vitest';
import {RefreshFailedError} from '../../src/errors.js';
import {createStateStore, type SessionState} from '../../src/state.js';

const initial: SessionState = {
	status: 'unauthenticated',
	role: 'follower',
	expiresAt: null,
	generation: 0,
	endReason: null,
	lastError: null,
	closed: false,
};

afterEach(() => {
	vi.restoreAllMocks();
});

describe('createStateStore', () => {
	it('starts with a frozen copy of the initial state', () => {
		const input = {...initial};
		const store = createStateStore(input);
		expect(store.get()).toEqual(initial);
		expect(store.get()).not.toBe(input);
		expect(Object.isFrozen(store.get())).toBe(true);
		input.generation = 99;
		expect(store.get().generation).toBe(0);
	});

	it('returns the same object until a field changes', () => {
		const store = createStateStore(initial);
		const first = store.get();
		expect(store.get()).toBe(first);
		store.update({...initial});
		expect(store.get()).toBe(first);
		store.update({...initial, role: 'leader'});
		const second = store.get();
		expect(second).not.toBe(first);
		expect(second.role).toBe('leader');
		expect(Object.isFrozen(second)).toBe(true);
		expect(store.get()).toBe(second);
	});

	it('sees every field as a change', () => {
		const changes: Array<Partial<SessionState>> = [
			{status: 'authenticated'},
			{role: 'leader'},
			{expiresAt: 123},
			{generation: 1},
			{endReason: 'logout'},
			{lastError: new RefreshFailedError('x', 500)},
			{closed: true},
		];
		for (const change of changes) {
			const store = createStateStore(initial);
			const before = store.get();
			store.update({...initial, ...change});
			expect(store.get()).not.toBe(before);
		}
	});

	it('compares errors by identity', () => {
		const error = new RefreshFailedError('down', 503);
		const store = createStateStore({...initial, lastError: error});
		const before = store.get();
		store.update({...initial, lastError: error});
		expect(store.get()).toBe(before);
		store.update({...initial, lastError: new RefreshFailedError('down', 503)});
		expect(store.get()).not.toBe(before);
	});

	it('notifies subscribers once per change with the new state, and not for no-op updates', () => {
		const store = createStateStore(initial);
		const listener = vi.fn();
		store.subscribe(listener);
		store.update({...initial});
		expect(listener).not.toHaveBeenCalled();
		store.update({...initial, status: 'authenticated', generation: 1});
		expect(listener).toHaveBeenCalledTimes(1);
		expect(listener).toHaveBeenCalledWith(store.get());
		expect(listener.mock.calls[0]![0]).toBe(store.get());
	});

	it('stops notifying after unsubscribe, and unsubscribing twice is harmless', () => {
		const store = createStateStore(initial);
		const kept = vi.fn();
		const dropped = vi.fn();
		store.subscribe(kept);
		const unsubscribe = store.subscribe(dropped);
		unsubscribe();
		unsubscribe();
		store.update({...initial, generation: 1});
		expect(dropped).not.toHaveBeenCalled();
		expect(kept).toHaveBeenCalledTimes(1);
	});

	it('drops every listener on clear', () => {
		const store = createStateStore(initial);
		const listener = vi.fn();
		store.subscribe(listener);
		store.clear();
		store.update({...initial, generation: 1});
		expect(listener).not.toHaveBeenCalled();
	});

	it('rejects a non-function listener', () => {
		const store = createStateStore(initial);
		expect(() => store.subscribe('nope' as never)).toThrow(TypeError);
	});

	it('lets a listener unsubscribe another during notification without skipping the current round', () => {
		const store = createStateStore(initial);
		const second = vi.fn();
		let unsubscribeSecond = () => {};
		store.subscribe(() => {
			unsubscribeSecond();
		});
		unsubscribeSecond = store.subscribe(second);
		store.update({...initial, generation: 1});
		// The round had a snapshot of the listeners; the next round does not include it.
		expect(second).toHaveBeenCalledTimes(1);
		store.update({...initial, generation: 2});
		expect(second).toHaveBeenCalledTimes(1);
	});

	it('keeps notifying other listeners when one throws, and rethrows the error in a microtask', () => {
		const scheduled: Array<() => void> = [];
		vi.spyOn(globalThis, 'queueMicrotask').mockImplementation(callback => {
			scheduled.push(callback);
		});
		const store = createStateStore(initial);
		const error = new Error('listener broke');
		const before = vi.fn();
		const after = vi.fn();
		store.subscribe(before);
		store.subscribe(() => {
			throw error;
		});
		store.subscribe(after);
		expect(() => {
			store.update({...initial, generation: 1});
		}).not.toThrow();
		expect(before).toHaveBeenCalledTimes(1);
		expect(after).toHaveBeenCalledTimes(1);
		expect(store.get().generation).toBe(1);
		expect(scheduled).toHaveLength(1);
		expect(() => {
			scheduled[0]!();
		}).toThrow(error);
	});
});
