// The C value parsers F-Stack applies to f-stack.conf values, reproduced with their quirks:
// glibc atoi/strtol, DPDK's rte_strsplit, F-Stack's __parse_config_list (port_list,
// lcore_list, vlan_filter), parse_lcore_mask, and the silent KNI port parser kni_set_bitmap.
import { isCSpace } from './ini.js';

/** RTE_MAX_ETHPORTS of a default DPDK build: port_list contains at most this many ids. */
export const RTE_MAX_ETHPORTS = 32;
/** RTE_MAX_LCORE of a default x86 DPDK build: bits of lcore_mask beyond it must be 0. */
export const RTE_MAX_LCORE = 128;
/** DPDK_MAX_LCORE of ff_config.h: lcore_list contains at most this many entries. */
export const DPDK_MAX_LCORE = 128;
/** DPDK_MAX_VLAN_FILTER of ff_config.h. */
export const DPDK_MAX_VLAN_FILTER = 128;
/** VIP_MAX_NUM of ff_config.h: vip_addr and vip_addr6 are split into at most this many items. */
export const VIP_MAX_NUM = 64;

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** Result of strtol(text, &end, 10): the value clamped to a 64-bit long, and where parsing stopped. */
export interface StrtolResult {
  value: bigint;
  /** Index of the first unparsed character (0 when no digits were read). */
  end: number;
  overflow: boolean;
}

/** glibc strtol with base 10: leading whitespace, optional sign, digits; clamps on overflow. */
export function strtol(text: string): StrtolResult {
  let i = 0;
  while (isCSpace(text[i])) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  const digitsStart = i;
  while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
  if (i === digitsStart) return { value: 0n, end: 0, overflow: false };

  let value = BigInt(text.slice(digitsStart, i));
  if (negative) value = -value;
  const overflow = value > LONG_MAX || value < LONG_MIN;
  if (value > LONG_MAX) value = LONG_MAX;
  if (value < LONG_MIN) value = LONG_MIN;
  return { value, end: i, overflow };
}

/** glibc atoi: (int) strtol(text, NULL, 10), so out-of-range values wrap to 32 bits. */
export function atoi(text: string): number {
  return Number(BigInt.asIntN(32, strtol(text).value));
}

/** True when atoi reads the whole text as a decimal integer that fits an int. */
export function isCleanInteger(text: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(text)) return false;
  const value = BigInt(text);
  return value >= -(1n << 31n) && value < 1n << 31n;
}

/** (uint16_t) conversion of an integer. */
export function toUint16(value: number | bigint): number {
  return Number(BigInt.asUintN(16, BigInt(value)));
}

/**
 * DPDK rte_strsplit: splits at `delimiter` into at most `maxTokens` tokens. Empty text gives
 * no token, a trailing delimiter adds none, two delimiters in a row give an empty token, and
 * the last allowed token keeps the rest of the text, delimiters included.
 */
export function rteStrsplit(text: string, delimiter: string, maxTokens: number): string[] {
  const starts: number[] = [];
  const ends: number[] = [];
  let tokenStarts = true;
  for (let i = 0; i < text.length; i++) {
    if (starts.length >= maxTokens) break;
    if (tokenStarts) {
      tokenStarts = false;
      starts.push(i);
      ends.push(text.length);
    }
    if (text[i] === delimiter) {
      ends[ends.length - 1] = i;
      tokenStarts = true;
    }
  }
  return starts.map((start, k) => text.slice(start, ends[k]));
}

/** Reason __parse_config_list rejected a value. */
export interface ListFailure {
  reason: 'not-integer' | 'too-many';
  /** The item (after F-Stack's space stripping) that failed. */
  item: string;
}

/** Something F-Stack accepts in a list but reads differently from what it looks like. */
export interface ListOddity {
  kind: 'empty-item' | 'wraps' | 'reversed-range' | 'duplicate';
  item: string;
}

/** Result of __parse_config_list for a value. */
export interface ListParse {
  /** Sorted values, each cut to 16 bits; empty when `failure` is set. */
  values: number[];
  failure?: ListFailure;
  /** True when the value contains no item at all (F-Stack then keeps an uninitialized size). */
  empty: boolean;
  oddities: ListOddity[];
}

