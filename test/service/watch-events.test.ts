// Pure parts of the watch reconciler and of restart: what each notification means for the
// managed interfaces, which objects a config reload retires, and how the link tracker
// decides that an interface came back. No kernel, no root.
import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../src/kni/desired.js';
import type { Rtnl, RtnlEvent, RtnlListener } from '../../src/rtnl/index.js';
import type { Address, Link, Route } from '../../src/rtnl/types.js';
import { LinkAppearanceTracker, LinkWaitError } from '../../src/service/wait-link.js';
import { ManagedInterfaces } from '../../src/service/watch-events.js';
import { retiredObjects } from '../../src/service/watch-retire.js';

function desired(address = '192.0.2.79', gateway = '192.0.2.1'): DesiredState {
  return {
    fstackVersion: '1.25',
    driver: 'virtio_user',
    notes: [],
    interfaces: [
      {
        name: 'veth0',
        portId: 0,
        carrier: false,
        addresses: [
          {
            family: 4,
            address,
            prefixLength: 24,
            broadcast: '192.0.2.255',
            source: '[port0] addr, netmask, broadcast',
          },
        ],
        routes: [{ family: 4, gateway, metric: 0, source: '[port0] gateway' }],
      },
    ],
  };
}

function link(index: number, name = 'veth0', up = false): Link {
  return {
    index,
    name,
    up,
    carrier: up,
    operState: up ? 'up' : 'down',
    flags: up ? 1 : 0,
    mtu: 1500,
    mac: '02:00:00:00:00:01',
    kind: 'tun',
  };
}

function address(
  index: number,
  text = '192.0.2.79',
  prefixLength = 24,
  broadcast: string | undefined = '192.0.2.255',
): Address {
  return {
    family: 4,
    index,
    address: text,
    prefixLength,
    ...(broadcast === undefined ? {} : { broadcast }),
    scope: 'universe',
    flags: 0,
  };
}

function defaultRoute(index: number, gateway = '192.0.2.1', metric?: number): Route {
  return {
    family: 4,
    destination: '0.0.0.0',
    prefixLength: 0,
    gateway,
    index,
    ...(metric === undefined ? {} : { metric }),
    table: 254,
    scope: 'universe',
    protocol: 'boot',
    type: 'unicast',
    flags: 0,
  };
}

function managed(links: Link[] = [link(5)]): ManagedInterfaces {
  const interfaces = new ManagedInterfaces();
  interfaces.setDesired(desired(), false);
  interfaces.reset(links);
  return interfaces;
}

describe('ManagedInterfaces', () => {
  it('sees a new ifindex as an appearance', () => {
    const interfaces = managed();

    expect(interfaces.classify({ kind: 'link', action: 'delete', object: link(5) })?.effect).toBe(
      'vanished',
    );
    expect(interfaces.link('veth0')).toBeUndefined();
    expect(interfaces.classify({ kind: 'link', action: 'new', object: link(6) })?.effect).toBe(
      'appeared',
    );
    expect(interfaces.link('veth0')?.index).toBe(6);
    expect(interfaces.classify({ kind: 'link', action: 'new', object: link(6) })?.effect).toBe(
      'drift',
    );
    expect(
      interfaces.classify({ kind: 'link', action: 'new', object: link(6, 'veth0', true) })?.effect,
    ).toBe('in-sync');
  });

  it('ignores unmanaged links', () => {
    const interfaces = managed();

    expect(
      interfaces.classify({ kind: 'link', action: 'new', object: link(9, 'eth0', true) }),
    ).toBeUndefined();
    expect(
      interfaces.classify({ kind: 'address', action: 'delete', object: address(9) }),
    ).toBeUndefined();
  });

  it('treats a rename away as vanished', () => {
    const interfaces = managed([link(5, 'veth0', true)]);

    const renamed = interfaces.classify({
      kind: 'link',
      action: 'new',
      object: link(5, 'old0', true),
    });

    expect(renamed).toMatchObject({
      interface: 'veth0',
      effect: 'vanished',
      object: 'renamed to old0',
    });
    expect(interfaces.link('veth0')).toBeUndefined();
  });

  it('classifies addresses', () => {
    const interfaces = managed();
    const classify = (action: 'new' | 'delete', object: Address) =>
      interfaces.classify({ kind: 'address', action, object })?.effect;

    expect(classify('new', address(5))).toBe('in-sync');
    expect(classify('new', address(5, '192.0.2.79', 25))).toBe('drift');
    expect(classify('new', address(5, '192.0.2.79', 24, '192.0.2.254'))).toBe('drift');
    expect(classify('delete', address(5))).toBe('drift');
    expect(classify('new', address(5, '198.51.100.7'))).toBe('unmanaged');
    expect(classify('delete', address(5, '198.51.100.7'))).toBe('unmanaged');
    expect(classify('new', { ...address(5, 'fe80::1', 64, undefined), family: 6 })).toBe(
      'unmanaged',
    );
  });

  it('counts an unrequested address as drift when pruning', () => {
    const interfaces = new ManagedInterfaces();
    interfaces.setDesired(desired(), true);
    interfaces.reset([link(5)]);

    expect(
      interfaces.classify({ kind: 'address', action: 'new', object: address(5, '198.51.100.7') })
        ?.effect,
    ).toBe('drift');
  });

  it('classifies routes', () => {
    const interfaces = managed();
    const classify = (action: 'new' | 'delete', object: Route) =>
      interfaces.classify({ kind: 'route', action, object })?.effect;

    expect(classify('new', defaultRoute(5))).toBe('in-sync');
    expect(classify('new', defaultRoute(5, '192.0.2.1', 0))).toBe('in-sync');
    expect(classify('new', defaultRoute(5, '192.0.2.254'))).toBe('drift');
    expect(classify('new', defaultRoute(5, '192.0.2.1', 100))).toBe('drift');
    expect(classify('delete', defaultRoute(5))).toBe('drift');
    expect(classify('delete', defaultRoute(5, '192.0.2.254'))).toBe('unmanaged');
    expect(classify('new', { ...defaultRoute(5), table: 255, protocol: 'kernel' })).toBe(
      'unmanaged',
    );
    expect(
      classify('new', { ...defaultRoute(5), destination: '198.51.100.0', prefixLength: 24 }),
    ).toBe('unmanaged');
  });

  it('manages nothing with KNI off', () => {
    const interfaces = new ManagedInterfaces();
    interfaces.setDesired(undefined, false);
    interfaces.reset([link(5)]);

    expect(interfaces.names()).toEqual([]);
    expect(interfaces.classify({ kind: 'link', action: 'new', object: link(6) })).toBeUndefined();
  });
});

