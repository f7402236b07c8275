// axios (or any client with interceptors) on tab-session: the bearer from
// getAccessToken() on your own origins only, and a 401 refreshed only if the
// token that request carried is still the current one, so that every request
// and tab that met the same revocation shares one refresh. (For fetch,
// session.fetch does all of this itself.)
export function withSession(client, session, origins = [globalThis.location.origin]) {
	client.interceptors.request.use(async config => {
		const url = new URL(client.getUri(config), globalThis.location.href);
		if (origins.includes(url.origin)) {
			config.headers.set('Authorization', `Bearer ${await session.getAccessToken({signal: config.signal})}`);
		}

		return config;
	});
	client.interceptors.response.use(undefined, async error => {
		const {config, response} = error;
		const sent = config?.headers.get('Authorization');
		if (response?.status !== 401 || !sent || config.sessionRetried) {
			throw error;
		}

		config.sessionRetried = true;
		await session.refresh({ifToken: String(sent).replace(/^Bearer /, '')});
		return client(config);
	});
	return client;
}
