// F-Stack releases this project models, and what differs between them for f-stack.conf and KNI.
//
// NOTE: each version stands for its first release (1.21 is v1.21, not the 1.21.x LTS updates).
// The LTS updates backported newer behaviour: v1.21.5 raised INI_MAX_LINE to 2048 and added
// [vlanN] sections and the KNI rate limits, so those hosts read files like 1.24 does.

/** F-Stack release series, oldest first. */
export const FSTACK_VERSIONS = ['1.21', '1.22', '1.23', '1.24', '1.25'] as const;

export type FstackVersion = (typeof FSTACK_VERSIONS)[number];

/** The version assumed when none is given: the newest. */
export const DEFAULT_FSTACK_VERSION: FstackVersion = '1.25';

/** True when `text` names a modelled version. */
export function isFstackVersion(text: string): text is FstackVersion {
  return (FSTACK_VERSIONS as readonly string[]).includes(text);
}

/**
 * Returns the modelled version for `1.24`, `v1.24`, `1.24.1` or `dev` (also `dev-<commit>`,
 * read as the newest modelled release). Throws a RangeError that lists the accepted values.
 */
export function parseFstackVersion(text: string): FstackVersion {
  const trimmed = text.trim();
  if (/^dev(-[0-9a-z]+)?$/i.test(trimmed)) return DEFAULT_FSTACK_VERSION;

  const match = /^v?(\d+\.\d+)(\.\d+)?$/.exec(trimmed);
  if (match !== null && isFstackVersion(match[1] as string)) return match[1] as FstackVersion;
  throw new RangeError(
    `unsupported F-Stack version "${text}"; expected one of ${FSTACK_VERSIONS.join(', ')} or dev`,
  );
}

/** Compares two versions like a sort comparator. */
export function compareVersions(a: FstackVersion, b: FstackVersion): number {
  return FSTACK_VERSIONS.indexOf(a) - FSTACK_VERSIONS.indexOf(b);
}

/** True when `version` is at least `since` (and at most `until`, when given). */
export function versionInRange(
  version: FstackVersion,
  since: FstackVersion,
  until?: FstackVersion,
): boolean {
  if (compareVersions(version, since) < 0) return false;
  return until === undefined || compareVersions(version, until) <= 0;
}

/**
 * INI_MAX_LINE of lib/ff_ini_parser.h: the fgets buffer, NUL included, so the longest line
 * read whole is one byte shorter (its `\n` included). 200 up to 1.23, 2048 from 1.24.
 */
export function maxLineForVersion(version: FstackVersion): number {
  return compareVersions(version, '1.24') >= 0 ? 2048 : 200;
}

/** Kernel-side driver of F-Stack's exception path. */
export type KniBackend =
  /** rte_kni netdev from the rte_kni.ko module; carrier is off unless set. */
  | 'rte_kni'
  /** DPDK virtio_user port backed by vhost-kernel: a tap named veth<port>. */
  | 'virtio_user';

/** The kernel interface F-Stack creates for KNI under a version and `[kni] type`. */
export interface KniRealization {
  backend: KniBackend;
  /** True when the kernel interface needs its carrier switched on (rte_kni only). */
  needsCarrier: boolean;
}

/**
 * Returns how KNI is realized. Up to 1.23 it is always rte_kni. 1.24 uses virtio_user unless
 * built with FF_KNI_KNI and set to `type=0`. From 1.25 it is a virtio_user tap without a
 * carrier step.
 *
 * NOTE: 1.24 reads a missing `type` as 0, which selects rte_kni only in FF_KNI_KNI builds. The
 * build flags are not in the file, so an explicit `type=0` is taken to mean such a build and a
 * missing `type` the default build (virtio_user).
 */
export function kniRealization(version: FstackVersion, type: number | undefined): KniRealization {
  if (compareVersions(version, '1.23') <= 0) {
    return { backend: 'rte_kni', needsCarrier: true };
  }
  if (version === '1.24' && type === 0) {
    return { backend: 'rte_kni', needsCarrier: true };
  }
  return { backend: 'virtio_user', needsCarrier: false };
}
