// @vitest-environment node
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {createTabChannel, type TabChannel} from '../../src/channel.js';
import {systemClock} from '../../src/clock.js';
import {createElection, type Election} from '../../src/election.js';
import {parseMessage} from '../../src/protocol.js';
import {createHub} from '../support/hub.js';
import {createLockManager} from '../support/locks.js';
import {useFakeTime} from '../support/time.js';

let counter = 0;
const opened: TabChannel[] = [];

beforeEach(() => {
	useFakeTime();
});

afterEach(async () => {
	for (const channel of opened.splice(0)) {
		channel.close();
	}

	await vi.advanceTimersByTimeAsync(100);
	vi.useRealTimers();
});

interface Candidate {
	id: string;
	election: Election;
	changes: boolean[];
	channel: TabChannel;
	/** Cuts the tab off the channel both ways, as a crash or a stuck main thread would. */
	sever(): void;
	/** Drops what the tab would hear; it still speaks. */
	deaf: boolean;
}

/** Tabs on one hub; `locks` makes them elect with the Web Locks stand-in. */
function candidates(ids: string[], options: {locks?: ReturnType<typeof createLockManager>} = {}) {
	const hub = createHub();
	const name = `tab-session-test:election:${++counter}`;
	return ids.map((id): Candidate => {
		const first = hub.created.length;
		const channel = createTabChannel({name, tabId: id, method: hub.method});
		opened.push(channel);
		const election = createElection({locks: options.locks?.manager ?? null, lockName: `${name}:leader`, tabId: id, clock: systemClock, post: channel.post});
		const changes: boolean[] = [];
		election.subscribe(leading => changes.push(leading));
		const candidate: Candidate = {id, election, changes, channel, sever: () => hub.sever(hub.created.slice(first, first + 1)), deaf: false};
		channel.listen(data => {
			const message = parseMessage(data);
			if (!candidate.deaf && (message?.kind === 'leader' || message?.kind === 'claim' || message?.kind === 'resign')) {
				election.receive(message);
			}
		});
		return candidate;
	});
}

const leadersOf = (tabs: Candidate[]) => tabs.filter(tab => tab.election.leading).map(tab => tab.id);

