// Interface addresses: RTM_NEWADDR, RTM_DELADDR and RTM_GETADDR requests, decoding into
// Address, and AddressService.

import { formatIp, parseIPv4Value } from '../net/ip.js';
import { AttributeIterator, attributeSize, readHostU32 } from '../netlink/attributes.js';
import {
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_CACHEINFO_SIZE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_SIZE,
  IFNAMSIZ,
  INFINITY_LIFE_TIME,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLMSG_HDRLEN,
  RT_SCOPE_HOST,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from '../netlink/constants.js';
import {
  MessageBuilder,
  MessageWriter,
  messageBody,
  type NetlinkMessage,
  parseMessages,
  readIfaddrmsg,
  writeIfaddrmsg,
} from '../netlink/message.js';
import {
  checkFamily,
  checkInteger,
  checkIp,
  checkLinkRef,
  checkObject,
  checkPrefixLength,
  describe,
  describeLink,
  familyNumber,
  type LinkRef,
} from './arguments.js';
import { resolveLinkIndex } from './link.js';
import { scopes } from './names.js';
import type { EncodedRequest, Operation, RtnlTransport } from './transport.js';
import type { Address, AddressSpec, Family } from './types.js';

/** Filters of an address listing. Each one set is sent to the kernel and applied again here. */
export interface AddressFilter {
  /** Only addresses on this link (index or name). */
  link?: LinkRef;
  family?: Family;
}

/**
 * An address as an attribute carries it: an IPv4 address as a number (see parseIPv4Value),
 * which spares a Uint8Array per request, and an IPv6 address as its 16 bytes.
 */
export type AddressBytes = number | Uint8Array;

/** An AddressSpec after checking: bytes parsed, numbers resolved, defaults filled in. */
export interface CheckedAddress {
  link: LinkRef;
  family: Family;
  local: AddressBytes;
  prefixLength: number;
  peer?: AddressBytes;
  broadcast?: AddressBytes;
  label?: string;
  scope: number;
  flags: number;
  /** Both set, or neither for a permanent address. */
  validLifetime?: number;
  preferredLifetime?: number;
  /** `ADDR/PLEN` for messages. */
  text: string;
}

// --- Checking and encoding ---

/** Checks an IPv4 address label: 1-15 bytes without NUL, such as `veth0` or `veth0:kni`. */
function checkLabel(label: unknown): string {
  if (typeof label !== 'string')
    throw new TypeError(`address label must be a string, got ${describe(label)}`);
  const bytes = Buffer.byteLength(label);
  if (bytes === 0 || bytes > IFNAMSIZ - 1) {
    throw new RangeError(
      `address label ${JSON.stringify(label)} must have 1-${IFNAMSIZ - 1} bytes, has ${bytes}`,
    );
  }
  if (label.includes('\0'))
    throw new TypeError(`address label ${JSON.stringify(label)} must not contain NUL`);
  return label;
}

/** Checks IP address text as checkIp does; returns an IPv4 address as a number. */
function checkAddressBytes(text: unknown, valueName: string, family?: Family): AddressBytes {
  const value = typeof text === 'string' && family !== 6 ? parseIPv4Value(text) : -1;
  return value >= 0 ? value : checkIp(text, valueName, family).bytes;
}

/** Checks an AddressSpec. Raises TypeError or RangeError naming the bad value. */
export function checkAddressSpec(spec: unknown): CheckedAddress {
  const fields = checkObject(spec, 'address spec');
  const link = checkLinkRef(fields.link);
  const local = checkAddressBytes(fields.address, 'address');
  const family = typeof local === 'number' ? 4 : 6;
  const prefixLength = checkPrefixLength(fields.prefixLength, family);
  const checked: CheckedAddress = {
    link,
    family,
    local,
    prefixLength,
    scope: RT_SCOPE_UNIVERSE,
    flags: 0,
    // Only the canonical dotted quad parses as IPv4, so its text needs no formatting.
    text: `${typeof local === 'number' ? (fields.address as string) : formatIp(local)}/${prefixLength}`,
  };

  if (fields.peer !== undefined) checked.peer = checkAddressBytes(fields.peer, 'peer', family);
  if (fields.broadcast !== undefined) {
    if (family !== 4)
      throw new RangeError(
        `broadcast ${String(fields.broadcast)} is only valid for an IPv4 address, not ${checked.text}`,
      );
    checked.broadcast = checkAddressBytes(fields.broadcast, 'broadcast', 4);
  }
  if (fields.label !== undefined) {
    if (family !== 4)
      throw new RangeError(
        `label ${String(fields.label)} is only valid for an IPv4 address, not ${checked.text}`,
      );
    checked.label = checkLabel(fields.label);
  }

  // As `ip` does: IPv4 loopback addresses default to host scope, everything else to universe.
  if (fields.scope !== undefined) checked.scope = scopes.number(fields.scope);
  else if (typeof local === 'number' && local >>> 24 === 127) checked.scope = RT_SCOPE_HOST;

  if (fields.flags !== undefined)
    checked.flags = checkInteger(fields.flags, 'address flags', 0, 0xffffffff);

  if (fields.validLifetime !== undefined || fields.preferredLifetime !== undefined) {
    const valid =
      fields.validLifetime === undefined
        ? INFINITY_LIFE_TIME
        : checkInteger(fields.validLifetime, 'valid lifetime', 1, INFINITY_LIFE_TIME);
    const preferred =
      fields.preferredLifetime === undefined
        ? INFINITY_LIFE_TIME
        : checkInteger(fields.preferredLifetime, 'preferred lifetime', 0, INFINITY_LIFE_TIME);
    if (preferred > valid) {
      throw new RangeError(
        `preferred lifetime ${preferred} of ${checked.text} exceeds its valid lifetime ${valid}`,
      );
    }
    checked.validLifetime = valid;
    checked.preferredLifetime = preferred;
  }
  return checked;
}

/**
 * Encodes RTM_NEWADDR (add or replace) or RTM_DELADDR for a checked address on link `index`.
 * IFA_LOCAL carries the address and IFA_ADDRESS the peer, or the address again.
 */
export function encodeAddress(
  type: number,
  flags: number,
  address: CheckedAddress,
  index: number,
): Buffer {
  const writer = new MessageWriter(addressMessageSize(type, address));
  writeAddress(writer, type, flags, address, index);
  return writer.finish();
}

/** Writes the message encodeAddress returns into `writer`, after the messages already in it. */
export function writeAddress(
  writer: MessageWriter,
  type: number,
  flags: number,
  address: CheckedAddress,
  index: number,
): void {
  writer.begin(type, flags);
  writeIfaddrmsg(writer, {
    family: address.family === 4 ? AF_INET : AF_INET6,
    prefixLength: address.prefixLength,
    flags: address.flags & 0xff,
    scope: address.scope,
    index,
  });
  writeAddressBytes(writer, IFA_LOCAL, address.local);
  writeAddressBytes(writer, IFA_ADDRESS, address.peer ?? address.local);
  if (address.label !== undefined) writer.string(IFA_LABEL, address.label);

  if (type !== RTM_DELADDR) {
    if (address.broadcast !== undefined)
      writeAddressBytes(writer, IFA_BROADCAST, address.broadcast);
    if (address.flags > 0xff) writer.u32(IFA_FLAGS, address.flags);
    if (address.validLifetime !== undefined && address.preferredLifetime !== undefined) {
      // struct ifa_cacheinfo: preferred, valid, then two timestamps the kernel ignores on input.
      const at = writer.attributeStruct(IFA_CACHEINFO, IFA_CACHEINFO_SIZE);
      writer.setU32(at, address.preferredLifetime);
      writer.setU32(at + 4, address.validLifetime);
    }
  }
  writer.end();
}

/**
 * Size of the message encodeAddress writes. A builder of exactly that size returns its
 * buffer without a copy or a view; a wrong size would only cost that, not correctness.
 */
function addressMessageSize(type: number, address: CheckedAddress): number {
  let size =
    NLMSG_HDRLEN +
    IFADDRMSG_SIZE +
    attributeSize(addressLength(address.local)) +
    attributeSize(addressLength(address.peer ?? address.local));
  if (address.label !== undefined) size += attributeSize(Buffer.byteLength(address.label) + 1);
  if (type === RTM_DELADDR) return size;
  if (address.broadcast !== undefined) size += attributeSize(addressLength(address.broadcast));
  if (address.flags > 0xff) size += attributeSize(4);
  if (address.validLifetime !== undefined && address.preferredLifetime !== undefined)
    size += attributeSize(IFA_CACHEINFO_SIZE);
  return size;
}

function writeAddressBytes(writer: MessageWriter, type: number, bytes: AddressBytes): void {
  if (typeof bytes === 'number') writer.ipv4(type, bytes);
  else writer.bytes(type, bytes);
}

function addressLength(bytes: AddressBytes): number {
  return typeof bytes === 'number' ? 4 : bytes.length;
}

export type AddressAction = 'add' | 'replace' | 'delete';

const ADD_MESSAGE = { type: RTM_NEWADDR, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL };
const REPLACE_MESSAGE = { type: RTM_NEWADDR, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE };
const DELETE_MESSAGE = { type: RTM_DELADDR, flags: NLM_F_ACK };

// A switch, because a table lookup whose key alternates between calls, as add and delete
// do, goes through V8's slower megamorphic path on every request.
function actionMessage(action: AddressAction): { type: number; flags: number } {
  switch (action) {
    case 'add':
      return ADD_MESSAGE;
    case 'replace':
      return REPLACE_MESSAGE;
    case 'delete':
      return DELETE_MESSAGE;
  }
}

/** Description of an address request for errors: `add` + `address 192.0.2.79/24 on veth0`. */
export function addressOperation(action: AddressAction, address: CheckedAddress): Operation {
  return { operation: action, object: `address ${address.text} on ${describeLink(address.link)}` };
}

/** Encodes the message of an address request whose link is already an index. */
export function addressMessage(
  action: AddressAction,
  address: CheckedAddress,
  index: number,
): Buffer {
  const { type, flags } = actionMessage(action);
  return encodeAddress(type, flags, address, index);
}

/** Writes the message addressMessage returns into `writer`, after the messages already in it. */
export function writeAddressMessage(
  writer: MessageWriter,
  action: AddressAction,
  address: CheckedAddress,
  index: number,
): void {
  const { type, flags } = actionMessage(action);
  writeAddress(writer, type, flags, address, index);
}

/** Encodes an address request whose link is already an index. */
export function addressRequest(
  action: AddressAction,
  address: CheckedAddress,
  index: number,
): EncodedRequest {
  return { message: addressMessage(action, address, index), op: addressOperation(action, address) };
}

/**
 * RTM_GETADDR dump. With strict checking the kernel filters by family and ifa_index itself
 * and marks the reply NLM_F_DUMP_FILTERED.
 */
export function encodeAddressDump(family?: Family, index?: number): Buffer {
  const builder = new MessageBuilder(RTM_GETADDR, NLM_F_DUMP);
  writeIfaddrmsg(builder, { family: familyNumber(family), index: index ?? 0 });
  return builder.finish();
}

// --- Decoding ---

/** Decodes an RTM_NEWADDR or RTM_DELADDR message. A longer ifaddrmsg than known is skipped over. */
export function decodeAddress(
  buffer: Buffer,
  message: NetlinkMessage,
  headerLength = IFADDRMSG_SIZE,
): Address | undefined {
  const body = messageBody(message, headerLength, IFADDRMSG_SIZE, 'ifaddrmsg');
  const header = readIfaddrmsg(buffer, body.headerOffset);
  if (header.family !== AF_INET && header.family !== AF_INET6) return undefined;

  let local: string | undefined;
  let address: string | undefined;
  const decoded: Address = {
    family: header.family === AF_INET ? 4 : 6,
    index: header.index,
    address: '',
    prefixLength: header.prefixLength,
    scope: scopes.name(header.scope),
    flags: header.flags,
  };

  for (
    const attribute = new AttributeIterator(buffer, body.attributesOffset, body.end);
    attribute.next();
  ) {
    switch (attribute.type) {
      case IFA_LOCAL:
        local = formatIp(attribute.ipBytes());
        break;
      case IFA_ADDRESS:
        address = formatIp(attribute.ipBytes());
        break;
      case IFA_BROADCAST:
        decoded.broadcast = formatIp(attribute.ipBytes());
        break;
      case IFA_LABEL:
        decoded.label = attribute.string();
        break;
      case IFA_FLAGS:
        decoded.flags = attribute.u32();
        break;
      case IFA_CACHEINFO:
        // struct ifa_cacheinfo starts with the preferred and valid lifetimes. Later fields are ignored.
        if (attribute.length >= 8) {
          decoded.preferredLifetime = readHostU32(attribute.buffer, attribute.offset);
          decoded.validLifetime = readHostU32(attribute.buffer, attribute.offset + 4);
        }
        break;
      default:
        break;
    }
  }

  decoded.address = local ?? address ?? '';
  if (local !== undefined && address !== undefined && address !== local) decoded.peer = address;
  return decoded;
}

/** Decodes every address message of a reply payload. */
export function decodeAddresses(payload: Buffer | undefined): Address[] {
  if (payload === undefined) return [];
  const addresses: Address[] = [];
  for (const message of parseMessages(payload)) {
    if (message.type !== RTM_NEWADDR) continue;
    const address = decodeAddress(payload, message);
    if (address !== undefined) addresses.push(address);
  }
  return addresses;
}

// --- Service ---

/** Address operations of one rtnetlink handle. */
export class AddressService {
  constructor(private readonly transport: RtnlTransport) {}

  /**
   * Lists addresses: `ip address show [dev veth0]`, with `ip -4` or `ip -6` for a family.
   * A link given by name is resolved first and rejects with ENODEV when missing.
   */
  async list(filter: AddressFilter = {}): Promise<Address[]> {
    const fields = checkObject(filter, 'address filter');
    const family = checkFamily(fields.family);
    const link = fields.link === undefined ? undefined : checkLinkRef(fields.link);
    const op = {
      operation: 'list',
      object: link === undefined ? 'addresses' : `addresses on ${describeLink(link)}`,
    };
    const index = link === undefined ? undefined : await resolveLinkIndex(this.transport, link, op);

    const payload = await this.transport.dump(encodeAddressDump(family, index), op);
    return decodeAddresses(payload).filter(
      (address) =>
        (index === undefined || address.index === index) &&
        (family === undefined || address.family === family),
    );
  }

  // add, replace and delete return send's promise instead of awaiting it in an async
  // function of their own, and send returns the transport's promise for a link given by
  // index. Each level saves a promise and microtask turns per request.

  /**
   * Adds an address, or rejects with EEXIST when it is there already:
   * `ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`.
   */
  add(spec: AddressSpec): Promise<void> {
    return this.send('add', spec);
  }

  /**
   * Adds an address or updates the one there (lifetimes, flags):
   * `ip address replace 192.0.2.79/24 dev veth0 valid_lft 300 preferred_lft 200`.
   */
  replace(spec: AddressSpec): Promise<void> {
    return this.send('replace', spec);
  }

  /** Deletes an address: `ip address delete 192.0.2.79/24 dev veth0`. */
  delete(spec: AddressSpec): Promise<void> {
    return this.send('delete', spec);
  }

  // An address request carries no NLM_F_ECHO, so the kernel sends only its ack and the
  // transport resolves with undefined. Its promise serves as the Promise<void> as it is.
  private send(action: AddressAction, spec: AddressSpec): Promise<void> {
    try {
      const address = checkAddressSpec(spec);
      const op = addressOperation(action, address);
      if (typeof address.link !== 'number') return this.sendToNamedLink(action, address, op);
      return this.transport.request(
        addressMessage(action, address, address.link),
        op,
      ) as Promise<void>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async sendToNamedLink(
    action: AddressAction,
    address: CheckedAddress,
    op: Operation,
  ): Promise<void> {
    const index = await resolveLinkIndex(this.transport, address.link, op);
    await this.transport.request(addressMessage(action, address, index), op);
  }
}
