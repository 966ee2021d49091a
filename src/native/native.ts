import type { NativeBusExports } from './native-bus.js';

// The typed boundary between TypeScript and the C++ addon. Everything the addon exports is
// declared here and nowhere else. TypeScript validates arguments before calling in; the
// addon checks types again and throws TypeError on misuse.

/** Outcome codes passed to request callbacks. */
export const enum NativeStatus {
  /** The kernel acknowledged the request, or the dump finished. */
  Ok = 0,
  /** The kernel answered with an NLMSG_ERROR carrying a negative errno. */
  KernelError = 1,
  /** A system call on the socket failed (sendmsg, recvmsg); errno is set. */
  SocketError = 2,
  /** The dump was marked NLM_F_DUMP_INTR on every attempt; errno is EINTR. */
  DumpInterrupted = 3,
  /** The socket was closed while the request was pending; errno is ECANCELED. */
  Closed = 4,
}

/**
 * Completion of one request. `payload` holds the reply messages back to back, headers
 * included, for dumps and for requests sent with NLM_F_ECHO or a GET; it is undefined for a
 * plain ack. `extackMessage` and `extackOffset` come from the kernel's extended ack
 * (NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS); the offset counts bytes from the start of the
 * request message and is -1 when absent.
 */
export type RequestCallback = (
  status: NativeStatus,
  errno: number,
  payload: Buffer | undefined,
  extackMessage: string | undefined,
  extackOffset: number,
) => void;

/** Where a socket or tun device is opened: a namespace file path or an open fd. */
export interface NativeNetnsTarget {
  netnsPath?: string;
  netnsFd?: number;
}

export interface NativeSocketOptions extends NativeNetnsTarget {
  /** Multicast groups to join (RTNLGRP_* numbers), for event sockets. */
  groups?: number[];
  /** SO_RCVBUF(FORCE) size in bytes. */
  receiveBuffer?: number;
  /** Max attempts for a dump that comes back NLM_F_DUMP_INTR. */
  dumpAttempts?: number;
  /** Called with unsolicited messages (sequence 0, e.g. multicast events) back to back. */
  onEvent?: (messages: Buffer) => void;
  /** Called when recvmsg reports ENOBUFS: events were lost and state must be dumped again. */
  onOverflow?: () => void;
}

export interface NativeRouteSocket {
  /** Port id the kernel bound the socket to. */
  readonly portId: number;
  /**
   * Sends one request. The addon writes nlmsg_seq and nlmsg_pid into `message` before
   * sending; the caller sets type and flags. Requests flagged NLM_F_DUMP are queued and run
   * one at a time. Returns the sequence number used.
   */
  request(message: Buffer, callback: RequestCallback): number;
  /**
   * Sends several non-dump requests in one sendmsg. `callback` runs once per message, in
   * order, with the message's index as the first argument.
   */
  batch(
    messages: Buffer[],
    callback: (index: number, ...rest: Parameters<RequestCallback>) => void,
  ): void;
  /** Number of requests waiting for a reply. */
  pending(): number;
  /** Keeps the event loop alive while requests are pending (default) or always. */
  ref(): void;
  unref(): void;
  /** Closes the socket; pending requests complete with NativeStatus.Closed. */
  close(): void;
}

export interface NativeTun {
  fd: number;
  name: string;
}

export interface NativeAddon extends NativeBusExports {
  /** Names of the addon parts that registered exports. */
  readonly parts: string[];

  /** Opens a NETLINK_ROUTE socket, inside the given namespace when one is named. */
  openRouteSocket(options: NativeSocketOptions): NativeRouteSocket;

  /** Creates a named network namespace, as `ip netns add NAME` does. */
  netnsCreate(name: string, directory: string): void;
  /** Unmounts and removes a named network namespace, as `ip netns delete NAME` does. */
  netnsDelete(name: string, directory: string): void;
  /** Opens a namespace file (O_RDONLY | O_CLOEXEC) and returns the fd. */
  netnsOpen(path: string): number;
  /** Closes an fd returned by the addon. */
  closeFd(fd: number): void;

  /**
   * Creates a tun or tap device through /dev/net/tun (TUNSETIFF) inside the target
   * namespace. The returned fd holds the device open; `persist` sets TUNSETPERSIST.
   */
  tunCreate(
    name: string,
    options: NativeNetnsTarget & { tap: boolean; persist: boolean; noPi?: boolean },
  ): NativeTun;
  /** Sets or clears TUNSETPERSIST on an open tun fd. */
  tunSetPersist(fd: number, persist: boolean): void;
}
