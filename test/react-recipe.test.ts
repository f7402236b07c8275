// The README's React recipe (examples/recipes/react.jsx), rendered with
// react-dom into jsdom for two tabs of one session: an in-memory channel, a
// rotating token server as `fetch`, fake time. The recipe imports
// 'tab-session'; here that name is the source, so the recipe and the test
// share one copy of the SDK (its error classes included).
import {act, createElement, Profiler, type FunctionComponent} from 'react';
import {createRoot, type Root} from 'react-dom/client';
import {afterEach, beforeEach, describe, expect, it, vi, type MockInstance} from 'vitest';
import {initSession, type Session, type SessionState} from '../src/index.js';
import {createHub} from './support/hub.js';
import {useFakeTime} from './support/time.js';
import {createTokenServer, type TokenServer} from './support/token-server.js';

vi.mock('tab-session', async () => import('../src/index.js'));

interface Recipe {
	useSession(session: Session): SessionState;
	Account: FunctionComponent<{session: Session}>;
}

// A variable specifier: the recipe is JSX without type declarations.
const recipePath = '../examples/recipes/react.jsx';
const {Account} = (await import(recipePath)) as Recipe;

(globalThis as {IS_REACT_ACT_ENVIRONMENT?: boolean}).IS_REACT_ACT_ENVIRONMENT = true;

const orders = [{id: 1, item: 'Tea', quantity: 2}, {id: 2, item: 'Scones', quantity: 6}];

/** The token server's `fetch`, answering `/api/orders` like the example server once the bearer is accepted. */
const withOrders = (server: TokenServer): typeof globalThis.fetch => async (input, init) => {
	const response = await server.fetch(input, init);
	const url = new URL(input instanceof Request ? input.url : String(input));
	return url.pathname === '/api/orders' && response.ok ? Response.json({orders}) : response;
};

interface RenderedTab {
	session: Session;
	container: HTMLElement;
	root: Root;
	/** React commits of the recipe's component tree. */
	commits: number;
	/** State changes the session announced to its subscribers. */
	changes: SessionState[];
	text(): string;
	button(label: string): HTMLButtonElement;
}

let tabs: RenderedTab[] = [];
let hub = createHub();
let consoleError: MockInstance<typeof console.error>;
let namespaces = 0;

/**
 * A browser resolves a relative URL against the page, as the recipe's
 * `session.api.get('/api/orders')` expects; Node's `Request` refuses it.
 */
class PageRequest extends Request {
	constructor(input: RequestInfo | URL, init?: RequestInit) {
		super(typeof input === 'string' ? new URL(input, location.href) : input, init);
	}
}

beforeEach(() => {
	useFakeTime();
	vi.stubGlobal('Request', PageRequest);
	localStorage.clear();
	hub = createHub();
	// React reports an unstable getSnapshot, a missing act() and render errors here.
	consoleError = vi.spyOn(console, 'error');
});

afterEach(async () => {
	await act(async () => {
		for (const tab of tabs) {
			tab.root.unmount();
			tab.container.remove();
			tab.session.close();
		}
	});
	tabs = [];
	await vi.advanceTimersByTimeAsync(100);
	// Every channel closed: no session left running.
	expect(hub.open).toBe(0);
	consoleError.mockRestore();
	vi.unstubAllGlobals();
	vi.clearAllTimers();
	vi.useRealTimers();
});

const tick = async (ms: number) => act(async () => {
	await vi.advanceTimersByTimeAsync(ms);
});

function openTab(server: TokenServer, namespace: string, render: (tab: RenderedTab) => Parameters<Root['render']>[0]): RenderedTab {
	// What every tab of the app runs, with in-memory stand-ins for the channel and the network.
	const session = initSession({
		refreshUrl: '/auth/refresh',
		namespace,
		fetch: withOrders(server),
		broadcastMethod: hub.method,
		locks: null,
	});
	const container = document.createElement('div');
	document.body.append(container);
	const tab: RenderedTab = {
		session,
		container,
		root: createRoot(container),
		commits: 0,
		changes: [],
		text: () => container.textContent ?? '',
		button(label) {
			const button = [...container.querySelectorAll('button')].find(candidate => candidate.textContent === label);
			expect(button, `button "${label}"`).toBeDefined();
			return button!;
		},
	};
	session.subscribe(state => {
		tab.changes.push(state);
	});
	tabs.push(tab);
	act(() => {
		tab.root.render(render(tab));
	});
	return tab;
}

