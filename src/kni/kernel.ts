// The converge engine's view of a real kernel: an rtnetlink handle as a LiveStateSource and
// an OperationExecutor.
import type { Batch, Rtnl } from '../rtnl/index.js';
import type { OperationExecutor, OperationResult } from './apply.js';
import type { LiveStateSource } from './live.js';
import type { KernelOperation } from './operations.js';

/** A live-state source and executor over one rtnetlink handle. */
export interface KernelAccess {
  source: LiveStateSource;
  executor: OperationExecutor;
}

/** Wraps an open Rtnl handle; the caller keeps ownership and closes it. */
export function rtnlKernel(nl: Rtnl): KernelAccess {
  return {
    source: nl,
    executor: {
      async execute(operations: readonly KernelOperation[]): Promise<OperationResult[]> {
        const batch = nl.batch();
        for (const operation of operations) addToBatch(batch, operation);
        const results = await batch.send();
        return results.map((result) =>
          result.ok ? { ok: true } : { ok: false, error: result.error },
        );
      },
    },
  };
}

function addToBatch(batch: Batch, operation: KernelOperation): void {
  switch (operation.type) {
    case 'link-set-up':
      batch.setLinkUp(operation.link, operation.up);
      return;
    case 'link-set-carrier':
      batch.setLinkCarrier(operation.link, operation.carrier);
      return;
    case 'link-set-mac':
      batch.setLinkMac(operation.link, operation.mac);
      return;
    case 'link-add-vlan':
      batch.createVlan({
        name: operation.link,
        parent: operation.parent,
        vlanId: operation.vlanId,
      });
      return;
    case 'link-delete':
      batch.deleteLink(operation.link);
      return;
    case 'address-add':
      batch.addAddress(operation.address);
      return;
    case 'address-replace':
      batch.replaceAddress(operation.address);
      return;
    case 'address-delete':
      batch.deleteAddress(operation.address);
      return;
    case 'route-add':
      batch.addRoute(operation.route);
      return;
    case 'route-replace':
      batch.replaceRoute(operation.route);
      return;
    case 'route-delete':
      batch.deleteRoute(operation.route);
      return;
  }
}
