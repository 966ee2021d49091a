// systemd unit name rules, checked before any name is sent to systemd. The rules are those
// of unit_name_is_valid() in systemd's src/basic/unit-name.c and of systemd.unit(5).
import { SystemdError } from './errors.js';

/** Unit types of systemd 252. The name suffix after the last dot is one of them. */
export const UNIT_TYPES = [
  'service',
  'socket',
  'target',
  'device',
  'mount',
  'automount',
  'swap',
  'timer',
  'path',
  'slice',
  'scope',
] as const;

export type UnitType = (typeof UNIT_TYPES)[number];

/** Max unit name length in bytes (systemd's UNIT_NAME_MAX is 256 including the NUL). */
export const UNIT_NAME_MAX_BYTES = 255;

// Characters allowed before the type suffix: letters, digits, ":", "-", "_", ".", "\" and "@".
const ALLOWED_CHARACTER = /^[A-Za-z0-9:_.\\@-]$/;

/**
 * Returns why `name` cannot name a unit to start, stop or inspect, or undefined when it can.
 * Templates such as foo@.service are rejected because systemd only loads their instances.
 */
export function unitNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > UNIT_NAME_MAX_BYTES) {
    return `is longer than ${UNIT_NAME_MAX_BYTES} bytes`;
  }

  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `has no unit type suffix such as .service`;
  const suffix = name.slice(dot + 1);
  if (!(UNIT_TYPES as readonly string[]).includes(suffix)) {
    return `has the unknown type suffix ".${suffix}" (known: ${UNIT_TYPES.map((t) => `.${t}`).join(', ')})`;
  }

  for (const character of name.slice(0, dot)) {
    if (!ALLOWED_CHARACTER.test(character)) {
      return `contains ${JSON.stringify(character)}; only letters, digits and : - _ . \\ @ are allowed`;
    }
  }

  const at = name.indexOf('@');
  if (at === 0) return 'starts with "@"';
  if (at !== -1 && at === dot - 1) {
    return `is a template; name an instance such as ${name.slice(0, at)}@instance.${suffix}`;
  }
  return undefined;
}

/**
 * Checks a unit name before use. Throws TypeError when `name` is not a string and a
 * SystemdError with code EINVALIDUNITNAME when it breaks systemd's rules.
 */
export function assertUnitName(name: unknown): asserts name is string {
  if (typeof name !== 'string') {
    throw new TypeError(`unit name must be a string, got ${typeof name}`);
  }
  const problem = unitNameProblem(name);
  if (problem !== undefined) {
    throw new SystemdError(
      'EINVALIDUNITNAME',
      `invalid unit name ${JSON.stringify(name)}: it ${problem}`,
      {
        unit: name,
      },
    );
  }
}

/** Returns the type of a valid unit name (its suffix). */
export function unitTypeOf(name: string): UnitType {
  return name.slice(name.lastIndexOf('.') + 1) as UnitType;
}