/** The recipe's component as an app mounts it, in a Profiler that counts its commits. */
const profiled = (tab: RenderedTab) =>
	createElement(Profiler, {id: 'account', onRender() {
		tab.commits++;
	}}, createElement(Account, {session: tab.session}));

async function openTabs(server: TokenServer, count: number): Promise<RenderedTab[]> {
	const namespace = `react-${++namespaces}`;
	const opened: RenderedTab[] = [];
	for (let index = 0; index < count; index++) {
		opened.push(openTab(server, namespace, profiled));
		// Real tabs open at different moments; the message election needs time to settle.
		// eslint-disable-next-line no-await-in-loop
		await tick(37 + (index * 11));
	}

	await tick(1000);
	return opened;
}

const rolesOf = (opened: readonly RenderedTab[]) => opened.map(tab => tab.session.getState().role).sort();

describe('React recipe (examples/recipes/react.jsx)', () => {
	it('re-renders every tab on login, refresh and logout, and only then', async () => {
		const server = createTokenServer({ttl: 60});
		server.refreshDelay = 200;
		const [first, second] = await openTabs(server, 2) as [RenderedTab, RenderedTab];
		expect(rolesOf([first, second])).toEqual(['follower', 'leader']);
		const [leader, follower] = first.session.getState().role === 'leader' ? [first, second] : [second, first];
		for (const tab of [leader, follower]) {
			expect(tab.text()).toBe('Signed out');
		}

		// Idle: the snapshot is the same object however often React asks, and nothing renders.
		const commitsWhileIdle = [leader.commits, follower.commits];
		const idleState = follower.session.getState();
		await tick(10_000);
		expect(follower.session.getState()).toBe(idleState);
		expect([leader.commits, follower.commits]).toEqual(commitsWhileIdle);

		// Login in the follower: both tabs render the signed-in view.
		const beforeLogin = [leader.commits, follower.commits];
		const loginChanges = [leader.changes.length, follower.changes.length];
		await act(async () => {
			await follower.session.login(server.login());
		});
		await tick(50);
		expect(leader.text()).toContain('Signed in (authenticated); this tab is the leader.');
		expect(follower.text()).toContain('Signed in (authenticated); this tab is the follower.');
		for (const [index, tab] of [leader, follower].entries()) {
			const changes = tab.changes.length - loginChanges[index]!;
			const commits = tab.commits - beforeLogin[index]!;
			expect(changes).toBeGreaterThan(0);
			// At most one commit per announced change: no render loop.
			expect(commits).toBeGreaterThan(0);
			expect(commits).toBeLessThanOrEqual(changes);
		}

		// Orders through session.api, from the follower's button.
		await act(async () => {
			follower.button('Load orders').click();
			await vi.advanceTimersByTimeAsync(50);
		});
		expect(follower.text()).toContain('2 × Tea');
		expect(follower.text()).toContain('6 × Scones');

		// Refresh: the leader refreshes 15 s (a quarter of 60 s) before expiry; the
		// refresh takes 200 ms. Both tabs show it under way, then the new generation.
		const expiresAt = leader.session.getState().expiresAt!;
		await tick(expiresAt - 15_000 - Date.now() - 100);
		expect(server.counters.refreshCalls).toBe(0);
		const seen: Array<[string, string]> = [];
		let clickedDuringRefresh = false;
		for (let step = 0; step < 60; step++) {
			// eslint-disable-next-line no-await-in-loop
			await tick(10);
			seen.push([leader.text(), follower.text()]);
			if (!clickedDuringRefresh && follower.session.getState().status === 'refreshing') {
				// A request made while the refresh is under way waits for it.
				clickedDuringRefresh = true;
				// eslint-disable-next-line no-await-in-loop
				await act(async () => {
					follower.button('Load orders').click();
				});
			}
		}

		expect(clickedDuringRefresh).toBe(true);
		for (const [index, role] of [[0, 'leader'], [1, 'follower']] as const) {
			const views = seen.map(texts => texts[index]);
			expect(views.some(view => view.includes(`Signed in (refreshing); this tab is the ${role}.`)), `${role} rendered the refresh under way`).toBe(true);
			expect(views.at(-1), `${role} rendered the refreshed session`).toContain(`Signed in (authenticated); this tab is the ${role}.`);
		}

		for (const tab of [leader, follower]) {
			expect(tab.session.getState()).toMatchObject({status: 'authenticated', generation: 2});
		}

		expect(server.counters.refreshCalls).toBe(1);
		// The paused request went out with the new token: no 401, orders rendered, no error.
		expect(server.counters.api401).toBe(0);
		expect(server.counters.api).toBe(2);
		expect(follower.text()).toContain('6 × Scones');
		expect(follower.text()).not.toContain('Could not load orders');

		// Logout in the leader: both tabs render the signed-out view.
		const beforeLogout = [leader.commits, follower.commits];
		await act(async () => {
			leader.button('Sign out').click();
		});
		await tick(50);
		for (const [index, tab] of [leader, follower].entries()) {
			expect(tab.text()).toBe('Signed out');
			expect(tab.commits).toBeGreaterThan(beforeLogout[index]!);
		}

		expect(leader.session.getState()).toMatchObject({status: 'unauthenticated', endReason: 'logout'});

		// Idle again: no render without a change.
		const idle = [leader.commits, follower.commits];
		await tick(120_000);
		expect([leader.commits, follower.commits]).toEqual(idle);
		expect(server.counters.refreshCalls).toBe(1);
		// Every commit is accounted for: the first render, one per state change
		// (the leader's also saw its election), one per "Load orders" answer.
		expect(leader.commits).toBe(1 + leader.changes.length);
		expect(leader.changes).toHaveLength(5);
		expect(follower.commits).toBe(1 + follower.changes.length + 2);
		expect(follower.changes).toHaveLength(4);
		expect(consoleError).not.toHaveBeenCalled();
	});

	it('renders the session error code when a request cannot get a new token, and stays signed in', async () => {
		const server = createTokenServer({ttl: 60});
		const [tab] = await openTabs(server, 1) as [RenderedTab];
		await act(async () => {
			await tab.session.login(server.login());
		});
		// The server stops accepting the access token and every refresh attempt fails with 503,
		// for longer than the request can wait (pauseTimeout, 10 s).
		server.revokeAccessTokens();
		server.failNext(...Array.from({length: 30}, () => 503 as const));
		await act(async () => {
			tab.button('Load orders').click();
			await vi.advanceTimersByTimeAsync(12_000);
		});
		// Each run makes 3 attempts; runs are 1 s, 1 s, 2 s apart (the cooldown): a handful of calls, not a storm.
		expect(server.counters.refreshCalls).toBeGreaterThanOrEqual(6);
		expect(server.counters.refreshCalls).toBeLessThanOrEqual(12);
		expect(tab.session.getState()).toMatchObject({status: 'authenticated', generation: 1});
		expect(tab.text()).toContain('Could not load orders: REFRESH_FAILED');
		expect(consoleError).not.toHaveBeenCalled();
	});

	it('would catch an unstable snapshot: a getState that returns a new object every call makes React complain', async () => {
		consoleError.mockImplementation(() => undefined);
		const server = createTokenServer({ttl: 60});
		const namespace = `react-${++namespaces}`;
		// What the recipe must not be given: a store whose snapshot is never the same object.
		expect(() => openTab(server, namespace, ({session}) =>
			createElement(Account, {session: {...session, getState: () => ({...session.getState()})}}))).toThrow(/Maximum update depth exceeded/);
		expect(consoleError.mock.calls.map(call => String(call[0])).join('\n')).toMatch(/getSnapshot should be cached/);
		consoleError.mockClear();
	});
});
