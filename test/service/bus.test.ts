// DBusConnection against peers the test sets up itself: unix socket servers that hang up,
// stay silent, or belong to another user. None of them speaks D-Bus.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/addon.js';
import { DBusConnection } from '../../src/service/bus.js';
import { SystemdError } from '../../src/service/errors.js';

const PEER_PATH = '/org/freedesktop/systemd1';
const PEER_INTERFACE = 'org.freedesktop.DBus.Peer';

/** Starts a unix socket server at a fresh path; `onConnection` decides what it does. */
async function listen(
  directory: string,
  onConnection: Parameters<typeof createServer>[1],
): Promise<{
  server: Server;
  address: string;
}> {
  const path = join(directory, 'peer.sock');
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, address: `unix:path=${path}` };
}

async function rejectionOf(promise: Promise<unknown>): Promise<SystemdError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SystemdError);
    return error as SystemdError;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!addon().busLibrary().available)('DBusConnection', () => {
  let directory: string;
  let server: Server | undefined;
  let connection: DBusConnection | undefined;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'fstack-kni-bus-'));
  });

  afterEach(async () => {
    connection?.close();
    connection = undefined;
    await new Promise((resolve) =>
      server === undefined ? resolve(undefined) : server.close(resolve),
    );
    server = undefined;
    rmSync(directory, { recursive: true, force: true });
  });

  it('fails calls on peer hang-up', async () => {
    ({ server } = await listen(directory, (socket) => socket.destroy()));
    const address = `unix:path=${join(directory, 'peer.sock')}`;
    connection = DBusConnection.open({ address, direct: true });
    const lost = new Promise<SystemdError>((resolve) => connection?.onDisconnect(resolve));

    const error = await rejectionOf(
      connection.call(PEER_PATH, PEER_INTERFACE, 'Ping', '', [], { timeoutMs: 10_000 }),
    );
    expect(error.code).toBe('EDISCONNECTED');
    expect(error.dbusError).toBe('org.freedesktop.DBus.Error.Disconnected');
    expect(error.message).toContain(address);

    const disconnect = await lost;
    expect(disconnect.code).toBe('EDISCONNECTED');
    expect(connection.lost).toBe(disconnect);
    const later = await rejectionOf(
      connection.call(PEER_PATH, PEER_INTERFACE, 'Ping', '', [], { timeoutMs: 1000 }),
    );
    expect(later.code).toBe('EDISCONNECTED');
  });

  it('times out a silent peer', async () => {
    // sd-bus would wait for the authentication handshake far longer than the call's limit.
    ({ server } = await listen(directory, (socket) => socket.resume()));
    connection = DBusConnection.open({
      address: `unix:path=${join(directory, 'peer.sock')}`,
      direct: true,
    });

    const error = await rejectionOf(
      connection.call(PEER_PATH, PEER_INTERFACE, 'Ping', '', [], {
        timeoutMs: 200,
        unit: 'fstack_ha.service',
      }),
    );

    expect(error.code).toBe('ETIMEDOUT');
    expect(error.operation).toBe('Ping');
    expect(error.unit).toBe('fstack_ha.service');
    expect(error.message).toBe('Ping for fstack_ha.service timed out after 200 ms without a reply');
    expect(connection.pending()).toBe(0);
  });

  it('rejects arguments not fitting signature', async () => {
    ({ server } = await listen(directory, (socket) => socket.resume()));
    connection = DBusConnection.open({
      address: `unix:path=${join(directory, 'peer.sock')}`,
      direct: true,
    });
    const call = (signature: string, args: unknown[]) =>
      connection?.call(PEER_PATH, PEER_INTERFACE, 'Ping', signature, args as never, {
        timeoutMs: 1000,
      });

    await expect(call('s', [1])).rejects.toThrow(TypeError);
    await expect(call('u', [-1])).rejects.toThrow(RangeError);
    await expect(call('y', [256])).rejects.toThrow(RangeError);
    await expect(call('t', [2n ** 64n])).rejects.toThrow(RangeError);
    await expect(call('as', ['x'])).rejects.toThrow(TypeError);
    await expect(call('a{sv}', [{}])).rejects.toThrow(/unsupported D-Bus signature/);
    await expect(call('ss', ['one'])).rejects.toThrow(/takes 2 arguments, got 1/);
    expect(connection.pending()).toBe(0);
  });

  it('reports a missing socket with its errno', () => {
    let caught: unknown;
    try {
      DBusConnection.open({ address: `unix:path=${join(directory, 'absent.sock')}` });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(SystemdError);
    expect((caught as SystemdError).code).toBe('ECONNECT');
    expect((caught as SystemdError).errno).toBe(2);
    expect((caught as SystemdError).message).toContain('absent.sock');
  });
});

describe.skipIf(!addon().busLibrary().available || process.getuid?.() !== 0)(
  'DBusConnection peer check',
  () => {
    let directory: string;
    let child: ChildProcess | undefined;

    afterEach(async () => {
      if (child?.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    });

    it('rejects a foreign direct peer', async () => {
      directory = mkdtempSync(join(tmpdir(), 'fstack-kni-peer-'));
      chmodSync(directory, 0o777);
      const path = join(directory, 'peer.sock');

      // A socket server run by user nobody (uid 65534) stands in for a foreign private socket.
      child = spawn(
        process.execPath,
        ['-e', `require('net').createServer((s) => s.resume()).listen(${JSON.stringify(path)})`],
        { uid: 65534, gid: 65534, stdio: 'ignore' },
      );
      // The file appears at bind(), before listen(): wait until a connection is accepted, or
      // the check below could meet ECONNREFUSED instead of the peer's credentials.
      for (let attempt = 0; attempt < 400 && !(await accepts(path)); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }

      let caught: unknown;
      try {
        DBusConnection.open({ address: `unix:path=${path}`, direct: true }).close();
      } catch (error) {
        caught = error;
      }

      expect(caught).toBeInstanceOf(SystemdError);
      expect((caught as SystemdError).code).toBe('ECONNECT');
      expect((caught as SystemdError).errno).toBe(1);
      expect((caught as SystemdError).message).toContain(
        'the peer runs as uid 65534, neither root nor this user',
      );
    });
  },
);

/** Resolves whether a Unix socket at `path` accepts a connection now. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
