// Unit name rules (systemd's unit_name_is_valid, templates excluded).
import { describe, expect, it } from 'vitest';
import { SystemdError } from '../../src/service/errors.js';
import { assertUnitName, unitNameProblem, unitTypeOf } from '../../src/service/unit-name.js';

describe('unitNameProblem', () => {
  it.each([
    'fstack_ha.service',
    'sshd.socket',
    'multi-user.target',
    'sys-devices-virtual-net-veth0.device',
    'run-user-0.mount',
    'getty@tty1.service',
    'fstack@port0@vlan.service',
    'dev-disk-by\\x2duuid-1234.swap',
    'a:b.timer',
    'x.slice',
    'session-1.scope',
    'proc-sys-fs-binfmt_misc.automount',
    'foo.bar.path',
    `${'x'.repeat(247)}.service`,
  ])('accepts %s', (name) => {
    expect(unitNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', /is empty/],
    ['fstack_ha', /no unit type suffix/],
    ['.service', /no unit type suffix/],
    ['fstack_ha.unit', /unknown type suffix "\.unit"/],
    ['fstack_ha.Service', /unknown type suffix/],
    ['fstack ha.service', /contains " "/],
    ['fstack/ha.service', /contains "\/"/],
    ['fstäck.service', /contains "ä"/],
    ['@tty1.service', /starts with "@"/],
    ['getty@.service', /is a template; name an instance such as getty@instance\.service/],
    [`${'x'.repeat(248)}.service`, /longer than 255 bytes/],
  ])('rejects %j', (name, problem) => {
    expect(unitNameProblem(name)).toMatch(problem);
  });
});

describe('assertUnitName', () => {
  it('throws SystemdError with the name', () => {
    let caught: unknown;
    try {
      assertUnitName('getty@.service');
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(SystemdError);
    expect((caught as SystemdError).code).toBe('EINVALIDUNITNAME');
    expect((caught as SystemdError).unit).toBe('getty@.service');
    expect((caught as SystemdError).message).toContain('"getty@.service"');
  });

  it('throws TypeError for a non-string', () => {
    expect(() => assertUnitName(42)).toThrow(TypeError);
  });

  it('returns the unit type', () => {
    expect(unitTypeOf('foo.bar.socket')).toBe('socket');
  });
});
