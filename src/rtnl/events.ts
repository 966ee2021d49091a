// Change notifications: decoding of multicast rtnetlink messages into events, and
// Subscription, which keeps a listener consistent across lost events.
//
// The kernel drops notifications when a socket's receive buffer is full and reports it once
// with ENOBUFS. A subscription then delivers `overflow` to the listener, dumps the subscribed
// kinds again and delivers the dumps as `resync`. Events that arrive while the dumps run are held
// back and delivered after `resync`, in order. Replaying them over the snapshot is safe
// because each event states an object's new state or its removal, and because the addon
// discards the notifications queued before the loss, which are older than the dropped ones.
import {
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
} from '../netlink/constants.js';
import { DumpInterruptedError } from '../netlink/errors.js';
import { type NetlinkMessage, parseMessages } from '../netlink/message.js';
import { decodeAddress } from './address.js';
import { checkBoolean, checkObject } from './arguments.js';
import { decodeLink } from './link.js';
import { decodeNeighbour } from './neighbour.js';
import { decodeRoute } from './route.js';
import type { Address, Link, Neighbour, Route } from './types.js';

/** Kinds of objects to watch. At least one must be true. */
export interface SubscribeKinds {
  links?: boolean;
  addresses?: boolean;
  routes?: boolean;
  neighbours?: boolean;
}

export type EventAction = 'new' | 'delete';

/** A decoded notification, or a subscription state change. */
export type RtnlEvent =
  | { kind: 'link'; action: EventAction; object: Link }
  | { kind: 'address'; action: EventAction; object: Address }
  | { kind: 'route'; action: EventAction; object: Route }
  | { kind: 'neighbour'; action: EventAction; object: Neighbour }
  /** The kernel dropped events. A `resync` follows once the state is dumped again. */
  | { kind: 'overflow' }
  /** The current state of every subscribed kind, dumped after an overflow. */
  | {
      kind: 'resync';
      links?: Link[];
      addresses?: Address[];
      routes?: Route[];
      neighbours?: Neighbour[];
    }
  /**
   * A notification that could not be decoded, or a failed resync. Dumps interrupted by
   * ongoing changes are tried again for about 5 s before a resync fails.
   */
  | { kind: 'error'; error: Error };

export type RtnlListener = (event: RtnlEvent) => void;

/**
 * Delays in ms before each extra resync round when every attempt of a dump was interrupted.
 * The kernel keeps sending notifications after a burst of changes, IPv6 address ones from
 * a work queue, so the dumps of a resync can keep failing for a while after the overflow.
 */
const INTERRUPTED_RESYNC_DELAYS_MS = [10, 40, 160, 640, 1000, 1000, 1000, 1000];

/** Checks the kinds argument of subscribe. */
export function checkSubscribeKinds(kinds: unknown): SubscribeKinds {
  const fields = checkObject(kinds, 'subscribe kinds');
  const checked: SubscribeKinds = {};
  for (const key of ['links', 'addresses', 'routes', 'neighbours'] as const) {
    if (fields[key] !== undefined) checked[key] = checkBoolean(fields[key], `subscribe ${key}`);
  }
  if (!checked.links && !checked.addresses && !checked.routes && !checked.neighbours) {
    throw new TypeError(
      'subscribe needs at least one of links, addresses, routes or neighbours set to true',
    );
  }
  return checked;
}

/** Multicast groups (RTNLGRP_*) that carry the notifications of the kinds. */
export function groupsOf(kinds: SubscribeKinds): number[] {
  const groups: number[] = [];
  if (kinds.links) groups.push(RTNLGRP_LINK);
  if (kinds.addresses) groups.push(RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR);
  if (kinds.routes) groups.push(RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE);
  if (kinds.neighbours) groups.push(RTNLGRP_NEIGH);
  return groups;
}

/**
 * Decodes notifications packed back to back into events of the subscribed kinds. A message
 * that cannot be decoded becomes an `error` event, and the others are still delivered.
 */
export function decodeEvents(payload: Buffer, kinds: SubscribeKinds): RtnlEvent[] {
  const events: RtnlEvent[] = [];
  let messages: NetlinkMessage[];
  try {
    messages = parseMessages(payload);
  } catch (error) {
    return [{ kind: 'error', error: error as Error }];
  }

  for (const message of messages) {
    try {
      const event = decodeEvent(payload, message, kinds);
      if (event !== undefined) events.push(event);
    } catch (error) {
      events.push({ kind: 'error', error: error as Error });
    }
  }
  return events;
}

function decodeEvent(
  payload: Buffer,
  message: NetlinkMessage,
  kinds: SubscribeKinds,
): RtnlEvent | undefined {
  switch (message.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      if (!kinds.links) return undefined;
      return {
        kind: 'link',
        action: message.type === RTM_NEWLINK ? 'new' : 'delete',
        object: decodeLink(payload, message),
      };
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      if (!kinds.addresses) return undefined;
      const object = decodeAddress(payload, message);
      if (object === undefined) return undefined;
      return { kind: 'address', action: message.type === RTM_NEWADDR ? 'new' : 'delete', object };
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      if (!kinds.routes) return undefined;
      const object = decodeRoute(payload, message);
      if (object === undefined) return undefined;
      return { kind: 'route', action: message.type === RTM_NEWROUTE ? 'new' : 'delete', object };
    }
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      if (!kinds.neighbours) return undefined;
      const object = decodeNeighbour(payload, message);
      if (object === undefined) return undefined;
      return {
        kind: 'neighbour',
        action: message.type === RTM_NEWNEIGH ? 'new' : 'delete',
        object,
      };
    }
    default:
      return undefined;
  }
}

