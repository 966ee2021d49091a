// `fstack-kni enable`: the whole runbook in one command. Turns `[kni]` on in f-stack.conf
// and, with --restart, restarts F-Stack, waits for veth<N>, configures it and checks the
// listed TCP ports. Also home of the code `disable` shares.
import { formatDiagnostic } from '../../config/diagnostics.js';
import { unifiedDiff } from '../../config/diff.js';
import { EditError, type EditOperation } from '../../config/edit.js';
import type { Diagnostic, LoadedConfig } from '../../config/model.js';
import type { EditFileResult } from '../../config/write.js';
import { desiredStateOf } from '../../kni/config-error.js';
import type { DesiredState } from '../../kni/desired.js';
import { DEFAULT_CONFIG_PATH, type TargetValues } from '../../kni/options.js';
import {
  editKniSection,
  enableKniOperations,
  KNI_METHODS,
  type KniEnableRequest,
  type KniMethod,
} from '../../service/kni-config.js';
import type { RestartReport } from '../../service/restart.js';
import { type VerifyReport, verifyTcpPorts } from '../../service/verify.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, errorToJson, style, UsageError } from '../output.js';
import type { Command } from '../run.js';
import {
  closeRestartConnections,
  openRestartConnections,
  parseBusOption,
  parseTimeoutOption,
  parseUnitOption,
  type RestartConnections,
  renderRestart,
  restartToJson,
  runRestart,
  SERVICE_OPTIONS,
  SERVICE_USAGE,
} from './restart.js';
import { readConfig, TARGET_OPTIONS, TARGET_USAGE, targetOptions } from './target.js';

const KNI_ACTIONS = ['alltokni', 'alltoff', 'default'];

/** Options of both enable and disable. */
export const TOGGLE_OPTIONS = {
  ...TARGET_OPTIONS,
  ...SERVICE_OPTIONS,
  restart: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

export const TOGGLE_USAGE = `  --restart               then restart F-Stack's unit (see fstack-kni restart)
  --dry-run               print the edit as a unified diff; write and restart nothing
${SERVICE_USAGE}${TARGET_USAGE}`;

const ENABLE_OPTIONS = {
  ...TOGGLE_OPTIONS,
  'tcp-port': { type: 'string', multiple: true },
  'udp-port': { type: 'string', multiple: true },
  method: { type: 'string' },
  'kni-action': { type: 'string' },
} as const;

const ENABLE_USAGE = `Usage: fstack-kni enable --tcp-port N [--tcp-port N ...] [options]

Turns on F-Stack's KNI exception path: edits [kni] of f-stack.conf in place (enable=1,
method, tcp_port, udp_port, kni_action), uncommenting the shipped #[kni] block when the
file has one. The edit is validated as F-Stack reads the file, locked and atomic.
With --restart it then does the rest of the runbook: restarts F-Stack's unit, waits for
veth<N>, applies f-stack.conf to it, and connects from this host (inside --netns when
given) to each tcp_port on the port's address. That check runs for method=accept only;
the connect goes over the host's own loopback path, so it shows the address and a
listener, not F-Stack's steering.

Options:
  --tcp-port N            TCP destination port (or range A-B) to hand to the kernel
                          (repeatable; sets tcp_port, the file's value stays when absent)
  --udp-port N            UDP destination port or range (repeatable; sets udp_port)
  --method M              accept (listed ports go to the kernel) or reject (listed ports
                          stay with F-Stack); default: the file's value, else accept
  --kni-action A          alltokni, alltoff or default (F-Stack 1.21 and later)
${TOGGLE_USAGE}
Exit codes: 0 done, 1 edit rejected or restart, apply or port check failed, 2 usage,
4 no permission, no systemd or no D-Bus.
`;

/** The edit, written or not, with what F-Stack will read afterwards. */
interface EditOutcome {
  result: EditFileResult;
  diff: string;
  /** Warnings of the edited file that the file did not have before. */
  newWarnings: Diagnostic[];
}

interface ToggleValues extends TargetValues {
  config?: string;
  netns?: string;
  unit?: string;
  bus?: string;
  timeout?: string;
  prune?: boolean;
  restart?: boolean;
  'dry-run'?: boolean;
  json?: boolean;
}

export const command: Command = {
  summary: 'turn on KNI in f-stack.conf; with --restart also restart, configure and check',
  usage: ENABLE_USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('enable', argv, ENABLE_OPTIONS);
    const request: KniEnableRequest = {
      ...(values['tcp-port'] === undefined
        ? {}
        : { tcpPorts: values['tcp-port'].map((v) => checkPortItem(v, '--tcp-port')) }),
      ...(values['udp-port'] === undefined
        ? {}
        : { udpPorts: values['udp-port'].map((v) => checkPortItem(v, '--udp-port')) }),
      ...(values.method === undefined ? {} : { method: checkMethod(values.method) }),
      ...(values['kni-action'] === undefined
        ? {}
        : { kniAction: checkKniAction(values['kni-action']) }),
    };
    return toggle(values, (loaded) => enableKniOperations(loaded, request), 'enable');
  },
};

