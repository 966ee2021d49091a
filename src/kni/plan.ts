// Desired state + live state -> the minimal ordered list of kernel changes, each with the
// operations that undo it.
//
// Order of a plan, chosen for the kernel's rules:
//   1. VLAN links are created first, in their own batch, because later steps name them.
//   2. MAC, then up, then carrier: rte_kni resets the carrier when the link comes up, and
//      the kernel refuses a route via a gateway on a link that is down.
//   3. Pruned routes are deleted before addresses, since deleting an address can remove
//      them already.
//   4. Wrong and pruned addresses are deleted (IPv4 secondaries before primaries), then
//      missing addresses added, then secondaries the kernel deleted with their primary.
//   5. Routes are added last, as they need the address that makes the gateway reachable.
//      Deleting the last IPv4 address of a link removes every IPv4 route on it, so after an
//      address delete the routes of that family on that link are installed again.
import { inSubnet, parseIp } from '../net/ip.js';
import type { Address, Family, Link, Route } from '../rtnl/types.js';
import { describeOperation } from './describe.js';
import type { DesiredAddress, DesiredInterface, DesiredRoute, DesiredState } from './desired.js';
import {
  addressesOn,
  findLink,
  formatAddress,
  formatRoute,
  isDefaultRoute,
  isKernelRoute,
  isLinkLocalIPv6,
  type LiveState,
  MAIN_TABLE,
  routeMetric,
  routesOn,
  sameAddressText,
} from './live.js';
import type { KernelOperation } from './operations.js';

export type ChangeKind =
  | 'create-vlan'
  | 'set-mac'
  | 'link-up'
  | 'carrier-on'
  | 'add-address'
  | 'delete-address'
  | 'add-route'
  | 'replace-route'
  | 'delete-route';

/**
 * Reason of a change: the config requires something absent (`missing`), the kernel has it
 * with other attributes (`mismatch`), --prune removes what the config does not require
 * (`prune`), or an earlier step removes it as a side effect (`reinstall`).
 */
export type ChangeReason = 'missing' | 'mismatch' | 'prune' | 'reinstall';

/** One step of a plan: a single kernel operation. */
export interface Change {
  kind: ChangeKind;
  interface: string;
  reason: ChangeReason;
  /** The step and the f-stack.conf keys that require it, in words. */
  description: string;
  /** The object of the step: `192.0.2.79/24 broadcast 192.0.2.255`, `default via 192.0.2.1 metric 0`, ... */
  target: string;
  /** The kernel's value that the step replaces or removes, when there is one. */
  current?: string;
  /** The equal shell command (`ip address add ...`). */
  command: string;
  operation: KernelOperation;
  /** Operations that restore the state before this step, in order; empty when none is needed. */
  undo: KernelOperation[];
}

/** Something on a managed interface that the config does not ask for, left alone. */
export interface Drift {
  kind: 'address' | 'route';
  interface: string;
  family: Family;
  /** The address or route, formatted as in Change.target. */
  target: string;
  description: string;
  /** The command --prune would run. */
  command: string;
}

export type BlockerCode =
  | 'interface-missing'
  | 'not-a-vlan'
  | 'route-conflict'
  | 'mac-source-missing';

/** A reason the plan cannot be applied at all. */
export interface Blocker {
  code: BlockerCode;
  interface: string;
  message: string;
}

export interface Plan {
  /** Steps in execution order; empty when the kernel already matches. */
  changes: Change[];
  drift: Drift[];
  blockers: Blocker[];
  /** Warnings from the config and the plan that do not stop the apply. */
  notes: string[];
}

export interface PlanOptions {
  /** Remove addresses and routes on managed interfaces that the config does not ask for. */
  prune?: boolean;
  /** Named netns, only used to render the commands (`ip -n NAME ...`). */
  netns?: string;
}

/** The plan under construction, one list per ordering group. */
interface Groups {
  links: Change[];
  linkState: Change[];
  routeDeletes: Change[];
  addressDeletes: Change[];
  addressAdds: Change[];
  addressReinstalls: Change[];
  routeAdds: Change[];
}

