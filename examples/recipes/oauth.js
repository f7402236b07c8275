// tab-session in front of an OAuth 2.0 server: the sign-in gets the first token
// pair, then one tab refreshes for all of them through the same token endpoint.
import {initSession, oauth2RefreshGrant} from 'tab-session';

export const session = initSession({
	refreshUrl: '/oauth/token',
	// Tokens stay out of storage; a tab opened later gets them from the open tabs.
	storage: 'memory',
	// The standard refresh grant: a form-encoded POST with client_id, rotated
	// refresh tokens kept, and `invalid_grant` signing every tab out.
	...oauth2RefreshGrant({clientId: 'spa'}),
});

// Your sign-in flow gives the first pair; here the password grant of a public client.
export async function signIn(username, password) {
	const response = await fetch('/oauth/token', {
		method: 'POST',
		body: new URLSearchParams({grant_type: 'password', username, password, client_id: 'spa'}),
	});
	const body = await response.json();
	if (!response.ok) {
		throw new Error(`${body.error}: ${body.error_description ?? 'sign-in refused'}`);
	}

	// Signs in every open tab. Without expires_in, the expiry comes from the JWT's exp.
	await session.login({accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in});
}

// Requests carry the bearer and wait out a refresh under way in any tab.
export const loadResource = async () => session.api.get('/api/resource').json();

// For scripts on the page that are not bundled (and the browser tests): the same objects.
globalThis.oauthDemo = {session, signIn, loadResource};
