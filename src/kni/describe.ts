// Renders kernel operations as the shell command an operator would type for the same effect.
import type { RouteSpec } from '../rtnl/types.js';
import type { KernelOperation } from './operations.js';

const ADDRESS_VERBS = {
  'address-add': 'add',
  'address-replace': 'replace',
  'address-delete': 'del',
} as const;
const ROUTE_VERBS = {
  'route-add': 'add',
  'route-replace': 'replace',
  'route-delete': 'del',
} as const;

export interface DescribeOptions {
  /** Named netns the operation runs in; adds `-n NAME` (or `ip netns exec NAME`). */
  netns?: string;
}

/**
 * Returns the iproute2 command equal to the operation, e.g.
 * `ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`. The carrier has no `ip`
 * command, so it is rendered as the sysfs write of the manual runbook.
 */
export function describeOperation(
  operation: KernelOperation,
  options: DescribeOptions = {},
): string {
  const ip = options.netns === undefined ? 'ip' : `ip -n ${options.netns}`;

  switch (operation.type) {
    case 'link-set-up':
      return `${ip} link set ${operation.link} ${operation.up ? 'up' : 'down'}`;

    case 'link-set-carrier': {
      const write = `echo ${operation.carrier ? 1 : 0} > /sys/class/net/${operation.link}/carrier`;
      return options.netns === undefined
        ? write
        : `ip netns exec ${options.netns} sh -c '${write}'`;
    }

    case 'link-set-mac':
      return `${ip} link set ${operation.link} address ${operation.mac}`;

    case 'link-add-vlan':
      return `${ip} link add link ${operation.parent} name ${operation.link} type vlan id ${operation.vlanId}`;

    case 'link-delete':
      return `${ip} link delete ${operation.link}`;

    case 'address-add':
    case 'address-replace':
    case 'address-delete': {
      const verb = ADDRESS_VERBS[operation.type];
      const spec = operation.address;
      const parts = [`${ip} address ${verb} ${spec.address}/${spec.prefixLength}`];
      if (spec.peer !== undefined) parts.push(`peer ${spec.peer}`);
      if (verb !== 'del' && spec.broadcast !== undefined) parts.push(`broadcast ${spec.broadcast}`);
      parts.push(`dev ${spec.link}`);
      return parts.join(' ');
    }

    case 'route-add':
    case 'route-replace':
    case 'route-delete': {
      const verb = ROUTE_VERBS[operation.type];
      return `${ip}${operation.route.family === 6 ? ' -6' : ''} route ${verb} ${describeRoute(operation.route)}`;
    }
  }
}

/** Renders the selector and attributes of a route as `ip route` takes them. */
export function describeRoute(route: RouteSpec & { link?: number | string }): string {
  const parts: string[] = [];

  if (route.type !== undefined && route.type !== 'unicast') parts.push(String(route.type));
  parts.push(routeDestination(route));
  if (route.gateway !== undefined) parts.push(`via ${route.gateway}`);
  if (route.link !== undefined) parts.push(`dev ${route.link}`);
  if (route.table !== undefined && route.table !== 254) parts.push(`table ${route.table}`);
  if (route.protocol !== undefined && route.protocol !== 'boot')
    parts.push(`proto ${route.protocol}`);
  if (route.scope !== undefined && route.scope !== 'universe') parts.push(`scope ${route.scope}`);
  if (route.preferredSource !== undefined) parts.push(`src ${route.preferredSource}`);
  if (route.metric !== undefined) parts.push(`metric ${route.metric}`);

  return parts.join(' ');
}

function routeDestination(route: RouteSpec): string {
  if (route.destination === 'default') return 'default';
  if (route.destination.includes('/')) return route.destination;
  const max = route.family === 6 || route.destination.includes(':') ? 128 : 32;
  if (route.prefixLength === undefined || route.prefixLength === max) return route.destination;
  if (route.prefixLength === 0) return 'default';
  return `${route.destination}/${route.prefixLength}`;
}