/** Computes the changes that make `live` match `desired`. Pure: reads nothing else. */
export function planChanges(
  desired: DesiredState,
  live: LiveState,
  options: PlanOptions = {},
): Plan {
  const groups: Groups = {
    links: [],
    linkState: [],
    routeDeletes: [],
    addressDeletes: [],
    addressAdds: [],
    addressReinstalls: [],
    routeAdds: [],
  };
  const drift: Drift[] = [];
  const blockers: Blocker[] = [];
  const notes = [...desired.notes];
  const make = changeFactory(options.netns);

  for (const iface of desired.interfaces) {
    const link = resolveLink(iface, live, groups, blockers, make);
    if (link === 'blocked') continue;

    planLinkState(iface, link, live, groups, blockers, make);
    const deletedFamilies = planAddresses(iface, link, live, groups, drift, notes, options, make);
    planRoutes(iface, link, live, groups, drift, blockers, deletedFamilies, options, make);
  }

  if (
    desired.driver === 'rte_kni' &&
    groups.linkState.some((c) => c.kind === 'link-up' || c.kind === 'set-mac')
  ) {
    notes.push(
      'rte_kni forwards up/down and MAC changes to the F-Stack primary process; they time out if it is not running',
    );
  }

  const changes = [
    ...groups.links,
    ...groups.linkState,
    ...groups.routeDeletes,
    ...groups.addressDeletes,
    ...groups.addressAdds,
    ...groups.addressReinstalls,
    ...groups.routeAdds,
  ];
  return { changes, drift, blockers, notes };
}

type ChangeFactory = (
  kind: ChangeKind,
  iface: string,
  reason: ChangeReason,
  description: string,
  operation: KernelOperation,
  undo: KernelOperation[],
  subject: { target: string; current?: string },
) => Change;

function changeFactory(netns: string | undefined): ChangeFactory {
  return (kind, iface, reason, description, operation, undo, subject) => ({
    kind,
    interface: iface,
    reason,
    description,
    target: subject.target,
    ...(subject.current !== undefined ? { current: subject.current } : {}),
    command: describeOperation(operation, netns === undefined ? {} : { netns }),
    operation,
    undo,
  });
}

/**
 * Finds the interface's link. A missing VLAN link is planned for creation and returned as
 * undefined (a link that will exist, down and empty). A missing port link blocks the plan.
 */
function resolveLink(
  iface: DesiredInterface,
  live: LiveState,
  groups: Groups,
  blockers: Blocker[],
  make: ChangeFactory,
): Link | undefined | 'blocked' {
  const link = findLink(live, iface.name);

  if (iface.vlanId === undefined || iface.parent === undefined) {
    if (link !== undefined) return link;
    blockers.push({
      code: 'interface-missing',
      interface: iface.name,
      message: `${iface.name} does not exist: F-Stack creates it only while its primary process runs with KNI enabled`,
    });
    return 'blocked';
  }

  const parent = findLink(live, iface.parent);
  if (parent === undefined) return 'blocked';

  if (link === undefined) {
    groups.links.push(
      make(
        'create-vlan',
        iface.name,
        'missing',
        `create VLAN interface ${iface.name} with VLAN id ${iface.vlanId} on ${iface.parent} for [vlan${iface.vlanId}]`,
        { type: 'link-add-vlan', link: iface.name, parent: iface.parent, vlanId: iface.vlanId },
        [{ type: 'link-delete', link: iface.name }],
        { target: `vlan ${iface.vlanId} on ${iface.parent}` },
      ),
    );
    return undefined;
  }

  if (link.kind !== 'vlan' || link.vlanId !== iface.vlanId || link.parentIndex !== parent.index) {
    blockers.push({
      code: 'not-a-vlan',
      interface: iface.name,
      message: `${iface.name} exists but is not VLAN ${iface.vlanId} on ${iface.parent}; delete or rename it`,
    });
    return 'blocked';
  }
  return link;
}

