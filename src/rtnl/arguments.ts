// Checks of caller arguments, run before anything is encoded or sent. Following Node's own
// conventions, a value of the wrong JavaScript type or malformed text raises TypeError, and a
// number or length outside its allowed range, or values that contradict each other, raise
// RangeError. Every message names the offending value.

import { hasInvalidNameByte, NAME_BYTE_RULE } from '../net/interface-name.js';
import { formatIp, type IpAddress, maxPrefixLength, parseIp } from '../net/ip.js';
import { AF_INET, AF_INET6, AF_UNSPEC, IFNAMSIZ } from '../netlink/constants.js';
import type { Family } from './types.js';

/** A link named by interface index or by name. */
export type LinkRef = number | string;

const MAX_IFINDEX = 0x7fffffff;

/**
 * Checks an interface name with the kernel's rules (dev_valid_name): 1-15 bytes, not `.` or
 * `..`, and no `/`, `:`, NUL or whitespace.
 */
export function checkLinkName(name: unknown, valueName = 'link name'): string {
  if (typeof name !== 'string') {
    throw new TypeError(`${valueName} must be a string, got ${describe(name)}`);
  }
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > IFNAMSIZ - 1) {
    throw new RangeError(
      `${valueName} ${JSON.stringify(name)} must have 1-${IFNAMSIZ - 1} bytes, has ${bytes}`,
    );
  }
  if (name === '.' || name === '..' || hasInvalidNameByte(name)) {
    throw new TypeError(
      `${valueName} ${JSON.stringify(name)} is invalid: it must not be . or .., and must have ${NAME_BYTE_RULE}`,
    );
  }
  return name;
}

/** Checks a link given by positive interface index or by name. */
export function checkLinkRef(link: unknown, valueName = 'link'): LinkRef {
  if (typeof link === 'number') {
    if (!Number.isInteger(link) || link < 1 || link > MAX_IFINDEX) {
      throw new RangeError(
        `${valueName} index ${link} is invalid: it must be an integer from 1 to ${MAX_IFINDEX}`,
      );
    }
    return link;
  }
  if (typeof link === 'string') return checkLinkName(link, `${valueName} name`);
  throw new TypeError(`${valueName} must be an interface index or name, got ${describe(link)}`);
}

/** Checks a link given by index only, as batches need: names cannot be resolved inside one. */
export function checkLinkIndex(link: unknown, valueName = 'link'): number {
  if (typeof link === 'string') {
    throw new TypeError(
      `${valueName} ${JSON.stringify(link)} must be given by interface index here, not by name`,
    );
  }
  return checkLinkRef(link, valueName) as number;
}

/** Text naming a link in error messages: its name, or `index N`. */
export function describeLink(link: LinkRef): string {
  return typeof link === 'number' ? `index ${link}` : link;
}

/** Checks an integer in [min, max]. */
export function checkInteger(value: unknown, valueName: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${valueName} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${valueName} ${value} is out of range: it must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Checks a boolean. */
export function checkBoolean(value: unknown, valueName: string): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${valueName} must be true or false, got ${describe(value)}`);
  }
  return value;
}

/** Parses IPv4 or IPv6 address text, which must be of `family` when that is given. */
export function checkIp(text: unknown, valueName: string, family?: Family): IpAddress {
  if (typeof text !== 'string') {
    throw new TypeError(`${valueName} must be an IP address string, got ${describe(text)}`);
  }
  const parsed = parseIp(text);
  if (parsed === undefined) {
    throw new TypeError(`${valueName} ${JSON.stringify(text)} is not a valid IPv4 or IPv6 address`);
  }
  if (family !== undefined && parsed.family !== family) {
    throw new RangeError(
      `${valueName} ${text} is IPv${parsed.family}, but IPv${family} is required here`,
    );
  }
  return parsed;
}

/** Checks a prefix length for the family: 0-32 or 0-128. */
export function checkPrefixLength(
  value: unknown,
  family: Family,
  valueName = 'prefix length',
): number {
  const max = maxPrefixLength(family);
  // The common valid case returns before the name for the error message is built.
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max)
    return value;
  return checkInteger(value, `${valueName} for IPv${family}`, 0, max);
}

/** Checks an optional address family: 4 or 6. */
export function checkFamily(value: unknown, valueName = 'family'): Family | undefined {
  if (value === undefined) return undefined;
  if (value !== 4 && value !== 6) {
    throw new RangeError(`${valueName} ${describe(value)} is invalid: it must be 4 or 6`);
  }
  return value;
}

/** Parses a 6-byte MAC address written as `aa:bb:cc:dd:ee:ff` (case-insensitive). */
export function parseMac(text: unknown, valueName = 'MAC address'): Uint8Array {
  if (typeof text !== 'string') {
    throw new TypeError(
      `${valueName} must be a string like aa:bb:cc:dd:ee:ff, got ${describe(text)}`,
    );
  }
  const parts = text.split(':');
  if (!parts.every((part) => /^[0-9a-fA-F]{1,2}$/.test(part))) {
    throw new TypeError(
      `${valueName} ${JSON.stringify(text)} is not hex bytes separated by colons`,
    );
  }
  if (parts.length !== 6) {
    throw new RangeError(`${valueName} ${text} has ${parts.length} bytes, an Ethernet MAC has 6`);
  }
  return Uint8Array.from(parts, (part) => Number.parseInt(part, 16));
}

/** Formats hardware address bytes as lower-case hex pairs separated by colons. */
export function formatMac(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) text += ':';
    text += (bytes[i] as number).toString(16).padStart(2, '0');
  }
  return text;
}

/** Formats an address and prefix length as `ADDR/PLEN`. */
export function formatPrefix(address: IpAddress, prefixLength: number): string {
  return `${formatIp(address.bytes)}/${prefixLength}`;
}

/** Checks that `value` is a plain object, for option and spec arguments. */
export function checkObject(value: unknown, valueName: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${valueName} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Short text of a value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Returns the AF_* number of a family for a dump request; AF_UNSPEC asks for both. */
export function familyNumber(family: Family | undefined): number {
  if (family === undefined) return AF_UNSPEC;
  return family === 4 ? AF_INET : AF_INET6;
}
