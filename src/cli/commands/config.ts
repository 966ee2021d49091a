// `fstack-kni config`: check f-stack.conf as F-Stack reads it, read a value, and edit it
// without losing a byte of the rest.

import { countDiagnostics, type Diagnostic, formatDiagnostic } from '../../config/diagnostics.js';
import { unifiedDiff } from '../../config/diff.js';
import { applyEdits, EditError, type EditOperation, parseKeyPath } from '../../config/edit.js';
import {
  configDirectoryMessage,
  getValue,
  type LoadedConfig,
  loadConfig,
  missingConfigMessage,
} from '../../config/model.js';
import { DEFAULT_FSTACK_VERSION, parseFstackVersion } from '../../config/versions.js';
import { editConfigFile } from '../../config/write.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style, UsageError } from '../output.js';
import type { Command } from '../run.js';

/** Default location of f-stack.conf. */
const DEFAULT_CONFIG = '/etc/f-stack.conf';

const USAGE = `Usage: fstack-kni config <subcommand> [options]

Reads f-stack.conf exactly as F-Stack does (its inih settings, handlers and value parsers),
reports what F-Stack would reject or misread, and edits the file in place.

Subcommands:
  check                      report errors and warnings like a compiler
  get KEY                    print the value F-Stack reads for KEY (e.g. kni.method)
  set KEY=VALUE [...]        set keys; uncomments a commented-out key or section when present
  unset KEY [...]            remove keys
  enable-section SECTION     uncomment or add [SECTION] (with its commented keys)
  disable-section SECTION    comment out [SECTION] and its keys; keys already commented
                             out get a second # so enable-section leaves them commented

KEY is section.name: kni.enable, port0.addr, dpdk.port_list,
freebsd.sysctl.kern.ipc.somaxconn.

Options:
  --config FILE              f-stack.conf to use (default ${DEFAULT_CONFIG})
  --fstack-version V         F-Stack version whose rules apply: 1.21 to 1.25 or dev
                             (default ${DEFAULT_FSTACK_VERSION})
  --json                     print one JSON document
  --strict                   check: fail on warnings too
  --dry-run                  edits: print a unified diff and write nothing
  --backup                   edits: keep the previous content in FILE.bak
  --backup-suffix SUFFIX     edits: keep the previous content in FILE<SUFFIX>

Edits are validated: a value F-Stack would misread, or a result with errors, is rejected
and nothing is written. An edit takes the lock FILE.lock, reads the file again under it,
and replaces the file atomically with its mode and owner kept, so concurrent edits apply
one after another.

Exit codes: 0 success (check: no errors), 1 errors found or edit rejected, 2 usage.
`;

const OPTIONS = {
  config: { type: 'string' },
  'fstack-version': { type: 'string' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  backup: { type: 'boolean' },
  'backup-suffix': { type: 'string' },
} as const;

interface ConfigValues {
  config?: string;
  'fstack-version'?: string;
  json?: boolean;
  strict?: boolean;
  'dry-run'?: boolean;
  backup?: boolean;
  'backup-suffix'?: string;
}

export const configCommand: Command = {
  summary: 'check, read and edit f-stack.conf exactly as F-Stack reads it',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const [subcommand, ...rest] = argv;
    if (subcommand === undefined)
      throw new UsageError('missing subcommand; run "fstack-kni config --help"');

    const { values, positionals } = parseOptions(rest);
    switch (subcommand) {
      case 'check':
        expectArguments(subcommand, positionals, 0, 0);
        return check(values);
      case 'get':
        expectArguments(subcommand, positionals, 1, 1);
        return get(values, positionals[0] as string);
      case 'set':
        expectArguments(subcommand, positionals, 1, Infinity);
        return edit(values, positionals.map(parseAssignment));
      case 'unset':
        expectArguments(subcommand, positionals, 1, Infinity);
        return edit(
          values,
          positionals.map((key) => ({ kind: 'unset', key })),
        );
      case 'enable-section':
      case 'disable-section':
        expectArguments(subcommand, positionals, 1, 1);
        return edit(values, [{ kind: subcommand, section: positionals[0] as string }]);
      default:
        throw new UsageError(`unknown subcommand "${subcommand}"; run "fstack-kni config --help"`);
    }
  },
};