function planLinkState(
  iface: DesiredInterface,
  link: Link | undefined,
  live: LiveState,
  groups: Groups,
  blockers: Blocker[],
  make: ChangeFactory,
): void {
  let mac = iface.mac;
  let macOrigin = 'given on the command line';
  if (iface.macSource !== undefined) {
    const source = findLink(live, iface.macSource);
    if (source?.mac === undefined) {
      blockers.push({
        code: 'mac-source-missing',
        interface: iface.name,
        message:
          `cannot copy the MAC of ${iface.macSource}: no such link with a MAC ` +
          '(a NIC bound to DPDK is invisible to the kernel); give the MAC itself instead',
      });
    } else {
      mac = source.mac;
      macOrigin = `copied from ${iface.macSource}`;
    }
  }

  if (mac !== undefined && mac !== link?.mac) {
    const undo: KernelOperation[] =
      link?.mac === undefined ? [] : [{ type: 'link-set-mac', link: iface.name, mac: link.mac }];
    const was = link?.mac === undefined ? '' : ` (was ${link.mac})`;
    groups.linkState.push(
      make(
        'set-mac',
        iface.name,
        'mismatch',
        `set MAC ${mac}, ${macOrigin}${was}`,
        { type: 'link-set-mac', link: iface.name, mac },
        undo,
        { target: mac, ...(link?.mac !== undefined ? { current: link.mac } : {}) },
      ),
    );
  }

  const up = link?.up ?? false;
  if (!up) {
    const why =
      iface.vlanId === undefined ? 'F-Stack creates it down' : 'a new VLAN link starts down';
    groups.linkState.push(
      make(
        'link-up',
        iface.name,
        'missing',
        `bring ${iface.name} up (${why})`,
        { type: 'link-set-up', link: iface.name, up: true },
        [{ type: 'link-set-up', link: iface.name, up: false }],
        { target: 'up', current: 'down' },
      ),
    );
  }

  // rte_kni sets the carrier to its module default each time the link comes up, so a link
  // that is down now needs the carrier set after it comes up.
  if (iface.carrier && (!up || !(link?.carrier ?? false))) {
    groups.linkState.push(
      make(
        'carrier-on',
        iface.name,
        'missing',
        `turn the carrier of ${iface.name} on (rte_kni starts with it off unless loaded with carrier=on)`,
        { type: 'link-set-carrier', link: iface.name, carrier: true },
        [{ type: 'link-set-carrier', link: iface.name, carrier: false }],
        { target: 'carrier on', current: 'carrier off' },
      ),
    );
  }
}

/** An address to delete, before its change is built. */
interface PendingDelete {
  address: Address;
  reason: 'mismatch' | 'prune';
  description: string;
}

