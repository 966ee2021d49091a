// Requests byte by byte. Where bench/floor.c builds the same request in C, the fixture is
// the bytes that program sends (sequence number left at 0).
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { addressRequest, checkAddressSpec, encodeAddressDump } from '../../src/rtnl/address.js';
import {
  checkLinkChange,
  encodeBridgeCreate,
  encodeLinkDelete,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkSet,
  encodeMacvlanCreate,
  encodeVethCreate,
  encodeVlanCreate,
} from '../../src/rtnl/link.js';
import {
  checkNeighbourSpec,
  encodeNeighbourDump,
  neighbourRequest,
} from '../../src/rtnl/neighbour.js';
import { checkRouteSpec, encodeRouteDump, routeRequest } from '../../src/rtnl/route.js';
import { hex, paddedString, toHex } from './hex.js';

const IFINFOMSG_ZERO = '00 00 0000 00000000 00000000 00000000';

describe.skipIf(endianness() !== 'LE')('link requests', () => {
  it('encodes set up by index as bench/floor.c does', () => {
    expect(toHex(encodeLinkSet(7, checkLinkChange(7, { up: true })))).toBe(
      toHex(
        hex(
          '20000000 1000 0500 00000000 00000000', // 32 bytes, RTM_NEWLINK, REQUEST|ACK
          '00 00 0000 07000000 01000000 01000000', // index 7, flags IFF_UP, change IFF_UP
        ),
      ),
    );
  });

  it('encodes set down by name with IFLA_IFNAME', () => {
    expect(toHex(encodeLinkSet('veth0', checkLinkChange('veth0', { up: false })))).toBe(
      toHex(
        hex(
          '2c000000 1000 0500 00000000 00000000',
          '00 00 0000 00000000 00000000 01000000', // index 0, flags 0, change IFF_UP
          `0a00 0300 ${paddedString('veth0')}`, // IFLA_IFNAME
        ),
      ),
    );
  });

  it('encodes mtu, address and carrier in one request', () => {
    const change = checkLinkChange(3, { mtu: 1400, mac: '02:AA:bb:00:00:01', carrier: true });
    expect(toHex(encodeLinkSet(3, change))).toBe(
      toHex(
        hex(
          '3c000000 1000 0500 00000000 00000000', // 60 bytes
          '00 00 0000 03000000 00000000 00000000', // nothing in flags or change
          '0800 0400 78050000', // IFLA_MTU 1400
          '0a00 0100 02aabb000001 0000', // IFLA_ADDRESS
          '0500 2100 01 000000', // IFLA_CARRIER 1
        ),
      ),
    );
  });

  it('encodes a rename with the new name in IFLA_IFNAME', () => {
    expect(toHex(encodeLinkSet(4, checkLinkChange(4, { name: 'kni0' })))).toBe(
      toHex(
        hex(
          '2c000000 1000 0500 00000000 00000000',
          '00 00 0000 04000000 00000000 00000000',
          `0900 0300 ${paddedString('kni0')}`,
        ),
      ),
    );
  });

  it('encodes a move to a namespace with IFLA_NET_NS_FD', () => {
    expect(toHex(encodeLinkSet(4, {}, 9))).toBe(
      toHex(
        hex(
          '28000000 1000 0500 00000000 00000000',
          '00 00 0000 04000000 00000000 00000000',
          '0800 1c00 09000000',
        ),
      ),
    );
  });

  it('encodes get by name with statistics skipped', () => {
    expect(toHex(encodeLinkGet('veth0'))).toBe(
      toHex(
        hex(
          '34000000 1200 0500 00000000 00000000', // RTM_GETLINK, REQUEST|ACK
          IFINFOMSG_ZERO,
          `0a00 0300 ${paddedString('veth0')}`,
          '0800 1d00 08000000', // IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
        ),
      ),
    );
  });

  it('encodes get by index without a name', () => {
    expect(toHex(encodeLinkGet(12))).toBe(
      toHex(
        hex(
          '28000000 1200 0500 00000000 00000000',
          '00 00 0000 0c000000 00000000 00000000',
          '0800 1d00 08000000',
        ),
      ),
    );
  });

  it('encodes the dump', () => {
    expect(toHex(encodeLinkDump())).toBe(
      toHex(hex('28000000 1200 0103 00000000 00000000', IFINFOMSG_ZERO, '0800 1d00 08000000')), // REQUEST|DUMP
    );
  });

  it('encodes delete by name', () => {
    expect(toHex(encodeLinkDelete('veth0'))).toBe(
      toHex(
        hex(
          '2c000000 1100 0500 00000000 00000000',
          IFINFOMSG_ZERO,
          `0a00 0300 ${paddedString('veth0')}`,
        ),
      ),
    );
  });

  it('encodes a vlan create byte by byte', () => {
    expect(toHex(encodeVlanCreate('veth0.100', 3, 100))).toBe(
      toHex(
        hex(
          '54000000 1000 0506 00000000 00000000', // 84 bytes, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
          IFINFOMSG_ZERO,
          `0e00 0300 ${paddedString('veth0.100')}`, // IFLA_IFNAME "veth0.100"
          '0800 0500 03000000', // IFLA_LINK 3
          '1c00 1280', // IFLA_LINKINFO, nested, 28 bytes
          `0900 0100 ${paddedString('vlan')}`, // IFLA_INFO_KIND "vlan"
          '0c00 0280', // IFLA_INFO_DATA, nested, 12 bytes
          '0600 0100 6400 0000', // IFLA_VLAN_ID 100
        ),
      ),
    );
  });

  it('encodes a veth pair with the peer in VETH_INFO_PEER', () => {
    expect(toHex(encodeVethCreate('veth0', 'veth1'))).toBe(
      toHex(
        hex(
          '60000000 1000 0506 00000000 00000000',
          IFINFOMSG_ZERO,
          `0a00 0300 ${paddedString('veth0')}`,
          '3400 1280', // IFLA_LINKINFO, 52 bytes
          `0900 0100 ${paddedString('veth')}`,
          '2400 0280', // IFLA_INFO_DATA, 36 bytes
          '2000 0100', // VETH_INFO_PEER without NLA_F_NESTED: ifinfomsg, then attributes
          IFINFOMSG_ZERO,
          `0a00 0300 ${paddedString('veth1')}`,
        ),
      ),
    );
  });

  it('encodes the peer namespace fd inside VETH_INFO_PEER', () => {
    const bytes = encodeVethCreate('veth0', 'veth1', 9);
    expect(bytes.readUInt32LE(0)).toBe(104);
    expect(toHex(bytes.subarray(96))).toBe(toHex(hex('0800 1c00 09000000'))); // IFLA_NET_NS_FD 9
    expect(bytes.readUInt16LE(44)).toBe(60); // IFLA_LINKINFO grew by 8
  });

  it('encodes a macvlan with its mode', () => {
    expect(toHex(encodeMacvlanCreate('mv0', 2, 4))).toBe(
      toHex(
        hex(
          '4c000000 1000 0506 00000000 00000000',
          IFINFOMSG_ZERO,
          `0800 0300 ${paddedString('mv0')}`,
          '0800 0500 02000000', // IFLA_LINK 2
          '1c00 1280', // IFLA_LINKINFO, 28 bytes
          `0c00 0100 ${paddedString('macvlan')}`,
          '0c00 0280',
          '0800 0100 04000000', // IFLA_MACVLAN_MODE bridge
        ),
      ),
    );
  });

  it('encodes a bridge without IFLA_INFO_DATA', () => {
    expect(toHex(encodeBridgeCreate('br0'))).toBe(
      toHex(
        hex(
          '38000000 1000 0506 00000000 00000000',
          IFINFOMSG_ZERO,
          `0800 0300 ${paddedString('br0')}`,
          '1000 1280',
          `0b00 0100 ${paddedString('bridge')}`,
        ),
      ),
    );
  });
});

