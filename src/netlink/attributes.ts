// Netlink attributes (struct nlattr): an encoder that writes them into one growing buffer and
// a decoder that walks them in place.
//
// Layout of one attribute (linux/netlink.h):
//
//   <------- NLA_HDRLEN ------> <-- NLA_ALIGN(payload) -->
//  +---------------------+- - -+- - - - - - - - - -+- - -+
//  | nla_len | nla_type  | Pad |      Payload      | Pad |
//  +---------------------+- - -+- - - - - - - - - -+- - -+
//   <-------------- nla_len -------------------->
//
// nla_len counts header and payload but not the trailing padding. The top two bits of
// nla_type are flags: NLA_F_NESTED (payload is attributes) and NLA_F_NET_BYTEORDER (payload
// integer is big endian). Integers are otherwise in host byte order.
import { endianness } from 'node:os';
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';

const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** Rounds a length up to the 4-byte alignment of netlink messages and attributes. */
export function align4(length: number): number {
  return (length + 3) & ~3;
}

/** Bytes an attribute with `payloadLength` bytes of payload takes, padding included. */
export function attributeSize(payloadLength: number): number {
  return align4(NLA_HDRLEN + payloadLength);
}

/**
 * Malformed netlink data: a length field that points past the end of its container, or a
 * value too short for its type. `offset` is the byte offset in the decoded buffer.
 */
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';

  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

// --- Host byte order access ---

// writeU16 and writeU32 store bytes one by one when the value and offset are valid. On
// Node 20 that costs a fraction of Buffer.writeUInt16LE and writeUInt32LE, which check
// every argument again. Anything else goes to the Buffer method, which raises the same
// RangeError as before.

export function writeU16(buffer: Buffer, value: number, offset: number): void {
  if (
    value >= 0 &&
    value <= 0xffff &&
    Number.isInteger(value) &&
    Number.isInteger(offset) &&
    offset >= 0 &&
    offset + 2 <= buffer.length
  ) {
    buffer[offset] = HOST_LITTLE_ENDIAN ? value : value >>> 8;
    buffer[offset + 1] = HOST_LITTLE_ENDIAN ? value >>> 8 : value;
    return;
  }
  if (HOST_LITTLE_ENDIAN) buffer.writeUInt16LE(value, offset);
  else buffer.writeUInt16BE(value, offset);
}

export function writeU32(buffer: Buffer, value: number, offset: number): void {
  const unsigned = value >>> 0;
  if (Number.isInteger(offset) && offset >= 0 && offset + 4 <= buffer.length) {
    if (HOST_LITTLE_ENDIAN) {
      buffer[offset] = unsigned;
      buffer[offset + 1] = unsigned >>> 8;
      buffer[offset + 2] = unsigned >>> 16;
      buffer[offset + 3] = unsigned >>> 24;
    } else {
      buffer[offset] = unsigned >>> 24;
      buffer[offset + 1] = unsigned >>> 16;
      buffer[offset + 2] = unsigned >>> 8;
      buffer[offset + 3] = unsigned;
    }
    return;
  }
  if (HOST_LITTLE_ENDIAN) buffer.writeUInt32LE(unsigned, offset);
  else buffer.writeUInt32BE(unsigned, offset);
}

export function writeS32(buffer: Buffer, value: number, offset: number): void {
  if (HOST_LITTLE_ENDIAN) buffer.writeInt32LE(value, offset);
  else buffer.writeInt32BE(value, offset);
}

export function readHostU16(buffer: Buffer, offset: number): number {
  return HOST_LITTLE_ENDIAN ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset);
}

export function readHostU32(buffer: Buffer, offset: number): number {
  return HOST_LITTLE_ENDIAN ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset);
}

export function readHostS32(buffer: Buffer, offset: number): number {
  return HOST_LITTLE_ENDIAN ? buffer.readInt32LE(offset) : buffer.readInt32BE(offset);
}

// --- Encoder ---

const MAX_ATTRIBUTE_LENGTH = 0xffff;

/**
 * Returns `size` zero bytes. Small sizes come from Node's shared buffer pool, which costs
 * about a quarter of Buffer.alloc for a 128-byte request.
 */
function zeroed(size: number): Buffer {
  return Buffer.allocUnsafe(size).fill(0);
}

/**
 * Writes netlink data into a zero-filled buffer that doubles when full, so padding and
 * reserved struct fields are zero without extra writes. Subclasses add a message header.
 */
export class AttributeWriter {
  protected buffer: Buffer;
  protected length = 0;

  constructor(capacity = 128) {
    this.buffer = zeroed(capacity);
  }

  /** Number of bytes written so far, padding included. */
  get size(): number {
    return this.length;
  }

  /** Reserves `size` zeroed bytes (rounded up to 4) and returns their offset. */
  reserve(size: number): number {
    const offset = this.length;
    this.ensure(align4(size));
    this.length += align4(size);
    return offset;
  }

