import type { NativeBusExports } from './native-bus.js';

// The typed boundary between TypeScript and the C++ addon. Everything the addon exports is
// declared here and nowhere else. TypeScript validates arguments before calling in; the
// addon checks types again and throws TypeError on misuse.

/** Outcome codes passed to `onReply`; native/nl_socket.h defines the same values. */
export enum NativeStatus {
  /** The kernel acknowledged the request, or the dump finished. */
  Ok = 0,
  /** The kernel replied with an NLMSG_ERROR (or a dump's NLMSG_DONE) carrying an errno. */
  KernelError = 1,
  /** A system call on the socket failed (sendmsg, recvmsg); errno is set. */
  SocketError = 2,
  /** The dump was marked NLM_F_DUMP_INTR on every attempt; errno is EINTR. */
  DumpInterrupted = 3,
  /** The socket was closed while the request was pending; errno is ECANCELED. */
  Closed = 4,
}

/**
 * Completion of one request, called once per request from the event loop (or from
 * `close()`). `payload` contains the reply messages back to back, headers included: always a
 * Buffer (possibly empty) for a successful dump, a Buffer for a plain request only when
 * the kernel sent data before its ack (a GET, or NLM_F_ECHO), else undefined.
 * `extackMessage` and `extackOffset` come from the kernel's extended ack
 * (NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS). The offset counts bytes from the start of the
 * request message and is -1 when absent. `errno` is positive, 0 on success.
 */
export type ReplyCallback = (
  sequence: number,
  status: NativeStatus,
  errno: number,
  payload: Buffer | undefined,
  extackMessage: string | undefined,
  extackOffset: number,
) => void;

/** Namespace of a socket or tun device: a namespace file path or an open fd. */
export interface NativeNetnsTarget {
  netnsPath?: string;
  netnsFd?: number;
}

export interface NativeSocketOptions extends NativeNetnsTarget {
  /** Multicast groups to join (RTNLGRP_* numbers, above 31 too), for event sockets. */
  groups?: number[];
  /** SO_RCVBUFFORCE (or, without CAP_NET_ADMIN, SO_RCVBUF) size in bytes; default 4 MiB. */
  receiveBuffer?: number;
  /** Attempts of a dump that comes back NLM_F_DUMP_INTR, 1 to 1000; default 5. */
  dumpAttempts?: number;
  /** Called once per completed request. Required. */
  onReply: ReplyCallback;
  /**
   * Called with multicast messages and other unsolicited kernel messages, back to back,
   * one Buffer per loop wakeup. A socket with onEvent keeps the loop alive until unref().
   */
  onEvent?: (messages: Buffer) => void;
  /** Called when recvmsg reports ENOBUFS: events were lost and state must be dumped again. */
  onOverflow?: () => void;
}

/**
 * One NETLINK_ROUTE socket (SOCK_NONBLOCK, NETLINK_EXT_ACK, NETLINK_CAP_ACK and
 * NETLINK_GET_STRICT_CHK on, connected to the kernel) polled by the libuv loop.
 */
export interface NativeRouteSocket {
  /** Port id the kernel bound the socket to. */
  readonly portId: number;
  /**
   * Sends one request; `message` is exactly one netlink message (nlmsg_len equals its
   * size). The addon writes nlmsg_seq and nlmsg_pid into `message` and adds NLM_F_REQUEST
   * plus NLM_F_ACK (plain request) or NLM_F_DUMP (dump). Dumps are queued and run one at a
   * time. Returns:
   * - the sequence number that `onReply` will report;
   * - 0 when the request already completed with a plain ack (no payload, no extended ack)
   *   that was read right after sendmsg. `onReply` is not called for it;
   * - -errno when sendmsg failed; `onReply` is not called for it.
   * Throws when the socket is closed.
   */
  request(message: Buffer, dump: boolean): number;
  /**
   * Sends several plain requests in as few sendmsg calls as possible (one per 256
   * messages or 64 KiB). `messages` contains them back to back, each at a 4-byte aligned
   * offset; the addon stamps each in place as request() does. Returns per message what
   * request() returns for it: a sequence number, 0 (already acknowledged) or -errno, or
   * null when every message was acknowledged already. Messages after a failed sendmsg are
   * not sent and get the same -errno. Throws RangeError when a message header is truncated
   * or its nlmsg_len does not fit.
   */
  batch(messages: Buffer): Float64Array | null;
  /** Number of requests waiting for a reply, queued dumps included. */
  pending(): number;
  /** Whether the poll handle currently keeps the event loop alive. */
  hasRef(): boolean;
  /** Keeps the event loop alive even when nothing is pending. */
  ref(): void;
  /** Keeps the event loop alive only while requests are pending, events or not. */
  unref(): void;
  /** Closes the socket; pending requests complete with NativeStatus.Closed before it returns. */
  close(): void;
}