describe.skipIf(endianness() !== 'LE')('address requests', () => {
  it('encodes add as bench/floor.c does', () => {
    const address = checkAddressSpec({ link: 7, address: '192.0.2.10', prefixLength: 24 });
    expect(toHex(addressRequest('add', address, 7).message)).toBe(
      toHex(
        hex(
          '28000000 1400 0506 00000000 00000000', // RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
          '02 18 00 00 07000000', // AF_INET, /24, flags 0, scope universe, index 7
          '0800 0200 c000020a', // IFA_LOCAL
          '0800 0100 c000020a', // IFA_ADDRESS
        ),
      ),
    );
  });

  it('encodes delete as bench/floor.c does', () => {
    const address = checkAddressSpec({
      link: 7,
      address: '192.0.2.10',
      prefixLength: 24,
      broadcast: '192.0.2.255',
    });
    expect(toHex(addressRequest('delete', address, 7).message)).toBe(
      toHex(
        hex(
          '28000000 1500 0500 00000000 00000000',
          '02 18 00 00 07000000',
          '0800 0200 c000020a',
          '0800 0100 c000020a',
        ),
      ),
    );
  });

  it('encodes replace with broadcast, label, scope, flags and lifetimes', () => {
    const address = checkAddressSpec({
      link: 'veth0',
      address: '192.0.2.79',
      prefixLength: 24,
      broadcast: '192.0.2.255',
      label: 'veth0:kni',
      scope: 'link',
      flags: 0x280, // IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE: above 8 bits, so IFA_FLAGS too
      validLifetime: 300,
      preferredLifetime: 200,
    });
    expect(toHex(addressRequest('replace', address, 5).message)).toBe(
      toHex(
        hex(
          '5c000000 1400 0505 00000000 00000000', // 92 bytes, REQUEST|ACK|REPLACE|CREATE
          '02 18 80 fd 05000000', // ifa_flags low byte 0x80, scope link (253)
          '0800 0200 c000024f', // IFA_LOCAL
          '0800 0100 c000024f', // IFA_ADDRESS
          `0e00 0300 ${paddedString('veth0:kni')}`, // IFA_LABEL
          '0800 0400 c00002ff', // IFA_BROADCAST
          '0800 0800 80020000', // IFA_FLAGS
          '1400 0600 c8000000 2c010000 00000000 00000000', // IFA_CACHEINFO preferred 200, valid 300
        ),
      ),
    );
  });

  it('encodes an IPv6 address and a peer', () => {
    const address = checkAddressSpec({
      link: 5,
      address: '2001:db8::1',
      prefixLength: 64,
      peer: '2001:db8::2',
    });
    expect(toHex(addressRequest('add', address, 5).message)).toBe(
      toHex(
        hex(
          '40000000 1400 0506 00000000 00000000',
          '0a 40 00 00 05000000', // AF_INET6, /64
          '1400 0200 20010db8000000000000000000000001', // IFA_LOCAL
          '1400 0100 20010db8000000000000000000000002', // IFA_ADDRESS: the peer
        ),
      ),
    );
  });

  it('gives IPv4 loopback addresses host scope by default', () => {
    expect(checkAddressSpec({ link: 1, address: '127.0.0.2', prefixLength: 8 }).scope).toBe(254);
  });

  it('encodes the dump with the link index for strict filtering', () => {
    expect(toHex(encodeAddressDump(4, 5))).toBe(
      toHex(hex('18000000 1600 0103 00000000 00000000', '02 00 00 00 05000000')),
    );
    expect(toHex(encodeAddressDump())).toBe(
      toHex(hex('18000000 1600 0103 00000000 00000000', '00 00 00 00 00000000')),
    );
  });
});

