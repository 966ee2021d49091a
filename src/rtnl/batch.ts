// Batch: several non-dump requests sent in one sendmsg, with one result per request.
//
// Link requests (set, delete) may name their link: the kernel looks the name up when it
// processes the request, so they even work on a link created earlier in the same batch.
// Address, route and neighbour requests and the parents of macvlans and vlans need an
// interface index, which rtnetlink cannot take by name. Such names are resolved before the
// batch goes out, with one more batch of RTM_GETLINK requests, so a link created in the same
// batch cannot be named there: pass its index, or send those requests in a second batch.
import { NetlinkError, restateNetlinkError } from '../netlink/errors.js';
import { MessageWriter } from '../netlink/message.js';
import {
  type AddressAction,
  addressOperation,
  type CheckedAddress,
  checkAddressSpec,
  writeAddressMessage,
} from './address.js';
import {
  checkInteger,
  checkLinkName,
  checkLinkRef,
  checkObject,
  describeLink,
  type LinkRef,
} from './arguments.js';
import {
  type BridgeSpec,
  decodeLinks,
  encodeBridgeCreate,
  encodeLinkGet,
  encodeMacvlanCreate,
  encodeVethCreate,
  encodeVlanCreate,
  type LinkChange,
  linkDeleteRequest,
  linkSetRequest,
  type MacvlanSpec,
  type VethSpec,
  type VlanSpec,
} from './link.js';
import { macvlanModes } from './names.js';
import {
  checkNeighbourSpec,
  type NeighbourAction,
  neighbourOperation,
  neighbourRequest,
} from './neighbour.js';
import { type BatchResult, batchResult, PreparedBatch, sendMessages } from './prepared-batch.js';
import { checkRouteSpec, type RouteAction, routeOperation, writeRouteMessage } from './route.js';
import type { Operation, RtnlTransport } from './transport.js';
import type { AddressSpec, NeighbourSpec, RouteSpec } from './types.js';

/** The requests of a batch encoded for sending; see Batch.encodeAll. */
interface EncodedBatch {
  messages: Buffer | undefined;
  ops: Operation[];
  sent: number[];
  results: BatchResult[];
}

/** A request that names its link, kept until the name is resolved when the batch is sent. */
interface Entry {
  op: Operation;
  /** Link whose index the request carries. A name is resolved before sending. */
  link?: LinkRef;
  /** Appends the request's message to `writer`. */
  write(writer: MessageWriter, index: number | undefined): void;
}

/**
 * An address request on a named link. A class rather than an object literal with a
 * closure: 52 bytes of heap per request instead of 141 on Node 20.
 */
class AddressEntry implements Entry {
  readonly link: LinkRef;

  constructor(
    readonly op: Operation,
    private readonly action: AddressAction,
    private readonly address: CheckedAddress,
  ) {
    this.link = address.link;
  }

  write(writer: MessageWriter, index: number | undefined): void {
    writeAddressMessage(writer, this.action, this.address, index as number);
  }
}

/**
 * Bytes reserved per request for the messages of a batch; the writer grows past it. An
 * address message has 40 bytes and a route 52 to 64, and 64 requests of 56 bytes still
 * fit in Node's buffer pool, which is much cheaper than a buffer of its own.
 */
const MESSAGE_SIZE_ESTIMATE = 56;
const BATCH_SIZE_ESTIMATE = 64;

/**
 * Collects requests and sends them together. Each method checks its arguments at once,
 * raising TypeError or RangeError before anything is sent, and returns the batch for chaining.
 *
 * A request is encoded as soon as it is added, as long as every request so far carries its
 * link as an index or needs none. From the first request that names a link for an index
 * on, requests wait until send() or prepare() has resolved the names, so the messages
 * still go out in the order the requests were added.
 */
export class Batch {
  /** Messages of the requests encoded so far, created with the first one. */
  private writer: MessageWriter | undefined;
  /** One operation per message in `writer`. */
  private ops: Operation[] = [];
  private deferred: Entry[] = [];

