// Supabase's auth client (@supabase/auth-js) as supabase-js sets it up, against
// the bench server's GoTrue-shaped token endpoint. Application requests do what
// supabase-js's fetchWithAuth does: the access token from getSession() on every
// request (getSession refreshes when the session is inside its 90-s margin); a
// 401 is not retried. mode 'lock' passes the opt-in `lock: navigatorLock`.
import {GoTrueClient, navigatorLock} from '@supabase/auth-js';

// supabase-js names the key `sb-<first label of the host>-auth-token`: 127.0.0.1 → sb-127-auth-token.
export const storageKey = 'sb-127-auth-token';
const anonKey = 'bench-anon-key';
const expiryMarginMs = 90_000;

export function createClient({mode = 'default', fetch: fetchFunction = (...args) => fetch(...args)} = {}) {
	const auth = new GoTrueClient({
		url: `${location.origin}/auth/v1`,
		storageKey,
		headers: {apikey: anonKey},
		...(mode === 'lock' ? {lock: navigatorLock} : {}),
		fetch: fetchFunction,
	});

	return {
		auth,
		async login() {
			const {error} = await auth.signInWithPassword({email: 'bench@example.test', password: 'bench-password'});
			if (error) {
				throw error;
			}
		},
		// When auth-js will refresh: its margin before expires_at.
		dueAt() {
			const session = JSON.parse(localStorage.getItem(storageKey) ?? 'null');
			return session?.expires_at ? (session.expires_at * 1000) - expiryMarginMs : null;
		},
		async get(path) {
			const {data} = await auth.getSession();
			const response = await fetchFunction(path, {headers: {apikey: anonKey, Authorization: `Bearer ${data.session?.access_token ?? anonKey}`}});
			if (!response.ok) {
				throw new Error(`HTTP ${response.status}`);
			}

			return response.json();
		},
		close() {
			void auth.stopAutoRefresh();
		},
	};
}
