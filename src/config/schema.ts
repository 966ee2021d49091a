// Sections and keys that F-Stack's config handler (lib/ff_config.c, ini_parse_handler) reads
// in each version, with the kind of value each key takes.
//
// Sources: the handlers of lib/ff_config.c and the sample config.ini shipped with each release.
// Where a release renamed a key in steps (pci_whitelist became allow from 1.23 on, while some
// 1.24 builds still read pci_whitelist), both names are listed for the overlapping versions,
// so neither is reported as unknown there.
import { type FstackVersion, versionInRange } from './versions.js';

/** Parsing rule F-Stack applies to a value. */
export type ValueKind =
  /** atoi(): leading digits, garbage reads as 0. */
  | 'integer'
  /** strdup(): kept as text. */
  | 'string'
  /** Kept as text and later given to inet_pton(AF_INET). */
  | 'ipv4'
  /** Kept as text and later given to inet_pton(AF_INET6). */
  | 'ipv6'
  /** `;`-separated IPv4 addresses (vip_addr). */
  | 'ipv4-list'
  /** `;`-separated IPv6 addresses (vip_addr6). */
  | 'ipv6-list'
  /** Comma-separated numbers and ranges, parsed at once; junk stops F-Stack. */
  | 'number-list'
  /** Hexadecimal CPU mask, parsed at once; junk stops F-Stack. */
  | 'lcore-mask'
  /** KNI port list, read later by a silent parser (lib/ff_dpdk_kni.c). */
  | 'kni-ports'
  /** One of a fixed set of words, compared case-insensitively at startup. */
  | 'enum';

/** One key of a section. */
export interface KeySpec {
  name: string;
  kind: ValueKind;
  /** First version that reads the key. */
  since: FstackVersion;
  /** Last version that reads the key, when it was removed. */
  until?: FstackVersion;
  /** Allowed words for `enum` keys. */
  values?: readonly string[];
  /** One-line description for help and messages. */
  summary: string;
}

/** Section kinds: fixed names, numbered families (`port0`), or free-form FreeBSD tunables. */
export type SectionKind =
  | 'dpdk'
  | 'kni'
  | 'pcap'
  | 'rss_check'
  | 'port'
  | 'vlan'
  | 'vdev'
  | 'bond'
  | 'freebsd.boot'
  | 'freebsd.sysctl';

/** One section kind and its keys. */
export interface SectionSpec {
  kind: SectionKind;
  /** Name prefix for numbered families (`port` for `[port0]`), else the exact name. */
  prefix: string;
  numbered: boolean;
  since: FstackVersion;
  /** Known keys; empty for the FreeBSD sections, which take any tunable name. */
  keys: readonly KeySpec[];
  /** True when any key name is accepted (FreeBSD tunables). */
  anyKey: boolean;
}

const key = (
  name: string,
  kind: ValueKind,
  summary: string,
  since: FstackVersion = '1.21',
  extra: Partial<KeySpec> = {},
): KeySpec => ({ name, kind, summary, since, ...extra });

const DPDK_KEYS: readonly KeySpec[] = [
  key('lcore_mask', 'lcore-mask', 'hexadecimal mask of the CPU cores F-Stack runs on'),
  key('channel', 'integer', 'number of memory channels'),
  key('memory', 'integer', 'megabytes of hugepage memory (EAL -m)'),
  key('no_huge', 'integer', 'non-zero runs without hugepages'),
  key('base_virtaddr', 'string', 'base virtual address for the shared memory map'),
  key('file_prefix', 'string', 'EAL file prefix'),
  key('pci_whitelist', 'string', 'PCI devices to use (DPDK 19.11 name)', '1.21', { until: '1.24' }),
  key('allow', 'string', 'PCI devices to use (DPDK 20.11 and later)', '1.23'),
  key('log_level', 'integer', 'DPDK log level'),
  key('fstack_log_level', 'integer', 'F-Stack log file level, 0 logs to stdout', '1.24'),
  key('fstack_log_file_prefix', 'string', 'F-Stack log file prefix', '1.24'),
  key('port_list', 'number-list', 'enabled DPDK port ids; must come before any [portN]'),
  key('nb_vdev', 'integer', 'number of [vdevN] sections; must come before them'),
  key('nb_bond', 'integer', 'number of [bondN] sections; must come before them'),
  key('promiscuous', 'integer', 'non-zero puts the NIC in promiscuous mode'),
  key('numa_on', 'integer', 'non-zero enables NUMA awareness'),
  key('tso', 'integer', 'non-zero enables TCP segmentation offload'),
  key(
    'tx_csum_offoad_skip',
    'integer',
    'non-zero skips TX checksum offload (F-Stack spells it this way)',
  ),
  key('vlan_strip', 'integer', 'non-zero enables hardware VLAN stripping'),
  key('vlan_filter', 'number-list', 'VLAN ids to accept; must come before any [vlanN]', '1.24'),
  key('idle_sleep', 'integer', 'microseconds to sleep when idle'),
  key('pkt_tx_delay', 'integer', 'microseconds to wait before sending a short burst'),
  key('symmetric_rss', 'integer', 'non-zero uses a symmetric RSS key'),
];