  /** Use Rtnl.batch(). */
  constructor(private readonly transport: RtnlTransport) {}

  /** Number of requests collected. */
  get size(): number {
    return this.ops.length + this.deferred.length;
  }

  /** `ip link set dev LINK up|down mtu N address MAC` in one request, as LinkService.set. */
  setLink(link: LinkRef, change: LinkChange): this {
    const { message, op } = linkSetRequest(link, change);
    return this.addMessage(op, message);
  }

  /** `ip link set dev LINK up|down`. */
  setLinkUp(link: LinkRef, up: boolean): this {
    return this.setLink(link, { up });
  }

  /** `ip link set dev LINK mtu N`. */
  setLinkMtu(link: LinkRef, mtu: number): this {
    return this.setLink(link, { mtu });
  }

  /** `ip link set dev LINK address MAC`. */
  setLinkMac(link: LinkRef, mac: string): this {
    return this.setLink(link, { mac });
  }

  /** IFLA_CARRIER, as `echo 1 > /sys/class/net/LINK/carrier` does. */
  setLinkCarrier(link: LinkRef, on: boolean): this {
    return this.setLink(link, { carrier: on });
  }

  /** `ip link delete dev LINK`. */
  deleteLink(link: LinkRef): this {
    const { message, op } = linkDeleteRequest(link);
    return this.addMessage(op, message);
  }

  /** `ip link add NAME type veth peer name PEER`. A batch cannot put the peer in another namespace. */
  createVeth(spec: Omit<VethSpec, 'peerNetns'>): this {
    const fields = checkObject(spec, 'veth spec');
    if (fields.peerNetns !== undefined) {
      throw new TypeError(
        'a veth peer namespace is not supported in a batch: use LinkService.createVeth',
      );
    }
    const name = checkLinkName(fields.name, 'veth name');
    const peerName = checkLinkName(fields.peerName, 'veth peer name');
    const message = encodeVethCreate(name, peerName);
    return this.addMessage(
      { operation: 'create', object: `veth ${name} with peer ${peerName}` },
      message,
    );
  }

  /** `ip link add NAME type bridge`. */
  createBridge(spec: BridgeSpec): this {
    const name = checkLinkName(checkObject(spec, 'bridge spec').name, 'bridge name');
    return this.addMessage(
      { operation: 'create', object: `bridge ${name}` },
      encodeBridgeCreate(name),
    );
  }

  /** `ip link add NAME link PARENT type macvlan mode MODE`. */
  createMacvlan(spec: MacvlanSpec): this {
    const fields = checkObject(spec, 'macvlan spec');
    const name = checkLinkName(fields.name, 'macvlan name');
    const parent = checkLinkRef(fields.parent, 'macvlan parent');
    const mode = macvlanModes.number(fields.mode ?? 'bridge');
    return this.addEntry({
      op: { operation: 'create', object: `macvlan ${name} on ${describeLink(parent)}` },
      link: parent,
      write: (writer, index) => writer.append(encodeMacvlanCreate(name, index as number, mode)),
    });
  }

  /** `ip link add NAME link PARENT type vlan id ID`. */
  createVlan(spec: VlanSpec): this {
    const fields = checkObject(spec, 'vlan spec');
    const name = checkLinkName(fields.name, 'vlan name');
    const parent = checkLinkRef(fields.parent, 'vlan parent');
    const vlanId = checkInteger(fields.vlanId, 'VLAN id', 1, 4094);
    return this.addEntry({
      op: { operation: 'create', object: `vlan ${name} id ${vlanId} on ${describeLink(parent)}` },
      link: parent,
      write: (writer, index) => writer.append(encodeVlanCreate(name, index as number, vlanId)),
    });
  }

  /** `ip address add ADDR/PLEN [broadcast B] dev LINK`. */
  addAddress(spec: AddressSpec): this {
    return this.address('add', spec);
  }

  /** `ip address replace ADDR/PLEN dev LINK`. */
  replaceAddress(spec: AddressSpec): this {
    return this.address('replace', spec);
  }

