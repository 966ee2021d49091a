// Plain data types of rtnetlink objects as the library returns and accepts them.
// Addresses are text (`192.0.2.79`, `2001:db8::1`), MACs are lower-case `aa:bb:cc:dd:ee:ff`.

export type Family = 4 | 6;

/** Where a handle works: a named netns (`/run/netns/NAME`), a namespace file path or an fd. */
export type NetnsTarget = { name: string } | { path: string } | { fd: number };

export type LinkKind = 'veth' | 'tun' | 'bridge' | 'macvlan' | 'vlan' | 'dummy' | string;

/** A network interface as `ip link show` reports it. */
export interface Link {
  index: number;
  name: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_LOWER_UP / IFLA_CARRIER: the link has carrier. */
  carrier: boolean;
  /** IFLA_OPERSTATE as text: 'up', 'down', 'unknown', 'lowerlayerdown', ... */
  operState: string;
  /** Raw IFF_* flags. */
  flags: number;
  mtu: number;
  /** Hardware address, undefined for links without one (e.g. tun). */
  mac?: string;
  /** IFLA_INFO_KIND, undefined for links without link info (e.g. loopback). */
  kind?: LinkKind;
  /** IFLA_LINK: index of the parent or veth peer, when the kernel reports it. */
  parentIndex?: number;
  /** IFLA_MASTER. */
  masterIndex?: number;
  /** VLAN id for kind 'vlan'. */
  vlanId?: number;
  /** IFLA_MACVLAN_MODE for kind 'macvlan': 'private', 'vepa', 'bridge', 'passthru', 'source' or the number. */
  macvlanMode?: string | number;
  /** IFLA_LINK_NETNSID: the namespace id of the parent or veth peer when it is in another namespace. */
  linkNetnsId?: number;
}

export type AddressScope = 'universe' | 'site' | 'link' | 'host' | 'nowhere' | number;

/** An interface address as `ip address show` reports it. */
export interface Address {
  family: Family;
  /** Interface index the address is on. */
  index: number;
  /** IFA_LOCAL (IPv4) or IFA_ADDRESS (IPv6). */
  address: string;
  prefixLength: number;
  /** IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point peer). */
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: AddressScope;
  /** IFA_F_* flags (from IFA_FLAGS when present). */
  flags: number;
  /** Seconds; 0xffffffff means forever. */
  validLifetime?: number;
  preferredLifetime?: number;
}

/** Options of an address to add, replace or delete (`ip address add ADDR/PLEN dev IF ...`). */
export interface AddressSpec {
  /** Interface index or name. */
  link: number | string;
  address: string;
  prefixLength: number;
  broadcast?: string;
  peer?: string;
  label?: string;
  scope?: AddressScope;
  flags?: number;
  /** Seconds; omit both for a permanent address. */
  validLifetime?: number;
  preferredLifetime?: number;
}

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | number;

export type RouteScope = 'universe' | 'site' | 'link' | 'host' | 'nowhere' | number;

export type RouteProtocol = 'unspec' | 'redirect' | 'kernel' | 'boot' | 'static' | 'ra' | number;

/** A route as `ip route show table all` reports it. */
export interface Route {
  family: Family;
  /** Destination network; 'default' is the zero prefix of the family. */
  destination: string;
  prefixLength: number;
  gateway?: string;
  /** RTA_OIF. */
  index?: number;
  /** RTA_PRIORITY. */
  metric?: number;
  /** RTA_TABLE or rtm_table; 254 is main, 255 local. */
  table: number;
  scope: RouteScope;
  protocol: RouteProtocol;
  type: RouteType;
  preferredSource?: string;
  flags: number;
}

/** A route to add, replace or delete (`ip route add DEST via GW dev IF metric N ...`). */
export interface RouteSpec {
  family?: Family;
  /** 'default' or a network, with the prefix in `prefixLength` or as `net/plen`. */
  destination: string;
  prefixLength?: number;
  gateway?: string;
  /** Output interface index or name. */
  link?: number | string;
  metric?: number;
  /** Default 254 (main). */
  table?: number;
  scope?: RouteScope;
  /** Default 'boot', as `ip route` uses. */
  protocol?: RouteProtocol;
  /** Default 'unicast'. */
  type?: RouteType;
  preferredSource?: string;
}

/** A neighbour (ARP / NDP) entry as `ip neighbour show` reports it. */
export interface Neighbour {
  family: Family;
  index: number;
  address: string;
  mac?: string;
  /** NUD_* state as text: 'permanent', 'reachable', 'stale', 'failed', ... */
  state: string;
  flags: number;
}

export interface NeighbourSpec {
  link: number | string;
  address: string;
  mac?: string;
  /** Default 'permanent'. */
  state?: string;
}