describe('the message election (no Web Locks)', () => {
	it('elects exactly one leader among tabs that start together, the highest id, and keeps it', async () => {
		const tabs = candidates(['tab-b', 'tab-c', 'tab-a']);
		for (const tab of tabs) {
			tab.election.start();
		}

		await vi.advanceTimersByTimeAsync(1000);
		expect(leadersOf(tabs)).toEqual(['tab-c']);
		await vi.advanceTimersByTimeAsync(20_000);
		expect(leadersOf(tabs)).toEqual(['tab-c']);
		expect(tabs.flatMap(tab => tab.changes)).toEqual([true]);
	});

	it('a tab that starts later follows the leader it hears, even with a higher id', async () => {
		const [first, later] = candidates(['tab-a', 'tab-z']);
		first!.election.start();
		await vi.advanceTimersByTimeAsync(1000);
		later!.election.start();
		await vi.advanceTimersByTimeAsync(5000);
		expect(first!.election.leading).toBe(true);
		expect(later!.changes).toEqual([]);
	});

	it('a tab that starts claiming just after another tab\'s claim went by still yields to it: never two leaders at once', async () => {
		const [high, low] = candidates(['tab-z', 'tab-a']);
		high!.election.start();
		// The claim is delivered before the second tab listens: it never hears it.
		await vi.advanceTimersByTimeAsync(1);
		low!.election.start();
		let most = 0;
		for (let elapsed = 0; elapsed < 1500; elapsed++) {
			// eslint-disable-next-line no-await-in-loop
			await vi.advanceTimersByTimeAsync(1);
			most = Math.max(most, leadersOf([high!, low!]).length);
		}

		expect(most).toBe(1);
		expect(leadersOf([high!, low!])).toEqual(['tab-z']);
		expect(low!.changes).toEqual([]);
	});

	it('hands leadership over within a claim window when the leader stops (close, freeze, pagehide)', async () => {
		const tabs = candidates(['tab-a', 'tab-b', 'tab-c']);
		for (const tab of tabs) {
			tab.election.start();
		}

		await vi.advanceTimersByTimeAsync(1000);
		const [leader] = tabs.filter(tab => tab.election.leading);
		leader!.election.stop();
		expect(leader!.election.leading).toBe(false);
		expect(leader!.changes).toEqual([true, false]);
		await vi.advanceTimersByTimeAsync(300);
		expect(leadersOf(tabs)).toEqual(['tab-b']);
		// And back in: it follows the new leader.
		leader!.election.start();
		await vi.advanceTimersByTimeAsync(5000);
		expect(leadersOf(tabs)).toEqual(['tab-b']);
	});

	it('replaces a leader that went silent (a crash) within about four seconds', async () => {
		const tabs = candidates(['tab-a', 'tab-b', 'tab-c']);
		for (const tab of tabs) {
			tab.election.start();
		}

		await vi.advanceTimersByTimeAsync(1000);
		tabs[2]!.sever();
		await vi.advanceTimersByTimeAsync(3000);
		expect(leadersOf(tabs.slice(0, 2))).toEqual([]);
		await vi.advanceTimersByTimeAsync(1500);
		expect(leadersOf(tabs.slice(0, 2))).toEqual(['tab-b']);
	});

	it('two leaders that hear each other agree: the one that led first stays, whatever the ids', async () => {
		const [first, second] = candidates(['tab-a', 'tab-z']);
		first!.election.start();
		await vi.advanceTimersByTimeAsync(1000);
		// The second hears nothing: it claims alone and leads too.
		second!.deaf = true;
		second!.election.start();
		await vi.advanceTimersByTimeAsync(2000);
		expect(leadersOf([first!, second!])).toEqual(['tab-a', 'tab-z']);
		second!.deaf = false;
		await vi.advanceTimersByTimeAsync(2000);
		expect(leadersOf([first!, second!])).toEqual(['tab-a']);
		expect(first!.changes).toEqual([true]);
		expect(second!.changes).toEqual([true, false]);
	});

	it('stop() is safe twice and before any start; nothing runs after it', async () => {
		const [tab] = candidates(['tab-a']);
		tab!.election.stop();
		tab!.election.start();
		await vi.advanceTimersByTimeAsync(1000);
		expect(tab!.election.leading).toBe(true);
		tab!.election.stop();
		tab!.election.stop();
		await vi.advanceTimersByTimeAsync(10_000);
		expect(tab!.changes).toEqual([true, false]);
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('the Web Locks election', () => {
	it('elects exactly one leader, hands over the moment it stops, and takes a stopped tab back as a follower', async () => {
		const locks = createLockManager();
		const tabs = candidates(['tab-a', 'tab-b', 'tab-c'], {locks});
		for (const tab of tabs) {
			tab.election.start();
		}

		await vi.advanceTimersByTimeAsync(0);
		expect(leadersOf(tabs)).toEqual(['tab-a']);
		tabs[0]!.election.stop();
		await vi.advanceTimersByTimeAsync(0);
		expect(leadersOf(tabs)).toEqual(['tab-b']);
		tabs[0]!.election.start();
		await vi.advanceTimersByTimeAsync(0);
		expect(leadersOf(tabs)).toEqual(['tab-b']);
		tabs[1]!.election.stop();
		tabs[2]!.election.stop();
		await vi.advanceTimersByTimeAsync(0);
		expect(leadersOf(tabs)).toEqual(['tab-a']);
		expect(locks.maxHeld).toBe(1);
	});

	it('a tab stopped while waiting is never granted leadership later', async () => {
		const locks = createLockManager();
		const [holder, waiter] = candidates(['tab-a', 'tab-b'], {locks});
		holder!.election.start();
		await vi.advanceTimersByTimeAsync(0);
		waiter!.election.start();
		waiter!.election.stop();
		holder!.election.stop();
		await vi.advanceTimersByTimeAsync(0);
		expect(waiter!.changes).toEqual([]);
		expect(locks.isHeld('x')).toBe(false);
	});
});