  /** `ip address delete ADDR/PLEN dev LINK`. */
  deleteAddress(spec: AddressSpec): this {
    return this.address('delete', spec);
  }

  /** `ip route add DEST [via GW] [dev LINK] [metric N] [table T]`. */
  addRoute(spec: RouteSpec): this {
    return this.route('add', spec);
  }

  /** `ip route replace DEST ...`. */
  replaceRoute(spec: RouteSpec): this {
    return this.route('replace', spec);
  }

  /** `ip route delete DEST ...`. */
  deleteRoute(spec: RouteSpec): this {
    return this.route('delete', spec);
  }

  /** `ip neighbour replace ADDR lladdr MAC dev LINK nud permanent`. */
  replaceNeighbour(spec: NeighbourSpec): this {
    return this.neighbour('replace', spec);
  }

  /** `ip neighbour delete ADDR dev LINK`. */
  deleteNeighbour(spec: NeighbourSpec): this {
    return this.neighbour('delete', spec);
  }

  /**
   * Sends every request collected, in order, and resolves with one result per request.
   * Failures are results, not rejections. A name that cannot be resolved fails only the
   * requests that use it, which are not sent. An empty batch sends nothing.
   */
  async send(): Promise<BatchResult[]> {
    if (this.deferred.length === 0) {
      // Every request is encoded already: no lookup, and results map one to one.
      const { writer, ops } = this.take();
      if (writer === undefined) return [];
      const outcomes = await sendMessages(this.transport, writer.finish(), ops);
      return outcomes.map((outcome, i) => batchResult(outcome, ops[i] as Operation));
    }

    const { messages, ops, sent, results } = await this.encodeAll();
    if (messages !== undefined) {
      const outcomes = await sendMessages(this.transport, messages, ops);
      outcomes.forEach((outcome, i) => {
        results[sent[i] as number] = batchResult(outcome, ops[i] as Operation);
      });
    }
    return results;
  }

  /**
   * Takes the requests collected, resolves the link names they use and encodes them once,
   * for sending as often as needed (see PreparedBatch). Rejects with the error of the first
   * request whose link name cannot be resolved; nothing is sent, and the batch is empty
   * afterwards either way.
   */
  async prepare(): Promise<PreparedBatch> {
    const { messages, ops, results } = await this.encodeAll(true);
    for (const result of results) {
      if (result !== undefined && !result.ok) throw result.error;
    }
    return new PreparedBatch(this.transport, messages ?? Buffer.alloc(0), ops);
  }

  /**
   * Takes the requests collected and encodes them in order, after looking up the link
   * names they need. With `describeIndexes`, a request that named its link is described
   * with the index it was sent with. `results` contains the failure of each request whose name
   * could not be resolved and a hole for each request in `messages`. `sent[i]` is the
   * position in `results` of the i-th message.
   */
  private async encodeAll(describeIndexes = false): Promise<EncodedBatch> {
    const { writer, ops, deferred } = this.take();

    const names = linkNames(deferred);
    const resolved =
      names.length === 0 ? new Map<string, number | Error>() : await this.resolveNames(names);
    const encoded = ops.length;
    const results: BatchResult[] = new Array(encoded + deferred.length);
    // The requests encoded when they were added come first.
    const sent: number[] = ops.map((_, position) => position);
    const all = writer ?? new MessageWriter(MESSAGE_SIZE_ESTIMATE * Math.max(1, deferred.length));
    deferred.forEach((entry, i) => {
      const position = encoded + i;
      const link = entry.link;
      const index = typeof link === 'string' ? resolved.get(link) : link;
      if (index instanceof Error) {
        results[position] = { ok: false, op: entry.op, error: relabel(index, entry.op) };
        return;
      }
      sent.push(position);
      ops.push(
        describeIndexes && typeof link === 'string'
          ? {
              operation: entry.op.operation,
              object: `${entry.op.object} (index ${index} when prepared)`,
            }
          : entry.op,
      );
      entry.write(all, index);
    });
    return { messages: ops.length > 0 ? all.finish() : undefined, ops, sent, results };
  }

