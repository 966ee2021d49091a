// Netlink messages: the header (struct nlmsghdr), iteration over messages packed back to back,
// and the fixed rtnetlink headers that follow nlmsghdr (ifinfomsg, ifaddrmsg, rtmsg, ndmsg).
//
//  0               4       6       8              12             16
//  +---------------+-------+-------+--------------+--------------+----------------+------------
//  | nlmsg_len     | type  | flags | nlmsg_seq    | nlmsg_pid    | fixed header   | attributes
//  +---------------+-------+-------+--------------+--------------+----------------+------------
//
// Readers of fixed headers take the header length as a parameter: a kernel newer than these
// definitions may send a longer struct, and the attributes then start after it. Fields this
// code does not know are ignored.
import {
  AttributeWriter,
  align4,
  NetlinkDecodeError,
  readHostS32,
  readHostU16,
  readHostU32,
} from './attributes.js';
import {
  IFADDRMSG_SIZE,
  IFINFOMSG_SIZE,
  NDMSG_SIZE,
  NLM_F_REQUEST,
  NLMSG_ALIGNTO,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  RTMSG_SIZE,
} from './constants.js';

// --- Encoder ---

/**
 * Writes request messages back to back, each at a 4-byte aligned offset, as one sendmsg
 * carries them: begin(), the fixed header and attributes, end(), and so on. Sequence
 * number and port id stay zero because the transport fills them in when it sends.
 */
export class MessageWriter extends AttributeWriter {
  #start = -1;
  #count = 0;

  /** Number of messages ended or appended so far. */
  get count(): number {
    return this.#count;
  }