/**
 * F-Stack's __parse_config_list: comma-separated items, each a number or an inclusive range
 * `a-b`. Spaces (only spaces) around numbers are stripped; strtol must consume the rest, so
 * `1.5`, `0x1` or `a` are junk. An empty item reads as 0. Values are cut to 16 bits and sorted.
 * More than `maxElements` values fail. (F-Stack's own check lets one more value through and
 * writes it past the end of its array; that is reported as a failure here too.)
 */
export function parseConfigList(value: string, maxElements: number): ListParse {
  const input = value.slice(0, 4095);
  const tokens = rteStrsplit(input, ',', 128);
  const values: number[] = [];
  const oddities: ListOddity[] = [];
  const fail = (reason: ListFailure['reason'], item: string): ListParse => ({
    values: [],
    failure: { reason, item },
    empty: false,
    oddities,
  });

  for (const token of tokens) {
    const dash = token.indexOf('-');
    if (dash < 0) {
      const item = stripSpaces(token);
      const parsed = strtol(item);
      if (parsed.end !== item.length) return fail('not-integer', item);
      if (item === '') oddities.push({ kind: 'empty-item', item: token });
      if (values.length >= maxElements) return fail('too-many', item);
      if (parsed.value < 0n || parsed.value > 65535n) oddities.push({ kind: 'wraps', item });
      values.push(toUint16(parsed.value));
      continue;
    }

    const lower = stripSpaces(token.slice(0, dash));
    const upper = stripSpaces(token.slice(dash + 1));
    const low = strtol(lower);
    if (low.end !== lower.length) return fail('not-integer', lower);
    const high = strtol(upper);
    if (high.end !== upper.length) return fail('not-integer', upper);
    if (lower === '' || upper === '') oddities.push({ kind: 'empty-item', item: token });

    if (low.value > high.value) {
      oddities.push({ kind: 'reversed-range', item: token });
      continue;
    }
    const count = high.value - low.value + 1n;
    if (BigInt(values.length) + count > BigInt(maxElements)) return fail('too-many', token);
    if (low.value < 0n || high.value > 65535n) oddities.push({ kind: 'wraps', item: token });
    for (let j = low.value; j <= high.value; j++) values.push(toUint16(j));
  }

  if (values.length === 0) return { values: [], empty: true, oddities };

  values.sort((a, b) => a - b);
  const seen = new Set<number>();
  for (const v of values) {
    if (seen.has(v)) oddities.push({ kind: 'duplicate', item: String(v) });
    seen.add(v);
  }
  return { values, empty: false, oddities };
}

/** Reason parse_lcore_mask rejects a mask. */
export type LcoreMaskFailure = 'empty' | 'not-hex' | 'too-wide' | 'no-lcore';

/** Result of parse_lcore_mask for lcore_mask. */
export interface LcoreMaskParse {
  /** Enabled lcore ids, ascending; empty when `failure` is set. */
  lcores: number[];
  failure?: LcoreMaskFailure;
}

/**
 * F-Stack's parse_lcore_mask: blanks (space, tab) around the mask and a `0x` prefix are
 * dropped, then every character must be a hex digit. Bits beyond RTE_MAX_LCORE must be 0, and
 * with process id 0 (the default) at least one lcore must be set.
 */
