import type {Clock} from './clock.js';
import type {Coordinator} from './coordinator.js';
import type {RecordKeeper} from './keeper.js';
import type {NormalizedOptions} from './options.js';
import {createAlarm} from './schedule.js';

export interface DutiesDeps {
	coordinator: Coordinator;
	keeper: RecordKeeper;
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
	const {coordinator, keeper, options, clock} = deps;
	const refreshAlarm = createAlarm(clock);
	const heartbeatAlarm = createAlarm(clock);
	let nextHeartbeatAt = 0;

	const stop = () => {
		refreshAlarm.clear();
		heartbeatAlarm.clear();
	};

	function reschedule() {
		stop();
		const {record} = keeper;
		if (coordinator.closed || coordinator.role !== 'leader' || !record.tokens) {
			return;
		}

		const dueAt = coordinator.refreshDueAt();
		if (dueAt !== null) {
			refreshAlarm.set(dueAt, () => {
				// Re-armed on every change; the check keeps a late timer from refreshing newer tokens early.
				if (keeper.record === record) {
					coordinator.ensureFresh();
				}
			});
		}

		if (options.heartbeatUrl) {
			nextHeartbeatAt ||= clock.now() + options.heartbeatInterval;
			heartbeatAlarm.set(nextHeartbeatAt, () => {
				nextHeartbeatAt = clock.now() + options.heartbeatInterval;
				void deps.heartbeat();
				reschedule();
			});
		}
	}

	return {reschedule, stop};
}
