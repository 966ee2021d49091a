// Addresses against the real kernel, in a throwaway namespace, checked with `ip -j` too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { Address } from '../../src/rtnl/types.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

interface IpAddressInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  broadcast?: string;
  label?: string;
  scope: string;
  valid_life_time: number;
  preferred_life_time: number;
}

interface IpAddressLink {
  ifindex: number;
  ifname: string;
  addr_info: IpAddressInfo[];
}

const IFA_F_NODAD = 0x02;
const FOREVER = 0xffffffff;

describe.skipIf(kernelSkipReason !== undefined)('addresses on the kernel', () => {
  let netns = '';
  let nl: Rtnl;
  let veth0 = 0;
  let veth1 = 0;

  /** Addresses `ip -j address show dev NAME` lists. */
  const ipAddresses = (name: string, ...options: string[]): IpAddressInfo[] =>
    ipJson<IpAddressLink[]>(netns, ...options, 'address', 'show', 'dev', name)[0]?.addr_info ?? [];

  const find = (list: Address[], address: string) =>
    list.find((entry) => entry.address === address);

  beforeAll(async () => {
    netns = createTestNetns('rtnl-addr');
    ip(netns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(netns, 'link', 'set', 'veth0', 'up');
    ip(netns, 'link', 'set', 'veth1', 'up');
    nl = Rtnl.open({ netns: { name: netns } });
    veth0 = await nl.links.index('veth0');
    veth1 = await nl.links.index('veth1');
  });

  afterAll(() => {
    nl?.close();
    removeTestNetns(netns);
  });

  it('adds an IPv4 address with broadcast and label', async () => {
    await nl.addresses.add({
      link: 'veth0',
      address: '192.0.2.79',
      prefixLength: 24,
      broadcast: '192.0.2.255',
      label: 'veth0:kni',
    });
    expect(ipAddresses('veth0', '-4')).toEqual([
      expect.objectContaining({
        local: '192.0.2.79',
        prefixlen: 24,
        broadcast: '192.0.2.255',
        label: 'veth0:kni',
        scope: 'global',
      }),
    ]);
    expect(find(await nl.addresses.list({ link: 'veth0' }), '192.0.2.79')).toMatchObject({
      family: 4,
      index: veth0,
      prefixLength: 24,
      broadcast: '192.0.2.255',
      label: 'veth0:kni',
      scope: 'universe',
      validLifetime: FOREVER,
      preferredLifetime: FOREVER,
    });
  });

  it('adds an IPv6 address without duplicate address detection', async () => {
    await nl.addresses.add({
      link: veth0,
      address: '2001:db8::79',
      prefixLength: 64,
      flags: IFA_F_NODAD,
    });
    expect(
      ipAddresses('veth0', '-6').find((entry) => entry.local === '2001:db8::79'),
    ).toMatchObject({ prefixlen: 64, scope: 'global' });
    const address = find(await nl.addresses.list({ link: veth0, family: 6 }), '2001:db8::79');
    expect(address?.prefixLength).toBe(64);
    expect((address?.flags ?? 0) & IFA_F_NODAD).toBe(IFA_F_NODAD);
  });

  it('adds an address with link scope', async () => {
    await nl.addresses.add({
      link: 'veth0',
      address: '198.51.100.9',
      prefixLength: 32,
      scope: 'link',
    });
    expect(ipAddresses('veth0', '-4').find((entry) => entry.local === '198.51.100.9')?.scope).toBe(
      'link',
    );
    expect(find(await nl.addresses.list({ link: 'veth0' }), '198.51.100.9')?.scope).toBe('link');
  });

  it('replaces lifetimes and back to forever', async () => {
    const spec = {
      link: 'veth0',
      address: '198.51.100.9',
      prefixLength: 32,
      scope: 'link' as const,
    };
    await nl.addresses.replace({ ...spec, validLifetime: 300, preferredLifetime: 200 });
    const oracle = ipAddresses('veth0', '-4').find((entry) => entry.local === '198.51.100.9');
    // Lifetimes count down from the values set, so only the upper bound is fixed.
    expect(oracle?.valid_life_time).toBeLessThanOrEqual(300);
    expect(oracle?.valid_life_time).toBeGreaterThan(200);
    const address = find(await nl.addresses.list({ link: 'veth0' }), '198.51.100.9');
    expect(address?.validLifetime).toBeLessThanOrEqual(300);
    expect(address?.preferredLifetime).toBeLessThanOrEqual(200);

    await nl.addresses.replace(spec);
    expect(
      ipAddresses('veth0', '-4').find((entry) => entry.local === '198.51.100.9')?.valid_life_time,
    ).toBe(FOREVER);
    expect(find(await nl.addresses.list({ link: 'veth0' }), '198.51.100.9')?.validLifetime).toBe(
      FOREVER,
    );
  });

  it('adds a point-to-point peer address', async () => {
    await nl.addresses.add({
      link: 'veth1',
      address: '203.0.113.1',
      prefixLength: 32,
      peer: '203.0.113.2',
    });
    expect(find(await nl.addresses.list({ link: 'veth1' }), '203.0.113.1')?.peer).toBe(
      '203.0.113.2',
    );
  });

  it('filters listings by link and family', async () => {
    await nl.addresses.add({
      link: 'veth1',
      address: '2001:db8:1::1',
      prefixLength: 64,
      flags: IFA_F_NODAD,
    });

    const onVeth1 = await nl.addresses.list({ link: 'veth1' });
    expect(onVeth1.length).toBeGreaterThan(0);
    expect(onVeth1.every((address) => address.index === veth1)).toBe(true);
    expect(onVeth1.map((address) => address.address).sort()).toEqual(
      ipAddresses('veth1')
        .map((entry) => entry.local)
        .sort(),
    );

    const v6 = await nl.addresses.list({ family: 6 });
    expect(v6.every((address) => address.family === 6)).toBe(true);
    expect(find(v6, '2001:db8:1::1')).toBeDefined();

    const v4OnVeth0 = await nl.addresses.list({ link: veth0, family: 4 });
    expect(v4OnVeth0.map((address) => address.address).sort()).toEqual(
      ipAddresses('veth0', '-4')
        .map((entry) => entry.local)
        .sort(),
    );

    const all = await nl.addresses.list();
    expect(find(all, '127.0.0.1')?.scope).toBe('host');
    expect(all.length).toBe(
      ipJson<IpAddressLink[]>(netns, 'address', 'show').flatMap((link) => link.addr_info).length,
    );
  });

  it('reports EEXIST on a duplicate add with operation, object and extended ack', async () => {
    const error = (await nl.addresses
      .add({ link: 'veth0', address: '192.0.2.79', prefixLength: 24 })
      .catch((caught: unknown) => caught)) as NetlinkError;
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      errno: 17,
      code: 'EEXIST',
      operation: 'add',
      object: 'address 192.0.2.79/24 on veth0',
    });
    expect(error.message).toMatch(/^add address 192\.0\.2\.79\/24 on veth0: .*\(EEXIST\)/);
    if (error.extackMessage !== undefined) expect(error.message).toContain(error.extackMessage);
  });

  it('deletes addresses', async () => {
    await nl.addresses.delete({ link: 'veth0', address: '192.0.2.79', prefixLength: 24 });
    await nl.addresses.delete({ link: veth0, address: '2001:db8::79', prefixLength: 64 });
    expect(ipAddresses('veth0').map((entry) => entry.local)).not.toContain('192.0.2.79');
    expect(ipAddresses('veth0').map((entry) => entry.local)).not.toContain('2001:db8::79');
    const left = await nl.addresses.list({ link: 'veth0' });
    expect(find(left, '192.0.2.79')).toBeUndefined();
    expect(find(left, '2001:db8::79')).toBeUndefined();
  });

  it('reports a missing address on delete', async () => {
    const error = await nl.addresses
      .delete({ link: 'veth0', address: '192.0.2.200', prefixLength: 24 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'EADDRNOTAVAIL', operation: 'delete' });
  });

  it('reports a missing link by name', async () => {
    const error = await nl.addresses
      .add({ link: 'missing0', address: '192.0.2.5', prefixLength: 24 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'ENODEV',
      operation: 'add',
      object: 'address 192.0.2.5/24 on missing0',
    });
  });

  it('applies a batch in one send with one result per request', async () => {
    const results = await nl
      .batch()
      .addAddress({ link: veth0, address: '192.0.2.10', prefixLength: 24 })
      .addAddress({ link: 'veth0', address: '192.0.2.11', prefixLength: 24 })
      .addAddress({ link: veth0, address: '192.0.2.10', prefixLength: 24 })
      .setLinkMtu('veth0', 1420)
      .send();
    expect(results.map((result) => result.ok)).toEqual([true, true, false, true]);
    expect(results[2]).toMatchObject({ ok: false, error: { code: 'EEXIST' } });
    const locals = ipAddresses('veth0', '-4').map((entry) => entry.local);
    expect(locals).toEqual(expect.arrayContaining(['192.0.2.10', '192.0.2.11']));
    expect(ipJson<Array<{ mtu: number }>>(netns, 'link', 'show', 'dev', 'veth0')[0]?.mtu).toBe(
      1420,
    );
  });

  it('sends a prepared batch again and again', async () => {
    const hosts = ['192.0.2.20', '192.0.2.21', '192.0.2.22'];
    const adds = nl.batch();
    for (const address of hosts) adds.addAddress({ link: 'veth0', address, prefixLength: 24 });
    // Secondaries first: deleting the primary address takes the secondaries with it.
    const deletes = nl.batch();
    for (const address of [...hosts].reverse())
      deletes.deleteAddress({ link: veth0, address, prefixLength: 24 });
    const up = await adds.prepare();
    const down = await deletes.prepare();
    const locals = () =>
      ipAddresses('veth0', '-4')
        .map((entry) => entry.local)
        .filter((local) => hosts.includes(local));

    for (let round = 0; round < 3; round++) {
      expect((await up.send()).every((result) => result.ok)).toBe(true);
      expect(locals().sort()).toEqual(hosts);
      expect((await down.send()).every((result) => result.ok)).toBe(true);
      expect(locals()).toEqual([]);
    }

    // Two sends at once: the second finds every address present.
    const [first, second] = await Promise.all([up.send(), up.send()]);
    expect(first?.every((result) => result.ok)).toBe(true);
    expect(
      second?.map((result) => (result.ok ? 'ok' : (result.error as NetlinkError).code)),
    ).toEqual(['EEXIST', 'EEXIST', 'EEXIST']);
    expect((await down.send()).every((result) => result.ok)).toBe(true);
    expect(locals()).toEqual([]);
  });

  it('sends nothing for invalid input', async () => {
    const before = ip(netns, 'address', 'show');
    await expect(
      nl.addresses.add({ link: 'veth0', address: '192.0.2.1', prefixLength: 33 }),
    ).rejects.toThrow(RangeError);
    await expect(
      nl.addresses.add({ link: 'veth0', address: 'not-an-ip', prefixLength: 24 }),
    ).rejects.toThrow(TypeError);
    expect(ip(netns, 'address', 'show')).toBe(before);
  });
});
