// Tun and tap devices held by an fd inside a throwaway network namespace; `ip -j link` is
// the oracle for their existence and type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNetns } from '../../src/netlink/netns.js';
import { checkInterfaceName, createTun } from '../../src/rtnl/tun.js';
import { createTestNetns, ipJson, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

interface IpLink {
  ifname: string;
  link_type: string;
  flags: string[];
}

function links(netns: string): Map<string, IpLink> {
  return new Map(ipJson<IpLink[]>(netns, 'link', 'show').map((link) => [link.ifname, link]));
}

function thrown(action: () => unknown): NodeJS.ErrnoException {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected an exception');
}

describe('tun names', () => {
  it('accepts interface names', () => {
    expect(checkInterfaceName('veth0')).toBe('veth0');
    expect(checkInterfaceName('a'.repeat(15))).toBe('a'.repeat(15));
    expect(checkInterfaceName('tap%d')).toBe('tap%d');
  });

  it('rejects bad names', () => {
    for (const name of ['', 'a'.repeat(16), 'a/b', 'a b', 'a\tb', 'a\nb', '.', '..', 'a:b']) {
      expect(() => checkInterfaceName(name), JSON.stringify(name)).toThrow(RangeError);
    }
    expect(() => checkInterfaceName(0)).toThrow(TypeError);
    expect(() => createTun({ name: 'x', tap: 'yes' as never })).toThrow(TypeError);
    expect(() => createTun(null as never)).toThrow(TypeError);
  });
});

describe.skipIf(kernelSkipReason !== undefined)('tun devices in a netns', () => {
  let netns: string;

  beforeAll(() => {
    netns = createTestNetns('fkt-tun');
  });

  afterAll(() => {
    if (netns !== undefined) removeTestNetns(netns);
  });

  it('tap vanishes when its fd closes', () => {
    // F-Stack 1.25 and later: a non-persistent tap named veth<port>.
    const tap = createTun({ name: 'veth0', tap: true, netns: { name: netns } });
    expect(tap.name).toBe('veth0');
    expect(tap.tap).toBe(true);
    expect(tap.fd).toBeGreaterThan(2);
    expect(links(netns).get('veth0')?.link_type).toBe('ether');

    tap.close();
    tap.close();
    expect(links(netns).has('veth0')).toBe(false);
  });

  it('persistent tap outlives its fd', () => {
    const tap = createTun({ name: 'fkt-p0', tap: true, persist: true, netns: { name: netns } });
    tap.close();
    expect(links(netns).has('fkt-p0')).toBe(true);

    // Attach again, clear persistence, close: now it goes.
    const again = createTun({ name: 'fkt-p0', tap: true, netns: { name: netns } });
    again.setPersist(false);
    again.close();
    expect(links(netns).has('fkt-p0')).toBe(false);
  });

  it('tun mode has no link-layer address', () => {
    const tun = createTun({ name: 'fkt-t0', netns: { name: netns } });
    try {
      expect(tun.tap).toBe(false);
      expect(links(netns).get('fkt-t0')?.link_type).toBe('none');
    } finally {
      tun.close();
    }
    expect(links(netns).has('fkt-t0')).toBe(false);
  });

  it('kernel picks the number for %d', () => {
    const tap = createTun({ name: 'fkt%d', tap: true, netns: { name: netns } });
    try {
      expect(tap.name).toMatch(/^fkt\d+$/);
      expect(links(netns).has(tap.name)).toBe(true);
    } finally {
      tap.close();
    }
  });

  it('name held open elsewhere fails with EBUSY', () => {
    const held = createTun({ name: 'fkt-b0', tap: true, netns: { name: netns } });
    try {
      const error = thrown(() => createTun({ name: 'fkt-b0', tap: true, netns: { name: netns } }));
      expect(error.code).toBe('EBUSY');
      expect(error.syscall).toBe('ioctl(TUNSETIFF)');
      expect(error.message).toContain('create tap device fkt-b0 in network namespace');
    } finally {
      held.close();
    }
  });

  it('netns given by fd', () => {
    const handle = openNetns({ name: netns });
    try {
      const tap = createTun({ name: 'fkt-f0', tap: true, netns: { fd: handle.fd } });
      expect(links(netns).has('fkt-f0')).toBe(true);
      tap.close();
    } finally {
      handle.close();
    }
  });

  it('setPersist after close throws', () => {
    const tap = createTun({ name: 'fkt-c0', tap: true, netns: { name: netns } });
    tap.close();
    expect(() => tap.setPersist(true)).toThrow(/closed/);
  });
});
