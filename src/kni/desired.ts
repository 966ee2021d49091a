// The kernel state that f-stack.conf requires: one entry per veth<N> (and per VLAN interface
// on it) with its addresses, default routes, link state and MAC.
import type { FstackConfig, PortConfig, VlanConfig } from '../config/model.js';
import { hasInvalidNameByte, NAME_BYTE_RULE } from '../net/interface-name.js';
import {
  broadcastAddress,
  canonicalIp,
  formatIPv4,
  inSubnet,
  parseIPv4,
  parseIPv6,
  prefixFromNetmask,
} from '../net/ip.js';
import type { Family } from '../rtnl/types.js';
import {
  type FstackVersion,
  type KniBackend,
  kniRealization,
  parseFstackVersion,
} from './driver.js';
import { KniError } from './errors.js';

/** How to turn f-stack.conf into desired kernel state; every field is optional but the version. */
export interface DesiredOptions {
  /** F-Stack version running on the host: `1.23`, `v1.24`, `1.25`, `dev`. */
  fstackVersion: FstackVersion | string;
  /** Ports to manage; default every port of `[dpdk] port_list`. */
  ports?: readonly number[];
  /** Interface name per port id instead of `veth<portid>`. */
  interfaceNames?: ReadonlyMap<number, string>;
  /** Install a default route via `gateway` / `gateway6` (default true). */
  defaultRoute?: boolean;
  /** Metric of those default routes (default 0; IPv6 stores 0 as 1024). */
  routeMetric?: number;
  /** Also install `vip_addr` (as /32) and `vip_addr6` (default false). */
  withVips?: boolean;
  /** Create `veth<port>.<vid>` for `[vlanN]` sections (default true). */
  vlans?: boolean;
  /** MAC to set per port id. */
  macs?: ReadonlyMap<number, string>;
  /** Kernel link whose MAC to copy per port id, for a NIC still visible to the kernel. */
  macSources?: ReadonlyMap<number, string>;
}

/** An address the kernel interface must carry. */
export interface DesiredAddress {
  family: Family;
  /** Canonical text (`2001:db8::1`). */
  address: string;
  prefixLength: number;
  /** IPv4 broadcast; undefined for IPv6 and for /32 VIPs. */
  broadcast?: string;
  /** The f-stack.conf keys it comes from, e.g. `[port0] addr, netmask, broadcast`. */
  source: string;
}

/** A default route the kernel must carry on the interface. */
export interface DesiredRoute {
  family: Family;
  gateway: string;
  /** Metric as the kernel reports it back. */
  metric: number;
  /** The f-stack.conf key it comes from, e.g. `[port0] gateway`. */
  source: string;
}

/** The desired state of one kernel interface. */
export interface DesiredInterface {
  name: string;
  portId: number;
  /** Set for the VLAN interface of a `[vlanN]` section. */
  vlanId?: number;
  /** Parent interface of a VLAN interface. */
  parent?: string;
  /** True when the driver needs the carrier turned on by hand (rte_kni). */
  carrier: boolean;
  /** MAC to set, when one was given. */
  mac?: string;
  /** Kernel link to copy the MAC from, when asked. */
  macSource?: string;
  addresses: DesiredAddress[];
  /**
   * The port's vip_addr and vip_addr6 when `withVips` is off: not installed, but never
   * reported as foreign or pruned either.
   */
  unmanagedVips?: DesiredAddress[];
  routes: DesiredRoute[];
}

/** Everything the converge engine must make true, plus remarks about the config. */
export interface DesiredState {
  fstackVersion: FstackVersion;
  /** The driver that creates the interfaces: rte_kni (<= 1.23, 1.24 with type=0) or virtio_user. */
  driver: KniBackend;
  interfaces: DesiredInterface[];
  /** Facts worth a warning that do not stop the apply. */
  notes: string[];
}

/** Linux IFNAMSIZ minus the terminating NUL. */
const MAX_INTERFACE_NAME = 15;

/** Metric the kernel stores for an IPv6 route added with metric 0 (IP6_RT_PRIO_USER). */
const IPV6_DEFAULT_METRIC = 1024;

/** Default `prefix_len` and `vip_prefix_len` when unset or 0, as F-Stack's ff_veth.c does. */
const DEFAULT_IPV6_PREFIX = 64;

/**
 * Computes the desired kernel state of every managed port. Throws KniError when KNI is off,
 * a requested port is not configured, or an address of a port cannot be used.
 */
