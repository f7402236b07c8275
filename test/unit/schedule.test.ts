// @vitest-environment node
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {systemClock} from '../../src/clock.js';
import {createAlarm, freshness, refreshLead} from '../../src/schedule.js';
import type {TokenSet} from '../../src/tokens.js';

const t0 = 1_700_000_000_000;
const token = (lifetimeMs: number | null, issuedAt = t0): TokenSet => ({
	accessToken: 'at',
	refreshToken: 'rt',
	expiresAt: lifetimeMs === null ? null : issuedAt + lifetimeMs,
	issuedAt,
});

beforeEach(() => {
	vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']});
	vi.setSystemTime(t0);
});

afterEach(() => {
	vi.useRealTimers();
});

describe('refreshLead', () => {
	it('is the leeway for long-lived tokens', () => {
		expect(refreshLead(token(3_600_000), 120_000)).toBe(120_000);
	});

	it('shrinks to a quarter of the lifetime for short-lived tokens', () => {
		expect(refreshLead(token(2000), 120_000)).toBe(500);
		expect(refreshLead(token(60_000), 120_000)).toBe(15_000);
		// Exactly at the crossover both agree.
		expect(refreshLead(token(480_000), 120_000)).toBe(120_000);
	});

	it('is 0 with a leeway of 0, with no expiry, or with an expiry before issue', () => {
		expect(refreshLead(token(3_600_000), 0)).toBe(0);
		expect(refreshLead(token(null), 120_000)).toBe(0);
		expect(refreshLead({...token(0), expiresAt: t0 - 1000}, 120_000)).toBe(0);
	});
});

describe('freshness', () => {
	it('calls a token without expiry fresh forever', () => {
		expect(freshness(token(null), 120_000, t0 + 1e12)).toBe('fresh');
	});

	it('moves a one-hour token from fresh to due at the leeway and expired 5 s before expiry', () => {
		const tokens = token(3_600_000);
		const expiresAt = tokens.expiresAt!;
		expect(freshness(tokens, 120_000, t0)).toBe('fresh');
		expect(freshness(tokens, 120_000, expiresAt - 120_001)).toBe('fresh');
		expect(freshness(tokens, 120_000, expiresAt - 120_000)).toBe('due');
		expect(freshness(tokens, 120_000, expiresAt - 5001)).toBe('due');
		expect(freshness(tokens, 120_000, expiresAt - 5000)).toBe('expired');
		expect(freshness(tokens, 120_000, expiresAt)).toBe('expired');
		expect(freshness(tokens, 120_000, expiresAt + 1e9)).toBe('expired');
	});

	it('gives a 2-second token a 500 ms lead and a 250 ms margin', () => {
		const tokens = token(2000);
		expect(freshness(tokens, 120_000, t0)).toBe('fresh');
		expect(freshness(tokens, 120_000, t0 + 1499)).toBe('fresh');
		expect(freshness(tokens, 120_000, t0 + 1500)).toBe('due');
		expect(freshness(tokens, 120_000, t0 + 1749)).toBe('due');
		expect(freshness(tokens, 120_000, t0 + 1750)).toBe('expired');
		expect(freshness(tokens, 120_000, t0 + 2000)).toBe('expired');
	});

	it('with leeway 0 stays fresh until expiry, then is expired (never due)', () => {
		const tokens = token(60_000);
		expect(freshness(tokens, 0, t0 + 59_999)).toBe('fresh');
		expect(freshness(tokens, 0, t0 + 60_000)).toBe('expired');
	});

	it('calls a token issued already expired expired', () => {
		expect(freshness(token(0), 120_000, t0)).toBe('expired');
	});
});

