// React 18 or 19, no extra package: getState() returns the same frozen object
// until something changes, so it is a valid useSyncExternalStore snapshot, and
// subscribe() returns the unsubscribe function React expects.
//
// Create the session once per tab, outside any component, and pass it down
// (or put it in a context):
//   const session = initSession({refreshUrl: '/api/auth/refresh'});
//   createRoot(document.getElementById('root')).render(<Account session={session} />);
import {useState, useSyncExternalStore} from 'react';
import {isSessionError} from 'tab-session';

export function useSession(session) {
	return useSyncExternalStore(session.subscribe, session.getState);
}

export function Account({session}) {
	const {status, role} = useSession(session);
	const [orders, setOrders] = useState(null);
	const [error, setError] = useState(null);

	async function loadOrders() {
		try {
			// Waits while any tab refreshes, then goes out with the new token.
			const body = await session.api.get('/api/orders').json();
			setOrders(body.orders);
			setError(null);
		} catch (error) {
			// LOGGED_OUT, REFRESH_FAILED, PAUSE_TIMEOUT…; ky's HTTPError otherwise.
			setError(isSessionError(error) ? error.code : error.message);
		}
	}

	if (status === 'unauthenticated') {
		return <p>Signed out</p>;
	}

	return (
		<section>
			<p>Signed in ({status}); this tab is the {role}.</p>
			<button type="button" onClick={loadOrders}>Load orders</button>
			<button type="button" onClick={() => session.logout()}>Sign out</button>
			{error && <p role="alert">Could not load orders: {error}</p>}
			{orders && (
				<ul>
					{orders.map(order => <li key={order.id}>{order.quantity} × {order.item}</li>)}
				</ul>
			)}
		</section>
	);
}
