// Notifications from the real kernel, in a throwaway namespace: decoded events, and the
// overflow and resync path with a receive buffer too small for a burst of changes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { RtnlEvent } from '../../src/rtnl/index.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

/** Records events and lets a test wait for the next one that matches, in arrival order. */
class EventLog {
  readonly events: RtnlEvent[] = [];
  private cursor = 0;
  private waiter:
    | { predicate: (event: RtnlEvent) => boolean; resolve: (event: RtnlEvent) => void }
    | undefined;

  readonly listener = (event: RtnlEvent): void => {
    this.events.push(event);
    this.match();
  };

  /** Resolves with the first matching event after the last one returned. */
  next<T extends RtnlEvent>(predicate: (event: RtnlEvent) => boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      // A hang guard, not a timing check: a stuck wait fails with the events seen so far.
      const guard = setTimeout(() => {
        this.waiter = undefined;
        const kinds = this.events.slice(-30).map((event) => event.kind);
        reject(new Error(`no matching event within 20 s; last events: ${kinds.join(' ')}`));
      }, 20_000);
      this.waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(guard);
          resolve(event as T);
        },
      };
      this.match();
    });
  }

  private match(): void {
    if (this.waiter === undefined) return;
    while (this.cursor < this.events.length) {
      const event = this.events[this.cursor++] as RtnlEvent;
      if (this.waiter.predicate(event)) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve(event);
        return;
      }
    }
  }
}

describe.skipIf(kernelSkipReason !== undefined)('events on the kernel', () => {
  let netns = '';
  let nl: Rtnl;
  let scratch = '';

  beforeAll(() => {
    netns = createTestNetns('rtnl-events');
    scratch = mkdtempSync(join(tmpdir(), 'rtnl-events-'));
    ip(netns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(netns, 'link', 'set', 'veth1', 'up');
    nl = Rtnl.open({ netns: { name: netns } });
  });

  afterAll(() => {
    nl?.close();
    removeTestNetns(netns);
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it('delivers link, address and route changes', async () => {
    const log = new EventLog();
    const subscription = nl.subscribe({ links: true, addresses: true, routes: true }, log.listener);
    try {
      ip(netns, 'link', 'set', 'veth0', 'up');
      const up = await log.next(
        (event) => event.kind === 'link' && event.object.name === 'veth0' && event.object.up,
      );
      expect(up).toMatchObject({ kind: 'link', action: 'new' });

      await nl.addresses.add({ link: 'veth0', address: '192.0.2.79', prefixLength: 24 });
      const added = await log.next(
        (event) => event.kind === 'address' && event.object.address === '192.0.2.79',
      );
      expect(added).toMatchObject({ action: 'new', object: { family: 4, prefixLength: 24 } });

      ip(netns, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1', 'dev', 'veth0');
      const route = await log.next(
        (event) => event.kind === 'route' && event.object.destination === '198.51.100.0',
      );
      expect(route).toMatchObject({
        action: 'new',
        object: { prefixLength: 24, gateway: '192.0.2.1', table: 254 },
      });

      await nl.routes.delete({
        destination: '198.51.100.0/24',
        gateway: '192.0.2.1',
        link: 'veth0',
      });
      const deletedRoute = await log.next(
        (event) => event.kind === 'route' && event.object.destination === '198.51.100.0',
      );
      expect(deletedRoute).toMatchObject({ action: 'delete' });

      await nl.addresses.delete({ link: 'veth0', address: '192.0.2.79', prefixLength: 24 });
      const removed = await log.next(
        (event) => event.kind === 'address' && event.object.address === '192.0.2.79',
      );
      expect(removed).toMatchObject({ action: 'delete' });

      ip(netns, 'link', 'add', 'tmp0', 'type', 'bridge');
      ip(netns, 'link', 'delete', 'tmp0');
      const deleted = await log.next(
        (event) =>
          event.kind === 'link' && event.object.name === 'tmp0' && event.action === 'delete',
      );
      expect(deleted).toMatchObject({ kind: 'link', object: { kind: 'bridge' } });
      expect(log.events.some((event) => event.kind === 'error')).toBe(false);
    } finally {
      subscription.close();
    }
  });

  it('reports overflow, resyncs to the converged state and keeps delivering', async () => {
    const log = new EventLog();
    const subscription = nl.subscribe(
      { links: true, addresses: true, routes: true },
      log.listener,
      { receiveBuffer: 4096 },
    );
    try {
      // 1000 address changes while the event loop is blocked, so nothing reads the socket.
      const commands = Array.from(
        { length: 1000 },
        (_, i) => `address add 2001:db8:1::${(i + 1).toString(16)}/128 dev veth0 nodad`,
      );
      const file = join(scratch, 'burst.batch');
      writeFileSync(file, `${commands.join('\n')}\n`);
      execFileSync('ip', ['-n', netns, '-batch', file]);

      await log.next((event) => event.kind === 'overflow');
      // An error event (a resync that failed) ends the wait too, so the test fails with it.
      const resync = await log.next<RtnlEvent & { kind: 'resync' }>(
        (event) => event.kind === 'resync' || event.kind === 'error',
      );
      if ((resync as RtnlEvent).kind === 'error')
        throw (resync as RtnlEvent & { kind: 'error' }).error;
      const burst = (resync.addresses ?? []).filter((address) =>
        address.address.startsWith('2001:db8:1::'),
      );
      expect(burst).toHaveLength(1000);
      // Link-local addresses come and go with carrier and DAD after the dump, so the
      // comparison with the oracle leaves them out.
      const oracle = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'veth0',
      )[0]?.addr_info.filter((info) => !info.local.startsWith('fe80:'));
      const dumped = resync.addresses?.filter(
        (address) => address.index === burst[0]?.index && !address.address.startsWith('fe80:'),
      );
      expect(dumped).toHaveLength(oracle?.length as number);
      expect(resync.links?.map((link) => link.name)).toEqual(
        expect.arrayContaining(['lo', 'veth0', 'veth1']),
      );
      expect(resync.routes?.length).toBeGreaterThan(1000);

      // The kernel sends IPv6 address notifications from a work queue, so the burst can
      // still be overflowing the socket: a change may then reach the listener through the
      // next resync. Once the burst is over, a change arrives as an event.
      let delivery: RtnlEvent | undefined;
      for (let host = 1; host <= 10 && delivery?.kind !== 'address'; host++) {
        const address = `203.0.113.${host}`;
        ip(netns, 'address', 'add', `${address}/24`, 'dev', 'veth0');
        delivery = await log.next(
          (event) =>
            (event.kind === 'address' && event.object.address === address) ||
            (event.kind === 'resync' &&
              event.addresses?.some((a) => a.address === address) === true) ||
            event.kind === 'error',
        );
        if (delivery?.kind === 'error') throw delivery.error;
      }
      expect(delivery).toMatchObject({ kind: 'address', action: 'new' });
      expect(subscription.open).toBe(true);
    } finally {
      subscription.close();
    }
  });
});
