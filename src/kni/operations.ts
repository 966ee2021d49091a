// The kernel operations a plan is made of. Each one is a single rtnetlink request, so a plan
// can be sent as one batch and every step has exactly one result.
import type { AddressSpec, RouteSpec } from '../rtnl/types.js';

/** Interfaces are named, not indexed: a VLAN created in the same run has no index yet. */
export type KernelOperation =
  /** `ip link set NAME up|down`. */
  | { type: 'link-set-up'; link: string; up: boolean }
  /** IFLA_CARRIER, as `echo 1 > /sys/class/net/NAME/carrier` does. */
  | { type: 'link-set-carrier'; link: string; carrier: boolean }
  /** `ip link set NAME address MAC`. */
  | { type: 'link-set-mac'; link: string; mac: string }
  /** `ip link add link PARENT name NAME type vlan id VID`. */
  | { type: 'link-add-vlan'; link: string; parent: string; vlanId: number }
  /** `ip link delete NAME`. */
  | { type: 'link-delete'; link: string }
  /** `ip address add ...`; the spec's `link` is the interface name. */
  | { type: 'address-add'; address: AddressSpec & { link: string } }
  /** `ip address replace ...`: adds the address, or keeps it when it exists. */
  | { type: 'address-replace'; address: AddressSpec & { link: string } }
  /** `ip address del ...`. */
  | { type: 'address-delete'; address: AddressSpec & { link: string } }
  /** `ip route add ...` (fails if a route with the same key exists). */
  | { type: 'route-add'; route: RouteSpec & { link: string } }
  /** `ip route replace ...`. */
  | { type: 'route-replace'; route: RouteSpec & { link: string } }
  /** `ip route del ...`. */
  | { type: 'route-delete'; route: RouteSpec & { link: string } };

export type KernelOperationType = KernelOperation['type'];

/** Name of the interface an operation acts on. */
export function operationLink(operation: KernelOperation): string {
  switch (operation.type) {
    case 'address-add':
    case 'address-replace':
    case 'address-delete':
      return operation.address.link;
    case 'route-add':
    case 'route-replace':
    case 'route-delete':
      return operation.route.link;
    default:
      return operation.link;
  }
}