/** Plans address changes; returns the families in which an address gets deleted. */
function planAddresses(
  iface: DesiredInterface,
  link: Link | undefined,
  live: LiveState,
  groups: Groups,
  drift: Drift[],
  notes: string[],
  options: PlanOptions,
  make: ChangeFactory,
): Set<Family> {
  const current =
    link === undefined ? [] : addressesOn(live, link.index).filter((a) => !isLinkLocalIPv6(a));
  const matched = new Set<Address>();
  const deletes: PendingDelete[] = [];
  const name = iface.name;

  for (const wanted of iface.addresses) {
    const exact = current.find((a) => !matched.has(a) && addressMatches(a, wanted));
    if (exact !== undefined) {
      matched.add(exact);
      continue;
    }

    const add = addOperation(name, wanted);
    const stale = current.find(
      (a) =>
        !matched.has(a) && a.family === wanted.family && sameAddressText(a.address, wanted.address),
    );
    const target = formatAddress(wanted);
    if (stale === undefined) {
      groups.addressAdds.push(
        make(
          'add-address',
          name,
          'missing',
          `add address ${target} from ${wanted.source}`,
          add,
          [deleteOperation(name, wanted)],
          {
            target,
          },
        ),
      );
      continue;
    }

    // The kernel keeps the broadcast and prefix length of an existing address on
    // `ip address replace`, so a wrong one is deleted and added again.
    matched.add(stale);
    deletes.push({
      address: stale,
      reason: 'mismatch',
      description: `remove address ${formatAddress(stale)}: ${addressMismatch(stale, wanted)}`,
    });
    groups.addressAdds.push(
      make(
        'add-address',
        name,
        'mismatch',
        `add address ${target} from ${wanted.source}`,
        add,
        [deleteOperation(name, wanted)],
        {
          target,
          current: formatAddress(stale),
        },
      ),
    );
  }

  for (const extra of current) {
    if (matched.has(extra)) continue;
    const remove = deleteOperation(name, extra);
    const target = formatAddress(extra);
    const vip = iface.unmanagedVips?.find(
      (v) => v.family === extra.family && sameAddressText(v.address, extra.address),
    );
    if (vip !== undefined) {
      notes.push(
        `address ${target} on ${name} is in f-stack.conf as ${vip.source}, managed only with --with-vips`,
      );
      continue;
    }
    const what = `address ${target} on ${name} is not in f-stack.conf`;
    if (options.prune ?? false) {
      deletes.push({ address: extra, reason: 'prune', description: `remove ${what} (--prune)` });
    } else {
      drift.push({
        kind: 'address',
        interface: name,
        family: extra.family,
        target,
        description: what,
        command: describeOperation(remove, netnsOption(options)),
      });
    }
  }

  planDeletes(name, link, live, current, deletes, groups, make);
  return new Set(deletes.map((d) => d.address.family));
}

/**
 * Turns pending deletes into changes. Deleting a primary IPv4 address makes the kernel
 * delete its secondaries (same subnet) as well, unless promote_secondaries is set. So
 * secondaries are deleted first, and those that stay are installed again after the adds.
 * `ip address replace` does that whether the kernel removed them or promoted one.
 */
function planDeletes(
  name: string,
  link: Link | undefined,
  live: LiveState,
  current: readonly Address[],
  deletes: PendingDelete[],
  groups: Groups,
  make: ChangeFactory,
): void {
  const deleted = new Set(deletes.map((d) => d.address));
  const ordered = [...deletes].sort(
    (a, b) => Number(isPrimaryIPv4(a.address)) - Number(isPrimaryIPv4(b.address)),
  );
  const restoreRoutes = routeRestorer(name, link, live);
  const reinstalled = new Set<Address>();

  for (const pending of ordered) {
    const address = pending.address;
    const secondaries = secondariesOf(address, current).filter((s) => !deleted.has(s));
    const target = formatAddress(address);
    groups.addressDeletes.push(
      make(
        'delete-address',
        name,
        pending.reason,
        pending.description,
        deleteOperation(name, address),
        [
          addOperation(name, address),
          ...secondaries.map((s) => replaceOperation(name, s)),
          ...restoreRoutes(address.family),
        ],
        { target, current: target },
      ),
    );

    for (const secondary of secondaries) {
      if (reinstalled.has(secondary)) continue;
      reinstalled.add(secondary);
      const text = formatAddress(secondary);
      groups.addressReinstalls.push(
        make(
          'add-address',
          name,
          'reinstall',
          `install address ${text} again: the kernel deletes it with ${target}, whose subnet it shares`,
          replaceOperation(name, secondary),
          [],
          { target: text },
        ),
      );
    }
  }
}

/** IFA_F_SECONDARY: the kernel deletes such an address together with its subnet's primary. */
const IFA_F_SECONDARY = 0x01;

function isPrimaryIPv4(address: Address): boolean {
  return address.family === 4 && (address.flags & IFA_F_SECONDARY) === 0;
}

/** Returns the secondary IPv4 addresses of a primary: same link, prefix length and subnet. */
function secondariesOf(primary: Address, current: readonly Address[]): Address[] {
  if (!isPrimaryIPv4(primary)) return [];
  const network = parseIp(primary.address);
  if (network === undefined) return [];
  return current.filter((other) => {
    if (other === primary || other.family !== 4 || (other.flags & IFA_F_SECONDARY) === 0)
      return false;
    const bytes = parseIp(other.address);
    return (
      other.prefixLength === primary.prefixLength &&
      bytes !== undefined &&
      inSubnet(bytes.bytes, network.bytes, primary.prefixLength)
    );
  });
}

