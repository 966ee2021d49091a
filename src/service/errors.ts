// The error class of the systemd service layer.
import { constants } from 'node:os';
import type { NativeBusError } from '../native/native-bus.js';

const { ETIMEDOUT } = constants.errno;

/**
 * Stable failure code for scripts and the CLI:
 * - ENOSYSTEMD: libsystemd.so.0 could not be loaded, so there is no D-Bus client.
 * - ECONNECT: connecting to the bus or to systemd failed.
 * - EDISCONNECTED: the connection was closed or lost.
 * - EINVALIDUNITNAME: the unit name breaks systemd's rules; nothing was sent.
 * - ENOSUCHUNIT: systemd has no unit of that name (org.freedesktop.systemd1.NoSuchUnit).
 * - ETIMEDOUT: a reply or a job did not arrive in time.
 * - EDBUS: any other D-Bus error reply; `dbusError` names it.
 */
export type SystemdErrorCode =
  | 'ENOSYSTEMD'
  | 'ECONNECT'
  | 'EDISCONNECTED'
  | 'EINVALIDUNITNAME'
  | 'ENOSUCHUNIT'
  | 'ETIMEDOUT'
  | 'EDBUS';

export interface SystemdErrorDetails {
  /** Unit the operation was about. */
  unit?: string;
  /** Job object path, once systemd queued a job. */
  job?: string;
  /** D-Bus method or step that failed, e.g. StartUnit. */
  operation?: string;
  /** D-Bus error name from the reply, e.g. org.freedesktop.systemd1.NoSuchUnit. */
  dbusError?: string;
  /** Positive errno value, when one is known. */
  errno?: number;
  cause?: unknown;
}

/** A failed systemd operation. Own fields are enumerable so the CLI prints them with --json. */
export class SystemdError extends Error {
  override name = 'SystemdError';
  readonly code: SystemdErrorCode;
  readonly unit?: string;
  readonly job?: string;
  readonly operation?: string;
  readonly dbusError?: string;
  readonly errno?: number;

  constructor(code: SystemdErrorCode, message: string, details: SystemdErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.unit !== undefined) this.unit = details.unit;
    if (details.job !== undefined) this.job = details.job;
    if (details.operation !== undefined) this.operation = details.operation;
    if (details.dbusError !== undefined) this.dbusError = details.dbusError;
    if (details.errno !== undefined) this.errno = details.errno;
  }
}

/** D-Bus error names the service layer distinguishes. */
export const DBusErrorName = {
  NoSuchUnit: 'org.freedesktop.systemd1.NoSuchUnit',
  AlreadySubscribed: 'org.freedesktop.systemd1.AlreadySubscribed',
  UnknownInterface: 'org.freedesktop.DBus.Error.UnknownInterface',
  Disconnected: 'org.freedesktop.DBus.Error.Disconnected',
  NoReply: 'org.freedesktop.DBus.Error.NoReply',
  Timeout: 'org.freedesktop.DBus.Error.Timeout',
} as const;

/** Context of a failed call, used to word the error. */
export interface CallContext {
  /** D-Bus method name, e.g. StartUnit. */
  operation: string;
  unit?: string;
  /** Time limit the call had, for the timed-out message. */
  timeoutMs: number;
}

/** Builds the error for a call that got no reply within its time limit. */
export function callTimeoutError(context: CallContext): SystemdError {
  const { operation, unit, timeoutMs } = context;
  const subject = unit === undefined ? operation : `${operation} for ${unit}`;
  return new SystemdError(
    'ETIMEDOUT',
    `${subject} timed out after ${timeoutMs} ms without a reply`,
    {
      operation,
      ...(unit === undefined ? {} : { unit }),
      errno: ETIMEDOUT,
    },
  );
}

/** Converts a D-Bus error reply (or a local failure in the same shape) to a SystemdError. */
export function errorFromBus(error: NativeBusError, context: CallContext): SystemdError {
  const { operation, unit, timeoutMs } = context;
  const subject = unit === undefined ? operation : `${operation} for ${unit}`;
  const reply = `${error.name}: ${error.message}`;
  const details: SystemdErrorDetails = {
    operation,
    dbusError: error.name,
    ...(unit === undefined ? {} : { unit }),
    ...(error.errno === 0 ? {} : { errno: error.errno }),
  };

  switch (error.name) {
    case DBusErrorName.NoSuchUnit:
      return new SystemdError(
        'ENOSUCHUNIT',
        `unit ${unit ?? '(none)'} not found (${operation} failed with ${reply})`,
        details,
      );
    case DBusErrorName.Timeout:
    case DBusErrorName.NoReply:
      return new SystemdError(
        'ETIMEDOUT',
        `${subject} timed out after ${timeoutMs} ms without a reply (${reply})`,
        details,
      );
    case DBusErrorName.Disconnected:
      return new SystemdError('EDISCONNECTED', `${subject} failed: ${error.message}`, details);
    default:
      return new SystemdError('EDBUS', `${subject} failed with ${reply}`, details);
  }
}
