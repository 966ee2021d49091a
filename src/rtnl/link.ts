// Links (network interfaces): RTM_NEWLINK, RTM_DELLINK and RTM_GETLINK requests, decoding
// of link messages into Link, and LinkService, the per-handle API.
//
// A link is named by index or by name. The kernel looks a link up by IFLA_IFNAME when
// ifi_index is 0, so set, delete and get requests carry the name as given and need no
// lookup of their own. Requests that must carry an index (rename, the parent of a macvlan or
// vlan, and every address, route or neighbour request) resolve a name with one RTM_GETLINK
// first. Nothing is cached, so a rename can never leave a stale index behind.
import { AttributeIterator } from '../netlink/attributes.js';
import {
  AF_UNSPEC,
  IF_OPER_STATES,
  IFF_LOWER_UP,
  IFF_UP,
  IFINFOMSG_SIZE,
  IFLA_ADDRESS,
  IFLA_CARRIER,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_VLAN_ID,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  VETH_INFO_PEER,
} from '../netlink/constants.js';
import {
  MessageBuilder,
  messageBody,
  type NetlinkMessage,
  parseMessages,
  readIfinfomsg,
  writeIfinfomsg,
} from '../netlink/message.js';
import { type NetnsHandle, openNetns, resolveNetnsTarget } from '../netlink/netns.js';
import {
  checkBoolean,
  checkInteger,
  checkLinkName,
  checkLinkRef,
  checkObject,
  describeLink,
  formatMac,
  type LinkRef,
  parseMac,
} from './arguments.js';
import { type MacvlanModeName, macvlanModes } from './names.js';
import { type EncodedRequest, hasErrno, type Operation, type RtnlTransport } from './transport.js';
import type { Link, NetnsTarget } from './types.js';

export type { LinkRef } from './arguments.js';

/** Max MTU accepted before sending. Each device type enforces its own, smaller limit. */
const MAX_MTU = 0x7fffffff;

/** Attribute changes of one `ip link set` request. Unset fields stay as they are. */
export interface LinkChange {
  /** IFF_UP. */
  up?: boolean;
  mtu?: number;
  /** IFLA_ADDRESS, six bytes `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /** IFLA_CARRIER, which only drivers with ndo_change_carrier (tun/tap, dummy, rte_kni) accept. */
  carrier?: boolean;
  /** New name (IFLA_IFNAME). The link must then be given by index. */
  name?: string;
}

export interface VethSpec {
  name: string;
  peerName: string;
  /** Namespace to create the peer in. Default: the handle's namespace. */
  peerNetns?: NetnsTarget;
}

export interface BridgeSpec {
  name: string;
}

export interface MacvlanSpec {
  name: string;
  /** Lower link, by index or name. */
  parent: LinkRef;
  /** Default 'bridge'. */
  mode?: MacvlanModeName | number;
}

export interface VlanSpec {
  name: string;
  /** Lower link, by index or name. */
  parent: LinkRef;
  /** 802.1Q VLAN id, 1-4094. */
  vlanId: number;
}

// --- Encoding ---

/** Appends ifinfomsg naming the link: the index in the header, or IFLA_IFNAME. */
function writeLinkIdentity(builder: MessageBuilder, link: LinkRef, flags = 0, change = 0): void {
  writeIfinfomsg(builder, {
    family: AF_UNSPEC,
    index: typeof link === 'number' ? link : 0,
    flags,
    change,
  });
  if (typeof link === 'string') builder.string(IFLA_IFNAME, link);
}

/** RTM_GETLINK for one link, statistics left out (`ip link show dev LINK`). */
export function encodeLinkGet(link: LinkRef): Buffer {
  const builder = new MessageBuilder(RTM_GETLINK, NLM_F_ACK);
  writeLinkIdentity(builder, link);
  builder.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return builder.finish();
}

/** RTM_GETLINK dump of every link (`ip link show`). */
export function encodeLinkDump(): Buffer {
  const builder = new MessageBuilder(RTM_GETLINK, NLM_F_DUMP);
  writeIfinfomsg(builder, { family: AF_UNSPEC });
  builder.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return builder.finish();
}

