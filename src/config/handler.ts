// F-Stack's config handler (ini_parse_handler and the section handlers of lib/ff_config.c)
// replayed over the tokenizer's events: which calls it applies, ignores or rejects, and the
// resulting configuration. A rejected call makes F-Stack stop reading the file. Here reading
// goes on, so later lines can be checked too, and the stop point is recorded.
import {
  atoi,
  DPDK_MAX_LCORE,
  DPDK_MAX_VLAN_FILTER,
  kniPortSet,
  type ListFailure,
  parseConfigList,
  parseLcoreMask,
  RTE_MAX_ETHPORTS,
  rteStrsplit,
  scanSectionId,
  VIP_MAX_NUM,
} from './c-parsers.js';
import type { Finding } from './diagnostics.js';
import type { IniEvent, IniPairEvent, IniScan } from './ini.js';
import type {
  ConfigEntry,
  FstackConfig,
  NumberedSection,
  PortConfig,
  SourceLocation,
  StopPoint,
  VlanConfig,
} from './model.js';
import { keyKnownIn, keySpec, type SectionKind } from './schema.js';
import { compareVersions, type FstackVersion, kniRealization } from './versions.js';

/** The handler's result. */
export interface HandlerRun {
  config: FstackConfig;
  stop?: StopPoint;
  /** Rejected calls (errors) found while replaying. */
  findings: Finding[];
  /** State the validators need beyond the config. */
  state: HandlerState;
}

/** F-Stack's parser state at the end of the file. */
export interface HandlerState {
  /** nb_ports: 0 until port_list is read; RTE_MAX_ETHPORTS when port_list was empty. */
  nbPorts: number;
  maxPortId: number;
  /** True when port_list was empty, so F-Stack works from uninitialized port ids. */
  portListEmpty: boolean;
  nbVlanFilter: number;
  /** VLAN sections seen with a usable id, whether or not F-Stack used them. */
  vlanSections: Map<number, VlanSectionState>;
  /** Port sections whose id is above the highest listed port (F-Stack ignores them). */
  portsAboveMax: Map<number, SourceLocation>;
}

/** A `[vlanN]` section as seen, before deciding whether F-Stack uses it. */
export interface VlanSectionState {
  vlan: VlanConfig;
  inFilter: boolean;
  /** `portid` as read, when present. */
  portId?: number;
  /** True when `portid` named a port above max_portid (ignored by F-Stack). */
  portIgnored: boolean;
}

type Outcome = { status: 'applied' | 'ignored' } | { status: 'failed'; finding: Finding };

const applied: Outcome = { status: 'applied' };
const ignored: Outcome = { status: 'ignored' };

/** Replays F-Stack's handler over the events of a scan. */
export function runHandler(scan: IniScan, version: FstackVersion): HandlerRun {
  const replay = new Replay(version);
  for (const event of scan.events) replay.handle(event);
  return replay.finish();
}

class Replay {
  readonly config: FstackConfig;
  readonly findings: Finding[] = [];
  readonly state: HandlerState = {
    nbPorts: 0,
    maxPortId: 0,
    portListEmpty: false,
    nbVlanFilter: 0,
    vlanSections: new Map(),
    portsAboveMax: new Map(),
  };
  stop: StopPoint | undefined;
  portCfgsAllocated = false;
  vlanCfgsAllocated = false;

  constructor(readonly version: FstackVersion) {
    this.config = {
      dpdk: {
        portList: [],
        lcores: [],
        vlanFilter: [],
        nbVdev: 0,
        nbBond: 0,
        values: new Map(),
        sources: {},
      },
      ports: new Map(),
      vlans: new Map(),
      vdevs: new Map(),
      bonds: new Map(),
      kni: {
        present: false,
        enable: false,
        tcpPorts: [],
        udpPorts: [],
        realization: kniRealization(version, undefined),
        sources: {},
      },
      pcap: new Map(),
      rssCheck: new Map(),
      freebsd: { boot: [], sysctl: [] },
      entries: [],
      sections: [],
    };
  }

