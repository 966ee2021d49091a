// `fstack-kni apply`: make veth<N> match f-stack.conf.
import { type Diagnostic, formatDiagnostic } from '../../config/diagnostics.js';
import type { StepResult } from '../../kni/apply.js';
import { desiredStateOf } from '../../kni/config-error.js';
import { type ConvergeReport, converge, hasPendingChanges } from '../../kni/converge.js';
import { describeOperation } from '../../kni/describe.js';
import type { DesiredState } from '../../kni/desired.js';
import { rtnlKernel } from '../../kni/kernel.js';
import { DEFAULT_CONFIG_PATH } from '../../kni/options.js';
import type { Plan } from '../../kni/plan.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style } from '../output.js';
import type { Command } from '../run.js';
import {
  loadValidConfig,
  openRtnl,
  TARGET_OPTIONS,
  TARGET_USAGE,
  targetOptions,
} from './target.js';

/** Converts a plan to JSON: commands as text, operations left out. */
export function planToJson(plan: Plan, netns: string | undefined): Record<string, unknown> {
  const render = netns === undefined ? {} : { netns };
  return {
    changes: plan.changes.map((change) => ({
      kind: change.kind,
      interface: change.interface,
      reason: change.reason,
      description: change.description,
      command: change.command,
      target: change.target,
      ...(change.current !== undefined ? { current: change.current } : {}),
      undo: change.undo.map((operation) => describeOperation(operation, render)),
    })),
    drift: plan.drift,
    blockers: plan.blockers,
    notes: plan.notes,
  };
}

const USAGE = `Usage: fstack-kni apply [options]

Reads f-stack.conf and makes the kernel side of F-Stack's KNI exception path match it:
the address, broadcast and default route of every veth<N>, link up, carrier where the
rte_kni driver needs it. Changes go out in one batch; when one fails, the steps already
taken are undone. A second run changes nothing.

Options:
${TARGET_USAGE}  --check                 show the plan and change nothing (exit 3 when changes are pending)
  --prune                 also remove addresses and routes on the managed interfaces that
                          f-stack.conf does not ask for (never fe80:: or kernel routes)

Exit codes: 0 converged, 1 failed or blocked (nothing or everything undone), 2 usage,
3 changes pending (--check), 4 no permission.
`;

const APPLY_OPTIONS = {
  ...TARGET_OPTIONS,
  check: { type: 'boolean' },
  prune: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'make veth<N> match f-stack.conf (addresses, routes, link state)',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('apply', argv, APPLY_OPTIONS);
    const path = values.config ?? DEFAULT_CONFIG_PATH;
    const json = values.json ?? false;

    const { loaded, warnings } = await loadValidConfig(path, values['fstack-version']);
    const desired = desiredStateOf(loaded, targetOptions(values, loaded));

    const nl = openRtnl(values.netns);
    let report: ConvergeReport;
    try {
      report = await converge(desired, rtnlKernel(nl), {
        check: values.check ?? false,
        prune: values.prune ?? false,
        ...(values.netns !== undefined ? { netns: values.netns } : {}),
      });
    } finally {
      nl.close();
    }

    if (json) {
      process.stdout.write(
        `${JSON.stringify(reportToJson(report, desired, path, values.netns, warnings), null, 2)}\n`,
      );
    } else {
      for (const warning of warnings) process.stderr.write(`${formatDiagnostic(warning)}\n`);
      process.stdout.write(renderReport(report, desired, values.netns));
    }
    return exitCode(report);
  },
};

function exitCode(report: ConvergeReport): number {
  if (report.plan.blockers.length > 0) return ExitCode.Failed;
  if (report.check) return hasPendingChanges(report) ? ExitCode.Changes : ExitCode.Ok;
  if (report.ok) return ExitCode.Ok;
  return report.steps.some(lacksPermission) ? ExitCode.Unavailable : ExitCode.Failed;
}

/**
 * True when the kernel rejected a step for lack of CAP_NET_ADMIN. A tap's EPERM on carrier
 * on means that no process holds it open, not a missing capability.
 */
function lacksPermission(step: StepResult): boolean {
  const code = step.error?.code;
  return (
    step.status === 'failed' &&
    step.change.kind !== 'carrier-on' &&
    (code === 'EPERM' || code === 'EACCES')
  );
}