/** Checks a LinkChange and returns it with the MAC parsed. Raises TypeError or RangeError. */
export function checkLinkChange(
  link: LinkRef,
  change: unknown,
): LinkChange & { macBytes?: Uint8Array } {
  const fields = checkObject(change, 'link change');
  const checked: LinkChange & { macBytes?: Uint8Array } = {};
  if (fields.up !== undefined) checked.up = checkBoolean(fields.up, 'up');
  if (fields.mtu !== undefined) checked.mtu = checkInteger(fields.mtu, 'MTU', 1, MAX_MTU);
  if (fields.mac !== undefined) {
    checked.macBytes = parseMac(fields.mac);
    checked.mac = formatMac(checked.macBytes);
  }
  if (fields.carrier !== undefined) checked.carrier = checkBoolean(fields.carrier, 'carrier');
  if (fields.name !== undefined) {
    checked.name = checkLinkName(fields.name, 'new link name');
    if (typeof link !== 'number') {
      throw new TypeError(`link ${JSON.stringify(link)} must be given by index to be renamed`);
    }
  }
  return checked;
}

/**
 * RTM_NEWLINK changing an existing link (`ip link set dev LINK up mtu N address MAC ...`).
 * `change` must have passed checkLinkChange.
 */
export function encodeLinkSet(
  link: LinkRef,
  change: LinkChange & { macBytes?: Uint8Array },
  netnsFd?: number,
): Buffer {
  const builder = new MessageBuilder(RTM_NEWLINK, NLM_F_ACK);
  const flags = change.up === true ? IFF_UP : 0;
  const mask = change.up === undefined ? 0 : IFF_UP;
  if (change.name !== undefined) {
    writeIfinfomsg(builder, { family: AF_UNSPEC, index: link as number, flags, change: mask });
    builder.string(IFLA_IFNAME, change.name);
  } else {
    writeLinkIdentity(builder, link, flags, mask);
  }

  if (change.mtu !== undefined) builder.u32(IFLA_MTU, change.mtu);
  if (change.macBytes !== undefined) builder.bytes(IFLA_ADDRESS, change.macBytes);
  if (change.carrier !== undefined) builder.u8(IFLA_CARRIER, change.carrier ? 1 : 0);
  if (netnsFd !== undefined) builder.u32(IFLA_NET_NS_FD, netnsFd);
  return builder.finish();
}

/** RTM_DELLINK (`ip link delete dev LINK`). */
export function encodeLinkDelete(link: LinkRef): Buffer {
  const builder = new MessageBuilder(RTM_DELLINK, NLM_F_ACK);
  writeLinkIdentity(builder, link);
  return builder.finish();
}

