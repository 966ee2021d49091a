// The state of one unit, decoded from the properties systemd exports on its object
// (interfaces org.freedesktop.systemd1.Unit and org.freedesktop.systemd1.<Type>).
import type { NativeBusValue } from '../native/native-bus.js';

/** Whether the unit's configuration was loaded (LoadState). */
export type LoadState =
  | 'stub'
  | 'loaded'
  | 'not-found'
  | 'bad-setting'
  | 'error'
  | 'merged'
  | 'masked'
  | (string & {});

/** High-level activation state (ActiveState). */
export type ActiveState =
  | 'active'
  | 'reloading'
  | 'inactive'
  | 'failed'
  | 'activating'
  | 'deactivating'
  | 'maintenance'
  | (string & {});

export interface UnitState {
  /** Primary unit name (Id). */
  unit: string;
  /** D-Bus object path of the unit. */
  path: string;
  description: string;
  loadState: LoadState;
  activeState: ActiveState;
  /** Type-specific state, e.g. running, exited, dead, auto-restart for services. */
  subState: string;
  /**
   * Outcome of the last run: success, exit-code, signal, core-dump, timeout, resources,
   * start-limit-hit, ... Undefined for unit types without a Result property (targets).
   */
  result: string | undefined;
  /** PID of the main process; 0 when none runs. Undefined for types without one. */
  mainPid: number | undefined;
  /** Automatic restarts since the unit was last started by request. Services only. */
  nRestarts: number | undefined;
  /** When the unit last entered the active state; undefined if it never did. */
  activeEnterTimestamp: Date | undefined;
  /** When the main process was last started; services only, undefined if never. */
  execMainStartTimestamp: Date | undefined;
  /** Unit file path; empty for units without a file. */
  fragmentPath: string;
}

type Properties = Record<string, NativeBusValue>;

/** Builds a UnitState from the Unit interface properties and the type interface properties. */
export function unitStateFromProperties(
  path: string,
  unit: Properties,
  type: Properties,
): UnitState {
  return {
    unit: stringProperty(unit, 'Id') ?? '',
    path,
    description: stringProperty(unit, 'Description') ?? '',
    loadState: stringProperty(unit, 'LoadState') ?? '',
    activeState: stringProperty(unit, 'ActiveState') ?? '',
    subState: stringProperty(unit, 'SubState') ?? '',
    result: stringProperty(type, 'Result'),
    mainPid: numberProperty(type, 'MainPID'),
    nRestarts: numberProperty(type, 'NRestarts'),
    activeEnterTimestamp: timestampProperty(unit, 'ActiveEnterTimestamp'),
    execMainStartTimestamp: timestampProperty(type, 'ExecMainStartTimestamp'),
    fragmentPath: stringProperty(unit, 'FragmentPath') ?? '',
  };
}

function stringProperty(properties: Properties, name: string): string | undefined {
  const value = properties[name];
  return typeof value === 'string' ? value : undefined;
}

function numberProperty(properties: Properties, name: string): number | undefined {
  const value = properties[name];
  return typeof value === 'number' ? value : undefined;
}

// Timestamps are CLOCK_REALTIME microseconds (type t); 0 means "never".
function timestampProperty(properties: Properties, name: string): Date | undefined {
  const value = properties[name];
  if (typeof value !== 'bigint' || value === 0n) return undefined;
  return new Date(Number(value / 1000n));
}
