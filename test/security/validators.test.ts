// The validators that stand between user input and the kernel, systemd or the file system,
// tested directly: interface names (four checkers that must agree with the kernel's
// dev_valid_name), network namespace names and targets, systemd unit names and config key
// addresses. Interface names are also checked against the real kernel in a test namespace.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditError, parseKeyPath } from '../../src/config/edit.js';
import { checkInterfaceName as checkDesiredName } from '../../src/kni/desired.js';
import { KniError } from '../../src/kni/errors.js';
import { desiredOptionsFrom } from '../../src/kni/options.js';
import {
  checkNetnsName,
  NETNS_DIRECTORY,
  netnsPath,
  resolveNetnsTarget,
} from '../../src/netlink/netns.js';
import { checkLinkName } from '../../src/rtnl/arguments.js';
import { checkInterfaceName as checkTunName } from '../../src/rtnl/tun.js';
import { SystemdError } from '../../src/service/errors.js';
import { assertUnitName, unitNameProblem } from '../../src/service/unit-name.js';
import { createTestNetns, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

/**
 * Interface names and whether the kernel's dev_valid_name() accepts them. The kernel checks
 * bytes with its own isspace(), which also matches 0xA0: it rejects "\u00e0" (UTF-8 C3 A0)
 * and accepts an em space (E2 80 83).
 */
const INTERFACE_NAMES: ReadonlyArray<readonly [string, boolean]> = [
  ['veth0', true],
  ['veth0.100', true],
  ['a', true],
  ['abcdefghijklmno', true],
  ['-x', true],
  ['\u00e91', true],
  ['a\u2003b', true],
  ['\u00e0', false],
  ['a\u00a0b', false],
  ['', false],
  ['.', false],
  ['..', false],
  ['abcdefghijklmnop', false],
  ['\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9', false],
  ['a/b', false],
  ['../x', false],
  ['a:b', false],
  ['a b', false],
  ['a\tb', false],
  ['a\nb', false],
  ['a\0b', false],
];

/** Each interface-name checker of the product, as "accepts the name". */
const NAME_CHECKERS: ReadonlyArray<readonly [string, (name: string) => boolean]> = [
  ['checkLinkName (rtnetlink requests)', (name) => accepts(() => checkLinkName(name))],
  ['checkInterfaceName (tun devices)', (name) => accepts(() => checkTunName(name))],
  ['checkInterfaceName (desired state)', (name) => accepts(() => checkDesiredName(name, 'port 0'))],
  [
    '--interface option',
    (name) => accepts(() => desiredOptionsFrom({ interface: [`0=${name}`] }, '1.25')),
  ],
];

function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError || error instanceof KniError)
      return false;
    throw error;
  }
}

describe('interface name validators', () => {
  for (const [checker, check] of NAME_CHECKERS) {
    it.each(INTERFACE_NAMES)(`${checker}: %j valid is %s`, (name, valid) => {
      // '--interface 0=' has its own message (the PORT=VALUE form), but is rejected all the same.
      expect(check(name)).toBe(valid);
    });
  }

  it('names byte 0xA0 in every message', () => {
    const rule =
      "no '/', ':', NUL or whitespace, and no byte 0xA0, which the kernel counts as a space (as in \u00e0, C3 A0)";
    expect(() => checkDesiredName('veth\u00e0', 'port 0')).toThrow(
      `interface name "veth\u00e0" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${rule}`,
    );
    expect(() => checkLinkName('veth\u00e0')).toThrow(
      `link name "veth\u00e0" is invalid: it must not be . or .., and must have ${rule}`,
    );
    expect(() => checkTunName('veth\u00e0')).toThrow(
      `invalid interface name "veth\u00e0": expected 1 to 15 bytes, not . or .., ${rule}`,
    );
  });

  it('--interface raises OPTION_INVALID naming the value', () => {
    expect(() => desiredOptionsFrom({ interface: ['0=a/b'] }, '1.25')).toThrow(KniError);
    expect(() => desiredOptionsFrom({ interface: ['0=a/b'] }, '1.25')).toThrow(
      'interface name "a/b" for port 0 is invalid',
    );
  });
});

