// Hand-built rtnetlink messages and a small decoder for the transport tests, independent of
// the codec in src/netlink. Values come from linux/netlink.h, linux/rtnetlink.h and
// linux/if_addr.h; integers are in host byte order (little-endian on the machines we test).

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_DUMP = 0x300;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const IFLA_IFNAME = 3;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;

export const AF_UNSPEC = 0;
export const AF_INET = 2;

export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_IFADDR = 5;

export interface RawMessage {
  length: number;
  type: number;
  flags: number;
  sequence: number;
  portId: number;
  /** The bytes after the 16-byte header. */
  payload: Buffer;
}

const align = (n: number) => (n + 3) & ~3;

/** Builds one attribute with its padding. */
export function attribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(align(4 + value.length));
  out.writeUInt16LE(4 + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/** Builds one message; sequence and port id stay 0 for the socket to fill in. */
export function message(type: number, flags: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(16 + body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  body.copy(out, 16);
  return out;
}

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(index = 0): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt8(AF_UNSPEC, 0);
  out.writeInt32LE(index, 4);
  return out;
}

/** struct ifaddrmsg (8 bytes). */
export function ifaddrmsg(family: number, prefixLength: number, index: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt8(family, 0);
  out.writeUInt8(prefixLength, 1);
  out.writeUInt32LE(index, 4);
  return out;
}

export function ipv4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** RTM_GETLINK dump: `ip link show`. */
export function getLinksDump(): Buffer {
  return message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, ifinfomsg());
}

/** RTM_GETLINK for one index: `ip link show dev X`. */
export function getLink(index: number): Buffer {
  return message(RTM_GETLINK, NLM_F_REQUEST, ifinfomsg(index));
}

/** RTM_GETADDR dump of IPv4 addresses: `ip -4 address show`. */
export function getAddressesDump(): Buffer {
  return message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, ifaddrmsg(AF_INET, 0, 0));
}

/** RTM_NEWADDR: `ip address add ADDRESS/PREFIX dev INDEX` (fails with EEXIST if present). */
export function addAddress(
  index: number,
  address: string,
  prefixLength: number,
  extraFlags = 0,
): Buffer {
  return message(
    RTM_NEWADDR,
    NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | extraFlags,
    ifaddrmsg(AF_INET, prefixLength, index),
    attribute(IFA_LOCAL, ipv4(address)),
    attribute(IFA_ADDRESS, ipv4(address)),
  );
}

/** RTM_DELADDR: `ip address del ADDRESS/PREFIX dev INDEX`. */
export function deleteAddress(index: number, address: string, prefixLength: number): Buffer {
  return message(
    RTM_DELADDR,
    NLM_F_REQUEST,
    ifaddrmsg(AF_INET, prefixLength, index),
    attribute(IFA_LOCAL, ipv4(address)),
    attribute(IFA_ADDRESS, ipv4(address)),
  );
}

/** Splits messages back to back into their headers and payloads. */
export function parseMessages(buffer: Buffer): RawMessage[] {
  const messages: RawMessage[] = [];
  let offset = 0;
  while (offset + 16 <= buffer.length) {
    const length = buffer.readUInt32LE(offset);
    if (length < 16 || offset + length > buffer.length)
      throw new Error(`malformed message at offset ${offset}`);
    messages.push({
      length,
      type: buffer.readUInt16LE(offset + 4),
      flags: buffer.readUInt16LE(offset + 6),
      sequence: buffer.readUInt32LE(offset + 8),
      portId: buffer.readUInt32LE(offset + 12),
      payload: buffer.subarray(offset + 16, offset + length),
    });
    offset += align(length);
  }
  return messages;
}

/** Returns the attributes after a fixed-size header as a map from type to value. */
export function parseAttributes(payload: Buffer, headerSize: number): Map<number, Buffer> {
  const attributes = new Map<number, Buffer>();
  let offset = headerSize;
  while (offset + 4 <= payload.length) {
    const length = payload.readUInt16LE(offset);
    if (length < 4 || offset + length > payload.length) break;
    attributes.set(
      payload.readUInt16LE(offset + 2) & 0x3fff,
      payload.subarray(offset + 4, offset + length),
    );
    offset += align(length);
  }
  return attributes;
}

/** Names of the links in an RTM_GETLINK reply. */
export function linkNames(reply: Buffer): string[] {
  return parseMessages(reply)
    .filter((m) => m.type === RTM_NEWLINK)
    .map((m) => {
      const name = parseAttributes(m.payload, 16).get(IFLA_IFNAME);
      return name === undefined ? '' : name.subarray(0, name.indexOf(0)).toString();
    });
}

/** IPv4 address (IFA_LOCAL) with prefix length of an RTM_NEWADDR or RTM_DELADDR message. */
export function addressOf(message: RawMessage): string | undefined {
  if (
    (message.type !== RTM_NEWADDR && message.type !== RTM_DELADDR) ||
    message.payload[0] !== AF_INET
  ) {
    return undefined;
  }
  const local = parseAttributes(message.payload, 8).get(IFA_LOCAL);
  return `${local === undefined ? '?' : [...local].join('.')}/${message.payload[1]}`;
}

/** IPv4 addresses with prefix length in the RTM_NEWADDR messages of a reply. */
export function addresses(reply: Buffer): string[] {
  return parseMessages(reply)
    .filter((m) => m.type === RTM_NEWADDR)
    .map(addressOf)
    .filter((a): a is string => a !== undefined);
}