const KNI_KEYS: readonly KeySpec[] = [
  key('enable', 'integer', 'non-zero enables the KNI exception path'),
  key(
    'method',
    'enum',
    'accept: listed ports go to the kernel; reject: listed ports stay in F-Stack',
    '1.21',
    {
      values: ['accept', 'reject'],
    },
  ),
  key('tcp_port', 'kni-ports', 'TCP destination ports matched by method'),
  key('udp_port', 'kni-ports', 'UDP destination ports matched by method'),
  key(
    'kni_action',
    'enum',
    'alltokni, alltoff or default (use method and the port lists)',
    '1.21',
    {
      values: ['alltokni', 'alltoff', 'default'],
    },
  ),
  key('type', 'integer', '0 rte_kni (FF_KNI_KNI builds), 1 virtio_user', '1.24', { until: '1.24' }),
  key(
    'console_packets_ratelimit',
    'integer',
    'packets per second of console traffic (ARP, OSPF) to KNI, 0 no limit',
    '1.24',
  ),
  key(
    'general_packets_ratelimit',
    'integer',
    'packets per second of other traffic to KNI, 0 no limit',
    '1.24',
  ),
  key(
    'kernel_packets_ratelimit',
    'integer',
    'packets per second from KNI to the kernel, 0 no limit',
    '1.24',
  ),
];

const ADDRESS_KEYS: readonly KeySpec[] = [
  key('addr', 'ipv4', 'IPv4 address'),
  key('netmask', 'ipv4', 'IPv4 netmask'),
  key('broadcast', 'ipv4', 'IPv4 broadcast address'),
  key('gateway', 'ipv4', 'IPv4 default gateway'),
  key('addr6', 'ipv6', 'IPv6 address'),
  key('prefix_len', 'integer', 'IPv6 prefix length, 64 when absent'),
  key('gateway6', 'ipv6', 'IPv6 default gateway'),
];

const PORT_KEYS: readonly KeySpec[] = [
  ...ADDRESS_KEYS,
  key('if_name', 'string', 'kernel name of the NIC', '1.22'),
  key('lcore_list', 'number-list', 'lcores that handle this port; each must be in lcore_mask'),
  key('slave_port_list', 'number-list', 'bonding slave port ids'),
  key('vip_ifname', 'string', 'F-Stack interface name for the virtual addresses', '1.22'),
  key('vip_addr', 'ipv4-list', 'virtual IPv4 addresses separated by ;, installed as /32', '1.22'),
  key('vip_addr6', 'ipv6-list', 'virtual IPv6 addresses separated by ;', '1.22'),
  key('vip_prefix_len', 'integer', 'prefix length of every vip_addr6', '1.22'),
  key('ipfw_pr', 'string', 'simple policy routes: "network netmask" pairs separated by ;', '1.24'),
];

const VLAN_KEYS: readonly KeySpec[] = [
  key('portid', 'integer', 'port the VLAN belongs to', '1.24'),
  ...ADDRESS_KEYS.map((spec) => ({ ...spec, since: '1.24' as const })),
  key('vip_addr', 'ipv4-list', 'virtual IPv4 addresses separated by ;', '1.24'),
  key('vip_addr6', 'ipv6-list', 'virtual IPv6 addresses separated by ;', '1.24'),
  key('vip_prefix_len', 'integer', 'prefix length of every vip_addr6', '1.24'),
  key('ipfw_pr', 'string', 'simple policy routes: "network netmask" pairs separated by ;', '1.24'),
];

const VDEV_KEYS: readonly KeySpec[] = [
  key('iface', 'string', 'vhost-user interface path (normally unset)'),
  key('path', 'string', 'vhost-user socket path'),
  key('queues', 'integer', 'number of queues'),
  key('queue_size', 'integer', 'queue size'),
  key('mac', 'string', 'MAC address'),
  key('cq', 'integer', 'non-zero enables the control queue'),
];