function parseOptions(argv: string[]): { values: ConfigValues; positionals: string[] } {
  const parsed = parseCommandArgs('config', argv, OPTIONS, true);
  const values = parsed.values as ConfigValues;
  if (values['fstack-version'] !== undefined) {
    try {
      parseFstackVersion(values['fstack-version']);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return { values, positionals: parsed.positionals };
}

function expectArguments(
  subcommand: string,
  positionals: string[],
  min: number,
  max: number,
): void {
  if (positionals.length < min)
    throw new UsageError(`config ${subcommand}: missing argument; run "fstack-kni config --help"`);
  if (positionals.length > max)
    throw new UsageError(`config ${subcommand}: unexpected argument "${positionals[max]}"`);
}

function parseAssignment(text: string): EditOperation {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new UsageError(`"${text}" is not KEY=VALUE (e.g. kni.enable=1)`);
  return { kind: 'set', key: text.slice(0, equals), value: text.slice(equals + 1) };
}

async function read(values: ConfigValues): Promise<LoadedConfig> {
  const path = values.config ?? DEFAULT_CONFIG;
  try {
    return await loadConfig(
      path,
      values['fstack-version'] !== undefined ? { fstackVersion: values['fstack-version'] } : {},
    );
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw Object.assign(new Error(missingConfigMessage(path), { cause: error }), {
        code: err.code,
        exitCode: ExitCode.Failed,
      });
    }
    if (err.code === 'EISDIR') {
      throw Object.assign(new Error(configDirectoryMessage(path), { cause: error }), {
        code: err.code,
        exitCode: ExitCode.Failed,
      });
    }
    if (typeof err.code === 'string' && typeof err.syscall === 'string') {
      throw Object.assign(new Error(`cannot read ${path}: ${err.message}`), {
        exitCode: ExitCode.Failed,
      });
    }
    throw error;
  }
}

async function check(values: ConfigValues): Promise<number> {
  const loaded = await read(values);
  const { errors, warnings } = countDiagnostics(loaded.diagnostics);
  const failed = errors > 0 || (values.strict === true && warnings > 0);

  if (values.json === true) {
    printJson({
      ok: !failed,
      file: loaded.file,
      fstackVersion: loaded.version,
      errors,
      warnings,
      ...(loaded.stop !== undefined ? { stop: loaded.stop } : {}),
      diagnostics: loaded.diagnostics,
    });
  } else {
    const lines = loaded.diagnostics.map((diagnostic) =>
      colorize(formatDiagnostic(diagnostic), diagnostic),
    );
    const summary =
      errors + warnings === 0
        ? `${loaded.file}: no problems found (F-Stack ${loaded.version} rules)`
        : `${loaded.file}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')} (F-Stack ${loaded.version} rules)`;
    process.stdout.write([...lines, summary, ''].join('\n'));
  }
  return failed ? ExitCode.Failed : ExitCode.Ok;
}

async function get(values: ConfigValues, key: string): Promise<number> {
  let path: ReturnType<typeof parseKeyPath>;
  try {
    path = parseKeyPath(key);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const loaded = await read(values);
  const found = getValue(loaded.config, path.section, path.name);

  if (values.json === true) {
    printJson(
      found !== undefined
        ? { ok: true, file: loaded.file, key, set: true, ...found }
        : { ok: false, file: loaded.file, key, set: false },
    );
  } else if (found !== undefined) {
    process.stdout.write(`${found.value}\n`);
  } else {
    process.stderr.write(`fstack-kni: ${key} is not set in ${loaded.file}\n`);
  }
  return found !== undefined ? ExitCode.Ok : ExitCode.Failed;
}

async function edit(values: ConfigValues, operations: EditOperation[]): Promise<number> {
  // A real edit reads the file again under its lock (editConfigFile), so that concurrent
  // editors apply their changes one after another instead of failing as changed since read.
  let loaded = await read(values);
  const json = values.json === true;
  const dryRun = values['dry-run'] === true;

  let result: ReturnType<typeof applyEdits>;
  let backupPath: string | undefined;
  try {
    if (dryRun) {
      result = applyEdits(loaded, operations);
    } else {
      const backup = values['backup-suffix'] ?? (values.backup === true ? true : undefined);
      // A LockTimeoutError reaches reportError and exits with 1.
      const edited = await editConfigFile(loaded.file, operations, {
        ...(values['fstack-version'] !== undefined && { fstackVersion: values['fstack-version'] }),
        ...(backup !== undefined && { backup }),
      });
      loaded = { ...edited.before, file: loaded.file };
      result = edited;
      backupPath = edited.written?.backupPath;
    }
  } catch (error) {
    if (error instanceof EditError) return reportEditFailure(error, loaded, json);
    throw error;
  }

  const diff = unifiedDiff(loaded.document, result.document, {
    before: loaded.file,
    after: `${loaded.file} (edited)`,
  });
  const newWarnings = newDiagnostics(loaded.diagnostics, result.loaded.diagnostics);

  if (json) {
    printJson({
      ok: true,
      file: loaded.file,
      changed: result.changed,
      written: result.changed && !dryRun,
      dryRun,
      diff,
      ...(backupPath !== undefined ? { backup: backupPath } : {}),
      warnings: newWarnings,
    });
    return ExitCode.Ok;
  }

  if (dryRun) process.stdout.write(diff);
  for (const warning of newWarnings)
    process.stderr.write(`${colorize(formatDiagnostic(warning), warning)}\n`);
  const message = !result.changed
    ? `${loaded.file}: no change needed`
    : dryRun
      ? `${loaded.file}: dry run, nothing written`
      : `${loaded.file}: updated${backupPath !== undefined ? ` (previous content in ${backupPath})` : ''}`;
  process.stderr.write(`${message}\n`);
  return ExitCode.Ok;
}

function reportEditFailure(error: EditError, loaded: LoadedConfig, json: boolean): number {
  if (json) {
    printJson({
      ok: false,
      file: loaded.file,
      error: { name: error.name, code: error.code, message: error.message },
      diagnostics: error.diagnostics,
    });
  }
  process.stderr.write(`fstack-kni: ${error.message}\n`);
  return ExitCode.Failed;
}

/** Diagnostics of `after` that `before` did not have (same code and message). */
function newDiagnostics(before: readonly Diagnostic[], after: readonly Diagnostic[]): Diagnostic[] {
  const known = new Set(
    before.map((diagnostic) => `${diagnostic.code}\u0000${diagnostic.message}`),
  );
  return after.filter((diagnostic) => !known.has(`${diagnostic.code}\u0000${diagnostic.message}`));
}

function colorize(text: string, diagnostic: Diagnostic): string {
  const [first, ...others] = text.split('\n');
  const label =
    diagnostic.severity === 'error' ? style('error', 'red') : style('warning', 'yellow');
  return [(first as string).replace(`: ${diagnostic.severity}: `, `: ${label}: `), ...others].join(
    '\n',
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
