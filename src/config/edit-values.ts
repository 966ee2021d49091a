// Checks made before a key or value is written: the key must be one F-Stack reads, and the
// value must be read back by F-Stack exactly as given.

import { parseIPv4, parseIPv6 } from '../net/ip.js';
import {
  DPDK_MAX_LCORE,
  DPDK_MAX_VLAN_FILTER,
  kniPortSet,
  parseConfigList,
  parseLcoreMask,
  RTE_MAX_ETHPORTS,
  strictKniItem,
  VIP_MAX_NUM,
} from './c-parsers.js';
import type { Diagnostic } from './diagnostics.js';
import { isCSpace } from './ini.js';
import {
  describeVersions,
  type KeySpec,
  keyKnownIn,
  keysForVersion,
  matchSection,
  type SectionSpec,
} from './schema.js';
import { type FstackVersion, versionInRange } from './versions.js';

/** Reason an edit was rejected. */
export type EditErrorCode =
  | 'key-invalid'
  | 'section-unknown'
  | 'key-unknown'
  | 'value-invalid'
  | 'edit-misread'
  | 'edit-side-effect'
  | 'result-invalid';

/** An edit F-Stack would not read back as intended; nothing is written. */
export class EditError extends Error {
  override name = 'EditError';

  constructor(
    readonly code: EditErrorCode,
    message: string,
    /** Diagnostics of the rejected result, for `result-invalid`. */
    readonly diagnostics: readonly Diagnostic[] = [],
  ) {
    super(message);
  }
}

/** A key address such as `kni.enable` split into section and key name. */
export interface KeyPath {
  section: string;
  name: string;
}

const FREEBSD_SECTIONS = ['freebsd.boot', 'freebsd.sysctl'];

/**
 * Splits `section.key`. The FreeBSD sections keep their dot (`freebsd.sysctl.kern.ipc.somaxconn`
 * is key `kern.ipc.somaxconn` of `[freebsd.sysctl]`); otherwise the first dot separates.
 */
export function parseKeyPath(text: string): KeyPath {
  for (const section of FREEBSD_SECTIONS) {
    if (text.startsWith(`${section}.`) && text.length > section.length + 1) {
      return { section, name: text.slice(section.length + 1) };
    }
  }
  const dot = text.indexOf('.');
  if (dot <= 0 || dot === text.length - 1) {
    throw new EditError(
      'key-invalid',
      `"${text}" is not a key address; write section.key, e.g. kni.enable or port0.addr`,
    );
  }
  return { section: text.slice(0, dot), name: text.slice(dot + 1) };
}

/** Returns the section spec for an edit, or throws when F-Stack would not read the section. */
export function checkSectionForEdit(section: string, version: FstackVersion): SectionSpec {
  const match = matchSection(section);
  if (match === undefined) {
    throw new EditError(
      'section-unknown',
      `F-Stack does not read a section [${section}]; use dpdk, kni, pcap, port<N>, vlan<N>, vdev<N>, bond<N>, rss_check, freebsd.boot or freebsd.sysctl`,
    );
  }
  if (!versionInRange(version, match.spec.since)) {
    throw new EditError(
      'section-unknown',
      `F-Stack ${version} does not read [${section}] (read by ${describeVersions(match.spec.since)})`,
    );
  }
  return match.spec;
}

/** Returns the key spec for an edit (undefined for FreeBSD tunables), or throws. */
export function checkKeyForEdit(
  spec: SectionSpec,
  path: KeyPath,
  version: FstackVersion,
): KeySpec | undefined {
  if (spec.anyKey) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(path.name)) {
      throw new EditError(
        'key-invalid',
        `"${path.name}" is not a FreeBSD tunable name (letters, digits, _, . and -)`,
      );
    }
    return undefined;
  }
  const known = spec.keys.find((candidate) => candidate.name === path.name);
  if (known === undefined || !keyKnownIn(known, version)) {
    const names = keysForVersion(spec.kind, version).map((candidate) => candidate.name);
    const reason =
      known !== undefined
        ? `F-Stack ${version} does not read ${path.name} in [${path.section}] (read by ${describeVersions(known.since, known.until)})`
        : `F-Stack ${version} does not read ${path.name} in [${path.section}]`;
    throw new EditError('key-unknown', `${reason}; known keys: ${names.join(', ')}`);
  }
  return known;
}

/**
 * Checks a value before writing `name=value`. Throws an EditError saying what F-Stack would
 * misread: line breaks, surrounding whitespace, comment characters, or a value its parser
 * for this key does not read as written.
 */