const BOND_KEYS: readonly KeySpec[] = [
  key('mode', 'integer', 'bonding mode'),
  key('slave', 'string', 'slave devices'),
  key('primary', 'string', 'primary slave device'),
  key('socket_id', 'integer', 'NUMA socket'),
  key('mac', 'string', 'MAC address'),
  key('xmit_policy', 'string', 'transmit hash policy'),
  key('lsc_poll_period_ms', 'integer', 'link status poll period in milliseconds'),
  key('up_delay', 'integer', 'link up delay in milliseconds'),
  key('down_delay', 'integer', 'link down delay in milliseconds'),
];

const PCAP_KEYS: readonly KeySpec[] = [
  key('enable', 'integer', 'non-zero dumps packets to pcap files'),
  key('snaplen', 'integer', 'bytes captured per packet'),
  key('savelen', 'integer', 'bytes per pcap file before the next one starts'),
  key('savepath', 'string', 'directory of the pcap files'),
];

const RSS_CHECK_KEYS: readonly KeySpec[] = [
  key('enable', 'integer', 'non-zero builds the static ff_rss_check table', '1.25'),
  key('rss_tbl', 'string', '"port daddr saddr sport" tuples separated by ;', '1.25'),
];

/** Every section kind F-Stack reads. */
export const SECTIONS: readonly SectionSpec[] = [
  { kind: 'dpdk', prefix: 'dpdk', numbered: false, since: '1.21', keys: DPDK_KEYS, anyKey: false },
  { kind: 'pcap', prefix: 'pcap', numbered: false, since: '1.21', keys: PCAP_KEYS, anyKey: false },
  { kind: 'port', prefix: 'port', numbered: true, since: '1.21', keys: PORT_KEYS, anyKey: false },
  { kind: 'vlan', prefix: 'vlan', numbered: true, since: '1.24', keys: VLAN_KEYS, anyKey: false },
  { kind: 'vdev', prefix: 'vdev', numbered: true, since: '1.21', keys: VDEV_KEYS, anyKey: false },
  { kind: 'bond', prefix: 'bond', numbered: true, since: '1.21', keys: BOND_KEYS, anyKey: false },
  {
    kind: 'rss_check',
    prefix: 'rss_check',
    numbered: false,
    since: '1.25',
    keys: RSS_CHECK_KEYS,
    anyKey: false,
  },
  { kind: 'kni', prefix: 'kni', numbered: false, since: '1.21', keys: KNI_KEYS, anyKey: false },
  {
    kind: 'freebsd.boot',
    prefix: 'freebsd.boot',
    numbered: false,
    since: '1.21',
    keys: [],
    anyKey: true,
  },
  {
    kind: 'freebsd.sysctl',
    prefix: 'freebsd.sysctl',
    numbered: false,
    since: '1.21',
    keys: [],
    anyKey: true,
  },
];

/** A section name matched to its kind, with the number of numbered families. */
export interface SectionMatch {
  spec: SectionSpec;
  /** The number after the prefix for `[portN]`-style names. */
  id?: number;
}

/**
 * Matches a section name exactly as a well-formed name (`kni`, `port0`); undefined for
 * anything else, including names F-Stack would still route to a handler (`[port 1]`).
 */
export function matchSection(name: string): SectionMatch | undefined {
  for (const spec of SECTIONS) {
    if (!spec.numbered) {
      if (name === spec.prefix) return { spec };
      continue;
    }
    const match = /^([a-z]+)(0|[1-9][0-9]{0,4})$/.exec(name);
    if (match !== null && match[1] === spec.prefix) return { spec, id: Number(match[2]) };
  }
  return undefined;
}

/** Returns the spec of a section kind. */
export function sectionSpec(kind: SectionKind): SectionSpec {
  const spec = SECTIONS.find((candidate) => candidate.kind === kind);
  if (spec === undefined) throw new RangeError(`unknown section kind "${kind}"`);
  return spec;
}

/** Returns the key spec of `name` in a section kind, whatever the version. */
export function keySpec(kind: SectionKind, name: string): KeySpec | undefined {
  return sectionSpec(kind).keys.find((spec) => spec.name === name);
}

/** True when the version reads this key. */
export function keyKnownIn(spec: KeySpec, version: FstackVersion): boolean {
  return versionInRange(version, spec.since, spec.until);
}

/** Returns the keys of a section kind that the version reads. */
export function keysForVersion(kind: SectionKind, version: FstackVersion): KeySpec[] {
  return sectionSpec(kind).keys.filter((spec) => keyKnownIn(spec, version));
}

/** Describes the versions that read a key, such as "1.24" or "1.22 and later". */
export function describeVersions(since: FstackVersion, until?: FstackVersion): string {
  if (until === undefined) return `${since} and later`;
  if (until === since) return since;
  return `${since} to ${until}`;
}