  /** Starts a message with its header. `flags` gets NLM_F_REQUEST added. */
  begin(type: number, flags: number): void {
    this.#start = this.reserve(NLMSG_HDRLEN);
    this.setU16(this.#start + 4, type);
    this.setU16(this.#start + 6, flags | NLM_F_REQUEST);
  }

  /** Ends the message begun last by writing its nlmsg_len; does nothing when none is open. */
  end(): void {
    if (this.#start < 0) return;
    this.setU32(this.#start, this.length - this.#start);
    this.#start = -1;
    this.#count += 1;
  }

  /** Appends a message encoded elsewhere, padded to 4 bytes. */
  append(message: Buffer): void {
    const at = this.reserve(message.length);
    message.copy(this.buffer, at);
    this.#count += 1;
  }

  /** Returns the messages written (the internal buffer or a view of it, no copy). */
  finish(): Buffer {
    return this.length === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.length);
  }
}

/** Builds one request message: the header, then whatever the caller reserves or appends. */
export class MessageBuilder extends MessageWriter {
  /** `flags` gets NLM_F_REQUEST added. */
  constructor(type: number, flags: number, capacity = 128) {
    super(capacity);
    this.begin(type, flags);
  }

  /** Writes nlmsg_len and returns the message (the internal buffer or a view of it, no copy). */
  override finish(): Buffer {
    this.end();
    return super.finish();
  }
}

/** Splits messages packed back to back, as MessageWriter writes them, into views of each. */
export function splitMessages(buffer: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let offset = 0; buffer.length - offset >= NLMSG_ALIGNTO; ) {
    const message = readMessageHeader(buffer, offset);
    messages.push(buffer.subarray(offset, offset + message.length));
    offset += align4(message.length);
  }
  return messages;
}

export interface IfinfomsgFields {
  family?: number;
  /** ARPHRD_* device type. */
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

/** Appends a struct ifinfomsg. */
export function writeIfinfomsg(writer: AttributeWriter, fields: IfinfomsgFields): void {
  const at = writer.reserve(IFINFOMSG_SIZE);
  writer.setU8(at, fields.family ?? 0);
  writer.setU16(at + 2, fields.type ?? 0);
  writer.setS32(at + 4, fields.index ?? 0);
  writer.setU32(at + 8, fields.flags ?? 0);
  writer.setU32(at + 12, fields.change ?? 0);
}

export interface IfaddrmsgFields {
  family: number;
  prefixLength?: number;
  flags?: number;
  scope?: number;
  index?: number;
}

/** Appends a struct ifaddrmsg. */
export function writeIfaddrmsg(writer: AttributeWriter, fields: IfaddrmsgFields): void {
  const at = writer.reserve(IFADDRMSG_SIZE);
  writer.setU8(at, fields.family);
  writer.setU8(at + 1, fields.prefixLength ?? 0);
  writer.setU8(at + 2, fields.flags ?? 0);
  writer.setU8(at + 3, fields.scope ?? 0);
  writer.setU32(at + 4, fields.index ?? 0);
}

export interface RtmsgFields {
  family: number;
  destinationLength?: number;
  sourceLength?: number;
  tos?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}

/** Appends a struct rtmsg. */
export function writeRtmsg(writer: AttributeWriter, fields: RtmsgFields): void {
  const at = writer.reserve(RTMSG_SIZE);
  writer.setU8(at, fields.family);
  writer.setU8(at + 1, fields.destinationLength ?? 0);
  writer.setU8(at + 2, fields.sourceLength ?? 0);
  writer.setU8(at + 3, fields.tos ?? 0);
  writer.setU8(at + 4, fields.table ?? 0);
  writer.setU8(at + 5, fields.protocol ?? 0);
  writer.setU8(at + 6, fields.scope ?? 0);
  writer.setU8(at + 7, fields.type ?? 0);
  writer.setU32(at + 8, fields.flags ?? 0);
}

export interface NdmsgFields {
  family: number;
  index?: number;
  state?: number;
  flags?: number;
  type?: number;
}

/** Appends a struct ndmsg. */
export function writeNdmsg(writer: AttributeWriter, fields: NdmsgFields): void {
  const at = writer.reserve(NDMSG_SIZE);
  writer.setU8(at, fields.family);
  writer.setS32(at + 4, fields.index ?? 0);
  writer.setU16(at + 8, fields.state ?? 0);
  writer.setU8(at + 10, fields.flags ?? 0);
  writer.setU8(at + 11, fields.type ?? 0);
}

// --- Decoder ---

/** One message located in a buffer, whose header starts at `offset`. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  sequence: number;
  portId: number;
  offset: number;
  /** nlmsg_len: header and payload, trailing padding excluded. */
  length: number;
}

/** Reads the header of the message at `offset`, checking that it fits in the buffer. */
export function readMessageHeader(buffer: Buffer, offset = 0): NetlinkMessage {
  const remaining = buffer.length - offset;
  if (remaining < NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(`message header is truncated: ${remaining} bytes left`, offset);
  }
  const length = readHostU32(buffer, offset);
  if (length < NLMSG_HDRLEN || length > remaining) {
    throw new NetlinkDecodeError(
      `message length ${length} is invalid, ${remaining} bytes left`,
      offset,
    );
  }
  return {
    length,
    type: readHostU16(buffer, offset + 4),
    flags: readHostU16(buffer, offset + 6),
    sequence: readHostU32(buffer, offset + 8),
    portId: readHostU32(buffer, offset + 12),
    offset,
  };
}

/**
 * Splits a buffer of messages packed back to back (a dump reply or a batch of events).
 * Control messages (NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN) are left out.
 */
export function parseMessages(buffer: Buffer): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  // Messages are 4-byte aligned, so fewer than 4 bytes at the end can only be padding.
  while (buffer.length - offset >= NLMSG_ALIGNTO) {
    const message = readMessageHeader(buffer, offset);
    if (message.type >= NLMSG_MIN_TYPE) messages.push(message);
    offset += align4(message.length);
  }
  return messages;
}

/**
 * Locates the fixed header and attributes of a message. Throws NetlinkDecodeError when the
 * payload is shorter than `minimumLength`, the part of the struct this code reads.
 */
export function messageBody(
  message: NetlinkMessage,
  headerLength: number,
  minimumLength: number,
  structName: string,
): { headerOffset: number; attributesOffset: number; end: number } {
  const headerOffset = message.offset + NLMSG_HDRLEN;
  const end = message.offset + message.length;
  const payloadLength = end - headerOffset;
  if (payloadLength < minimumLength) {
    throw new NetlinkDecodeError(
      `${structName} is truncated: ${payloadLength} bytes, need ${minimumLength}`,
      headerOffset,
    );
  }
  const attributesOffset = Math.min(headerOffset + align4(headerLength), end);
  return { headerOffset, attributesOffset, end };
}

export interface Ifinfomsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** Reads a struct ifinfomsg at `offset`. */
export function readIfinfomsg(buffer: Buffer, offset: number): Ifinfomsg {
  return {
    family: buffer[offset] as number,
    type: readHostU16(buffer, offset + 2),
    index: readHostS32(buffer, offset + 4),
    flags: readHostU32(buffer, offset + 8),
    change: readHostU32(buffer, offset + 12),
  };
}

export interface Ifaddrmsg {
  family: number;
  prefixLength: number;
  flags: number;
  scope: number;
  index: number;
}

/** Reads a struct ifaddrmsg at `offset`. */
export function readIfaddrmsg(buffer: Buffer, offset: number): Ifaddrmsg {
  return {
    family: buffer[offset] as number,
    prefixLength: buffer[offset + 1] as number,
    flags: buffer[offset + 2] as number,
    scope: buffer[offset + 3] as number,
    index: readHostU32(buffer, offset + 4),
  };
}

export interface Rtmsg {
  family: number;
  destinationLength: number;
  sourceLength: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

/** Reads a struct rtmsg at `offset`. */
export function readRtmsg(buffer: Buffer, offset: number): Rtmsg {
  return {
    family: buffer[offset] as number,
    destinationLength: buffer[offset + 1] as number,
    sourceLength: buffer[offset + 2] as number,
    tos: buffer[offset + 3] as number,
    table: buffer[offset + 4] as number,
    protocol: buffer[offset + 5] as number,
    scope: buffer[offset + 6] as number,
    type: buffer[offset + 7] as number,
    flags: readHostU32(buffer, offset + 8),
  };
}

export interface Ndmsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}

/** Reads a struct ndmsg at `offset`. */
export function readNdmsg(buffer: Buffer, offset: number): Ndmsg {
  return {
    family: buffer[offset] as number,
    index: readHostS32(buffer, offset + 4),
    state: readHostU16(buffer, offset + 8),
    flags: buffer[offset + 10] as number,
    type: buffer[offset + 11] as number,
  };
}

/** Sizes of the fixed headers as this code knows them, the default header lengths. */
export const FIXED_HEADER = {
  ifinfomsg: IFINFOMSG_SIZE,
  ifaddrmsg: IFADDRMSG_SIZE,
  rtmsg: RTMSG_SIZE,
  ndmsg: NDMSG_SIZE,
} as const;