/**
 * Returns, per family, the operations that put back the routes the kernel removes together
 * with an address. Only the first delete of a family carries them: it is undone last, when
 * every deleted address is back.
 */
function routeRestorer(
  name: string,
  link: Link | undefined,
  live: LiveState,
): (family: Family) => KernelOperation[] {
  const used = new Set<Family>();
  return (family) => {
    if (link === undefined || used.has(family)) return [];
    used.add(family);
    return routesOn(live, link.index)
      .filter((route) => route.family === family && !isKernelRoute(route))
      .map((route) => ({ type: 'route-replace', route: routeSpecOf(name, route) }));
  };
}

function planRoutes(
  iface: DesiredInterface,
  link: Link | undefined,
  live: LiveState,
  groups: Groups,
  drift: Drift[],
  blockers: Blocker[],
  deletedFamilies: Set<Family>,
  options: PlanOptions,
  make: ChangeFactory,
): void {
  const name = iface.name;
  const current =
    link === undefined ? [] : routesOn(live, link.index).filter((r) => !isKernelRoute(r));
  const kept = new Set<Route>();

  for (const wanted of iface.routes) {
    const spec = desiredRouteSpec(name, wanted);
    const target = `default via ${wanted.gateway} metric ${wanted.metric}`;
    const exact = current.find((r) => !kept.has(r) && routeMatches(r, wanted));
    if (exact !== undefined) {
      kept.add(exact);
      if (deletedFamilies.has(wanted.family)) {
        groups.routeAdds.push(reinstall(name, exact, make));
      }
      continue;
    }

    // The main table has one default route per family and metric. Another interface's
    // route with that key would be replaced or would make the add fail with EEXIST.
    const sameKey = live.routes.filter(
      (r) =>
        r.family === wanted.family &&
        r.table === MAIN_TABLE &&
        isDefaultRoute(r) &&
        routeMetric(r) === wanted.metric,
    );
    const elsewhere = sameKey.find((r) => link === undefined || r.index !== link.index);
    if (elsewhere !== undefined) {
      const owner =
        live.links.find((l) => l.index === elsewhere.index)?.name ?? 'a multipath route';
      blockers.push({
        code: 'route-conflict',
        interface: name,
        message:
          `${owner} already has the IPv${wanted.family} default route ${formatRoute(elsewhere)}; ` +
          `the main table holds one default route per metric, so choose another --route-metric or --no-default-route`,
      });
      continue;
    }

    const onThisLink = sameKey.find((r) => link !== undefined && r.index === link.index);
    if (onThisLink !== undefined) {
      kept.add(onThisLink);
      groups.routeAdds.push(
        make(
          'replace-route',
          name,
          'mismatch',
          `replace default route ${formatRoute(onThisLink)} by one via ${wanted.gateway} from ${wanted.source}`,
          { type: 'route-replace', route: spec },
          [{ type: 'route-replace', route: routeSpecOf(name, onThisLink) }],
          { target, current: formatRoute(onThisLink) },
        ),
      );
      continue;
    }

    groups.routeAdds.push(
      make(
        'add-route',
        name,
        'missing',
        `add default route via ${wanted.gateway} metric ${wanted.metric} from ${wanted.source}`,
        { type: 'route-add', route: spec },
        [{ type: 'route-delete', route: spec }],
        { target },
      ),
    );
  }

  for (const extra of current) {
    if (kept.has(extra)) continue;
    const spec = routeSpecOf(name, extra);
    const target = formatRoute(extra);
    const what = `route ${target} on ${name} is not in f-stack.conf`;
    const remove: KernelOperation = { type: 'route-delete', route: spec };
    if (options.prune ?? false) {
      groups.routeDeletes.push(
        make(
          'delete-route',
          name,
          'prune',
          `remove ${what} (--prune)`,
          remove,
          [{ type: 'route-replace', route: spec }],
          {
            target,
            current: target,
          },
        ),
      );
      continue;
    }
    drift.push({
      kind: 'route',
      interface: name,
      family: extra.family,
      target,
      description: what,
      command: describeOperation(remove, netnsOption(options)),
    });
    if (deletedFamilies.has(extra.family)) {
      groups.routeAdds.push(reinstall(name, extra, make));
    }
  }
}

