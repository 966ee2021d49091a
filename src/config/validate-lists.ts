// Checks of the number lists (port_list, lcore_list, vlan_filter, slave_port_list) and of the
// lcores: what F-Stack's list parser accepts but reads differently, and lcore_list entries
// that lcore_mask does not enable (F-Stack fails to start).
import {
  DPDK_MAX_LCORE,
  DPDK_MAX_VLAN_FILTER,
  type ListOddity,
  parseConfigList,
  RTE_MAX_ETHPORTS,
} from './c-parsers.js';
import type { Finding } from './diagnostics.js';
import type { ConfigEntry } from './model.js';
import { atValue, lastApplied, type ValidationInput } from './validate.js';
import { routeSection } from './validate-names.js';

const LIST_KEYS: Record<string, number> = {
  port_list: RTE_MAX_ETHPORTS,
  vlan_filter: DPDK_MAX_VLAN_FILTER,
  lcore_list: DPDK_MAX_LCORE,
  slave_port_list: RTE_MAX_ETHPORTS,
};

export function checkLists(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];

  for (const entry of input.run.config.entries) {
    const max = LIST_KEYS[entry.name];
    if (entry.status !== 'applied' || max === undefined) continue;
    const kind = routeSection(entry.section, input.version)?.spec.kind;
    const inDpdk = kind === 'dpdk' && (entry.name === 'port_list' || entry.name === 'vlan_filter');
    const inPort =
      kind === 'port' && (entry.name === 'lcore_list' || entry.name === 'slave_port_list');
    if (!inDpdk && !inPort) continue;
    checkList(entry, max, findings);
  }

  checkDpdkPresence(input, findings);
  checkLcoreLists(input, findings);
  return findings;
}

function checkList(entry: ConfigEntry, max: number, findings: Finding[]): void {
  const list = parseConfigList(entry.value, max);
  const at = { ...atValue(entry), value: entry.value };

  const reported = new Set<string>();
  for (const oddity of list.oddities) {
    const key = `${oddity.kind}\u0000${oddity.item}`;
    if (reported.has(key)) continue;
    reported.add(key);
    findings.push(oddityFinding(entry, oddity, at));
  }

  if (list.empty) {
    findings.push(
      entry.name === 'port_list'
        ? {
            code: 'port-list-empty',
            message: 'port_list is empty; F-Stack then works from uninitialized port ids',
            ...at,
            fix: 'list the DPDK port ids, e.g. port_list=0',
          }
        : {
            code: 'list-empty',
            message: `${entry.name} of [${entry.section}] is empty; F-Stack keeps a full-size list of leftover values instead of none`,
            ...at,
            fix: `list the values, or remove the ${entry.name} line`,
          },
    );
  }
}

function oddityFinding(
  entry: ConfigEntry,
  oddity: ListOddity,
  at: { line: number; column: number; value: string },
): Finding {
  switch (oddity.kind) {
    case 'empty-item':
      return {
        code: 'list-empty-item',
        message: `${entry.name} has an empty item ("${oddity.item}"); F-Stack reads it as 0`,
        ...at,
        fix: 'remove the extra comma or write the missing number',
      };
    case 'wraps':
      return {
        code: 'list-value-wraps',
        message: `${entry.name} item "${oddity.item}" is outside 0-65535; F-Stack keeps only its low 16 bits`,
        ...at,
        fix: 'use values from 0 to 65535',
      };
    case 'reversed-range':
      return {
        code: 'list-range-reversed',
        message: `${entry.name} range "${oddity.item}" ends below its start, so it selects nothing`,
        ...at,
        fix: 'write the range as low-high',
      };
    case 'duplicate':
      return {
        code: 'list-duplicate',
        message: `${entry.name} names ${oddity.item} more than once`,
        ...at,
        fix: 'list each value once',
      };
  }
}

function checkDpdkPresence(input: ValidationInput, findings: Finding[]): void {
  const { config } = input.run;
  const dpdkHeader = config.sections.find((section) => section.name === 'dpdk');
  const at =
    dpdkHeader !== undefined
      ? { line: dpdkHeader.line, column: dpdkHeader.column }
      : { line: 0, column: 0 };

  if (config.dpdk.sources.port_list === undefined && !hasFailedEntry(input, 'port_list')) {
    findings.push({
      code: 'port-list-missing',
      message:
        dpdkHeader !== undefined
          ? '[dpdk] has no port_list, so F-Stack configures no port'
          : 'the file has no [dpdk] section with port_list, so F-Stack configures no port',
      ...at,
      fix: 'add port_list=0 (the DPDK port ids to use) to [dpdk]',
    });
  }
  if (config.dpdk.lcoreMask === undefined) {
    findings.push({
      code: 'lcore-mask-missing',
      message:
        dpdkHeader !== undefined
          ? '[dpdk] has no lcore_mask, so F-Stack has no lcore to run on'
          : 'the file has no [dpdk] lcore_mask, so F-Stack has no lcore to run on',
      ...at,
      fix: 'add lcore_mask=1 (hexadecimal mask of lcores) to [dpdk]',
    });
  }
}

/** ff_check_config: every lcore_list entry of a listed port must be enabled by lcore_mask. */
function checkLcoreLists(input: ValidationInput, findings: Finding[]): void {
  const { config } = input.run;
  if (config.dpdk.lcoreMask !== undefined && config.dpdk.lcores.length === 0) return;
  const enabled = new Set(config.dpdk.lcores);

  for (const id of config.dpdk.portList) {
    const port = config.ports.get(id);
    if (port?.lcoreList === undefined || port.lcoreList.length === 0) continue;
    const missing = [...new Set(port.lcoreList.filter((lcore) => !enabled.has(lcore)))];
    if (missing.length === 0) continue;

    const entry = lastApplied(input, sectionNameOf(input, id), 'lcore_list');
    const location =
      entry !== undefined ? atValue(entry) : (port.sources.lcore_list ?? { line: 0, column: 0 });
    findings.push({
      code: 'lcore-not-enabled',
      message:
        `lcore_list of [port${id}] names lcore ${missing.join(', ')}, which lcore_mask ${config.dpdk.lcoreMask ?? '(absent)'} does not enable; ` +
        `F-Stack fails to start ("lcore ${missing[0]} is not enabled")`,
      ...location,
      value: entry?.value ?? port.lcoreList.join(','),
      fix: `use lcores from ${config.dpdk.lcores.length > 0 ? config.dpdk.lcores.join(',') : 'lcore_mask'}, or add them to lcore_mask`,
    });
  }
}

function hasFailedEntry(input: ValidationInput, name: string): boolean {
  return input.run.config.entries.some(
    (entry) => entry.section === 'dpdk' && entry.name === name && entry.status === 'failed',
  );
}

/** Returns the section name the port's values came from (`port0`, or a spelling such as `port 0`). */
function sectionNameOf(input: ValidationInput, id: number): string {
  const entry = [...input.run.config.entries]
    .reverse()
    .find(
      (candidate) =>
        candidate.name === 'lcore_list' &&
        routeSection(candidate.section, input.version)?.id === id,
    );
  return entry?.section ?? `port${id}`;
}
