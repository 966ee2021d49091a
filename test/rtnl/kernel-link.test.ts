// Links against the real kernel, in throwaway namespaces. `ip -j` is the independent oracle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import { createTun } from '../../src/rtnl/tun.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

describe.skipIf(kernelSkipReason !== undefined)('links on the kernel', () => {
  let netns = '';
  let other = '';
  let nl: Rtnl;

  /** `ip -d -j link show dev NAME` in the test namespace, or undefined when it is absent. */
  const ipLink = (name: string, where = netns): IpLink | undefined =>
    ipJson<IpLink[]>(where, '-d', 'link', 'show').find((link) => link.ifname === name);

  beforeAll(() => {
    netns = createTestNetns('rtnl-link');
    other = createTestNetns('rtnl-link2');
    nl = Rtnl.open({ netns: { name: netns } });
  });

  afterAll(() => {
    nl?.close();
    removeTestNetns(netns);
    removeTestNetns(other);
  });

  it('creates a veth pair and lists links like ip', async () => {
    await nl.links.createVeth({ name: 'veth0', peerName: 'veth1' });
    const links = await nl.links.list();
    const expected = ipJson<IpLink[]>(netns, 'link', 'show').map((link) => [
      link.ifindex,
      link.ifname,
    ]);
    expect(links.map((link) => [link.index, link.name])).toEqual(expected);
    expect(links.find((link) => link.name === 'veth0')?.kind).toBe('veth');
  });

  it('gets a link by name and by index', async () => {
    const oracle = ipLink('veth0') as IpLink;
    const byName = await nl.links.get('veth0');
    expect(byName).toMatchObject({
      index: oracle.ifindex,
      name: 'veth0',
      mtu: oracle.mtu,
      mac: oracle.address,
      kind: 'veth',
    });
    expect(byName?.parentIndex).toBe(ipLink('veth1')?.ifindex);
    expect(await nl.links.get(oracle.ifindex)).toEqual(byName);
    expect(await nl.links.index('veth0')).toBe(oracle.ifindex);
  });

  it('returns undefined for a missing link', async () => {
    expect(await nl.links.get('missing0')).toBeUndefined();
    expect(await nl.links.get(999_999)).toBeUndefined();
  });

  it('sets a link up and down', async () => {
    await nl.links.setUp('veth0', true);
    expect(ipLink('veth0')?.flags).toContain('UP');
    expect((await nl.links.get('veth0'))?.up).toBe(true);

    await nl.links.setUp('veth0', false);
    expect(ipLink('veth0')?.flags).not.toContain('UP');
    expect((await nl.links.get('veth0'))?.up).toBe(false);
  });

  it('sets the MTU and the MAC address', async () => {
    await nl.links.setMtu('veth0', 1400);
    await nl.links.setMac('veth0', '02:00:00:00:00:AA');
    expect(ipLink('veth0')).toMatchObject({ mtu: 1400, address: '02:00:00:00:00:aa' });
    expect(await nl.links.get('veth0')).toMatchObject({ mtu: 1400, mac: '02:00:00:00:00:aa' });
  });

  it('applies several changes in one request', async () => {
    const index = await nl.links.index('veth1');
    await nl.links.set(index, { up: true, mtu: 1450, name: 'veth1b' });
    expect(ipLink('veth1b')).toMatchObject({ ifindex: index, mtu: 1450 });
    expect(ipLink('veth1b')?.flags).toContain('UP');
    await nl.links.rename(index, 'veth1');
  });

  it('renames a link without keeping the old name', async () => {
    const index = await nl.links.index('veth1');
    await nl.links.rename('veth1', 'kni1');
    expect(ipLink('kni1')?.ifindex).toBe(index);
    expect(ipLink('veth1')).toBeUndefined();
    expect(await nl.links.get('veth1')).toBeUndefined();
    expect((await nl.links.get('kni1'))?.index).toBe(index);

    await nl.links.rename('kni1', 'veth1');
    expect((await nl.links.get('veth1'))?.index).toBe(index);
  });

  it('reports veth carrier as following the peer and rejects setting it', async () => {
    await nl.links.createVeth({ name: 'car0', peerName: 'car1' });
    await nl.links.setUp('car0', true);
    expect((await nl.links.get('car0'))?.carrier).toBe(false);
    expect(ipLink('car0')?.flags).toContain('NO-CARRIER');

    await nl.links.setUp('car1', true);
    expect((await nl.links.get('car0'))?.carrier).toBe(true);
    expect(ipLink('car0')?.flags).toContain('LOWER_UP');

    const error = await nl.links.setCarrier('car0', false).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      code: 'EOPNOTSUPP',
      operation: 'set',
      object: 'link car0 carrier off',
    });
  });

  it('sets carrier on a tap device held open', async () => {
    const tap = createTun({ name: 'tap0', tap: true, netns: { name: netns } });
    try {
      await nl.links.setUp('tap0', true);
      await nl.links.setCarrier('tap0', false);
      expect((await nl.links.get('tap0'))?.carrier).toBe(false);
      expect(ipLink('tap0')?.flags).toContain('NO-CARRIER');

      await nl.links.setCarrier('tap0', true);
      expect((await nl.links.get('tap0'))?.carrier).toBe(true);
      expect(ipLink('tap0')?.flags).toContain('LOWER_UP');
    } finally {
      tap.close();
    }
  });

  it('creates a veth peer in another namespace', async () => {
    await nl.links.createVeth({ name: 'cross0', peerName: 'cross1', peerNetns: { name: other } });
    expect(ipLink('cross1', other)?.linkinfo?.info_kind).toBe('veth');
    expect(ipLink('cross1')).toBeUndefined();
    const link = await nl.links.get('cross0');
    expect(link?.linkNetnsId).toBe(ipLink('cross0')?.link_netnsid);
    expect(link?.linkNetnsId).toBeGreaterThanOrEqual(0);
  });

  it('creates a bridge', async () => {
    await nl.links.createBridge({ name: 'br0' });
    expect(ipLink('br0')?.linkinfo?.info_kind).toBe('bridge');
    expect((await nl.links.get('br0'))?.kind).toBe('bridge');
  });

  it('creates a macvlan on a veth', async () => {
    await nl.links.createMacvlan({ name: 'mv0', parent: 'veth0', mode: 'private' });
    const oracle = ipLink('mv0');
    expect(oracle?.linkinfo?.info_kind).toBe('macvlan');
    expect(oracle?.linkinfo?.info_data?.mode).toBe('private');
    expect(await nl.links.get('mv0')).toMatchObject({
      kind: 'macvlan',
      macvlanMode: 'private',
      parentIndex: ipLink('veth0')?.ifindex,
    });
  });

  it('creates a vlan where the kernel has the vlan kind', async (context) => {
    const error = await nl.links
      .createVlan({ name: 'veth0.100', parent: 'veth0', vlanId: 100 })
      .catch((caught: unknown) => caught);
    if (
      error instanceof NetlinkError &&
      (error.code === 'EOPNOTSUPP' || /Unknown device type/.test(error.message))
    ) {
      context.skip(`this kernel lacks the vlan link kind: ${error.message}`);
    }
    expect(error).toBeUndefined();
    expect(ipLink('veth0.100')?.linkinfo?.info_data?.id).toBe(100);
    expect(await nl.links.get('veth0.100')).toMatchObject({
      kind: 'vlan',
      vlanId: 100,
      parentIndex: ipLink('veth0')?.ifindex,
    });
  });

  it('moves a link to another namespace by name and by path', async () => {
    await nl.links.createVeth({ name: 'mov0', peerName: 'mov1' });
    await nl.links.moveToNetns('mov1', { name: other });
    expect(ipLink('mov1')).toBeUndefined();
    expect(ipLink('mov1', other)).toBeDefined();

    await nl.links.moveToNetns('mov0', { path: `/run/netns/${other}` });
    expect(ipLink('mov0', other)).toBeDefined();
  });

  it('deletes a link and its veth peer', async () => {
    await nl.links.delete('car0');
    expect(ipLink('car0')).toBeUndefined();
    expect(ipLink('car1')).toBeUndefined();
  });

  it('creates and sets a link by name in one batch', async () => {
    const results = await nl
      .batch()
      .createVeth({ name: 'bat0', peerName: 'bat1' })
      .setLink('bat0', { up: true, mtu: 1300 })
      .setLinkUp('bat1', true)
      .createBridge({ name: 'bat0' })
      .send();
    expect(results.map((result) => result.ok)).toEqual([true, true, true, false]);
    expect(results[3]).toMatchObject({
      ok: false,
      op: { operation: 'create', object: 'bridge bat0' },
      error: { code: 'EEXIST' },
    });
    expect(ipLink('bat0')).toMatchObject({ mtu: 1300 });
    expect(ipLink('bat0')?.flags).toContain('LOWER_UP');
  });

  it('reports EEXIST with operation and object', async () => {
    const error = await nl.links
      .createVeth({ name: 'veth0', peerName: 'dup1' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      errno: 17,
      code: 'EEXIST',
      operation: 'create',
      object: 'veth veth0 with peer dup1',
    });
    expect((error as Error).message).toMatch(/^create veth veth0 with peer dup1: .*\(EEXIST\)/);
  });

  it('reports the kernel extended ack text', async () => {
    const error = (await nl.links
      .setMtu('veth0', 70_000)
      .catch((caught: unknown) => caught)) as NetlinkError;
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error.code).toBe('EINVAL');
    expect(error.extackMessage).toMatch(/mtu greater than device maximum/i);
    expect(error.message).toContain(error.extackMessage);
  });

  it('sends nothing for invalid input', async () => {
    const before = ip(netns, 'link', 'show');
    await expect(nl.links.createVeth({ name: 'bad/name', peerName: 'x' })).rejects.toThrow(
      TypeError,
    );
    await expect(nl.links.setMtu('veth0', -5)).rejects.toThrow(RangeError);
    expect(ip(netns, 'link', 'show')).toBe(before);
  });
});
