// Plain-object builders for converge-engine unit tests: configs, links, addresses, routes.
import type { FstackConfig, PortConfig, VlanConfig } from '../../src/config/model.js';
import type { LiveState } from '../../src/kni/live.js';
import type { Address, Link, Route } from '../../src/rtnl/types.js';

/** Builds the runbook's port: 192.0.2.79/24, broadcast .255, gateway .1. */
export function runbookPort(id = 0, overrides: Partial<PortConfig> = {}): PortConfig {
  return {
    id,
    addr: '192.0.2.79',
    netmask: '255.255.255.0',
    broadcast: '192.0.2.255',
    gateway: '192.0.2.1',
    vipAddr: [],
    vipAddr6: [],
    ...overrides,
  } as PortConfig;
}

export interface ConfigParts {
  ports?: PortConfig[];
  vlans?: VlanConfig[];
  kni?: Partial<FstackConfig['kni']>;
  portList?: number[];
}

/** Builds a config with KNI on (method=accept, tcp_port=22) and the runbook's port 0 by default. */
export function makeConfig(parts: ConfigParts = {}): FstackConfig {
  const ports = parts.ports ?? [runbookPort()];
  return {
    dpdk: { portList: parts.portList ?? ports.map((p) => p.id) },
    ports: new Map(ports.map((p) => [p.id, p])),
    vlans: new Map((parts.vlans ?? []).map((v) => [v.vlanId, v])),
    kni: {
      present: true,
      enable: true,
      method: 'accept',
      tcpPorts: [22],
      udpPorts: [],
      ...parts.kni,
    },
  } as unknown as FstackConfig;
}

let nextIndex = 10;

export function makeLink(name: string, overrides: Partial<Link> = {}): Link {
  return {
    index: nextIndex++,
    name,
    up: false,
    carrier: false,
    operState: 'down',
    flags: 0,
    mtu: 1500,
    mac: '02:00:00:00:00:01',
    kind: 'tun',
    ...overrides,
  };
}

export function makeAddress(link: Link, text: string, overrides: Partial<Address> = {}): Address {
  const [address, prefix] = text.split('/') as [string, string];
  const family = address.includes(':') ? 6 : 4;
  return {
    family,
    index: link.index,
    address,
    prefixLength: Number(prefix),
    scope: 'universe',
    flags: 0x80,
    ...overrides,
  };
}

/** Builds a default route via `gateway` out of `link`, as `ip route add` leaves it (proto boot). */
export function makeDefaultRoute(
  link: Link,
  gateway: string,
  overrides: Partial<Route> = {},
): Route {
  const family = gateway.includes(':') ? 6 : 4;
  return {
    family,
    destination: family === 4 ? '0.0.0.0' : '::',
    prefixLength: 0,
    gateway,
    index: link.index,
    ...(family === 6 ? { metric: 1024 } : {}),
    table: 254,
    scope: 'universe',
    protocol: 'boot',
    type: 'unicast',
    flags: 0,
    ...overrides,
  };
}

/** Builds the subnet route the kernel adds with an address (proto kernel, scope link). */
export function makeSubnetRoute(link: Link, network: string, prefixLength: number): Route {
  return {
    family: network.includes(':') ? 6 : 4,
    destination: network,
    prefixLength,
    index: link.index,
    table: 254,
    scope: 'link',
    protocol: 'kernel',
    type: 'unicast',
    flags: 0,
  };
}

export function makeLive(parts: Partial<LiveState> = {}): LiveState {
  return { links: parts.links ?? [], addresses: parts.addresses ?? [], routes: parts.routes ?? [] };
}

/** veth0 configured as the runbook leaves it: up, carrier, address and default route. */
export function convergedRunbook(overrides: Partial<Link> = {}): { link: Link; live: LiveState } {
  const link = makeLink('veth0', { up: true, carrier: true, operState: 'up', ...overrides });
  return {
    link,
    live: makeLive({
      links: [makeLink('lo', { kind: undefined, up: true, mac: '00:00:00:00:00:00' }), link],
      addresses: [makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.255' })],
      routes: [makeSubnetRoute(link, '192.0.2.0', 24), makeDefaultRoute(link, '192.0.2.1')],
    }),
  };
}
