// The kernel state the converge engine starts from: links, addresses and routes, each read
// with one dump request.
import { canonicalIp } from '../net/ip.js';
import type { Address, Link, Route } from '../rtnl/types.js';

/** A snapshot of the namespace's links, addresses and routes. */
export interface LiveState {
  links: Link[];
  addresses: Address[];
  routes: Route[];
}

/** The dumps readLiveState needs from an rtnetlink handle (`Rtnl` has them). */
export interface LiveStateSource {
  links: { list(): Promise<Link[]> };
  addresses: { list(): Promise<Address[]> };
  routes: { list(): Promise<Route[]> };
}

/**
 * Dumps links, addresses and routes, one request per kind, as `ip link show`,
 * `ip address show` and `ip route show table all` do.
 */
export async function readLiveState(source: LiveStateSource): Promise<LiveState> {
  const [links, addresses, routes] = await Promise.all([
    source.links.list(),
    source.addresses.list(),
    source.routes.list(),
  ]);
  return { links, addresses, routes };
}

/** The local routing table (local and broadcast routes the kernel derives from addresses). */
export const LOCAL_TABLE = 255;
/** The main routing table, where `ip route add` puts routes by default. */
export const MAIN_TABLE = 254;

export function findLink(state: LiveState, name: string): Link | undefined {
  return state.links.find((link) => link.name === name);
}

export function addressesOn(state: LiveState, index: number): Address[] {
  return state.addresses.filter((address) => address.index === index);
}

/** Routes out of the interface outside the local table. */
export function routesOn(state: LiveState, index: number): Route[] {
  return state.routes.filter((route) => route.index === index && route.table !== LOCAL_TABLE);
}

/** True for fe80::/10, the IPv6 link-local address the kernel assigns by itself. */
export function isLinkLocalIPv6(address: Address): boolean {
  return address.family === 6 && /^fe[89ab][0-9a-f]:/i.test(address.address);
}

/** True for a route the kernel derived from an address (proto kernel). */
export function isKernelRoute(route: Route): boolean {
  return route.protocol === 'kernel';
}

/** True when the route goes to 0.0.0.0/0 or ::/0. */
export function isDefaultRoute(route: Route): boolean {
  return route.prefixLength === 0;
}

/** Metric of a route; IPv4 routes without RTA_PRIORITY have metric 0. */
export function routeMetric(route: Route): number {
  return route.metric ?? 0;
}

/** Returns canonical address text so `2001:DB8::1` and `2001:db8::1` compare equal. */
export function sameAddressText(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (canonicalIp(a) ?? a) === (canonicalIp(b) ?? b);
}

/** `192.0.2.79/24 broadcast 192.0.2.255` */
export function formatAddress(address: {
  address: string;
  prefixLength: number;
  broadcast?: string;
}): string {
  const base = `${address.address}/${address.prefixLength}`;
  return address.broadcast === undefined ? base : `${base} broadcast ${address.broadcast}`;
}

/** `default via 192.0.2.1 metric 0` or `198.51.100.0/24 via 192.0.2.1 table 100 metric 5` */
export function formatRoute(route: Route): string {
  const destination =
    route.prefixLength === 0 ? 'default' : `${route.destination}/${route.prefixLength}`;
  const parts = [destination];
  if (route.gateway !== undefined) parts.push(`via ${route.gateway}`);
  if (route.table !== MAIN_TABLE) parts.push(`table ${route.table}`);
  if (route.protocol !== 'boot') parts.push(`proto ${route.protocol}`);
  parts.push(`metric ${routeMetric(route)}`);
  return parts.join(' ');
}

/**
 * Lists how the named interfaces differ between two snapshots: presence, up, MAC, addresses
 * (not the IPv6 link-local one) and routes that do not follow from addresses. The result
 * is empty when a rollback restored everything it touched.
 */
export function stateDifferences(
  before: LiveState,
  after: LiveState,
  names: readonly string[],
): string[] {
  const differences: string[] = [];

  for (const name of names) {
    const old = findLink(before, name);
    const now = findLink(after, name);
    if (old === undefined && now === undefined) continue;
    if (old === undefined) {
      differences.push(`${name} exists but did not before`);
      continue;
    }
    if (now === undefined) {
      differences.push(`${name} is gone but existed before`);
      continue;
    }

    if (old.up !== now.up)
      differences.push(`${name} is ${now.up ? 'up' : 'down'} but was ${old.up ? 'up' : 'down'}`);
    if (old.mac !== now.mac)
      differences.push(`${name} has MAC ${now.mac ?? 'none'} but had ${old.mac ?? 'none'}`);

    const oldAddresses = addressKeys(before, old.index);
    const newAddresses = addressKeys(after, now.index);
    for (const key of newAddresses) {
      if (!oldAddresses.has(key))
        differences.push(`${name} has address ${key} that it did not have`);
    }
    for (const key of oldAddresses) {
      if (!newAddresses.has(key)) differences.push(`${name} lost address ${key}`);
    }

    const oldRoutes = routeKeys(before, old.index);
    const newRoutes = routeKeys(after, now.index);
    for (const key of newRoutes) {
      if (!oldRoutes.has(key)) differences.push(`${name} has route ${key} that it did not have`);
    }
    for (const key of oldRoutes) {
      if (!newRoutes.has(key)) differences.push(`${name} lost route ${key}`);
    }
  }
  return differences;
}

function addressKeys(state: LiveState, index: number): Set<string> {
  return new Set(
    addressesOn(state, index)
      .filter((address) => !isLinkLocalIPv6(address))
      .map((address) => formatAddress(address)),
  );
}

function routeKeys(state: LiveState, index: number): Set<string> {
  return new Set(
    routesOn(state, index)
      .filter((route) => !isKernelRoute(route))
      .map((route) => formatRoute(route)),
  );
}
