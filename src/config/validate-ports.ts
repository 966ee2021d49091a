// Checks of the [portN] and [vlanN] sections as a whole: listed ports missing one of the four
// address keys (F-Stack fails to start), port sections F-Stack does not use, and VLAN
// sections it ignores or cannot attach.
import type { Finding } from './diagnostics.js';
import type { SourceLocation } from './model.js';
import type { ValidationInput } from './validate.js';
import { routeSection } from './validate-names.js';

const REQUIRED = ['addr', 'netmask', 'broadcast', 'gateway'] as const;

export function checkPorts(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  checkListedPorts(input, findings);
  checkUnusedPorts(input, findings);
  checkVlans(input, findings);
  return findings;
}

/** ff_check_config: each port of port_list needs addr, netmask, broadcast and gateway. */
function checkListedPorts(input: ValidationInput, findings: Finding[]): void {
  const { config, state } = input.run;
  if (state.portListEmpty) return;
  const portListAt = config.dpdk.sources.port_list ?? { line: 0, column: 0 };

  for (const id of new Set(config.dpdk.portList)) {
    const port = config.ports.get(id);
    const header = port?.section ?? sectionHeaderOf(input, 'port', id);
    const missing = REQUIRED.filter((name) => port?.[name] === undefined);
    if (missing.length === 0) continue;

    findings.push({
      code: 'port-missing-address',
      message:
        header === undefined
          ? `port ${id} is in port_list but the file has no [port${id}] section; F-Stack fails to start`
          : `[port${id}] has no ${missing.join(', ')}; F-Stack fails to start ("port${id} if config error: no ${missing[0]}")`,
      ...(header ?? portListAt),
      fix:
        header === undefined
          ? `add a [port${id}] section with addr, netmask, broadcast and gateway, or remove ${id} from port_list`
          : `add ${missing.map((name) => `${name}=`).join(', ')} with the port's IPv4 settings to [port${id}]`,
    });
  }
}

function checkUnusedPorts(input: ValidationInput, findings: Finding[]): void {
  const { config, state } = input.run;
  const listed = config.dpdk.portList.join(',') || '(empty)';

  for (const [id, at] of state.portsAboveMax) {
    findings.push({
      code: 'port-unlisted',
      message: `F-Stack ignores [port${id}]: port ${id} is not in port_list (${listed})`,
      ...(sectionHeaderOf(input, 'port', id) ?? at),
      fix: `add ${id} to port_list, or remove the section`,
    });
  }
  for (const port of config.ports.values()) {
    if (port.listed || port.section === undefined) continue;
    findings.push({
      code: 'port-unlisted',
      message: `F-Stack reads [port${port.id}] but does not use it: port ${port.id} is not in port_list (${listed})`,
      ...port.section,
      fix: `add ${port.id} to port_list, or remove the section`,
    });
  }
}

function checkVlans(input: ValidationInput, findings: Finding[]): void {
  const { config, state } = input.run;
  for (const [id, seen] of state.vlanSections) {
    const at = seen.vlan.section;
    if (!seen.inFilter) {
      findings.push({
        code: 'vlan-not-filtered',
        message: `F-Stack ignores [vlan${id}]: VLAN ${id} is not in vlan_filter (${config.dpdk.vlanFilter.join(',') || 'empty'})`,
        ...at,
        fix: `add ${id} to [dpdk] vlan_filter, or remove the section`,
      });
      continue;
    }
    if (seen.portId === undefined || seen.portIgnored) {
      findings.push({
        code: 'vlan-port-missing',
        message:
          seen.portId === undefined
            ? `[vlan${id}] has no portid, so F-Stack attaches it to no port`
            : `[vlan${id}] portid is not a port of port_list, so F-Stack ignores it`,
        ...at,
        fix: `add portid=<port id from port_list> to [vlan${id}]`,
      });
      continue;
    }
    const missing = REQUIRED.filter((name) => seen.vlan[name] === undefined);
    if (missing.length > 0) {
      findings.push({
        code: 'vlan-missing-address',
        message: `[vlan${id}] has no ${missing.join(', ')}`,
        ...at,
        fix: `add ${missing.map((name) => `${name}=`).join(', ')} with the VLAN's IPv4 settings`,
      });
    }
  }
}

/** Returns the first active header F-Stack routes to this numbered section, if any. */
function sectionHeaderOf(
  input: ValidationInput,
  prefix: 'port' | 'vlan',
  id: number,
): SourceLocation | undefined {
  const header = input.run.config.sections.find((section) => {
    const routed = routeSection(section.name, input.version);
    return routed?.spec.prefix === prefix && routed.id === id;
  });
  return header !== undefined ? { line: header.line, column: header.column } : undefined;
}
