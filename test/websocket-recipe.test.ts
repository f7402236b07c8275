import {describe, expect, it, vi} from 'vitest';
// @ts-expect-error: the recipe is plain JavaScript, as the README shows it.
import {liveUpdates} from '../examples/recipes/websocket.js';
import {createWorld, worldPerTest} from './support/world.js';

/** The README's WebSocket recipe: a socket per access token, in every tab, closed on logout. */
const worlds = worldPerTest();

class FakeSocket extends EventTarget {
	static opened: FakeSocket[] = [];
	sent: string[] = [];
	closed = false;
	constructor(readonly url: string) {
		super();
		FakeSocket.opened.push(this);
		queueMicrotask(() => this.dispatchEvent(new Event('open')));
	}

	send(data: string) {
		this.sent.push(data);
	}

	close() {
		this.closed = true;
	}
}

describe('the WebSocket recipe', () => {
	it('connects with the token, reconnects on each new one (whichever tab refreshed), closes on logout', async () => {
		vi.stubGlobal('WebSocket', FakeSocket);
		FakeSocket.opened = [];
		try {
			const world = worlds.use(createWorld({ttl: 60, storage: 'memory', locks: true, session: {refreshLeeway: 0}}));
			const [a, b] = [world.openTab(), world.openTab()];
			await world.tick(500);
			const stop = liveUpdates(b.session, 'wss://example.test/live', () => undefined);
			const tokens = world.server.login();
			await world.run(a.session.login(tokens));
			await world.tick(10);
			const authOf = (socket: FakeSocket) => (JSON.parse(socket.sent[0] ?? '{}') as {accessToken?: string}).accessToken;
			expect(FakeSocket.opened.map(authOf)).toEqual([tokens.accessToken]);
			// The leader refreshes at expiry; the follower's socket moves to the new token.
			await world.tick(60_000);
			await world.run(a.burst(1));
			await world.tick(10);
			expect(FakeSocket.opened).toHaveLength(2);
			expect(FakeSocket.opened[0]!.closed).toBe(true);
			expect(authOf(FakeSocket.opened[1]!)).toBe(await world.run(b.session.getAccessToken()));
			await world.run(a.session.logout());
			await world.tick(10);
			expect(FakeSocket.opened[1]!.closed).toBe(true);
			stop();
		} finally {
			vi.unstubAllGlobals();
		}
	});
});
