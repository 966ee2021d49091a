// Names of kernel numbers (scopes, route types and protocols, neighbour states, macvlan
// modes), as `ip` prints them. Decoding gives the name where one is known and the raw number
// otherwise, and encoding accepts either.
import {
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_NONE,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_SITE,
  RT_SCOPE_UNIVERSE,
  RTN_ANYCAST,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_BOOT,
  RTPROT_KERNEL,
  RTPROT_RA,
  RTPROT_REDIRECT,
  RTPROT_STATIC,
  RTPROT_UNSPEC,
} from '../netlink/constants.js';
import { describe } from './arguments.js';

/** A two-way table between kernel numbers and names. */
class NameTable<Name extends string> {
  private readonly byNumber = new Map<number, Name>();
  private readonly byName = new Map<string, number>();

  constructor(
    private readonly valueName: string,
    entries: ReadonlyArray<readonly [Name, number]>,
    private readonly max: number,
  ) {
    for (const [name, value] of entries) {
      this.byNumber.set(value, name);
      this.byName.set(name, value);
    }
  }

  /** Returns the name of a number, or the number itself when it has none. */
  name(value: number): Name | number {
    return this.byNumber.get(value) ?? value;
  }

  /** Returns the number of a name, or checks a raw number. Raises TypeError or RangeError. */
  number(value: unknown): number {
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 0 || value > this.max) {
        throw new RangeError(
          `${this.valueName} ${value} is out of range: it must be an integer from 0 to ${this.max}`,
        );
      }
      return value;
    }
    if (typeof value === 'string') {
      const found = this.byName.get(value);
      if (found !== undefined) return found;
      const known = [...this.byName.keys()].join(', ');
      throw new TypeError(
        `${this.valueName} ${JSON.stringify(value)} is unknown: use one of ${known}, or a number`,
      );
    }
    throw new TypeError(`${this.valueName} must be a name or a number, got ${describe(value)}`);
  }
}

export type ScopeName = 'universe' | 'site' | 'link' | 'host' | 'nowhere';

/** rtm_scope and ifa_scope (enum rt_scope_t). */
export const scopes = new NameTable<ScopeName>(
  'scope',
  [
    ['universe', RT_SCOPE_UNIVERSE],
    ['site', RT_SCOPE_SITE],
    ['link', RT_SCOPE_LINK],
    ['host', RT_SCOPE_HOST],
    ['nowhere', RT_SCOPE_NOWHERE],
  ],
  255,
);

export type RouteTypeName =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw';

/** rtm_type (RTN_*). */
export const routeTypes = new NameTable<RouteTypeName>(
  'route type',
  [
    ['unicast', RTN_UNICAST],
    ['local', RTN_LOCAL],
    ['broadcast', RTN_BROADCAST],
    ['anycast', RTN_ANYCAST],
    ['multicast', RTN_MULTICAST],
    ['blackhole', RTN_BLACKHOLE],
    ['unreachable', RTN_UNREACHABLE],
    ['prohibit', RTN_PROHIBIT],
    ['throw', RTN_THROW],
  ],
  255,
);

export type RouteProtocolName = 'unspec' | 'redirect' | 'kernel' | 'boot' | 'static' | 'ra';

/** rtm_protocol (RTPROT_*). Values from 5 on, other than 9, belong to routing daemons. */
export const routeProtocols = new NameTable<RouteProtocolName>(
  'route protocol',
  [
    ['unspec', RTPROT_UNSPEC],
    ['redirect', RTPROT_REDIRECT],
    ['kernel', RTPROT_KERNEL],
    ['boot', RTPROT_BOOT],
    ['static', RTPROT_STATIC],
    ['ra', RTPROT_RA],
  ],
  255,
);

export type MacvlanModeName = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

/** IFLA_MACVLAN_MODE (MACVLAN_MODE_*). */
export const macvlanModes = new NameTable<MacvlanModeName>(
  'macvlan mode',
  [
    ['private', MACVLAN_MODE_PRIVATE],
    ['vepa', MACVLAN_MODE_VEPA],
    ['bridge', MACVLAN_MODE_BRIDGE],
    ['passthru', MACVLAN_MODE_PASSTHRU],
    ['source', MACVLAN_MODE_SOURCE],
  ],
  0xffffffff,
);

/** ndm_state bits (NUD_*) and their names. */
const NEIGHBOUR_STATES: ReadonlyArray<readonly [string, number]> = [
  ['incomplete', NUD_INCOMPLETE],
  ['reachable', NUD_REACHABLE],
  ['stale', NUD_STALE],
  ['delay', NUD_DELAY],
  ['probe', NUD_PROBE],
  ['failed', NUD_FAILED],
  ['noarp', NUD_NOARP],
  ['permanent', NUD_PERMANENT],
];

/**
 * Names a neighbour state: 'none' for 0, the bit's name for one known bit, names joined by
 * ',' for several, and the number as decimal text for bits without a name.
 */
export function neighbourStateName(state: number): string {
  if (state === NUD_NONE) return 'none';
  const names: string[] = [];
  let rest = state;
  for (const [name, bit] of NEIGHBOUR_STATES) {
    if ((state & bit) !== 0) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) return String(state);
  return names.join(',');
}

/** Returns the NUD_* number of a state name. Raises TypeError for an unknown name. */
export function neighbourStateNumber(state: unknown): number {
  if (typeof state !== 'string') {
    throw new TypeError(`neighbour state must be a string, got ${describe(state)}`);
  }
  if (state === 'none') return NUD_NONE;
  const found = NEIGHBOUR_STATES.find(([name]) => name === state);
  if (found === undefined) {
    const known = ['none', ...NEIGHBOUR_STATES.map(([name]) => name)].join(', ');
    throw new TypeError(`neighbour state ${JSON.stringify(state)} is unknown: use one of ${known}`);
  }
  return found[1];
}
