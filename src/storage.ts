import type {EndReason} from './errors.js';
import type {DebugLogger} from './options.js';
import {protocolVersion} from './protocol.js';
import {compareStamps, compareToRef, isEndReason, isTabId, parseRecord, parseRef, stampOf, type RecordRef, type SessionRecord, type Stamp} from './record.js';

/**
 * Where a tab keeps the session record. The Web Storage interface, so
 * `localStorage` itself is an adapter. Synchronous on purpose: a tab must know
 * its tokens before its first request, without a round trip.
 */
export interface StorageAdapter {
	getItem(key: string): string | null;
	setItem(key: string, value: string): void;
	removeItem(key: string): void;
	/**
	 * True when every tab of the origin reads the same values (localStorage).
	 * Otherwise a new tab asks the open ones for the tokens.
	 * @default false
	 */
	readonly shared?: boolean;
}

export type StorageOption = 'local' | 'session' | 'memory' | StorageAdapter;

/**
 * The newest record any tab of the origin wrote, without its tokens, kept in
 * localStorage whatever the storage option. A tab whose tokens live in
 * memory may miss a broadcast; before it presents its refresh token it
 * reads the fence, so it never presents one that another tab already spent,
 * nor refreshes a session that a logout ended. `retryAt` carries the failure
 * cooldown of the record's refresh to tabs that missed the message.
 */
export interface Fence extends Stamp {
	ended: EndReason | null;
	retryAt: number | null;
}

export interface RecordStore {
	/** The stored record, or undefined when absent, corrupt (then removed) or no longer trusted. */
	read(): SessionRecord | undefined;
	/** The fence, or undefined where there is none. */
	fence(): Fence | undefined;
	/**
	 * A fence was read or written since this tab last knew of none. With `fence()` now
	 * undefined it is gone: a tab whose write failed removed it, and what it wrote
	 * (a refresh, a logout, a login) is unknown here.
	 */
	readonly fenceSeen: boolean;
	/** Writes the record and the fence unless storage already holds it or a newer one (another tab wrote it). */
	write(record: SessionRecord): void;
	/** The refresh of `ref` failed: no tab refreshes it before `retryAt` (null: the cooldown is over). */
	failed(ref: RecordRef, retryAt: number | null): void;
	/** Every tab reads what this one writes; false after a write failed. */
	readonly shared: boolean;
	readonly kind: 'local' | 'session' | 'memory' | 'custom';
}

export function createMemoryStorage(): StorageAdapter {
	const values = new Map<string, string>();
	return {
		getItem: key => values.get(key) ?? null,
		setItem(key, value) {
			values.set(key, value);
		},
		removeItem(key) {
			values.delete(key);
		},
		shared: false,
	};
}

export function webStorage(name: 'localStorage' | 'sessionStorage'): Storage | undefined {
	try {
		// Reading the property throws where storage is disabled (blocked cookies, some private modes).
		// A write is not probed: a full quota refuses writes yet still lets this tab read what others wrote.
		const storage = (globalThis as Record<string, unknown>)[name] as Storage | undefined;
		storage?.getItem('__tab-session-probe__');
		return storage;
	} catch {
		return undefined;
	}
}

/** A record written by version 1 (generations only) is read as a session of its own that any login replaces. */
const fromVersion1 = (value: unknown): SessionRecord | undefined => {
	const {generation, writer, tokens, ended} = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
	return parseRecord({epoch: 0, session: 'v1', generation, writer, tokens, ended});
};

function parseFence(value: unknown): Fence | undefined {
	const ref = parseRef(value);
	if (!ref) {
		return undefined;
	}

	const {writer, open, ended, retryAt} = value as Record<string, unknown>;
	const validRetry = retryAt === null || (typeof retryAt === 'number' && Number.isFinite(retryAt));
	if (!isTabId(writer) || typeof open !== 'boolean' || !(ended === null || isEndReason(ended)) || !validRetry) {
		return undefined;
	}

	return {...ref, writer, open, ended, retryAt};
}

const fenceOf = (record: SessionRecord): Fence => ({...stampOf(record), ended: record.ended, retryAt: null});

