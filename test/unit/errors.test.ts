// @vitest-environment node
import {describe, expect, it} from 'vitest';
import {
	InvalidOptionsError,
	InvalidTokensError,
	isSessionError,
	LoggedOutError,
	PauseTimeoutError,
	RefreshFailedError,
	SessionClosedError,
	SessionError,
} from '../../src/errors.js';

describe('SessionError', () => {
	it('carries code, name, message and cause', () => {
		const cause = new Error('root');
		const error = new SessionError('REFRESH_FAILED', 'boom', {cause});
		expect(error).toBeInstanceOf(Error);
		expect(error.code).toBe('REFRESH_FAILED');
		expect(error.name).toBe('SessionError');
		expect(error.message).toBe('boom');
		expect(error.cause).toBe(cause);
	});

	it('has no own cause when none is given', () => {
		const error = new SessionError('LOGGED_OUT', 'x');
		expect('cause' in error).toBe(false);
		expect(new SessionError('LOGGED_OUT', 'x', {}).hasOwnProperty('cause')).toBe(false);
	});
});

describe('subclasses', () => {
	const cause = new Error('underlying');
	const cases = [
		{error: new LoggedOutError('logout', {cause}), code: 'LOGGED_OUT', name: 'LoggedOutError', hasCause: true},
		{error: new RefreshFailedError('failed', 503, {cause}), code: 'REFRESH_FAILED', name: 'RefreshFailedError', hasCause: true},
		{error: new PauseTimeoutError(1234), code: 'PAUSE_TIMEOUT', name: 'PauseTimeoutError', hasCause: false},
		{error: new InvalidOptionsError('pauseTimeout', 'is bad'), code: 'INVALID_OPTIONS', name: 'InvalidOptionsError', hasCause: false},
		{error: new InvalidTokensError('no token'), code: 'INVALID_TOKENS', name: 'InvalidTokensError', hasCause: false},
		{error: new SessionClosedError(), code: 'SESSION_CLOSED', name: 'SessionClosedError', hasCause: false},
	] as const;

	for (const {error, code, name, hasCause} of cases) {
		it(`${name} has code ${code}, its name, and is a SessionError and an Error`, () => {
			expect(error.code).toBe(code);
			expect(error.name).toBe(name);
			expect(error).toBeInstanceOf(SessionError);
			expect(error).toBeInstanceOf(Error);
			expect(isSessionError(error)).toBe(true);
			expect(error.message.length).toBeGreaterThan(0);
			expect(String(error)).toContain(name);
			if (hasCause) {
				expect(error.cause).toBe(cause);
			} else {
				expect(error.cause).toBeUndefined();
			}
		});
	}

	it('LoggedOutError keeps its reason and words the message by reason', () => {
		const rejected = new LoggedOutError('refresh-rejected');
		const loggedOut = new LoggedOutError('logout');
		const none = new LoggedOutError(null);
		expect(rejected.reason).toBe('refresh-rejected');
		expect(loggedOut.reason).toBe('logout');
		expect(none.reason).toBeNull();
		expect(rejected.message).toMatch(/rejected the refresh token/);
		expect(loggedOut.message).not.toBe(rejected.message);
		expect(loggedOut.cause).toBeUndefined();
	});

	it('RefreshFailedError keeps the status, including null', () => {
		expect(new RefreshFailedError('x', 500).status).toBe(500);
		expect(new RefreshFailedError('x', null).status).toBeNull();
		expect(new RefreshFailedError('the message', null).message).toBe('the message');
	});

	it('PauseTimeoutError keeps the timeout and names it in the message', () => {
		const error = new PauseTimeoutError(4321);
		expect(error.timeout).toBe(4321);
		expect(error.message).toContain('4321');
	});

	it('InvalidOptionsError names the option', () => {
		const error = new InvalidOptionsError('namespace', 'must be short');
		expect(error.option).toBe('namespace');
		expect(error.message).toContain('`namespace`');
		expect(error.message).toContain('must be short');
	});

	it('InvalidTokensError includes the problem', () => {
		expect(new InvalidTokensError('missing accessToken').message).toContain('missing accessToken');
	});
});

describe('isSessionError', () => {
	it('is false for anything that is not a SessionError', () => {
		expect(isSessionError(new Error('x'))).toBe(false);
		expect(isSessionError(new TypeError('x'))).toBe(false);
		expect(isSessionError({code: 'LOGGED_OUT', name: 'LoggedOutError', message: 'x'})).toBe(false);
		expect(isSessionError(null)).toBe(false);
		expect(isSessionError(undefined)).toBe(false);
		expect(isSessionError('LOGGED_OUT')).toBe(false);
	});

	it('is true for the base class and every subclass', () => {
		expect(isSessionError(new SessionError('LOGGED_OUT', 'x'))).toBe(true);
		// An error from another copy of the package: same shape, another class.
		const foreign = Object.assign(new Error('The session is signed out'), {name: 'LoggedOutError', code: 'LOGGED_OUT'});
		expect(isSessionError(foreign)).toBe(true);
		expect(isSessionError(Object.assign(new Error('x'), {name: 'HTTPError', code: 'ERR_HTTP'}))).toBe(false);
		expect(isSessionError(new SessionClosedError())).toBe(true);
	});
});