export function reportToJson(
  report: ConvergeReport,
  desired: DesiredState,
  config: string,
  netns: string | undefined,
  warnings: readonly Diagnostic[],
): Record<string, unknown> {
  return {
    ok: report.ok,
    changed: report.changed,
    check: report.check,
    pending: report.check && hasPendingChanges(report),
    config,
    fstackVersion: desired.fstackVersion,
    driver: desired.driver,
    netns: netns ?? null,
    interfaces: desired.interfaces.map((iface) => iface.name),
    plan: planToJson(report.plan, netns),
    results: report.steps.map((step) => ({
      command: step.change.command,
      status: step.status,
      ...(step.error !== undefined ? { error: step.error } : {}),
      ...(step.failedUndo !== undefined ? { failedUndo: step.failedUndo } : {}),
      ...(hintFor(step) !== undefined ? { hint: hintFor(step) } : {}),
    })),
    rolledBack: report.rolledBack,
    remaining: report.remaining,
    unconverged: report.unconverged,
    warnings: warnings.map(formatDiagnostic),
    timings: report.timings,
  };
}

/** Returns a hint for kernel errors whose usual meaning does not apply to the step. */
function hintFor(step: StepResult): string | undefined {
  if (step.change.kind === 'carrier-on' && step.error?.code === 'EPERM') {
    return 'a tap accepts carrier on only while a process holds it open; an rte_kni interface always accepts it';
  }
  if (step.change.kind === 'create-vlan' && step.error?.code === 'EOPNOTSUPP') {
    return 'this kernel has no vlan link kind (module 8021q missing); rerun with --no-vlans or load 8021q';
  }
  return undefined;
}

/** Renders the report as the terminal output of apply. */
export function renderReport(
  report: ConvergeReport,
  desired: DesiredState,
  netns: string | undefined,
): string {
  const lines: string[] = [];
  const where = netns === undefined ? 'this network namespace' : `netns ${netns}`;
  lines.push(
    `F-Stack ${desired.fstackVersion} (${desired.driver}), ${desired.interfaces.map((i) => i.name).join(', ')} in ${where}`,
  );

  for (const blocker of report.plan.blockers)
    lines.push(`${style('blocked:', 'red')} ${blocker.message}`);

  const statusByChange = new Map(report.steps.map((step) => [step.change, step]));
  for (const change of report.plan.changes) {
    const step = statusByChange.get(change);
    let mark: string = report.check ? 'would run' : 'not run';
    if (step !== undefined) mark = step.status;
    lines.push(`  ${markStyle(mark)} ${change.command}`);
    lines.push(`      ${style(change.description, 'dim')}`);
    if (step?.error !== undefined)
      lines.push(`      ${style(`error: ${step.error.message}`, 'red')}`);
    const hint = step === undefined ? undefined : hintFor(step);
    if (hint !== undefined) lines.push(`      hint: ${hint}`);
    for (const command of step?.failedUndo ?? [])
      lines.push(`      ${style(`could not undo with: ${command}`, 'red')}`);
  }

  if (report.plan.drift.length > 0) {
    lines.push('Left alone (not in f-stack.conf; --prune removes them):');
    for (const drift of report.plan.drift)
      lines.push(`  ${drift.interface}: ${drift.kind} ${drift.target}`);
  }
  for (const note of report.plan.notes) lines.push(`${style('note:', 'yellow')} ${note}`);

  lines.push(summaryLine(report));
  for (const difference of report.remaining) lines.push(`  still different: ${difference}`);
  for (const command of report.unconverged) lines.push(`  still pending: ${command}`);
  return `${lines.join('\n')}\n`;
}

function markStyle(mark: string): string {
  const padded = mark.padEnd(15);
  if (mark === 'applied') return style(padded, 'green');
  if (mark === 'failed' || mark === 'rollback-failed') return style(padded, 'red');
  if (mark === 'would run') return style(padded, 'yellow');
  return padded;
}

function summaryLine(report: ConvergeReport): string {
  const count = report.plan.changes.length;
  const ms = report.timings.totalMs.toFixed(1);
  if (report.plan.blockers.length > 0)
    return style(`Blocked: nothing was changed (${ms} ms).`, 'red');
  if (count === 0) return `Converged: nothing to change (${ms} ms).`;
  if (report.check)
    return style(`${count} change(s) pending; nothing was changed (--check).`, 'yellow');
  if (report.ok) return style(`Applied ${count} change(s) in ${ms} ms; converged.`, 'green');
  if (report.rolledBack && report.remaining.length === 0) {
    return style('Failed: every step taken was undone; the kernel is as before.', 'red');
  }
  if (report.rolledBack) return style('Failed: the rollback could not restore everything:', 'red');
  return style('Applied, but a fresh read still finds changes to make:', 'red');
}