export function checkValueForEdit(path: KeyPath, spec: KeySpec | undefined, value: string): void {
  const reject = (reason: string): never => {
    throw new EditError(
      'value-invalid',
      `invalid value ${JSON.stringify(value)} for ${path.section}.${path.name}: ${reason}`,
    );
  };

  if (/[\n\r\0]/.test(value)) reject('it contains a line break or NUL byte');
  if (value.length > 0 && (isCSpace(value[0]) || isCSpace(value[value.length - 1]))) {
    reject('F-Stack trims leading and trailing whitespace');
  }
  if (/\s;/.test(value))
    reject('a ; after whitespace starts a comment, so F-Stack would cut the value there');
  if (/\s#/.test(value))
    reject('text after " #" looks like a comment but F-Stack keeps it; remove it');
  if (spec === undefined) return;

  switch (spec.kind) {
    case 'integer':
      checkInteger(path, value, reject);
      return;
    case 'ipv4':
      if (parseIPv4(value) === undefined) reject('not an IPv4 address in dotted-quad form');
      return;
    case 'ipv6':
      if (parseIPv6(value) === undefined) reject('not an IPv6 address');
      return;
    case 'ipv4-list':
    case 'ipv6-list':
      checkAddressList(value, spec.kind === 'ipv4-list' ? 4 : 6, reject);
      return;
    case 'number-list':
      checkNumberList(path, value, reject);
      return;
    case 'lcore-mask':
      if (!/^(0[xX])?[0-9a-fA-F]+$/.test(value) || parseLcoreMask(value).failure !== undefined) {
        reject('not a hexadecimal lcore mask with at least one of lcores 0-127 set');
      }
      return;
    case 'kni-ports':
      checkKniPorts(value, reject);
      return;
    case 'enum':
      if (!(spec.values ?? []).includes(value))
        reject(`expected one of ${(spec.values ?? []).join(', ')}`);
      return;
    case 'string':
      return;
  }
}

function checkInteger(path: KeyPath, value: string, reject: (reason: string) => never): void {
  if (!/^(0|-?[1-9][0-9]*)$/.test(value) || Math.abs(Number(value)) > 2 ** 31 - 1) {
    reject('not a decimal integer');
  }
  const number = Number(value);
  if (
    (path.name === 'prefix_len' || path.name === 'vip_prefix_len') &&
    (number < 0 || number > 128)
  ) {
    reject('an IPv6 prefix length is 0-128');
  }
  if (path.section === 'kni' && path.name === 'type' && number !== 0 && number !== 1) {
    reject('type is 0 (rte_kni) or 1 (virtio_user)');
  }
  if (path.name === 'portid' && (number < 0 || number > 65535)) reject('a port id is 0-65535');
}

function checkAddressList(value: string, family: 4 | 6, reject: (reason: string) => never): void {
  const items = value.split(';');
  if (items.length > VIP_MAX_NUM) reject(`F-Stack reads at most ${VIP_MAX_NUM} addresses`);
  const parse = family === 4 ? parseIPv4 : parseIPv6;
  const bad = items.find((item) => parse(item) === undefined);
  if (bad !== undefined)
    reject(`"${bad}" is not an IPv${family} address (separate addresses with ; and no spaces)`);
}

function checkNumberList(path: KeyPath, value: string, reject: (reason: string) => never): void {
  if (!/^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/.test(value)) {
    reject('write comma-separated numbers and low-high ranges without spaces, e.g. 0-3,5');
  }
  for (const item of value.split(',')) {
    const [low, high = low] = item.split('-').map(Number) as [number, number?];
    if (low > 65535 || high > 65535) reject(`"${item}" is outside 0-65535`);
    if (low > high) reject(`range "${item}" ends below its start`);
    if (path.name === 'lcore_list' && high >= DPDK_MAX_LCORE)
      reject(`lcore ids are 0-${DPDK_MAX_LCORE - 1}`);
  }
  let max = RTE_MAX_ETHPORTS;
  if (path.name === 'lcore_list') max = DPDK_MAX_LCORE;
  if (path.name === 'vlan_filter') max = DPDK_MAX_VLAN_FILTER;
  const list = parseConfigList(value, max);
  if (list.failure !== undefined) reject(`F-Stack reads at most ${max} values here`);
  if (list.oddities.some((oddity) => oddity.kind === 'duplicate'))
    reject('a value is listed twice');
}

function checkKniPorts(value: string, reject: (reason: string) => never): void {
  if (value === '')
    reject('F-Stack reads an empty port list as port 0; unset the key to match no port');
  const intended = new Set<number>();
  for (const item of value.split(',')) {
    const range = /^[0-9]+(-[0-9]+)?$/.test(item) ? strictKniItem(item) : undefined;
    if (range === undefined)
      reject(
        `"${item}" is not a port (0-65535) or low-high range; separate items with commas, no spaces`,
      );
    for (let port = range.first; port <= range.last; port++) intended.add(port);
  }
  const read = kniPortSet(value);
  if (read.length !== intended.size || read.some((port) => !intended.has(port))) {
    reject("F-Stack's KNI port parser would read other ports than written");
  }
}
