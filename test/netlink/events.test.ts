// Event sockets, overflow (ENOBUFS) and dumps racing with changes, against the real kernel
// in a throwaway network namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DumpInterruptedError, NetlinkError } from '../../src/netlink/errors.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { createTun } from '../../src/rtnl/tun.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import * as raw from './raw-messages.js';

const LO = 1;
const RTM_NEWMULTICAST = 56;
const RTNLGRP_IPV4_MCADDR = 37;

/** Collects events and lets a test wait for one that matches, without timers. */
class EventLog {
  readonly messages: raw.RawMessage[] = [];
  overflows = 0;
  private waiters: Array<{
    match: (m: raw.RawMessage) => boolean;
    resolve: (m: raw.RawMessage) => void;
  }> = [];
  private overflowWaiters: Array<() => void> = [];

  readonly onEvent = (buffer: Buffer): void => {
    for (const message of raw.parseMessages(buffer)) {
      this.messages.push(message);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message);
        return false;
      });
    }
  };

  readonly onOverflow = (): void => {
    this.overflows += 1;
    for (const resolve of this.overflowWaiters.splice(0)) resolve();
  };

  next(match: (m: raw.RawMessage) => boolean): Promise<raw.RawMessage> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  overflow(): Promise<void> {
    return this.overflows > 0
      ? Promise.resolve()
      : new Promise((resolve) => this.overflowWaiters.push(resolve));
  }
}

function isAddressEvent(type: number, address: string) {
  return (m: raw.RawMessage) =>
    m.type === type && raw.addressOf(m)?.startsWith(`${address}/`) === true;
}

