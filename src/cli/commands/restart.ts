// `fstack-kni restart`: restart F-Stack's unit, wait for veth<N> to come back, apply
// f-stack.conf. Also home of the systemd options and output that enable and disable share.

import { constants } from 'node:os';
import { formatDiagnostic } from '../../config/diagnostics.js';
import type { Diagnostic } from '../../config/model.js';
import { desiredStateOf } from '../../kni/config-error.js';
import type { DesiredState } from '../../kni/desired.js';
import { DEFAULT_CONFIG_PATH } from '../../kni/options.js';
import type { Rtnl } from '../../rtnl/index.js';
import type { BusTarget } from '../../service/bus.js';
import { SystemdError } from '../../service/errors.js';
import { SystemdManager } from '../../service/manager.js';
import {
  DEFAULT_FSTACK_UNIT,
  type RestartReport,
  restartAndConverge,
} from '../../service/restart.js';
import { unitNameProblem } from '../../service/unit-name.js';
import type { UnitState } from '../../service/unit-state.js';
import { LinkWaitError } from '../../service/wait-link.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style, UsageError } from '../output.js';
import type { Command } from '../run.js';
import { renderReport, reportToJson } from './apply.js';
import {
  loadValidConfig,
  openRtnl,
  TARGET_OPTIONS,
  TARGET_USAGE,
  targetOptions,
} from './target.js';

const { errno } = constants;

/**
 * Linux errno "No medium found" (generic value; MIPS and SPARC differ), which sd-bus
 * returns when neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set.
 */
const ENOMEDIUM = 123;

/** Options that select the unit and the systemd instance. */
export const SERVICE_OPTIONS = {
  unit: { type: 'string' },
  bus: { type: 'string' },
  timeout: { type: 'string' },
  prune: { type: 'boolean' },
} as const;

export const SERVICE_USAGE = `  --unit NAME             F-Stack's systemd unit (default ${DEFAULT_FSTACK_UNIT})
  --bus BUS               systemd to use: system (default), user, or a D-Bus address such as
                          unix:path=/run/user/0/bus; an address whose path ends in
                          /systemd/private is a direct connection to systemd
  --timeout SEC           limit in seconds for the restart job and the wait for the
                          interfaces together (default 90)
  --prune                 when applying, also remove addresses and routes on the managed
                          interfaces that f-stack.conf does not ask for
`;

// setTimeout's largest delay, as SystemdManager accepts it, in whole seconds.
const MAX_TIMEOUT_SECONDS = 2_147_483;

/** Parses --bus: system, user or a D-Bus address. */
export function parseBusOption(text: string | undefined): BusTarget {
  if (text === undefined || text === 'system') return 'system';
  if (text === 'user') return 'user';
  if (!/^[a-z-]+:/.test(text)) {
    throw new UsageError(
      `--bus ${JSON.stringify(text)} is not system, user or a D-Bus address such as unix:path=/run/user/0/bus`,
    );
  }
  return { address: text, direct: /\/systemd\/private(,|$)/.test(text) };
}

/** Checks --unit against systemd's unit name rules; default fstack_ha.service. */
export function parseUnitOption(text: string | undefined): string {
  if (text === undefined) return DEFAULT_FSTACK_UNIT;
  const problem = unitNameProblem(text);
  if (problem !== undefined)
    throw new UsageError(`--unit ${JSON.stringify(text)} is not a unit name: it ${problem}`);
  return text;
}

/** Parses --timeout SEC into milliseconds; default 90 s. */
export function parseTimeoutOption(text: string | undefined): number {
  if (text === undefined) return 90_000;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(
      `--timeout ${JSON.stringify(text)} is not a number of seconds from 0.001 to ${MAX_TIMEOUT_SECONDS}`,
    );
  }
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * Connects to systemd. A missing libsystemd or an unreachable systemd exits with
 * "unavailable" (4), and a connection error gets a fix for the usual causes.
 */
export async function connectSystemd(bus: BusTarget): Promise<SystemdManager> {
  try {
    return await SystemdManager.connect({ bus });
  } catch (error) {
    if (
      error instanceof SystemdError &&
      (error.code === 'ENOSYSTEMD' || error.code === 'ECONNECT')
    ) {
      Object.assign(error, { exitCode: ExitCode.Unavailable });
    }
    if (error instanceof SystemdError && error.code === 'ECONNECT') {
      error.message += `; ${busConnectFix(bus, error)}`;
    }
    throw error;
  }
}

