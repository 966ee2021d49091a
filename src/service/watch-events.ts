// Classification of kernel notifications about the interfaces f-stack.conf manages: a
// managed interface appeared or vanished, something drifted from the desired state, or the
// event shows the desired state and needs nothing.
//
// The verdicts err towards `drift`: a needless converge pass costs one dump, a missed one
// leaves an interface unconfigured. Notifications the kernel never sends are covered by
// the event that causes them: IPv4 routes that vanish with their address or with the link
// going down come with an address-delete or link event of their own.
import type {
  DesiredAddress,
  DesiredInterface,
  DesiredRoute,
  DesiredState,
} from '../kni/desired.js';
import {
  formatAddress,
  formatRoute,
  isKernelRoute,
  isLinkLocalIPv6,
  MAIN_TABLE,
  routeMetric,
  sameAddressText,
} from '../kni/live.js';
import type { RtnlEvent } from '../rtnl/index.js';
import type { Address, Link, Route } from '../rtnl/types.js';

/**
 * - appeared: a managed interface exists with an ifindex not seen before.
 * - vanished: a managed interface was deleted (or renamed away).
 * - drift: the event shows a state that differs from the desired one, so a pass is due.
 * - in-sync: the event shows the desired state.
 * - unmanaged: about a managed interface, but about something the config does not ask for
 *   (left alone unless pruning).
 */
export type EventEffect = 'appeared' | 'vanished' | 'drift' | 'in-sync' | 'unmanaged';

/** A notification about a managed interface, with what it means. */
export interface ClassifiedEvent {
  kind: 'link' | 'address' | 'route';
  action: 'new' | 'delete';
  interface: string;
  index: number;
  effect: EventEffect;
  /** The object in words: `up`, `192.0.2.79/24 broadcast 192.0.2.255`, `default via 192.0.2.1 metric 0`. */
  object: string;
}

type ObjectEvent = Extract<RtnlEvent, { kind: 'link' | 'address' | 'route' }>;

/**
 * The managed interfaces of one namespace: which exist, under which ifindex, and what
 * they should carry.
 */
export class ManagedInterfaces {
  #desired = new Map<string, DesiredInterface>();
  readonly #links = new Map<string, Link>();
  readonly #names = new Map<number, string>();
  #prune = false;

  /** Sets what the interfaces should carry; undefined manages nothing (KNI disabled). */
  setDesired(desired: DesiredState | undefined, prune: boolean): void {
    this.#desired = new Map((desired?.interfaces ?? []).map((iface) => [iface.name, iface]));
    this.#prune = prune;
  }

  /** Names of the managed interfaces, in config order. */
  names(): string[] {
    return [...this.#desired.keys()];
  }

  /** Returns the link of a managed interface as last seen, or undefined when absent. */
  link(name: string): Link | undefined {
    return this.#links.get(name);
  }

  /** Replaces what is known about every link with a dump (at start and after a resync). */
  reset(links: readonly Link[]): void {
    this.#links.clear();
    this.#names.clear();
    for (const link of links) this.#remember(link);
  }

  /**
   * Classifies a notification and updates the known links. Returns undefined for
   * notifications about interfaces that are not managed.
   */
  classify(event: ObjectEvent): ClassifiedEvent | undefined {
    switch (event.kind) {
      case 'link':
        return this.#classifyLink(event.action, event.object);
      case 'address':
        return this.#classifyAddress(event.action, event.object);
      case 'route':
        return this.#classifyRoute(event.action, event.object);
    }
  }

  #remember(link: Link): void {
    const old = this.#links.get(link.name);
    if (old !== undefined && old.index !== link.index) this.#names.delete(old.index);
    this.#links.set(link.name, link);
    this.#names.set(link.index, link.name);
  }

  #forget(name: string, index: number): void {
    if (this.#links.get(name)?.index === index) this.#links.delete(name);
    this.#names.delete(index);
  }

  #classifyLink(action: 'new' | 'delete', link: Link): ClassifiedEvent | undefined {
    const knownName = this.#names.get(link.index);

