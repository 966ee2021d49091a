import { describe, expect, it } from 'vitest';
import { desiredState, normalizeMac } from '../../src/kni/desired.js';
import { KniError } from '../../src/kni/errors.js';
import { makeConfig, runbookPort } from './fixtures.js';

function errorOf(fn: () => unknown): KniError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KniError) return error;
    throw error;
  }
  throw new Error('expected a KniError');
}

describe('desiredState', () => {
  it('maps the runbook port to veth0', () => {
    const state = desiredState(makeConfig(), { fstackVersion: '1.25' });
    expect(state.driver).toBe('virtio_user');
    expect(state.interfaces).toHaveLength(1);

    const veth0 = state.interfaces[0]!;
    expect(veth0.name).toBe('veth0');
    expect(veth0.carrier).toBe(false);
    expect(veth0.addresses).toEqual([
      {
        family: 4,
        address: '192.0.2.79',
        prefixLength: 24,
        broadcast: '192.0.2.255',
        source: '[port0] addr, netmask, broadcast',
      },
    ]);
    expect(veth0.routes).toEqual([
      { family: 4, gateway: '192.0.2.1', metric: 0, source: '[port0] gateway' },
    ]);
  });

  it.each([
    ['1.21', undefined, true],
    ['1.22', undefined, true],
    ['1.23', undefined, true],
    ['1.24', undefined, false],
    ['1.24', 1, false],
    ['1.24', 0, true],
    ['1.25', 0, false],
    ['dev', undefined, false],
  ])('version %s with type %s needs carrier: %s', (version, type, carrier) => {
    const config = makeConfig({ kni: { type } as never });
    const state = desiredState(config, { fstackVersion: version });
    expect(state.interfaces[0]!.carrier).toBe(carrier);
    expect(state.driver).toBe(carrier ? 'rte_kni' : 'virtio_user');
  });

  it('rejects KNI disabled', () => {
    const error = errorOf(() =>
      desiredState(makeConfig({ kni: { enable: false } }), { fstackVersion: '1.25' }),
    );
    expect(error.code).toBe('KNI_DISABLED');
    expect(error.message).toContain('enable=1');
  });

  it('adds IPv6 address and gateway6 with metric 1024', () => {
    const port = runbookPort(0, { addr6: '2001:DB8::79', prefixLen: 64, gateway6: '2001:db8::1' });
    const veth0 = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' })
      .interfaces[0]!;
    expect(veth0.addresses[1]).toEqual({
      family: 6,
      address: '2001:db8::79',
      prefixLength: 64,
      source: '[port0] addr6, prefix_len',
    });
    expect(veth0.routes[1]).toEqual({
      family: 6,
      gateway: '2001:db8::1',
      metric: 1024,
      source: '[port0] gateway6',
    });
  });

  it('notes addr6 without gateway6', () => {
    const port = runbookPort(0, { addr6: '2001:db8::79' });
    const state = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' });
    expect(state.interfaces[0]!.addresses[1]!.prefixLength).toBe(64);
    expect(state.interfaces[0]!.routes).toHaveLength(1);
    expect(state.notes.join('\n')).toContain('no gateway6');
  });

  it('honours route metric and no default route', () => {
    const port = runbookPort(0, { addr6: '2001:db8::79', gateway6: '2001:db8::1' });
    const metric = desiredState(makeConfig({ ports: [port] }), {
      fstackVersion: '1.25',
      routeMetric: 50,
    });
    expect(metric.interfaces[0]!.routes.map((r) => r.metric)).toEqual([50, 50]);

    const none = desiredState(makeConfig({ ports: [port] }), {
      fstackVersion: '1.25',
      defaultRoute: false,
    });
    expect(none.interfaces[0]!.routes).toEqual([]);
  });

  it('adds VIPs only when asked', () => {
    const port = runbookPort(0, {
      vipAddr: ['192.0.2.80', 'bad'],
      vipAddr6: ['2001:db8::80'],
      addr6: '2001:db8::79',
      vipPrefixLen: 0,
    });
    const without = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' });
    expect(without.interfaces[0]!.addresses).toHaveLength(2);

    const withVips = desiredState(makeConfig({ ports: [port] }), {
      fstackVersion: '1.25',
      withVips: true,
    });
    const vips = withVips.interfaces[0]!.addresses.slice(2);
    expect(vips).toEqual([
      { family: 4, address: '192.0.2.80', prefixLength: 32, source: '[port0] vip_addr' },
      { family: 6, address: '2001:db8::80', prefixLength: 64, source: '[port0] vip_addr6' },
    ]);
    expect(withVips.notes.join('\n')).toContain('"bad"');
  });

  it('maps two ports and overridden names', () => {
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
    const state = desiredState(config, {
      fstackVersion: '1.25',
      interfaceNames: new Map([[1, 'ens1']]),
    });
    expect(state.interfaces.map((i) => i.name)).toEqual(['veth0', 'ens1']);
    expect(state.interfaces[1]!.addresses[0]!.address).toBe('198.51.100.9');

    const only = desiredState(config, { fstackVersion: '1.25', ports: [1] });
    expect(only.interfaces.map((i) => i.name)).toEqual(['veth1']);
  });

  it('rejects a port outside port_list', () => {
    const error = errorOf(() => desiredState(makeConfig(), { fstackVersion: '1.25', ports: [3] }));
    expect(error.code).toBe('PORT_INVALID');
    expect(error.message).toContain('port 3');
  });

  it.each([
    ['interfaceNames', { interfaceNames: new Map([[1, 'ens1']]) }],
    ['macs', { macs: new Map([[1, '02:00:00:00:00:01']]) }],
    ['macSources', { macSources: new Map([[1, 'eth1']]) }],
  ])('rejects %s for a port that is not managed', (option, extra) => {
    const config = makeConfig({ ports: [runbookPort(0), runbookPort(1)] });
    expect(() => desiredState(config, { fstackVersion: '1.25', ...extra })).not.toThrow();
    const error = errorOf(() =>
      desiredState(config, { fstackVersion: '1.25', ports: [0], ...extra }),
    );
    expect(error.code).toBe('OPTION_INVALID');
    expect(error.message).toBe(
      `${option} has an entry for port 1, which is not managed (managed ports: 0); ` +
        'remove the entry, or add the port to the ports option',
    );
    const unlisted = errorOf(() => desiredState(makeConfig(), { fstackVersion: '1.25', ...extra }));
    expect(unlisted.message).toBe(
      `${option} has an entry for port 1, which is not managed (managed ports: 0); ` +
        'remove the entry, or add the port to [dpdk] port_list and to the ports option',
    );
  });

  it('rejects a listed port without section', () => {
    const error = errorOf(() =>
      desiredState(makeConfig({ portList: [0, 1] }), { fstackVersion: '1.25' }),
    );
    expect(error.code).toBe('PORT_INVALID');
    expect(error.message).toContain('[port1]');
  });

  it('rejects duplicate and invalid interface names', () => {
    const config = makeConfig({ ports: [runbookPort(0), runbookPort(1)] });
    const duplicate = errorOf(() =>
      desiredState(config, { fstackVersion: '1.25', interfaceNames: new Map([[1, 'veth0']]) }),
    );
    expect(duplicate.code).toBe('OPTION_INVALID');

    const long = errorOf(() =>
      desiredState(config, {
        fstackVersion: '1.25',
        interfaceNames: new Map([[0, 'a-very-long-interface']]),
      }),
    );
    expect(long.message).toContain('1-15 characters');
  });

  it('rejects a non-contiguous netmask', () => {
    const config = makeConfig({ ports: [runbookPort(0, { netmask: '255.0.255.0' })] });
    expect(errorOf(() => desiredState(config, { fstackVersion: '1.25' })).message).toContain(
      'non-contiguous',
    );
  });

  it('notes an odd broadcast and an off-subnet gateway', () => {
    const config = makeConfig({
      ports: [runbookPort(0, { broadcast: '192.0.2.127', gateway: '198.51.100.1' })],
    });
    const state = desiredState(config, { fstackVersion: '1.25' });
    expect(state.interfaces[0]!.addresses[0]!.broadcast).toBe('192.0.2.127');
    expect(state.notes.join('\n')).toContain('not the broadcast address');
    expect(state.notes.join('\n')).toContain('outside 192.0.2.79/24');
  });

  it('creates VLAN interfaces under their port', () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
      gateway: '203.0.113.1',
    };
    const state = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const vlanIface = state.interfaces[1]!;
    expect(vlanIface).toMatchObject({ name: 'veth0.10', parent: 'veth0', vlanId: 10, routes: [] });
    expect(vlanIface.addresses[0]!.address).toBe('203.0.113.5');
    expect(state.notes.join('\n')).toContain('[vlan10] gateway is not installed');

    const noVlans = desiredState(makeConfig({ vlans: [vlan] }), {
      fstackVersion: '1.25',
      vlans: false,
    });
    expect(noVlans.interfaces).toHaveLength(1);
  });

  it('sets a given MAC and rejects both MAC and source', () => {
    const state = desiredState(makeConfig(), {
      fstackVersion: '1.25',
      macs: new Map([[0, '02-AA-bb-cc-dd-ee']]),
    });
    expect(state.interfaces[0]!.mac).toBe('02:aa:bb:cc:dd:ee');

    const both = errorOf(() =>
      desiredState(makeConfig(), {
        fstackVersion: '1.25',
        macs: new Map([[0, '02:aa:bb:cc:dd:ee']]),
        macSources: new Map([[0, 'ens1']]),
      }),
    );
    expect(both.code).toBe('OPTION_INVALID');
  });
});

describe('normalizeMac', () => {
  it('accepts colon, dash and bare forms', () => {
    expect(normalizeMac('02:AA:bb:cc:dd:ee', 'x')).toBe('02:aa:bb:cc:dd:ee');
    expect(normalizeMac('02aabbccddee', 'x')).toBe('02:aa:bb:cc:dd:ee');
  });

  it('rejects malformed and multicast MACs', () => {
    expect(() => normalizeMac('02:aa:bb:cc:dd', 'x')).toThrow(/invalid/);
    expect(() => normalizeMac('02:aa-bb:cc:dd:ee', 'x')).toThrow(/invalid/);
    expect(() => normalizeMac('01:00:5e:00:00:01', 'x')).toThrow(/multicast/);
  });
});
