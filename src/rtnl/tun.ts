// Tun and tap devices held open by this process, as F-Stack 1.25 and later create the kernel
// side of their exception path: a tap named veth<port> that vanishes with its fd.
import { Buffer } from 'node:buffer';
import { addon } from '../native/addon.js';
import type { NativeNetnsTarget } from '../native/native.js';
import { hasInvalidNameByte, NAME_BYTE_RULE } from '../net/interface-name.js';
import { resolveNetnsTarget } from '../netlink/netns.js';
import type { NetnsTarget } from './types.js';

/** IFNAMSIZ - 1: interface names are at most 15 bytes. */
const MAX_NAME_BYTES = 15;

export interface TunOptions {
  /** Interface name, at most 15 bytes; a `%d` lets the kernel pick a number (`tap%d`). */
  name: string;
  /** A tap device (Ethernet frames, IFF_TAP) instead of tun (IP packets); default false. */
  tap?: boolean;
  /** Keep the device after its fd is closed (TUNSETPERSIST); default false. */
  persist?: boolean;
  /** Namespace to create the device in; default the calling process's namespace. */
  netns?: NetnsTarget;
}

/** An open tun or tap device. The device exists at least as long as `fd` is open. */
export interface TunDevice {
  readonly fd: number;
  /** The name the kernel gave the device. */
  readonly name: string;
  readonly tap: boolean;
  /** Sets or clears TUNSETPERSIST: whether the device outlives the fd. */
  setPersist(persist: boolean): void;
  /** Closes the fd, which removes a device that is not persistent. Closing again does nothing. */
  close(): void;
}

/**
 * Creates a tun or tap device without packet information headers (IFF_NO_PI) and returns
 * it open. Like `ip tuntap add dev NAME mode tap` when `persist` is set; without it the
 * device disappears when the fd is closed or the process exits. Throws an Error with
 * `code` EBUSY when another fd has a device of that name open, EPERM without CAP_NET_ADMIN.
 */
export function createTun(options: TunOptions): TunDevice {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createTun options must be an object');
  }
  const name = checkInterfaceName(options.name);
  const tap = checkFlag(options.tap, 'tap');
  const persist = checkFlag(options.persist, 'persist');
  const target: NativeNetnsTarget =
    options.netns === undefined ? {} : resolveNetnsTarget(options.netns);

  const created = addon().tunCreate(name, { ...target, tap, persist, noPi: true });
  const fd = created.fd;
  let open = true;
  return {
    fd,
    name: created.name,
    tap,
    setPersist(value: boolean) {
      if (!open) throw new Error(`tun device ${created.name}: the fd is closed`);
      addon().tunSetPersist(fd, checkFlag(value, 'persist'));
    },
    close() {
      if (!open) return;
      open = false;
      addon().closeFd(fd);
    },
  };
}

/**
 * Checks an interface name for a tun device: 1 to 15 bytes, no '/', no whitespace, not
 * '.' or '..'. Throws TypeError or RangeError; returns the name.
 */
export function checkInterfaceName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new TypeError(`interface name must be a string, got ${typeof name}`);
  }
  const bytes = Buffer.byteLength(name);
  if (
    bytes === 0 ||
    bytes > MAX_NAME_BYTES ||
    name === '.' ||
    name === '..' ||
    hasInvalidNameByte(name)
  ) {
    throw new RangeError(
      `invalid interface name ${JSON.stringify(name)}: expected 1 to ${MAX_NAME_BYTES} bytes, not . or .., ${NAME_BYTE_RULE}`,
    );
  }
  return name;
}

function checkFlag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new TypeError(`${what} must be a boolean, got ${typeof value}`);
  return value;
}
