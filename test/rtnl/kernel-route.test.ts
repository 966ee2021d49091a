// Routes and neighbours against the real kernel, in a throwaway namespace, checked with `ip -j`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { Route } from '../../src/rtnl/types.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  table?: string;
}

interface IpNeighbour {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
}

describe.skipIf(kernelSkipReason !== undefined)('routes and neighbours on the kernel', () => {
  let netns = '';
  let nl: Rtnl;
  let veth0 = 0;

  /** `ip -j [-6] route show [table T]`. */
  const ipRoutes = (...args: string[]): IpRoute[] => ipJson<IpRoute[]>(netns, ...args);

  const find = (routes: Route[], destination: string, prefixLength: number, table = 254) =>
    routes.filter(
      (route) =>
        route.destination === destination &&
        route.prefixLength === prefixLength &&
        route.table === table,
    );

  beforeAll(async () => {
    netns = createTestNetns('rtnl-route');
    ip(netns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(netns, 'link', 'set', 'veth0', 'up');
    ip(netns, 'link', 'set', 'veth1', 'up');
    ip(netns, 'address', 'add', '192.0.2.79/24', 'dev', 'veth0');
    ip(netns, 'address', 'add', '2001:db8::79/64', 'dev', 'veth0', 'nodad');
    nl = Rtnl.open({ netns: { name: netns } });
    veth0 = await nl.links.index('veth0');
  });

  afterAll(() => {
    nl?.close();
    removeTestNetns(netns);
  });

  it('adds a default route via a gateway', async () => {
    await nl.routes.add({ destination: 'default', gateway: '192.0.2.1', link: 'veth0' });
    expect(ipRoutes('-d', '-4', 'route', 'show', 'default')).toEqual([
      expect.objectContaining({
        dst: 'default',
        gateway: '192.0.2.1',
        dev: 'veth0',
        protocol: 'boot',
      }),
    ]);
    expect(find(await nl.routes.list({ family: 4 }), 'default', 0)).toEqual([
      expect.objectContaining({
        family: 4,
        gateway: '192.0.2.1',
        index: veth0,
        protocol: 'boot',
        scope: 'universe',
        type: 'unicast',
      }),
    ]);
  });

  it('adds a network route with a metric', async () => {
    await nl.routes.add({ destination: '198.51.100.0/24', link: 'veth0', metric: 50 });
    expect(ipRoutes('route', 'show', '198.51.100.0/24')).toEqual([
      expect.objectContaining({ dst: '198.51.100.0/24', dev: 'veth0', metric: 50, scope: 'link' }),
    ]);
    expect(find(await nl.routes.list(), '198.51.100.0', 24)).toEqual([
      expect.objectContaining({ metric: 50, scope: 'link', index: veth0 }),
    ]);
  });

  it('adds routes in table 100 and table 1000', async () => {
    await nl.routes.add({ destination: '203.0.113.0/24', gateway: '192.0.2.1', table: 100 });
    await nl.routes.add({ destination: '203.0.113.0/25', link: veth0, table: 1000 });
    expect(ipRoutes('route', 'show', 'table', '100')).toEqual([
      expect.objectContaining({ dst: '203.0.113.0/24', gateway: '192.0.2.1' }),
    ]);
    expect(ipRoutes('route', 'show', 'table', '1000')).toEqual([
      expect.objectContaining({ dst: '203.0.113.0/25', dev: 'veth0' }),
    ]);

    const table100 = await nl.routes.list({ table: 100 });
    expect(table100.map((route) => [route.destination, route.prefixLength, route.table])).toEqual([
      ['203.0.113.0', 24, 100],
    ]);
    const table1000 = await nl.routes.list({ table: 1000 });
    expect(table1000.map((route) => [route.destination, route.prefixLength, route.table])).toEqual([
      ['203.0.113.0', 25, 1000],
    ]);
  });

  it('adds blackhole, unreachable and prohibit routes', async () => {
    await nl.routes.add({ destination: '203.0.113.128/27', type: 'blackhole' });
    await nl.routes.add({ destination: '203.0.113.160/27', type: 'unreachable' });
    await nl.routes.add({ destination: '203.0.113.192/27', type: 'prohibit' });
    const oracle = ipRoutes('-4', 'route', 'show').filter((route) => route.type !== undefined);
    expect(oracle.map((route) => [route.type, route.dst])).toEqual([
      ['blackhole', '203.0.113.128/27'],
      ['unreachable', '203.0.113.160/27'],
      ['prohibit', '203.0.113.192/27'],
    ]);
    const routes = await nl.routes.list({ table: 254, family: 4 });
    expect(find(routes, '203.0.113.128', 27)[0]?.type).toBe('blackhole');
    expect(find(routes, '203.0.113.160', 27)[0]?.type).toBe('unreachable');
    expect(find(routes, '203.0.113.192', 27)[0]?.type).toBe('prohibit');
  });

  it('adds a local route to the local table', async () => {
    await nl.routes.add({ destination: '198.51.100.77', type: 'local', link: 'veth0' });
    expect(
      ipRoutes('route', 'show', 'table', 'local').find((route) => route.dst === '198.51.100.77'),
    ).toMatchObject({
      type: 'local',
      dev: 'veth0',
      scope: 'host',
    });
    expect(find(await nl.routes.list({ table: 255 }), '198.51.100.77', 32, 255)[0]).toMatchObject({
      type: 'local',
      scope: 'host',
    });
  });

  it('adds a route with a preferred source', async () => {
    await nl.routes.add({
      destination: '198.51.100.128/25',
      link: 'veth0',
      preferredSource: '192.0.2.79',
    });
    expect(ipRoutes('route', 'show', '198.51.100.128/25')[0]?.prefsrc).toBe('192.0.2.79');
    expect(find(await nl.routes.list(), '198.51.100.128', 25)[0]?.preferredSource).toBe(
      '192.0.2.79',
    );
  });

  it('adds an IPv6 default route', async () => {
    await nl.routes.add({
      destination: 'default',
      gateway: '2001:db8::1',
      link: 'veth0',
      metric: 1024,
    });
    expect(ipRoutes('-6', 'route', 'show', 'default')).toEqual([
      expect.objectContaining({
        dst: 'default',
        gateway: '2001:db8::1',
        dev: 'veth0',
        metric: 1024,
      }),
    ]);
    expect(find(await nl.routes.list({ family: 6 }), 'default', 0)).toEqual([
      expect.objectContaining({ family: 6, gateway: '2001:db8::1', metric: 1024, index: veth0 }),
    ]);
  });

  it('replaces a route', async () => {
    await nl.routes.replace({
      destination: '198.51.100.0/24',
      gateway: '192.0.2.2',
      link: 'veth0',
      metric: 50,
    });
    expect(ipRoutes('route', 'show', '198.51.100.0/24')).toEqual([
      expect.objectContaining({ gateway: '192.0.2.2', metric: 50 }),
    ]);
    expect(find(await nl.routes.list(), '198.51.100.0', 24)).toEqual([
      expect.objectContaining({ gateway: '192.0.2.2' }),
    ]);
  });

  it('filters listings by family, table and link', async () => {
    const v6 = await nl.routes.list({ family: 6 });
    expect(v6.length).toBeGreaterThan(0);
    expect(v6.every((route) => route.family === 6)).toBe(true);

    const onVeth0 = await nl.routes.list({ link: 'veth0', table: 254, family: 4 });
    expect(onVeth0.every((route) => route.index === veth0 && route.table === 254)).toBe(true);
    const oracle = ipRoutes('-4', 'route', 'show', 'dev', 'veth0');
    expect(onVeth0.length).toBe(oracle.length);

    expect(await nl.routes.list({ table: 4242 })).toEqual([]);
    expect(await nl.routes.list({ table: 4242, family: 4 })).toEqual([]);

    const all = await nl.routes.list();
    expect(all.some((route) => route.table === 255)).toBe(true);
    expect(all.some((route) => route.table === 100)).toBe(true);
  });

  it('reports EEXIST on a duplicate add', async () => {
    const error = (await nl.routes
      .add({ destination: '198.51.100.0/24', gateway: '192.0.2.2', link: 'veth0', metric: 50 })
      .catch((caught: unknown) => caught)) as NetlinkError;
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      errno: 17,
      code: 'EEXIST',
      operation: 'add',
      object: 'route 198.51.100.0/24 via 192.0.2.2 dev veth0 metric 50',
    });
  });

  it('deletes routes', async () => {
    await nl.routes.delete({ destination: '198.51.100.0/24', link: 'veth0', metric: 50 });
    await nl.routes.delete({ destination: '203.0.113.0/24', table: 100 });
    await nl.routes.delete({ destination: '203.0.113.128/27', type: 'blackhole' });
    await nl.routes.delete({ destination: 'default', family: 6, gateway: '2001:db8::1' });
    expect(ipRoutes('route', 'show', '198.51.100.0/24')).toEqual([]);
    expect(ipRoutes('route', 'show', 'table', '100')).toEqual([]);
    expect(ipRoutes('-6', 'route', 'show', 'default')).toEqual([]);
    const left = await nl.routes.list();
    expect(find(left, '198.51.100.0', 24)).toEqual([]);
    expect(find(left, '203.0.113.128', 27)).toEqual([]);
    expect(find(left, 'default', 0).filter((route) => route.family === 6)).toEqual([]);
  });

  it('reports ESRCH when deleting a route that is not there', async () => {
    const error = await nl.routes
      .delete({ destination: '198.51.100.0/24', link: 'veth0' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ESRCH', operation: 'delete' });
  });

  it('replaces, lists and deletes neighbours', async () => {
    await nl.neighbours.replace({ link: 'veth0', address: '192.0.2.2', mac: '02:00:00:00:00:02' });
    await nl.neighbours.replace({
      link: veth0,
      address: '2001:db8::2',
      mac: '02:00:00:00:00:03',
      state: 'reachable',
    });

    const oracle = ipJson<IpNeighbour[]>(netns, 'neighbour', 'show', 'dev', 'veth0');
    expect(oracle.find((entry) => entry.dst === '192.0.2.2')).toMatchObject({
      lladdr: '02:00:00:00:00:02',
      state: ['PERMANENT'],
    });

    const all = await nl.neighbours.list({ link: 'veth0' });
    expect(all.find((entry) => entry.address === '192.0.2.2')).toMatchObject({
      family: 4,
      index: veth0,
      mac: '02:00:00:00:00:02',
      state: 'permanent',
    });
    expect(all.find((entry) => entry.address === '2001:db8::2')?.mac).toBe('02:00:00:00:00:03');
    const v6 = await nl.neighbours.list({ family: 6 });
    expect(v6.every((entry) => entry.family === 6)).toBe(true);
    expect(v6.find((entry) => entry.address === '192.0.2.2')).toBeUndefined();

    await nl.neighbours.replace({ link: 'veth0', address: '192.0.2.2', mac: '02:00:00:00:00:22' });
    expect(
      (await nl.neighbours.list({ link: 'veth0', family: 4 })).find(
        (entry) => entry.address === '192.0.2.2',
      )?.mac,
    ).toBe('02:00:00:00:00:22');

    await nl.neighbours.delete({ link: 'veth0', address: '192.0.2.2' });
    expect(
      ipJson<IpNeighbour[]>(netns, 'neighbour', 'show', 'dev', 'veth0').find(
        (entry) => entry.dst === '192.0.2.2',
      ),
    ).toBeUndefined();
    expect(
      (await nl.neighbours.list({ link: 'veth0' })).find((entry) => entry.address === '192.0.2.2'),
    ).toBeUndefined();
  });

  it('sends nothing for invalid input', async () => {
    const before = ip(netns, 'route', 'show', 'table', 'all');
    await expect(
      nl.routes.add({ destination: 'default', gateway: '2001:db8::1', family: 4 }),
    ).rejects.toThrow(RangeError);
    await expect(nl.routes.add({ destination: '198.51.100.1/24', link: 'veth0' })).rejects.toThrow(
      RangeError,
    );
    expect(ip(netns, 'route', 'show', 'table', 'all')).toBe(before);
  });
});
