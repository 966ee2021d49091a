// Named network namespaces, as `ip netns` manages them, and namespace file descriptors.
// The work happens in the addon; no program is run.
import { Buffer } from 'node:buffer';
import { posix } from 'node:path';
import { addon } from '../native/addon.js';
import type { NativeNetnsTarget } from '../native/native.js';
import type { NetnsTarget } from '../rtnl/types.js';

/** Directory of named namespaces used by `ip netns`. */
export const NETNS_DIRECTORY = '/run/netns';

const MAX_NAME_BYTES = 255;

export interface NetnsOptions {
  /** Absolute directory of named namespaces; default /run/netns, where `ip netns` looks. */
  directory?: string;
}

/** An open namespace file descriptor. */
export interface NetnsHandle {
  readonly fd: number;
  /** The file it was opened from. */
  readonly path: string;
  /** Closes the fd; closing again does nothing. */
  close(): void;
}

/**
 * Checks a namespace name: 1 to 255 bytes of UTF-8, no '/' or NUL, not '.' or '..'.
 * Throws TypeError for a non-string and RangeError for a bad name; returns the name.
 */
export function checkNetnsName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new TypeError(`network namespace name must be a string, got ${typeof name}`);
  }
  const bytes = Buffer.byteLength(name);
  if (
    bytes === 0 ||
    bytes > MAX_NAME_BYTES ||
    name === '.' ||
    name === '..' ||
    /[/\0]/.test(name)
  ) {
    throw new RangeError(
      `invalid network namespace name ${JSON.stringify(name)}: expected 1 to ${MAX_NAME_BYTES} bytes, no '/', not '.' or '..'`,
    );
  }
  return name;
}

/** Returns the file of a named namespace, e.g. /run/netns/NAME. */
export function netnsPath(name: string, options: NetnsOptions = {}): string {
  return posix.join(checkDirectory(options.directory), checkNetnsName(name));
}

/**
 * Rewrites the error of opening a named namespace that does not exist (ENOENT on its file)
 * as `network namespace "NAME" not found`, keeping errno, code, syscall and path. Returns
 * any other error unchanged.
 */
export function describeNetnsOpenError(
  name: string,
  error: unknown,
  options: NetnsOptions = {},
): unknown {
  const fields = error as { code?: unknown; path?: unknown };
  const path = netnsPath(name, options);
  if (
    !(error instanceof Error) ||
    fields.code !== 'ENOENT' ||
    (fields.path !== undefined && fields.path !== path)
  ) {
    return error;
  }
  const described = new Error(
    `network namespace ${JSON.stringify(name)} not found (no ${path}); list them with "ip netns list" or create it`,
    { cause: error },
  );
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'message' && key !== 'stack') Object.assign(described, { [key]: value });
  }
  return described;
}

/**
 * Creates a named network namespace: `ip netns add NAME`. Throws an Error with `code`
 * EEXIST when the name is taken, EPERM without CAP_SYS_ADMIN.
 */
export function createNetns(name: string, options: NetnsOptions = {}): void {
  addon().netnsCreate(checkNetnsName(name), checkDirectory(options.directory));
}

/**
 * Deletes a named network namespace: `ip netns delete NAME`. The namespace itself lives on
 * while a process or an open fd still uses it. Throws an Error with `code` ENOENT when
 * there is no such name.
 */
export function deleteNetns(name: string, options: NetnsOptions = {}): void {
  addon().netnsDelete(checkNetnsName(name), checkDirectory(options.directory));
}

/**
 * Opens a network namespace and returns its fd, which the caller must close. An `{ fd }`
 * target is opened again through /proc/self/fd, so the result is always a new fd. Throws
 * an Error with `code` EINVAL when the file is not a network namespace.
 */
export function openNetns(target: NetnsTarget): NetnsHandle {
  const native = resolveNetnsTarget(target);
  const path = native.netnsPath ?? `/proc/self/fd/${native.netnsFd}`;
  const fd = addon().netnsOpen(path);

  let open = true;
  return {
    fd,
    path,
    close() {
      if (!open) return;
      open = false;
      addon().closeFd(fd);
    },
  };
}

/**
 * Checks a namespace target and converts it to the addon's form. Throws TypeError or
 * RangeError on a malformed target.
 */
export function resolveNetnsTarget(target: NetnsTarget): NativeNetnsTarget {
  if (typeof target !== 'object' || target === null) {
    throw new TypeError('netns must be an object: { name }, { path } or { fd }');
  }
  const keys = Object.keys(target).filter(
    (key) => (target as Record<string, unknown>)[key] !== undefined,
  );
  if (keys.length !== 1) {
    throw new TypeError(
      `netns must have exactly one of name, path or fd, got ${JSON.stringify(keys)}`,
    );
  }

  if ('name' in target && target.name !== undefined) {
    return { netnsPath: netnsPath(target.name) };
  }
  if ('path' in target && target.path !== undefined) {
    if (typeof target.path !== 'string' || target.path === '' || target.path.includes('\0')) {
      throw new TypeError('netns path must be a non-empty string');
    }
    return { netnsPath: target.path };
  }
  if ('fd' in target && target.fd !== undefined) {
    if (!Number.isInteger(target.fd) || target.fd < 0 || target.fd > 0x7fffffff) {
      throw new RangeError(`netns fd must be a non-negative integer, got ${String(target.fd)}`);
    }
    return { netnsFd: target.fd };
  }
  throw new TypeError(
    `netns must have exactly one of name, path or fd, got ${JSON.stringify(keys)}`,
  );
}

function checkDirectory(directory: string | undefined): string {
  if (directory === undefined) return NETNS_DIRECTORY;
  if (typeof directory !== 'string' || !directory.startsWith('/') || directory.includes('\0')) {
    throw new TypeError(
      `netns directory must be an absolute path, got ${JSON.stringify(directory)}`,
    );
  }
  return posix.normalize(directory);
}