function reinstall(name: string, route: Route, make: ChangeFactory): Change {
  return make(
    'replace-route',
    name,
    'reinstall',
    `install route ${formatRoute(route)} again: deleting an address of ${name} removes the routes through it`,
    { type: 'route-replace', route: routeSpecOf(name, route) },
    [],
    { target: formatRoute(route) },
  );
}

function netnsOption(options: PlanOptions): { netns?: string } {
  return options.netns === undefined ? {} : { netns: options.netns };
}

function addressMatches(live: Address, wanted: DesiredAddress): boolean {
  if (live.family !== wanted.family || !sameAddressText(live.address, wanted.address)) return false;
  if (live.prefixLength !== wanted.prefixLength) return false;
  return wanted.broadcast === undefined || sameAddressText(live.broadcast, wanted.broadcast);
}

function addressMismatch(live: Address, wanted: DesiredAddress): string {
  if (live.prefixLength !== wanted.prefixLength) {
    return `its prefix length /${live.prefixLength} differs from /${wanted.prefixLength} (${wanted.source})`;
  }
  return `its broadcast ${live.broadcast ?? 'none'} differs from ${wanted.broadcast ?? 'none'} (${wanted.source})`;
}

function routeMatches(live: Route, wanted: DesiredRoute): boolean {
  return (
    live.family === wanted.family &&
    live.table === MAIN_TABLE &&
    isDefaultRoute(live) &&
    sameAddressText(live.gateway, wanted.gateway) &&
    routeMetric(live) === wanted.metric
  );
}

function addOperation(
  link: string,
  address: { address: string; prefixLength: number; broadcast?: string },
): KernelOperation {
  return { type: 'address-add', address: addressSpec(link, address) };
}

function replaceOperation(
  link: string,
  address: { address: string; prefixLength: number; broadcast?: string },
): KernelOperation {
  return { type: 'address-replace', address: addressSpec(link, address) };
}

function deleteOperation(
  link: string,
  address: { address: string; prefixLength: number },
): KernelOperation {
  return {
    type: 'address-delete',
    address: { link, address: address.address, prefixLength: address.prefixLength },
  };
}

function addressSpec(
  link: string,
  address: { address: string; prefixLength: number; broadcast?: string; peer?: string },
): Extract<KernelOperation, { type: 'address-add' }>['address'] {
  return {
    link,
    address: address.address,
    prefixLength: address.prefixLength,
    ...(address.broadcast !== undefined ? { broadcast: address.broadcast } : {}),
    ...(address.peer !== undefined ? { peer: address.peer } : {}),
  };
}

function desiredRouteSpec(
  link: string,
  route: DesiredRoute,
): Extract<KernelOperation, { type: 'route-add' }>['route'] {
  return {
    family: route.family,
    destination: 'default',
    prefixLength: 0,
    gateway: route.gateway,
    link,
    metric: route.metric,
    table: MAIN_TABLE,
  };
}

/** Returns the spec that recreates or deletes a live route exactly. */
function routeSpecOf(
  link: string,
  route: Route,
): Extract<KernelOperation, { type: 'route-add' }>['route'] {
  return {
    family: route.family,
    destination: route.prefixLength === 0 ? 'default' : route.destination,
    prefixLength: route.prefixLength,
    ...(route.gateway !== undefined ? { gateway: route.gateway } : {}),
    link,
    metric: routeMetric(route),
    table: route.table,
    scope: route.scope,
    protocol: route.protocol,
    type: route.type,
    ...(route.preferredSource !== undefined ? { preferredSource: route.preferredSource } : {}),
  };
}
