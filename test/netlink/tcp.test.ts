// TCP listeners and connections inside a throwaway network namespace, driven from this
// process, which stays in its own namespace. `ss` inside and outside the namespace is the
// oracle for where a listener lives.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/addon.js';
import { openNetns } from '../../src/netlink/netns.js';
import { connectTcp, listenTcp } from '../../src/netlink/tcp.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

/** Address on the veth link inside the test namespace (TEST-NET-2). */
const LINK_V4 = '198.51.100.1';
const LINK_V6 = '2001:db8:51::1';
/** A destination routed out of the veth link to a neighbour that never replies (TEST-NET-3). */
const SILENT_V4 = '203.0.113.5';

/** Listening sockets in `ss -Hltn` form, one `ADDRESS:PORT` per entry. */
function listeners(netns?: string): string[] {
  const command =
    netns === undefined ? ['ss', '-Hltn'] : ['ip', 'netns', 'exec', netns, 'ss', '-Hltn'];
  const output = execFileSync(command[0] as string, command.slice(1), { encoding: 'utf8' });
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/)[3] as string);
}

/** Reads from the socket until `length` bytes have arrived or the peer ends the stream. */
async function readBytes(socket: Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < length) {
    const chunk = socket.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      total += chunk.length;
      continue;
    }
    if (socket.readableEnded) break;
    await Promise.race([once(socket, 'readable'), once(socket, 'end')]);
  }
  return Buffer.concat(chunks);
}

