// Public rtnetlink API: the handle, its services, the data types and the request encoders.
export { Rtnl, type RtnlOptions } from './handle.js';
export { Batch, type BatchResult } from './batch.js';
export {
  Subscription,
  type EventAction,
  type RtnlEvent,
  type RtnlListener,
  type SubscribeKinds,
  type SubscribeOptions,
} from './events.js';
export {
  LinkService,
  type BridgeSpec,
  type LinkChange,
  type LinkRef,
  type MacvlanSpec,
  type VethSpec,
  type VlanSpec,
} from './link.js';
export { AddressService, type AddressFilter } from './address.js';
export { RouteService, type RouteFilter } from './route.js';
export { NeighbourService, type NeighbourFilter } from './neighbour.js';
export type { Operation, RtnlTransport, BatchOutcome } from './transport.js';
export type * from './types.js';
