// An in-memory kernel for apply tests, following the Linux rules the plan relies on. Routes
// need an up link and a reachable gateway. Deleting the last IPv4 address of a link removes
// its IPv4 routes, and deleting a primary removes its secondaries. A tap nobody holds
// rejects carrier changes. Each batch message is handled on its own, so a failure does not
// stop the later ones.

import type { OperationExecutor, OperationResult } from '../../src/kni/apply.js';
import type { KernelAccess } from '../../src/kni/kernel.js';
import type { LiveState } from '../../src/kni/live.js';
import type { KernelOperation } from '../../src/kni/operations.js';
import { inSubnet, parseIp } from '../../src/net/ip.js';
import type { Address, Route } from '../../src/rtnl/types.js';

const ERRNO: Record<string, number> = {
  EPERM: 1,
  ESRCH: 3,
  EEXIST: 17,
  ENODEV: 19,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  EOPNOTSUPP: 95,
  EADDRNOTAVAIL: 99,
};

function kernelError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, errno: ERRNO[code] });
}

export interface FakeKernelOptions {
  /** False mimics a kernel without the 8021q module. */
  vlanSupported?: boolean;
  /** Makes one operation fail with the given errno name. */
  failWhen?: (operation: KernelOperation) => string | undefined;
}

export class FakeKernel implements OperationExecutor {
  /** Every batch sent, for assertions on batching. */
  readonly batches: KernelOperation[][] = [];
  private nextIndex = 100;

  constructor(
    readonly state: LiveState,
    private readonly options: FakeKernelOptions = {},
  ) {}

