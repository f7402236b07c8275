import {afterEach, describe, expect, it, vi} from 'vitest';
import type {SessionRecord} from '../../src/record.js';
import {createMemoryStorage, createRecordStore, type StorageAdapter} from '../../src/storage.js';

let counter = 0;
const usedKeys: string[] = [];
const uniqueKey = () => {
	const key = `tab-session-test:storage:${++counter}:${Math.random().toString(36).slice(2)}`;
	usedKeys.push(key);
	return key;
};

afterEach(() => {
	vi.restoreAllMocks();
	for (const key of usedKeys.splice(0)) {
		window.localStorage.removeItem(key);
		window.localStorage.removeItem(`${key}:fence`);
		window.sessionStorage.removeItem(key);
	}
});

const tokens = {accessToken: 'at', refreshToken: 'rt', expiresAt: 2_000_000, issuedAt: 1_000_000};
const record = (generation: number, writer = 'tab-a'): SessionRecord => ({epoch: 100, session: 's', generation, writer, tokens, ended: null});
const ended = (generation: number): SessionRecord => ({epoch: 100, session: 's', generation, writer: 'tab-a', tokens: null, ended: 'logout'});
const quiet = () => undefined;

function spyAdapter(shared?: boolean): StorageAdapter & {values: Map<string, string>} {
	const values = new Map<string, string>();
	return {
		values,
		getItem: vi.fn((key: string) => values.get(key) ?? null),
		setItem: vi.fn((key: string, value: string) => {
			values.set(key, value);
		}),
		removeItem: vi.fn((key: string) => {
			values.delete(key);
		}),
		...(shared === undefined ? {} : {shared}),
	};
}

describe('createRecordStore kinds', () => {
	it("'local' writes to window.localStorage and is shared", () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key, quiet);
		expect(store.kind).toBe('local');
		expect(store.shared).toBe(true);
		expect(store.read()).toBeUndefined();
		store.write(record(1));
		expect(JSON.parse(window.localStorage.getItem(key)!)).toEqual({v: 2, record: record(1)});
		expect(window.sessionStorage.getItem(key)).toBeNull();
		// Another tab's store on the same key sees it.
		expect(createRecordStore('local', key, quiet).read()).toEqual(record(1));
	});

	it("'session' writes to window.sessionStorage and is not shared", () => {
		const key = uniqueKey();
		const store = createRecordStore('session', key, quiet);
		expect(store.kind).toBe('session');
		expect(store.shared).toBe(false);
		store.write(record(2));
		expect(JSON.parse(window.sessionStorage.getItem(key)!)).toEqual({v: 2, record: record(2)});
		expect(window.localStorage.getItem(key)).toBeNull();
		expect(store.read()).toEqual(record(2));
	});

	it("'memory' keeps the record per store, touching no Web Storage", () => {
		const key = uniqueKey();
		const store = createRecordStore('memory', key, quiet);
		expect(store.kind).toBe('memory');
		expect(store.shared).toBe(false);
		store.write(record(3));
		expect(store.read()).toEqual(record(3));
		expect(window.localStorage.getItem(key)).toBeNull();
		expect(window.sessionStorage.getItem(key)).toBeNull();
		expect(createRecordStore('memory', key, quiet).read()).toBeUndefined();
	});

	it('uses a custom adapter and honours its shared flag', () => {
		const key = uniqueKey();
		const adapter = spyAdapter(true);
		const store = createRecordStore(adapter, key, quiet);
		expect(store.kind).toBe('custom');
		expect(store.shared).toBe(true);
		store.write(record(4));
		expect(adapter.setItem).toHaveBeenCalledWith(key, JSON.stringify({v: 2, record: record(4)}));
		expect(store.read()).toEqual(record(4));
		expect(adapter.getItem).toHaveBeenCalledWith(key);
	});

	it('treats a custom adapter as not shared unless shared is exactly true', () => {
		expect(createRecordStore(spyAdapter(), uniqueKey(), quiet).shared).toBe(false);
		expect(createRecordStore(spyAdapter(false), uniqueKey(), quiet).shared).toBe(false);
		expect(createRecordStore({...spyAdapter(), shared: 1 as unknown as boolean}, uniqueKey(), quiet).shared).toBe(false);
	});

	it('still reads localStorage when it refuses writes (private mode, full quota), and stops trusting it at the first failed write', () => {
		const key = uniqueKey();
		const other = createRecordStore('local', key, quiet);
		other.write(record(1));
		vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
			throw new DOMException('denied', 'QuotaExceededError');
		});
		const store = createRecordStore('local', key, quiet);
		// What another tab wrote before the quota filled up is read, the fence with it.
		expect(store.kind).toBe('local');
		expect(store.read()).toEqual(record(1));
		expect(store.fence()).toMatchObject({generation: 1});
		store.write(record(2));
		expect(store.shared).toBe(false);
		expect(store.read()).toBeUndefined();
		vi.restoreAllMocks();
		expect(window.localStorage.getItem(key)).toBeNull();
	});

	it('leaves no probe key behind in localStorage', () => {
		const before = window.localStorage.length;
		createRecordStore('local', uniqueKey(), quiet);
		expect(window.localStorage.length).toBe(before);
	});
});

