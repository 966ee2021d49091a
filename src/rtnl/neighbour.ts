// Neighbours (ARP and NDP entries): RTM_NEWNEIGH, RTM_DELNEIGH and RTM_GETNEIGH requests,
// decoding into Neighbour, and NeighbourService.

import { formatIp } from '../net/ip.js';
import { AttributeIterator } from '../netlink/attributes.js';
import {
  AF_INET,
  AF_INET6,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDMSG_SIZE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_REPLACE,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from '../netlink/constants.js';
import {
  MessageBuilder,
  messageBody,
  type NetlinkMessage,
  parseMessages,
  readNdmsg,
  writeNdmsg,
} from '../netlink/message.js';
import {
  checkFamily,
  checkIp,
  checkLinkRef,
  checkObject,
  describeLink,
  familyNumber,
  formatMac,
  type LinkRef,
  parseMac,
} from './arguments.js';
import { resolveLinkIndex } from './link.js';
import { neighbourStateName, neighbourStateNumber } from './names.js';
import type { EncodedRequest, Operation, RtnlTransport } from './transport.js';
import type { Family, Neighbour, NeighbourSpec } from './types.js';

/** Filters of a neighbour listing. Each one set is sent to the kernel and applied again here. */
export interface NeighbourFilter {
  link?: LinkRef;
  family?: Family;
}

export type NeighbourAction = 'replace' | 'delete';

/** A NeighbourSpec after checking. */
export interface CheckedNeighbour {
  link: LinkRef;
  family: Family;
  address: Uint8Array;
  mac?: Uint8Array;
  state: number;
  /** `192.0.2.2 lladdr 02:00:00:00:00:02 dev veth0` for messages. */
  text: string;
}

// --- Checking and encoding ---

/** Checks a NeighbourSpec. Raises TypeError or RangeError naming the bad value. */
export function checkNeighbourSpec(spec: unknown): CheckedNeighbour {
  const fields = checkObject(spec, 'neighbour spec');
  const link = checkLinkRef(fields.link);
  const address = checkIp(fields.address, 'neighbour address');
  const mac = fields.mac === undefined ? undefined : parseMac(fields.mac, 'neighbour MAC address');
  const state = fields.state === undefined ? NUD_PERMANENT : neighbourStateNumber(fields.state);

  let text = formatIp(address.bytes);
  if (mac !== undefined) text += ` lladdr ${formatMac(mac)}`;
  text += ` dev ${describeLink(link)}`;
  const checked: CheckedNeighbour = {
    link,
    family: address.family,
    address: address.bytes,
    state,
    text,
  };
  if (mac !== undefined) checked.mac = mac;
  return checked;
}

/** Encodes RTM_NEWNEIGH (replace) or RTM_DELNEIGH for a checked neighbour on link `index`. */
export function encodeNeighbour(
  type: number,
  flags: number,
  neighbour: CheckedNeighbour,
  index: number,
): Buffer {
  const builder = new MessageBuilder(type, flags);
  writeNdmsg(builder, {
    family: neighbour.family === 4 ? AF_INET : AF_INET6,
    index,
    state: type === RTM_NEWNEIGH ? neighbour.state : 0,
  });
  builder.bytes(NDA_DST, neighbour.address);
  if (neighbour.mac !== undefined && type === RTM_NEWNEIGH)
    builder.bytes(NDA_LLADDR, neighbour.mac);
  return builder.finish();
}

const ACTION_MESSAGE: Record<NeighbourAction, { type: number; flags: number }> = {
  replace: { type: RTM_NEWNEIGH, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE },
  delete: { type: RTM_DELNEIGH, flags: NLM_F_ACK },
};

/** Description of a neighbour request for errors: `replace` + `neighbour 192.0.2.2 dev veth0`. */
export function neighbourOperation(
  action: NeighbourAction,
  neighbour: CheckedNeighbour,
): Operation {
  return { operation: action, object: `neighbour ${neighbour.text}` };
}

/** Encodes a neighbour request whose link is already an index. */
export function neighbourRequest(
  action: NeighbourAction,
  neighbour: CheckedNeighbour,
  index: number,
): EncodedRequest {
  const { type, flags } = ACTION_MESSAGE[action];
  return {
    message: encodeNeighbour(type, flags, neighbour, index),
    op: neighbourOperation(action, neighbour),
  };
}

/**
 * RTM_GETNEIGH dump. With strict checking the kernel filters by family and by NDA_IFINDEX
 * (ndm_ifindex must stay 0 in a strict dump request).
 */
export function encodeNeighbourDump(family?: Family, index?: number): Buffer {
  const builder = new MessageBuilder(RTM_GETNEIGH, NLM_F_DUMP);
  writeNdmsg(builder, {
    family: familyNumber(family),
  });
  if (index !== undefined) builder.u32(NDA_IFINDEX, index);
  return builder.finish();
}

// --- Decoding ---

/**
 * Decodes an RTM_NEWNEIGH or RTM_DELNEIGH message. A longer ndmsg than known is skipped over.
 * Returns undefined for families other than IPv4 and IPv6 (bridge FDB entries, for one).
 */
export function decodeNeighbour(
  buffer: Buffer,
  message: NetlinkMessage,
  headerLength = NDMSG_SIZE,
): Neighbour | undefined {
  const body = messageBody(message, headerLength, NDMSG_SIZE, 'ndmsg');
  const header = readNdmsg(buffer, body.headerOffset);
  if (header.family !== AF_INET && header.family !== AF_INET6) return undefined;

  const neighbour: Neighbour = {
    family: header.family === AF_INET ? 4 : 6,
    index: header.index,
    address: '',
    state: neighbourStateName(header.state),
    flags: header.flags,
  };
  for (
    const attribute = new AttributeIterator(buffer, body.attributesOffset, body.end);
    attribute.next();
  ) {
    if (attribute.type === NDA_DST) neighbour.address = formatIp(attribute.ipBytes());
    else if (attribute.type === NDA_LLADDR) neighbour.mac = formatMac(attribute.bytes());
  }
  return neighbour;
}

/** Decodes every neighbour message of a reply payload. */
export function decodeNeighbours(payload: Buffer | undefined): Neighbour[] {
  if (payload === undefined) return [];
  const neighbours: Neighbour[] = [];
  for (const message of parseMessages(payload)) {
    if (message.type !== RTM_NEWNEIGH) continue;
    const neighbour = decodeNeighbour(payload, message);
    if (neighbour !== undefined) neighbours.push(neighbour);
  }
  return neighbours;
}

// --- Service ---

/** Neighbour operations of one rtnetlink handle. */
export class NeighbourService {
  constructor(private readonly transport: RtnlTransport) {}

  /** Lists neighbour entries: `ip neighbour show [dev veth0]`, `ip -4|-6 neighbour show`. */
  async list(filter: NeighbourFilter = {}): Promise<Neighbour[]> {
    const fields = checkObject(filter, 'neighbour filter');
    const family = checkFamily(fields.family);
    const link = fields.link === undefined ? undefined : checkLinkRef(fields.link);
    const op = {
      operation: 'list',
      object: link === undefined ? 'neighbours' : `neighbours on ${describeLink(link)}`,
    };
    const index = link === undefined ? undefined : await resolveLinkIndex(this.transport, link, op);

    const payload = await this.transport.dump(encodeNeighbourDump(family, index), op);
    return decodeNeighbours(payload).filter(
      (neighbour) =>
        (index === undefined || neighbour.index === index) &&
        (family === undefined || neighbour.family === family),
    );
  }

  /**
   * Adds or replaces an entry, permanent unless `state` says otherwise:
   * `ip neighbour replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev veth0 nud permanent`.
   */
  async replace(spec: NeighbourSpec): Promise<void> {
    await this.send('replace', spec);
  }

  /** Deletes an entry: `ip neighbour delete 192.0.2.2 dev veth0`. */
  async delete(spec: NeighbourSpec): Promise<void> {
    await this.send('delete', spec);
  }

  private async send(action: NeighbourAction, spec: NeighbourSpec): Promise<void> {
    const neighbour = checkNeighbourSpec(spec);
    const op = neighbourOperation(action, neighbour);
    const index = await resolveLinkIndex(this.transport, neighbour.link, op);
    await this.transport.request(neighbourRequest(action, neighbour, index).message, op);
  }
}
