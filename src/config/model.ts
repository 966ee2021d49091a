// The typed view of f-stack.conf that the rest of fstack-kni consumes: what F-Stack reads from
// the file, value by value, with the place each value came from and every finding about it.
//
// Values are the text F-Stack keeps after its own trimming and comment rules; numbers and lists
// are what its C parsers make of that text. Nothing is normalized beyond that, so callers see
// exactly what F-Stack reads (an address with a trailing "# lab" stays broken, and a warning
// reports it).

// fs.promises is read only when loadConfig runs, so the CLI bundle (CommonJS) loads
// node:fs/promises only for commands that read a file asynchronously.
import { promises as fs } from 'node:fs';

import { scanSectionId } from './c-parsers.js';
import { type Diagnostic, sortDiagnostics } from './diagnostics.js';
import { type ConfigDocument, parseDocument } from './document.js';
import { runHandler } from './handler.js';
import { type IniScan, tokenize } from './ini.js';
import { type FileSnapshot, snapshotOf } from './snapshot.js';
import { validate } from './validate.js';
import {
  DEFAULT_FSTACK_VERSION,
  type FstackVersion,
  type KniRealization,
  maxLineForVersion,
  parseFstackVersion,
} from './versions.js';

export type { Diagnostic, DiagnosticCode, Severity } from './diagnostics.js';
export type { ConfigDocument } from './document.js';
export type { FileSnapshot } from './snapshot.js';
export type { FstackVersion, KniRealization } from './versions.js';

/** A place in the file: physical line and byte column, both 1-based. */
export interface SourceLocation {
  line: number;
  column: number;
}

/** Source locations of a section's values, by f-stack.conf key name (`addr`, `tcp_port`, ...). */
export type SourceMap = Record<string, SourceLocation>;

/** `[dpdk]`. */
export interface DpdkConfig {
  /** `port_list` as F-Stack reads it: sorted port ids, each cut to 16 bits; empty when absent. */
  portList: number[];
  /** `lcore_mask` text. */
  lcoreMask?: string;
  /** The lcores `lcore_mask` enables, ascending (what F-Stack calls proc_lcore). */
  lcores: number[];
  /** `vlan_filter` as F-Stack reads it (1.24 and later); empty when absent. */
  vlanFilter: number[];
  /** `nb_vdev` through atoi; 0 when absent. */
  nbVdev: number;
  /** `nb_bond` through atoi; 0 when absent. */
  nbBond: number;
  /** Every `[dpdk]` key the version reads, with the last value F-Stack kept. */
  values: Map<string, string>;
  sources: SourceMap;
}

/** `[portN]`, or a port of `port_list` that has no section. */
export interface PortConfig {
  /** Port id: N of `[portN]`. */
  id: number;
  /** True when the id is in `port_list` (F-Stack only configures those). */
  listed: boolean;
  /** `addr`: IPv4 address text. F-Stack requires it for listed ports; bad text becomes 0.0.0.0. */
  addr?: string;
  /** `netmask`: IPv4 netmask text (required for listed ports). */
  netmask?: string;
  /** `broadcast`: IPv4 broadcast text (required for listed ports). */
  broadcast?: string;
  /** `gateway`: IPv4 default gateway text (required for listed ports). */
  gateway?: string;
  /** `addr6`: IPv6 address text. */
  addr6?: string;
  /** `prefix_len` through atoi; F-Stack uses 64 when absent or 0. */
  prefixLen?: number;
  /** `gateway6`: IPv6 default gateway text. */
  gateway6?: string;
  /** `vip_addr` split at `;` as F-Stack splits it (at most 64 items, the last keeps the rest). */
  vipAddr: string[];
  /** `vip_addr6` split the same way. */
  vipAddr6: string[];
  /** `vip_prefix_len` through atoi; F-Stack uses 64 when absent or 0. */
  vipPrefixLen?: number;
  /** `vip_ifname`. */
  vipIfName?: string;
  /** `if_name`: kernel name of the NIC. */
  ifName?: string;
  /** `lcore_list` as F-Stack reads it; undefined when absent (F-Stack then uses every lcore of lcore_mask). */
  lcoreList?: number[];
  /** `slave_port_list` of a bonding port. */
  slavePortList?: number[];
  /** `ipfw_pr` text (1.24 and later). */
  ipfwPr?: string;
  /** The first `[portN]` header, when the port has a section. */
  section?: SourceLocation;
  sources: SourceMap;
}

/**
 * `[vlanN]` (1.24 and later) whose id is in `vlan_filter` and whose `portid` attaches it to a
 * configured port. F-Stack ignores other VLAN sections, and a warning reports each.
 */