/** Returns what to check or change after a failed connection to `bus`. */
function busConnectFix(bus: BusTarget, error: SystemdError): string {
  const address = typeof bus === 'object' ? bus.address : undefined;
  // A connection that opened but whose Version call failed: no systemd on that bus.
  if (error.message.startsWith('systemd does not respond')) {
    return 'is systemd on this bus? --bus needs the bus that systemd is on or its private socket (unix:path=/run/systemd/private)';
  }
  if (error.errno === errno.EACCES || error.errno === errno.EPERM) {
    return 'run as root, or as the user that owns the bus';
  }
  if (bus === 'user' && error.errno === ENOMEDIUM) {
    return (
      'there is no user bus for this user: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR ' +
      'is set (as under sudo or in a system service); log in as the user that runs F-Stack, ' +
      'give --bus unix:path=/run/user/UID/bus, or leave out --bus to use the system bus'
    );
  }
  if (bus === 'user') {
    return 'is systemd --user running for this user? Check $XDG_RUNTIME_DIR, or give --bus ADDRESS';
  }
  if (bus === 'system') {
    return (
      'is D-Bus running (systemctl status dbus.socket)? The system bus socket is ' +
      '/run/dbus/system_bus_socket unless $DBUS_SYSTEM_BUS_ADDRESS names another; ' +
      'give --bus ADDRESS for a bus or a systemd socket elsewhere'
    );
  }
  if (error.errno === errno.ENOENT) {
    return `no socket exists at ${address}; check the path, e.g. unix:path=/run/systemd/private or unix:path=/run/user/UID/bus`;
  }
  if (error.errno === errno.ECONNREFUSED) {
    return `nothing listens at ${address}; is the bus daemon or systemd running?`;
  }
  return `check the address ${address}`;
}

/** The handles a restart works with, opened before anything is changed. */
export interface RestartConnections {
  nl: Rtnl;
  manager: SystemdManager;
}

/**
 * Opens the rtnetlink handle and connects to systemd, so that a command can fail on either
 * before it edits f-stack.conf. Throws as openRtnl and connectSystemd do.
 */
export async function openRestartConnections(
  bus: BusTarget,
  netns: string | undefined,
): Promise<RestartConnections> {
  const nl = openRtnl(netns);
  try {
    return { nl, manager: await connectSystemd(bus) };
  } catch (error) {
    nl.close();
    throw error;
  }
}

/** Closes what openRestartConnections opened. */
export function closeRestartConnections(connections: RestartConnections): void {
  connections.manager.close();
  connections.nl.close();
}

/** Parameters of runRestart. */
export interface RestartRequest {
  unit: string;
  bus: BusTarget;
  netns: string | undefined;
  timeoutMs: number;
  desired: DesiredState | undefined;
  apply: boolean;
  prune: boolean;
}

/**
 * Runs restartAndConverge over `connections`, or over its own when none are given, and
 * closes them at the end. A timeout or a failure of the restart is rethrown with the
 * unit's state attached (`unitState`) and named in the message.
 */
export async function runRestart(
  request: RestartRequest,
  connections?: RestartConnections,
): Promise<RestartReport> {
  const { nl, manager } = connections ?? (await openRestartConnections(request.bus, request.netns));
  try {
    return await restartAndConverge({
      manager,
      nl,
      unit: request.unit,
      timeoutMs: request.timeoutMs,
      apply: request.apply,
      prune: request.prune,
      ...(request.desired === undefined ? {} : { desired: request.desired }),
      ...(request.netns === undefined ? {} : { netns: request.netns }),
    });
  } catch (error) {
    if (
      error instanceof LinkWaitError ||
      (error instanceof SystemdError && error.code === 'ETIMEDOUT')
    ) {
      await attachUnitState(error, manager, request.unit);
    }
    throw error;
  } finally {
    closeRestartConnections({ nl, manager });
  }
}

async function attachUnitState(error: Error, manager: SystemdManager, unit: string): Promise<void> {
  let state: UnitState;
  try {
    state = await manager.unitState(unit, { timeoutMs: 5000 });
  } catch {
    return;
  }
  Object.assign(error, { unitState: state });
  error.message += `\n  unit ${unit}: ${unitStateText(state)}`;
}

/** `ActiveState=failed SubState=failed Result=exit-code`, as `systemctl show` names them. */
export function unitStateText(state: UnitState): string {
  return `ActiveState=${state.activeState} SubState=${state.subState} Result=${state.result ?? '-'}`;
}

/** Converts a restart report to the restart part of the JSON output. */
export function restartToJson(
  report: RestartReport,
  desired: DesiredState | undefined,
  config: string,
  netns: string | undefined,
  warnings: readonly Diagnostic[],
): Record<string, unknown> {
  return {
    ok: report.ok,
    failure: report.failure ?? null,
    unit: report.unit,
    job: { path: report.job.job, result: report.job.result, durationMs: report.job.durationMs },
    unitState: report.unitState ?? null,
    interfaces: report.interfaces,
    apply:
      report.converge === undefined || desired === undefined
        ? null
        : reportToJson(report.converge, desired, config, netns, warnings),
    timings: report.timings,
  };
}