describe('retiredObjects', () => {
  it('lists what the new config drops', () => {
    const retired = retiredObjects(
      desired('192.0.2.79', '192.0.2.1'),
      desired('192.0.2.80', '192.0.2.254'),
    );

    expect(retired.map((object) => object.kind)).toEqual(['address', 'route']);
    expect(retired[0]).toMatchObject({ interface: 'veth0', address: { address: '192.0.2.79' } });
    expect(retired[1]).toMatchObject({ interface: 'veth0', route: { gateway: '192.0.2.1' } });
  });

  it('keeps what both configs ask for', () => {
    expect(retiredObjects(desired(), desired())).toEqual([]);
    expect(retiredObjects(undefined, desired())).toEqual([]);
  });

  it('retires everything when KNI is turned off', () => {
    expect(retiredObjects(desired(), undefined)).toHaveLength(2);
  });
});

/** An Rtnl stand-in with a link list and a listener the test drives. */
class FakeRtnl {
  listener: RtnlListener | undefined;
  closed = false;

  constructor(public links: Link[]) {}

  subscribe(_kinds: unknown, listener: RtnlListener): { close(): void } {
    this.listener = listener;
    return { close: () => (this.closed = true) };
  }

  emit(event: RtnlEvent): void {
    this.listener?.(event);
  }

  get asRtnl(): Rtnl {
    const links = { list: async () => this.links };
    return { subscribe: this.subscribe.bind(this), links } as unknown as Rtnl;
  }
}

describe('LinkAppearanceTracker', () => {
  it('waits for a new ifindex', async () => {
    const nl = new FakeRtnl([link(5)]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0']);

    const waiting = tracker.waitForAll(5000);
    // The old interface, still announced while it goes down, does not count.
    nl.emit({ kind: 'link', action: 'new', object: link(5) });
    nl.emit({ kind: 'link', action: 'delete', object: link(5) });
    nl.emit({ kind: 'link', action: 'new', object: link(7) });
    const [back] = await waiting;

    expect(back).toMatchObject({ name: 'veth0', index: 7, previousIndex: 5 });
    tracker.close();
    expect(nl.closed).toBe(true);
  });

  it('accepts an interface that came back before the wait', async () => {
    const nl = new FakeRtnl([link(5)]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0']);

    nl.emit({ kind: 'link', action: 'delete', object: link(5) });
    nl.emit({ kind: 'link', action: 'new', object: link(6) });

    expect((await tracker.waitForAll(5000))[0]?.index).toBe(6);
    tracker.close();
  });

  it('counts the same ifindex after a delete', async () => {
    const nl = new FakeRtnl([link(5)]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0']);

    nl.emit({ kind: 'link', action: 'delete', object: link(5) });
    nl.emit({ kind: 'link', action: 'new', object: link(5) });

    expect((await tracker.waitForAll(5000))[0]).toMatchObject({ index: 5, previousIndex: 5 });
    tracker.close();
  });

  it('waits again when the new interface vanishes', async () => {
    const nl = new FakeRtnl([]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0', 'veth1']);

    nl.emit({ kind: 'link', action: 'new', object: link(6, 'veth0') });
    nl.emit({ kind: 'link', action: 'delete', object: link(6, 'veth0') });
    nl.emit({ kind: 'link', action: 'new', object: link(8, 'veth1') });
    const waiting = tracker.waitForAll(5000);
    nl.emit({ kind: 'link', action: 'new', object: link(9, 'veth0') });

    expect((await waiting).map((appearance) => [appearance.name, appearance.index])).toEqual([
      ['veth0', 9],
      ['veth1', 8],
    ]);
    tracker.close();
  });

  it('uses the dump of a resync', async () => {
    const nl = new FakeRtnl([link(5)]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0']);

    const waiting = tracker.waitForAll(5000);
    nl.emit({ kind: 'overflow' });
    nl.emit({ kind: 'resync', links: [link(5)] });
    nl.emit({ kind: 'resync', links: [link(11)] });

    expect((await waiting)[0]?.index).toBe(11);
    tracker.close();
  });

  it('names the interface that did not come back', async () => {
    const nl = new FakeRtnl([link(5)]);
    const tracker = await LinkAppearanceTracker.start(nl.asRtnl, ['veth0'], {
      netnsLabel: 'netns kni',
    });

    const error = await tracker.waitForAll(20).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );

    expect(error).toBeInstanceOf(LinkWaitError);
    expect((error as LinkWaitError).code).toBe('ETIMEDOUT');
    expect((error as LinkWaitError).message).toContain(
      'veth0 still has ifindex 5 from before the restart',
    );
    expect((error as LinkWaitError).message).toContain('netns kni');
    expect((error as LinkWaitError).interfaces).toEqual([
      { name: 'veth0', previousIndex: 5, currentIndex: 5, appeared: false },
    ]);
    tracker.close();
  });
});