/** Source of the dumps of a resync: the list methods of the handle. */
export interface StateSource {
  links: { list(): Promise<Link[]> };
  addresses: { list(): Promise<Address[]> };
  routes: { list(): Promise<Route[]> };
  neighbours: { list(): Promise<Neighbour[]> };
}

/** The socket a subscription reads from, as far as the subscription needs it. */
export interface EventSocket {
  close(): void;
}

/** Opens a socket joined to `groups` that calls back with notifications and on overflow. */
export type EventSocketOpener = (options: {
  groups: number[];
  receiveBuffer?: number;
  onEvent: (messages: Buffer) => void;
  onOverflow: () => void;
}) => EventSocket;

export interface SubscribeOptions {
  /** Receive buffer of the event socket in bytes (default 4 MiB). Larger buffers overflow later. */
  receiveBuffer?: number;
}

/**
 * A live subscription, like `ip monitor link address route` but recovering from lost
 * events. Events reach the listener in kernel order. After an overflow the listener gets
 * `overflow`, then `resync` with fresh dumps, then the events held back meanwhile.
 */
export class Subscription {
  private socket: EventSocket | undefined;
  private resyncing = false;
  private resyncAgain = false;
  private heldEvents: RtnlEvent[] = [];

  /** Opens the event socket. Call Rtnl.subscribe rather than this constructor. */
  constructor(
    private readonly kinds: SubscribeKinds,
    private readonly listener: RtnlListener,
    private readonly state: StateSource,
    open: EventSocketOpener,
    options: SubscribeOptions,
    private readonly onClose: (subscription: Subscription) => void,
  ) {
    const socketOptions: Parameters<EventSocketOpener>[0] = {
      groups: groupsOf(kinds),
      onEvent: (messages) => this.receive(messages),
      onOverflow: () => this.overflow(),
    };
    if (options.receiveBuffer !== undefined) socketOptions.receiveBuffer = options.receiveBuffer;
    this.socket = open(socketOptions);
  }

  /** False once close() ran. */
  get open(): boolean {
    return this.socket !== undefined;
  }

  /** Stops the subscription and closes its socket. Events that arrive later are dropped. */
  close(): void {
    if (this.socket === undefined) return;
    this.socket.close();
    this.socket = undefined;
    this.heldEvents = [];
    this.onClose(this);
  }

  /**
   * Dumps the subscribed kinds and delivers them as `resync`, as after an overflow. Call it
   * after an `error` event from a failed resync to try again.
   */
  async resync(): Promise<void> {
    if (this.socket === undefined) return;
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }

    this.resyncing = true;
    try {
      do {
        this.resyncAgain = false;
        const event = await this.dumpPatiently();
        if (event === undefined || this.socket === undefined) return;
        // A dump started before another overflow may miss what was lost then, so only the last counts.
        if (!this.resyncAgain) this.deliver(event);
      } while (this.resyncAgain);
    } catch (error) {
      this.deliver({ kind: 'error', error: error as Error });
    } finally {
      this.resyncing = false;
      const heldEvents = this.heldEvents;
      this.heldEvents = [];
      for (const event of heldEvents) this.deliver(event);
    }
  }

  // Dumps again after a wait while the dumps are interrupted by ongoing changes. Returns
  // undefined if the subscription closed meanwhile.
  private async dumpPatiently(): Promise<RtnlEvent | undefined> {
    for (const delay of INTERRUPTED_RESYNC_DELAYS_MS) {
      try {
        return await this.dump();
      } catch (error) {
        if (!(error instanceof DumpInterruptedError)) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.socket === undefined) return undefined;
    }
    return this.dump();
  }

  private async dump(): Promise<RtnlEvent> {
    const [links, addresses, routes, neighbours] = await Promise.all([
      this.kinds.links ? this.state.links.list() : undefined,
      this.kinds.addresses ? this.state.addresses.list() : undefined,
      this.kinds.routes ? this.state.routes.list() : undefined,
      this.kinds.neighbours ? this.state.neighbours.list() : undefined,
    ]);
    const event: RtnlEvent & { kind: 'resync' } = { kind: 'resync' };
    if (links !== undefined) event.links = links;
    if (addresses !== undefined) event.addresses = addresses;
    if (routes !== undefined) event.routes = routes;
    if (neighbours !== undefined) event.neighbours = neighbours;
    return event;
  }

  private receive(messages: Buffer): void {
    if (this.socket === undefined) return;
    for (const event of decodeEvents(messages, this.kinds)) {
      if (this.resyncing) this.heldEvents.push(event);
      else this.deliver(event);
    }
  }

  private overflow(): void {
    if (this.socket === undefined) return;
    this.deliver({ kind: 'overflow' });
    // Events held for a resync in progress predate the loss, and the next dump covers them.
    this.heldEvents = [];
    void this.resync();
  }

  /** Calls the listener. An exception it throws becomes an uncaught exception, as with EventEmitter. */
  private deliver(event: RtnlEvent): void {
    if (this.socket === undefined) return;
    try {
      this.listener(event);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}