  /** Returns the requests collected and leaves the batch empty. */
  private take(): { writer: MessageWriter | undefined; ops: Operation[]; deferred: Entry[] } {
    const requests = { writer: this.writer, ops: this.ops, deferred: this.deferred };
    this.writer = undefined;
    this.ops = [];
    this.deferred = [];
    return requests;
  }

  /** Looks up link names that must become an index, in one batch of RTM_GETLINK. */
  private async resolveNames(names: string[]): Promise<Map<string, number | Error>> {
    const resolved = new Map<string, number | Error>();
    const outcomes = await this.transport.batch(
      names.map((name) => ({
        message: encodeLinkGet(name),
        op: { operation: 'get', object: `link ${name}` },
      })),
    );
    outcomes.forEach((outcome, i) => {
      const name = names[i] as string;
      if (!outcome.ok) {
        resolved.set(name, outcome.error);
        return;
      }
      const link = decodeLinks(outcome.payload)[0];
      resolved.set(
        name,
        link === undefined
          ? new Error(`get link ${name}: the kernel returned no link`)
          : link.index,
      );
    });
    return resolved;
  }

  private address(action: AddressAction, spec: AddressSpec): this {
    const address = checkAddressSpec(spec);
    const op = addressOperation(action, address);
    const link = address.link;
    if (typeof link === 'number' && this.deferred.length === 0) {
      writeAddressMessage(this.messages(), action, address, link);
      this.ops.push(op);
      return this;
    }
    return this.addEntry(new AddressEntry(op, action, address));
  }

  private route(action: RouteAction, spec: RouteSpec): this {
    const route = checkRouteSpec(spec, action);
    const op = routeOperation(action, route);
    const link = route.link;
    if (typeof link !== 'string' && this.deferred.length === 0) {
      writeRouteMessage(this.messages(), action, route, link);
      this.ops.push(op);
      return this;
    }
    return this.addEntry({
      op,
      link,
      write: (writer, index) => writeRouteMessage(writer, action, route, index),
    });
  }

  private neighbour(action: NeighbourAction, spec: NeighbourSpec): this {
    const neighbour = checkNeighbourSpec(spec);
    return this.addEntry({
      op: neighbourOperation(action, neighbour),
      link: neighbour.link,
      write: (writer, index) =>
        writer.append(neighbourRequest(action, neighbour, index as number).message),
    });
  }

  /** Adds a request whose message is complete: the kernel resolves a link name itself. */
  private addMessage(op: Operation, message: Buffer): this {
    if (this.deferred.length > 0) {
      this.deferred.push({ op, write: (writer) => writer.append(message) });
    } else {
      this.messages().append(message);
      this.ops.push(op);
    }
    return this;
  }

  /** Adds a request that carries a link index: encoded now when it has one and none waits. */
  private addEntry(entry: Entry): this {
    const link = entry.link;
    if (typeof link === 'string' || this.deferred.length > 0) {
      this.deferred.push(entry);
    } else {
      entry.write(this.messages(), link);
      this.ops.push(entry.op);
    }
    return this;
  }

  /** Returns the writer of the messages encoded so far, created on first use. */
  private messages(): MessageWriter {
    if (this.writer === undefined)
      this.writer = new MessageWriter(MESSAGE_SIZE_ESTIMATE * BATCH_SIZE_ESTIMATE);
    return this.writer;
  }
}

/** Returns the link names, each once, that requests of the batch need as an index. */
function linkNames(entries: readonly Entry[]): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    if (typeof entry.link === 'string') names.add(entry.link);
  }
  return [...names];
}

/** Restates a failed name lookup as a failure of the request that needed the name. */
function relabel(error: Error, op: Operation): Error {
  if (!(error instanceof NetlinkError)) return error;
  return restateNetlinkError(error, {
    operation: op.operation,
    object: op.object,
    ...(error.code === 'ENODEV' && { hint: NAME_NOT_FOUND_HINT }),
  });
}

const NAME_NOT_FOUND_HINT =
  'no link has this name; a link created in the same batch must be named in a later batch, or given by index';
