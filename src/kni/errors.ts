// The error the converge engine raises before it touches the kernel.

/** Stable codes of KniError, for scripts and tests. */
export type KniErrorCode =
  /** f-stack.conf has validation errors; `details` lists them. */
  | 'CONFIG_INVALID'
  /** `[kni] enable` is missing or 0, so F-Stack creates no veth interface. */
  | 'KNI_DISABLED'
  /** A requested port is not in `[dpdk] port_list`, or its section lacks a key. */
  | 'PORT_INVALID'
  /** An option value is malformed (interface name, MAC, metric). */
  | 'OPTION_INVALID'
  /** The plan cannot be applied: an interface is missing or a route would collide. */
  | 'PLAN_BLOCKED';

/** The f-stack.conf key an error is about, such as `addr` of `port0`. */
export interface ConfigKey {
  /** Section name without brackets: `port0`, `vlan10`. */
  section: string;
  key: string;
}

/** A failure found before any change was made; exit code 1. */
export class KniError extends Error {
  override name = 'KniError';
  readonly exitCode = 1;
  /** The config key whose value caused the error, when one did. */
  readonly configKey?: ConfigKey;

  constructor(
    readonly code: KniErrorCode,
    message: string,
    /** One line per underlying problem (config diagnostics, blockers). */
    readonly details: string[] = [],
    configKey?: ConfigKey,
  ) {
    super(details.length === 0 ? message : `${message}\n  ${details.join('\n  ')}`);
    if (configKey !== undefined) this.configKey = configKey;
  }
}