describe.skipIf(endianness() !== 'LE')('route requests', () => {
  it('encodes replace as bench/floor.c does', () => {
    const route = checkRouteSpec({ destination: '198.51.100.0/24', link: 7, metric: 1 }, 'replace');
    expect(toHex(routeRequest('replace', route, 7).message)).toBe(
      toHex(
        hex(
          '34000000 1800 0505 00000000 00000000', // RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE
          '02 18 00 00 fe 03 fd 01 00000000', // /24, table main, proto boot, scope link, unicast
          '0800 0100 c6336400', // RTA_DST
          '0800 0400 07000000', // RTA_OIF
          '0800 0600 01000000', // RTA_PRIORITY
        ),
      ),
    );
  });

  it('encodes a default route via a gateway with universe scope', () => {
    const route = checkRouteSpec(
      { destination: 'default', gateway: '192.0.2.1', link: 'veth0' },
      'add',
    );
    expect(toHex(routeRequest('add', route, 5).message)).toBe(
      toHex(
        hex(
          '2c000000 1800 0506 00000000 00000000',
          '02 00 00 00 fe 03 00 01 00000000', // /0, main, boot, universe, unicast
          '0800 0500 c0000201', // RTA_GATEWAY
          '0800 0400 05000000', // RTA_OIF
        ),
      ),
    );
  });

  it('puts a table above 255 in RTA_TABLE', () => {
    const route = checkRouteSpec(
      { destination: '203.0.113.0/24', type: 'blackhole', table: 1000 },
      'add',
    );
    expect(toHex(routeRequest('add', route, undefined).message)).toBe(
      toHex(
        hex(
          '2c000000 1800 0506 00000000 00000000',
          '02 18 00 00 00 03 00 06 00000000', // rtm_table RT_TABLE_UNSPEC, blackhole
          '0800 0100 cb007100',
          '0800 0f00 e8030000', // RTA_TABLE 1000
        ),
      ),
    );
  });

  it('encodes a local route in the local table with host scope and a preferred source', () => {
    const route = checkRouteSpec(
      { destination: '192.0.2.79', type: 'local', link: 5, preferredSource: '192.0.2.79' },
      'add',
    );
    expect(toHex(routeRequest('add', route, 5).message)).toBe(
      toHex(
        hex(
          '34000000 1800 0506 00000000 00000000',
          '02 20 00 00 ff 03 fe 02 00000000', // /32, local table, boot, host, local
          '0800 0100 c000024f',
          '0800 0400 05000000',
          '0800 0700 c000024f', // RTA_PREFSRC
        ),
      ),
    );
  });

  it('encodes delete matching any protocol, scope and type', () => {
    const route = checkRouteSpec({ destination: '198.51.100.0/24', table: 100 }, 'delete');
    expect(toHex(routeRequest('delete', route, undefined).message)).toBe(
      toHex(
        hex(
          '24000000 1900 0500 00000000 00000000',
          '02 18 00 00 64 00 ff 00 00000000',
          '0800 0100 c6336400',
        ),
      ),
    );
  });

  it('encodes an IPv6 default route', () => {
    const route = checkRouteSpec(
      { destination: 'default', gateway: '2001:db8::1', metric: 1024 },
      'add',
    );
    expect(toHex(routeRequest('add', route, undefined).message)).toBe(
      toHex(
        hex(
          '38000000 1800 0506 00000000 00000000', // 56 bytes
          '0a 00 00 00 fe 03 00 01 00000000',
          '1400 0500 20010db8000000000000000000000001',
          '0800 0600 00040000',
        ),
      ),
    );
  });

  it('encodes the dump with table and output link filters', () => {
    expect(toHex(encodeRouteDump(4, 100, 5))).toBe(
      toHex(
        hex(
          '2c000000 1a00 0103 00000000 00000000',
          '02 00 00 00 64 00 00 00 00000000',
          '0800 0f00 64000000',
          '0800 0400 05000000',
        ),
      ),
    );
    expect(toHex(encodeRouteDump())).toBe(
      toHex(hex('1c000000 1a00 0103 00000000 00000000', '00 00 00 00 00 00 00 00 00000000')),
    );
  });
});