  async execute(operations: readonly KernelOperation[]): Promise<OperationResult[]> {
    this.batches.push([...operations]);
    return operations.map((operation) => {
      try {
        const injected = this.options.failWhen?.(operation);
        if (injected !== undefined) throw kernelError(injected, `injected ${injected}`);
        this.run(operation);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: error as Error };
      }
    });
  }

  /** Returns the kernel access for the converge engine; dumps return copies. */
  access(): KernelAccess {
    return {
      source: {
        links: { list: async () => structuredClone(this.state.links) },
        addresses: { list: async () => structuredClone(this.state.addresses) },
        routes: { list: async () => structuredClone(this.state.routes) },
      },
      executor: this,
    };
  }

  /** Returns a deep copy of the current state, for before/after comparisons. */
  snapshot(): LiveState {
    return structuredClone(this.state);
  }

  private link(name: string) {
    const link = this.state.links.find((l) => l.name === name);
    if (link === undefined) throw kernelError('ENODEV', `Cannot find device "${name}"`);
    return link;
  }

  private run(operation: KernelOperation): void {
    switch (operation.type) {
      case 'link-set-up': {
        const link = this.link(operation.link);
        link.up = operation.up;
        if (!operation.up) {
          this.state.routes = this.state.routes.filter(
            (r) => r.index !== link.index || r.protocol === 'kernel',
          );
        }
        return;
      }
      case 'link-set-carrier': {
        const link = this.link(operation.link);
        if (link.kind === 'tun') throw kernelError('EPERM', 'Operation not permitted');
        if (link.kind === 'veth') throw kernelError('EOPNOTSUPP', 'Operation not supported');
        link.carrier = operation.carrier;
        return;
      }
      case 'link-set-mac':
        this.link(operation.link).mac = operation.mac;
        return;
      case 'link-add-vlan': {
        if (!(this.options.vlanSupported ?? true))
          throw kernelError('EOPNOTSUPP', 'Unknown device type');
        const parent = this.link(operation.parent);
        if (this.state.links.some((l) => l.name === operation.link))
          throw kernelError('EEXIST', 'File exists');
        this.state.links.push({
          index: this.nextIndex++,
          name: operation.link,
          up: false,
          carrier: false,
          operState: 'down',
          flags: 0,
          mtu: 1500,
          mac: parent.mac,
          kind: 'vlan',
          vlanId: operation.vlanId,
          parentIndex: parent.index,
        });
        return;
      }
      case 'link-delete': {
        const link = this.link(operation.link);
        this.state.links = this.state.links.filter((l) => l !== link);
        this.state.addresses = this.state.addresses.filter((a) => a.index !== link.index);
        this.state.routes = this.state.routes.filter((r) => r.index !== link.index);
        return;
      }
      case 'address-add':
      case 'address-replace': {
        const spec = operation.address;
        const link = this.link(spec.link);
        const family = spec.address.includes(':') ? 6 : 4;
        const exists = this.state.addresses.some(
          (a) =>
            a.index === link.index &&
            a.address === spec.address &&
            (family === 6 || a.prefixLength === spec.prefixLength),
        );
        if (exists && operation.type === 'address-replace') return;
        if (exists) throw kernelError('EEXIST', 'File exists');
        const secondary =
          family === 4 &&
          this.state.addresses.some(
            (a) =>
              this.sameSubnet(a, link.index, spec.address, spec.prefixLength) &&
              (a.flags & 1) === 0,
          );
        const address: Address = {
          family,
          index: link.index,
          address: spec.address,
          prefixLength: spec.prefixLength,
          scope: 'universe',
          flags: 0x80 | (secondary ? 1 : 0),
          ...(spec.broadcast !== undefined ? { broadcast: spec.broadcast } : {}),
        };
        this.state.addresses.push(address);
        this.state.routes.push({
          family,
          destination: spec.address,
          prefixLength: spec.prefixLength,
          index: link.index,
          table: 254,
          scope: 'link',
          protocol: 'kernel',
          type: 'unicast',
          flags: 0,
        });
        return;
      }
      case 'address-delete': {
        const spec = operation.address;
        const link = this.link(spec.link);
        const found = this.state.addresses.find(
          (a) =>
            a.index === link.index &&
            a.address === spec.address &&
            a.prefixLength === spec.prefixLength,
        );
        if (found === undefined)
          throw kernelError('EADDRNOTAVAIL', 'Cannot assign requested address');
        // Without promote_secondaries, a primary IPv4 address takes its secondaries along.
        const primary = found.family === 4 && (found.flags & 1) === 0;
        this.state.addresses = this.state.addresses.filter(
          (a) =>
            a !== found &&
            !(
              primary &&
              (a.flags & 1) === 1 &&
              this.sameSubnet(a, link.index, found.address, found.prefixLength)
            ),
        );
        this.state.routes = this.state.routes.filter(
          (r) =>
            !(r.index === link.index && r.protocol === 'kernel' && r.destination === found.address),
        );
        const lastOfFamily = !this.state.addresses.some(
          (a) => a.index === link.index && a.family === found.family,
        );
        if (lastOfFamily && found.family === 4) {
          this.state.routes = this.state.routes.filter(
            (r) => !(r.index === link.index && r.family === 4),
          );
        }
        return;
      }
      case 'route-add':
      case 'route-replace': {
        const spec = operation.route;
        const link = this.link(spec.link);
        if (!link.up) throw kernelError('ENETDOWN', 'Network is down');
        const family = spec.family ?? (spec.gateway?.includes(':') ? 6 : 4);
        if (spec.gateway !== undefined && !this.reachable(link.index, spec.gateway)) {
          throw kernelError('ENETUNREACH', 'Nexthop has invalid gateway');
        }
        const key = (r: Route) =>
          r.family === family &&
          r.prefixLength === (spec.prefixLength ?? 0) &&
          (r.metric ?? 0) === (spec.metric ?? 0) &&
          r.table === (spec.table ?? 254);
        const existing = this.state.routes.find(key);
        if (existing !== undefined && operation.type === 'route-add')
          throw kernelError('EEXIST', 'File exists');
        if (existing !== undefined)
          this.state.routes = this.state.routes.filter((r) => r !== existing);
        this.state.routes.push({
          family,
          destination:
            spec.destination === 'default' ? (family === 4 ? '0.0.0.0' : '::') : spec.destination,
          prefixLength: spec.prefixLength ?? 0,
          ...(spec.gateway !== undefined ? { gateway: spec.gateway } : {}),
          index: link.index,
          ...(spec.metric !== undefined && (spec.metric !== 0 || family === 6)
            ? { metric: spec.metric }
            : {}),
          table: spec.table ?? 254,
          scope: spec.scope ?? 'universe',
          protocol: spec.protocol ?? 'boot',
          type: spec.type ?? 'unicast',
          flags: 0,
        });
        return;
      }
      case 'route-delete': {
        const spec = operation.route;
        const link = this.link(spec.link);
        const found = this.state.routes.find(
          (r) =>
            r.index === link.index &&
            r.prefixLength === (spec.prefixLength ?? 0) &&
            (r.metric ?? 0) === (spec.metric ?? 0) &&
            r.table === (spec.table ?? 254) &&
            (spec.gateway === undefined || r.gateway === spec.gateway),
        );
        if (found === undefined) throw kernelError('ESRCH', 'No such process');
        this.state.routes = this.state.routes.filter((r) => r !== found);
        return;
      }
    }
  }

  private sameSubnet(
    address: Address,
    index: number,
    other: string,
    prefixLength: number,
  ): boolean {
    const a = parseIp(address.address);
    const b = parseIp(other);
    return (
      address.index === index &&
      address.family === 4 &&
      address.prefixLength === prefixLength &&
      a !== undefined &&
      b !== undefined &&
      inSubnet(a.bytes, b.bytes, prefixLength)
    );
  }

  private reachable(index: number, gateway: string): boolean {
    const target = parseIp(gateway);
    if (target === undefined) return false;
    return this.state.addresses.some((a) => {
      const own = parseIp(a.address);
      return (
        a.index === index && own !== undefined && inSubnet(target.bytes, own.bytes, a.prefixLength)
      );
    });
  }
}