export interface NativeTunOptions extends NativeNetnsTarget {
  /** IFF_TAP (Ethernet frames) instead of IFF_TUN (IP packets). */
  tap: boolean;
  /** TUNSETPERSIST: the device outlives the fd. */
  persist: boolean;
  /** IFF_NO_PI: no packet information header before each packet; default true. */
  noPi?: boolean;
}

export interface NativeTun {
  fd: number;
  /** The interface name the kernel gave the device (it expands a `%d` in the request). */
  name: string;
}

export interface NativeTcpSocketOptions extends NativeNetnsTarget {
  /** Address family of the socket: AF_INET for 4, AF_INET6 for 6. */
  family: 4 | 6;
  /**
   * Local address to bind to, with SO_REUSEADDR set first. `address` is text of the
   * socket's family as inet_pton takes it, `port` 0 to 65535 (0: the kernel picks one).
   */
  bind?: { address: string; port: number };
  /** Calls listen(2) with this backlog, 0 to 2147483647 (the kernel caps it at somaxconn). */
  listen?: number;
}

/** An errno's name and text as glibc has them (strerrorname_np, strerrordesc_np). */
export interface NativeErrnoDescription {
  code: string;
  description: string;
}

/**
 * Errors thrown by netns, tun, netlink socket and TCP socket opening: `errno` is positive,
 * `syscall` names the failed call, `path` the file when there is one.
 */
export interface NativeSystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
}

export interface NativeAddon extends NativeBusExports {
  /** Names of the addon parts that registered exports. */
  readonly parts: string[];

  /** Opens a NETLINK_ROUTE socket, inside the given namespace when one is named. */
  openRouteSocket(options: NativeSocketOptions): NativeRouteSocket;

  /** Describes an errno number. */
  describeErrno(errno: number): NativeErrnoDescription;

  /**
   * Creates a named network namespace, as `ip netns add NAME` does: makes `directory` a
   * shared mount point and bind-mounts a new namespace onto DIRECTORY/NAME.
   */
  netnsCreate(name: string, directory: string): void;
  /** Unmounts and removes a named network namespace, as `ip netns delete NAME` does. */
  netnsDelete(name: string, directory: string): void;
  /**
   * Opens a namespace file (O_RDONLY | O_CLOEXEC) and returns the fd; throws EINVAL when
   * the file is not a network namespace.
   */
  netnsOpen(path: string): number;
  /** Closes an fd returned by the addon. */
  closeFd(fd: number): void;

  /**
   * Creates a tun or tap device through /dev/net/tun (TUNSETIFF) inside the target
   * namespace. The returned fd holds the device open; `persist` sets TUNSETPERSIST.
   */
  tunCreate(name: string, options: NativeTunOptions): NativeTun;
  /** Sets or clears TUNSETPERSIST on an open tun fd. */
  tunSetPersist(fd: number, persist: boolean): void;

  /**
   * Creates a TCP socket (SOCK_NONBLOCK | SOCK_CLOEXEC) inside the target namespace, binds
   * and listens when asked, and returns its fd. The socket stays in that namespace for its
   * whole life, so Node can listen or connect on the fd from the main thread.
   */
  openTcpSocket(options: NativeTcpSocketOptions): number;
}
