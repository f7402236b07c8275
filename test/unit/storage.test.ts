import {afterEach, describe, expect, it, vi} from 'vitest';
import type {SessionRecord} from '../../src/protocol.js';
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
		window.sessionStorage.removeItem(key);
	}
});

const tokens = {accessToken: 'at', refreshToken: 'rt', expiresAt: 2_000_000, issuedAt: 1_000_000};
const record = (generation: number, writer = 'tab-a'): SessionRecord => ({generation, writer, tokens, ended: null});
const ended = (generation: number): SessionRecord => ({generation, writer: 'tab-a', tokens: null, ended: 'logout'});

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
		const store = createRecordStore('local', key);
		expect(store.kind).toBe('local');
		expect(store.shared).toBe(true);
		expect(store.read()).toBeUndefined();
		store.write(record(1));
		expect(JSON.parse(window.localStorage.getItem(key)!)).toEqual({v: 1, record: record(1)});
		expect(window.sessionStorage.getItem(key)).toBeNull();
		// Another tab's store on the same key sees it.
		expect(createRecordStore('local', key).read()).toEqual(record(1));
	});

	it("'session' writes to window.sessionStorage and is not shared", () => {
		const key = uniqueKey();
		const store = createRecordStore('session', key);
		expect(store.kind).toBe('session');
		expect(store.shared).toBe(false);
		store.write(record(2));
		expect(JSON.parse(window.sessionStorage.getItem(key)!)).toEqual({v: 1, record: record(2)});
		expect(window.localStorage.getItem(key)).toBeNull();
		expect(store.read()).toEqual(record(2));
	});

	it("'memory' keeps the record per store, touching no Web Storage", () => {
		const key = uniqueKey();
		const store = createRecordStore('memory', key);
		expect(store.kind).toBe('memory');
		expect(store.shared).toBe(false);
		store.write(record(3));
		expect(store.read()).toEqual(record(3));
		expect(window.localStorage.getItem(key)).toBeNull();
		expect(window.sessionStorage.getItem(key)).toBeNull();
		expect(createRecordStore('memory', key).read()).toBeUndefined();
	});

	it('uses a custom adapter and honours its shared flag', () => {
		const key = uniqueKey();
		const adapter = spyAdapter(true);
		const store = createRecordStore(adapter, key);
		expect(store.kind).toBe('custom');
		expect(store.shared).toBe(true);
		store.write(record(4));
		expect(adapter.setItem).toHaveBeenCalledWith(key, JSON.stringify({v: 1, record: record(4)}));
		expect(store.read()).toEqual(record(4));
		expect(adapter.getItem).toHaveBeenCalledWith(key);
	});

	it('treats a custom adapter as not shared unless shared is exactly true', () => {
		expect(createRecordStore(spyAdapter(), uniqueKey()).shared).toBe(false);
		expect(createRecordStore(spyAdapter(false), uniqueKey()).shared).toBe(false);
		expect(createRecordStore({...spyAdapter(), shared: 1 as unknown as boolean}, uniqueKey()).shared).toBe(false);
	});

	it("falls back to memory when localStorage refuses writes (private mode, quota)", () => {
		vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
			throw new DOMException('denied', 'SecurityError');
		});
		const key = uniqueKey();
		const store = createRecordStore('local', key);
		expect(store.kind).toBe('memory');
		expect(store.shared).toBe(false);
		store.write(record(1));
		expect(store.read()).toEqual(record(1));
		vi.restoreAllMocks();
		expect(window.localStorage.getItem(key)).toBeNull();
	});

	it('leaves no probe key behind in localStorage', () => {
		const before = window.localStorage.length;
		createRecordStore('local', uniqueKey());
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
		['a wrong version', JSON.stringify({v: 2, record: record(1)})],
		['no version', JSON.stringify({record: record(1)})],
		['a record without generation', JSON.stringify({v: 1, record: {...record(1), generation: undefined}})],
		['a record with a negative generation', JSON.stringify({v: 1, record: record(-1)})],
		['a record with malformed tokens', JSON.stringify({v: 1, record: {...record(1), tokens: {accessToken: ''}}})],
		['a record with tokens and ended', JSON.stringify({v: 1, record: {...record(1), ended: 'logout'}})],
		['no record', JSON.stringify({v: 1})],
	];
	for (const [label, raw] of corrupt) {
		it(`removes ${label} and reads undefined`, () => {
			const key = uniqueKey();
			window.localStorage.setItem(key, raw);
			const store = createRecordStore('local', key);
			expect(store.read()).toBeUndefined();
			expect(window.localStorage.getItem(key)).toBeNull();
		});
	}

	it('does not remove a valid record when reading', () => {
		const key = uniqueKey();
		window.localStorage.setItem(key, JSON.stringify({v: 1, record: ended(7)}));
		expect(createRecordStore('local', key).read()).toEqual(ended(7));
		expect(window.localStorage.getItem(key)).not.toBeNull();
	});

	it('replaces a corrupt value on write', () => {
		const key = uniqueKey();
		window.localStorage.setItem(key, '][');
		const store = createRecordStore('local', key);
		store.write(record(1));
		expect(store.read()).toEqual(record(1));
	});
});

describe('write ordering', () => {
	it('does not overwrite a newer stored record', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key);
		store.write(record(5));
		store.write(record(3));
		expect(store.read()).toEqual(record(5));
	});

	it('does not overwrite a newer record another tab wrote', () => {
		const key = uniqueKey();
		const mine = createRecordStore('local', key);
		const theirs = createRecordStore('local', key);
		mine.write(record(1));
		theirs.write(record(2, 'tab-b'));
		mine.write(record(1));
		expect(mine.read()).toEqual(record(2, 'tab-b'));
	});

	it('overwrites an older record', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key);
		store.write(record(5));
		store.write(record(6));
		expect(store.read()).toEqual(record(6));
		store.write(ended(7));
		expect(store.read()).toEqual(ended(7));
	});

	it('keeps an ended record over tokens of the same generation, and the larger writer between token records', () => {
		const key = uniqueKey();
		const store = createRecordStore('local', key);
		store.write(ended(5));
		store.write(record(5, 'tab-z'));
		expect(store.read()).toEqual(ended(5));

		const other = createRecordStore('local', uniqueKey());
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
		const store = createRecordStore(adapter, uniqueKey());
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
		const store = createRecordStore(adapter, key);
		expect(store.read()).toBeUndefined();
		expect(adapter.removeItem).toHaveBeenCalledWith(key);
		expect(() => {
			store.write(record(1));
		}).not.toThrow();
	});
});
