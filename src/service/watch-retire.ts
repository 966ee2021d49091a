// Addresses and default routes that an earlier f-stack.conf requested and the reloaded one
// does not. Without --prune, converge never deletes what the config does not name. So after
// a reload the watch reconciler removes these objects itself, because it installed them and
// F-Stack's new address must not sit next to a stale copy of the old one.
import type { DesiredAddress, DesiredRoute, DesiredState } from '../kni/desired.js';
import {
  findLink,
  formatAddress,
  MAIN_TABLE,
  readLiveState,
  routeMetric,
  sameAddressText,
} from '../kni/live.js';
import type { Rtnl } from '../rtnl/index.js';

/** An address or default route to remove from an interface. */
export type RetiredObject =
  | { kind: 'address'; interface: string; address: DesiredAddress }
  | { kind: 'route'; interface: string; route: DesiredRoute };

/** Result of one removal. */
export interface RetireResult {
  interface: string;
  /** The object in words, e.g. `192.0.2.79/24 broadcast 192.0.2.255`. */
  object: string;
  /** False when the kernel rejected the delete. */
  ok: boolean;
  error?: Error;
}

/** Lists what `previous` requested and `next` does not, per interface name. */
export function retiredObjects(
  previous: DesiredState | undefined,
  next: DesiredState | undefined,
): RetiredObject[] {
  const retired: RetiredObject[] = [];
  for (const old of previous?.interfaces ?? []) {
    const now = next?.interfaces.find((iface) => iface.name === old.name);
    for (const address of old.addresses) {
      const inNext = now?.addresses.some(
        (a) => a.family === address.family && sameAddressText(a.address, address.address),
      );
      if (inNext !== true) retired.push({ kind: 'address', interface: old.name, address });
    }
    for (const route of old.routes) {
      const inNext = now?.routes.some(
        (r) =>
          r.family === route.family &&
          sameAddressText(r.gateway, route.gateway) &&
          r.metric === route.metric,
      );
      if (inNext !== true) retired.push({ kind: 'route', interface: old.name, route });
    }
  }
  return retired;
}

/**
 * Deletes the retired objects that are present, in one batch: routes first, then
 * addresses. Objects that are absent, or on interfaces that are absent, are skipped.
 */
export async function removeRetired(
  nl: Rtnl,
  retired: readonly RetiredObject[],
): Promise<RetireResult[]> {
  if (retired.length === 0) return [];
  const live = await readLiveState(nl);
  const batch = nl.batch();
  const described: Array<{ interface: string; object: string }> = [];

  const ordered = [...retired].sort(
    (a, b) => Number(a.kind === 'address') - Number(b.kind === 'address'),
  );
  for (const object of ordered) {
    const link = findLink(live, object.interface);
    if (link === undefined) continue;

    if (object.kind === 'route') {
      const route = live.routes.find(
        (candidate) =>
          candidate.index === link.index &&
          candidate.table === MAIN_TABLE &&
          candidate.prefixLength === 0 &&
          candidate.family === object.route.family &&
          sameAddressText(candidate.gateway, object.route.gateway) &&
          routeMetric(candidate) === object.route.metric,
      );
      if (route === undefined) continue;
      batch.deleteRoute({
        family: route.family,
        destination: 'default',
        link: link.index,
        table: MAIN_TABLE,
        ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
        ...(route.metric === undefined ? {} : { metric: route.metric }),
      });
      described.push({
        interface: object.interface,
        object: `default via ${object.route.gateway} metric ${object.route.metric}`,
      });
      continue;
    }

    const address = live.addresses.find(
      (candidate) =>
        candidate.index === link.index &&
        candidate.family === object.address.family &&
        sameAddressText(candidate.address, object.address.address),
    );
    if (address === undefined) continue;
    batch.deleteAddress({
      link: link.index,
      address: address.address,
      prefixLength: address.prefixLength,
    });
    described.push({ interface: object.interface, object: formatAddress(address) });
  }

  const results = await batch.send();
  return results.map((result, i) => ({
    ...(described[i] as { interface: string; object: string }),
    ok: result.ok,
    ...(result.ok ? {} : { error: result.error }),
  }));
}