/** Starts RTM_NEWLINK creating link `name` of `kind`, and returns the builder and the open nests. */
function beginCreate(
  name: string,
  kind: string,
  parentIndex?: number,
): { builder: MessageBuilder; data: number; info: number } {
  const builder = new MessageBuilder(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  writeIfinfomsg(builder, { family: AF_UNSPEC });
  builder.string(IFLA_IFNAME, name);
  if (parentIndex !== undefined) builder.u32(IFLA_LINK, parentIndex);
  const info = builder.beginNested(IFLA_LINKINFO);
  builder.string(IFLA_INFO_KIND, kind);
  const data = builder.beginNested(IFLA_INFO_DATA);
  return { builder, data, info };
}

/**
 * RTM_NEWLINK creating a veth pair
 * (`ip link add NAME type veth peer name PEER [netns NS]`). The peer goes in
 * IFLA_INFO_DATA / VETH_INFO_PEER, whose payload is a struct ifinfomsg and attributes.
 */
export function encodeVethCreate(name: string, peerName: string, peerNetnsFd?: number): Buffer {
  const { builder, data, info } = beginCreate(name, 'veth');
  const peer = builder.beginNested(VETH_INFO_PEER, false);
  writeIfinfomsg(builder, { family: AF_UNSPEC });
  builder.string(IFLA_IFNAME, peerName);
  if (peerNetnsFd !== undefined) builder.u32(IFLA_NET_NS_FD, peerNetnsFd);
  builder.endNested(peer);
  builder.endNested(data);
  builder.endNested(info);
  return builder.finish();
}

/** RTM_NEWLINK creating a bridge (`ip link add NAME type bridge`). */
export function encodeBridgeCreate(name: string): Buffer {
  const builder = new MessageBuilder(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  writeIfinfomsg(builder, { family: AF_UNSPEC });
  builder.string(IFLA_IFNAME, name);
  const info = builder.beginNested(IFLA_LINKINFO);
  builder.string(IFLA_INFO_KIND, 'bridge');
  builder.endNested(info);
  return builder.finish();
}

/** RTM_NEWLINK creating a macvlan (`ip link add NAME link PARENT type macvlan mode MODE`). */
export function encodeMacvlanCreate(name: string, parentIndex: number, mode: number): Buffer {
  const { builder, data, info } = beginCreate(name, 'macvlan', parentIndex);
  builder.u32(IFLA_MACVLAN_MODE, mode);
  builder.endNested(data);
  builder.endNested(info);
  return builder.finish();
}

/** RTM_NEWLINK creating an 802.1Q vlan (`ip link add NAME link PARENT type vlan id ID`). */
export function encodeVlanCreate(name: string, parentIndex: number, vlanId: number): Buffer {
  const { builder, data, info } = beginCreate(name, 'vlan', parentIndex);
  builder.u16(IFLA_VLAN_ID, vlanId);
  builder.endNested(data);
  builder.endNested(info);
  return builder.finish();
}

// --- Decoding ---

/**
 * Decodes an RTM_NEWLINK or RTM_DELLINK message. `headerLength` is the size of the
 * ifinfomsg the sender used. A longer one than this code knows is skipped over.
 */
export function decodeLink(
  buffer: Buffer,
  message: NetlinkMessage,
  headerLength = IFINFOMSG_SIZE,
): Link {
  const body = messageBody(message, headerLength, IFINFOMSG_SIZE, 'ifinfomsg');
  const header = readIfinfomsg(buffer, body.headerOffset);
  const link: Link = {
    index: header.index,
    name: '',
    up: (header.flags & IFF_UP) !== 0,
    carrier: (header.flags & IFF_LOWER_UP) !== 0,
    operState: 'unknown',
    flags: header.flags,
    mtu: 0,
  };

  for (
    const attribute = new AttributeIterator(buffer, body.attributesOffset, body.end);
    attribute.next();
  ) {
    switch (attribute.type) {
      case IFLA_IFNAME:
        link.name = attribute.string();
        break;
      case IFLA_MTU:
        link.mtu = attribute.u32();
        break;
      case IFLA_ADDRESS:
        link.mac = formatMac(attribute.bytes());
        break;
      case IFLA_OPERSTATE: {
        const state = attribute.u8();
        link.operState = IF_OPER_STATES[state] ?? String(state);
        break;
      }
      case IFLA_CARRIER:
        link.carrier = attribute.u8() !== 0;
        break;
      case IFLA_LINK:
        link.parentIndex = attribute.u32();
        break;
      case IFLA_MASTER:
        link.masterIndex = attribute.u32();
        break;
      case IFLA_LINK_NETNSID:
        link.linkNetnsId = attribute.s32();
        break;
      case IFLA_LINKINFO:
        decodeLinkInfo(attribute.nestedAttributes(), link);
        break;
      default:
        break;
    }
  }
  return link;
}

/** Reads IFLA_INFO_KIND and the kind's data this code knows (vlan id, macvlan mode). */
function decodeLinkInfo(attributes: AttributeIterator, link: Link): void {
  let data: AttributeIterator | undefined;
  while (attributes.next()) {
    if (attributes.type === IFLA_INFO_KIND) link.kind = attributes.string();
    else if (attributes.type === IFLA_INFO_DATA) data = attributes.nestedAttributes();
  }
  // IFLA_INFO_DATA can only be read once the kind is known, and the kernel may send it first.
  if (data === undefined) return;
  while (data.next()) {
    if (link.kind === 'vlan' && data.type === IFLA_VLAN_ID) link.vlanId = data.u16();
    else if (link.kind === 'macvlan' && data.type === IFLA_MACVLAN_MODE)
      link.macvlanMode = macvlanModes.name(data.u32());
  }
}

/** Decodes every link message of a reply payload. */
export function decodeLinks(payload: Buffer | undefined): Link[] {
  if (payload === undefined) return [];
  const links: Link[] = [];
  for (const message of parseMessages(payload)) {
    if (message.type === RTM_NEWLINK) links.push(decodeLink(payload, message));
  }
  return links;
}

// --- Namespaces ---

/**
 * Opens the namespace of a target for IFLA_NET_NS_FD, after checking the target (TypeError
 * or RangeError). The caller closes the returned handle once the request is done.
 */
function openTarget(target: unknown, valueName: string): { netns: NetnsHandle; text: string } {
  const fields = checkObject(target, valueName);
  resolveNetnsTarget(fields as NetnsTarget);
  const text =
    fields.name !== undefined
      ? String(fields.name)
      : fields.path !== undefined
        ? String(fields.path)
        : `fd ${String(fields.fd)}`;
  return { netns: openNetns(fields as NetnsTarget), text };
}

// --- Service ---

/**
 * Returns the index of a link given by index or name. A name costs one RTM_GETLINK. When
 * no link has it, the request's ENODEV error is raised with `op` as its description.
 */
export async function resolveLinkIndex(
  transport: RtnlTransport,
  link: LinkRef,
  op: Operation,
): Promise<number> {
  if (typeof link === 'number') return link;
  const payload = await transport.request(encodeLinkGet(link), op);
  const found = decodeLinks(payload)[0];
  if (found === undefined) {
    throw new Error(
      `${op.operation} ${op.object}: the kernel returned no link for ${JSON.stringify(link)}`,
    );
  }
  return found.index;
}

/** Link operations of one rtnetlink handle. */
export class LinkService {
  constructor(private readonly transport: RtnlTransport) {}

  /** Lists every link: `ip link show`. */
  async list(): Promise<Link[]> {
    const payload = await this.transport.dump(encodeLinkDump(), {
      operation: 'list',
      object: 'links',
    });
    return decodeLinks(payload);
  }

  /**
   * Returns one link by index or name, or undefined when there is none:
   * `ip link show dev veth0`. Sends one RTM_GETLINK, never a dump.
   */
  async get(link: LinkRef): Promise<Link | undefined> {
    const ref = checkLinkRef(link);
    try {
      const payload = await this.transport.request(encodeLinkGet(ref), {
        operation: 'get',
        object: `link ${describeLink(ref)}`,
      });
      return decodeLinks(payload)[0];
    } catch (error) {
      if (hasErrno(error, 'ENODEV')) return undefined;
      throw error;
    }
  }

  /** Returns the index of a link given by index or name. Rejects with ENODEV when it is missing. */
  async index(link: LinkRef): Promise<number> {
    const ref = checkLinkRef(link);
    return resolveLinkIndex(this.transport, ref, {
      operation: 'get',
      object: `link ${describeLink(ref)}`,
    });
  }

  /**
   * Sets the link administratively up or down: `ip link set dev veth0 up|down`. set()
   * checks `up`; returning its promise saves a promise per request.
   */
  setUp(link: LinkRef, up: boolean): Promise<void> {
    return this.set(link, { up });
  }

  /** Sets the MTU: `ip link set dev veth0 mtu 1400`. */
  async setMtu(link: LinkRef, mtu: number): Promise<void> {
    await this.set(link, { mtu: checkInteger(mtu, 'MTU', 1, MAX_MTU) });
  }

  /** Sets the hardware address: `ip link set dev veth0 address 02:00:00:00:00:01`. */
  async setMac(link: LinkRef, mac: string): Promise<void> {
    parseMac(mac);
    await this.set(link, { mac });
  }

  /**
   * Sets the carrier (IFLA_CARRIER), as `echo 1 > /sys/class/net/veth0/carrier` does. `ip`
   * has no command for it. Drivers without ndo_change_carrier (veth, bridge) reject it with
   * EOPNOTSUPP, and tun/tap reject carrier on with EPERM while no process holds the device.
   */
  async setCarrier(link: LinkRef, on: boolean): Promise<void> {
    await this.set(link, { carrier: checkBoolean(on, 'carrier') });
  }

  /** Renames a link: `ip link set dev veth0 name veth1`. A name is first resolved to its index. */
  async rename(link: LinkRef, newName: string): Promise<void> {
    const ref = checkLinkRef(link);
    checkLinkName(newName, 'new link name');
    const op = { operation: 'rename', object: `link ${describeLink(ref)} to ${newName}` };
    const index = await resolveLinkIndex(this.transport, ref, op);
    await this.transport.request(
      encodeLinkSet(index, checkLinkChange(index, { name: newName })),
      op,
    );
  }

  /**
   * Applies several changes in one request:
   * `ip link set dev veth0 up mtu 1400 address 02:00:00:00:00:01 [name NEW]`. A rename needs
   * the link by index.
   */
  async set(link: LinkRef, change: LinkChange): Promise<void> {
    const ref = checkLinkRef(link);
    const checked = checkLinkChange(ref, change);
    const op = { operation: 'set', object: `link ${describeLink(ref)}${describeChange(checked)}` };
    await this.transport.request(encodeLinkSet(ref, checked), op);
  }

  /**
   * Creates a veth pair, the peer optionally in another namespace:
   * `ip link add veth0 type veth peer name veth1 netns other`.
   */
  async createVeth(spec: VethSpec): Promise<void> {
    const fields = checkObject(spec, 'veth spec');
    const name = checkLinkName(fields.name, 'veth name');
    const peerName = checkLinkName(fields.peerName, 'veth peer name');
    const target =
      fields.peerNetns === undefined ? undefined : openTarget(fields.peerNetns, 'peer netns');
    const where = target === undefined ? '' : ` in netns ${target.text}`;
    try {
      const op = { operation: 'create', object: `veth ${name} with peer ${peerName}${where}` };
      await this.transport.request(encodeVethCreate(name, peerName, target?.netns.fd), op);
    } finally {
      target?.netns.close();
    }
  }

  /** Creates a bridge: `ip link add br0 type bridge`. */
  async createBridge(spec: BridgeSpec): Promise<void> {
    const fields = checkObject(spec, 'bridge spec');
    const name = checkLinkName(fields.name, 'bridge name');
    await this.transport.request(encodeBridgeCreate(name), {
      operation: 'create',
      object: `bridge ${name}`,
    });
  }

  /** Creates a macvlan on a lower link: `ip link add mv0 link veth0 type macvlan mode bridge`. */
  async createMacvlan(spec: MacvlanSpec): Promise<void> {
    const fields = checkObject(spec, 'macvlan spec');
    const name = checkLinkName(fields.name, 'macvlan name');
    const parent = checkLinkRef(fields.parent, 'macvlan parent');
    const mode = macvlanModes.number(fields.mode ?? 'bridge');
    const op = { operation: 'create', object: `macvlan ${name} on ${describeLink(parent)}` };
    const parentIndex = await resolveLinkIndex(this.transport, parent, op);
    await this.transport.request(encodeMacvlanCreate(name, parentIndex, mode), op);
  }

  /**
   * Creates an 802.1Q vlan on a lower link: `ip link add veth0.100 link veth0 type vlan id 100`.
   * Kernels built without the 8021q module reject it with EOPNOTSUPP.
   */
  async createVlan(spec: VlanSpec): Promise<void> {
    const fields = checkObject(spec, 'vlan spec');
    const name = checkLinkName(fields.name, 'vlan name');
    const parent = checkLinkRef(fields.parent, 'vlan parent');
    const vlanId = checkInteger(fields.vlanId, 'VLAN id', 1, 4094);
    const op = {
      operation: 'create',
      object: `vlan ${name} id ${vlanId} on ${describeLink(parent)}`,
    };
    const parentIndex = await resolveLinkIndex(this.transport, parent, op);
    await this.transport.request(encodeVlanCreate(name, parentIndex, vlanId), op);
  }

  /** Deletes a link (a veth takes its peer along): `ip link delete dev veth0`. */
  async delete(link: LinkRef): Promise<void> {
    const ref = checkLinkRef(link);
    await this.transport.request(encodeLinkDelete(ref), {
      operation: 'delete',
      object: `link ${describeLink(ref)}`,
    });
  }

  /** Moves a link into another namespace: `ip link set dev veth0 netns other`. */
  async moveToNetns(link: LinkRef, target: NetnsTarget): Promise<void> {
    const ref = checkLinkRef(link);
    const { netns, text } = openTarget(target, 'target netns');
    try {
      const op = { operation: 'move', object: `link ${describeLink(ref)} to netns ${text}` };
      await this.transport.request(encodeLinkSet(ref, {}, netns.fd), op);
    } finally {
      netns.close();
    }
  }
}

/** The `ip link set` words of a change, for error messages. */
export function describeChange(change: LinkChange): string {
  let text = '';
  if (change.up !== undefined) text += change.up ? ' up' : ' down';
  if (change.mtu !== undefined) text += ` mtu ${change.mtu}`;
  if (change.mac !== undefined) text += ` address ${change.mac}`;
  if (change.carrier !== undefined) text += ` carrier ${change.carrier ? 'on' : 'off'}`;
  if (change.name !== undefined) text += ` name ${change.name}`;
  return text;
}

/** Encodes a checked link change with its description, for batches (names allowed except for renames). */
export function linkSetRequest(link: LinkRef, change: LinkChange): EncodedRequest {
  const ref = checkLinkRef(link);
  const checked = checkLinkChange(ref, change);
  return {
    message: encodeLinkSet(ref, checked),
    op: { operation: 'set', object: `link ${describeLink(ref)}${describeChange(checked)}` },
  };
}

/** Encodes a link deletion with its description, for batches. */
export function linkDeleteRequest(link: LinkRef): EncodedRequest {
  const ref = checkLinkRef(link);
  return {
    message: encodeLinkDelete(ref),
    op: { operation: 'delete', object: `link ${describeLink(ref)}` },
  };
}
