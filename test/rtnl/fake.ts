// A transport that records requests and answers them from a handler, for tests without a kernel.
import { constants } from 'node:os';
import { readMessageHeader } from '../../src/netlink/message.js';
import type { BatchOutcome, Operation, RtnlTransport } from '../../src/rtnl/transport.js';

export interface Sent {
  kind: 'request' | 'dump' | 'batch';
  /** nlmsg_type of the message. */
  type: number;
  message: Buffer;
  op: Operation;
}

/** Answers one message: reply payload, undefined for an ack, or an Error to reject with. */
export type Answer = (message: Buffer, op: Operation) => Buffer | undefined | Error;

export class FakeTransport implements RtnlTransport {
  readonly sent: Sent[] = [];
  /** Number of batch() calls, one per sendmsg the real transport would make. */
  batches = 0;
  closed = false;

  constructor(private readonly answer: Answer = () => undefined) {}

  async request(message: Buffer, op: Operation): Promise<Buffer | undefined> {
    const reply = this.record('request', message, op);
    if (reply instanceof Error) throw reply;
    return reply;
  }

  async dump(message: Buffer, op: Operation): Promise<Buffer> {
    const reply = this.record('dump', message, op);
    if (reply instanceof Error) throw reply;
    return reply ?? Buffer.alloc(0);
  }

  async batch(
    requests: ReadonlyArray<{ message: Buffer; op: Operation }>,
  ): Promise<BatchOutcome[]> {
    this.batches++;
    return requests.map(({ message, op }) => {
      const reply = this.record('batch', message, op);
      if (reply instanceof Error) return { ok: false, error: reply };
      return reply === undefined ? { ok: true } : { ok: true, payload: reply };
    });
  }

  close(): void {
    this.closed = true;
  }

  private record(kind: Sent['kind'], message: Buffer, op: Operation): Buffer | undefined | Error {
    const copy = Buffer.from(message);
    this.sent.push({ kind, type: readMessageHeader(copy).type, message: copy, op });
    return this.answer(copy, op);
  }
}

/**
 * A FakeTransport that also takes batches packed into one buffer, as NetlinkSocket does.
 * It records each message of a packed batch as batch() would.
 */
export class PackedFakeTransport extends FakeTransport {
  /** Number of batchPacked() calls. */
  packedBatches = 0;

  batchPacked(messages: Buffer, ops: readonly Operation[]): Promise<BatchOutcome[]> {
    this.packedBatches++;
    const requests: Array<{ message: Buffer; op: Operation }> = [];
    for (let offset = 0; offset < messages.length; ) {
      const length = messages.readUInt32LE(offset);
      const op = ops[requests.length];
      if (length < 16 || offset + length > messages.length || op === undefined) {
        throw new RangeError(
          `invalid packed batch: the message at offset ${offset} is truncated or has no operation`,
        );
      }
      requests.push({ message: messages.subarray(offset, offset + length), op });
      offset += (length + 3) & ~3;
    }
    if (requests.length !== ops.length) {
      throw new RangeError(
        `invalid packed batch: ${ops.length} operations for ${requests.length} messages`,
      );
    }
    return this.batch(requests);
  }
}

/** A kernel-style error with errno and code, as the transport raises them. */
export function kernelError(code: 'ENODEV' | 'EEXIST' | 'ENOENT', op: Operation): Error {
  const error = new Error(`${op.operation} ${op.object}: ${code}`) as Error & {
    errno: number;
    code: string;
  };
  error.errno = constants.errno[code];
  error.code = code;
  return error;
}

/** Builds an RTM_NEWLINK reply for a link with `index` and `name`. */
export function linkReply(index: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const attributeLength = 4 + nameBytes.length;
  const total = 16 + 16 + ((attributeLength + 3) & ~3);
  const buffer = Buffer.alloc(total);
  buffer.writeUInt32LE(total, 0);
  buffer.writeUInt16LE(16, 4);
  buffer.writeInt32LE(index, 20);
  buffer.writeUInt16LE(attributeLength, 32);
  buffer.writeUInt16LE(3, 34);
  nameBytes.copy(buffer, 36);
  return buffer;
}

/** Reads IFLA_IFNAME from a link request, or undefined when it names the link by index. */
export function requestedLinkName(message: Buffer): string | undefined {
  let offset = 32;
  while (offset + 4 <= message.length) {
    const length = message.readUInt16LE(offset);
    const type = message.readUInt16LE(offset + 2) & 0x3fff;
    if (type === 3) return message.toString('utf8', offset + 4, offset + length - 1);
    offset += (length + 3) & ~3;
  }
  return undefined;
}
