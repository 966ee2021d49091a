// Subscription logic over a fake event socket: decoding, overflow, resync and held events.
import { describe, expect, it, vi } from 'vitest';
import {
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_LINK,
} from '../../src/netlink/constants.js';
import { DumpInterruptedError } from '../../src/netlink/errors.js';
import { decodeEvents } from '../../src/rtnl/events.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { RtnlEvent } from '../../src/rtnl/index.js';
import { FakeTransport, linkReply } from './fake.js';

/** A link notification: linkReply with another message type. */
function linkEvent(type: 16 | 17, index: number, name: string): Buffer {
  const message = linkReply(index, name);
  message.writeUInt16LE(type, 4);
  return message;
}

interface FakeEventSocket {
  groups: number[];
  receiveBuffer: number | undefined;
  onEvent: (messages: Buffer) => void;
  onOverflow: () => void;
  closed: boolean;
}

function setup() {
  const sockets: FakeEventSocket[] = [];
  let releaseDump: (() => void) | undefined;
  let dumps = 0;
  const transport = new FakeTransport(() => {
    dumps++;
    return Buffer.concat([linkReply(1, 'lo'), linkReply(5, 'veth0')]);
  });
  // Holds dumps until release() so the test can deliver events while a resync runs.
  const gated = Object.assign(Object.create(transport) as FakeTransport, {
    dump: async (message: Buffer, op: { operation: string; object: string }) => {
      await new Promise<void>((resolve) => {
        releaseDump = resolve;
      });
      return transport.dump(message, op);
    },
  });
  const nl = Rtnl.fromTransport(gated, (options) => {
    const socket: FakeEventSocket = {
      ...options,
      receiveBuffer: options.receiveBuffer,
      closed: false,
    };
    sockets.push(socket);
    return {
      close: () => {
        socket.closed = true;
      },
    };
  });
  const release = async () => {
    while (releaseDump === undefined) await new Promise((resolve) => setImmediate(resolve));
    const resolve = releaseDump;
    releaseDump = undefined;
    resolve();
    await new Promise((done) => setImmediate(done));
  };
  return { nl, sockets, release, dumps: () => dumps };
}

describe('decodeEvents', () => {
  it('decodes link notifications and leaves out unsubscribed kinds', () => {
    const payload = Buffer.concat([linkEvent(16, 5, 'veth0'), linkEvent(17, 6, 'veth1')]);
    const events = decodeEvents(payload, { links: true });
    expect(events.map((event) => [event.kind, 'action' in event && event.action])).toEqual([
      ['link', 'new'],
      ['link', 'delete'],
    ]);
    expect(decodeEvents(payload, { addresses: true })).toEqual([]);
  });

  it('turns a malformed notification into an error event and keeps the rest', () => {
    const broken = linkEvent(16, 7, 'veth2');
    broken.writeUInt16LE(200, 32); // IFLA_IFNAME claims more bytes than the message has
    const events = decodeEvents(Buffer.concat([broken, linkEvent(16, 5, 'veth0')]), {
      links: true,
    });
    expect(events[0]?.kind).toBe('error');
    expect(events[1]?.kind).toBe('link');
  });
});

