// A bare ky instance with a valid bearer token: the baseline for tab-session's hook overhead.
import ky from 'ky';

// `afterResponseHook: true` adds one no-op afterResponse hook, to show what any such hook costs.
export function createClient({fetch, afterResponseHook = false} = {}) {
	const base = {
		...(fetch ? {fetch} : {}),
		...(afterResponseHook ? {hooks: {afterResponse: [() => undefined]}} : {}),
	};
	let api = ky.create(base);
	return {
		async login() {
			const response = await globalThis.fetch('/api/auth/login', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'});
			const {accessToken} = await response.json();
			api = ky.create({...base, headers: {authorization: `Bearer ${accessToken}`}});
		},
		dueAt: () => null,
		get: async path => api.get(path).json(),
		close() {},
	};
}