  setU8(offset: number, value: number): void {
    this.buffer[offset] = value;
  }

  setU16(offset: number, value: number): void {
    writeU16(this.buffer, value, offset);
  }

  setU32(offset: number, value: number): void {
    writeU32(this.buffer, value, offset);
  }

  setS32(offset: number, value: number): void {
    writeS32(this.buffer, value, offset);
  }

  /** Writes an attribute without payload (a flag). */
  flag(type: number): this {
    this.header(type, 0);
    return this;
  }

  u8(type: number, value: number): this {
    const offset = this.header(type, 1);
    this.buffer[offset] = value;
    this.length += 4;
    return this;
  }

  u16(type: number, value: number): this {
    const offset = this.header(type, 2);
    writeU16(this.buffer, value, offset);
    this.length += 4;
    return this;
  }

  /** Writes a 16-bit value in network byte order and sets NLA_F_NET_BYTEORDER. */
  be16(type: number, value: number): this {
    const offset = this.header(type | NLA_F_NET_BYTEORDER, 2);
    this.buffer.writeUInt16BE(value, offset);
    this.length += 4;
    return this;
  }

  u32(type: number, value: number): this {
    const offset = this.header(type, 4);
    writeU32(this.buffer, value, offset);
    this.length += 4;
    return this;
  }

  s32(type: number, value: number): this {
    const offset = this.header(type, 4);
    writeS32(this.buffer, value, offset);
    this.length += 4;
    return this;
  }

  /** Writes a NUL-terminated UTF-8 string, as the kernel's NLA_STRING and NLA_NUL_STRING expect. */
  string(type: number, value: string): this {
    const byteLength = Buffer.byteLength(value);
    const offset = this.header(type, byteLength + 1);
    this.buffer.write(value, offset, byteLength, 'utf8');
    this.length += align4(byteLength + 1);
    return this;
  }

  bytes(type: number, value: Uint8Array): this {
    const offset = this.header(type, value.length);
    // A loop beats TypedArray.prototype.set on the 4- to 16-byte addresses most attributes carry.
    if (value.length <= 16) {
      for (let i = 0; i < value.length; i++) this.buffer[offset + i] = value[i] as number;
    } else {
      this.buffer.set(value, offset);
    }
    this.length += align4(value.length);
    return this;
  }

  /** Writes a 4-byte IPv4 address given as a number, the first byte highest (parseIPv4Value). */
  ipv4(type: number, value: number): this {
    const offset = this.header(type, 4);
    this.buffer[offset] = value >>> 24;
    this.buffer[offset + 1] = value >>> 16;
    this.buffer[offset + 2] = value >>> 8;
    this.buffer[offset + 3] = value;
    this.length += 4;
    return this;
  }

  /** Writes an attribute with `size` zeroed payload bytes (a struct) and returns the payload offset. */
  attributeStruct(type: number, size: number): number {
    const offset = this.header(type, size);
    this.length += align4(size);
    return offset;
  }

  /**
   * Starts an attribute whose payload follows until `endNested`. `nestedFlag` sets
   * NLA_F_NESTED. Leave it off for payloads that start with a struct (VETH_INFO_PEER).
   * Returns the offset to pass to `endNested`.
   */
  beginNested(type: number, nestedFlag = true): number {
    const start = this.length;
    this.header(nestedFlag ? type | NLA_F_NESTED : type, 0);
    return start;
  }

  /** Closes an attribute opened by `beginNested` by writing its final length. */
  endNested(start: number): void {
    const attributeLength = this.length - start;
    if (attributeLength > MAX_ATTRIBUTE_LENGTH) {
      throw new RangeError(
        `nested attribute of ${attributeLength} bytes exceeds the 65535-byte limit`,
      );
    }
    writeU16(this.buffer, attributeLength, start);
  }

