// Version rules of the kernel side of KNI, on top of the F-Stack versions of the config model
// (src/config/versions.ts): which driver creates veth<N> and how packets are steered.
import { type FstackVersion, type KniBackend, versionInRange } from '../config/versions.js';

export {
  type FstackVersion,
  type KniBackend,
  kniRealization,
  parseFstackVersion,
} from '../config/versions.js';

/**
 * True when a multicast destination MAC is classified before NDP and ports, as
 * protocol_filter() in F-Stack's lib/ff_dpdk_if.c does from 1.24 on.
 */
export function classifiesMulticastFirst(version: FstackVersion): boolean {
  return versionInRange(version, '1.24');
}

/** Short description of the kernel interface each backend creates, for messages. */
export function describeBackend(backend: KniBackend): string {
  return backend === 'rte_kni'
    ? 'rte_kni netdev from module rte_kni.ko'
    : 'tap created by DPDK virtio_user over /dev/vhost-net';
}
