// What the object services need from a netlink socket. NetlinkSocket (src/netlink/socket.ts)
// provides it, and tests may pass a fake that records messages.
import { constants } from 'node:os';

/** Operation and object of a request, for error messages: `add` + `address 192.0.2.79/24 on veth0`. */
export interface Operation {
  operation: string;
  object: string;
}

/** Outcome of one request of a batch. */
export type BatchOutcome = { ok: true; payload?: Buffer } | { ok: false; error: Error };

export interface RtnlTransport {
  /**
   * Sends one request and resolves with the reply messages back to back, or undefined when
   * the kernel replied with a plain ack. Rejects with the kernel's error.
   */
  request(message: Buffer, operation: Operation): Promise<Buffer | undefined>;
  /** Sends a dump request and resolves with every reply message back to back. */
  dump(message: Buffer, operation: Operation): Promise<Buffer>;
  /** Sends several non-dump requests in one send, with one outcome per request, in order. */
  batch(requests: ReadonlyArray<{ message: Buffer; op: Operation }>): Promise<BatchOutcome[]>;
  /**
   * Sends requests encoded back to back in `messages`, each at a 4-byte aligned offset, as
   * batch() does, with `ops[i]` describing the i-th. Optional: Batch uses it when present,
   * which saves a Buffer per request, and calls batch() otherwise.
   */
  batchPacked?(messages: Buffer, ops: readonly Operation[]): Promise<BatchOutcome[]>;
  close(): void;
}

/** One encoded request and the description used when it fails. */
export interface EncodedRequest {
  message: Buffer;
  op: Operation;
}

/** True when `error` carries the errno of `code`, as NetlinkError does (`errno: 19` for ENODEV). */
export function hasErrno(error: unknown, code: keyof typeof constants.errno): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { errno?: unknown }).errno === constants.errno[code]
  );
}
