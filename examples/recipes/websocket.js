// A WebSocket that always carries the current access token: it connects with
// the token, and reconnects on every new one (a refresh in any tab, a login),
// and closes on logout. The server reads the token from the first message.
export function liveUpdates(session, url, onMessage) {
	let socket;
	const connect = accessToken => {
		socket?.close(1000, 'new token');
		socket = new WebSocket(url);
		socket.addEventListener('open', () => socket.send(JSON.stringify({type: 'auth', accessToken})));
		socket.addEventListener('message', event => onMessage(JSON.parse(event.data)));
	};

	const offTokens = session.on('tokens', ({accessToken}) => connect(accessToken));
	const offLogout = session.on('logout', () => socket?.close(1000, 'signed out'));
	// Already signed in (a tab opened into the session): connect with the token there is.
	session.ready.then(() => session.getState().status === 'authenticated' && session.getAccessToken().then(connect)).catch(() => {});
	return () => {
		offTokens();
		offLogout();
		socket?.close(1000, 'done');
	};
}