export function parseLcoreMask(value: string): LcoreMaskParse {
  let text = value;
  let start = 0;
  while (text[start] === ' ' || text[start] === '\t') start++;
  text = text.slice(start);
  if (text[0] === '0' && (text[1] === 'x' || text[1] === 'X')) text = text.slice(2);
  let end = text.length;
  while (end > 0 && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  text = text.slice(0, end);
  if (text.length === 0) return { lcores: [], failure: 'empty' };

  const lcores: number[] = [];
  let bit = 0;
  let i = text.length - 1;
  for (; i >= 0 && bit < RTE_MAX_LCORE; i--) {
    if (!/[0-9a-fA-F]/.test(text[i] as string)) return { lcores: [], failure: 'not-hex' };
    const digit = Number.parseInt(text[i] as string, 16);
    for (let j = 0; j < 4 && bit < RTE_MAX_LCORE; j++, bit++) {
      if ((digit >> j) & 1) lcores.push(bit);
    }
  }
  for (; i >= 0; i--) {
    if (text[i] !== '0')
      return {
        lcores: [],
        failure: /[0-9a-fA-F]/.test(text[i] as string) ? 'too-wide' : 'not-hex',
      };
  }
  if (lcores.length === 0) return { lcores: [], failure: 'no-lcore' };
  return { lcores };
}

/** One item of a KNI port list as the silent parser reads it. */
export interface KniPortItem {
  /** The item text, from its start up to the next comma. */
  text: string;
  /** Byte offset of the item inside the value. */
  offset: number;
  /** Ports F-Stack sets for this item: first and last of an inclusive range, or nothing. */
  range?: { first: number; last: number };
  /** True when the range covers all 65536 ports. */
  all: boolean;
}

/**
 * F-Stack's kni_set_bitmap (lib/ff_dpdk_kni.c), item by item. Each item is read with atoi, so
 * `http` is 0 and `80 443` is 80. An item is a range when a `-` occurs before the character
 * preceding the next comma, or anywhere when no comma follows. The bounds are atoi of the item
 * and of the text after the `-`, so `8080-` sets nothing and `-5` is -5 to 5. Values are cut
 * to 16 bits, so 65616 is port 80 and -1 is 65535. An empty item is port 0.
 */
export function readKniPortItems(value: string): KniPortItem[] {
  const items: KniPortItem[] = [];
  let head = 0;
  for (;;) {
    const tail = value.indexOf(',', head);
    const dash = value.indexOf('-', head);
    const text = value.slice(head, tail < 0 ? value.length : tail);

    if (dash >= 0 && (tail < 0 || dash < tail - 1)) {
      const first = atoi(value.slice(head));
      const last = atoi(value.slice(dash + 1));
      if (first > last) items.push({ text, offset: head, all: false });
      else if (last - first >= 65535)
        items.push({ text, offset: head, range: { first: 0, last: 65535 }, all: true });
      else items.push({ text, offset: head, range: { first, last }, all: false });
    } else {
      const port = atoi(value.slice(head));
      items.push({ text, offset: head, range: { first: port, last: port }, all: false });
    }

    if (tail < 0) break;
    head = tail + 1;
  }
  return items;
}

/** Returns the sorted, distinct ports F-Stack's KNI filter matches for a tcp_port or udp_port value. */
export function kniPortSet(value: string | undefined): number[] {
  if (value === undefined) return [];
  const bits = new Uint8Array(65536);
  // Only the span between the lowest and highest port set is scanned at the end. Every
  // status, apply and watch start parses the config, and scanning all 65536 entries took
  // most of that parse.
  let lowest = 65536;
  let highest = -1;
  for (const item of readKniPortItems(value)) {
    if (item.range === undefined) continue;
    if (item.all) {
      bits.fill(1);
      lowest = 0;
      highest = 65535;
      break;
    }
    for (let port = item.range.first; port <= item.range.last; port++) {
      // atoi returns an int, so the low 16 bits are what toUint16 computes, without a BigInt.
      const index = port & 0xffff;
      bits[index] = 1;
      lowest = Math.min(lowest, index);
      highest = Math.max(highest, index);
    }
  }

  const ports: number[] = [];
  for (let port = lowest; port <= highest; port++) {
    if (bits[port] === 1) ports.push(port);
  }
  return ports;
}

/** Returns the intended reading of one KNI item: digits, or two digit groups joined by `-`. */
export function strictKniItem(text: string): { first: number; last: number } | undefined {
  const match = /^[ \t]*([0-9]{1,5})[ \t]*(?:-[ \t]*([0-9]{1,5})[ \t]*)?$/.exec(text);
  if (match === null) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first > 65535 || last > 65535 || first > last) return undefined;
  return { first, last };
}

/**
 * Reads the id like sscanf(section, "<prefix>%d", &id): leading whitespace and a sign are
 * allowed and anything after the digits is ignored. Returns undefined when no number follows.
 */
export function scanSectionId(section: string, prefix: string): number | undefined {
  if (!section.startsWith(prefix)) return undefined;
  const rest = section.slice(prefix.length);
  const parsed = strtol(rest);
  if (parsed.end === 0) return undefined;
  return Number(BigInt.asIntN(32, parsed.value));
}

function stripSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text[start] === ' ') start++;
  while (end > start && text[end - 1] === ' ') end--;
  return text.slice(start, end);
}
