// Control of systemd units over D-Bus: the part of systemctl this project needs.
import { performance } from 'node:perf_hooks';
import type { NativeBusValue } from '../native/native-bus.js';
import { type BusTarget, DBusConnection } from './bus.js';
import { DBusErrorName, SystemdError } from './errors.js';
import {
  JOB_MODES,
  type JobMethod,
  type JobMode,
  type JobOutcome,
  JobRunner,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  remainingMs,
} from './jobs.js';
import { assertUnitName, unitTypeOf } from './unit-name.js';
import { type UnitState, unitStateFromProperties } from './unit-state.js';

/**
 * Default time limit of one operation, in ms: 90 s, systemd's default DefaultTimeoutStartSec=,
 * so a start job that systemd itself lets run is not cut short.
 */
export const DEFAULT_TIMEOUT_MS = 90_000;

// setTimeout's largest delay (2^31 - 1 ms, about 24.8 days).
const MAX_TIMEOUT_MS = 2_147_483_647;

const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
const UNIT_INTERFACE = 'org.freedesktop.systemd1.Unit';

export interface SystemdConnectOptions {
  /** systemd instance to talk to; 'system' unless set. */
  bus?: BusTarget;
  /** Default time limit in ms of every operation (reply and job wait); 90 000 unless set. */
  timeoutMs?: number;
}

export interface OperationOptions {
  /** Time limit in ms for this operation, replies and job wait included. */
  timeoutMs?: number;
}

export interface JobOptions extends OperationOptions {
  /** Queueing mode of the job; 'replace' unless set (systemctl's default). */
  mode?: JobMode;
}

/** A connection to one systemd instance (PID 1 or a user manager). */
export class SystemdManager {
  readonly #bus: DBusConnection;
  readonly #jobs: JobRunner;
  readonly #timeoutMs: number;
  readonly #version: string;
  #closed = false;

  private constructor(bus: DBusConnection, timeoutMs: number, version: string) {
    this.#bus = bus;
    this.#jobs = new JobRunner(bus);
    this.#timeoutMs = timeoutMs;
    this.#version = version;
  }

  /**
   * Connects to systemd and reads its version, which proves it responds. Rejects with
   * SystemdError ENOSYSTEMD when libsystemd.so.0 cannot be loaded, and ECONNECT when the
   * socket cannot be reached or systemd does not respond.
   */
  static async connect(options: SystemdConnectOptions = {}): Promise<SystemdManager> {
    const timeoutMs = normalizeTimeout(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    const bus = DBusConnection.open(options.bus ?? 'system');

    let version: NativeBusValue | undefined;
    try {
      [version] = await bus.call(
        MANAGER_PATH,
        PROPERTIES_INTERFACE,
        'Get',
        'ss',
        [MANAGER_INTERFACE, 'Version'],
        {
          timeoutMs,
        },
      );
    } catch (error) {
      bus.close();
      const reason = error instanceof Error ? error.message : String(error);
      throw new SystemdError('ECONNECT', `systemd does not respond at ${bus.address}: ${reason}`, {
        operation: 'connect',
        ...(error instanceof SystemdError && error.dbusError !== undefined
          ? { dbusError: error.dbusError }
          : {}),
        ...(error instanceof SystemdError && error.errno !== undefined
          ? { errno: error.errno }
          : {}),
        cause: error,
      });
    }
    return new SystemdManager(bus, timeoutMs, typeof version === 'string' ? version : '');
  }

  /** Address connected to, as sd-bus reports it (unix:path=...). */
  get address(): string {
    return this.#bus.address;
  }

  /** True when talking to systemd's private socket directly rather than through a bus. */
  get direct(): boolean {
    return this.#bus.direct;
  }

  /** systemd's version string (Manager property Version), e.g. "252.38-1~deb12u1". */
  get version(): string {
    return this.#version;
  }

  /**
   * Starts a unit and waits for the job to end, as `systemctl start NAME` does. Resolves
   * with the job result, so a unit that fails to start resolves with result 'failed' rather
   * than rejecting. Rejects with SystemdError EINVALIDUNITNAME (nothing sent), ENOSUCHUNIT,
   * ETIMEDOUT (the job is left running), EDISCONNECTED or EDBUS.
   */
  startUnit(name: string, options: JobOptions = {}): Promise<JobOutcome> {
    return this.#runJob('StartUnit', name, options);
  }

  /** Stops a unit and waits for the job to end, as `systemctl stop NAME` does. See startUnit. */
  stopUnit(name: string, options: JobOptions = {}): Promise<JobOutcome> {
    return this.#runJob('StopUnit', name, options);
  }

  /**
   * Restarts a unit (starts it when inactive) and waits for the job to end, as
   * `systemctl restart NAME` does. See startUnit.
   */
  restartUnit(name: string, options: JobOptions = {}): Promise<JobOutcome> {
    return this.#runJob('RestartUnit', name, options);
  }

  /**
   * Reads the state of a unit, loading it when needed, as
   * `systemctl show NAME -p Id,LoadState,ActiveState,SubState,Result,MainPID,...` does.
   * Rejects with SystemdError ENOSUCHUNIT when no unit of that name exists (LoadState
   * not-found), like `systemctl status NAME`, and with EINVALIDUNITNAME, ETIMEDOUT,
   * EDISCONNECTED or EDBUS.
   */
  async unitState(name: string, options: OperationOptions = {}): Promise<UnitState> {
    assertUnitName(name);
    const request = this.#request(options);
    this.#throwIfClosed('LoadUnit', name);
    const callOptions = () => ({ unit: name, timeoutMs: remainingMs(request) });
    const getAll = (path: string, iface: string) =>
      this.#bus.call(path, PROPERTIES_INTERFACE, 'GetAll', 's', [iface], callOptions());

    const [path] = await this.#bus.call(
      MANAGER_PATH,
      MANAGER_INTERFACE,
      'LoadUnit',
      's',
      [name],
      callOptions(),
    );
    if (typeof path !== 'string') {
      throw new SystemdError('EDBUS', `LoadUnit for ${name} returned no unit path`, {
        unit: name,
        operation: 'LoadUnit',
      });
    }

    const [unitProperties] = await getAll(path, UNIT_INTERFACE);
    const unit = asProperties(unitProperties);
    if (unit.LoadState === 'not-found') {
      throw new SystemdError('ENOSUCHUNIT', `unit ${name} not found (its LoadState is not-found)`, {
        unit: name,
        operation: 'LoadUnit',
      });
    }

    // Types such as target have no interface of their own.
    let typeProperties: NativeBusValue | undefined;
    try {
      [typeProperties] = await getAll(path, typeInterface(name));
    } catch (error) {
      if (!(error instanceof SystemdError && error.dbusError === DBusErrorName.UnknownInterface))
        throw error;
    }
    return unitStateFromProperties(path, unit, asProperties(typeProperties));
  }

