// Public rtnetlink API: the handle, its services, the data types and the request encoders.

export { type AddressFilter, AddressService } from './address.js';
export { Batch } from './batch.js';
export {
  type EventAction,
  type RtnlEvent,
  type RtnlListener,
  type SubscribeKinds,
  type SubscribeOptions,
  Subscription,
} from './events.js';
export { Rtnl, type RtnlOptions } from './handle.js';
export {
  type BridgeSpec,
  type LinkChange,
  type LinkRef,
  LinkService,
  type MacvlanSpec,
  type VethSpec,
  type VlanSpec,
} from './link.js';
export { type NeighbourFilter, NeighbourService } from './neighbour.js';
export { type BatchResult, PreparedBatch } from './prepared-batch.js';
export { type RouteFilter, RouteService } from './route.js';
export type { BatchOutcome, Operation, RtnlTransport } from './transport.js';
export type * from './types.js';