/**
 * Runs enable or disable: edit, then with --restart restart (and, when KNI ends up on,
 * wait, apply and verify). Returns the exit code.
 */
export async function toggle(
  values: ToggleValues,
  operationsFor: (loaded: LoadedConfig) => EditOperation[],
  verb: 'enable' | 'disable',
): Promise<number> {
  const path = values.config ?? DEFAULT_CONFIG_PATH;
  const json = values.json === true;
  const dryRun = values['dry-run'] === true;
  const bus = parseBusOption(values.bus);
  const timeoutMs = parseTimeoutOption(values.timeout);
  const unit = parseUnitOption(values.unit);

  const loaded = await readConfig(path, values['fstack-version']);
  // A malformed --port, --mac, ... must stop the command before the file is written.
  if (values.restart === true) targetOptions(values, loaded);
  const restarting = values.restart === true && !dryRun;
  const operations = operationsFor(loaded);

  // Check what the restart needs before the file is written, so that a failure leaves the
  // file unchanged: the desired state of the edited config, the namespace and systemd.
  let connections: RestartConnections | undefined;
  if (restarting) {
    const preview = await editFile(path, operations, values['fstack-version'], true);
    desiredAfter(preview.result.loaded, values);
    connections = await openRestartConnections(bus, values.netns);
  }

  let edit: EditOutcome;
  let desired: DesiredState | undefined;
  try {
    edit = await editFile(path, operations, values['fstack-version'], dryRun);
    if (restarting) desired = desiredAfter(edit.result.loaded, values);
  } catch (error) {
    if (connections !== undefined) closeRestartConnections(connections);
    throw error;
  }
  // Disable leaves [kni] with settings and enable=0 on purpose, so enable can restore them.
  if (verb === 'disable') {
    edit.newWarnings = edit.newWarnings.filter(
      (warning) => warning.code !== 'kni-disabled-settings',
    );
  }
  const after = edit.result.loaded;

  let restart: RestartReport | undefined;
  let verify: VerifyReport | undefined;
  let restartError: unknown;
  if (connections !== undefined) {
    try {
      restart = await runRestart(
        {
          unit,
          bus,
          netns: values.netns,
          timeoutMs,
          desired,
          apply: true,
          prune: values.prune ?? false,
        },
        connections,
      );
      if (restart.ok && desired !== undefined) {
        verify = await verifyTcpPorts(
          after.config,
          desired,
          values.netns === undefined ? {} : { netns: values.netns },
        );
      }
    } catch (error) {
      restartError = error;
    }
  }

  let failure: Error | undefined;
  if (restartError instanceof Error) failure = restartError;
  else if (restartError !== undefined) failure = new Error(String(restartError));
  if (json) {
    const document = {
      ok: failure === undefined && (restart?.ok ?? true) && (verify?.ok ?? true),
      config: path,
      changed: edit.result.changed,
      written: edit.result.changed && !dryRun,
      dryRun,
      diff: edit.diff,
      warnings: edit.newWarnings.map(formatDiagnostic),
      restart:
        restart === undefined ? null : restartToJson(restart, desired, path, values.netns, []),
      verify: verify ?? null,
      ...(failure === undefined ? {} : { error: errorToJson(failure) }),
    };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    process.stdout.write(renderEdit(edit, path, dryRun, verb, values.restart === true, unit));
    if (restart !== undefined) process.stdout.write(renderRestart(restart, desired, values.netns));
    if (verify !== undefined) process.stdout.write(renderVerify(verify));
  }

  // The edit output is printed already, so the failed step is reported after it.
  if (failure !== undefined) {
    process.stderr.write(`fstack-kni: ${failure.message}\n`);
    const own = (failure as { exitCode?: unknown }).exitCode;
    return typeof own === 'number' ? own : ExitCode.Failed;
  }
  if (restart !== undefined && !restart.ok) return ExitCode.Failed;
  return verify === undefined || verify.ok ? ExitCode.Ok : ExitCode.Failed;
}