export function desiredState(config: FstackConfig, options: DesiredOptions): DesiredState {
  const version = parseFstackVersion(options.fstackVersion);
  const realization = kniRealization(version, config.kni.type);
  const notes: string[] = [];

  if (!config.kni.enable) {
    throw new KniError(
      'KNI_DISABLED',
      'KNI is disabled in f-stack.conf ([kni] enable is missing or 0), so F-Stack creates no veth interface; ' +
        'add [kni] with enable=1 and method=accept or reject, then restart F-Stack',
    );
  }

  const ports = selectPorts(config, options.ports);
  checkPortOptions(options, ports, config.dpdk.portList);
  const interfaces: DesiredInterface[] = [];
  const names = new Set<string>();
  const gateways: GatewayCount = { 4: 0, 6: 0 };

  for (const portId of ports) {
    const port = config.ports.get(portId);
    if (port === undefined) {
      throw new KniError(
        'PORT_INVALID',
        `port ${portId} is in port_list but f-stack.conf has no [port${portId}] section`,
      );
    }

    const name = options.interfaceNames?.get(portId) ?? `veth${portId}`;
    checkInterfaceName(name, `port ${portId}`);
    if (names.has(name)) {
      throw new KniError('OPTION_INVALID', `interface name ${name} is used for two ports`);
    }
    names.add(name);

    interfaces.push(portInterface(port, name, realization.needsCarrier, gateways, options, notes));

    if (options.vlans ?? true) {
      for (const vlan of vlansOfPort(config, portId)) {
        const vlanName = `${name}.${vlan.vlanId}`;
        checkInterfaceName(vlanName, `[vlan${vlan.vlanId}]`);
        interfaces.push(vlanInterface(vlan, vlanName, name, options, notes));
      }
    }
  }

  return { fstackVersion: version, driver: realization.backend, interfaces, notes };
}

function selectPorts(config: FstackConfig, requested: readonly number[] | undefined): number[] {
  const listed = config.dpdk.portList;
  if (requested === undefined || requested.length === 0) return [...listed];

  for (const port of requested) {
    if (!listed.includes(port)) {
      throw new KniError(
        'PORT_INVALID',
        `port ${port} is not in [dpdk] port_list (${listed.join(',') || 'empty'})`,
      );
    }
  }
  return [...new Set(requested)];
}

/**
 * Rejects a per-port option for a port outside `ports`, which would otherwise be ignored
 * without a word (an interface name for port 1 while only port 0 is managed).
 */
function checkPortOptions(
  options: DesiredOptions,
  ports: readonly number[],
  listed: readonly number[],
): void {
  const perPort = [
    ['interfaceNames', options.interfaceNames],
    ['macs', options.macs],
    ['macSources', options.macSources],
  ] as const;
  for (const [option, map] of perPort) {
    for (const port of map?.keys() ?? []) {
      if (ports.includes(port)) continue;
      const fix = listed.includes(port)
        ? 'add the port to the ports option'
        : 'add the port to [dpdk] port_list and to the ports option';
      throw new KniError(
        'OPTION_INVALID',
        `${option} has an entry for port ${port}, which is not managed (managed ports: ${ports.join(',') || 'none'}); ` +
          `remove the entry, or ${fix}`,
      );
    }
  }
}

function vlansOfPort(config: FstackConfig, portId: number): VlanConfig[] {
  return [...config.vlans.values()]
    .filter((vlan) => vlan.portId === portId)
    .sort((a, b) => a.vlanId - b.vlanId);
}

function portInterface(
  port: PortConfig,
  name: string,
  needsCarrier: boolean,
  gateways: GatewayCount,
  options: DesiredOptions,
  notes: string[],
): DesiredInterface {
  const section = `[port${port.id}]`;
  const addresses: DesiredAddress[] = [];
  const routes: DesiredRoute[] = [];

  const v4 = ipv4Address(section, port.addr, port.netmask, port.broadcast, notes);
  if (v4 !== undefined) addresses.push(v4);
  const v6 = ipv6Address(section, port.addr6, port.prefixLen);
  if (v6 !== undefined) addresses.push(v6);

  const vips = vipAddresses(section, port, (options.withVips ?? false) ? notes : []);
  const unmanagedVips = (options.withVips ?? false) ? [] : vips;
  if (options.withVips ?? false) addresses.push(...vips);

  routes.push(...defaultRoutes(section, port, v4, v6, gateways, options, notes));

  const mac = options.macs?.get(port.id);
  const macSource = options.macSources?.get(port.id);
  if (mac !== undefined && macSource !== undefined) {
    throw new KniError(
      'OPTION_INVALID',
      `port ${port.id} has both a MAC and a MAC source; give one`,
    );
  }

  return {
    name,
    portId: port.id,
    carrier: needsCarrier,
    ...(mac !== undefined ? { mac: normalizeMac(mac, `port ${port.id}`) } : {}),
    ...(macSource !== undefined ? { macSource } : {}),
    addresses,
    ...(unmanagedVips.length > 0 ? { unmanagedVips } : {}),
    routes,
  };
}

