// Replies as the kernel sends them, one attribute per row, decoded into the library types.
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { NetlinkDecodeError } from '../../src/netlink/attributes.js';
import { readMessageHeader } from '../../src/netlink/message.js';
import { decodeAddress, decodeAddresses } from '../../src/rtnl/address.js';
import { decodeLink, decodeLinks } from '../../src/rtnl/link.js';
import { decodeNeighbour } from '../../src/rtnl/neighbour.js';
import { decodeRoute, decodeRoutes } from '../../src/rtnl/route.js';
import { hex, paddedString } from './hex.js';

/** Prepends an nlmsghdr of `type` whose length covers the rows. */
function message(type: number, ...rows: string[]): Buffer {
  const body = hex(...rows);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(0x2, 6); // NLM_F_MULTI, as in a dump
  header.writeUInt32LE(1, 8);
  return Buffer.concat([header, body]);
}

const VETH_VLAN_ATTRIBUTES = [
  `0e00 0300 ${paddedString('veth0.100')}`, // IFLA_IFNAME
  '0800 0400 dc050000', // IFLA_MTU 1500
  '0800 fe3f aabbccdd', // type 0x3ffe: unknown, skipped
  '0a00 0100 020000000001 0000', // IFLA_ADDRESS
  '0500 1000 06 000000', // IFLA_OPERSTATE up
  '0500 2100 01 000000', // IFLA_CARRIER 1
  '0800 0500 03000000', // IFLA_LINK 3
  '2400 1280', // IFLA_LINKINFO, 36 bytes
  `0900 0100 ${paddedString('vlan')}`, // IFLA_INFO_KIND
  '1400 0280', // IFLA_INFO_DATA, 20 bytes
  '0600 0100 6400 0000', // IFLA_VLAN_ID 100
  '0800 2000 01000000', // type 0x20 inside the data: unknown, skipped
];

// IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP
const IFINFOMSG_UP = '00 00 0100 05000000 43100100 00000000';

describe.skipIf(endianness() !== 'LE')('decodeLink', () => {
  const expected = {
    index: 5,
    name: 'veth0.100',
    up: true,
    carrier: true,
    operState: 'up',
    flags: 0x11043,
    mtu: 1500,
    mac: '02:00:00:00:00:01',
    kind: 'vlan',
    parentIndex: 3,
    vlanId: 100,
  };

  it('decodes a vlan link and skips unknown attributes', () => {
    const buffer = message(16, IFINFOMSG_UP, ...VETH_VLAN_ATTRIBUTES);
    expect(decodeLink(buffer, readMessageHeader(buffer))).toEqual(expected);
  });

  it('decodes an ifinfomsg grown by 4 bytes when told its length', () => {
    const buffer = message(16, IFINFOMSG_UP, 'eeeeeeee', ...VETH_VLAN_ATTRIBUTES);
    expect(decodeLink(buffer, readMessageHeader(buffer), 20)).toEqual(expected);
  });

  it('reports an ifinfomsg shorter than the struct', () => {
    const buffer = message(16, '00 00 0100 05000000');
    expect(() => decodeLink(buffer, readMessageHeader(buffer))).toThrow(
      /ifinfomsg is truncated: 8 bytes, need 16/,
    );
  });

  it('reports a truncated attribute', () => {
    const buffer = message(16, IFINFOMSG_UP, '0800 0400 dc050000', '1000 0300 76657468');
    expect(() => decodeLink(buffer, readMessageHeader(buffer))).toThrow(NetlinkDecodeError);
  });

  it('falls back to IFF_LOWER_UP without IFLA_CARRIER and names unknown operstates by number', () => {
    const buffer = message(
      16,
      IFINFOMSG_UP,
      `0800 0300 ${paddedString('lo0')}`,
      '0500 1000 09 000000',
    );
    const link = decodeLink(buffer, readMessageHeader(buffer));
    expect(link.carrier).toBe(true);
    expect(link.operState).toBe('9');
    expect(link.mac).toBeUndefined();
    expect(link.kind).toBeUndefined();
  });

  it('decodes the macvlan mode', () => {
    const buffer = message(
      16,
      IFINFOMSG_UP,
      '1c00 1280', // IFLA_LINKINFO, 28 bytes
      `0c00 0100 ${paddedString('macvlan')}`,
      '0c00 0280',
      '0800 0100 04000000', // IFLA_MACVLAN_MODE bridge
    );
    expect(decodeLink(buffer, readMessageHeader(buffer)).macvlanMode).toBe('bridge');
  });

  it('decodes every link of a dump and skips other messages', () => {
    const done = hex('14000000 0300 0200 01000000 00000000 00000000');
    const address = message(20, '02 18 00 00 05000000', '0800 0200 c000024f');
    const link = message(16, IFINFOMSG_UP, ...VETH_VLAN_ATTRIBUTES);
    expect(
      decodeLinks(Buffer.concat([link, address, link, done])).map((entry) => entry.name),
    ).toEqual(['veth0.100', 'veth0.100']);
  });
});