export interface VlanConfig {
  /** VLAN id: N of `[vlanN]`. */
  vlanId: number;
  /** `portid`: the port carrying the VLAN. */
  portId: number;
  addr?: string;
  netmask?: string;
  broadcast?: string;
  gateway?: string;
  addr6?: string;
  /** `prefix_len` through atoi; 64 when absent or 0. */
  prefixLen?: number;
  gateway6?: string;
  vipAddr: string[];
  vipAddr6: string[];
  vipPrefixLen?: number;
  section: SourceLocation;
  sources: SourceMap;
}

/** `[kni]`: the exception path between F-Stack and the kernel. */
export interface KniConfig {
  /** True when the file has an active (not commented-out) `[kni]` header. */
  present: boolean;
  /** `enable` through atoi is non-zero. */
  enable: boolean;
  /** `method` text: `accept` or `reject` (F-Stack compares case-insensitively). */
  method?: string;
  /** `tcp_port` text. */
  tcpPort?: string;
  /** `udp_port` text. */
  udpPort?: string;
  /** TCP destination ports F-Stack's silent KNI parser matches for `tcp_port`, sorted. */
  tcpPorts: number[];
  /** UDP destination ports matched for `udp_port`, sorted. */
  udpPorts: number[];
  /** `kni_action` text: `alltokni`, `alltoff` or `default`. */
  kniAction?: string;
  /** `type` through atoi (1.24 only): 0 rte_kni in FF_KNI_KNI builds, 1 virtio_user. */
  type?: number;
  /** `console_packets_ratelimit` through atoi (1.24 and later); 0 or absent means no limit. */
  consolePacketsRatelimit?: number;
  /** `general_packets_ratelimit` through atoi. */
  generalPacketsRatelimit?: number;
  /** `kernel_packets_ratelimit` through atoi. */
  kernelPacketsRatelimit?: number;
  /** The kernel interface F-Stack creates under the chosen version and `type`. */
  realization: KniRealization;
  sources: SourceMap;
}

/** A numbered section kept as plain values: `[vdevN]`, `[bondN]`. */
export interface NumberedSection {
  id: number;
  values: Map<string, string>;
  section: SourceLocation;
  sources: SourceMap;
}

/** One handler call F-Stack makes: a `name=value` line or a continuation line. */
export interface ConfigEntry {
  section: string;
  name: string;
  value: string;
  /** Position of the name (of the text, for a continuation line). */
  line: number;
  column: number;
  /** Position of the value. */
  valueColumn: number;
  /** True for an indented line that continues the previous key. */
  continuation: boolean;
  /** F-Stack's own line number (a line cut by the length limit counts twice). */
  iniLine: number;
  /**
   * Outcome of the handler call: `applied`, `ignored` (unknown, out of range, not for this
   * version) or `failed` (the handler rejected it and F-Stack stops).
   */
  status: 'applied' | 'ignored' | 'failed';
  /** True when it comes after the point where F-Stack stops reading. */
  afterStop: boolean;
}

/** A `[section]` header. */
export interface SectionHeader {
  /** The name F-Stack keeps (at most 49 bytes). */
  name: string;
  line: number;
  column: number;
}

/** Everything F-Stack reads from f-stack.conf. */
export interface FstackConfig {
  dpdk: DpdkConfig;
  /**
   * Ports F-Stack keeps a configuration for, by id: once any `[portN]` key is read, every port
   * of `port_list`, plus `[portN]` sections up to the highest listed id.
   */
  ports: Map<number, PortConfig>;
  /** VLANs F-Stack attaches to a port, by VLAN id. */
  vlans: Map<number, VlanConfig>;
  vdevs: Map<number, NumberedSection>;
  bonds: Map<number, NumberedSection>;
  kni: KniConfig;
  /** `[pcap]` values. */
  pcap: Map<string, string>;
  /** `[rss_check]` values (1.25). */
  rssCheck: Map<string, string>;
  /** FreeBSD tunables of `[freebsd.boot]` and `[freebsd.sysctl]`, in file order. */
  freebsd: { boot: ConfigEntry[]; sysctl: ConfigEntry[] };
  /** Every handler call in file order, known or not. */
  entries: ConfigEntry[];
  /** Every active section header in file order. */
  sections: SectionHeader[];
}

/** Position where F-Stack stops reading: the first syntax error or rejected value. */
export interface StopPoint {
  line: number;
  column: number;
  /** The line number F-Stack prints in "parse ... failed on line N". */
  iniLine: number;
}