function vlanInterface(
  vlan: VlanConfig,
  name: string,
  parent: string,
  options: DesiredOptions,
  notes: string[],
): DesiredInterface {
  const section = `[vlan${vlan.vlanId}]`;
  const addresses: DesiredAddress[] = [];

  const v4 = ipv4Address(section, vlan.addr, vlan.netmask, vlan.broadcast, notes);
  if (v4 !== undefined) addresses.push(v4);
  const v6 = ipv6Address(section, vlan.addr6, vlan.prefixLen);
  if (v6 !== undefined) addresses.push(v6);

  // The main table has one default route per metric, and it belongs to the port. A VLAN's
  // gateway would collide with it, so only its on-link subnet is reachable.
  if (
    (options.defaultRoute ?? true) &&
    (vlan.gateway !== undefined || vlan.gateway6 !== undefined)
  ) {
    notes.push(
      `${section} gateway is not installed as a kernel route: the default route belongs to ${parent}; ` +
        `${name} reaches its own subnet only`,
    );
  }

  return {
    name,
    portId: vlan.portId,
    vlanId: vlan.vlanId,
    parent,
    carrier: false,
    addresses,
    routes: [],
  };
}

function ipv4Address(
  section: string,
  addr: string | undefined,
  netmask: string | undefined,
  broadcast: string | undefined,
  notes: string[],
): DesiredAddress | undefined {
  if (addr === undefined) return undefined;

  const bytes = parseIPv4(addr);
  if (bytes === undefined) {
    throw keyError(section, 'addr', `${section} addr "${addr}" is not an IPv4 address`);
  }
  const mask = netmask === undefined ? undefined : parseIPv4(netmask);
  if (mask === undefined) {
    throw keyError(
      section,
      'netmask',
      `${section} netmask "${netmask ?? ''}" is missing or not an IPv4 netmask`,
    );
  }
  const prefixLength = prefixFromNetmask(mask);
  if (prefixLength === undefined) {
    throw keyError(section, 'netmask', `${section} netmask ${netmask} has non-contiguous one-bits`);
  }

  const computed = formatIPv4(broadcastAddress(bytes, prefixLength));
  let brd = computed;
  let keys = `${section} addr, netmask`;
  if (broadcast !== undefined) {
    const given = parseIPv4(broadcast);
    if (given === undefined) {
      throw keyError(
        section,
        'broadcast',
        `${section} broadcast "${broadcast}" is not an IPv4 address`,
      );
    }
    brd = formatIPv4(given);
    keys += ', broadcast';
    if (brd !== computed) {
      notes.push(
        `${section} broadcast ${brd} is not the broadcast address of ${addr}/${prefixLength} (${computed})`,
      );
    }
  }

  return { family: 4, address: formatIPv4(bytes), prefixLength, broadcast: brd, source: keys };
}

function ipv6Address(
  section: string,
  addr6: string | undefined,
  prefixLen: number | undefined,
): DesiredAddress | undefined {
  if (addr6 === undefined) return undefined;

  const canonical = parseIPv6(addr6) === undefined ? undefined : canonicalIp(addr6);
  if (canonical === undefined) {
    throw keyError(section, 'addr6', `${section} addr6 "${addr6}" is not an IPv6 address`);
  }
  const prefixLength = prefixLen === undefined || prefixLen === 0 ? DEFAULT_IPV6_PREFIX : prefixLen;
  if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 128) {
    throw keyError(
      section,
      'prefix_len',
      `${section} prefix_len ${prefixLen} is out of range 1-128`,
    );
  }
  const keys = prefixLen === undefined ? `${section} addr6` : `${section} addr6, prefix_len`;
  return { family: 6, address: canonical, prefixLength, source: keys };
}

/** VIPs as F-Stack installs them: IPv4 as /32, IPv6 with vip_prefix_len (0 means 64). */
function vipAddresses(section: string, port: PortConfig, notes: string[]): DesiredAddress[] {
  const addresses: DesiredAddress[] = [];

  for (const vip of port.vipAddr) {
    const bytes = parseIPv4(vip);
    if (bytes === undefined) {
      notes.push(`${section} vip_addr entry "${vip}" is not an IPv4 address; F-Stack skips it too`);
      continue;
    }
    const address = formatIPv4(bytes);
    addresses.push({ family: 4, address, prefixLength: 32, source: `${section} vip_addr` });
  }

  const vipPrefix =
    port.vipPrefixLen === undefined || port.vipPrefixLen === 0
      ? DEFAULT_IPV6_PREFIX
      : port.vipPrefixLen;
  for (const vip of port.vipAddr6) {
    const canonical = parseIPv6(vip) === undefined ? undefined : canonicalIp(vip);
    if (canonical === undefined) {
      notes.push(
        `${section} vip_addr6 entry "${vip}" is not an IPv6 address; F-Stack skips it too`,
      );
      continue;
    }
    addresses.push({
      family: 6,
      address: canonical,
      prefixLength: vipPrefix,
      source: `${section} vip_addr6`,
    });
  }
  return addresses;
}

