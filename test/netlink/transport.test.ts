// NetlinkSocket against the real kernel, inside a throwaway network namespace; `ip -j` is
// the independent oracle. Only lo and addresses from the documentation ranges are used.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/addon.js';
import { NativeStatus } from '../../src/native/native.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { type NetlinkBatchResult, NetlinkSocket } from '../../src/netlink/socket.js';
import { createTestNetns, ipJson, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import * as raw from './raw-messages.js';

const LO = 1;

interface IpAddressInfo {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

function ipv4Addresses(netns: string): string[] {
  const links = ipJson<IpAddressInfo[]>(netns, 'address', 'show', 'dev', 'lo');
  return links.flatMap((link) =>
    link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  );
}

async function rejection(promise: Promise<unknown>): Promise<NetlinkError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NetlinkError);
    return error as NetlinkError;
  }
  throw new Error('expected the promise to reject');
}

function errorOf(result: NetlinkBatchResult | undefined): NetlinkError {
  if (result === undefined || result.ok)
    throw new Error(`expected a failed batch item, got ${JSON.stringify(result)}`);
  return result.error;
}

function payloadOf(result: NetlinkBatchResult | undefined): Buffer {
  if (result === undefined || !result.ok || result.payload === undefined) {
    throw new Error('expected a batch item with a payload');
  }
  return result.payload;
}

// Socket fds of this process, as fd numbers.
function socketFds(): Set<string> {
  const fds = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) fds.add(fd);
    } catch {
      // Closed while listing.
    }
  }
  return fds;
}

