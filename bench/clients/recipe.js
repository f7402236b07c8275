// The recipe most tutorials give, written the way they give it: tokens in
// localStorage, a fetch wrapper that refreshes on every 401 and retries once,
// and a heartbeat timer in every tab. Nothing is shared between tabs but storage.
export function createClient({fetch: fetchFunction = (...args) => fetch(...args), heartbeatInterval = 0} = {}) {
	const saveTokens = data => {
		localStorage.setItem('accessToken', data.accessToken);
		localStorage.setItem('refreshToken', data.refreshToken);
		localStorage.setItem('expiresAt', String(Date.now() + (data.expiresIn * 1000)));
	};

	const logout = () => {
		localStorage.removeItem('accessToken');
		localStorage.removeItem('refreshToken');
		localStorage.removeItem('expiresAt');
	};

	async function refreshToken() {
		const response = await fetchFunction('/api/auth/refresh', {
			method: 'POST',
			headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({refreshToken: localStorage.getItem('refreshToken')}),
		});
		if (!response.ok) {
			logout();
			throw new Error('Session expired, please log in again');
		}

		saveTokens(await response.json());
	}

	async function apiFetch(path, options = {}) {
		const send = () => fetchFunction(path, {
			...options,
			headers: {...options.headers, Authorization: `Bearer ${localStorage.getItem('accessToken')}`},
		});
		let response = await send();
		if (response.status === 401) {
			await refreshToken();
			response = await send();
		}

		if (!response.ok) {
			throw new Error(`HTTP ${response.status}`);
		}

		return response.json();
	}

	// Keep the session alive: ping the server every interval while signed in.
	const timer = heartbeatInterval > 0
		? setInterval(() => {
			if (localStorage.getItem('accessToken')) {
				apiFetch('/api/heartbeat').catch(() => undefined);
			}
		}, heartbeatInterval)
		: undefined;

	return {
		async login() {
			const response = await fetchFunction('/api/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
			saveTokens(await response.json());
		},
		dueAt: () => Number(localStorage.getItem('expiresAt')) || null,
		get: apiFetch,
		close() {
			clearInterval(timer);
		},
	};
}
