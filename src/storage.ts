import {isNewer, parseRecord, protocolVersion, type SessionRecord} from './protocol.js';

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

export interface RecordStore {
	/** The stored record, or undefined when absent; a corrupt value is removed. */
	read(): SessionRecord | undefined;
	/** Writes the record unless storage already holds it or a newer one (another tab wrote it). */
	write(record: SessionRecord): void;
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

function webStorage(name: 'localStorage' | 'sessionStorage'): Storage | undefined {
	try {
		// Reading the property throws where storage is disabled (blocked cookies, some private modes).
		const storage = (globalThis as Record<string, unknown>)[name] as Storage | undefined;
		const probe = '__tab-session-probe__';
		storage?.setItem(probe, probe);
		storage?.removeItem(probe);
		return storage;
	} catch {
		return undefined;
	}
}

export function createRecordStore(option: StorageOption, key: string): RecordStore {
	let adapter: StorageAdapter;
	let kind: RecordStore['kind'];
	let shared: boolean;
	if (option === 'local' || option === 'session') {
		const storage = webStorage(option === 'local' ? 'localStorage' : 'sessionStorage');
		// Without Web Storage the session still works across tabs in memory: open tabs hand tokens to new ones.
		adapter = storage ?? createMemoryStorage();
		kind = storage ? option : 'memory';
		shared = Boolean(storage) && option === 'local';
	} else if (option === 'memory') {
		adapter = createMemoryStorage();
		kind = 'memory';
		shared = false;
	} else {
		adapter = option;
		kind = 'custom';
		shared = option.shared === true;
	}

	const readRaw = (): SessionRecord | undefined => {
		let raw: string | null;
		try {
			raw = adapter.getItem(key);
		} catch {
			return undefined;
		}

		if (raw === null) {
			return undefined;
		}

		let record: SessionRecord | undefined;
		try {
			const parsed = JSON.parse(raw) as unknown;
			if (typeof parsed === 'object' && parsed !== null && (parsed as {v?: unknown}).v === protocolVersion) {
				record = parseRecord((parsed as {record?: unknown}).record);
			}
		} catch {}

		if (!record) {
			// Corrupt or foreign: clearing it keeps the next tab from tripping on it.
			try {
				adapter.removeItem(key);
			} catch {}
		}

		return record;
	};

	return {
		read: readRaw,
		write(record) {
			const stored = readRaw();
			// Skips what storage already holds, and never overwrites a newer record another tab wrote.
			if (stored && !isNewer(record, stored)) {
				return;
			}

			try {
				adapter.setItem(key, JSON.stringify({v: protocolVersion, record}));
			} catch {
				// Quota or a disabled storage: tabs still share the record over the channel.
			}
		},
		shared,
		kind,
	};
}
