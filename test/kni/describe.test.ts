import { describe, expect, it } from 'vitest';
import { describeOperation } from '../../src/kni/describe.js';
import type { KernelOperation } from '../../src/kni/operations.js';

const cases: Array<[KernelOperation, string]> = [
  [{ type: 'link-set-up', link: 'veth0', up: true }, 'ip link set veth0 up'],
  [{ type: 'link-set-up', link: 'veth0', up: false }, 'ip link set veth0 down'],
  [
    { type: 'link-set-carrier', link: 'veth0', carrier: true },
    'echo 1 > /sys/class/net/veth0/carrier',
  ],
  [
    { type: 'link-set-carrier', link: 'veth0', carrier: false },
    'echo 0 > /sys/class/net/veth0/carrier',
  ],
  [
    { type: 'link-set-mac', link: 'veth0', mac: '02:aa:bb:cc:dd:ee' },
    'ip link set veth0 address 02:aa:bb:cc:dd:ee',
  ],
  [
    { type: 'link-add-vlan', link: 'veth0.10', parent: 'veth0', vlanId: 10 },
    'ip link add link veth0 name veth0.10 type vlan id 10',
  ],
  [{ type: 'link-delete', link: 'veth0.10' }, 'ip link delete veth0.10'],
  [
    {
      type: 'address-add',
      address: { link: 'veth0', address: '192.0.2.79', prefixLength: 24, broadcast: '192.0.2.255' },
    },
    'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0',
  ],
  [
    {
      type: 'address-delete',
      address: { link: 'veth0', address: '192.0.2.79', prefixLength: 24, broadcast: '192.0.2.255' },
    },
    'ip address del 192.0.2.79/24 dev veth0',
  ],
  [
    { type: 'address-add', address: { link: 'veth0', address: '2001:db8::79', prefixLength: 64 } },
    'ip address add 2001:db8::79/64 dev veth0',
  ],
  [
    {
      type: 'route-replace',
      route: {
        destination: 'default',
        prefixLength: 0,
        gateway: '192.0.2.1',
        link: 'veth0',
        metric: 0,
        table: 254,
      },
    },
    'ip route replace default via 192.0.2.1 dev veth0 metric 0',
  ],
  [
    {
      type: 'route-add',
      route: {
        family: 6,
        destination: 'default',
        gateway: '2001:db8::1',
        link: 'veth0',
        metric: 1024,
      },
    },
    'ip -6 route add default via 2001:db8::1 dev veth0 metric 1024',
  ],
  [
    {
      type: 'route-delete',
      route: {
        family: 4,
        destination: '198.51.100.0',
        prefixLength: 24,
        gateway: '192.0.2.254',
        link: 'veth0',
        table: 100,
        protocol: 'static',
        scope: 'universe',
        type: 'unicast',
        metric: 5,
      },
    },
    'ip route del 198.51.100.0/24 via 192.0.2.254 dev veth0 table 100 proto static metric 5',
  ],
  [
    {
      type: 'route-delete',
      route: {
        family: 4,
        destination: '203.0.113.7',
        prefixLength: 32,
        link: 'veth0',
        type: 'blackhole',
      },
    },
    'ip route del blackhole 203.0.113.7 dev veth0',
  ],
];

describe('describeOperation', () => {
  it.each(cases)('renders %j', (operation, command) => {
    expect(describeOperation(operation)).toBe(command);
  });

  it('adds the netns', () => {
    expect(
      describeOperation({ type: 'link-set-up', link: 'veth0', up: true }, { netns: 'lab' }),
    ).toBe('ip -n lab link set veth0 up');
    expect(
      describeOperation(
        { type: 'link-set-carrier', link: 'veth0', carrier: true },
        { netns: 'lab' },
      ),
    ).toBe("ip netns exec lab sh -c 'echo 1 > /sys/class/net/veth0/carrier'");
  });
});