describe('createMemoryStorage', () => {
	it('implements getItem/setItem/removeItem and is not shared', () => {
		const storage = createMemoryStorage();
		expect(storage.shared).toBe(false);
		expect(storage.getItem('k')).toBeNull();
		storage.setItem('k', 'v');
		expect(storage.getItem('k')).toBe('v');
		storage.removeItem('k');
		expect(storage.getItem('k')).toBeNull();
	});
});

describe('corrupt stored values', () => {
	const corrupt: Array<[string, string]> = [
		['invalid JSON', '{not json'],
		['JSON null', 'null'],
		['a JSON string', '"hello"'],
		['a wrong version', JSON.stringify({v: 3, record: record(1)})],
		['no version', JSON.stringify({record: record(1)})],
		['a record without generation', JSON.stringify({v: 2, record: {...record(1), generation: undefined}})],
		['a record with a negative generation', JSON.stringify({v: 2, record: record(-1)})],
		['a record with malformed tokens', JSON.stringify({v: 2, record: {...record(1), tokens: {accessToken: ''}}})],
		['a record with tokens and ended', JSON.stringify({v: 2, record: {...record(1), ended: 'logout'}})],
		['no record', JSON.stringify({v: 2})],
		['a version 1 record that does not parse', JSON.stringify({v: 1, record: {generation: -1}})],
	];
	for (const [label, raw] of corrupt) {
		it(`removes ${label} and reads undefined`, () => {
			const key = uniqueKey();
			window.localStorage.setItem(key, raw);
			const store = createRecordStore('local', key, quiet);
			expect(store.read()).toBeUndefined();
			expect(window.localStorage.getItem(key)).toBeNull();
		});
	}

	it('does not remove a valid record when reading', () => {
		const key = uniqueKey();
		window.localStorage.setItem(key, JSON.stringify({v: 2, record: ended(7)}));
		expect(createRecordStore('local', key, quiet).read()).toEqual(ended(7));
		expect(window.localStorage.getItem(key)).not.toBeNull();
	});

	it('replaces a corrupt value on write', () => {
		const key = uniqueKey();
		window.localStorage.setItem(key, '][');
		const store = createRecordStore('local', key, quiet);
		store.write(record(1));
		expect(store.read()).toEqual(record(1));
	});
});

describe('write ordering', () => {
	it('does not overwrite a newer stored record', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key, quiet);
		store.write(record(5));
		store.write(record(3));
		expect(store.read()).toEqual(record(5));
	});

	it('does not overwrite a newer record another tab wrote', () => {
		const key = uniqueKey();
		const mine = createRecordStore('local', key, quiet);
		const theirs = createRecordStore('local', key, quiet);
		mine.write(record(1));
		theirs.write(record(2, 'tab-b'));
		mine.write(record(1));
		expect(mine.read()).toEqual(record(2, 'tab-b'));
	});

	it('overwrites an older record', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key, quiet);
		store.write(record(5));
		store.write(record(6));
		expect(store.read()).toEqual(record(6));
		store.write(ended(7));
		expect(store.read()).toEqual(ended(7));
	});

	it('keeps an ended record over tokens of the same generation, and the larger writer between token records', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key, quiet);
		store.write(ended(5));
		store.write(record(5, 'tab-z'));
		expect(store.read()).toEqual(ended(5));

		const other = createRecordStore('local', uniqueKey(), quiet);
		other.write(record(5, 'tab-b'));
		other.write(record(5, 'tab-a'));
		expect(other.read()).toEqual(record(5, 'tab-b'));
		other.write(record(5, 'tab-c'));
		expect(other.read()).toEqual(record(5, 'tab-c'));
	});
});

describe('a throwing adapter', () => {
	const throwing = (): StorageAdapter => ({
		getItem: vi.fn(() => {
			throw new Error('getItem broke');
		}),
		setItem: vi.fn(() => {
			throw new Error('quota');
		}),
		removeItem: vi.fn(() => {
			throw new Error('removeItem broke');
		}),
	});

	it('does not throw out of read or write', () => {
		const adapter = throwing();
		const store = createRecordStore(adapter, uniqueKey(), quiet);
		expect(store.read()).toBeUndefined();
		expect(() => {
			store.write(record(1));
		}).not.toThrow();
		expect(adapter.setItem).toHaveBeenCalled();
	});

	it('does not throw when removing a corrupt value fails', () => {
		const key = uniqueKey();
		const adapter: StorageAdapter = {
			getItem: () => 'corrupt{',
			setItem() {
				throw new Error('quota');
			},
			removeItem: vi.fn(() => {
				throw new Error('removeItem broke');
			}),
		};
		const store = createRecordStore(adapter, key, quiet);
		expect(store.read()).toBeUndefined();
		expect(adapter.removeItem).toHaveBeenCalledWith(key);
		expect(() => {
			store.write(record(1));
		}).not.toThrow();
	});
});

