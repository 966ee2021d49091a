// Checks of [kni]: the startup checks of ff_check_config (method required when enabled, method
// and kni_action words) and what the silent port parser of lib/ff_dpdk_kni.c misreads.
import { type KniPortItem, readKniPortItems, strictKniItem } from './c-parsers.js';
import type { Finding } from './diagnostics.js';
import type { ConfigEntry } from './model.js';
import { atValue, lastApplied, type ValidationInput } from './validate.js';

export function checkKni(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  const { kni, dpdk, ports } = input.run.config;
  const enable = lastApplied(input, 'kni', 'enable');
  const method = lastApplied(input, 'kni', 'method');
  const action = lastApplied(input, 'kni', 'kni_action');

  if (kni.enable && method === undefined) {
    findings.push({
      code: 'kni-method-missing',
      message:
        'KNI is enabled but [kni] has no method; F-Stack fails to start ("conf dpdk.method is necessary")',
      ...(enable !== undefined ? atValue(enable) : { line: 0, column: 0 }),
      value: enable?.value ?? '',
      fix: 'add method=accept (listed ports go to the kernel) or method=reject (listed ports stay in F-Stack) to [kni]',
    });
  }
  if (method !== undefined && !['accept', 'reject'].includes(method.value.toLowerCase())) {
    findings.push({
      code: 'kni-method-invalid',
      message: `method "${method.value}" is neither accept nor reject; F-Stack fails to start`,
      ...atValue(method),
      value: method.value,
      fix: 'write method=accept or method=reject',
    });
  }
  if (
    action !== undefined &&
    !['alltokni', 'alltoff', 'default'].includes(action.value.toLowerCase())
  ) {
    findings.push({
      code: 'kni-action-invalid',
      message: `kni_action "${action.value}" is not alltokni, alltoff or default; F-Stack fails to start`,
      ...atValue(action),
      value: action.value,
      fix: 'write kni_action=default (use method and the port lists), alltokni or alltoff',
    });
  }

  for (const name of ['tcp_port', 'udp_port'] as const) {
    const entry = lastApplied(input, 'kni', name);
    if (entry !== undefined) checkPorts(entry, findings);
  }

  if (
    kni.enable &&
    method?.value.toLowerCase() === 'accept' &&
    kni.tcpPort === undefined &&
    kni.udpPort === undefined &&
    action?.value.toLowerCase() !== 'alltokni'
  ) {
    findings.push({
      code: 'kni-accept-no-ports',
      message:
        'method=accept without tcp_port or udp_port sends no TCP or UDP traffic to the kernel (only ARP and NDP copies)',
      ...atValue(method),
      value: method.value,
      fix: 'add tcp_port= with the ports the kernel serves, e.g. tcp_port=22',
    });
  }

  const type = lastApplied(input, 'kni', 'type');
  if (input.version === '1.24' && type !== undefined && kni.type !== 0 && kni.type !== 1) {
    findings.push({
      code: 'kni-type-invalid',
      message: `type ${type.value} is neither 0 (rte_kni) nor 1 (virtio_user); F-Stack started with --proc-type=primary fails to start`,
      ...atValue(type),
      value: type.value,
      fix: 'write type=1 (virtio_user) or type=0 (rte_kni, needs an FF_KNI_KNI build)',
    });
  }

  if (kni.enable && dpdk.lcores.length > 0) {
    const primary = dpdk.lcores[0] as number;
    for (const id of dpdk.portList) {
      const lcores = ports.get(id)?.lcoreList;
      if (lcores === undefined || lcores.length === 0 || lcores.includes(primary)) continue;
      const at = ports.get(id)?.sources.lcore_list ?? { line: 0, column: 0 };
      findings.push({
        code: 'kni-primary-lcore',
        message: `with KNI enabled, lcore_list of [port${id}] must include the primary lcore ${primary}; F-Stack started with --proc-type=primary fails to start`,
        ...at,
        value: lcores.join(','),
        fix: `add ${primary} to lcore_list of [port${id}]`,
      });
    }
  }

  if (
    kni.present &&
    !kni.enable &&
    (method !== undefined || kni.tcpPort !== undefined || kni.udpPort !== undefined)
  ) {
    findings.push({
      code: 'kni-disabled-settings',
      message: 'KNI is off (enable is 0 or missing), so the other [kni] settings have no effect',
      ...(enable !== undefined
        ? atValue(enable)
        : method !== undefined
          ? atValue(method)
          : { line: 0, column: 0 }),
      value: enable?.value ?? '',
      fix: 'set enable=1 to use KNI',
    });
  }
  return findings;
}

/** Reports tcp_port or udp_port items that the silent parser reads differently from their look. */
function checkPorts(entry: ConfigEntry, findings: Finding[]): void {
  const protocol = entry.name === 'tcp_port' ? 'TCP' : 'UDP';
  if (entry.value === '') {
    findings.push({
      code: 'kni-ports-empty',
      message: `${entry.name} is empty; F-Stack reads it as ${protocol} port 0`,
      ...atValue(entry),
      value: entry.value,
      fix: `remove the ${entry.name} line to match no ${protocol} port`,
    });
    return;
  }

  for (const item of readKniPortItems(entry.value)) {
    const intended = strictKniItem(item.text);
    if (intended !== undefined && sameRange(intended, item)) continue;
    findings.push({
      code: 'kni-port-misread',
      message: `${entry.name} item "${item.text}" ${describeIntent(item.text, intended)}; F-Stack reads it as ${describeRead(item)}`,
      line: entry.line,
      column: entry.valueColumn + Buffer.byteLength(entry.value.slice(0, item.offset)),
      value: entry.value,
      fix: fixFor(item.text),
    });
  }
}

function sameRange(intended: { first: number; last: number }, item: KniPortItem): boolean {
  return (
    item.range !== undefined &&
    item.range.first === intended.first &&
    item.range.last === intended.last
  );
}

function describeIntent(
  text: string,
  intended: { first: number; last: number } | undefined,
): string {
  if (text.trim() === '') return 'is empty';
  if (intended !== undefined)
    return `means ${intended.first === intended.last ? `port ${intended.first}` : `ports ${intended.first}-${intended.last}`}`;
  return 'is not a port number or range';
}

function describeRead(item: KniPortItem): string {
  if (item.range === undefined) return 'no port at all';
  if (item.all) return 'every port (0-65535)';
  const wrap = (port: number): number => ((port % 65536) + 65536) % 65536;
  const first = wrap(item.range.first);
  const last = wrap(item.range.last);
  if (item.range.first === item.range.last) return `port ${first}`;
  return item.range.last - item.range.first + 1 > 1 && first <= last
    ? `ports ${first}-${last}`
    : `${item.range.last - item.range.first + 1} ports wrapping past 65535`;
}

function fixFor(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'remove the empty item (the extra comma)';
  if (/^[0-9]+[ \t]+[0-9]/.test(trimmed)) return 'separate ports with commas, e.g. 80,443';
  if (/^[0-9]+[ \t]*-[ \t]*$/.test(trimmed))
    return 'write a complete range such as 8080-8090, or a single port';
  if (/^[0-9]+$/.test(trimmed)) return 'use port numbers from 0 to 65535';
  if (/^[0-9]+[ \t]*-[ \t]*[0-9]+$/.test(trimmed))
    return 'write ranges as low-high with both ends from 0 to 65535';
  return 'use port numbers (e.g. 80), not names or other text';
}