describe('Subscription', () => {
  it('joins the groups of the kinds with the requested buffer', () => {
    const { nl, sockets } = setup();
    nl.subscribe({ links: true, addresses: true }, () => {}, { receiveBuffer: 4096 });
    expect(sockets[0]?.groups).toEqual([RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR]);
    expect(sockets[0]?.receiveBuffer).toBe(4096);
  });

  it('rejects a subscription without kinds', () => {
    const { nl } = setup();
    expect(() => nl.subscribe({}, () => {})).toThrow(TypeError);
    expect(() => nl.subscribe({ links: 1 as never }, () => {})).toThrow(
      /subscribe links must be true or false/,
    );
  });

  it('delivers overflow, then resync, then the events held meanwhile', async () => {
    const { nl, sockets, release } = setup();
    const events: RtnlEvent[] = [];
    nl.subscribe({ links: true }, (event) => events.push(event));
    const socket = sockets[0] as FakeEventSocket;

    socket.onEvent(linkEvent(16, 5, 'veth0'));
    socket.onOverflow();
    socket.onEvent(linkEvent(17, 5, 'veth0')); // arrives while the resync dump runs
    await release();

    expect(events.map((event) => event.kind)).toEqual(['link', 'overflow', 'resync', 'link']);
    const resync = events[2] as RtnlEvent & { kind: 'resync' };
    expect(resync.links?.map((link) => link.name)).toEqual(['lo', 'veth0']);
    expect(resync.addresses).toBeUndefined();
    expect(events[3]).toMatchObject({ kind: 'link', action: 'delete', object: { index: 5 } });

    socket.onEvent(linkEvent(16, 6, 'veth1'));
    expect(events.at(-1)).toMatchObject({ kind: 'link', action: 'new', object: { name: 'veth1' } });
  });

  it('dumps again when a second overflow hits a resync and delivers only the last', async () => {
    const { nl, sockets, release, dumps } = setup();
    const events: RtnlEvent[] = [];
    nl.subscribe({ links: true }, (event) => events.push(event));
    const socket = sockets[0] as FakeEventSocket;

    socket.onOverflow();
    socket.onEvent(linkEvent(16, 5, 'veth0')); // held, then dropped by the second overflow
    socket.onOverflow();
    await release();
    await release();

    expect(events.map((event) => event.kind)).toEqual(['overflow', 'overflow', 'resync']);
    expect(dumps()).toBe(2);
  });

  it('retries a resync whose dumps were interrupted', async () => {
    let failures = 2;
    const transport = new FakeTransport((_message, op) => {
      if (failures === 0) return Buffer.concat([linkReply(1, 'lo'), linkReply(5, 'veth0')]);
      failures--;
      return new DumpInterruptedError({ ...op, attempts: 5 });
    });
    const events: RtnlEvent[] = [];
    let socket: FakeEventSocket | undefined;
    const nl = Rtnl.fromTransport(transport, (options) => {
      socket = { ...options, receiveBuffer: options.receiveBuffer, closed: false };
      return { close: () => undefined };
    });
    nl.subscribe({ links: true }, (event) => events.push(event));

    socket?.onOverflow();
    while (events.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(events.map((event) => event.kind)).toEqual(['overflow', 'resync']);
    expect(transport.sent.filter((sent) => sent.kind === 'dump')).toHaveLength(3);
  });

  it('reports a resync whose dumps stay interrupted', async () => {
    const transport = new FakeTransport(
      (_message, op) => new DumpInterruptedError({ ...op, attempts: 5 }),
    );
    const events: RtnlEvent[] = [];
    let socket: FakeEventSocket | undefined;
    const nl = Rtnl.fromTransport(transport, (options) => {
      socket = { ...options, receiveBuffer: options.receiveBuffer, closed: false };
      return { close: () => undefined };
    });
    nl.subscribe({ links: true }, (event) => events.push(event));

    vi.useFakeTimers();
    try {
      socket?.onOverflow();
      await vi.runAllTimersAsync();
    } finally {
      vi.useRealTimers();
    }

    expect(events.map((event) => event.kind)).toEqual(['overflow', 'error']);
    expect((events[1] as RtnlEvent & { kind: 'error' }).error).toBeInstanceOf(DumpInterruptedError);
    // The first dump and one after each of the 8 waits.
    expect(transport.sent.filter((sent) => sent.kind === 'dump')).toHaveLength(9);
  });

  it('stops delivering after close and closes its socket', () => {
    const { nl, sockets } = setup();
    const events: RtnlEvent[] = [];
    const subscription = nl.subscribe({ links: true }, (event) => events.push(event));
    subscription.close();
    sockets[0]?.onEvent(linkEvent(16, 5, 'veth0'));
    expect(events).toEqual([]);
    expect(sockets[0]?.closed).toBe(true);
    expect(subscription.open).toBe(false);
  });

  it('closes subscriptions with the handle', () => {
    const { nl, sockets } = setup();
    nl.subscribe({ links: true }, () => {});
    nl.close();
    expect(sockets[0]?.closed).toBe(true);
  });
});
