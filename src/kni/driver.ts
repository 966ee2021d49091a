// F-Stack versions and the kernel-side KNI driver each one uses.
//
// F-Stack <= 1.23 (DPDK <= 21.11) creates veth<N> with the rte_kni kernel module. 1.24
// (DPDK 22.11) uses virtio_user unless built with FF_KNI_KNI and configured with
// `[kni] type=0`. From 1.25 (DPDK 23.11) rte_kni is gone and virtio_user always creates a
// tap through vhost-kernel. Source: F-Stack lib/ff_dpdk_kni.c and lib/ff_config.c, tags
// v1.21 to v1.25.

/** The kernel driver behind veth<N>. */
export type KniDriver = 'rte_kni' | 'virtio_user';

/** A parsed F-Stack version; `dev` sorts after every release. */
export interface FstackVersion {
  /** The text as given, e.g. `1.23` or `dev`. */
  text: string;
  major: number;
  minor: number;
  dev: boolean;
}

/** The version assumed when neither the command line nor the caller names one. */
export const DEFAULT_FSTACK_VERSION = '1.25';

/**
 * Parses `1.23`, `v1.23`, `1.23.1`, `1.24` or `dev` (also `dev-<commit>`). Throws a
 * RangeError for anything else.
 */
export function parseFstackVersion(text: string): FstackVersion {
  const trimmed = text.trim();
  if (/^dev(-[0-9a-z]+)?$/i.test(trimmed)) {
    return { text: trimmed, major: Number.MAX_SAFE_INTEGER, minor: 0, dev: true };
  }

  const match = /^v?(\d+)\.(\d+)(\.\d+)?$/.exec(trimmed);
  if (match === null) {
    throw new RangeError(`invalid F-Stack version "${text}": expected e.g. 1.23, 1.25 or dev`);
  }
  return { text: trimmed, major: Number(match[1]), minor: Number(match[2]), dev: false };
}

/** True when `version` is at least major.minor. */
export function versionAtLeast(version: FstackVersion, major: number, minor: number): boolean {
  if (version.dev) return true;
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** Returns the driver F-Stack uses for veth<N>; `kniType` is `[kni] type` (read by 1.24 only). */
export function kniDriver(version: FstackVersion, kniType: number | undefined): KniDriver {
  if (!versionAtLeast(version, 1, 24)) return 'rte_kni';
  if (!versionAtLeast(version, 1, 25) && kniType === 0) return 'rte_kni';
  return 'virtio_user';
}

/**
 * True when the carrier must be set by hand: rte_kni starts with the carrier off unless the
 * module was loaded with `carrier=on`, while a virtio_user tap has carrier as long as
 * F-Stack holds it open.
 */
export function driverNeedsCarrier(driver: KniDriver): boolean {
  return driver === 'rte_kni';
}

/** True when F-Stack reads `[kni] kni_action` (added in 1.21). */
export function supportsKniAction(version: FstackVersion): boolean {
  return versionAtLeast(version, 1, 21);
}

/** True when a multicast destination MAC is classified before NDP and ports (1.24 on). */
export function classifiesMulticastFirst(version: FstackVersion): boolean {
  return versionAtLeast(version, 1, 24);
}

/** Short name of the driver for messages. */
export function describeDriver(driver: KniDriver): string {
  return driver === 'rte_kni'
    ? 'rte_kni netdev (module rte_kni.ko)'
    : 'tap created by DPDK virtio_user over /dev/vhost-net';
}
