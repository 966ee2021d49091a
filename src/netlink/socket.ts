// NetlinkSocket: promises over one NETLINK_ROUTE socket of the addon. The addon sends,
// receives and matches replies on the event loop; this class keeps one promise per request
// and turns failures into NetlinkError.
import { endianness } from 'node:os';
import { addon } from '../native/addon.js';
import {
  type NativeRouteSocket,
  type NativeSocketOptions,
  NativeStatus,
} from '../native/native.js';
import type { NetnsTarget } from '../rtnl/types.js';
import { align4 } from './attributes.js';
import { DumpInterruptedError, NetlinkError } from './errors.js';
import { resolveNetnsTarget } from './netns.js';

/** Operation and object of a request, for error messages: `add address` + `192.0.2.79/24 on veth0`. */
export interface NetlinkOperation {
  operation: string;
  object?: string;
}

export interface NetlinkBatchItem {
  message: Buffer;
  op?: NetlinkOperation;
}

/** Outcome of one message of a batch. */
export type NetlinkBatchResult =
  | { ok: true; payload: Buffer | undefined }
  | { ok: false; error: NetlinkError };

/** Record passed to the `trace` callback: every request sent and every reply, event or overflow. */
export type NetlinkTraceRecord =
  | {
      type: 'send';
      portId: number;
      sequence: number;
      dump: boolean;
      message: Buffer;
      op: NetlinkOperation;
    }
  | {
      type: 'reply';
      portId: number;
      sequence: number;
      status: keyof typeof NativeStatus;
      errno: number;
      payload: Buffer | undefined;
      extackMessage: string | undefined;
    }
  | { type: 'event'; portId: number; messages: Buffer }
  | { type: 'overflow'; portId: number };

export interface NetlinkSocketOptions {
  /** Namespace to open the socket in; default the calling process's namespace. */
  netns?: NetnsTarget;
  /** Multicast groups to join (RTNLGRP_* numbers), which makes this an event socket. */
  groups?: readonly number[];
  /** Receive buffer in bytes (SO_RCVBUFFORCE, else SO_RCVBUF); default 4 MiB. */
  receiveBuffer?: number;
  /** How often an interrupted dump (NLM_F_DUMP_INTR) is attempted in all; default 5. */
  dumpAttempts?: number;
  /**
   * Receives multicast and other unsolicited messages back to back, one Buffer per loop
   * wakeup. An exception thrown here becomes an uncaught exception of the process.
   */
  onEvent?: (messages: Buffer) => void;
  /** Called when the kernel dropped messages for lack of receive buffer (ENOBUFS). */
  onOverflow?: () => void;
  /**
   * Receives every request, reply and event. Without it, setting the environment variable
   * FSTACK_KNI_NLDEBUG (1: headers, 2: headers and hex) traces to stderr.
   */
  trace?: (record: NetlinkTraceRecord) => void;
}

const HEADER_SIZE = 16;
const MAX_GROUP = 0xffffffff;
const MAX_DUMP_ATTEMPTS = 1000;
const DEFAULT_DUMP_ATTEMPTS = 5;
const MIN_RECEIVE_BUFFER = 1024;
const MAX_RECEIVE_BUFFER = 2 ** 30;
const ECANCELED = 125;

// Netlink headers are in host byte order.
const littleEndian = endianness() === 'LE';
const readU16 = (buffer: Buffer, offset: number) =>
  littleEndian ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset);
// Reads bytes directly, because every caller has checked the bounds already and this runs
// on every request, where Buffer.readUInt32LE would check its arguments again.
const readU32 = (buffer: Buffer, offset: number) => {
  const b0 = buffer[offset] as number;
  const b1 = buffer[offset + 1] as number;
  const b2 = buffer[offset + 2] as number;
  const b3 = buffer[offset + 3] as number;
  return littleEndian
    ? (b0 | (b1 << 8) | (b2 << 16)) + b3 * 0x1000000
    : (b3 | (b2 << 8) | (b1 << 16)) + b0 * 0x1000000;
};

// Shared by every request that completed with a plain ack inside request().
const acknowledged: Promise<undefined> = Promise.resolve(undefined);
// Shared by every batch message that completed with a plain ack inside batch().
const acknowledgedItem: NetlinkBatchResult = Object.freeze({ ok: true, payload: undefined });
// Describes requests sent without `op` in error messages.
const unnamedOperation: NetlinkOperation = { operation: 'netlink request' };

