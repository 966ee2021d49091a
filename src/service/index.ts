// systemd control over D-Bus: start, stop and restart units, read their state.
export { type BusTarget, DBusConnection } from './bus.js';
export { SystemdError, type SystemdErrorCode, type SystemdErrorDetails } from './errors.js';
export { JOB_MODES, type JobMode, type JobOutcome, type JobResult } from './jobs.js';
export {
  DEFAULT_TIMEOUT_MS,
  type JobOptions,
  type OperationOptions,
  type SystemdConnectOptions,
  SystemdManager,
} from './manager.js';
export {
  assertUnitName,
  UNIT_NAME_MAX_BYTES,
  UNIT_TYPES,
  type UnitType,
  unitNameProblem,
} from './unit-name.js';
export type { ActiveState, LoadState, UnitState } from './unit-state.js';