    if (action === 'delete') {
      const name = knownName ?? link.name;
      this.#forget(name, link.index);
      if (!this.#desired.has(name)) return undefined;
      return {
        kind: 'link',
        action,
        interface: name,
        index: link.index,
        effect: 'vanished',
        object: 'deleted',
      };
    }

    // A managed interface renamed to something else is gone under its managed name.
    if (knownName !== undefined && knownName !== link.name) {
      this.#forget(knownName, link.index);
      this.#remember(link);
      if (this.#desired.has(knownName)) {
        return {
          kind: 'link',
          action: 'delete',
          interface: knownName,
          index: link.index,
          effect: 'vanished',
          object: `renamed to ${link.name}`,
        };
      }
    }

    const before = this.#links.get(link.name);
    this.#remember(link);
    const expected = this.#desired.get(link.name);
    if (expected === undefined) return undefined;

    const object = linkText(link);
    if (before === undefined || before.index !== link.index) {
      return {
        kind: 'link',
        action,
        interface: link.name,
        index: link.index,
        effect: 'appeared',
        object,
      };
    }
    return {
      kind: 'link',
      action,
      interface: link.name,
      index: link.index,
      effect: linkMatches(link, expected) ? 'in-sync' : 'drift',
      object,
    };
  }

  #classifyAddress(action: 'new' | 'delete', address: Address): ClassifiedEvent | undefined {
    const name = this.#names.get(address.index);
    const expected = name === undefined ? undefined : this.#desired.get(name);
    if (name === undefined || expected === undefined) return undefined;

    const base = {
      kind: 'address' as const,
      action,
      interface: name,
      index: address.index,
      object: formatAddress(address),
    };
    if (isLinkLocalIPv6(address)) return { ...base, effect: 'unmanaged' };

    const same = expected.addresses.find(
      (candidate) =>
        candidate.family === address.family && sameAddressText(candidate.address, address.address),
    );
    if (same === undefined)
      return { ...base, effect: action === 'new' && this.#prune ? 'drift' : 'unmanaged' };
    if (action === 'delete') return { ...base, effect: 'drift' };
    return { ...base, effect: addressMatches(address, same) ? 'in-sync' : 'drift' };
  }

  #classifyRoute(action: 'new' | 'delete', route: Route): ClassifiedEvent | undefined {
    if (route.index === undefined) return undefined;
    const name = this.#names.get(route.index);
    const expected = name === undefined ? undefined : this.#desired.get(name);
    if (name === undefined || expected === undefined) return undefined;

    const base = {
      kind: 'route' as const,
      action,
      interface: name,
      index: route.index,
      object: formatRoute(route),
    };
    if (route.table !== MAIN_TABLE || isKernelRoute(route)) return { ...base, effect: 'unmanaged' };

    const exact = expected.routes.find((candidate) => routeMatches(route, candidate));
    if (action === 'delete')
      return { ...base, effect: exact === undefined ? 'unmanaged' : 'drift' };
    if (exact !== undefined) return { ...base, effect: 'in-sync' };

    // Another default route of a family the config routes may conflict with the desired one.
    const competing =
      route.prefixLength === 0 &&
      expected.routes.some((candidate) => candidate.family === route.family);
    return { ...base, effect: competing || this.#prune ? 'drift' : 'unmanaged' };
  }
}

function linkText(link: Link): string {
  return [
    link.up ? 'up' : 'down',
    link.carrier ? 'carrier' : 'no-carrier',
    ...(link.mac === undefined ? [] : [link.mac]),
  ].join(' ');
}

function linkMatches(link: Link, expected: DesiredInterface): boolean {
  if (!link.up) return false;
  if (expected.carrier && !link.carrier) return false;
  if (expected.mac !== undefined && link.mac !== expected.mac) return false;
  return true;
}

function addressMatches(address: Address, expected: DesiredAddress): boolean {
  if (address.prefixLength !== expected.prefixLength) return false;
  if (address.family === 6) return true;
  return sameAddressText(address.broadcast, expected.broadcast);
}

function routeMatches(route: Route, expected: DesiredRoute): boolean {
  return (
    route.family === expected.family &&
    route.prefixLength === 0 &&
    sameAddressText(route.gateway, expected.gateway) &&
    routeMetric(route) === expected.metric
  );
}