describe.skipIf(kernelSkipReason !== undefined)('interface names against the kernel', () => {
  let netns = '';

  beforeAll(() => {
    netns = createTestNetns('fkname');
  });

  afterAll(() => {
    if (netns !== '') removeTestNetns(netns);
  });

  // `ip` itself rejects empty names, '/' and ASCII whitespace before asking the kernel, and
  // argv cannot carry NUL, so only the rest go to the kernel.
  const kernelCases = INTERFACE_NAMES.filter(
    ([name]) => name !== '' && !/[/\t\n\v\f\r \0]/.test(name),
  );

  it.each(kernelCases)('the kernel agrees on %j', (name, valid) => {
    const created = spawnSync('ip', [
      '-n',
      netns,
      'link',
      'add',
      'name',
      name,
      'type',
      'veth',
      'peer',
      'name',
      'fkpeer0',
    ]);
    if (created.status === 0) spawnSync('ip', ['-n', netns, 'link', 'delete', 'fkpeer0']);
    expect(created.status === 0).toBe(valid);
  });
});

describe('network namespace names', () => {
  it.each(['fk-ns', 'a', 'x'.repeat(255), 'ns.with.dots', '...'])(
    'accepts %j inside the netns directory',
    (name) => {
      expect(checkNetnsName(name)).toBe(name);
      expect(dirname(netnsPath(name))).toBe(NETNS_DIRECTORY);
    },
  );

  it.each(['', '.', '..', '../etc', 'a/b', '/abs', 'a\0b', 'x'.repeat(256)])(
    'rejects %j',
    (name) => {
      expect(() => checkNetnsName(name)).toThrow(RangeError);
      expect(() => netnsPath(name)).toThrow(RangeError);
      expect(() => resolveNetnsTarget({ name })).toThrow(RangeError);
    },
  );

  it('rejects a name that is not a string', () => {
    expect(() => checkNetnsName(7)).toThrow(TypeError);
  });

  it('rejects malformed namespace targets', () => {
    expect(() => resolveNetnsTarget({ path: '' })).toThrow(TypeError);
    expect(() => resolveNetnsTarget({ path: '/run/netns/a\0b' })).toThrow(TypeError);
    expect(() => resolveNetnsTarget({ fd: -1 })).toThrow(RangeError);
    expect(() => resolveNetnsTarget({ fd: 1.5 })).toThrow(RangeError);
    expect(() => resolveNetnsTarget({ name: 'a', path: '/run/netns/a' } as never)).toThrow(
      TypeError,
    );
    expect(() => resolveNetnsTarget(null as never)).toThrow(TypeError);
  });
});

describe('systemd unit names', () => {
  it.each([
    'fstack_ha.service',
    'fstack-kni-watch.service',
    'getty@tty1.service',
    'a:b\\x2d.service',
    'foo.socket',
    'x.timer',
  ])('accepts %j', (name) => {
    expect(unitNameProblem(name)).toBeUndefined();
    expect(() => assertUnitName(name)).not.toThrow();
  });

  it.each([
    ['', 'is empty'],
    ['fstack', 'has no unit type suffix such as .service'],
    ['.service', 'has no unit type suffix such as .service'],
    ['fstack.servic', 'has the unknown type suffix ".servic"'],
    ['a b.service', 'contains " "'],
    ['../x.service', 'contains "/"'],
    ['a/b.service', 'contains "/"'],
    ['a\nb.service', 'contains "\\n"'],
    ['a$(x).service', 'contains "$"'],
    ['\u00e4.service', 'contains "\u00e4"'],
    ['@x.service', 'starts with "@"'],
    ['fstack@.service', 'is a template'],
    [`${'a'.repeat(248)}.service`, 'is longer than 255 bytes'],
  ])('rejects %j: %s', (name, problem) => {
    expect(unitNameProblem(name)).toContain(problem);
    expect(() => assertUnitName(name)).toThrow(SystemdError);
    try {
      assertUnitName(name);
    } catch (error) {
      expect((error as SystemdError).code).toBe('EINVALIDUNITNAME');
    }
  });

  it('rejects a unit name that is not a string', () => {
    expect(() => assertUnitName(42)).toThrow(TypeError);
  });
});

describe('config key addresses', () => {
  it.each([
    ['kni.enable', 'kni', 'enable'],
    ['port0.addr', 'port0', 'addr'],
    ['freebsd.sysctl.kern.ipc.somaxconn', 'freebsd.sysctl', 'kern.ipc.somaxconn'],
    ['freebsd.boot.hz', 'freebsd.boot', 'hz'],
  ])('splits %j', (text, section, name) => {
    expect(parseKeyPath(text)).toEqual({ section, name });
  });

  it.each(['kni', '.enable', 'kni.', ''])('rejects %j', (text) => {
    expect(() => parseKeyPath(text)).toThrow(EditError);
  });
});