  handle(event: IniEvent): void {
    if (event.kind === 'error') {
      this.stopAt(event.pos.line, event.pos.column, event.iniLine);
      return;
    }
    if (event.kind === 'section') {
      this.config.sections.push({
        name: event.name,
        line: event.pos.line,
        column: event.pos.column,
      });
      if (event.name === 'kni') this.config.kni.present = true;
      return;
    }

    const entry: ConfigEntry = {
      section: event.section,
      name: event.name,
      value: event.value,
      line: event.pos.line,
      column: event.pos.column,
      valueColumn: event.valuePos.column,
      continuation: event.continuation,
      iniLine: event.iniLine,
      status: 'applied',
      afterStop: this.stop !== undefined,
    };
    const outcome = this.dispatch(event, entry);
    entry.status = outcome.status;
    this.config.entries.push(entry);
    if (outcome.status === 'failed') {
      this.findings.push(outcome.finding);
      this.stopAt(event.pos.line, event.pos.column, event.iniLine);
    }
  }

  finish(): HandlerRun {
    const { kni } = this.config;
    kni.tcpPorts = kniPortSet(kni.tcpPort);
    kni.udpPorts = kniPortSet(kni.udpPort);
    kni.realization = kniRealization(this.version, kni.type);
    this.attachVlans();
    return {
      config: this.config,
      ...(this.stop ? { stop: this.stop } : {}),
      findings: this.findings,
      state: this.state,
    };
  }

  private stopAt(line: number, column: number, iniLine: number): void {
    if (this.stop === undefined) this.stop = { line, column, iniLine };
  }

  /** ini_parse_handler: the first matching branch handles the call. */
  private dispatch(event: IniPairEvent, entry: ConfigEntry): Outcome {
    const { section, name } = event;

    if (section === 'dpdk' && this.knows('dpdk', name)) return this.dpdk(event);
    if (section === 'kni' && this.knows('kni', name)) return this.kni(event);
    if (section === 'freebsd.boot') {
      this.config.freebsd.boot.push(entry);
      return applied;
    }
    if (section === 'freebsd.sysctl') {
      this.config.freebsd.sysctl.push(entry);
      return applied;
    }
    if (section.startsWith('port')) return this.port(event);
    if (section.startsWith('vlan') && compareVersions(this.version, '1.24') >= 0)
      return this.vlan(event);
    if (section.startsWith('vdev'))
      return this.numbered(event, 'vdev', this.config.vdevs, this.config.dpdk.nbVdev);
    if (section.startsWith('bond'))
      return this.numbered(event, 'bond', this.config.bonds, this.config.dpdk.nbBond);
    if (section === 'pcap') {
      if (!this.knows('pcap', name)) return ignored;
      this.config.pcap.set(name, event.value);
      return applied;
    }
    if (section === 'rss_check' && compareVersions(this.version, '1.25') >= 0)
      return this.rssCheck(event);
    return ignored;
  }

  private knows(kind: SectionKind, name: string): boolean {
    const spec = keySpec(kind, name);
    return spec !== undefined && keyKnownIn(spec, this.version);
  }

  private dpdk(event: IniPairEvent): Outcome {
    const { dpdk } = this.config;
    const { name, value } = event;
    dpdk.values.set(name, value);
    dpdk.sources[name] = location(event);

    switch (name) {
      case 'lcore_mask': {
        dpdk.lcoreMask = value;
        const mask = parseLcoreMask(value);
        if (mask.failure !== undefined) {
          return fail(
            event,
            'lcore-mask-invalid',
            lcoreMaskMessage(value, mask.failure),
            {
              fix: 'write a hexadecimal mask with at least one bit set, e.g. lcore_mask=1 for lcore 0',
            },
            'value',
          );
        }
        dpdk.lcores = mask.lcores;
        return applied;
      }
      case 'port_list': {
        const list = parseConfigList(value, RTE_MAX_ETHPORTS);
        if (list.failure !== undefined) return listFailure(event, list.failure, RTE_MAX_ETHPORTS);
        if (list.empty) {
          this.state.portListEmpty = true;
          this.state.nbPorts = RTE_MAX_ETHPORTS;
          this.state.maxPortId = 65535;
          dpdk.portList = [];
          return applied;
        }
        this.state.portListEmpty = false;
        dpdk.portList = list.values;
        this.state.nbPorts = list.values.length;
        this.state.maxPortId = list.values[list.values.length - 1] as number;
        return applied;
      }
      case 'vlan_filter': {
        const list = parseConfigList(value, DPDK_MAX_VLAN_FILTER);
        if (list.failure !== undefined)
          return listFailure(event, list.failure, DPDK_MAX_VLAN_FILTER);
        dpdk.vlanFilter = list.values;
        this.state.nbVlanFilter = list.empty ? DPDK_MAX_VLAN_FILTER : list.values.length;
        return applied;
      }
      case 'nb_vdev':
        dpdk.nbVdev = atoi(value);
        return applied;
      case 'nb_bond':
        dpdk.nbBond = atoi(value);
        return applied;
      default:
        return applied;
    }
  }

