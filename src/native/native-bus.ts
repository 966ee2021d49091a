// The D-Bus (sd-bus) part of the addon boundary; see native.ts for the rest.
//
// libsystemd.so.0 is opened with dlopen on first use, so the addon loads without it. The
// environment variable FSTACK_KNI_LIBSYSTEMD names another library file, which tests use to
// simulate a host without libsystemd. The name is read on every load attempt.

/**
 * A decoded D-Bus value. Integer types up to 32 bits and doubles are numbers, 64-bit
 * integers (x, t) are bigints, byte arrays (ay) are Buffers, other arrays and structs are
 * arrays, dictionaries (a{..}) are plain objects keyed by the key's string form, variants
 * are their contained value, and unix fds (h) are null.
 */
export type NativeBusValue =
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | null
  | NativeBusValue[]
  | { [key: string]: NativeBusValue };

/** An argument for a method call: basic values, or arrays of them for `a<basic>` types. */
export type NativeBusArgument =
  | string
  | number
  | bigint
  | boolean
  | Array<string | number | bigint | boolean>;

/** A D-Bus error reply, or a local failure described the same way. */
export interface NativeBusError {
  /** D-Bus error name, e.g. org.freedesktop.systemd1.NoSuchUnit. */
  name: string;
  message: string;
  /** Positive errno value sd-bus maps the error to; 0 when it has none. */
  errno: number;
}

/**
 * Completion of a method call: `error` is null on success and `values` then contains the
 * reply's arguments. Local failures use the names org.freedesktop.DBus.Error.Disconnected
 * (errno ECANCELED when close() was called, ECONNRESET when the connection was lost),
 * org.freedesktop.DBus.Error.NoReply (sd-bus's reply timeout, errno ETIMEDOUT) and
 * org.freedesktop.DBus.Error.InconsistentMessage (a reply that could not be decoded).
 */
export type NativeBusReplyCallback = (
  error: NativeBusError | null,
  values: NativeBusValue[] | undefined,
) => void;

/** A received signal. */
export interface NativeBusSignal {
  path: string | undefined;
  interface: string | undefined;
  member: string | undefined;
  /** Unique or well-known name of the sender; undefined when the peer sent none. */
  sender: string | undefined;
  values: NativeBusValue[];
  /** Set when the body could not be decoded; `values` is then empty. */
  error?: NativeBusError;
}

export interface NativeBusOpenOptions {
  /**
   * 'system': as root and when /run/systemd/private exists, a direct connection to PID 1
   * there, else the system bus. 'user': $XDG_RUNTIME_DIR/systemd/private directly when it
   * exists, else the session bus. 'address': `address`, as a bus client (with Hello)
   * unless `direct` is set.
   */
  bus: 'system' | 'user' | 'address';
  /** D-Bus address such as unix:path=/run/user/0/bus; only with bus 'address'. */
  address?: string;
  /** The address is a peer (a systemd private socket), not a bus daemon. */
  direct?: boolean;
  /** Called once when the connection is lost (not when close() is called). */
  onDisconnect?: (errno: number, message: string) => void;
}

/**
 * One sd-bus connection integrated with the Node event loop. It keeps the process alive
 * only while a call or a match installation is pending. Direct connections refuse a peer
 * that is neither root nor this user (EPERM), as systemctl does.
 */
export interface NativeBusConnection {
  /** Address connected to, as sd-bus reports it. */
  readonly address: string;
  /** True for a peer-to-peer connection to systemd (no bus daemon, no Hello, no sender names). */
  readonly direct: boolean;
  /**
   * Sends a method call and returns its id for cancel(). `signature` accepts basic types
   * and arrays of basic types; `timeoutMs` 0 selects sd-bus's default of 25 s. sd-bus
   * applies the timeout only once authenticated, so a peer that stalls the handshake needs
   * cancel() from a timer. Throws TypeError or RangeError for arguments that do not fit the
   * signature, and an Error with `code` 'EDISCONNECTED' when the connection is closed or
   * lost.
   */
  call(
    destination: string | null,
    path: string,
    iface: string,
    member: string,
    signature: string,
    args: NativeBusArgument[],
    timeoutMs: number,
    callback: NativeBusReplyCallback,
  ): number;
  /** Drops a pending call without running its callback; unknown ids are ignored. */
  cancel(id: number): void;
  /**
   * Adds a match rule and returns its id. On a bus connection the rule is sent with
   * AddMatch, and `onInstalled` runs with the daemon's reply. On a direct connection the
   * rule is active when addMatch returns, and `onInstalled` never runs.
   */
  addMatch(
    rule: string,
    onSignal: (signal: NativeBusSignal) => void,
    onInstalled?: (error: NativeBusError | null) => void,
  ): number;
  /** Removes a match; unknown ids are ignored. */
  removeMatch(id: number): void;
  /** Number of calls waiting for a reply. */
  pending(): number;
  /**
   * Closes the connection: pending calls complete with a Disconnected error (errno
   * ECANCELED). A connection with matches stays in memory until it is closed.
   */
  close(): void;
}

export interface NativeBusLibrary {
  /** Library file name tried: libsystemd.so.0 or $FSTACK_KNI_LIBSYSTEMD. */
  name: string;
  available: boolean;
  /** "systemd is not available: ..." with the dlopen error, when not available. */
  error?: string;
}

export interface NativeBusExports {
  /**
   * Connects synchronously (socket connect; authentication continues in the event loop).
   * Throws an Error with `code` 'ENOSYSTEMD' when libsystemd cannot be loaded, or with the
   * errno name as `code` and `errno` when connecting fails.
   */
  BusConnection: new (
    options: NativeBusOpenOptions,
  ) => NativeBusConnection;
  /** Loads libsystemd when not loaded yet and reports whether sd-bus is usable. */
  busLibrary(): NativeBusLibrary;
}
