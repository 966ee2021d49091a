// Rtnl: one rtnetlink handle for one network namespace, composing the per-object services.
import { constants } from 'node:os';
import { NetlinkError } from '../netlink/errors.js';
import { NetlinkSocket, REOPEN_HINT } from '../netlink/socket.js';
import { AddressService } from './address.js';
import { checkInteger, checkObject } from './arguments.js';
import { Batch } from './batch.js';
import {
  checkSubscribeKinds,
  type EventSocketOpener,
  type RtnlListener,
  type SubscribeKinds,
  type SubscribeOptions,
  Subscription,
} from './events.js';
import { LinkService } from './link.js';
import { NeighbourService } from './neighbour.js';
import { RouteService } from './route.js';
import type { RtnlTransport } from './transport.js';
import type { NetnsTarget } from './types.js';

export interface RtnlOptions {
  /** Namespace to work in. Default: the namespace of the calling process. */
  netns?: NetnsTarget;
  /** Receive buffer of the request socket in bytes. Default: NetlinkSocket's, 4 MiB. */
  receiveBuffer?: number;
}

/**
 * A handle on the links, addresses, routes and neighbours of one network namespace, over
 * one NETLINK_ROUTE socket opened with extended acks and strict checking. Handles are
 * independent, so open one per namespace and close it when done.
 *
 *   const nl = Rtnl.open({ netns: { name: 'kni' } });
 *   await nl.links.setUp('veth0', true);
 *   await nl.addresses.add({ link: 'veth0', address: '192.0.2.79', prefixLength: 24 });
 *   nl.close();
 */
export class Rtnl {
  readonly links: LinkService;
  readonly addresses: AddressService;
  readonly routes: RouteService;
  readonly neighbours: NeighbourService;

  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  /** Use Rtnl.open, or Rtnl.fromTransport for another transport. */
  private constructor(
    private readonly transport: RtnlTransport,
    private readonly openEvents: EventSocketOpener | undefined,
  ) {
    this.links = new LinkService(transport);
    this.addresses = new AddressService(transport);
    this.routes = new RouteService(transport);
    this.neighbours = new NeighbourService(transport);
  }

  /**
   * Opens a handle. With `netns`, the socket is created inside that namespace, as
   * `ip -n NAME` does. A namespace given by fd must stay open while the handle subscribes.
   */
  static open(options: RtnlOptions = {}): Rtnl {
    const fields = checkObject(options, 'Rtnl options');
    const netns =
      fields.netns === undefined ? undefined : (checkObject(fields.netns, 'netns') as NetnsTarget);
    const receiveBuffer =
      fields.receiveBuffer === undefined
        ? undefined
        : checkInteger(fields.receiveBuffer, 'receive buffer', 1, 0x7fffffff);

    const socket = NetlinkSocket.open({
      ...(netns && { netns }),
      ...(receiveBuffer !== undefined && { receiveBuffer }),
    });
    const openEvents: EventSocketOpener = (events) =>
      NetlinkSocket.open({
        ...(netns && { netns }),
        groups: events.groups,
        ...(events.receiveBuffer !== undefined && { receiveBuffer: events.receiveBuffer }),
        onEvent: events.onEvent,
        onOverflow: events.onOverflow,
      });
    return new Rtnl(socket, openEvents);
  }

  /**
   * Builds a handle over any transport, such as a recording fake in tests. Without
   * `openEvents`, subscribe raises an Error.
   */
  static fromTransport(transport: RtnlTransport, openEvents?: EventSocketOpener): Rtnl {
    return new Rtnl(transport, openEvents);
  }

  /** Starts a batch: several requests in one send, one result each. See Batch. */
  batch(): Batch {
    this.checkOpen();
    return new Batch(this.transport);
  }

  /**
   * Watches changes, as `ip monitor link address route` does, on a socket of its own. The
   * listener gets decoded events in kernel order. After lost events it gets `overflow`,
   * then `resync` with fresh dumps of the subscribed kinds, and the subscription carries on.
   */
  subscribe(
    kinds: SubscribeKinds,
    listener: RtnlListener,
    options: SubscribeOptions = {},
  ): Subscription {
    this.checkOpen();
    const checkedKinds = checkSubscribeKinds(kinds);
    if (typeof listener !== 'function')
      throw new TypeError('subscribe listener must be a function');
    const fields = checkObject(options, 'subscribe options');
    const checkedOptions: SubscribeOptions = {};
    if (fields.receiveBuffer !== undefined) {
      checkedOptions.receiveBuffer = checkInteger(
        fields.receiveBuffer,
        'receive buffer',
        1,
        0x7fffffff,
      );
    }
    if (this.openEvents === undefined) throw new Error('this handle has no event socket opener');

    const subscription = new Subscription(
      checkedKinds,
      listener,
      this,
      this.openEvents,
      checkedOptions,
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Closes the handle and its subscriptions. Pending requests fail with ECANCELED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of [...this.subscriptions]) subscription.close();
    this.transport.close();
  }

  /** Throws NetlinkError kind `closed` (ECANCELED) once close() was called. */
  private checkOpen(): void {
    if (this.closed) {
      throw new NetlinkError({
        kind: 'closed',
        errno: constants.errno.ECANCELED,
        operation: 'use the rtnetlink handle',
        unsent: true,
        hint: REOPEN_HINT,
      });
    }
  }
}