  private kni(event: IniPairEvent): Outcome {
    const { kni } = this.config;
    const { name, value } = event;
    kni.sources[name] = location(event);

    switch (name) {
      case 'enable':
        kni.enable = atoi(value) !== 0;
        break;
      case 'method':
        kni.method = value;
        break;
      case 'tcp_port':
        kni.tcpPort = value;
        break;
      case 'udp_port':
        kni.udpPort = value;
        break;
      case 'kni_action':
        kni.kniAction = value;
        break;
      case 'type':
        kni.type = atoi(value);
        break;
      case 'console_packets_ratelimit':
        kni.consolePacketsRatelimit = atoi(value);
        break;
      case 'general_packets_ratelimit':
        kni.generalPacketsRatelimit = atoi(value);
        break;
      case 'kernel_packets_ratelimit':
        kni.kernelPacketsRatelimit = atoi(value);
        break;
    }
    return applied;
  }

  /** port_cfg_handler. */
  private port(event: IniPairEvent): Outcome {
    if (this.state.nbPorts === 0) {
      return fail(
        event,
        'port-before-port-list',
        `[${event.section}] comes before [dpdk] port_list, so F-Stack stops here`,
        {
          fix: 'move port_list into [dpdk] above every [portN] section',
        },
      );
    }
    this.allocatePorts();

    const id = scanSectionId(event.section, 'port');
    if (id === undefined) {
      return fail(
        event,
        'section-id-invalid',
        `F-Stack routes [${event.section}] to the port handler but finds no port number in it, so it stops here`,
        {
          value: event.section,
          fix: 'name port sections port<N> with N from port_list, e.g. [port0]',
        },
      );
    }
    if (id < 0) {
      return fail(
        event,
        'section-id-invalid',
        `[${event.section}] has a negative port number; F-Stack would write outside its port table`,
        {
          value: event.section,
          fix: 'name port sections port<N> with N from port_list, e.g. [port0]',
        },
      );
    }
    if (id > this.state.maxPortId) {
      if (!this.state.portsAboveMax.has(id)) this.state.portsAboveMax.set(id, location(event));
      return ignored;
    }

    const port = this.portConfig(id, event);
    if (!this.knows('port', event.name)) return ignored;
    port.sources[event.name] = location(event);
    return this.applyAddressKey(port, event) ?? this.applyPortOnlyKey(port, event);
  }

  private allocatePorts(): void {
    if (this.portCfgsAllocated) return;
    this.portCfgsAllocated = true;
    for (const id of this.config.dpdk.portList) this.portConfig(id, undefined);
  }

  private portConfig(id: number, event: IniPairEvent | undefined): PortConfig {
    let port = this.config.ports.get(id);
    if (port === undefined) {
      port = {
        id,
        listed: this.config.dpdk.portList.includes(id),
        vipAddr: [],
        vipAddr6: [],
        sources: {},
      };
      this.config.ports.set(id, port);
    }
    if (event !== undefined && port.section === undefined) {
      const header = [...this.config.sections]
        .reverse()
        .find((section) => section.name === event.section);
      port.section =
        header !== undefined ? { line: header.line, column: header.column } : location(event);
    }
    return port;
  }