/** Renders a restart report as the restart part of the terminal output. */
export function renderRestart(
  report: RestartReport,
  desired: DesiredState | undefined,
  netns: string | undefined,
): string {
  const lines: string[] = [];
  const jobMs = report.timings.restartJobMs.toFixed(1);
  if (report.job.result !== 'done') {
    lines.push(
      style(
        `Restart of ${report.unit} failed: job ${report.job.job} ended with result "${report.job.result}" after ${jobMs} ms`,
        'red',
      ),
    );
    if (report.unitState !== undefined)
      lines.push(`  unit ${report.unit}: ${unitStateText(report.unitState)}`);
    lines.push(`  see: journalctl -u ${report.unit}`);
    return `${lines.join('\n')}\n`;
  }

  lines.push(`Restarted ${report.unit} (job ${report.job.job} done in ${jobMs} ms)`);
  if (report.failure === 'unit-stopped') {
    lines.push(
      style(`${report.unit} stopped before its interfaces came back; nothing was applied`, 'red'),
    );
    if (report.unitState !== undefined)
      lines.push(`  unit ${report.unit}: ${unitStateText(report.unitState)}`);
    lines.push(`  see: journalctl -u ${report.unit}`);
    return `${lines.join('\n')}\n`;
  }
  for (const iface of report.interfaces) {
    const was = iface.previousIndex === undefined ? 'absent before' : `was ${iface.previousIndex}`;
    const when =
      iface.afterJobMs >= 0
        ? `${iface.afterJobMs.toFixed(1)} ms after the job ended`
        : `${(-iface.afterJobMs).toFixed(1)} ms before the job ended`;
    lines.push(`${iface.name} is back as ifindex ${iface.index} (${was}), ${when}`);
  }
  let output = `${lines.join('\n')}\n`;
  if (report.converge !== undefined && desired !== undefined)
    output += renderReport(report.converge, desired, netns);

  const t = report.timings;
  output +=
    `Timings: restart job ${t.restartJobMs.toFixed(1)} ms, job end to interfaces ${t.jobToInterfacesMs.toFixed(1)} ms, ` +
    `apply ${t.applyMs.toFixed(1)} ms, job end to configured ${t.jobToConfiguredMs.toFixed(1)} ms, total ${t.totalMs.toFixed(1)} ms\n`;
  return output;
}

const USAGE = `Usage: fstack-kni restart [options]

Restarts F-Stack's systemd unit over D-Bus, waits for its veth<N> interfaces to come back
and applies f-stack.conf to them: the runbook's restart, wait and configure steps in one
command. Link notifications are watched from before the restart, so an interface is seen
the moment it comes back, with the new ifindex it gets at each F-Stack start.

Options:
${SERVICE_USAGE}  --no-apply              restart and wait, but leave the interfaces as they come back
                          (for instance when fstack-kni watch configures them)
${TARGET_USAGE}
Exit codes: 0 restarted and converged, 1 failed (the job failed, the interfaces did not
come back in time, or the apply failed), 2 usage, 4 no permission, no systemd or no D-Bus.
`;

const RESTART_OPTIONS = {
  ...TARGET_OPTIONS,
  ...SERVICE_OPTIONS,
  'no-apply': { type: 'boolean' },
} as const;

export const command: Command = {
  summary: "restart F-Stack's unit, wait for veth<N> to come back, apply f-stack.conf",
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('restart', argv, RESTART_OPTIONS);
    const path = values.config ?? DEFAULT_CONFIG_PATH;
    const bus = parseBusOption(values.bus);
    const timeoutMs = parseTimeoutOption(values.timeout);
    const unit = parseUnitOption(values.unit);

    const { loaded, warnings } = await loadValidConfig(path, values['fstack-version']);
    const desired = desiredStateOf(loaded, targetOptions(values, loaded));

    const report = await runRestart({
      unit,
      bus,
      netns: values.netns,
      timeoutMs,
      desired,
      apply: values['no-apply'] !== true,
      prune: values.prune ?? false,
    });

    if (values.json === true) {
      const document = {
        ...restartToJson(report, desired, path, values.netns, warnings),
        config: path,
        netns: values.netns ?? null,
      };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      for (const warning of warnings) process.stderr.write(`${formatDiagnostic(warning)}\n`);
      process.stdout.write(renderRestart(report, desired, values.netns));
    }
    return report.ok ? ExitCode.Ok : ExitCode.Failed;
  },
};
