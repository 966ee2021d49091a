// The jobs systemd runs for the F-Stack unit, as the watch reconciler logs them: each
// JobRemoved signal for the unit (a start, stop or restart that ended, with its result).
import { performance } from 'node:perf_hooks';
import { type BusTarget, DBusConnection } from './bus.js';
import { DBusErrorName, SystemdError } from './errors.js';
import { MANAGER_INTERFACE, MANAGER_PATH } from './jobs.js';
import { assertUnitName } from './unit-name.js';

/** A job of the unit that ended. */
export interface UnitJobEnd {
  unit: string;
  /** Job object path, e.g. /org/freedesktop/systemd1/job/42. */
  job: string;
  /** done, failed, canceled, timeout, dependency, skipped, ... */
  result: string;
  /** performance.now() when the signal was received. */
  receivedAt: number;
}

/** A running observation; close() ends it. */
export interface UnitJobObserver {
  close(): void;
}

/**
 * Connects to systemd and calls `onJobEnd` for every job of `unit` that ends: the
 * JobRemoved signals that `busctl monitor` shows for the unit. `onLost` is called
 * when the connection drops. Rejects with SystemdError (ENOSYSTEMD, ECONNECT, ETIMEDOUT,
 * EDBUS) when the match or Manager.Subscribe fails.
 */
export async function observeUnitJobs(
  bus: BusTarget,
  unit: string,
  onJobEnd: (end: UnitJobEnd) => void,
  onLost: (error: SystemdError) => void,
): Promise<UnitJobObserver> {
  assertUnitName(unit);
  const connection = DBusConnection.open(bus);
  try {
    // The unit is checked in the handler: with an arg2='UNIT' term in the rule, libsystemd
    // 252 delivered no JobRemoved signal at all, on a bus and on a direct connection.
    const rule = [
      "type='signal'",
      ...(connection.direct ? [] : ["sender='org.freedesktop.systemd1'"]),
      `path='${MANAGER_PATH}'`,
      `interface='${MANAGER_INTERFACE}'`,
      "member='JobRemoved'",
    ].join(',');
    await connection.addMatch(rule, (signal) => {
      // JobRemoved(u id, o job, s unit, s result)
      const [, job, name, result] = signal.values;
      if (typeof job !== 'string' || name !== unit || typeof result !== 'string') return;
      onJobEnd({ unit, job, result, receivedAt: performance.now() });
    });

    // systemd sends job signals on a bus only to clients that called Subscribe.
    try {
      await connection.call(MANAGER_PATH, MANAGER_INTERFACE, 'Subscribe', '', [], {
        timeoutMs: 10_000,
      });
    } catch (error) {
      if (!(error instanceof SystemdError && error.dbusError === DBusErrorName.AlreadySubscribed))
        throw error;
    }
    connection.onDisconnect(onLost);
  } catch (error) {
    connection.close();
    throw error;
  }
  return { close: () => connection.close() };
}
