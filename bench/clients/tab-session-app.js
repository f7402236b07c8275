// tab-session as an app uses it: one session per tab, requests through `session.api`.
// `initSession` comes from the script-tag build (tab-session.js) or the package (tab-session-esm.js).
export function makeClient(initSession, {fetch, heartbeatInterval = 0, refreshLeeway} = {}) {
	const session = initSession({
		refreshUrl: '/api/auth/refresh',
		...(heartbeatInterval > 0 ? {heartbeatUrl: '/api/heartbeat', heartbeatInterval} : {}),
		...(refreshLeeway === undefined ? {} : {refreshLeeway}),
		...(fetch ? {fetch} : {}),
	});
	return {
		session,
		async login() {
			const response = await globalThis.fetch('/api/auth/login', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'});
			await session.login(await response.json());
		},
		dueAt: () => session.getState().expiresAt,
		role: () => session.getState().role,
		get: async path => session.api.get(path).json(),
		close() {
			session.close();
		},
	};
}