  /**
   * Reloads all unit files and waits until systemd is done, as `systemctl daemon-reload`
   * does. Rejects with SystemdError ETIMEDOUT, EDISCONNECTED or EDBUS.
   */
  async reload(options: OperationOptions = {}): Promise<void> {
    const request = this.#request(options);
    this.#throwIfClosed('Reload');
    await this.#bus.call(MANAGER_PATH, MANAGER_INTERFACE, 'Reload', '', [], {
      timeoutMs: remainingMs(request),
    });
  }

  /**
   * Closes the connection. Pending operations reject with SystemdError EDISCONNECTED; jobs
   * already queued in systemd continue. Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#jobs.cancelAll(
      new SystemdError('EDISCONNECTED', `the connection to ${this.address} was closed`),
    );
    this.#bus.close();
  }

  async #runJob(method: JobMethod, name: string, options: JobOptions): Promise<JobOutcome> {
    assertUnitName(name);
    const mode = options.mode ?? 'replace';
    if (!JOB_MODES.includes(mode)) {
      throw new RangeError(
        `job mode must be one of ${JOB_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
      );
    }
    const request = this.#request(options);
    this.#throwIfClosed(method, name);
    return this.#jobs.run({ method, unit: name, mode, ...request });
  }

  #request(options: OperationOptions): { deadline: number; timeoutMs: number } {
    const timeoutMs = normalizeTimeout(options.timeoutMs, this.#timeoutMs, 'options.timeoutMs');
    return { deadline: performance.now() + timeoutMs, timeoutMs };
  }

  #throwIfClosed(operation: string, unit?: string): void {
    if (this.#closed) {
      throw new SystemdError(
        'EDISCONNECTED',
        `${operation} failed: the connection to ${this.address} is closed`,
        {
          operation,
          ...(unit === undefined ? {} : { unit }),
        },
      );
    }
  }
}

function normalizeTimeout(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    value > MAX_TIMEOUT_MS
  ) {
    throw new RangeError(
      `${name} must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${String(value)}`,
    );
  }
  return value;
}

// org.freedesktop.systemd1.Service for foo.service, .Socket for foo.socket, and so on.
function typeInterface(name: string): string {
  const type = unitTypeOf(name);
  return `org.freedesktop.systemd1.${type.charAt(0).toUpperCase()}${type.slice(1)}`;
}

function asProperties(value: NativeBusValue | undefined): Record<string, NativeBusValue> {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !Buffer.isBuffer(value)
  ) {
    return value;
  }
  return {};
}
