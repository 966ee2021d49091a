import { describe, expect, it } from 'vitest';
import { desiredState } from '../../src/kni/desired.js';
import { planChanges } from '../../src/kni/plan.js';
import {
  convergedRunbook,
  makeAddress,
  makeConfig,
  makeDefaultRoute,
  makeLink,
  makeLive,
  makeSubnetRoute,
  runbookPort,
} from './fixtures.js';

const runbook = desiredState(makeConfig(), { fstackVersion: '1.25' });

function commands(plan: ReturnType<typeof planChanges>): string[] {
  return plan.changes.map((c) => c.command);
}

describe('planChanges', () => {
  it('configures a fresh tap in runbook order', () => {
    const veth0 = makeLink('veth0');
    const plan = planChanges(runbook, makeLive({ links: [veth0] }));

    expect(commands(plan)).toEqual([
      'ip link set veth0 up',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip route add default via 192.0.2.1 dev veth0 metric 0',
    ]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['link-up', 'add-address', 'add-route']);
    expect(plan.changes[1]!.description).toBe(
      'add address 192.0.2.79/24 broadcast 192.0.2.255 from [port0] addr, netmask, broadcast',
    );
    expect(plan.blockers).toEqual([]);
    expect(plan.drift).toEqual([]);
  });

  it('plans nothing when converged', () => {
    const { live } = convergedRunbook();
    const plan = planChanges(runbook, live);
    expect(plan.changes).toEqual([]);
    expect(plan.drift).toEqual([]);
  });

  it('renders commands for a netns', () => {
    const plan = planChanges(runbook, makeLive({ links: [makeLink('veth0')] }), { netns: 'lab' });
    expect(plan.changes[0]!.command).toBe('ip -n lab link set veth0 up');
  });

  it('sets the carrier after up for rte_kni', () => {
    const desired = desiredState(makeConfig(), { fstackVersion: '1.23' });
    const fresh = planChanges(
      desired,
      makeLive({ links: [makeLink('veth0', { kind: undefined })] }),
    );
    expect(commands(fresh).slice(0, 2)).toEqual([
      'ip link set veth0 up',
      'echo 1 > /sys/class/net/veth0/carrier',
    ]);
    expect(fresh.notes.join('\n')).toContain('primary process');

    const upNoCarrier = convergedRunbook({ carrier: false });
    expect(commands(planChanges(desired, upNoCarrier.live))).toEqual([
      'echo 1 > /sys/class/net/veth0/carrier',
    ]);

    expect(planChanges(desired, convergedRunbook().live).changes).toEqual([]);
  });

  it('leaves a tap without carrier alone', () => {
    const { live } = convergedRunbook({ carrier: false });
    expect(planChanges(runbook, live).changes).toEqual([]);
  });

  it('replaces a wrong broadcast and reinstalls the route', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' })];
    const plan = planChanges(runbook, live);

    expect(commands(plan)).toEqual([
      'ip address del 192.0.2.79/24 dev veth0',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip route replace default via 192.0.2.1 dev veth0 metric 0',
    ]);
    expect(plan.changes[0]!.description).toContain(
      'its broadcast 192.0.2.127 differs from 192.0.2.255',
    );
    expect(plan.changes[2]!.reason).toBe('reinstall');

    // Undoing the delete puts back the old address and the route the kernel removes with it.
    expect(plan.changes[0]!.undo).toEqual([
      {
        type: 'address-add',
        address: {
          link: 'veth0',
          address: '192.0.2.79',
          prefixLength: 24,
          broadcast: '192.0.2.127',
        },
      },
      {
        type: 'route-replace',
        route: expect.objectContaining({
          destination: 'default',
          gateway: '192.0.2.1',
          link: 'veth0',
          metric: 0,
        }),
      },
    ]);
  });

  it('replaces a wrong prefix length', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.79/16', { broadcast: '192.0.255.255' })];
    const plan = planChanges(runbook, live);
    expect(plan.changes[0]!.description).toContain('prefix length /16 differs from /24');
    expect(plan.changes.map((c) => c.kind)).toEqual([
      'delete-address',
      'add-address',
      'replace-route',
    ]);
  });

  it('reports a stale old IP as drift', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' })];
    const plan = planChanges(runbook, live);

    expect(commands(plan)).toEqual([
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
    ]);
    expect(plan.drift).toEqual([
      {
        kind: 'address',
        interface: 'veth0',
        family: 4,
        target: '192.0.2.50/24 broadcast 192.0.2.255',
        description: 'address 192.0.2.50/24 broadcast 192.0.2.255 on veth0 is not in f-stack.conf',
        command: 'ip address del 192.0.2.50/24 dev veth0',
      },
    ]);
  });

  it('keeps an unmanaged VIP out of drift and prune', () => {
    const config = makeConfig({
      ports: [runbookPort(0, { vipAddr: ['198.51.100.20'], vipAddr6: ['2001:db8::20'] })],
    });
    const desired = desiredState(config, { fstackVersion: '1.25' });
    const { link, live } = convergedRunbook();
    live.addresses.push(
      makeAddress(link, '198.51.100.20/32'),
      makeAddress(link, '2001:db8::20/64'),
    );

    for (const prune of [false, true]) {
      const plan = planChanges(desired, live, { prune });
      expect(plan.changes).toEqual([]);
      expect(plan.drift).toEqual([]);
      expect(plan.notes).toContain(
        'address 198.51.100.20/32 on veth0 is in f-stack.conf as [port0] vip_addr, managed only with --with-vips',
      );
      expect(plan.notes).toContain(
        'address 2001:db8::20/64 on veth0 is in f-stack.conf as [port0] vip_addr6, managed only with --with-vips',
      );
    }
  });

  it('still prunes a non-VIP address next to a VIP', () => {
    const config = makeConfig({ ports: [runbookPort(0, { vipAddr: ['198.51.100.20'] })] });
    const desired = desiredState(config, { fstackVersion: '1.25' });
    const { link, live } = convergedRunbook();
    live.addresses.push(
      makeAddress(link, '198.51.100.20/32'),
      makeAddress(link, '198.51.100.21/32'),
    );

    const plan = planChanges(desired, live, { prune: true });
    const deletes = plan.changes.filter((c) => c.kind === 'delete-address').map((c) => c.command);
    expect(deletes).toEqual(['ip address del 198.51.100.21/32 dev veth0']);
  });

  it('prunes a stale old IP before adding', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' })];
    const plan = planChanges(runbook, live, { prune: true });

    expect(commands(plan)).toEqual([
      'ip address del 192.0.2.50/24 dev veth0',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip route replace default via 192.0.2.1 dev veth0 metric 0',
    ]);
    expect(plan.changes[0]!.reason).toBe('prune');
    expect(plan.drift).toEqual([]);
  });

  it('reports an extra route as drift and prunes it', () => {
    const { link, live } = convergedRunbook();
    live.routes.push({
      ...makeDefaultRoute(link, '192.0.2.254'),
      destination: '198.51.100.0',
      prefixLength: 24,
      protocol: 'static',
      metric: 5,
    });

    const drift = planChanges(runbook, live);
    expect(drift.changes).toEqual([]);
    expect(drift.drift.map((d) => d.command)).toEqual([
      'ip route del 198.51.100.0/24 via 192.0.2.254 dev veth0 proto static metric 5',
    ]);

    const pruned = planChanges(runbook, live, { prune: true });
    expect(commands(pruned)).toEqual([
      'ip route del 198.51.100.0/24 via 192.0.2.254 dev veth0 proto static metric 5',
    ]);
    expect(pruned.changes[0]!.undo[0]!.type).toBe('route-replace');
  });

  it('never prunes link-local or kernel routes', () => {
    const { link, live } = convergedRunbook();
    live.addresses.push(makeAddress(link, 'fe80::1/64', { scope: 'link' }));
    live.routes.push(makeSubnetRoute(link, 'fe80::', 64));
    live.routes.push({
      ...makeSubnetRoute(link, '192.0.2.79', 32),
      table: 255,
      type: 'local',
      scope: 'host',
    });

    const plan = planChanges(runbook, live, { prune: true });
    expect(plan.changes).toEqual([]);
    expect(plan.drift).toEqual([]);
  });

  it('replaces a default route with another gateway', () => {
    const { link, live } = convergedRunbook();
    live.routes = [makeSubnetRoute(link, '192.0.2.0', 24), makeDefaultRoute(link, '192.0.2.254')];
    const plan = planChanges(runbook, live);

    expect(commands(plan)).toEqual(['ip route replace default via 192.0.2.1 dev veth0 metric 0']);
    expect(plan.changes[0]!.reason).toBe('mismatch');
    expect(plan.changes[0]!.current).toBe('default via 192.0.2.254 metric 0');
    expect(plan.changes[0]!.undo).toEqual([
      {
        type: 'route-replace',
        route: expect.objectContaining({ gateway: '192.0.2.254', link: 'veth0' }),
      },
    ]);
  });

  it('keeps an old default route with another metric as drift', () => {
    const { link, live } = convergedRunbook();
    live.routes = [makeDefaultRoute(link, '192.0.2.1', { metric: 100 })];
    const plan = planChanges(runbook, live);
    expect(commands(plan)).toEqual(['ip route add default via 192.0.2.1 dev veth0 metric 0']);
    expect(plan.drift.map((d) => d.target)).toEqual(['default via 192.0.2.1 metric 100']);
  });

  it('blocks on another interface owning the default route', () => {
    const { live } = convergedRunbook();
    const eth0 = makeLink('eth0', { up: true, carrier: true });
    live.links.push(eth0);
    live.routes = live.routes.filter((r) => r.prefixLength !== 0);
    live.routes.push(makeDefaultRoute(eth0, '198.51.100.1'));

    const plan = planChanges(runbook, live);
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]!.code).toBe('route-conflict');
    expect(plan.blockers[0]!.message).toContain(
      'eth0 already has the IPv4 default route default via 198.51.100.1',
    );

    const other = planChanges(
      desiredState(makeConfig(), { fstackVersion: '1.25', routeMetric: 10 }),
      live,
    );
    expect(other.blockers).toEqual([]);
    expect(commands(other)).toEqual(['ip route add default via 192.0.2.1 dev veth0 metric 10']);
  });

  it('blocks on a missing interface', () => {
    const plan = planChanges(runbook, makeLive({ links: [makeLink('lo')] }));
    expect(plan.changes).toEqual([]);
    expect(plan.blockers).toEqual([
      {
        code: 'interface-missing',
        interface: 'veth0',
        message:
          'veth0 does not exist: F-Stack creates it only while its primary process runs with KNI enabled',
      },
    ]);
  });

  it('plans IPv6 address and route, not fe80', () => {
    const port = runbookPort(0, { addr6: '2001:db8::79', prefixLen: 64, gateway6: '2001:db8::1' });
    const desired = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' });
    const { link, live } = convergedRunbook();
    live.addresses.push(makeAddress(link, 'fe80::2/64', { scope: 'link' }));

    const plan = planChanges(desired, live);
    expect(commands(plan)).toEqual([
      'ip address add 2001:db8::79/64 dev veth0',
      'ip -6 route add default via 2001:db8::1 dev veth0 metric 1024',
    ]);

    live.addresses.push(makeAddress(link, '2001:db8::79/64'));
    live.routes.push(makeDefaultRoute(link, '2001:db8::1'));
    expect(planChanges(desired, live).changes).toEqual([]);
  });

  it('replaces an IPv6 address with another prefix', () => {
    const port = runbookPort(0, { addr6: '2001:db8::79', prefixLen: 64 });
    const desired = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' });
    const { link, live } = convergedRunbook();
    live.addresses.push(makeAddress(link, '2001:db8::79/48'));

    const plan = planChanges(desired, live);
    expect(commands(plan)).toEqual([
      'ip address del 2001:db8::79/48 dev veth0',
      'ip address add 2001:db8::79/64 dev veth0',
    ]);
  });

  it('plans two ports', () => {
    const config = makeConfig({
      ports: [
        runbookPort(0),
        runbookPort(1, {
          addr: '198.51.100.9',
          broadcast: '198.51.100.255',
          gateway: '198.51.100.1',
        }),
      ],
    });
    const desired = desiredState(config, { fstackVersion: '1.25', routeMetric: 0 });
    const plan = planChanges(desired, makeLive({ links: [makeLink('veth0'), makeLink('veth1')] }));

    expect(commands(plan)).toEqual([
      'ip link set veth0 up',
      'ip link set veth1 up',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip address add 198.51.100.9/24 broadcast 198.51.100.255 dev veth1',
      'ip route add default via 192.0.2.1 dev veth0 metric 0',
      'ip route add default via 198.51.100.1 dev veth1 metric 1',
    ]);
    expect(plan.notes.join('\n')).toContain('[port1] gateway gets metric 1');
  });

  it('creates a VLAN interface first', () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
    };
    const desired = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const { live } = convergedRunbook();
    const plan = planChanges(desired, live);

    expect(commands(plan)).toEqual([
      'ip link add link veth0 name veth0.10 type vlan id 10',
      'ip link set veth0.10 up',
      'ip address add 203.0.113.5/24 broadcast 203.0.113.255 dev veth0.10',
    ]);
    expect(plan.changes[0]!.undo).toEqual([{ type: 'link-delete', link: 'veth0.10' }]);
  });

  it('accepts an existing VLAN and blocks an impostor', () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
    };
    const desired = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const { link, live } = convergedRunbook();

    const good = makeLink('veth0.10', {
      kind: 'vlan',
      vlanId: 10,
      parentIndex: link.index,
      up: true,
    });
    const withVlan = {
      ...live,
      links: [...live.links, good],
      addresses: [
        ...live.addresses,
        makeAddress(good, '203.0.113.5/24', { broadcast: '203.0.113.255' }),
      ],
    };
    expect(planChanges(desired, withVlan).changes).toEqual([]);

    const impostor = makeLink('veth0.10', { kind: 'dummy', up: true });
    const blocked = planChanges(desired, { ...live, links: [...live.links, impostor] });
    expect(blocked.blockers.map((b) => b.code)).toEqual(['not-a-vlan']);
  });

  it('skips VLANs of a missing port', () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
    };
    const desired = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const plan = planChanges(desired, makeLive());
    expect(plan.blockers.map((b) => b.interface)).toEqual(['veth0']);
    expect(plan.changes).toEqual([]);
  });

  it('sets a MAC before up, with undo', () => {
    const desired = desiredState(makeConfig(), {
      fstackVersion: '1.25',
      macs: new Map([[0, '02:aa:bb:cc:dd:ee']]),
    });
    const veth0 = makeLink('veth0', { mac: '02:00:00:00:00:01' });
    const plan = planChanges(desired, makeLive({ links: [veth0] }));

    expect(commands(plan).slice(0, 2)).toEqual([
      'ip link set veth0 address 02:aa:bb:cc:dd:ee',
      'ip link set veth0 up',
    ]);
    expect(plan.changes[0]!.undo).toEqual([
      { type: 'link-set-mac', link: 'veth0', mac: '02:00:00:00:00:01' },
    ]);
  });

  it('copies a MAC from a visible NIC or blocks', () => {
    const desired = desiredState(makeConfig(), {
      fstackVersion: '1.25',
      macSources: new Map([[0, 'ens1']]),
    });
    const ens1 = makeLink('ens1', { mac: '02:11:22:33:44:55', kind: undefined });
    const plan = planChanges(desired, makeLive({ links: [makeLink('veth0'), ens1] }));
    expect(plan.changes[0]!.description).toBe(
      'set MAC 02:11:22:33:44:55, copied from ens1 (was 02:00:00:00:00:01)',
    );

    const missing = planChanges(desired, makeLive({ links: [makeLink('veth0')] }));
    expect(missing.blockers.map((b) => b.code)).toEqual(['mac-source-missing']);
  });

  it('leaves VIPs alone unless asked for', () => {
    const port = runbookPort(0, { vipAddr: ['192.0.2.80'] });
    const { link, live } = convergedRunbook();
    live.addresses.push(makeAddress(link, '192.0.2.80/32'));

    const without = planChanges(
      desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' }),
      live,
    );
    expect(without.changes).toEqual([]);
    expect(without.drift).toEqual([]);

    const withVips = desiredState(makeConfig({ ports: [port] }), {
      fstackVersion: '1.25',
      withVips: true,
    });
    expect(planChanges(withVips, live).changes).toEqual([]);
    expect(planChanges(withVips, live).drift).toEqual([]);
  });

  it('attaches route restore to the first delete only', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' }),
      makeAddress(link, '203.0.113.7/24', { broadcast: '203.0.113.255' }),
    ];
    const plan = planChanges(runbook, live, { prune: true });
    const deletes = plan.changes.filter((c) => c.kind === 'delete-address');
    expect(deletes.map((d) => d.undo.length)).toEqual([2, 1]);
  });
});

describe('planChanges with IPv4 secondaries', () => {
  it('reinstalls a drift secondary after replacing its primary', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' }),
      makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255', flags: 0x81 }),
    ];
    const plan = planChanges(runbook, live);

    expect(commands(plan)).toEqual([
      'ip address del 192.0.2.79/24 dev veth0',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip address replace 192.0.2.50/24 broadcast 192.0.2.255 dev veth0',
      'ip route replace default via 192.0.2.1 dev veth0 metric 0',
    ]);
    expect(plan.changes[2]!.reason).toBe('reinstall');
    expect(plan.drift.map((d) => d.target)).toEqual(['192.0.2.50/24 broadcast 192.0.2.255']);
  });

  it('reinstalls a desired secondary when pruning its primary', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' }),
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.255', flags: 0x81 }),
      makeAddress(link, '192.0.2.60/24', { broadcast: '192.0.2.255', flags: 0x81 }),
    ];
    const plan = planChanges(runbook, live, { prune: true });

    expect(commands(plan)).toEqual([
      'ip address del 192.0.2.60/24 dev veth0',
      'ip address del 192.0.2.50/24 dev veth0',
      'ip address replace 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
      'ip route replace default via 192.0.2.1 dev veth0 metric 0',
    ]);
  });
});