  /**
   * Writes an attribute header for a payload of `payloadLength` bytes, makes room for the
   * padded payload, and returns the payload offset. Callers advance `length` past the payload.
   */
  private header(type: number, payloadLength: number): number {
    const attributeLength = NLA_HDRLEN + payloadLength;
    if (attributeLength > MAX_ATTRIBUTE_LENGTH) {
      throw new RangeError(`attribute of ${attributeLength} bytes exceeds the 65535-byte limit`);
    }
    this.ensure(align4(attributeLength));

    const offset = this.length;
    writeU16(this.buffer, attributeLength, offset);
    writeU16(this.buffer, type, offset + 2);
    this.length += NLA_HDRLEN;
    return offset + NLA_HDRLEN;
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;

    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = zeroed(capacity);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

// --- Decoder ---

/**
 * Walks the attributes in `buffer[start, end)` in place. After each successful `next()`,
 * `type` holds the attribute type without flag bits and `offset`/`length` the payload.
 * Fewer than 4 bytes left at the end are taken as padding. An attribute whose length is
 * below the header size or runs past `end` raises NetlinkDecodeError.
 *
 *   for (const attribute = new AttributeIterator(buffer, start, end); attribute.next(); ) {
 *     switch (attribute.type) { ... default: break; // unknown types are skipped }
 *   }
 */
export class AttributeIterator {
  /** Attribute type, NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off. */
  type = 0;
  /** NLA_F_NESTED was set. */
  nested = false;
  /** NLA_F_NET_BYTEORDER was set: integers in the payload are big endian. */
  netByteOrder = false;
  /** Payload offset in the buffer. */
  offset = 0;
  /** Payload length, padding excluded. */
  length = 0;

  private position: number;

  constructor(
    readonly buffer: Buffer,
    start: number,
    private readonly end: number,
  ) {
    if (start < 0 || end > buffer.length || start > end) {
      throw new NetlinkDecodeError(
        `attribute range ${start}-${end} lies outside a ${buffer.length}-byte buffer`,
        start,
      );
    }
    this.position = start;
  }

  /** Advances to the next attribute and returns false when none is left. */
  next(): boolean {
    const remaining = this.end - this.position;
    if (remaining < NLA_HDRLEN) return false;

    const at = this.position;
    const attributeLength = readHostU16(this.buffer, at);
    const rawType = readHostU16(this.buffer, at + 2);
    if (attributeLength < NLA_HDRLEN) {
      throw new NetlinkDecodeError(
        `attribute type ${rawType & NLA_TYPE_MASK} has invalid length ${attributeLength}`,
        at,
      );
    }
    if (attributeLength > remaining) {
      throw new NetlinkDecodeError(
        `attribute type ${rawType & NLA_TYPE_MASK} is truncated: length ${attributeLength}, ${remaining} bytes left`,
        at,
      );
    }

    this.type = rawType & NLA_TYPE_MASK;
    this.nested = (rawType & NLA_F_NESTED) !== 0;
    this.netByteOrder = (rawType & NLA_F_NET_BYTEORDER) !== 0;
    this.offset = at + NLA_HDRLEN;
    this.length = attributeLength - NLA_HDRLEN;
    // The last attribute may lack its trailing padding.
    this.position = Math.min(at + align4(attributeLength), this.end);
    return true;
  }

  /** Iterator over the attributes nested in the current payload. */
  nestedAttributes(): AttributeIterator {
    return new AttributeIterator(this.buffer, this.offset, this.offset + this.length);
  }

  u8(): number {
    this.need(1, 'u8');
    return this.buffer[this.offset] as number;
  }

  u16(): number {
    this.need(2, 'u16');
    return this.netByteOrder
      ? this.buffer.readUInt16BE(this.offset)
      : readHostU16(this.buffer, this.offset);
  }

  u32(): number {
    this.need(4, 'u32');
    return this.netByteOrder
      ? this.buffer.readUInt32BE(this.offset)
      : readHostU32(this.buffer, this.offset);
  }

  s32(): number {
    this.need(4, 's32');
    return this.netByteOrder
      ? this.buffer.readInt32BE(this.offset)
      : readHostS32(this.buffer, this.offset);
  }

  /** Payload as text up to the first NUL (or the whole payload when it has none). */
  string(): string {
    const terminator = this.buffer.indexOf(0, this.offset);
    const stop =
      terminator < 0 || terminator > this.offset + this.length
        ? this.offset + this.length
        : terminator;
    return this.buffer.toString('utf8', this.offset, stop);
  }

  /** Payload as a view into the buffer (not a copy). */
  bytes(): Buffer {
    return this.buffer.subarray(this.offset, this.offset + this.length);
  }

  /** Payload as a view, checked to be an IPv4 (4 bytes) or IPv6 (16 bytes) address. */
  ipBytes(): Buffer {
    if (this.length !== 4 && this.length !== 16) {
      throw new NetlinkDecodeError(
        `attribute type ${this.type} is ${this.length} bytes, not an IPv4 or IPv6 address`,
        this.offset,
      );
    }
    return this.bytes();
  }

  private need(size: number, typeName: string): void {
    if (this.length < size) {
      throw new NetlinkDecodeError(
        `attribute type ${this.type} is ${this.length} bytes, too short for ${typeName}`,
        this.offset,
      );
    }
  }
}

/** One decoded attribute with its payload, for callers that keep unknown attributes raw. */
export interface Attribute {
  type: number;
  nested: boolean;
  netByteOrder: boolean;
  /** Payload view into the decoded buffer, padding excluded. */
  data: Buffer;
}

/** Decodes every attribute of `buffer[start, end)` into a list, unknown types included. */
export function parseAttributes(buffer: Buffer, start = 0, end = buffer.length): Attribute[] {
  const attributes: Attribute[] = [];
  for (const attribute = new AttributeIterator(buffer, start, end); attribute.next(); ) {
    attributes.push({
      type: attribute.type,
      nested: attribute.nested,
      netByteOrder: attribute.netByteOrder,
      data: attribute.bytes(),
    });
  }
  return attributes;
}