describe.skipIf(kernelSkipReason !== undefined)('NetlinkSocket transport', () => {
  let netns: string;
  let socket: NetlinkSocket;

  beforeAll(() => {
    netns = createTestNetns('fkt-tr');
    socket = NetlinkSocket.open({ netns: { name: netns } });
  });

  afterAll(() => {
    socket?.close();
    if (netns !== undefined) removeTestNetns(netns);
  });

  it('dump of links returns lo like ip link', async () => {
    const reply = await socket.dump(raw.getLinksDump(), { operation: 'list links' });

    const names = ipJson<Array<{ ifname: string }>>(netns, 'link', 'show').map((l) => l.ifname);
    expect(raw.linkNames(reply)).toEqual(names);
    expect(names).toEqual(['lo']);
    for (const message of raw.parseMessages(reply)) {
      expect(message.portId).toBe(socket.portId);
      expect(message.flags & raw.NLM_F_MULTI).toBe(raw.NLM_F_MULTI);
    }
    expect(socket.pending).toBe(0);
  });

  it('request stamps sequence and port id', async () => {
    const message = raw.addAddress(LO, '192.0.2.1', 24);
    await socket.request(message, { operation: 'add address', object: '192.0.2.1/24 on lo' });

    expect(message.readUInt32LE(8)).not.toBe(0);
    expect(message.readUInt32LE(12)).toBe(socket.portId);
    expect(message.readUInt16LE(6) & (raw.NLM_F_REQUEST | raw.NLM_F_ACK)).toBe(
      raw.NLM_F_REQUEST | raw.NLM_F_ACK,
    );
    await socket.request(raw.deleteAddress(LO, '192.0.2.1', 24));
  });

  it('add and delete address match ip', async () => {
    const added = await socket.request(raw.addAddress(LO, '192.0.2.2', 24), {
      operation: 'add address',
    });
    expect(added).toBeUndefined();
    expect(ipv4Addresses(netns)).toContain('192.0.2.2/24');

    await socket.request(raw.deleteAddress(LO, '192.0.2.2', 24), { operation: 'delete address' });
    expect(ipv4Addresses(netns)).not.toContain('192.0.2.2/24');
  });

  it('duplicate add fails with EEXIST', async () => {
    const op = { operation: 'add address', object: '192.0.2.79/24 on lo' };
    await socket.request(raw.addAddress(LO, '192.0.2.79', 24), op);

    const error = await rejection(socket.request(raw.addAddress(LO, '192.0.2.79', 24), op));
    expect(error.kind).toBe('kernel');
    expect(error.errno).toBe(17);
    expect(error.code).toBe('EEXIST');
    expect(error.operation).toBe('add address');
    expect(error.object).toBe('192.0.2.79/24 on lo');
    const extack = error.extackMessage === undefined ? '' : `: ${error.extackMessage}`;
    expect(error.message).toBe(`add address 192.0.2.79/24 on lo: File exists (EEXIST)${extack}`);

    await socket.request(raw.deleteAddress(LO, '192.0.2.79', 24));
  });

  it('bad attribute yields extack message and offset', async () => {
    // IFA_LOCAL with 2 bytes instead of 4; the attribute starts after header and ifaddrmsg.
    const message = raw.message(
      raw.RTM_NEWADDR,
      raw.NLM_F_REQUEST | raw.NLM_F_CREATE | raw.NLM_F_EXCL,
      raw.ifaddrmsg(raw.AF_INET, 24, LO),
      raw.attribute(raw.IFA_LOCAL, Buffer.from([192, 0])),
    );

    const error = await rejection(socket.request(message, { operation: 'add address' }));
    expect(error.kind).toBe('kernel');
    expect(error.extackMessage).toMatch(/\S/);
    expect(error.extackOffset).toBe(16 + 8);
    expect(error.message).toContain(error.extackMessage);
  });

  it('missing device fails with ENODEV', async () => {
    const error = await rejection(
      socket.request(raw.addAddress(4242, '192.0.2.3', 24), { operation: 'add address' }),
    );
    expect(error.code).toBe('ENODEV');
    expect(error.extackOffset).toBeUndefined();
  });

  it('GET request resolves with the reply', async () => {
    const reply = await socket.request(raw.getLink(LO), { operation: 'get link', object: 'lo' });

    expect(reply).toBeInstanceOf(Buffer);
    expect(raw.linkNames(reply as Buffer)).toEqual(['lo']);
  });

  it('NLM_F_ECHO resolves with the new address', async () => {
    const reply = await socket.request(raw.addAddress(LO, '192.0.2.4', 24, raw.NLM_F_ECHO));

    expect(raw.addresses(reply as Buffer)).toEqual(['192.0.2.4/24']);
    await socket.request(raw.deleteAddress(LO, '192.0.2.4', 24));
  });

  it('concurrent requests all complete', async () => {
    const hosts = Array.from({ length: 50 }, (_, i) => `198.51.100.${i + 1}`);
    // GETs cannot complete inside request(), so these are pending together.
    const gets = hosts.map(() => socket.request(raw.getLink(LO)));
    expect(socket.pending).toBe(50);
    const adds = hosts.map((host) => socket.request(raw.addAddress(LO, host, 32)));

    await Promise.all([...gets, ...adds]);
    expect(ipv4Addresses(netns)).toEqual(expect.arrayContaining(hosts.map((h) => `${h}/32`)));

    await Promise.all(hosts.map((host) => socket.request(raw.deleteAddress(LO, host, 32))));
    expect(ipv4Addresses(netns).filter((a) => a.startsWith('198.51.100.'))).toEqual([]);
    expect(socket.pending).toBe(0);
  });

  it('batch of 64 adds then 64 deletes', async () => {
    const hosts = Array.from({ length: 64 }, (_, i) => `203.0.113.${i + 10}`);
    const adds = await socket.batch(
      hosts.map((host) => ({
        message: raw.addAddress(LO, host, 24),
        op: { operation: 'add address', object: host },
      })),
    );
    expect(adds.map((r) => r.ok)).toEqual(hosts.map(() => true));
    expect(ipv4Addresses(netns).filter((a) => a.startsWith('203.0.113.'))).toHaveLength(64);

    // Secondaries first: deleting the primary address deletes its secondaries too.
    const deletes = await socket.batch(
      [...hosts].reverse().map((host) => ({ message: raw.deleteAddress(LO, host, 24) })),
    );
    expect(deletes.map((r) => r.ok)).toEqual(hosts.map(() => true));
    expect(ipv4Addresses(netns).filter((a) => a.startsWith('203.0.113.'))).toEqual([]);
  });

  it('batch reports each failure in order', async () => {
    const badAttribute = raw.message(
      raw.RTM_NEWADDR,
      raw.NLM_F_REQUEST | raw.NLM_F_CREATE,
      raw.ifaddrmsg(raw.AF_INET, 24, LO),
      raw.attribute(raw.IFA_LOCAL, Buffer.from([1])),
    );
    const results = await socket.batch([
      {
        message: raw.addAddress(LO, '192.0.2.20', 24),
        op: { operation: 'add address', object: 'first' },
      },
      {
        message: raw.addAddress(LO, '192.0.2.20', 24),
        op: { operation: 'add address', object: 'duplicate' },
      },
      { message: raw.addAddress(LO, '192.0.2.21', 24) },
      { message: badAttribute, op: { operation: 'add address', object: 'bad' } },
      { message: raw.getLink(LO) },
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    const duplicate = errorOf(results[1]);
    expect(duplicate.code).toBe('EEXIST');
    expect(duplicate.object).toBe('duplicate');
    expect(errorOf(results[3]).extackOffset).toBe(24);
    expect(raw.linkNames(payloadOf(results[4]))).toEqual(['lo']);

    await socket.request(raw.deleteAddress(LO, '192.0.2.21', 24));
    await socket.request(raw.deleteAddress(LO, '192.0.2.20', 24));
  });

  it('batch leaves item messages unstamped', async () => {
    const add = raw.addAddress(LO, '192.0.2.30', 24);
    const remove = raw.deleteAddress(LO, '192.0.2.30', 24);
    const before = Buffer.from(add);

    const results = await socket.batch([{ message: add }, { message: remove }]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(add).toEqual(before);
  });

  it('batchPacked stamps each message in place', async () => {
    const packed = Buffer.concat([
      raw.addAddress(LO, '192.0.2.31', 24),
      raw.deleteAddress(LO, '192.0.2.31', 24),
    ]);
    const results = await socket.batchPacked(packed, [undefined, undefined]);

    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const sequences = raw.parseMessages(packed).map((message) => message.sequence);
    expect(sequences[0]).not.toBe(0);
    expect(sequences[1]).not.toBe(0);
    expect(sequences[1]).not.toBe(sequences[0]);
    for (const message of raw.parseMessages(packed)) {
      expect(message.portId).toBe(socket.portId);
      expect(message.flags & (raw.NLM_F_REQUEST | raw.NLM_F_ACK)).toBe(
        raw.NLM_F_REQUEST | raw.NLM_F_ACK,
      );
    }
  });

  it('batchPacked reports each failure in order', async () => {
    const badAttribute = raw.message(
      raw.RTM_NEWADDR,
      raw.NLM_F_REQUEST | raw.NLM_F_CREATE,
      raw.ifaddrmsg(raw.AF_INET, 24, LO),
      raw.attribute(raw.IFA_LOCAL, Buffer.from([1])),
    );
    const packed = Buffer.concat([
      raw.addAddress(LO, '192.0.2.40', 24),
      raw.addAddress(LO, '192.0.2.40', 24),
      badAttribute,
      raw.getLink(LO),
    ]);
    const results = await socket.batchPacked(packed, [
      { operation: 'add address', object: 'first' },
      { operation: 'add address', object: 'duplicate' },
      { operation: 'add address', object: 'bad' },
      undefined,
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    const duplicate = errorOf(results[1]);
    expect(duplicate.code).toBe('EEXIST');
    expect(duplicate.object).toBe('duplicate');
    expect(errorOf(results[2]).extackOffset).toBe(24);
    expect(raw.linkNames(payloadOf(results[3]))).toEqual(['lo']);
    expect(socket.pending).toBe(0);
    await socket.request(raw.deleteAddress(LO, '192.0.2.40', 24));
  });

  it('batch of 300 messages succeeds', async () => {
    // More than the 256 messages that one sendmsg carries.
    const hosts = Array.from({ length: 300 }, (_, i) =>
      i < 250 ? `198.51.100.${i + 1}` : `203.0.113.${i - 249}`,
    );
    const documentation = (address: string) =>
      address.startsWith('198.51.100.') || address.startsWith('203.0.113.');
    const adds = await socket.batchPacked(
      Buffer.concat(hosts.map((host) => raw.addAddress(LO, host, 32))),
      hosts.map(() => undefined),
    );
    expect(adds.filter((r) => r.ok)).toHaveLength(300);
    expect(ipv4Addresses(netns).filter(documentation)).toHaveLength(300);

    const deletes = await socket.batchPacked(
      Buffer.concat(hosts.map((host) => raw.deleteAddress(LO, host, 32))),
      hosts.map(() => undefined),
    );
    expect(deletes.filter((r) => r.ok)).toHaveLength(300);
    expect(ipv4Addresses(netns).filter(documentation)).toEqual([]);
  });

  it('batch stops sending after a failed sendmsg', async () => {
    // The oversized message goes in a datagram of its own, which sendmsg refuses, and the
    // message after it is never sent.
    const huge = raw.message(raw.RTM_NEWADDR, raw.NLM_F_REQUEST, Buffer.alloc(512 * 1024));
    const results = await socket.batch([
      { message: raw.addAddress(LO, '192.0.2.41', 24) },
      { message: huge, op: { operation: 'add address', object: 'huge' } },
      { message: raw.addAddress(LO, '192.0.2.42', 24) },
    ]);

    expect(results[0]?.ok).toBe(true);
    expect(errorOf(results[1])).toMatchObject({ kind: 'socket', code: 'EMSGSIZE', object: 'huge' });
    expect(errorOf(results[2])).toMatchObject({ kind: 'socket', code: 'EMSGSIZE' });
    expect(ipv4Addresses(netns)).toContain('192.0.2.41/24');
    expect(ipv4Addresses(netns)).not.toContain('192.0.2.42/24');
    expect(socket.pending).toBe(0);
    await socket.request(raw.deleteAddress(LO, '192.0.2.41', 24));
  });

  it('dump ended by NLMSG_ERROR rejects', async () => {
    // Strict checking rejects a prefix length in an address dump request.
    const message = raw.message(
      raw.RTM_GETADDR,
      raw.NLM_F_REQUEST | raw.NLM_F_DUMP,
      raw.ifaddrmsg(raw.AF_INET, 1, 0),
    );

    const error = await rejection(socket.dump(message, { operation: 'list addresses' }));
    expect(error.kind).toBe('kernel');
    expect(error.code).toBe('EINVAL');
    expect(error.extackMessage).toMatch(/header/);
    expect(socket.pending).toBe(0);
  });

  it('concurrent dumps run one after another', async () => {
    const dumps = Array.from({ length: 5 }, () => socket.dump(raw.getLinksDump()));
    expect(socket.pending).toBe(5);

    const replies = await Promise.all(dumps);
    for (const reply of replies) expect(raw.linkNames(reply)).toEqual(['lo']);
  });

  it('oversized message fails with EMSGSIZE', async () => {
    // Larger than the socket's send buffer, so sendmsg refuses it.
    const huge = raw.message(raw.RTM_NEWADDR, raw.NLM_F_REQUEST, Buffer.alloc(512 * 1024));

    const error = await rejection(socket.request(huge, { operation: 'add address' }));
    expect(error.kind).toBe('socket');
    expect(error.code).toBe('EMSGSIZE');
    expect(error.syscall).toBe('sendmsg');
    expect(socket.pending).toBe(0);
  });

  it('queued dump failing to send rejects', async () => {
    const hugeDump = raw.message(
      raw.RTM_GETLINK,
      raw.NLM_F_REQUEST | raw.NLM_F_DUMP,
      Buffer.alloc(512 * 1024),
    );
    const first = socket.dump(raw.getLinksDump());
    const second = socket.dump(hugeDump, { operation: 'list links' });

    expect(raw.linkNames(await first)).toEqual(['lo']);
    const error = await rejection(second);
    expect(error.kind).toBe('socket');
    expect(error.code).toBe('EMSGSIZE');
    expect(socket.pending).toBe(0);
  });

  it('misuse throws TypeError or RangeError', () => {
    const message = raw.getLink(LO);
    expect(() => socket.request('message' as unknown as Buffer)).toThrow(TypeError);
    expect(() => socket.request(Buffer.alloc(8))).toThrow(RangeError);
    expect(() => socket.request(Buffer.concat([message, Buffer.alloc(4)]))).toThrow(RangeError);
    expect(() => socket.request(message, { object: 'x' } as never)).toThrow(TypeError);
    expect(() => socket.batch('x' as never)).toThrow(TypeError);
    expect(() => socket.batch([{ message: Buffer.alloc(3) }])).toThrow(RangeError);
    expect(() => socket.batchPacked('x' as never, [])).toThrow(TypeError);
    expect(() => socket.batchPacked(message, 'x' as never)).toThrow(TypeError);
    expect(() => socket.batchPacked(message, [undefined, undefined])).toThrow(
      /one entry per message, got 2 for 1 messages/,
    );
    expect(() => socket.batchPacked(Buffer.concat([message, Buffer.alloc(8)]), [])).toThrow(
      /message at offset 32 of 40 bytes/,
    );
    expect(() => socket.batchPacked(message, [{ object: 'x' } as never])).toThrow(TypeError);
    expect(() => NetlinkSocket.open({ groups: [0] })).toThrow(RangeError);
    expect(() => NetlinkSocket.open({ receiveBuffer: 1.5 })).toThrow(TypeError);
    expect(() => NetlinkSocket.open({ dumpAttempts: 0 })).toThrow(RangeError);
    expect(() => NetlinkSocket.open({ netns: { name: 'a/b' } })).toThrow(RangeError);
    expect(() => NetlinkSocket.open({ netns: { name: 'x', fd: 3 } as never })).toThrow(TypeError);
    expect(socket.pending).toBe(0);
  });

  it('addon rejects wrong types itself', () => {
    const native = addon();
    expect(() => native.openRouteSocket({} as never)).toThrow(TypeError);
    expect(() => native.openRouteSocket({ onReply: () => {}, groups: 'x' } as never)).toThrow(
      TypeError,
    );
    expect(() => native.openRouteSocket({ onReply: () => {}, netnsFd: -1 } as never)).toThrow(
      TypeError,
    );

    const direct = native.openRouteSocket({ onReply: () => {} });
    try {
      expect(() => direct.request('x' as never, false)).toThrow(TypeError);
      expect(() => direct.request(raw.getLink(LO), 'yes' as never)).toThrow(TypeError);
      expect(() => direct.request(Buffer.alloc(16), false)).toThrow(RangeError);
      expect(() => direct.batch([raw.getLink(LO)] as never)).toThrow(TypeError);
      expect(() => direct.batch(Buffer.alloc(0))).toThrow(RangeError);
      expect(() => direct.batch(Buffer.concat([raw.getLink(LO), Buffer.alloc(12)]))).toThrow(
        /offset 32 of 44 bytes/,
      );
      expect(direct.pending()).toBe(0);
    } finally {
      direct.close();
    }
    expect(() => direct.request(raw.getLink(LO), false)).toThrow(/closed/);
  });

  it('open in a missing namespace throws ENOENT', () => {
    let thrown: unknown;
    try {
      NetlinkSocket.open({ netns: { name: `${netns}-missing` } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((thrown as NodeJS.ErrnoException).syscall).toBe('open');
    expect((thrown as Error).message).toContain(`/run/netns/${netns}-missing`);
  });

  it('close rejects pending requests', async () => {
    const closing = NetlinkSocket.open({ netns: { name: netns } });
    const requests = [
      ...Array.from({ length: 10 }, () =>
        closing.request(raw.getLink(LO), { operation: 'get link' }),
      ),
      ...Array.from({ length: 10 }, () =>
        closing.dump(raw.getLinksDump(), { operation: 'list links' }),
      ),
    ];
    expect(closing.pending).toBe(20);

    closing.close();
    closing.close();
    const outcomes = await Promise.allSettled(requests);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as NetlinkError;
      expect(error.kind).toBe('closed');
      expect(error.code).toBe('ECANCELED');
    }
    expect(closing.pending).toBe(0);
    expect(closing.closed).toBe(true);
    expect(closing.hasRef()).toBe(false);

    const late = await rejection(closing.request(raw.getLink(LO), { operation: 'get link' }));
    expect(late.kind).toBe('closed');
    const batch = await closing.batch([{ message: raw.getLink(LO) }]);
    expect(errorOf(batch[0]).kind).toBe('closed');
  });

  it('native close reports Closed synchronously', () => {
    const statuses: NativeStatus[] = [];
    const direct = addon().openRouteSocket({
      onReply: (_sequence, status) => statuses.push(status),
    });
    direct.request(raw.getLinksDump(), true);
    direct.request(raw.getLink(LO), false);

    direct.close();
    expect(statuses).toEqual([NativeStatus.Closed, NativeStatus.Closed]);
    direct.close();
    expect(statuses).toHaveLength(2);
  });

  it('hasRef follows pending requests and ref()', async () => {
    const probe = NetlinkSocket.open({ netns: { name: netns } });
    try {
      expect(probe.hasRef()).toBe(false);
      const pending = probe.request(raw.getLink(LO));
      expect(probe.hasRef()).toBe(true);
      await pending;
      expect(probe.hasRef()).toBe(false);

      probe.ref();
      expect(probe.hasRef()).toBe(true);
      probe.unref();
      expect(probe.hasRef()).toBe(false);
    } finally {
      probe.close();
    }
  });

  it('request kept after its socket was collected throws', () => {
    // The addon binds request and batch to the socket object's native state. A function
    // kept after that object was garbage collected must throw, not touch freed memory.
    const addonPath = createRequire(import.meta.url).resolve('../../build/Release/fstack_kni.node');
    const script = `
      const native = require(${JSON.stringify(addonPath)});
      const message = Buffer.from(${JSON.stringify(raw.getLink(LO).toString('hex'))}, 'hex');
      let socket = native.openRouteSocket({ onReply: () => {} });
      const { request, batch } = socket;
      let collected = false;
      new FinalizationRegistry(() => { collected = true; }).register(socket, 'socket');
      socket = undefined;
      (async () => {
        for (let i = 0; i < 50 && !collected; i++) {
          globalThis.gc();
          await new Promise((resolve) => setImmediate(resolve));
        }
        await new Promise((resolve) => setImmediate(resolve));
        for (const call of [() => request(message, false), () => batch(message)]) {
          try { call(); console.log('no error'); } catch (error) { console.log(error.message); }
        }
      })();
    `;
    const output = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(output.trim().split('\n')).toEqual([
      'the netlink socket object was collected',
      'the netlink socket object was collected',
    ]);
  });

  it('idle socket lets the process exit', () => {
    // A child process with an open, never closed socket must end on its own once the
    // reply arrives. The timeout only stops a hang; it is not a measurement.
    const addonPath = createRequire(import.meta.url).resolve('../../build/Release/fstack_kni.node');
    const script = `
      const native = require(${JSON.stringify(addonPath)});
      const message = Buffer.from(${JSON.stringify(raw.getLink(LO).toString('hex'))}, 'hex');
      const socket = native.openRouteSocket({
        netnsPath: ${JSON.stringify(`/run/netns/${netns}`)},
        onReply: (sequence, status) => console.log('reply', status),
      });
      socket.request(message, false);
    `;
    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(output.trim()).toBe('reply 0');
  });

  it('worker ends with sockets still open', () => {
    // Node aborts a worker whose loop still has open handles at exit, and the addon must
    // not call into JavaScript while the worker shuts down. A child process keeps an
    // abort from taking the test runner with it.
    const addonPath = createRequire(import.meta.url).resolve('../../build/Release/fstack_kni.node');
    const workerCode = `
      const native = require(${JSON.stringify(addonPath)});
      const options = { netnsPath: ${JSON.stringify(`/run/netns/${netns}`)}, onReply() {} };
      const events = native.openRouteSocket({ ...options, groups: [1], onEvent() {} });
      const busy = native.openRouteSocket(options);
      busy.request(Buffer.from(${JSON.stringify(raw.getLinksDump().toString('hex'))}, 'hex'), true);
      require('node:worker_threads').parentPort.postMessage(events.pending() + busy.pending());
    `;
    const script = `
      const { Worker } = require('node:worker_threads');
      (async () => {
        for (let i = 0; i < 3; i++) {
          const worker = new Worker(${JSON.stringify(workerCode)}, { eval: true });
          worker.on('message', (pending) => { console.log('pending', pending); worker.terminate(); });
          await new Promise((resolve) => worker.on('exit', resolve));
        }
        console.log('done');
      })();
    `;
    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(output.trim().split('\n')).toEqual(['pending 1', 'pending 1', 'pending 1', 'done']);
  });

  it('worker exits inside a reply callback', () => {
    // process.exit() in a worker terminates its JavaScript while the addon is still
    // delivering. The failed call must end delivery quietly instead of aborting the process.
    const addonPath = createRequire(import.meta.url).resolve('../../build/Release/fstack_kni.node');
    const workerCode = `
      const native = require(${JSON.stringify(addonPath)});
      const socket = native.openRouteSocket({
        netnsPath: ${JSON.stringify(`/run/netns/${netns}`)},
        onReply() { process.exit(7); },
      });
      const dump = Buffer.from(${JSON.stringify(raw.getLinksDump().toString('hex'))}, 'hex');
      socket.request(dump, true);
    `;
    const script = `
      const { Worker } = require('node:worker_threads');
      (async () => {
        for (let i = 0; i < 3; i++) {
          const worker = new Worker(${JSON.stringify(workerCode)}, { eval: true });
          const code = await new Promise((resolve) => worker.on('exit', resolve));
          console.log('exit', code);
        }
      })();
    `;
    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(output.trim().split('\n')).toEqual(['exit 7', 'exit 7', 'exit 7']);
  });

  it('unclosed sockets are garbage collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = socketFds();

    await (async () => {
      const sockets = Array.from({ length: 20 }, () =>
        NetlinkSocket.open({ netns: { name: netns } }),
      );
      await Promise.all(sockets.map((s) => s.request(raw.getLink(LO))));
    })();
    const opened = [...socketFds()].filter((fd) => !before.has(fd));
    expect(opened).toHaveLength(20);

    // Finalizers run some time after a collection; keep collecting until they have.
    let remaining = opened.length;
    for (let attempt = 0; attempt < 50 && remaining > 0; attempt++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      const now = socketFds();
      remaining = opened.filter((fd) => now.has(fd)).length;
    }
    expect(remaining).toBe(0);
  });

  /** Opens a socket whose trace records `type:sequence` of each record into `records`. */
  const openTraced = (records: string[]) =>
    NetlinkSocket.open({
      netns: { name: netns },
      trace: (record) =>
        records.push(`${record.type}:${'sequence' in record ? record.sequence : ''}`),
    });

  it('tracing records requests and replies', async () => {
    const records: string[] = [];
    const traced = openTraced(records);
    try {
      const message = raw.getLink(LO);
      await traced.request(message, { operation: 'get link' });
      const sequence = message.readUInt32LE(8);
      expect(records).toEqual([`send:${sequence}`, `reply:${sequence}`]);
    } finally {
      traced.close();
    }
  });

  it('tracing records each message of a batch acknowledged at once', async () => {
    const records: string[] = [];
    const traced = openTraced(records);
    try {
      const adds = [raw.addAddress(LO, '192.0.2.61', 32), raw.addAddress(LO, '192.0.2.62', 32)];
      const messages = Buffer.concat(adds);
      const results = await traced.batchPacked(messages, [undefined, undefined]);
      expect(results.map((result) => result.ok)).toEqual([true, true]);
      const first = messages.readUInt32LE(8);
      const second = messages.readUInt32LE((adds[0]?.length as number) + 8);
      expect(records).toEqual([
        `send:${first}`,
        `reply:${first}`,
        `send:${second}`,
        `reply:${second}`,
      ]);
      await traced.batch([
        { message: raw.deleteAddress(LO, '192.0.2.62', 32) },
        { message: raw.deleteAddress(LO, '192.0.2.61', 32) },
      ]);
    } finally {
      traced.close();
    }
  });

  it('FSTACK_KNI_NLDEBUG traces to stderr', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.env.FSTACK_KNI_NLDEBUG = '1';
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const traced = NetlinkSocket.open({ netns: { name: netns } });
      await traced.request(raw.getLink(LO), { operation: 'get link', object: 'lo' });
      traced.close();
    } finally {
      process.stderr.write = write;
      delete process.env.FSTACK_KNI_NLDEBUG;
    }

    const text = written.join('');
    expect(text).toMatch(/send seq \d+: get link lo\n {2}len 32 type 18 /);
    expect(text).toMatch(/reply seq \d+: Ok errno 0\n {2}len \d+ type 16 /);
  });
});