describe.skipIf(endianness() !== 'LE')('decodeAddress', () => {
  const ATTRIBUTES = [
    '0800 0100 c000024f', // IFA_ADDRESS
    '0800 0200 c000024f', // IFA_LOCAL
    '0800 0400 c00002ff', // IFA_BROADCAST
    `0e00 0300 ${paddedString('veth0:kni')}`, // IFA_LABEL
    '0800 0800 80020000', // IFA_FLAGS: IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE
    '1800 0600 c8000000 2c010000 10000000 20000000 99999999', // IFA_CACHEINFO grown by 4 bytes
    '0800 f03f 01000000', // unknown
  ];

  it('decodes an IPv4 address with lifetimes and IFA_FLAGS over ifa_flags', () => {
    const buffer = message(20, '02 18 80 fd 05000000', ...ATTRIBUTES);
    expect(decodeAddress(buffer, readMessageHeader(buffer))).toEqual({
      family: 4,
      index: 5,
      address: '192.0.2.79',
      prefixLength: 24,
      broadcast: '192.0.2.255',
      label: 'veth0:kni',
      scope: 'link',
      flags: 0x280,
      preferredLifetime: 200,
      validLifetime: 300,
    });
  });

  it('decodes an ifaddrmsg grown by 4 bytes when told its length', () => {
    const buffer = message(20, '02 18 80 fd 05000000', '01020304', ...ATTRIBUTES);
    expect(decodeAddress(buffer, readMessageHeader(buffer), 12)?.address).toBe('192.0.2.79');
  });

  it('reports a point-to-point peer and keeps unknown scopes as numbers', () => {
    const buffer = message(20, '02 20 00 c8 05000000', '0800 0100 c6336401', '0800 0200 c000024f');
    const address = decodeAddress(buffer, readMessageHeader(buffer));
    expect(address?.address).toBe('192.0.2.79');
    expect(address?.peer).toBe('198.51.100.1');
    expect(address?.scope).toBe('site');

    const odd = message(20, '02 20 00 64 05000000', '0800 0200 c000024f');
    expect(decodeAddress(odd, readMessageHeader(odd))?.scope).toBe(100);
  });

  it('decodes an IPv6 address from IFA_ADDRESS alone', () => {
    const buffer = message(
      20,
      '0a 40 80 00 05000000',
      '1400 0100 20010db8000000000000000000000001',
    );
    expect(decodeAddresses(buffer)).toEqual([
      {
        family: 6,
        index: 5,
        address: '2001:db8::1',
        prefixLength: 64,
        scope: 'universe',
        flags: 0x80,
      },
    ]);
  });

  it('skips families other than IPv4 and IPv6', () => {
    const buffer = message(20, '11 00 00 00 05000000');
    expect(decodeAddresses(buffer)).toEqual([]);
  });
});

