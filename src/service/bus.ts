// Promise-based D-Bus connection over the addon's sd-bus binding.
import { addon } from '../native/addon.js';
import type {
  NativeBusArgument,
  NativeBusConnection,
  NativeBusOpenOptions,
  NativeBusSignal,
  NativeBusValue,
} from '../native/native-bus.js';
import { type CallContext, callTimeoutError, errorFromBus, SystemdError } from './errors.js';

/**
 * The systemd instance to connect to, and how:
 * - 'system': PID 1. As root, directly over /run/systemd/private when it exists (as
 *   `systemctl` does), else through the system bus.
 * - 'user': the calling user's manager, over $XDG_RUNTIME_DIR/systemd/private when it exists
 *   (as `systemctl --user` does), else through the session bus.
 * - { address }: a bus daemon at a D-Bus address such as unix:path=/run/user/0/bus, or with
 *   `direct: true` a systemd private socket such as unix:path=/run/systemd/private.
 */
export type BusTarget = 'system' | 'user' | { address: string; direct?: boolean };

/** Checks a BusTarget and returns the addon's open options. Throws TypeError on misuse. */
export function normalizeBusTarget(target: unknown): NativeBusOpenOptions {
  if (target === 'system' || target === 'user') return { bus: target };
  if (typeof target === 'object' && target !== null) {
    const { address, direct } = target as { address?: unknown; direct?: unknown };
    if (typeof address !== 'string' || address === '') {
      throw new TypeError(
        'bus.address must be a non-empty D-Bus address such as unix:path=/run/systemd/private',
      );
    }
    if (direct !== undefined && typeof direct !== 'boolean') {
      throw new TypeError('bus.direct must be a boolean');
    }
    return { bus: 'address', address, direct: direct ?? false };
  }
  throw new TypeError(`bus must be 'system', 'user' or { address }, got ${JSON.stringify(target)}`);
}

/** Options of one method call. */
export interface CallOptions extends Partial<Pick<CallContext, 'unit'>> {
  /** Time limit for the reply in ms. */
  timeoutMs: number;
  /** Bus name to send to; org.freedesktop.systemd1 unless set. */
  destination?: string;
}

const SYSTEMD_BUS_NAME = 'org.freedesktop.systemd1';

/** One connection to a bus or to a systemd private socket. */
export class DBusConnection {
  readonly #native: NativeBusConnection;
  #lost: SystemdError | undefined;
  readonly #disconnectListeners = new Set<(error: SystemdError) => void>();

  private constructor(native: NativeBusConnection) {
    this.#native = native;
  }

  /**
   * Connects to `target`. Throws SystemdError ENOSYSTEMD when libsystemd is missing and
   * ECONNECT when the socket cannot be reached.
   */
  static open(target: BusTarget): DBusConnection {
    const options = normalizeBusTarget(target);
    let connection: DBusConnection | undefined;

    const onDisconnect = (errno: number, message: string): void => {
      if (connection !== undefined)
        connection.#disconnected(new SystemdError('EDISCONNECTED', message, { errno }));
    };

    try {
      connection = new DBusConnection(new (addon().BusConnection)({ ...options, onDisconnect }));
    } catch (error) {
      throw openError(error);
    }
    return connection;
  }

  /** Address connected to, as sd-bus reports it. */
  get address(): string {
    return this.#native.address;
  }

  /** True for a direct connection to a systemd private socket (no bus daemon). */
  get direct(): boolean {
    return this.#native.direct;
  }

  /** Set once the connection is lost; later calls reject with it. */
  get lost(): SystemdError | undefined {
    return this.#lost;
  }

  /**
   * Calls a method and resolves with the reply's values. Rejects with a SystemdError:
   * ETIMEDOUT when no reply came within `options.timeoutMs`, ENOSUCHUNIT, EDISCONNECTED or
   * EDBUS for error replies.
   */
  call(
    path: string,
    iface: string,
    member: string,
    signature: string,
    args: NativeBusArgument[],
    options: CallOptions,
  ): Promise<NativeBusValue[]> {
    const context: CallContext = { operation: member, timeoutMs: options.timeoutMs };
    if (options.unit !== undefined) context.unit = options.unit;

    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let id: number;
      try {
        id = this.#native.call(
          options.destination ?? SYSTEMD_BUS_NAME,
          path,
          iface,
          member,
          signature,
          args,
          options.timeoutMs,
          (error, values) => {
            clearTimeout(timer);
            if (error !== null) reject(errorFromBus(error, context));
            else resolve(values ?? []);
          },
        );
      } catch (error) {
        reject(this.#localError(error, context));
        return;
      }

      // sd-bus enforces the same timeout once the connection is authenticated; this timer
      // also covers a peer that stalls the handshake.
      timer = setTimeout(() => {
        this.#native.cancel(id);
        reject(callTimeoutError(context));
      }, options.timeoutMs);
    });
  }

  /**
   * Adds a signal match and resolves once it is active: on a bus, when the daemon accepted
   * AddMatch; on a direct connection, at once. Resolves with a function that removes it.
   */
  addMatch(rule: string, onSignal: (signal: NativeBusSignal) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      let id = 0;
      const remove = (): void => this.#native.removeMatch(id);
      try {
        id = this.#native.addMatch(rule, onSignal, (error) => {
          if (error === null) {
            resolve(remove);
            return;
          }
          remove();
          reject(errorFromBus(error, { operation: 'AddMatch', timeoutMs: 0 }));
        });
      } catch (error) {
        reject(this.#localError(error, { operation: 'AddMatch', timeoutMs: 0 }));
        return;
      }
      if (this.direct) resolve(remove);
    });
  }

  /** Registers a listener for connection loss; returns a function that removes it. */
  onDisconnect(listener: (error: SystemdError) => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /** Number of calls waiting for a reply. */
  pending(): number {
    return this.#native.pending();
  }

  /** Closes the connection; pending calls reject with EDISCONNECTED. Safe to call twice. */
  close(): void {
    this.#native.close();
  }

  #disconnected(error: SystemdError): void {
    this.#lost = error;
    for (const listener of this.#disconnectListeners) listener(error);
  }

  // Errors thrown by the addon before anything was sent: misuse stays a TypeError or
  // RangeError, a closed connection becomes EDISCONNECTED.
  #localError(error: unknown, context: CallContext): unknown {
    if (error instanceof TypeError || error instanceof RangeError) return error;
    const { code, errno, message } = error as {
      code?: unknown;
      errno?: unknown;
      message?: unknown;
    };
    if (code === 'EDISCONNECTED') {
      return new SystemdError('EDISCONNECTED', `${context.operation} failed: ${String(message)}`, {
        operation: context.operation,
        ...(context.unit === undefined ? {} : { unit: context.unit }),
        ...(typeof errno === 'number' ? { errno } : {}),
        cause: error,
      });
    }
    return error;
  }
}

function openError(error: unknown): unknown {
  if (error instanceof TypeError) return error;
  const { code, errno, message } = error as { code?: unknown; errno?: unknown; message?: unknown };
  if (code === 'ENOSYSTEMD') {
    return new SystemdError('ENOSYSTEMD', String(message), { operation: 'connect', cause: error });
  }
  return new SystemdError('ECONNECT', String(message), {
    operation: 'connect',
    ...(typeof errno === 'number' ? { errno } : {}),
    cause: error,
  });
}