describe.skipIf(endianness() !== 'LE')('neighbour requests', () => {
  it('encodes replace as a permanent entry', () => {
    const neighbour = checkNeighbourSpec({
      link: 5,
      address: '192.0.2.2',
      mac: '02:00:00:00:00:02',
    });
    expect(toHex(neighbourRequest('replace', neighbour, 5).message)).toBe(
      toHex(
        hex(
          '30000000 1c00 0505 00000000 00000000', // 48 bytes, RTM_NEWNEIGH, REQUEST|ACK|REPLACE|CREATE
          '02 00 0000 05000000 8000 00 00', // AF_INET, index 5, NUD_PERMANENT
          '0800 0100 c0000202', // NDA_DST
          '0a00 0200 020000000002 0000', // NDA_LLADDR
        ),
      ),
    );
  });

  it('encodes delete without the MAC', () => {
    const neighbour = checkNeighbourSpec({
      link: 5,
      address: '192.0.2.2',
      mac: '02:00:00:00:00:02',
    });
    expect(toHex(neighbourRequest('delete', neighbour, 5).message)).toBe(
      toHex(
        hex(
          '24000000 1d00 0500 00000000 00000000',
          '02 00 0000 05000000 0000 00 00',
          '0800 0100 c0000202',
        ),
      ),
    );
  });

  it('encodes the dump with NDA_IFINDEX', () => {
    expect(toHex(encodeNeighbourDump(6, 5))).toBe(
      toHex(
        hex(
          '24000000 1e00 0103 00000000 00000000',
          '0a 00 0000 00000000 0000 00 00',
          '0800 0800 05000000',
        ),
      ),
    );
  });
});
