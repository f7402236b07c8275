// Per-tab single-flight: axios with the axios-auth-refresh interceptor, set up
// as its README shows. One refresh at a time per tab; tabs know nothing of each other.
// `deduplicateRefresh: false`: with 5.x's default (true), a 401 that arrives while
// the tab's refresh is in flight is rejected instead of waiting for it, so
// all but one request of a burst fail even in a single tab (see results.md).
// With false, every 401 joins the one refresh in flight and is retried after it.
import axios from 'axios';
import createAuthRefreshInterceptor from 'axios-auth-refresh';

export function createClient() {
	const api = axios.create();
	api.interceptors.request.use(config => {
		config.headers.Authorization = `Bearer ${localStorage.getItem('accessToken')}`;
		return config;
	});

	const saveTokens = data => {
		localStorage.setItem('accessToken', data.accessToken);
		localStorage.setItem('refreshToken', data.refreshToken);
		localStorage.setItem('expiresAt', String(Date.now() + (data.expiresIn * 1000)));
	};

	const refreshAuthLogic = failedRequest => axios.post('/api/auth/refresh', {refreshToken: localStorage.getItem('refreshToken')})
		.then(({data}) => {
			saveTokens(data);
			failedRequest.response.config.headers.Authorization = `Bearer ${data.accessToken}`;
		});
	createAuthRefreshInterceptor(api, refreshAuthLogic, {deduplicateRefresh: false});

	return {
		async login() {
			const {data} = await axios.post('/api/auth/login', {});
			saveTokens(data);
		},
		dueAt: () => Number(localStorage.getItem('expiresAt')) || null,
		get: async path => (await api.get(path)).data,
		close() {},
	};
}