function choose(option: StorageOption): {adapter: StorageAdapter; kind: RecordStore['kind']; shared: boolean} {
	if (option === 'local' || option === 'session') {
		const storage = webStorage(option === 'local' ? 'localStorage' : 'sessionStorage');
		// Without Web Storage the session still works across tabs in memory: open tabs hand tokens to new ones.
		return {adapter: storage ?? createMemoryStorage(), kind: storage ? option : 'memory', shared: Boolean(storage) && option === 'local'};
	}

	if (option === 'memory') {
		return {adapter: createMemoryStorage(), kind: 'memory', shared: false};
	}

	return {adapter: option, kind: 'custom', shared: option.shared === true};
}

export function createRecordStore(option: StorageOption, key: string, debug: DebugLogger): RecordStore {
	const {adapter, kind, shared} = choose(option);
	const fenceStorage = webStorage('localStorage');
	const fenceKey = `${key}:fence`;
	let trusted = true;

	const remove = (storage: StorageAdapter, name: string) => {
		try {
			storage.removeItem(name);
		} catch {}
	};

	/** Parses one stored value; a corrupt or foreign one is removed, so the next tab does not trip on it. */
	const load = <T>(storage: StorageAdapter, name: string, parse: (stored: {v?: unknown; [field: string]: unknown}) => T | undefined, onCorrupt?: () => void): T | undefined => {
		let raw: string | null;
		try {
			raw = storage.getItem(name);
		} catch {
			return undefined;
		}

		if (raw === null) {
			return undefined;
		}

		let value: T | undefined;
		try {
			const parsed = JSON.parse(raw) as unknown;
			value = typeof parsed === 'object' && parsed !== null ? parse(parsed as {v?: unknown}) : undefined;
		} catch {}

		if (value === undefined) {
			remove(storage, name);
			onCorrupt?.();
		}

		return value;
	};

	const readRecord = () => load(adapter, key, stored =>
		stored.v === protocolVersion ? parseRecord(stored['record']) : (stored.v === 1 ? fromVersion1(stored['record']) : undefined));
	/** A fence was there since this tab last knew of none; a foreign value does not count. */
	let seenFence = false;
	const readFence = () => {
		if (!fenceStorage) {
			return undefined;
		}

		const fence = load(fenceStorage, fenceKey, stored => stored.v === protocolVersion ? parseFence(stored['fence']) : undefined, () => {
			seenFence = false;
		});
		seenFence ||= fence !== undefined;
		return fence;
	};

	/** From the first failed write on, this tab's stored record is gone and its reads no longer count. */
	const distrust = (error: unknown) => {
		remove(adapter, key);
		if (trusted) {
			trusted = false;
			debug('storage write failed: the stored tokens were removed; tabs share them over the channel from now on',
				{storage: kind, error: typeof (error as {name?: unknown})?.name === 'string' ? (error as {name: string}).name : typeof error});
		}
	};

	/** A failed write (quota, storage disabled meanwhile) must not leave an older record behind: a logout is never lost. */
	const save = (storage: StorageAdapter, name: string, value: unknown): boolean => {
		try {
			storage.setItem(name, JSON.stringify({v: protocolVersion, ...value as object}));
			return true;
		} catch (error) {
			remove(storage, name);
			if (storage === adapter) {
				distrust(error);
			}

			return false;
		}
	};

	// The old fence is removed when a write fails; the new one, the same size, usually fits in its
	// place (and in that of the tokens removed just before): one more try.
	const writeFence = (fence: Fence) => {
		if (fenceStorage && (save(fenceStorage, fenceKey, {fence}) || save(fenceStorage, fenceKey, {fence}))) {
			seenFence = true;
		}
	};

	return {
		read: () => trusted ? readRecord() : undefined,
		fence: readFence,
		get fenceSeen() {
			return seenFence;
		},
		write(record) {
			if (trusted) {
				const stored = readRecord();
				// Never overwrites a newer record another tab wrote.
				if (!stored || compareStamps(stampOf(record), stampOf(stored)) > 0) {
					save(adapter, key, {record});
				}
			}

			const fence = readFence();
			if (record.epoch > 0 && (!fence || compareStamps(stampOf(record), fence) > 0)) {
				writeFence(fenceOf(record));
			}
		},
		failed(ref, retryAt) {
			const fence = readFence();
			if (fence && compareToRef(fence, ref) === 0 && fence.retryAt !== retryAt) {
				writeFence({...fence, retryAt});
			}
		},
		get shared() {
			return shared && trusted;
		},
		kind,
	};
}