describe.skipIf(endianness() !== 'LE')('decodeRoute', () => {
  const ATTRIBUTES = [
    '0800 0f00 e8030000', // RTA_TABLE 1000
    '0800 0500 c0000201', // RTA_GATEWAY
    '0800 0400 05000000', // RTA_OIF
    '0800 0600 0a000000', // RTA_PRIORITY 10
    '0800 0700 c000024f', // RTA_PREFSRC
    '0800 e03f 00000000', // unknown
  ];
  const expected = {
    family: 4,
    destination: 'default',
    prefixLength: 0,
    gateway: '192.0.2.1',
    index: 5,
    metric: 10,
    table: 1000,
    scope: 'universe',
    protocol: 'boot',
    type: 'unicast',
    preferredSource: '192.0.2.79',
    flags: 0,
  };

  it('decodes a default route with RTA_TABLE over rtm_table', () => {
    const buffer = message(24, '02 00 00 00 00 03 00 01 00000000', ...ATTRIBUTES);
    expect(decodeRoute(buffer, readMessageHeader(buffer))).toEqual(expected);
  });

  it('decodes an rtmsg grown by 8 bytes when told its length', () => {
    const buffer = message(
      24,
      '02 00 00 00 00 03 00 01 00000000',
      'ffffffff ffffffff',
      ...ATTRIBUTES,
    );
    expect(decodeRoute(buffer, readMessageHeader(buffer), 20)).toEqual(expected);
  });

  it('decodes a blackhole network route with unknown protocol and type numbers', () => {
    const buffer = message(24, '02 18 00 00 fe 2a 00 06 00000000', '0800 0100 cb007100');
    expect(decodeRoute(buffer, readMessageHeader(buffer))).toMatchObject({
      destination: '203.0.113.0',
      prefixLength: 24,
      table: 254,
      protocol: 42,
      type: 'blackhole',
    });
    const odd = message(24, '02 18 00 00 fe 03 00 0b 00000000', '0800 0100 cb007100');
    expect(decodeRoute(odd, readMessageHeader(odd))?.type).toBe(11);
  });

  it('decodes IPv6 routes from a dump', () => {
    const buffer = message(
      24,
      '0a 40 00 00 fe 02 00 01 00000000',
      '1400 0100 20010db8000000000000000000000000',
      '0800 0600 00010000',
    );
    expect(decodeRoutes(buffer)).toEqual([
      {
        family: 6,
        destination: '2001:db8::',
        prefixLength: 64,
        metric: 256,
        table: 254,
        scope: 'universe',
        protocol: 'kernel',
        type: 'unicast',
        flags: 0,
      },
    ]);
  });
});

describe.skipIf(endianness() !== 'LE')('decodeNeighbour', () => {
  it('decodes an IPv6 entry and skips cache info', () => {
    const buffer = message(
      28,
      '0a 00 0000 05000000 8000 00 01', // AF_INET6, index 5, NUD_PERMANENT
      '1400 0100 20010db8000000000000000000000002', // NDA_DST
      '0a00 0200 020000000002 0000', // NDA_LLADDR
      '1400 0300 00000000 00000000 00000000 01000000', // NDA_CACHEINFO
      '0800 0400 00000000', // NDA_PROBES
    );
    expect(decodeNeighbour(buffer, readMessageHeader(buffer))).toEqual({
      family: 6,
      index: 5,
      address: '2001:db8::2',
      mac: '02:00:00:00:00:02',
      state: 'permanent',
      flags: 0,
    });
  });

  it('names combined and unknown states', () => {
    const stale = message(28, '02 00 0000 05000000 0400 00 01', '0800 0100 c0000202');
    expect(decodeNeighbour(stale, readMessageHeader(stale))?.state).toBe('stale');
    const none = message(28, '02 00 0000 05000000 0000 00 01', '0800 0100 c0000202');
    expect(decodeNeighbour(none, readMessageHeader(none))?.state).toBe('none');
    const noarpPermanent = message(28, '02 00 0000 05000000 c000 00 01', '0800 0100 c0000202');
    expect(decodeNeighbour(noarpPermanent, readMessageHeader(noarpPermanent))?.state).toBe(
      'noarp,permanent',
    );
    const unknown = message(28, '02 00 0000 05000000 0001 00 01', '0800 0100 c0000202');
    expect(decodeNeighbour(unknown, readMessageHeader(unknown))?.state).toBe('256');
  });

  it('skips bridge FDB entries', () => {
    const fdb = message(28, '07 00 0000 05000000 8000 02 00', '0a00 0200 020000000002 0000');
    expect(decodeNeighbour(fdb, readMessageHeader(fdb))).toBeUndefined();
  });
});