  /** Keys shared by [portN] and [vlanN]; undefined when `name` is not one of them. */
  private applyAddressKey(
    target: PortConfig | VlanConfig,
    event: IniPairEvent,
  ): Outcome | undefined {
    const { name, value } = event;
    switch (name) {
      case 'addr':
        target.addr = value;
        return applied;
      case 'netmask':
        target.netmask = value;
        return applied;
      case 'broadcast':
        target.broadcast = value;
        return applied;
      case 'gateway':
        target.gateway = value;
        return applied;
      case 'addr6':
        target.addr6 = value;
        return applied;
      case 'prefix_len':
        target.prefixLen = atoi(value);
        return applied;
      case 'gateway6':
        target.gateway6 = value;
        return applied;
      case 'vip_prefix_len':
        target.vipPrefixLen = atoi(value);
        return applied;
      case 'vip_addr': {
        // vip_cfg_handler keeps the previous list when the new value splits into nothing.
        const items = rteStrsplit(value, ';', VIP_MAX_NUM);
        if (items.length > 0) target.vipAddr = items;
        return applied;
      }
      case 'vip_addr6': {
        const items = rteStrsplit(value, ';', VIP_MAX_NUM);
        if (items.length > 0) target.vipAddr6 = items;
        return applied;
      }
      default:
        return undefined;
    }
  }

  private applyPortOnlyKey(port: PortConfig, event: IniPairEvent): Outcome {
    const { name, value } = event;
    switch (name) {
      case 'if_name':
        port.ifName = value;
        return applied;
      case 'vip_ifname':
        port.vipIfName = value;
        return applied;
      case 'ipfw_pr':
        port.ipfwPr = value;
        return applied;
      case 'lcore_list': {
        const list = parseConfigList(value, DPDK_MAX_LCORE);
        if (list.failure !== undefined) return listFailure(event, list.failure, DPDK_MAX_LCORE);
        port.lcoreList = list.values;
        return applied;
      }
      case 'slave_port_list': {
        const list = parseConfigList(value, RTE_MAX_ETHPORTS);
        if (list.failure !== undefined) return listFailure(event, list.failure, RTE_MAX_ETHPORTS);
        port.slavePortList = list.values;
        return applied;
      }
      default:
        return ignored;
    }
  }

  /** vlan_cfg_handler (1.24 and later). */
  private vlan(event: IniPairEvent): Outcome {
    if (this.state.nbVlanFilter === 0) {
      return fail(
        event,
        'vlan-before-vlan-filter',
        `[${event.section}] comes before [dpdk] vlan_filter, so F-Stack stops here`,
        {
          fix: 'add vlan_filter to [dpdk] (above every [vlanN]) listing the VLAN ids',
        },
      );
    }
    this.vlanCfgsAllocated = true;

    const id = scanSectionId(event.section, 'vlan');
    if (id === undefined) {
      return fail(
        event,
        'section-id-invalid',
        `F-Stack routes [${event.section}] to the VLAN handler but finds no VLAN id in it, so it stops here`,
        {
          value: event.section,
          fix: 'name VLAN sections vlan<ID> with an id from vlan_filter, e.g. [vlan10]',
        },
      );
    }

    let seen = this.state.vlanSections.get(id);
    if (seen === undefined) {
      const header = [...this.config.sections]
        .reverse()
        .find((section) => section.name === event.section);
      seen = {
        vlan: {
          vlanId: id,
          portId: 0,
          vipAddr: [],
          vipAddr6: [],
          section:
            header !== undefined ? { line: header.line, column: header.column } : location(event),
          sources: {},
        },
        inFilter: this.config.dpdk.vlanFilter.includes(id),
        portIgnored: false,
      };
      this.state.vlanSections.set(id, seen);
    }
    if (!seen.inFilter) return ignored;
    if (!this.knows('vlan', event.name)) return ignored;

    const { vlan } = seen;
    vlan.sources[event.name] = location(event);
    if (event.name === 'portid') {
      const portId = atoi(event.value);
      if (portId > this.state.maxPortId) {
        seen.portIgnored = true;
        return ignored;
      }
      if (!this.portCfgsAllocated) {
        return fail(
          event,
          'vlan-portid-before-port',
          `[${event.section}] portid comes before any [portN] key; F-Stack dereferences its empty port table here and crashes`,
          {
            fix: 'put the [vlanN] sections after the [portN] sections',
          },
        );
      }
      seen.portId = portId;
      seen.portIgnored = false;
      vlan.portId = portId;
      return applied;
    }
    return this.applyAddressKey(vlan, event) ?? (event.name === 'ipfw_pr' ? applied : ignored);
  }

