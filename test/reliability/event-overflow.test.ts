// Event socket overflow on the real kernel: a subscription with a tiny receive buffer
// misses most of 1000 changes made while the event loop is blocked. It must report the
// overflow, resync, and end up with exactly the state `ip -j` shows, then keep delivering.
// A model fed only by the subscription's events is compared with the oracle.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { RtnlEvent } from '../../src/rtnl/index.js';
import type { Address, Link } from '../../src/rtnl/types.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

const CHANGES = 1000;
const RECEIVE_BUFFER = 4096;
// Maximum wait for an event before the test fails with what it saw; below the test timeout.
const HANG_GUARD_MS = 20_000;

interface IpAddressInfo {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  addr_info: Array<{ local: string; prefixlen: number }>;
}

/** Links and addresses as the subscription's events describe them. */
class EventModel {
  readonly links = new Map<number, Link>();
  readonly addresses = new Map<string, Address>();
  readonly counts = { overflow: 0, resync: 0, link: 0, address: 0, error: 0 };
  readonly errors: Error[] = [];
  private waiters: Array<{
    ready: () => boolean;
    resolve: () => void;
    reject: (error: Error) => void;
  }> = [];

  readonly listener = (event: RtnlEvent): void => {
    this.remember(event);
    this.apply(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (event.kind === 'error') {
        waiter.reject(new Error(`subscription error event: ${event.error.message}`));
        return false;
      }
      if (!waiter.ready()) return true;
      waiter.resolve();
      return false;
    });
  };

  /**
   * Resolves once `ready` returns true after some event, or at once. Rejects on an error
   * event, which no later event would fix, so the test fails with its message.
   */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // A hang guard, not a timing check: it turns a stuck wait into a failure that
      // shows what the subscription delivered.
      const guard = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.ready !== ready);
        reject(
          new Error(
            `no awaited event within ${HANG_GUARD_MS} ms; counts ${JSON.stringify(this.counts)}; last events: ${this.recent.join(' ')}`,
          ),
        );
      }, HANG_GUARD_MS);
      const settle =
        <T>(finish: (value: T) => void) =>
        (value: T) => {
          clearTimeout(guard);
          finish(value);
        };
      this.waiters.push({ ready, resolve: settle(resolve), reject: settle(reject) });
    });
  }

  /** Short descriptions of the last events, for failure messages. */
  private readonly recent: string[] = [];

  private remember(event: RtnlEvent): void {
    let text: string = event.kind;
    if (event.kind === 'address') text = `${event.action}:${event.object.address}`;
    if (event.kind === 'link') text = `link:${event.action}:${event.object.name}`;
    this.recent.push(text);
    if (this.recent.length > 30) this.recent.shift();
  }

  private apply(event: RtnlEvent): void {
    switch (event.kind) {
      case 'overflow':
        this.counts.overflow += 1;
        break;
      case 'resync':
        this.counts.resync += 1;
        this.links.clear();
        for (const link of event.links ?? []) this.links.set(link.index, link);
        this.addresses.clear();
        for (const address of event.addresses ?? [])
          this.addresses.set(
            addressKey(address.index, address.address, address.prefixLength),
            address,
          );
        break;
      case 'link':
        this.counts.link += 1;
        if (event.action === 'new') this.links.set(event.object.index, event.object);
        else this.links.delete(event.object.index);
        break;
      case 'address': {
        this.counts.address += 1;
        const key = addressKey(event.object.index, event.object.address, event.object.prefixLength);
        if (event.action === 'new') this.addresses.set(key, event.object);
        else this.addresses.delete(key);
        break;
      }
      case 'error':
        this.counts.error += 1;
        this.errors.push(event.error);
        break;
      default:
        break;
    }
  }
}

/** Returns the i-th IPv4 address of the documentation ranges 198.51.100.0/24 and 203.0.113.0/24 (i from 1). */
function ipv4(i: number): string {
  return i <= 254 ? `198.51.100.${i}` : `203.0.113.${i - 254}`;
}

function sameKeys(actual: string[], expected: string[]): boolean {
  return actual.length === expected.length && actual.sort().every((key, i) => key === expected[i]);
}

function addressKey(index: number, address: string, prefixLength: number): string {
  return `${index} ${address}/${prefixLength}`;
}

/** Reads every address of the namespace and every link's up flag and MTU with `ip -j address show`. */
function oracle(netns: string): {
  addresses: string[];
  up: Map<number, boolean>;
  mtu: Map<number, number>;
} {
  const links = ipJson<IpAddressInfo[]>(netns, 'address', 'show');
  return {
    addresses: links
      .flatMap((link) => link.addr_info.map((a) => addressKey(link.ifindex, a.local, a.prefixlen)))
      .sort(),
    up: new Map(links.map((link) => [link.ifindex, link.flags.includes('UP')])),
    mtu: new Map(links.map((link) => [link.ifindex, link.mtu])),
  };
}