interface PendingRequest {
  resolve(payload: Buffer | undefined): void;
  reject(error: NetlinkError): void;
  op: NetlinkOperation;
}

/**
 * One rtnetlink socket with extended acks and strict checking, opened in a namespace of
 * your choice. Requests may overlap freely; dumps run one at a time in the order given.
 *
 *   const socket = NetlinkSocket.open({ netns: { name: 'kni' } });
 *   const links = await socket.dump(getLinkMessage, { operation: 'list links' });
 *   socket.close();
 *
 * An idle socket does not keep the process alive (see ref()); an event socket with
 * `onEvent` does, until unref() or close().
 *
 * The kernel handles a request inside sendmsg, so the addon reads a plain ack right away
 * when nothing else can be queued before it. Such a request resolves without a trip
 * through the event loop, and a long loop of awaited requests keeps timers and other I/O
 * waiting as synchronous code would.
 */
export class NetlinkSocket {
  readonly #native: NativeRouteSocket;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #trace: ((record: NetlinkTraceRecord) => void) | undefined;
  readonly #dumpAttempts: number;
  #closed = false;

  // Called by the addon once per request; one function for all requests of the socket.
  readonly #onReply = (
    sequence: number,
    status: NativeStatus,
    errno: number,
    payload: Buffer | undefined,
    extackMessage: string | undefined,
    extackOffset: number,
  ): void => {
    const request = this.#pending.get(sequence);
    if (request === undefined) return;
    this.#pending.delete(sequence);
    if (this.#trace !== undefined) {
      this.#trace({
        type: 'reply',
        portId: this.portId,
        sequence,
        status: NativeStatus[status] as keyof typeof NativeStatus,
        errno,
        payload,
        extackMessage,
      });
    }

    if (status === NativeStatus.Ok) {
      request.resolve(payload);
    } else {
      request.reject(this.#replyError(status, errno, request.op, extackMessage, extackOffset));
    }
  };

  private constructor(options: NetlinkSocketOptions) {
    const native: NativeSocketOptions = { onReply: this.#onReply };
    if (options.netns !== undefined) Object.assign(native, resolveNetnsTarget(options.netns));
    if (options.groups !== undefined) native.groups = checkGroups(options.groups);
    if (options.receiveBuffer !== undefined) {
      native.receiveBuffer = checkInteger(
        options.receiveBuffer,
        'receiveBuffer',
        MIN_RECEIVE_BUFFER,
        MAX_RECEIVE_BUFFER,
      );
    }
    this.#dumpAttempts =
      options.dumpAttempts === undefined
        ? DEFAULT_DUMP_ATTEMPTS
        : checkInteger(options.dumpAttempts, 'dumpAttempts', 1, MAX_DUMP_ATTEMPTS);
    native.dumpAttempts = this.#dumpAttempts;

    const onEvent = checkFunction(options.onEvent, 'onEvent');
    const onOverflow = checkFunction(options.onOverflow, 'onOverflow');
    this.#trace = checkFunction(options.trace, 'trace') ?? traceFromEnvironment();
    const trace = this.#trace;
    if (onEvent !== undefined) {
      native.onEvent =
        trace === undefined
          ? onEvent
          : (messages) => {
              trace({ type: 'event', portId: this.portId, messages });
              onEvent(messages);
            };
    }
    if (onOverflow !== undefined) {
      native.onOverflow =
        trace === undefined
          ? onOverflow
          : () => {
              trace({ type: 'overflow', portId: this.portId });
              onOverflow();
            };
    }

    this.#native = addon().openRouteSocket(native);
  }

  /**
   * Opens a socket. Throws TypeError or RangeError on bad options, and an Error with
   * `errno`, `code` and `syscall` when the namespace or the socket cannot be opened.
   */
  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('NetlinkSocket.open options must be an object');
    }
    return new NetlinkSocket(options);
  }

  /** Port id the kernel bound the socket to (nlmsg_pid of our requests). */
  get portId(): number {
    return this.#native.portId;
  }

  /** Requests waiting for their reply, queued dumps included. */
  get pending(): number {
    return this.#pending.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request and resolves with the data the kernel sent before its ack (a GET's
   * reply, an NLM_F_ECHO copy) or undefined for a plain ack. The socket writes nlmsg_seq
   * and nlmsg_pid into `message` and adds NLM_F_REQUEST | NLM_F_ACK. Rejects with
   * NetlinkError; throws TypeError or RangeError when `message` is not one netlink message.
   */
  request(message: Buffer, op?: NetlinkOperation): Promise<Buffer | undefined> {
    checkMessage(message, 'request');
    const operation = checkOperation(op);
    return this.#send(message, operation, false);
  }

  /**
   * Sends a dump request (NLM_F_DUMP is added) and resolves with all reply messages back
   * to back, NLMSG_DONE left out. A dump marked NLM_F_DUMP_INTR is run again, and after
   * `dumpAttempts` interrupted attempts rejects with DumpInterruptedError.
   */
  dump(message: Buffer, op?: NetlinkOperation): Promise<Buffer> {
    checkMessage(message, 'dump');
    const operation = checkOperation(op);
    return this.#send(message, operation, true) as Promise<Buffer>;
  }

  /**
   * Sends several plain requests in one sendmsg (larger batches in a few) and resolves
   * with one result per item, in order. Kernel errors, a closed socket and send failures
   * are reported per item; the promise itself does not reject. The messages are copied
   * into one buffer, so unlike request() this leaves them as they are.
   */
  batch(items: readonly NetlinkBatchItem[]): Promise<NetlinkBatchResult[]> {
    if (!Array.isArray(items)) throw new TypeError('batch expects an array of { message, op }');
    const operations: NetlinkOperation[] = [];
    let size = 0;
    items.forEach((item, index) => {
      if (typeof item !== 'object' || item === null)
        throw new TypeError(`batch[${index}] must be { message, op }`);
      checkMessage(item.message, 'batch', index);
      operations.push(checkOperation(item.op));
      size += align4(item.message.length);
    });

    // From Node's buffer pool when small, so not zeroed: the padding is zeroed below.
    const messages = Buffer.allocUnsafe(size);
    let offset = 0;
    for (const item of items) {
      const length = item.message.length;
      item.message.copy(messages, offset);
      for (let pad = offset + length; pad < offset + align4(length); pad++) messages[pad] = 0;
      offset += align4(length);
    }
    return this.#sendBatch(messages, operations);
  }

  /**
   * Sends several plain requests encoded back to back in `messages`, each at a 4-byte
   * aligned offset, and resolves as batch() does. `ops[i]` describes the i-th message.
   * The socket stamps each message in place, as request() does. Throws TypeError or
   * RangeError when a message header is truncated, an nlmsg_len does not fit, or `ops`
   * does not have one entry per message.
   */
  batchPacked(
    messages: Buffer,
    ops: readonly (NetlinkOperation | undefined)[],
  ): Promise<NetlinkBatchResult[]> {
    if (!Buffer.isBuffer(messages)) throw new TypeError('batchPacked: messages must be a Buffer');
    if (!Array.isArray(ops)) throw new TypeError('batchPacked: ops must be an array');
    const count = countMessages(messages, 'batchPacked');
    if (ops.length !== count) {
      throw new RangeError(
        `batchPacked: ops must have one entry per message, got ${ops.length} for ${count} messages`,
      );
    }
    return this.#sendBatch(messages, ops.map(checkOperation));
  }
  /** Keeps the process alive while the socket is open, even with nothing pending. */
  ref(): this {
    if (!this.#closed) this.#native.ref();
    return this;
  }

  /** Lets the process exit while nothing is pending, also for an event socket. */
  unref(): this {
    if (!this.#closed) this.#native.unref();
    return this;
  }

  /** Returns whether the socket currently keeps the event loop alive. */
  hasRef(): boolean {
    return !this.#closed && this.#native.hasRef();
  }

  /**
   * Closes the socket. Pending requests reject with NetlinkError kind `closed` (ECANCELED)
   * and batch items resolve with it. Closing again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    this.#pending.clear();
  }

  #send(message: Buffer, op: NetlinkOperation, dump: boolean): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.reject(closedError(op, true));

    const sequence = this.#native.request(message, dump);
    this.#traceSend(dump, message, op);
    if (sequence === 0) {
      this.#traceAck(message);
      return acknowledged;
    }
    if (sequence < 0) return Promise.reject(sendError(-sequence, op));

    return new Promise((resolve, reject) => {
      this.#pending.set(sequence, { resolve, reject, op });
    });
  }

  #sendBatch(messages: Buffer, operations: NetlinkOperation[]): Promise<NetlinkBatchResult[]> {
    if (this.#closed) {
      return Promise.resolve(
        operations.map((op) => ({ ok: false as const, error: closedError(op, true) })),
      );
    }
    if (operations.length === 0) return Promise.resolve([]);

    const sequences = this.#native.batch(messages);
    if (sequences === null) {
      if (this.#trace !== undefined)
        this.#traceBatch(messages, new Float64Array(operations.length), operations);
      return Promise.resolve(new Array(operations.length).fill(acknowledgedItem));
    }
    if (this.#trace !== undefined) this.#traceBatch(messages, sequences, operations);
    const results = new Array<NetlinkBatchResult>(sequences.length);
    let remaining = 0;
    for (let index = 0; index < sequences.length; index++) {
      const sequence = sequences[index] as number;
      if (sequence === 0) {
        results[index] = acknowledgedItem;
      } else if (sequence < 0) {
        results[index] = {
          ok: false,
          error: sendError(-sequence, operations[index] as NetlinkOperation),
        };
      } else {
        remaining += 1;
      }
    }
    if (remaining === 0) return Promise.resolve(results);

    return new Promise((resolve) => {
      const settle = (index: number, result: NetlinkBatchResult) => {
        results[index] = result;
        remaining -= 1;
        if (remaining === 0) resolve(results);
      };
      sequences.forEach((sequence, index) => {
        if (sequence <= 0) return;
        this.#pending.set(sequence, {
          resolve: (payload) => settle(index, { ok: true, payload }),
          reject: (error) => settle(index, { ok: false, error }),
          op: operations[index] as NetlinkOperation,
        });
      });
    });
  }

  // Traces each message of a batch, and the ack of each the addon completed in batch().
  #traceBatch(messages: Buffer, sequences: Float64Array, operations: NetlinkOperation[]): void {
    let offset = 0;
    sequences.forEach((sequence, index) => {
      const length = readU32(messages, offset);
      const message = messages.subarray(offset, offset + length);
      this.#traceSend(false, message, operations[index] as NetlinkOperation);
      if (sequence === 0) this.#traceAck(message);
      offset += align4(length);
    });
  }

  // The addon has written the sequence number into the message by now.
  #traceSend(dump: boolean, message: Buffer, op: NetlinkOperation): void {
    if (this.#trace === undefined) return;
    this.#trace({
      type: 'send',
      portId: this.portId,
      sequence: readU32(message, 8),
      dump,
      message,
      op,
    });
  }

  // Traces a request the addon completed inside request() or batch(): its ack was already
  // queued when sendmsg returned, which the addon reports as sequence number 0.
  #traceAck(message: Buffer): void {
    if (this.#trace === undefined) return;
    this.#trace({
      type: 'reply',
      portId: this.portId,
      sequence: readU32(message, 8),
      status: 'Ok',
      errno: 0,
      payload: undefined,
      extackMessage: undefined,
    });
  }

  #replyError(
    status: NativeStatus,
    errno: number,
    op: NetlinkOperation,
    extackMessage: string | undefined,
    extackOffset: number,
  ): NetlinkError {
    switch (status) {
      case NativeStatus.DumpInterrupted:
        return new DumpInterruptedError({ ...op, attempts: this.#dumpAttempts });
      case NativeStatus.Closed:
        return closedError(op);
      case NativeStatus.SocketError:
        return new NetlinkError({ kind: 'socket', errno, syscall: 'recvmsg', ...op });
      default:
        return new NetlinkError({
          kind: 'kernel',
          errno,
          ...op,
          ...(extackMessage !== undefined && { extackMessage }),
          ...(extackOffset >= 0 && { extackOffset }),
        });
    }
  }
}

/** The fix for a request made after close, also given by Rtnl. */
export const REOPEN_HINT = 'open a new handle with Rtnl.open';

function closedError(op: NetlinkOperation, unsent = false): NetlinkError {
  return new NetlinkError({
    kind: 'closed',
    errno: ECANCELED,
    ...op,
    ...(unsent && { unsent, hint: REOPEN_HINT }),
  });
}

function sendError(errno: number, op: NetlinkOperation): NetlinkError {
  return new NetlinkError({ kind: 'socket', errno, syscall: 'sendmsg', ...op });
}

// `index` names a batch item; the text for errors is built only when one is raised.
function checkMessage(message: unknown, where: string, index?: number): asserts message is Buffer {
  if (!Buffer.isBuffer(message)) {
    throw new TypeError(`${itemName(where, index)}: message must be a Buffer`);
  }
  const buffer = message;
  const length = buffer.length >= HEADER_SIZE ? readU32(buffer, 0) : 0;
  if (buffer.length < HEADER_SIZE || length !== buffer.length) {
    throw new RangeError(
      `${itemName(where, index)}: message must be one netlink message whose nlmsg_len (${length}) equals its size (${buffer.length} bytes)`,
    );
  }
}

function itemName(where: string, index: number | undefined): string {
  return index === undefined ? where : `${where}[${index}]`;
}

// Counts the messages of a packed batch, checking each header as the addon does.
function countMessages(buffer: Buffer, where: string): number {
  let count = 0;
  for (let offset = 0; offset < buffer.length; count++) {
    const length = buffer.length - offset >= HEADER_SIZE ? readU32(buffer, offset) : 0;
    if (length < HEADER_SIZE || length > buffer.length - offset) {
      throw new RangeError(
        `${where}: the message at offset ${offset} of ${buffer.length} bytes is truncated or its nlmsg_len (${length}) is invalid`,
      );
    }
    offset += align4(length);
  }
  return count;
}

function checkOperation(op: NetlinkOperation | undefined): NetlinkOperation {
  if (op === undefined) return unnamedOperation;
  if (typeof op !== 'object' || op === null || typeof op.operation !== 'string') {
    throw new TypeError('op must be { operation: string, object?: string }');
  }
  if (op.object !== undefined && typeof op.object !== 'string') {
    throw new TypeError('op.object must be a string when given');
  }
  return op;
}

function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${String(value)}`);
  }
  if (value < min || value > max)
    throw new RangeError(`${what} must be ${min} to ${max}, got ${value}`);
  return value;
}

function checkGroups(groups: readonly number[]): number[] {
  if (!Array.isArray(groups)) throw new TypeError('groups must be an array of RTNLGRP_* numbers');
  return groups.map((group) => checkInteger(group, 'group', 1, MAX_GROUP));
}

function checkFunction<T>(value: T | undefined, what: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new TypeError(`${what} must be a function`);
  return value;
}

// FSTACK_KNI_NLDEBUG=1 prints one line per request, reply and event message; =2 adds hex.
function traceFromEnvironment(): ((record: NetlinkTraceRecord) => void) | undefined {
  const setting = process.env.FSTACK_KNI_NLDEBUG;
  if (setting === undefined || setting === '' || setting === '0') return undefined;
  const withHex = setting === '2';

  return (record) => {
    const prefix = `fstack-kni netlink [port ${record.portId}]`;
    const lines: string[] = [];
    switch (record.type) {
      case 'send': {
        const what =
          record.op.object === undefined
            ? record.op.operation
            : `${record.op.operation} ${record.op.object}`;
        lines.push(`${prefix} send seq ${record.sequence}${record.dump ? ' dump' : ''}: ${what}`);
        lines.push(...describeMessages(record.message, withHex));
        break;
      }
      case 'reply':
        lines.push(
          `${prefix} reply seq ${record.sequence}: ${record.status} errno ${record.errno}` +
            (record.extackMessage === undefined ? '' : ` extack "${record.extackMessage}"`),
        );
        if (record.payload !== undefined) lines.push(...describeMessages(record.payload, withHex));
        break;
      case 'event':
        lines.push(`${prefix} events`, ...describeMessages(record.messages, withHex));
        break;
      case 'overflow':
        lines.push(`${prefix} overflow: the kernel dropped messages (ENOBUFS)`);
        break;
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  };
}

function describeMessages(buffer: Buffer, withHex: boolean): string[] {
  const lines: string[] = [];
  let offset = 0;
  while (offset + HEADER_SIZE <= buffer.length) {
    const length = readU32(buffer, offset);
    if (length < HEADER_SIZE || offset + length > buffer.length) {
      lines.push(`  malformed message at offset ${offset} (nlmsg_len ${length})`);
      break;
    }
    const flags = readU16(buffer, offset + 6);
    lines.push(
      `  len ${length} type ${readU16(buffer, offset + 4)} flags 0x${flags.toString(16)}` +
        ` seq ${readU32(buffer, offset + 8)} pid ${readU32(buffer, offset + 12)}`,
    );
    if (withHex) lines.push(`  ${buffer.subarray(offset, offset + length).toString('hex')}`);
    offset += (length + 3) & ~3;
  }
  return lines;
}