function hostAddresses(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}.${i + 1}`);
}

describe.skipIf(kernelSkipReason !== undefined)('NetlinkSocket events', () => {
  let netns: string;
  let requests: NetlinkSocket;

  beforeAll(() => {
    netns = createTestNetns('fkt-ev');
    requests = NetlinkSocket.open({ netns: { name: netns } });
  });

  afterAll(() => {
    requests?.close();
    if (netns !== undefined) removeTestNetns(netns);
  });

  it('address changes arrive as events', async () => {
    const log = new EventLog();
    const events = NetlinkSocket.open({
      netns: { name: netns },
      groups: [raw.RTNLGRP_IPV4_IFADDR],
      onEvent: log.onEvent,
    });
    try {
      expect(events.hasRef()).toBe(true);

      const added = log.next(isAddressEvent(raw.RTM_NEWADDR, '192.0.2.30'));
      await requests.request(raw.addAddress(LO, '192.0.2.30', 24));
      const event = await added;
      expect(event.portId).toBe(requests.portId);

      const deleted = log.next(isAddressEvent(raw.RTM_DELADDR, '192.0.2.30'));
      await requests.request(raw.deleteAddress(LO, '192.0.2.30', 24));
      await deleted;

      events.unref();
      expect(events.hasRef()).toBe(false);
    } finally {
      events.close();
    }
  });

  it('own change is an event, not a reply', async () => {
    const log = new EventLog();
    const socket = NetlinkSocket.open({
      netns: { name: netns },
      groups: [raw.RTNLGRP_IPV4_IFADDR],
      onEvent: log.onEvent,
    });
    try {
      const message = raw.addAddress(LO, '192.0.2.31', 24);
      const event = log.next(isAddressEvent(raw.RTM_NEWADDR, '192.0.2.31'));
      expect(await socket.request(message)).toBeUndefined();

      const received = await event;
      expect(received.portId).toBe(socket.portId);
      expect(received.sequence).toBe(message.readUInt32LE(8));
    } finally {
      socket.close();
    }
    await requests.request(raw.deleteAddress(LO, '192.0.2.31', 24));
  });

  it('echoed change is a reply, not an event', async () => {
    const log = new EventLog();
    const socket = NetlinkSocket.open({
      netns: { name: netns },
      groups: [raw.RTNLGRP_IPV4_IFADDR],
      onEvent: log.onEvent,
    });
    try {
      const reply = await socket.request(raw.addAddress(LO, '192.0.2.32', 24, raw.NLM_F_ECHO));
      expect(raw.addresses(reply as Buffer)).toEqual(['192.0.2.32/24']);

      // Events arrive in order, so once the delete is seen, an event for the add would be too.
      const deleted = log.next(isAddressEvent(raw.RTM_DELADDR, '192.0.2.32'));
      await socket.request(raw.deleteAddress(LO, '192.0.2.32', 24));
      await deleted;
      expect(log.messages.filter(isAddressEvent(raw.RTM_NEWADDR, '192.0.2.32'))).toEqual([]);
    } finally {
      socket.close();
    }
  });

  it('joins groups above 31', async (context) => {
    const log = new EventLog();
    let events: NetlinkSocket;
    try {
      events = NetlinkSocket.open({
        netns: { name: netns },
        groups: [RTNLGRP_IPV4_MCADDR],
        onEvent: log.onEvent,
      });
    } catch (error) {
      // RTNLGRP_IPV4_MCADDR exists since Linux 6.13.
      if ((error as NodeJS.ErrnoException).code === 'EINVAL') return context.skip();
      throw error;
    }
    const tap = createTun({ name: 'fkt-mc0', tap: true, netns: { name: netns } });
    try {
      // Bringing the link up joins 224.0.0.1 on it, which the kernel announces in group 37.
      const joined = log.next((m) => m.type === RTM_NEWMULTICAST);
      ip(netns, 'link', 'set', 'fkt-mc0', 'up');
      const event = await joined;
      expect(event.sequence).toBe(0);
    } finally {
      tap.close();
      events.close();
    }
  });

  it('overflow is reported and delivery goes on', async () => {
    const log = new EventLog();
    const events = NetlinkSocket.open({
      netns: { name: netns },
      groups: [raw.RTNLGRP_IPV4_IFADDR],
      receiveBuffer: 1024,
      onEvent: log.onEvent,
      onOverflow: log.onOverflow,
    });
    try {
      // 1000 address changes inside one batch call: the event socket cannot read meanwhile.
      const hosts = hostAddresses('198.51.100', 250);
      const adds = hosts.map((host) => ({ message: raw.addAddress(LO, host, 32) }));
      const deletes = hosts.map((host) => ({ message: raw.deleteAddress(LO, host, 32) }));
      const results = await requests.batch([...adds, ...deletes, ...adds, ...deletes]);
      expect(results.every((r) => r.ok)).toBe(true);

      await log.overflow();
      expect(log.overflows).toBeGreaterThanOrEqual(1);

      const marker = log.next(isAddressEvent(raw.RTM_NEWADDR, '192.0.2.33'));
      await requests.request(raw.addAddress(LO, '192.0.2.33', 24));
      await marker;
      await requests.request(raw.deleteAddress(LO, '192.0.2.33', 24));
    } finally {
      events.close();
    }
  });

  it('lost replies fail with ENOBUFS', async () => {
    // A link reply and its ack exceed this receive buffer, so the kernel drops replies.
    const small = NetlinkSocket.open({ netns: { name: netns }, receiveBuffer: 1024 });
    try {
      const results = await small.batch(
        Array.from({ length: 40 }, () => ({ message: raw.getLink(LO) })),
      );

      const failures = results.filter((r) => !r.ok);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        const error = (failure as { error: NetlinkError }).error;
        expect(error.kind).toBe('socket');
        expect(error.code).toBe('ENOBUFS');
      }
      expect(small.pending).toBe(0);

      // The kernel hands out a dump one datagram per read, so it fits the small buffer.
      const after = await small.dump(raw.getLinksDump());
      expect(raw.linkNames(after)).toEqual(['lo']);
    } finally {
      small.close();
    }
  });

  describe('dumps racing with changes', () => {
    const hosts = hostAddresses('203.0.113', 250);

    beforeAll(async () => {
      // Enough addresses that an address dump takes several datagrams.
      const results = await requests.batch(
        hosts.map((host) => ({ message: raw.addAddress(LO, host, 32) })),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    });

    afterAll(async () => {
      await requests?.batch(hosts.map((host) => ({ message: raw.deleteAddress(LO, host, 32) })));
    });

    it('interrupted dump is run again', async () => {
      const dumper = NetlinkSocket.open({ netns: { name: netns } });
      try {
        // The first datagram is queued inside dump(); the add changes the list before the
        // kernel builds the second, which it then flags NLM_F_DUMP_INTR.
        const dump = dumper.dump(raw.getAddressesDump(), { operation: 'list addresses' });
        await requests.request(raw.addAddress(LO, '192.0.2.40', 32));

        const listed = raw.addresses(await dump);
        expect(listed).toContain('192.0.2.40/32');
        expect(listed).toHaveLength(hosts.length + 2);
        expect(new Set(listed).size).toBe(listed.length);
      } finally {
        dumper.close();
        await requests.request(raw.deleteAddress(LO, '192.0.2.40', 32));
      }
    });

    it('dump interrupted on every attempt rejects', async () => {
      const dumper = NetlinkSocket.open({ netns: { name: netns }, dumpAttempts: 1 });
      try {
        const dump = dumper.dump(raw.getAddressesDump(), { operation: 'list addresses' });
        await requests.request(raw.addAddress(LO, '192.0.2.41', 32));

        let thrown: unknown;
        try {
          await dump;
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(DumpInterruptedError);
        expect(thrown).toBeInstanceOf(NetlinkError);
        const error = thrown as DumpInterruptedError;
        expect(error.code).toBe('EINTR');
        expect(error.kind).toBe('dump-interrupted');
        expect(error.attempts).toBe(1);
        expect(error.message).toMatch(/^list addresses: Interrupted system call \(EINTR\)/);
      } finally {
        dumper.close();
        await requests.request(raw.deleteAddress(LO, '192.0.2.41', 32));
      }
    });

    it('dump and events on one socket stay apart', async () => {
      const log = new EventLog();
      const socket = NetlinkSocket.open({
        netns: { name: netns },
        groups: [raw.RTNLGRP_IPV4_IFADDR],
        onEvent: log.onEvent,
      });
      try {
        const message = raw.getAddressesDump();
        const event = log.next(isAddressEvent(raw.RTM_NEWADDR, '192.0.2.42'));
        const dump = socket.dump(message);
        await requests.request(raw.addAddress(LO, '192.0.2.42', 32));

        const reply = await dump;
        await event;
        for (const part of raw.parseMessages(reply)) {
          expect(part.type).toBe(raw.RTM_NEWADDR);
          expect(part.sequence).toBe(message.readUInt32LE(8));
          expect(part.portId).toBe(socket.portId);
        }
        expect(raw.addresses(reply)).toContain('192.0.2.42/32');
        expect(log.messages.every((m) => m.portId !== socket.portId)).toBe(true);
      } finally {
        socket.close();
        await requests.request(raw.deleteAddress(LO, '192.0.2.42', 32));
      }
    });
  });
});
