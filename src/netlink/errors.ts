// Errors of netlink requests: what failed (operation and object), the errno with its name,
// and the kernel's extended ack when it sent one.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { addon } from '../native/addon.js';

/**
 * Kind of failure: `kernel` (the kernel rejected the request), `socket` (sendmsg or
 * recvmsg failed), `dump-interrupted` (the listed objects kept changing during the dump) or
 * `closed` (the socket was closed before the reply came).
 */
export type NetlinkErrorKind = 'kernel' | 'socket' | 'dump-interrupted' | 'closed';

export interface NetlinkErrorOptions {
  kind: NetlinkErrorKind;
  /** Positive errno. */
  errno: number;
  /** Action of the request, e.g. `add address`. */
  operation: string;
  /** Object of the action, e.g. `192.0.2.79/24 on veth0`. */
  object?: string;
  /** NLMSGERR_ATTR_MSG of the extended ack. */
  extackMessage?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the rejected attribute from the start of the request. */
  extackOffset?: number;
  /** The failed system call, for kind `socket`. */
  syscall?: string;
  /** Kind `closed`: the socket was closed before the request was sent, not after. */
  unsent?: boolean;
  /** The fix to suggest, appended to the message. */
  hint?: string;
}

const { EACCES, EINTR, ENOBUFS, EPERM } = constants.errno;

const codeByErrno = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // The first name wins for aliases such as EWOULDBLOCK = EAGAIN.
  if (!codeByErrno.has(value)) codeByErrno.set(value, name);
}

/** Bit of CAP_NET_ADMIN in the capability sets (linux/capability.h). */
const CAP_NET_ADMIN = 12n;

/**
 * Returns whether this process has CAP_NET_ADMIN in its effective set, read from the CapEff
 * line of /proc/self/status, or undefined when that cannot be read. The set is the one of the
 * process's own user namespace, which owns its network namespaces unless they were created
 * from another user namespace.
 */
export function hasNetAdminCapability(statusText?: string): boolean | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const match = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  if (match === null) return undefined;
  return ((BigInt(`0x${match[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n;
}

/** Returns the errno name (`EEXIST`) and text (`File exists`) as glibc has them. */
export function describeErrno(errno: number): { code: string; description: string } {
  try {
    return addon().describeErrno(errno);
  } catch {
    // Without the addon, fall back to Node's names; the text is then just the name.
    const code = codeByErrno.get(errno) ?? `E${errno}`;
    return { code, description: code };
  }
}

/**
 * A failed netlink request. The message reads like
 * `add address 192.0.2.79/24 on veth0: File exists (EEXIST): <extended ack text>`.
 */
export class NetlinkError extends Error {
  override name = 'NetlinkError';
  readonly kind: NetlinkErrorKind;
  /** Positive errno, e.g. 17. */
  readonly errno: number;
  /** Errno name, e.g. `EEXIST`. */
  readonly code: string;
  readonly operation: string;
  readonly object: string | undefined;
  readonly extackMessage: string | undefined;
  /** Offset of the rejected attribute from the start of the request message. */
  readonly extackOffset: number | undefined;
  readonly syscall: string | undefined;
  /** The fix the library suggests, if any; also the end of the message. */
  readonly hint: string | undefined;

  constructor(options: NetlinkErrorOptions) {
    const { code, description } = describeErrno(options.errno);
    super(formatMessage(options, code, description));
    this.kind = options.kind;
    this.errno = options.errno;
    this.code = code;
    this.operation = options.operation;
    this.object = options.object;
    this.extackMessage = options.extackMessage;
    this.extackOffset = options.extackOffset;
    this.syscall = options.syscall;
    this.hint = options.hint;
  }
}

/**
 * Returns a NetlinkError like `error` with some options changed, such as the request it is
 * reported for or a hint. The extended ack offset is kept only when `changes` gives it,
 * because it points into the request that failed, not into the one named now.
 */
export function restateNetlinkError(
  error: NetlinkError,
  changes: Partial<NetlinkErrorOptions>,
): NetlinkError {
  return new NetlinkError({
    kind: error.kind,
    errno: error.errno,
    operation: error.operation,
    ...(error.object !== undefined && { object: error.object }),
    ...(error.extackMessage !== undefined && { extackMessage: error.extackMessage }),
    ...(error.syscall !== undefined && { syscall: error.syscall }),
    ...(error.hint !== undefined && { hint: error.hint }),
    ...changes,
  });
}

/**
 * A dump that the kernel marked NLM_F_DUMP_INTR on every attempt: the objects kept changing
 * while they were listed, so no consistent list came back. Its code stays EINTR; retrying
 * later is the remedy.
 */
export class DumpInterruptedError extends NetlinkError {
  override name = 'DumpInterruptedError';
  /** Dump attempts made. */
  readonly attempts: number;

  constructor(options: { operation: string; object?: string; attempts: number }) {
    super({ kind: 'dump-interrupted', errno: EINTR, ...options });
    this.attempts = options.attempts;
    this.message = `${this.message}: the dump was interrupted by concurrent changes on all ${options.attempts} attempts; retry it`;
  }
}

function formatMessage(options: NetlinkErrorOptions, code: string, description: string): string {
  const subject =
    options.object === undefined ? options.operation : `${options.operation} ${options.object}`;

  let reason: string;
  switch (options.kind) {
    case 'closed':
      reason =
        options.unsent === true
          ? `the netlink socket is closed, so nothing was sent (${code})`
          : `the netlink socket was closed before the reply arrived (${code})`;
      break;
    case 'socket':
      reason = `${options.syscall ?? 'netlink socket call'} failed: ${description} (${code})`;
      if (options.errno === ENOBUFS) {
        reason += ': the kernel dropped messages for lack of receive buffer; raise receiveBuffer';
      }
      break;
    default:
      reason = `${description} (${code})`;
  }

  let message = `${subject}: ${reason}`;
  if (options.extackMessage !== undefined && options.extackMessage !== '') {
    message += `: ${options.extackMessage}`;
  }
  if (options.hint !== undefined) message += `: ${options.hint}`;
  // Some drivers return EPERM for other reasons (a tap refuses carrier on while no process
  // holds it), so the capability is only named when the process does not have it.
  const denied = options.kind === 'kernel' && (options.errno === EPERM || options.errno === EACCES);
  const capability = denied ? hasNetAdminCapability() : true;
  if (capability === false) {
    message +=
      ': the process lacks CAP_NET_ADMIN in the target network namespace (run as root or grant it)';
  } else if (capability === undefined) {
    message +=
      ': the process may lack CAP_NET_ADMIN in the target network namespace (run as root or grant it)';
  }
  return message;
}
