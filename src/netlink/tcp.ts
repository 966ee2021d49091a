// TCP listeners and connections inside another network namespace. A Node process cannot
// enter a namespace, but a socket stays in the namespace it was created in for its whole
// life. So the addon creates the socket on a thread inside the target namespace, and Node's
// net module drives the fd from the main thread.
import { Server, Socket } from 'node:net';
import { addon } from '../native/addon.js';
import type { NativeNetnsTarget } from '../native/native.js';
import { type IpFamily, parseIp } from '../net/ip.js';
import type { NetnsTarget } from '../rtnl/types.js';
import { resolveNetnsTarget } from './netns.js';

/** listen(2) backlog when none is given, the same as Node's server.listen(). */
const DEFAULT_BACKLOG = 511;
const MAX_BACKLOG = 0x7fffffff;
/** setTimeout() accepts delays up to 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export interface TcpEndpointOptions {
  /** Namespace of the socket; default the namespace of this process. */
  netns?: NetnsTarget;
  /** IPv4 or IPv6 address text as inet_pton takes it; no zone index, no brackets. */
  address: string;
  /** TCP port, 1 to 65535. */
  port: number;
  /** Expected family of `address`; when set, an address of the other family is a RangeError. */
  family?: IpFamily;
}

export interface ListenTcpOptions extends TcpEndpointOptions {
  /** listen(2) backlog, 0 to 2147483647; 511 unless set. The kernel caps it at somaxconn. */
  backlog?: number;
}

export interface ConnectTcpOptions extends TcpEndpointOptions {
  /**
   * Time limit of the handshake in ms, 1 to 2147483647. Without it, only the kernel's SYN
   * retransmissions (net.ipv4.tcp_syn_retries) end a connect that gets no reply.
   */
  timeoutMs?: number;
}

/** An endpoint after validation, in the form the addon takes. */
interface CheckedEndpoint {
  target: NativeNetnsTarget;
  family: IpFamily;
  address: string;
  port: number;
  /** `ADDRESS:PORT in network namespace X`, for messages. */
  description: string;
}

/**
 * Listens on ADDRESS:PORT inside the namespace and returns the listening server, as a
 * server started with `ip netns exec NS` would. SO_REUSEADDR is set before bind.
 * `onConnection` becomes the server's 'connection' listener. Rejects with TypeError or
 * RangeError on invalid options, and with the addon's Error (`code` EADDRINUSE,
 * EADDRNOTAVAIL, ENOENT for a missing namespace, ...) when socket, bind or listen fails.
 */
export async function listenTcp(
  options: ListenTcpOptions,
  onConnection?: (socket: Socket) => void,
): Promise<Server> {
  const endpoint = checkEndpoint(options, 'listenTcp');
  const backlog = checkBacklog(options.backlog);
  const fd = addon().openTcpSocket({
    ...endpoint.target,
    family: endpoint.family,
    bind: { address: endpoint.address, port: endpoint.port },
    listen: backlog,
  });

  // The socket already listens, so Node's own listen(2) on the fd only sets the backlog again.
  const server = new Server(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, backlog, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Connects to ADDRESS:PORT from inside the namespace and returns the connected socket.
 * Rejects with TypeError or RangeError on invalid options, and with the addon's Error when
 * the socket cannot be created there. A failed handshake rejects with Node's connect error
 * (`code` ECONNREFUSED when nothing listens, ENETUNREACH, EHOSTUNREACH, ...), and a
 * handshake still pending after `timeoutMs` with an Error of `code` ETIMEDOUT.
 */
export async function connectTcp(options: ConnectTcpOptions): Promise<Socket> {
  const endpoint = checkEndpoint(options, 'connectTcp');
  const timeoutMs = checkTimeout(options.timeoutMs);
  const fd = addon().openTcpSocket({ ...endpoint.target, family: endpoint.family });

  let socket: Socket;
  try {
    socket = new Socket({ fd, readable: true, writable: true });
  } catch (error) {
    addon().closeFd(fd);
    throw error;
  }

  // Node (checked on 20.20) starts reading an fd socket in its constructor, and a read on an
  // unconnected TCP socket fails with ENOTCONN. libuv registers the read with epoll only
  // when the loop next polls. connect() below starts the handshake before that (from a
  // nextTick callback), so the read never meets an unconnected socket. Keep the two calls
  // in one tick.
  return await new Promise<Socket>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };

    socket.once('error', fail);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => fail(timeoutError(endpoint, timeoutMs)), timeoutMs);
    }
    socket.connect({ host: endpoint.address, port: endpoint.port }, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function checkEndpoint(options: TcpEndpointOptions, caller: string): CheckedEndpoint {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${caller} options must be an object`);
  }
  const target = options.netns === undefined ? {} : resolveNetnsTarget(options.netns);

  const { address, port, family } = options;
  if (typeof address !== 'string') {
    throw new TypeError(`${caller}: address must be a string, got ${typeof address}`);
  }
  const parsed = parseIp(address);
  if (parsed === undefined) {
    throw new RangeError(
      `${caller}: invalid IP address ${JSON.stringify(address)}: expected IPv4 or IPv6 text without a zone index`,
    );
  }
  if (family !== undefined && family !== 4 && family !== 6) {
    throw new RangeError(`${caller}: family must be 4 or 6, got ${String(family)}`);
  }
  if (family !== undefined && family !== parsed.family) {
    throw new RangeError(
      `${caller}: address ${address} is IPv${parsed.family}, but family is ${family}`,
    );
  }

  if (typeof port !== 'number') {
    throw new TypeError(`${caller}: port must be a number, got ${typeof port}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `${caller}: invalid TCP port ${port}: expected an integer from 1 to 65535`,
    );
  }

  const where = parsed.family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  const description =
    options.netns === undefined
      ? where
      : `${where} in network namespace ${describeNetns(options.netns)}`;
  return { target, family: parsed.family, address, port, description };
}

function checkBacklog(backlog: unknown): number {
  if (backlog === undefined) return DEFAULT_BACKLOG;
  if (
    typeof backlog !== 'number' ||
    !Number.isInteger(backlog) ||
    backlog < 0 ||
    backlog > MAX_BACKLOG
  ) {
    throw new RangeError(
      `listenTcp: invalid backlog ${String(backlog)}: expected an integer from 0 to ${MAX_BACKLOG}`,
    );
  }
  return backlog;
}

function checkTimeout(timeoutMs: unknown): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isFinite(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new RangeError(
      `connectTcp: invalid timeoutMs ${String(timeoutMs)}: expected 1 to ${MAX_TIMEOUT_MS} ms`,
    );
  }
  return timeoutMs;
}

function describeNetns(netns: NetnsTarget): string {
  if ('name' in netns) return netns.name;
  if ('path' in netns) return netns.path;
  return `fd ${netns.fd}`;
}

function timeoutError(endpoint: CheckedEndpoint, timeoutMs: number): Error {
  return Object.assign(
    new Error(`connect to ${endpoint.description} timed out after ${timeoutMs} ms`),
    {
      code: 'ETIMEDOUT',
      syscall: 'connect',
      address: endpoint.address,
      port: endpoint.port,
    },
  );
}