/** Replies to a first message `ping` with `pong <remote address>\n` and closes the connection. */
function answerPing(socket: Socket): void {
  socket.on('error', () => socket.destroy());
  socket.once('data', (data) => {
    if (data.toString() === 'ping') socket.end(`pong ${socket.remoteAddress}\n`);
    else socket.destroy();
  });
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function rejection(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected a rejection');
}

describe('tcp option checks', () => {
  it('rejects invalid addresses', async () => {
    for (const address of [
      '',
      'localhost',
      '192.0.2.079',
      '192.0.2.1:22',
      '[2001:db8::1]',
      'fe80::1%lo',
      '2001:db8::1::2',
    ]) {
      await expect(connectTcp({ address, port: 22 }), address).rejects.toThrow(RangeError);
      await expect(listenTcp({ address, port: 22 }), address).rejects.toThrow(RangeError);
    }
    await expect(connectTcp({ address: 7 as never, port: 22 })).rejects.toThrow(TypeError);
  });

  it('rejects invalid ports', async () => {
    for (const port of [0, 65536, -1, 22.5, Number.NaN]) {
      await expect(connectTcp({ address: '127.0.0.1', port }), String(port)).rejects.toThrow(
        RangeError,
      );
      await expect(listenTcp({ address: '127.0.0.1', port }), String(port)).rejects.toThrow(
        RangeError,
      );
    }
    await expect(connectTcp({ address: '127.0.0.1', port: '22' as never })).rejects.toThrow(
      TypeError,
    );
  });

  it('rejects a family that does not match', async () => {
    await expect(connectTcp({ address: '127.0.0.1', port: 22, family: 6 })).rejects.toThrow(
      'is IPv4, but family is 6',
    );
    await expect(listenTcp({ address: '::1', port: 22, family: 4 })).rejects.toThrow(
      'is IPv6, but family is 4',
    );
    await expect(connectTcp({ address: '::1', port: 22, family: 5 as never })).rejects.toThrow(
      RangeError,
    );
  });

  it('rejects invalid netns, backlog and timeout', async () => {
    await expect(
      connectTcp({ address: '127.0.0.1', port: 22, netns: {} as never }),
    ).rejects.toThrow(TypeError);
    await expect(
      connectTcp({ address: '127.0.0.1', port: 22, netns: { name: 'a/b' } }),
    ).rejects.toThrow(RangeError);
    await expect(connectTcp({ address: '127.0.0.1', port: 22, netns: { fd: -1 } })).rejects.toThrow(
      RangeError,
    );
    for (const backlog of [-1, 1.5, 2 ** 31]) {
      await expect(
        listenTcp({ address: '127.0.0.1', port: 22, backlog }),
        String(backlog),
      ).rejects.toThrow(RangeError);
    }
    for (const timeoutMs of [0, -5, Number.POSITIVE_INFINITY, 2 ** 31]) {
      await expect(
        connectTcp({ address: '127.0.0.1', port: 22, timeoutMs }),
        String(timeoutMs),
      ).rejects.toThrow(RangeError);
    }
    await expect(connectTcp(null as never)).rejects.toThrow(TypeError);
  });

  it('addon checks its options again', () => {
    const native = addon();
    const bind = (address: string, port: number) => ({
      family: 4 as const,
      bind: { address, port },
    });
    expect(() => native.openTcpSocket({ family: 5 as never })).toThrow(RangeError);
    expect(() => native.openTcpSocket({ family: '4' as never })).toThrow(TypeError);
    expect(() => native.openTcpSocket(bind('127.0.0.1\0junk', 22))).toThrow(RangeError);
    expect(() => native.openTcpSocket(bind('::1', 22))).toThrow(RangeError);
    expect(() => native.openTcpSocket(bind('127.0.0.1', 65536))).toThrow(RangeError);
    expect(() => native.openTcpSocket(bind('127.0.0.1', 1.5))).toThrow(RangeError);
    expect(() => native.openTcpSocket({ family: 4, listen: -1 })).toThrow(RangeError);
    expect(() => native.openTcpSocket({ family: 4, netnsPath: '/x', netnsFd: 3 })).toThrow(
      TypeError,
    );
  });
});

describe.skipIf(kernelSkipReason !== undefined)('tcp inside a netns', () => {
  let netns: string;
  const servers: Server[] = [];
  const sockets: Socket[] = [];

  beforeAll(() => {
    netns = createTestNetns('fkt-tcp');
    // A veth pair with both ends in the test namespace, so the address sits on a real link.
    ip(netns, 'link', 'add', 'fkt0', 'type', 'veth', 'peer', 'name', 'fkt1');
    ip(netns, 'address', 'add', `${LINK_V4}/24`, 'dev', 'fkt0');
    ip(netns, 'address', 'add', `${LINK_V6}/64`, 'dev', 'fkt0', 'nodad');
    ip(netns, 'link', 'set', 'fkt0', 'up');
    ip(netns, 'link', 'set', 'fkt1', 'up');
    // SYNs to SILENT_V4 leave through fkt0 to a MAC no interface has, so fkt1 drops them.
    ip(
      netns,
      'neighbour',
      'add',
      '198.51.100.2',
      'lladdr',
      '02:00:00:00:00:02',
      'dev',
      'fkt0',
      'nud',
      'permanent',
    );
    ip(netns, 'route', 'add', `${SILENT_V4}/32`, 'via', '198.51.100.2', 'dev', 'fkt0');
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) await closeServer(server);
  });

  afterAll(() => {
    if (netns !== undefined) removeTestNetns(netns);
  });

  async function listen(address: string, port: number): Promise<Server> {
    const server = await listenTcp({ netns: { name: netns }, address, port }, answerPing);
    servers.push(server);
    return server;
  }

  async function ping(address: string, port: number): Promise<string> {
    const socket = await connectTcp({ netns: { name: netns }, address, port, timeoutMs: 10_000 });
    sockets.push(socket);
    socket.write('ping');
    return (await readBytes(socket, 64)).toString();
  }

  it('exchanges bytes over loopback', async () => {
    const server = await listen('127.0.0.1', 2201);
    expect(server.address()).toEqual({ address: '127.0.0.1', family: 'IPv4', port: 2201 });
    expect(listeners(netns)).toContain('127.0.0.1:2201');

    expect(await ping('127.0.0.1', 2201)).toBe('pong 127.0.0.1\n');
  });

  it('exchanges bytes on a link address', async () => {
    await listen(LINK_V4, 2202);
    expect(listeners(netns)).toContain(`${LINK_V4}:2202`);

    expect(await ping(LINK_V4, 2202)).toBe(`pong ${LINK_V4}\n`);
  });

  it('exchanges bytes over IPv6', async () => {
    await listen('::1', 2203);
    await listen(LINK_V6, 2203);
    expect(listeners(netns)).toEqual(expect.arrayContaining(['[::1]:2203', `[${LINK_V6}]:2203`]));

    expect(await ping('::1', 2203)).toBe('pong ::1\n');
    expect(await ping(LINK_V6, 2203)).toBe(`pong ${LINK_V6}\n`);
  });

  it('accepts path and fd targets', async () => {
    const path = `/run/netns/${netns}`;
    const server = await listenTcp(
      { netns: { path }, address: '127.0.0.1', port: 2204 },
      answerPing,
    );
    servers.push(server);

    const handle = openNetns({ name: netns });
    try {
      const socket = await connectTcp({
        netns: { fd: handle.fd },
        address: '127.0.0.1',
        port: 2204,
      });
      sockets.push(socket);
      socket.write('ping');
      expect((await readBytes(socket, 64)).toString()).toBe('pong 127.0.0.1\n');
    } finally {
      handle.close();
    }
  });

  it('reports ECONNREFUSED when nothing listens', async () => {
    const error = await rejection(
      connectTcp({ netns: { name: netns }, address: LINK_V4, port: 2205, timeoutMs: 10_000 }),
    );
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.syscall).toBe('connect');
  });

  it('reports ETIMEDOUT when no answer comes', async () => {
    const error = await rejection(
      connectTcp({ netns: { name: netns }, address: SILENT_V4, port: 22, timeoutMs: 200 }),
    );
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.message).toBe(
      `connect to ${SILENT_V4}:22 in network namespace ${netns} timed out after 200 ms`,
    );
  });

  it('keeps the listener out of the host namespace', async () => {
    const hostBefore = listeners().filter((entry) => entry.endsWith(':2206'));
    await listen('127.0.0.1', 2206);
    await listen(LINK_V4, 2206);

    expect(listeners(netns)).toEqual(expect.arrayContaining(['127.0.0.1:2206', `${LINK_V4}:2206`]));
    expect(listeners().filter((entry) => entry.endsWith(':2206'))).toEqual(hostBefore);
    expect(listeners()).not.toContain(`${LINK_V4}:2206`);
  });

  it('reports bind failures with errno, code and syscall', async () => {
    await listen('127.0.0.1', 2207);
    const inUse = await rejection(
      listenTcp({ netns: { name: netns }, address: '127.0.0.1', port: 2207 }),
    );
    expect(inUse.code).toBe('EADDRINUSE');
    expect(inUse.errno).toBe(98);
    expect(inUse.syscall).toBe('bind');
    expect(inUse.message).toContain(`127.0.0.1:2207 in network namespace /run/netns/${netns}`);

    // 192.0.2.1 is on no interface of the test namespace.
    const missing = await rejection(
      listenTcp({ netns: { name: netns }, address: '192.0.2.1', port: 2207 }),
    );
    expect(missing.code).toBe('EADDRNOTAVAIL');
    expect(missing.syscall).toBe('bind');
  });

  it('leaves no fd open after failures', async () => {
    const before = readdirSync('/proc/self/fd').length;
    const target = { netns: { name: netns } };

    expect((await rejection(connectTcp({ ...target, address: LINK_V4, port: 2208 }))).code).toBe(
      'ECONNREFUSED',
    );
    expect(
      (await rejection(connectTcp({ ...target, address: SILENT_V4, port: 22, timeoutMs: 50 })))
        .code,
    ).toBe('ETIMEDOUT');
    expect((await rejection(listenTcp({ ...target, address: '192.0.2.1', port: 2208 }))).code).toBe(
      'EADDRNOTAVAIL',
    );
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('reports a missing namespace', async () => {
    const error = await rejection(
      connectTcp({ netns: { name: `${netns}-missing` }, address: '127.0.0.1', port: 22 }),
    );
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(`/run/netns/${netns}-missing`);
  });
});