describe('version 1 records', () => {
	it('are read as a session of their own, which any login replaces', () => {
		const key = uniqueKey();
		window.localStorage.setItem(key, JSON.stringify({v: 1, record: {generation: 4, writer: 'tab-old', tokens, ended: null}}));
		expect(createRecordStore('local', key, quiet).read()).toEqual({epoch: 0, session: 'v1', generation: 4, writer: 'tab-old', tokens, ended: null});
		window.localStorage.setItem(key, JSON.stringify({v: 1, record: {generation: 5, writer: 'tab-old', tokens: null, ended: 'logout'}}));
		expect(createRecordStore('local', key, quiet).read()).toMatchObject({epoch: 0, tokens: null, ended: 'logout'});
	});
});

describe('the fence', () => {
	it('keeps the newest record without its tokens in localStorage, whatever the storage option', () => {
		for (const option of ['memory', 'session', 'local'] as const) {
			const key = uniqueKey();
			const store = createRecordStore(option, key, quiet);
			store.write(record(2));
			const raw = window.localStorage.getItem(`${key}:fence`)!;
			expect(raw).not.toContain('"at"');
			expect(raw).not.toContain('"rt"');
			expect(JSON.parse(raw)).toEqual({v: 2, fence: {epoch: 100, session: 's', generation: 2, writer: 'tab-a', open: true, ended: null, retryAt: null}});
			// Another tab's store reads it, tokens or not.
			expect(createRecordStore('memory', key, quiet).fence()).toMatchObject({generation: 2, open: true});
			store.write(ended(3));
			expect(store.fence()).toMatchObject({generation: 3, open: false, ended: 'logout'});
			// Never moved back.
			store.write(record(9));
			expect(store.fence()).toMatchObject({generation: 3, open: false});
		}
	});

	it('records a failure cooldown for the record it names, and only that one', () => {
		const key = uniqueKey();
		const store = createRecordStore('memory', key, quiet);
		store.write(record(2));
		store.failed({epoch: 100, session: 's', generation: 1}, 5000);
		expect(store.fence()?.retryAt).toBeNull();
		store.failed({epoch: 100, session: 's', generation: 2}, 5000);
		expect(store.fence()?.retryAt).toBe(5000);
		store.failed({epoch: 100, session: 's', generation: 2}, null);
		expect(store.fence()?.retryAt).toBeNull();
	});

	it('writes nothing for the empty record, and reads a corrupt fence as none (and removes it)', () => {
		const key = uniqueKey();
		const store = createRecordStore('memory', key, quiet);
		store.write({epoch: 0, session: '', generation: 0, writer: 'w', tokens: null, ended: null});
		expect(window.localStorage.getItem(`${key}:fence`)).toBeNull();
		window.localStorage.setItem(`${key}:fence`, JSON.stringify({v: 2, fence: {epoch: 1, session: 's', generation: 1, writer: 'w', open: 'yes'}}));
		expect(store.fence()).toBeUndefined();
		expect(window.localStorage.getItem(`${key}:fence`)).toBeNull();
	});
});

describe('a write that fails', () => {
	it('removes the stored record, so a logout is never lost to a full storage, stops trusting reads, and says so once', () => {
		const key = uniqueKey();
		const debug = vi.fn();
		const store = createRecordStore('local', key, debug);
		store.write(record(1));
		expect(store.read()).toEqual(record(1));
		const setItem = vi.spyOn(Storage.prototype, 'setItem').mockImplementation(function (this: Storage, name: string) {
			if (name === key) {
				throw new DOMException('full', 'QuotaExceededError');
			}
		});
		store.write(ended(2));
		store.write(ended(3));
		setItem.mockRestore();
		// The tokens a logout could not overwrite are gone, not left for the next tab or a restart.
		expect(window.localStorage.getItem(key)).toBeNull();
		expect(store.read()).toBeUndefined();
		expect(store.shared).toBe(false);
		expect(debug).toHaveBeenCalledTimes(1);
		expect(debug.mock.calls[0]![0]).toMatch(/storage write failed/);
		expect(debug.mock.calls[0]![1]).toEqual({storage: 'local', error: 'QuotaExceededError'});
		// Writes that work again do not bring the trust back within this tab.
		store.write(ended(4));
		expect(store.read()).toBeUndefined();
	});
});
