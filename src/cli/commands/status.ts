// `fstack-kni status`: f-stack.conf next to the kernel state of each veth<N>, with every
// mismatch as a problem, its likely cause and its fix.
import { existsSync } from 'node:fs';
import { formatDiagnostic } from '../../config/diagnostics.js';
import type { DesiredOptions } from '../../kni/desired.js';
import { readLiveState } from '../../kni/live.js';
import { DEFAULT_CONFIG_PATH, type TargetValues } from '../../kni/options.js';
import { diagnose, type InterfaceStatus, type StatusReport } from '../../kni/status.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style } from '../output.js';
import type { Command } from '../run.js';
import { openRtnl, readConfig, TARGET_OPTIONS, TARGET_USAGE, targetOptions } from './target.js';

const USAGE = `Usage: fstack-kni status [options]

Shows what f-stack.conf asks of each veth<N> next to what the kernel has: presence, up,
carrier, addresses, routes and MAC. Every mismatch is listed as a problem with its likely
cause and fix. Changes nothing.

Options:
${TARGET_USAGE}
Exit codes: 0 no problem, 1 problems found, 2 usage, 4 no permission.
`;

export const command: Command = {
  summary: 'compare f-stack.conf with the kernel state of veth<N> and explain each mismatch',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('status', argv, TARGET_OPTIONS);
    const path = values.config ?? DEFAULT_CONFIG_PATH;

    const loaded = await readConfig(path, values['fstack-version']);
    const options: DesiredOptions = targetOptions(values, loaded);
    const configErrors = loaded.diagnostics
      .filter((d) => d.severity === 'error')
      .map(formatDiagnostic);
    const warnings = loaded.diagnostics
      .filter((d) => d.severity === 'warning')
      .map(formatDiagnostic);

    const nl = openRtnl(values.netns);
    let report: StatusReport;
    try {
      const live = await readLiveState(nl);
      report = diagnose({
        config: loaded.config,
        configErrors,
        diagnostics: loaded.diagnostics,
        options,
        live,
        environment: { exists: existsSync },
        applyArguments: applyArguments(values),
      });
    } finally {
      nl.close();
    }

    if (values.json ?? false) {
      const document = { ...report, config: path, netns: values.netns ?? null, warnings };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      process.stdout.write(renderStatus(report, path, values.netns, warnings));
    }
    return report.ok ? ExitCode.Ok : ExitCode.Failed;
  },
};

/** Returns the target options the user gave, in argv form, so that the fixes name the same apply. */
function applyArguments(values: TargetValues & { config?: string; netns?: string }): string[] {
  const args: string[] = [];
  const single = ['config', 'fstack-version', 'netns', 'route-metric'] as const;
  const repeated = ['port', 'interface', 'mac', 'mac-from'] as const;
  const flags = ['no-default-route', 'with-vips', 'no-vlans'] as const;

  for (const name of single) {
    const value = values[name];
    if (value !== undefined) args.push(`--${name}`, value);
  }
  for (const name of repeated) {
    for (const value of values[name] ?? []) args.push(`--${name}`, value);
  }
  for (const name of flags) {
    if (values[name] === true) args.push(`--${name}`);
  }
  return args;
}

export function renderStatus(
  report: StatusReport,
  path: string,
  netns: string | undefined,
  warnings: string[],
): string {
  const lines: string[] = [];
  const kni = report.kni;
  const steering = kni.enable
    ? `enable=1 method=${kni.method ?? '(missing)'} tcp_port=${kni.tcpPorts.join(',') || '-'} udp_port=${kni.udpPorts.join(',') || '-'}` +
      (kni.kniAction !== undefined ? ` kni_action=${kni.kniAction}` : '')
    : 'disabled';
  lines.push(`${path}: F-Stack ${report.fstackVersion} (${report.driver}), [kni] ${steering}`);
  if (netns !== undefined) lines.push(`netns ${netns}`);

  for (const iface of report.interfaces) lines.push('', ...renderInterface(iface));

  for (const warning of warnings) lines.push('', style(warning, 'yellow'));
  for (const note of report.notes) lines.push(`${style('note:', 'yellow')} ${note}`);

  lines.push('');
  if (report.problems.length === 0) {
    lines.push(style('No problems: the kernel matches f-stack.conf.', 'green'));
  } else {
    lines.push(style(`${report.problems.length} problem(s):`, 'red'));
    report.problems.forEach((problem, i) => {
      lines.push(`  ${i + 1}. ${problem.message}`);
      lines.push(`     cause: ${problem.cause}`);
      lines.push(`     fix: ${problem.fix}`);
    });
  }
  return `${lines.join('\n')}\n`;
}

function renderInterface(iface: InterfaceStatus): string[] {
  const title =
    iface.vlanId === undefined
      ? `${iface.name} (port ${iface.portId})`
      : `${iface.name} (VLAN ${iface.vlanId} of port ${iface.portId})`;
  const yesNo = (value: boolean) => (value ? 'yes' : 'no');
  const list = (values: string[]) => (values.length === 0 ? ['-'] : values);

  const rows: Array<[string, string[], string[]]> = [
    ['present', ['yes'], [yesNo(iface.present)]],
    ['up', ['yes'], [iface.present ? yesNo(iface.up) : '-']],
    ['carrier', ['yes'], [iface.present ? yesNo(iface.carrier) : '-']],
    ['addresses', list(iface.expected.addresses), list(iface.addresses)],
    ['routes', list(iface.expected.routes), list(iface.routes)],
    ['MAC', [iface.expected.mac ?? '(any)'], [iface.mac ?? '-']],
  ];

  const width = Math.max(
    36,
    ...rows.flatMap(([, config]) => config.map((value) => value.length + 2)),
  );
  const lines = [style(title, 'bold'), `  ${''.padEnd(10)} ${'f-stack.conf'.padEnd(width)} kernel`];
  for (const [label, config, kernel] of rows) {
    const count = Math.max(config.length, kernel.length);
    for (let i = 0; i < count; i++) {
      lines.push(
        `  ${(i === 0 ? label : '').padEnd(10)} ${(config[i] ?? '').padEnd(width)} ${kernel[i] ?? ''}`,
      );
    }
  }
  return lines;
}
