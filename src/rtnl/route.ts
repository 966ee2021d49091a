// Routes: RTM_NEWROUTE, RTM_DELROUTE and RTM_GETROUTE requests, decoding into Route, and
// RouteService. Defaults follow `ip route` (iproute2 6.1, ip/iproute.c): protocol boot, type
// unicast, table main (local for local, broadcast and anycast routes), and a scope derived
// from the type and gateway. Deletions match any protocol, type and scope unless given.

import {
  formatIp,
  hasHostBits,
  type IpAddress,
  maxPrefixLength,
  networkAddress,
} from '../net/ip.js';
import { AttributeIterator, attributeSize } from '../netlink/attributes.js';
import {
  AF_INET,
  AF_INET6,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLMSG_HDRLEN,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_SIZE,
  RTN_ANYCAST,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from '../netlink/constants.js';
import {
  MessageBuilder,
  MessageWriter,
  messageBody,
  type NetlinkMessage,
  parseMessages,
  readRtmsg,
  writeRtmsg,
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
import { routeProtocols, routeTypes, scopes } from './names.js';
import { type EncodedRequest, hasErrno, type Operation, type RtnlTransport } from './transport.js';
import type { Family, Route, RouteSpec } from './types.js';

/** Filters of a route listing. Each one set is sent to the kernel and applied again here. */
export interface RouteFilter {
  /** Only routes of this table. Default: every table. */
  table?: number;
  family?: Family;
  /** Only routes out of this link (RTA_OIF), by index or name. */
  link?: LinkRef;
}

export type RouteAction = 'add' | 'replace' | 'delete';

/** A RouteSpec after checking, with the defaults of its action filled in. */
export interface CheckedRoute {
  family: Family;
  /** Network bytes, undefined for the default route. */
  destination?: Uint8Array;
  prefixLength: number;
  gateway?: Uint8Array;
  link?: LinkRef;
  metric?: number;
  table: number;
  scope: number;
  protocol: number;
  type: number;
  preferredSource?: Uint8Array;
  /** `ip route` words for messages: `198.51.100.0/24 via 192.0.2.1 dev veth0 table 100`. */
  text: string;
}

const MAX_TABLE = 0xffffffff;

// --- Checking and encoding ---

/** Splits `destination` into network and prefix length. 'default' has neither. */
function checkDestination(
  destination: unknown,
  prefixLength: unknown,
): { address?: IpAddress; prefixLength?: number } {
  if (typeof destination !== 'string') {
    throw new TypeError(
      `route destination must be 'default' or a network string, got ${describe(destination)}`,
    );
  }
  if (destination === 'default') {
    if (prefixLength !== undefined && prefixLength !== 0) {
      throw new RangeError(
        `route destination 'default' cannot have prefix length ${String(prefixLength)}`,
      );
    }
    return {};
  }

  const slash = destination.indexOf('/');
  const address = checkIp(
    slash < 0 ? destination : destination.slice(0, slash),
    'route destination',
  );
  let length: number;
  if (slash < 0) {
    length =
      prefixLength === undefined
        ? maxPrefixLength(address.family)
        : checkPrefixLength(prefixLength, address.family);
  } else {
    const text = destination.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(text)) {
      throw new TypeError(
        `route destination ${JSON.stringify(destination)} has an invalid prefix length`,
      );
    }
    length = checkPrefixLength(
      Number(text),
      address.family,
      `prefix length of route destination ${destination}`,
    );
    if (prefixLength !== undefined && prefixLength !== length) {
      throw new RangeError(
        `route destination ${destination} contradicts prefixLength ${String(prefixLength)}`,
      );
    }
  }

  if (hasHostBits(address.bytes, length)) {
    const network = networkAddress(address.bytes, length);
    throw new RangeError(
      `route destination ${formatIp(address.bytes)}/${length} has host bits set; use ${formatIp(network)}/${length}`,
    );
  }
  return { address, prefixLength: length };
}

/** Checks a RouteSpec for an action. Raises TypeError or RangeError naming the bad value. */
export function checkRouteSpec(spec: unknown, action: RouteAction): CheckedRoute {
  const fields = checkObject(spec, 'route spec');
  const destination = checkDestination(fields.destination, fields.prefixLength);
  const gateway = fields.gateway === undefined ? undefined : checkIp(fields.gateway, 'gateway');
  const source =
    fields.preferredSource === undefined
      ? undefined
      : checkIp(fields.preferredSource, 'preferred source');

  // Every address given must agree on the family. Without any, the family option or IPv4 applies.
  const family =
    checkFamily(fields.family, 'route family') ??
    destination.address?.family ??
    gateway?.family ??
    source?.family ??
    4;
  checkRouteFamily('destination', destination.address, family);
  checkRouteFamily('gateway', gateway, family);
  checkRouteFamily('preferred source', source, family);

  const deleting = action === 'delete';
  const type =
    fields.type === undefined
      ? deleting
        ? RTN_UNSPEC
        : RTN_UNICAST
      : routeTypes.number(fields.type);
  const protocol =
    fields.protocol === undefined
      ? deleting
        ? RTPROT_UNSPEC
        : RTPROT_BOOT
      : routeProtocols.number(fields.protocol);
  const localTable =
    type === RTN_LOCAL || type === RTN_BROADCAST || type === RTN_ANYCAST || type === RTN_NAT;
  const table =
    fields.table === undefined
      ? localTable
        ? RT_TABLE_LOCAL
        : RT_TABLE_MAIN
      : checkInteger(fields.table, 'route table', 1, MAX_TABLE);
  const scope =
    fields.scope === undefined
      ? defaultScope(action, type, gateway !== undefined)
      : scopes.number(fields.scope);

  const checked: CheckedRoute = {
    family,
    prefixLength: destination.prefixLength ?? 0,
    table,
    scope,
    protocol,
    type,
    text: '',
  };
  if (destination.address !== undefined) checked.destination = destination.address.bytes;
  if (gateway !== undefined) checked.gateway = gateway.bytes;
  if (source !== undefined) checked.preferredSource = source.bytes;
  if (fields.link !== undefined) checked.link = checkLinkRef(fields.link, 'route link');
  if (fields.metric !== undefined)
    checked.metric = checkInteger(fields.metric, 'route metric', 0, 0xffffffff);
  checked.text = describeRoute(checked);
  return checked;
}

function checkRouteFamily(role: string, address: IpAddress | undefined, family: Family): void {
  if (address !== undefined && address.family !== family) {
    throw new RangeError(
      `route ${role} ${formatIp(address.bytes)} is IPv${address.family}, but the route is IPv${family}`,
    );
  }
}

/** The scope `ip route` picks: host for local, link for broadcast and direct routes, else universe. */
function defaultScope(action: RouteAction, type: number, hasGateway: boolean): number {
  if (type === RTN_LOCAL || type === RTN_NAT) return RT_SCOPE_HOST;
  if (type === RTN_BROADCAST || type === RTN_MULTICAST || type === RTN_ANYCAST)
    return RT_SCOPE_LINK;
  if (type === RTN_UNICAST || type === RTN_UNSPEC) {
    if (action === 'delete') return RT_SCOPE_NOWHERE;
    if (!hasGateway) return RT_SCOPE_LINK;
  }
  return RT_SCOPE_UNIVERSE;
}

function describeRoute(route: CheckedRoute): string {
  let text =
    route.type === RTN_UNICAST || route.type === RTN_UNSPEC
      ? ''
      : `${String(routeTypes.name(route.type))} `;
  text +=
    route.destination === undefined
      ? 'default'
      : `${formatIp(route.destination)}/${route.prefixLength}`;
  if (route.gateway !== undefined) text += ` via ${formatIp(route.gateway)}`;
  if (route.link !== undefined) text += ` dev ${describeLink(route.link)}`;
  if (route.table !== RT_TABLE_MAIN) text += ` table ${route.table}`;
  if (route.metric !== undefined) text += ` metric ${route.metric}`;
  return text;
}

/**
 * Encodes RTM_NEWROUTE or RTM_DELROUTE. A table above 255 goes in RTA_TABLE with
 * rtm_table RT_TABLE_UNSPEC, as `ip` sends it.
 */
export function encodeRoute(
  type: number,
  flags: number,
  route: CheckedRoute,
  oif: number | undefined,
): Buffer {
  const writer = new MessageWriter(routeMessageSize(route, oif));
  writeRoute(writer, type, flags, route, oif);
  return writer.finish();
}

/** Writes the message encodeRoute returns into `writer`, after the messages already in it. */
export function writeRoute(
  writer: MessageWriter,
  type: number,
  flags: number,
  route: CheckedRoute,
  oif: number | undefined,
): void {
  writer.begin(type, flags);
  writeRtmsg(writer, {
    family: route.family === 4 ? AF_INET : AF_INET6,
    destinationLength: route.prefixLength,
    table: route.table < 256 ? route.table : 0,
    protocol: route.protocol,
    scope: route.scope,
    type: route.type,
  });
  if (route.destination !== undefined && route.prefixLength > 0)
    writer.bytes(RTA_DST, route.destination);
  if (route.table >= 256) writer.u32(RTA_TABLE, route.table);
  if (route.gateway !== undefined) writer.bytes(RTA_GATEWAY, route.gateway);
  if (oif !== undefined) writer.u32(RTA_OIF, oif);
  if (route.metric !== undefined) writer.u32(RTA_PRIORITY, route.metric);
  if (route.preferredSource !== undefined) writer.bytes(RTA_PREFSRC, route.preferredSource);
  writer.end();
}

/**
 * Size of the message encodeRoute writes. A builder of exactly that size returns its
 * buffer without a copy or a view; a wrong size would only cost that, not correctness.
 */
function routeMessageSize(route: CheckedRoute, oif: number | undefined): number {
  let size = NLMSG_HDRLEN + RTMSG_SIZE;
  if (route.destination !== undefined && route.prefixLength > 0)
    size += attributeSize(route.destination.length);
  if (route.table >= 256) size += attributeSize(4);
  if (route.gateway !== undefined) size += attributeSize(route.gateway.length);
  if (oif !== undefined) size += attributeSize(4);
  if (route.metric !== undefined) size += attributeSize(4);
  if (route.preferredSource !== undefined) size += attributeSize(route.preferredSource.length);
  return size;
}

const ACTION_MESSAGE: Record<RouteAction, { type: number; flags: number }> = {
  add: { type: RTM_NEWROUTE, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL },
  replace: { type: RTM_NEWROUTE, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE },
  delete: { type: RTM_DELROUTE, flags: NLM_F_ACK },
};

/** Description of a route request for errors: `add` + `route default via 192.0.2.1 dev veth0`. */
export function routeOperation(action: RouteAction, route: CheckedRoute): Operation {
  return { operation: action, object: `route ${route.text}` };
}

/** Encodes the message of a route request whose link, if any, is already an index. */
export function routeMessage(
  action: RouteAction,
  route: CheckedRoute,
  oif: number | undefined,
): Buffer {
  const { type, flags } = ACTION_MESSAGE[action];
  return encodeRoute(type, flags, route, oif);
}

/** Writes the message routeMessage returns into `writer`, after the messages already in it. */
export function writeRouteMessage(
  writer: MessageWriter,
  action: RouteAction,
  route: CheckedRoute,
  oif: number | undefined,
): void {
  const { type, flags } = ACTION_MESSAGE[action];
  writeRoute(writer, type, flags, route, oif);
}

/** Encodes a route request whose link, if any, is already an index. */
export function routeRequest(
  action: RouteAction,
  route: CheckedRoute,
  oif: number | undefined,
): EncodedRequest {
  return { message: routeMessage(action, route, oif), op: routeOperation(action, route) };
}

/**
 * RTM_GETROUTE dump. With strict checking the kernel filters by family, table (rtm_table and
 * RTA_TABLE) and output link (RTA_OIF) itself.
 */
export function encodeRouteDump(family?: Family, table?: number, oif?: number): Buffer {
  const builder = new MessageBuilder(RTM_GETROUTE, NLM_F_DUMP);
  writeRtmsg(builder, {
    family: familyNumber(family),
    table: table !== undefined && table < 256 ? table : 0,
  });
  if (table !== undefined) builder.u32(RTA_TABLE, table);
  if (oif !== undefined) builder.u32(RTA_OIF, oif);
  return builder.finish();
}

// --- Decoding ---

/**
 * Decodes an RTM_NEWROUTE or RTM_DELROUTE message. A longer rtmsg than known is skipped over.
 * Returns undefined for families other than IPv4 and IPv6.
 */
export function decodeRoute(
  buffer: Buffer,
  message: NetlinkMessage,
  headerLength = RTMSG_SIZE,
): Route | undefined {
  const body = messageBody(message, headerLength, RTMSG_SIZE, 'rtmsg');
  const header = readRtmsg(buffer, body.headerOffset);
  if (header.family !== AF_INET && header.family !== AF_INET6) return undefined;

  const route: Route = {
    family: header.family === AF_INET ? 4 : 6,
    destination: 'default',
    prefixLength: header.destinationLength,
    table: header.table,
    scope: scopes.name(header.scope),
    protocol: routeProtocols.name(header.protocol),
    type: routeTypes.name(header.type),
    flags: header.flags,
  };

  // NOTE: multipath routes (RTA_MULTIPATH) are decoded without their next hops.
  for (
    const attribute = new AttributeIterator(buffer, body.attributesOffset, body.end);
    attribute.next();
  ) {
    switch (attribute.type) {
      case RTA_DST:
        if (header.destinationLength > 0) route.destination = formatIp(attribute.ipBytes());
        break;
      case RTA_GATEWAY:
        route.gateway = formatIp(attribute.ipBytes());
        break;
      case RTA_OIF:
        route.index = attribute.u32();
        break;
      case RTA_PRIORITY:
        route.metric = attribute.u32();
        break;
      case RTA_TABLE:
        route.table = attribute.u32();
        break;
      case RTA_PREFSRC:
        route.preferredSource = formatIp(attribute.ipBytes());
        break;
      default:
        break;
    }
  }
  return route;
}

/** Decodes every route message of a reply payload. */
export function decodeRoutes(payload: Buffer | undefined): Route[] {
  if (payload === undefined) return [];
  const routes: Route[] = [];
  for (const message of parseMessages(payload)) {
    if (message.type !== RTM_NEWROUTE) continue;
    const route = decodeRoute(payload, message);
    if (route !== undefined) routes.push(route);
  }
  return routes;
}

// --- Service ---

/** Route operations of one rtnetlink handle. */
export class RouteService {
  constructor(private readonly transport: RtnlTransport) {}

  /**
   * Lists routes: `ip route show table all`, or `ip route show table 100 dev veth0` with
   * filters, and `ip -6` for IPv6 only. Route cache entries (exceptions) are left out. A
   * table that does not exist lists as empty.
   */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const fields = checkObject(filter, 'route filter');
    const family = checkFamily(fields.family);
    const table =
      fields.table === undefined
        ? undefined
        : checkInteger(fields.table, 'route table', 1, MAX_TABLE);
    const link = fields.link === undefined ? undefined : checkLinkRef(fields.link);
    const op = {
      operation: 'list',
      object: `routes${table === undefined ? '' : ` in table ${table}`}${link === undefined ? '' : ` on ${describeLink(link)}`}`,
    };
    const oif = link === undefined ? undefined : await resolveLinkIndex(this.transport, link, op);

    let payload: Buffer;
    try {
      payload = await this.transport.dump(encodeRouteDump(family, table, oif), op);
    } catch (error) {
      if (table !== undefined && hasErrno(error, 'ENOENT')) return [];
      throw error;
    }
    return decodeRoutes(payload).filter(
      (route) =>
        (family === undefined || route.family === family) &&
        (table === undefined || route.table === table) &&
        (oif === undefined || route.index === oif),
    );
  }

  // add, replace and delete return send's promise instead of awaiting it in an async
  // function of their own: one promise and two microtask turns less per request.

  /**
   * Adds a route, or rejects with EEXIST when it is there already:
   * `ip route add default via 192.0.2.1 dev veth0 metric 100`,
   * `ip route add 198.51.100.0/24 dev veth0 table 100`, `ip route add blackhole 203.0.113.0/24`.
   */
  add(spec: RouteSpec): Promise<void> {
    return this.send('add', spec);
  }

  /** Adds a route or replaces the one with the same key: `ip route replace default via 192.0.2.1`. */
  replace(spec: RouteSpec): Promise<void> {
    return this.send('replace', spec);
  }

  /** Deletes a route: `ip route delete 198.51.100.0/24 dev veth0 table 100`. */
  delete(spec: RouteSpec): Promise<void> {
    return this.send('delete', spec);
  }

  private async send(action: RouteAction, spec: RouteSpec): Promise<void> {
    const route = checkRouteSpec(spec, action);
    const op = routeOperation(action, route);
    const link = route.link;
    const oif =
      link === undefined || typeof link === 'number'
        ? link
        : await resolveLinkIndex(this.transport, link, op);
    await this.transport.request(routeMessage(action, route, oif), op);
  }
}