function defaultRoutes(
  section: string,
  port: PortConfig,
  v4: DesiredAddress | undefined,
  v6: DesiredAddress | undefined,
  gateways: GatewayCount,
  options: DesiredOptions,
  notes: string[],
): DesiredRoute[] {
  if (!(options.defaultRoute ?? true)) return [];

  const base = options.routeMetric ?? 0;
  const routes: DesiredRoute[] = [];

  if (port.gateway !== undefined) {
    const gateway = parseIPv4(port.gateway);
    if (gateway === undefined) {
      throw keyError(
        section,
        'gateway',
        `${section} gateway "${port.gateway}" is not an IPv4 address`,
      );
    }
    if (
      v4 !== undefined &&
      !inSubnet(gateway, parseIPv4(v4.address) as Uint8Array, v4.prefixLength)
    ) {
      notes.push(
        `${section} gateway ${port.gateway} is outside ${v4.address}/${v4.prefixLength}; ` +
          'the kernel rejects the default route unless another route reaches the gateway',
      );
    }
    const metric = base + gateways[4]++;
    if (metric !== base) notes.push(shiftedMetricNote(`${section} gateway`, metric));
    routes.push({ family: 4, gateway: formatIPv4(gateway), metric, source: `${section} gateway` });
  }

  if (port.gateway6 !== undefined) {
    const canonical =
      parseIPv6(port.gateway6) === undefined ? undefined : canonicalIp(port.gateway6);
    if (canonical === undefined) {
      throw keyError(
        section,
        'gateway6',
        `${section} gateway6 "${port.gateway6}" is not an IPv6 address`,
      );
    }
    const metric = (base === 0 ? IPV6_DEFAULT_METRIC : base) + gateways[6]++;
    if (gateways[6] > 1) notes.push(shiftedMetricNote(`${section} gateway6`, metric));
    routes.push({ family: 6, gateway: canonical, metric, source: `${section} gateway6` });
  } else if (v6 !== undefined) {
    notes.push(`${section} has addr6 but no gateway6, so no IPv6 default route is installed`);
  }

  return routes;
}

/** Returns KniError PORT_INVALID about `key` of `section` (written as `[port0]`). */
function keyError(section: string, key: string, message: string): KniError {
  return new KniError('PORT_INVALID', message, [], { section: section.slice(1, -1), key });
}

/** Default routes handed out so far per family; later ports get the next metric. */
type GatewayCount = Record<Family, number>;

function shiftedMetricNote(key: string, metric: number): string {
  return (
    `${key} gets metric ${metric}: the main table holds one default route per metric, ` +
    "so the kernel uses the first port's and keeps this one as a fallback"
  );
}

/** Checks a kernel interface name as dev_valid_name() does; throws KniError OPTION_INVALID. */
export function checkInterfaceName(name: string, what: string): void {
  const valid =
    name.length > 0 &&
    Buffer.byteLength(name) <= MAX_INTERFACE_NAME &&
    name !== '.' &&
    name !== '..' &&
    !hasInvalidNameByte(name);
  if (!valid) {
    throw new KniError(
      'OPTION_INVALID',
      `interface name "${name}" for ${what} is invalid: 1-${MAX_INTERFACE_NAME} characters (${MAX_INTERFACE_NAME} bytes of UTF-8 at most), not . or .., ${NAME_BYTE_RULE}`,
    );
  }
}

/** Returns a MAC as lower-case `aa:bb:cc:dd:ee:ff`; throws KniError for anything else. */
export function normalizeMac(text: string, what: string): string {
  const match =
    /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
      text.trim(),
    );
  if (match === null) {
    throw new KniError(
      'OPTION_INVALID',
      `MAC "${text}" for ${what} is invalid: expected aa:bb:cc:dd:ee:ff`,
    );
  }
  const octets = [match[1], match[3], match[4], match[5], match[6], match[7]] as string[];
  const mac = octets.join(':').toLowerCase();
  if ((Number.parseInt(octets[0] as string, 16) & 1) === 1) {
    throw new KniError(
      'OPTION_INVALID',
      `MAC ${mac} for ${what} is a multicast address; use a unicast MAC`,
    );
  }
  return mac;
}