describe.skipIf(kernelSkipReason !== undefined)('event socket overflow', () => {
  let netns = '';
  let scratch = '';
  let nl: Rtnl;

  beforeAll(() => {
    netns = createTestNetns('fkovf');
    scratch = mkdtempSync(join(tmpdir(), 'fstack-kni-overflow-'));
    ip(netns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(netns, 'link', 'set', 'veth1', 'up');
    nl = Rtnl.open({ netns: { name: netns } });
  });

  afterAll(() => {
    nl?.close();
    if (netns !== '') removeTestNetns(netns);
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs `ip -batch` with the commands; execFileSync blocks the event loop meanwhile. */
  function batch(name: string, commands: string[]): void {
    const file = join(scratch, name);
    writeFileSync(file, `${commands.join('\n')}\n`);
    execFileSync('ip', ['-n', netns, '-batch', file]);
  }

  it('resyncs to the oracle after 1000 unread changes and keeps delivering', async () => {
    const model = new EventModel();
    const subscription = nl.subscribe({ links: true, addresses: true }, model.listener, {
      receiveBuffer: RECEIVE_BUFFER,
    });
    try {
      // Adds and deletes of addresses in both families and link changes, 1000 lines in all.
      const commands: string[] = ['link set veth0 up'];
      for (let i = 1; commands.length < CHANGES; i++) {
        commands.push(`address add 2001:db8:2::${i.toString(16)}/128 dev veth0 nodad`);
        commands.push(`address add ${ipv4(i)}/32 dev veth0`);
        if (i % 3 === 0)
          commands.push(`address delete 2001:db8:2::${(i - 1).toString(16)}/128 dev veth0`);
        if (i % 3 === 0) commands.push(`address delete ${ipv4(i - 1)}/32 dev veth0`);
        // Setting the link down would flush its IPv6 addresses, so link events come from MTU changes.
        if (i % 50 === 0) commands.push(`link set veth0 mtu ${i % 100 === 0 ? 1400 : 1500}`);
      }
      commands.length = CHANGES;
      batch('burst.batch', commands);

      await model.until(() => model.counts.overflow > 0 && model.counts.resync > 0);

      // A second round while the subscription recovers, then a marker to wait for.
      batch('after.batch', [
        'link set veth0 mtu 1300',
        'address add 192.0.2.9/32 dev veth0',
        'address delete 198.51.100.1/32 dev veth0',
      ]);
      const marker = '192.0.2.99';
      ip(netns, 'address', 'add', `${marker}/32`, 'dev', 'veth0');
      await model.until(() =>
        [...model.addresses.values()].some((address) => address.address === marker),
      );

      // The kernel keeps changing after the marker: late IPv6 notifications, and link-local
      // addresses that appear after the link's carrier and DAD. So each event is compared
      // with the kernel as it is then, until the two agree.
      await model
        .until(() => sameKeys([...model.addresses.keys()], oracle(netns).addresses))
        .catch((error: Error) => {
          const kernel = new Set(oracle(netns).addresses);
          const seen = new Set(model.addresses.keys());
          const onlyKernel = [...kernel].filter((key) => !seen.has(key));
          const onlyModel = [...seen].filter((key) => !kernel.has(key));
          throw new Error(
            `${error.message}; only in the kernel: ${onlyKernel.join(', ')}; only in the events: ${onlyModel.join(', ')}`,
          );
        });
      const expected = oracle(netns);
      expect([...model.addresses.keys()].sort()).toEqual(expected.addresses);
      for (const [index, up] of expected.up) expect(model.links.get(index)?.up).toBe(up);
      for (const [index, mtu] of expected.mtu) expect(model.links.get(index)?.mtu).toBe(mtu);
      expect(model.links.size).toBe(expected.up.size);
      expect(model.errors).toEqual([]);
      expect(subscription.open).toBe(true);

      // Still subscribed: a later change arrives as an event, not through a resync. The
      // kernel sends IPv6 address notifications from a work queue, so the burst may still
      // overflow the socket for a while and carry a change into a resync. Then the loop
      // tries another change.
      let eventDelivered = false;
      for (let host = 100; host < 110 && !eventDelivered; host++) {
        const resyncs = model.counts.resync;
        ip(netns, 'address', 'add', `192.0.2.${host}/32`, 'dev', 'veth0');
        await model.until(() =>
          [...model.addresses.values()].some((address) => address.address === `192.0.2.${host}`),
        );
        eventDelivered = model.counts.resync === resyncs;
      }
      expect(eventDelivered).toBe(true);
      expect(model.errors).toEqual([]);
      console.log(`overflow: ${JSON.stringify(model.counts)}`);
    } finally {
      subscription.close();
    }
  });

  it('drops notifications queued before the loss', async () => {
    // The add of 203.0.113.7 is queued while the buffer has room. Its delete comes after
    // the buffer filled, so the kernel drops it. Replaying the queued add after the resync
    // would bring back an address the kernel no longer has.
    batch('stale-setup.batch', ['address flush dev veth0']);
    const model = new EventModel();
    const subscription = nl.subscribe({ addresses: true }, model.listener, {
      receiveBuffer: RECEIVE_BUFFER,
    });
    try {
      const commands = ['address add 203.0.113.7/32 dev veth0'];
      for (let i = 1; i <= 249; i++) commands.push(`address add 192.0.2.${i}/32 dev veth0`);
      commands.push('address delete 203.0.113.7/32 dev veth0');
      batch('stale.batch', commands);

      await model.until(() => model.counts.overflow > 0 && model.counts.resync > 0);
      const marker = '198.51.100.250';
      ip(netns, 'address', 'add', `${marker}/32`, 'dev', 'veth0');
      await model.until(() =>
        [...model.addresses.values()].some((address) => address.address === marker),
      );

      const addresses = [...model.addresses.values()].map((address) => address.address);
      expect(addresses).not.toContain('203.0.113.7');
      expect(addresses).toContain('192.0.2.249');
    } finally {
      subscription.close();
      batch('stale-cleanup.batch', ['address flush dev veth0']);
    }
  });
});
