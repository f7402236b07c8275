import {describe, expect, it, vi} from 'vitest';
import {initSession} from '../src/index.js';
import {createWorld, worldPerTest} from './support/world.js';

const worlds = worldPerTest();

describe('the debug option', () => {
	it('logs role changes, refreshes, pauses and logouts in every tab, and never a token', async () => {
		const lines: Array<{tab: number; message: string; details: Record<string, unknown>}> = [];
		let opened = 0;
		const world = worlds.use(createWorld({ttl: 60, session: {refreshLeeway: 0}}));
		for (let index = 0; index < 3; index++) {
			const tab = opened++;
			world.openTab({
				debug(message, details) {
					lines.push({tab, message, details});
				},
			});
			// eslint-disable-next-line no-await-in-loop
			await world.tick(50 + (index * 13));
		}

		await world.tick(1000);
		await world.tabs[0]!.session.login(world.server.login());
		await world.tick(50);
		world.server.refreshDelay = 200;

		// An expiry met by a burst in every tab, then a revocation met by another.
		await world.tick(world.tabs[0]!.session.getState().expiresAt! - Date.now() + 1);
		const burst = await world.run(Promise.all(world.tabs.map(async tab => tab.burst(3))));
		expect(burst.flat().every(result => result.status === 'fulfilled')).toBe(true);
		world.server.revokeAccessTokens();
		await world.run(Promise.all(world.tabs.map(async tab => tab.burst(2))));
		// The leader goes away; another tab takes over. Then a logout.
		const leader = world.leaders()[0]!;
		leader.close();
		await world.tick(3000);
		await world.run(world.live()[0]!.session.logout());
		await world.tick(50);

		const messages = (message: string) => lines.filter(line => line.message === `tab-session: ${message}`);
		expect(messages('this tab is now the leader').length).toBeGreaterThanOrEqual(2);
		expect(messages('refreshing').length).toBe(world.server.counters.refreshCalls);
		expect(messages('refresh succeeded').length).toBe(world.server.counters.refreshOk);
		expect(messages('refresh succeeded').every(line => typeof line.details['duration'] === 'number')).toBe(true);
		expect(messages('request paused').length).toBeGreaterThan(0);
		expect(messages('request resumed').length).toBeGreaterThan(0);
		expect(messages('waiting for newer tokens').length).toBeGreaterThan(0);
		expect(messages('new tokens from another tab').length).toBeGreaterThan(0);
		expect(new Set(messages('signed out').map(line => line.tab)).size).toBe(2);
		expect(messages('signed out').every(line => line.details['reason'] === 'logout')).toBe(true);
		// The token server's tokens look like at-<family>-<serial> and rt-<family>-<serial>.
		const text = JSON.stringify(lines);
		expect(text).not.toMatch(/\b[ar]t-\d+-\d+\b/);
		expect(world.server.counters.refreshCalls).toBeGreaterThanOrEqual(2);
	});
});

describe('warnings that say what to do', () => {
	it('a second initSession for one namespace in one page warns once on the console, saying how to share one session', () => {
		const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
		const namespace = `twice-${Math.random().toString(36).slice(2)}`;
		const sessions = [1, 2, 3].map(() => initSession({refreshUrl: '/auth/refresh', namespace, storage: 'memory', lifecycle: null}));
		try {
			expect(warn).toHaveBeenCalledTimes(1);
			expect(String(warn.mock.calls[0]![0])).toMatch(new RegExp(`initSession was called again for namespace '${namespace}'.*Create the session once`));
			// Another namespace is another session: no warning.
			sessions.push(initSession({refreshUrl: '/auth/refresh', namespace: `${namespace}-other`, storage: 'memory', lifecycle: null}));
			expect(warn).toHaveBeenCalledTimes(1);
		} finally {
			for (const session of sessions) {
				session.close();
			}

			warn.mockRestore();
		}
	});

	it('one session at a time (close, then create again, as hot reload does) does not warn', () => {
		const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
		const namespace = `again-${Math.random().toString(36).slice(2)}`;
		try {
			for (let index = 0; index < 3; index++) {
				initSession({refreshUrl: '/auth/refresh', namespace, storage: 'memory', lifecycle: null}).close();
			}

			expect(warn).not.toHaveBeenCalled();
		} finally {
			warn.mockRestore();
		}
	});

	it('debug says once, at start, that a refreshUrl on another origin needs CORS', () => {
		const lines: string[] = [];
		const session = initSession({refreshUrl: 'https://auth.example.com/token', storage: 'memory', lifecycle: null, debug: message => lines.push(message)});
		session.close();
		expect(lines.filter(line => line.includes('refreshUrl is on another origin'))).toHaveLength(1);
	});
});
