// The refresh token lives in an httpOnly cookie: the server sets it at sign-in
// and rotates it on every refresh, and no script on the page can read it.
// The session holds only the short-lived access token, in memory.
import {cookieRefresh, initSession} from 'tab-session';

export const session = initSession({
	refreshUrl: '/api/auth/refresh',
	// Nothing in localStorage: a tab opened later gets the access token from an open one.
	storage: 'memory',
	// POST with the cookie and no body; the server answers {accessToken, expiresIn} and
	// sets the next cookie. One tab refreshes for all, so each cookie is spent once.
	...cookieRefresh(),
});

export async function signIn(username, password) {
	const response = await fetch('/api/auth/login', {
		method: 'POST',
		credentials: 'include',
		headers: {'content-type': 'application/json'},
		body: JSON.stringify({username, password}),
	});
	if (!response.ok) {
		throw new Error(`Sign-in failed: HTTP ${response.status}`);
	}

	// No refreshToken here: it arrived as a cookie.
	const {accessToken, expiresIn} = await response.json();
	await session.login({accessToken, expiresIn}); // every tab is signed in
}

export async function signOut() {
	try {
		// Only the server can revoke the refresh token and clear its cookie.
		await fetch('/api/auth/logout', {method: 'POST', credentials: 'include'});
	} finally {
		await session.logout(); // every tab is signed out
	}
}