describe('createAlarm', () => {
	it('fires at an absolute time, not before', async () => {
		const alarm = createAlarm(systemClock);
		const callback = vi.fn();
		alarm.set(t0 + 10_000, callback);
		expect(alarm.armed).toBe(true);
		await vi.advanceTimersByTimeAsync(9999);
		expect(callback).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(callback).toHaveBeenCalledTimes(1);
		expect(alarm.armed).toBe(false);
		await vi.advanceTimersByTimeAsync(100_000);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('fires in pieces of time the same as at once', async () => {
		const alarm = createAlarm(systemClock);
		const callback = vi.fn();
		alarm.set(t0 + 1000, callback);
		for (let step = 0; step < 9; step++) {
			await vi.advanceTimersByTimeAsync(111);
		}

		expect(callback).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('does not fire early when its timer runs before the clock reaches the time', async () => {
		// The clock the alarm reads lags behind timer time: the timer fires "early".
		let clock = t0;
		const alarm = createAlarm({...systemClock, now: () => clock});
		const callback = vi.fn();
		alarm.set(t0 + 1000, callback);
		clock = t0 + 400;
		await vi.advanceTimersByTimeAsync(1000);
		expect(callback).not.toHaveBeenCalled();
		expect(alarm.armed).toBe(true);
		clock = t0 + 999;
		await vi.advanceTimersByTimeAsync(600);
		expect(callback).not.toHaveBeenCalled();
		clock = t0 + 1000;
		await vi.advanceTimersByTimeAsync(1);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('fires as soon as its timer runs once the clock jumped past the time (a throttled tab)', async () => {
		let clock = t0;
		const alarm = createAlarm({...systemClock, now: () => clock});
		const callback = vi.fn();
		alarm.set(t0 + 60_000, callback);
		clock = t0 + 120_000;
		await vi.advanceTimersByTimeAsync(60_000);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('fires on the next turn for a time already past', async () => {
		const alarm = createAlarm(systemClock);
		const callback = vi.fn();
		alarm.set(t0 - 5000, callback);
		expect(callback).not.toHaveBeenCalled();
		expect(alarm.armed).toBe(true);
		await vi.advanceTimersByTimeAsync(0);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('does not fire after clear, and can be set again', async () => {
		const alarm = createAlarm(systemClock);
		const first = vi.fn();
		alarm.set(t0 + 1000, first);
		alarm.clear();
		expect(alarm.armed).toBe(false);
		await vi.advanceTimersByTimeAsync(5000);
		expect(first).not.toHaveBeenCalled();
		expect(vi.getTimerCount()).toBe(0);

		const second = vi.fn();
		alarm.set(Date.now() + 1000, second);
		expect(alarm.armed).toBe(true);
		await vi.advanceTimersByTimeAsync(1000);
		expect(second).toHaveBeenCalledTimes(1);
		expect(first).not.toHaveBeenCalled();
	});

	it('replaces a pending time when set again', async () => {
		const alarm = createAlarm(systemClock);
		const first = vi.fn();
		const second = vi.fn();
		alarm.set(t0 + 1000, first);
		alarm.set(t0 + 3000, second);
		expect(vi.getTimerCount()).toBe(1);
		await vi.advanceTimersByTimeAsync(2000);
		expect(first).not.toHaveBeenCalled();
		expect(second).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1000);
		expect(second).toHaveBeenCalledTimes(1);
		expect(first).not.toHaveBeenCalled();
	});

	it('chains timers for times beyond the setTimeout range', async () => {
		const alarm = createAlarm(systemClock);
		const callback = vi.fn();
		const far = 3_000_000_000;
		alarm.set(t0 + far, callback);
		await vi.advanceTimersByTimeAsync(2_147_483_647);
		expect(callback).not.toHaveBeenCalled();
		expect(alarm.armed).toBe(true);
		await vi.advanceTimersByTimeAsync(far - 2_147_483_647 - 1);
		expect(callback).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('can be cleared while re-armed after an early timer', async () => {
		let clock = t0;
		const alarm = createAlarm({...systemClock, now: () => clock});
		const callback = vi.fn();
		alarm.set(t0 + 1000, callback);
		await vi.advanceTimersByTimeAsync(1000);
		expect(alarm.armed).toBe(true);
		alarm.clear();
		clock = t0 + 5000;
		await vi.advanceTimersByTimeAsync(5000);
		expect(callback).not.toHaveBeenCalled();
		expect(vi.getTimerCount()).toBe(0);
	});
});