  /** vdev_cfg_handler and bond_cfg_handler. */
  private numbered(
    event: IniPairEvent,
    prefix: 'vdev' | 'bond',
    table: Map<number, NumberedSection>,
    count: number,
  ): Outcome {
    const key = prefix === 'vdev' ? 'nb_vdev' : 'nb_bond';
    if (count === 0) {
      return fail(
        event,
        prefix === 'vdev' ? 'vdev-before-nb-vdev' : 'bond-before-nb-bond',
        `[${event.section}] comes before a non-zero [dpdk] ${key}, so F-Stack stops here`,
        {
          fix: `set ${key} in [dpdk] above every [${prefix}N] section`,
        },
      );
    }
    const id = scanSectionId(event.section, prefix);
    if (id === undefined) {
      return fail(
        event,
        'section-id-invalid',
        `F-Stack routes [${event.section}] to the ${prefix} handler but finds no number in it, so it stops here`,
        {
          value: event.section,
          fix: `name these sections ${prefix}<N>, e.g. [${prefix}0]`,
        },
      );
    }
    if (id > count || id < 0) return ignored;

    let section = table.get(id);
    if (section === undefined) {
      section = { id, values: new Map(), section: location(event), sources: {} };
      table.set(id, section);
    }
    if (!this.knows(prefix, event.name)) return ignored;
    section.values.set(event.name, event.value);
    section.sources[event.name] = location(event);
    return applied;
  }

  /** rss_check_cfg_handler (1.25). */
  private rssCheck(event: IniPairEvent): Outcome {
    if (!this.portCfgsAllocated && !this.vlanCfgsAllocated) {
      return fail(
        event,
        'rss-check-before-port',
        '[rss_check] comes before any [portN] or [vlanN] key, so F-Stack stops here',
        {
          fix: 'move [rss_check] below the [portN] sections',
        },
      );
    }
    if (!this.knows('rss_check', event.name)) return ignored;
    this.config.rssCheck.set(event.name, event.value);
    return applied;
  }

  /** Keeps the VLANs F-Stack attaches to a port; the rest stay in state for warnings. */
  private attachVlans(): void {
    for (const [id, seen] of this.state.vlanSections) {
      if (seen.inFilter && seen.portId !== undefined && !seen.portIgnored)
        this.config.vlans.set(id, seen.vlan);
    }
  }
}

function location(event: IniPairEvent): SourceLocation {
  return { line: event.valuePos.line, column: event.valuePos.column };
}

/** Builds the outcome of a rejected call, placed at the key name (`at: 'name'`) or at its value. */
function fail(
  event: IniPairEvent,
  code: Finding['code'],
  message: string,
  extra: Partial<Finding> = {},
  at: 'name' | 'value' = 'name',
): Outcome {
  const pos = at === 'name' ? event.pos : event.valuePos;
  return {
    status: 'failed',
    finding: { code, message, line: pos.line, column: pos.column, value: event.value, ...extra },
  };
}

function listFailure(event: IniPairEvent, failure: ListFailure, max: number): Outcome {
  if (failure.reason === 'too-many') {
    return fail(
      event,
      'list-too-long',
      `${event.name} holds more than ${max} values, so F-Stack stops here`,
      {
        fix: `list at most ${max} values`,
      },
      'value',
    );
  }
  return fail(
    event,
    'list-invalid',
    `${event.name} item "${failure.item}" is not a number or range, so F-Stack stops here`,
    {
      fix: 'write comma-separated decimal numbers and ranges without other text, e.g. 0-3,5',
    },
    'value',
  );
}

function lcoreMaskMessage(value: string, failure: string): string {
  switch (failure) {
    case 'empty':
      return 'lcore_mask is empty, so F-Stack stops here';
    case 'no-lcore':
      return `lcore_mask ${value} enables no lcore, so F-Stack stops here`;
    case 'too-wide':
      return `lcore_mask ${value} sets lcores above 127, so F-Stack stops here`;
    default:
      return `lcore_mask "${value}" is not hexadecimal, so F-Stack stops here`;
  }
}
