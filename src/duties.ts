import type {Coordinator} from './coordinator.js';
import type {Clock} from './clock.js';
import type {NormalizedOptions} from './options.js';
import {createAlarm} from './schedule.js';

export interface DutiesDeps {
	coordinator: Coordinator;
	options: Pick<NormalizedOptions, 'heartbeatUrl' | 'heartbeatInterval'>;
	clock: Clock;
	heartbeat(): Promise<void>;
}

/**
 * The leader's timers: refresh ahead of expiry, and the heartbeat. Armed from
 * absolute times and re-armed on every change, on waking up and on taking
 * leadership, because browsers throttle timers in background tabs.
 * Followers run none of them.
 */
export function createLeaderDuties(deps: DutiesDeps) {
	const {coordinator, options, clock} = deps;
	const now = () => clock.now();
	const refreshAlarm = createAlarm(clock);
	const heartbeatAlarm = createAlarm(clock);
	let nextHeartbeatAt = 0;

	const stop = () => {
		refreshAlarm.clear();
		heartbeatAlarm.clear();
	};

	function reschedule() {
		stop();
		const {record} = coordinator;
		if (coordinator.closed || coordinator.role !== 'leader' || !record.tokens) {
			return;
		}

		const dueAt = coordinator.refreshDueAt();
		if (dueAt !== null) {
			const {generation} = record;
			refreshAlarm.set(dueAt, () => {
				coordinator.ensureFresh(generation);
			});
		}

		if (options.heartbeatUrl) {
			nextHeartbeatAt ||= now() + options.heartbeatInterval;
			heartbeatAlarm.set(nextHeartbeatAt, () => {
				nextHeartbeatAt = now() + options.heartbeatInterval;
				void deps.heartbeat();
				reschedule();
			});
		}
	}

	return {reschedule, stop};
}