/** A parsed file with its findings. */
export interface LoadedConfig {
  /** File name used in diagnostics. */
  file: string;
  version: FstackVersion;
  /** The lossless document (serializes back to the same bytes). */
  document: ConfigDocument;
  /**
   * What F-Stack reads. When the file has errors, values after F-Stack's stop point are still
   * read (as if the failing lines were absent), so diagnostics can cover the whole file. Those
   * entries carry `afterStop`, and `stop` is the position where F-Stack itself stops.
   */
  config: FstackConfig;
  diagnostics: Diagnostic[];
  stop?: StopPoint;
  /** The tokenizer's events, for editing. */
  scan: IniScan;
  /** Identity of the file as read, for the changed-since-read check of writes (loadConfig only). */
  snapshot?: FileSnapshot;
}

/** Options of parseConfig and loadConfig. */
export interface ParseOptions {
  /** File name for diagnostics; default `f-stack.conf`. */
  file?: string;
  /** F-Stack version whose rules apply; default 1.25. Accepts `1.24`, `v1.24`, `1.24.1`, `dev`. */
  fstackVersion?: FstackVersion | string;
}

/**
 * Parses f-stack.conf text or bytes as F-Stack does and validates it. Never throws on content;
 * throws a RangeError for an unsupported version.
 */
export function parseConfig(text: string | Uint8Array, options: ParseOptions = {}): LoadedConfig {
  const version = parseFstackVersion(options.fstackVersion ?? DEFAULT_FSTACK_VERSION);
  const file = options.file ?? 'f-stack.conf';
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return analyzeDocument(parseDocument(bytes), { file, version });
}

/**
 * Returns the message for a config file that does not exist. systemd sets INVOCATION_ID in
 * the environment of every unit it runs, and there the unit's sandbox may hide the file.
 */
export function missingConfigMessage(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const message = `f-stack.conf not found: ${path}; give --config PATH`;
  if (env.INVOCATION_ID === undefined) return message;
  return (
    `${message}. Under systemd, also check that the unit's sandbox does not hide it: ` +
    'ProtectHome= hides /home, /root and /run/user, and PrivateTmp= hides /tmp and /var/tmp'
  );
}

/** Returns the message for a --config path that names a directory (EISDIR on read). */
export function configDirectoryMessage(path: string): string {
  return `${path} is a directory, not a config file; give --config the path of f-stack.conf itself, e.g. --config ${path.replace(/\/+$/, '')}/f-stack.conf`;
}

/** Reads and parses a file. Throws the file system error when it cannot be read. */
export async function loadConfig(
  path: string,
  options: { fstackVersion?: FstackVersion | string } = {},
): Promise<LoadedConfig> {
  const bytes = await fs.readFile(path);
  const loaded = parseConfig(bytes, { file: path, ...options });
  return { ...loaded, snapshot: await snapshotOf(path, bytes) };
}

/** Parses and validates a document (used again after edits). */
export function analyzeDocument(
  document: ConfigDocument,
  options: { file: string; version: FstackVersion },
): LoadedConfig {
  const scan = tokenize(document, { maxLine: maxLineForVersion(options.version) });
  const run = runHandler(scan, options.version);
  const diagnostics = sortDiagnostics(
    validate({ file: options.file, version: options.version, document, scan, run }),
  );
  return {
    file: options.file,
    version: options.version,
    document,
    config: run.config,
    diagnostics,
    ...(run.stop !== undefined ? { stop: run.stop } : {}),
    scan,
  };
}

/** The effective value of a key: the last handler call F-Stack applies for it. */
export interface KeyValue {
  section: string;
  name: string;
  value: string;
  line: number;
  column: number;
}

/**
 * Returns the last value F-Stack reads for `section`/`name`, or undefined. Numbered sections
 * match the way F-Stack scans them, so `port0` also finds a `[port 0]` section.
 */
export function getValue(
  config: FstackConfig,
  section: string,
  name: string,
): KeyValue | undefined {
  const expected = canonicalSectionName(section);
  for (let i = config.entries.length - 1; i >= 0; i--) {
    const entry = config.entries[i] as ConfigEntry;
    if (
      entry.name === name &&
      entry.status !== 'failed' &&
      canonicalSectionName(entry.section) === expected
    ) {
      return {
        section: entry.section,
        name,
        value: entry.value,
        line: entry.line,
        column: entry.valueColumn,
      };
    }
  }
  return undefined;
}

/** `port 0`, `port00` and `port0` all name port 0 for F-Stack's sscanf("port%d"). */
function canonicalSectionName(section: string): string {
  for (const prefix of ['port', 'vlan', 'vdev', 'bond']) {
    if (!section.startsWith(prefix)) continue;
    const id = scanSectionId(section, prefix);
    return id !== undefined && id >= 0 ? `${prefix}${id}` : section;
  }
  return section;
}