/** Returns the desired state of the edited config; undefined when KNI ends up off. */
function desiredAfter(after: LoadedConfig, values: ToggleValues): DesiredState | undefined {
  // With KNI off there is no interface to wait for: the unit is only restarted.
  if (!after.config.kni.enable) return undefined;
  return desiredStateOf(after, targetOptions(values, after));
}

async function editFile(
  path: string,
  operations: EditOperation[],
  fstackVersion: string | undefined,
  dryRun: boolean,
): Promise<EditOutcome> {
  let result: EditFileResult;
  try {
    result = await editKniSection(path, operations, {
      dryRun,
      ...(fstackVersion === undefined ? {} : { fstackVersion }),
    });
  } catch (error) {
    if (error instanceof EditError) {
      throw Object.assign(new Error(`${path}: ${error.message}; nothing was written`), {
        code: error.code,
        exitCode: ExitCode.Failed,
      });
    }
    throw error;
  }

  const known = new Set(result.before.diagnostics.map((d) => `${d.code}\u0000${d.message}`));
  return {
    result,
    diff: unifiedDiff(result.before.document, result.document, {
      before: path,
      after: `${path} (edited)`,
    }),
    newWarnings: result.loaded.diagnostics.filter(
      (d) => d.severity === 'warning' && !known.has(`${d.code}\u0000${d.message}`),
    ),
  };
}

function renderEdit(
  edit: EditOutcome,
  path: string,
  dryRun: boolean,
  verb: string,
  restart: boolean,
  unit: string,
): string {
  const lines: string[] = [];
  // formatDiagnostic's text has the `FILE:LINE:COLUMN: warning:` prefix already.
  for (const warning of edit.newWarnings) lines.push(style(formatDiagnostic(warning), 'yellow'));
  if (!edit.result.changed) {
    lines.push(
      `${path}: no change needed (KNI already ${verb === 'enable' ? 'on with these values' : 'off'})`,
    );
  } else if (dryRun) {
    lines.push(edit.diff.trimEnd(), `${path}: dry run, nothing written`);
  } else {
    lines.push(`${path}: updated`);
  }
  if (dryRun && restart) lines.push(`dry run: ${unit} was not restarted`);
  if (!dryRun && !restart && edit.result.changed) {
    lines.push(
      `F-Stack reads f-stack.conf at start: run "fstack-kni restart --unit ${unit}" or pass --restart`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderVerify(verify: VerifyReport): string {
  if (verify.status === 'skipped') return `Port check skipped: ${verify.reason}\n`;
  const lines = verify.checks.map((check) => {
    const target = `${check.address}:${check.port}`;
    switch (check.result) {
      case 'open':
        return `  ${style('open', 'green')}     ${target} accepts connections`;
      case 'refused':
        return `  ${style('refused', 'yellow')}  ${target}: the address answers, but nothing listens on the port`;
      case 'timeout':
        return `  ${style('timeout', 'red')}  ${target}: no answer in time`;
      default:
        return `  ${style('error', 'red')}    ${target}: ${check.error ?? 'connect failed'}`;
    }
  });
  return `Port check from this host:\n${lines.join('\n')}\n`;
}

/** Checks one --tcp-port or --udp-port value: a port 1-65535 or a range A-B of them. */
function checkPortItem(text: string, option: string): string {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const first = match === null ? NaN : Number(match[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!(first >= 1 && last <= 65535 && first <= last)) {
    throw new UsageError(
      `${option} ${JSON.stringify(text)} is not a port (1-65535) or a range A-B of them`,
    );
  }
  return text;
}

function checkMethod(text: string): KniMethod {
  if (!(KNI_METHODS as readonly string[]).includes(text)) {
    throw new UsageError(`--method ${JSON.stringify(text)} must be ${KNI_METHODS.join(' or ')}`);
  }
  return text as KniMethod;
}

function checkKniAction(text: string): string {
  if (!KNI_ACTIONS.includes(text)) {
    throw new UsageError(
      `--kni-action ${JSON.stringify(text)} must be one of ${KNI_ACTIONS.join(', ')}`,
    );
  }
  return text;
}
