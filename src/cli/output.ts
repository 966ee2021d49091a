// Exit codes, error reporting and terminal styling for the CLI.

/** Documented exit codes; scripts and fleet tools rely on them. */
export enum ExitCode {
  Ok = 0,
  /** The command ran and found errors (invalid config, failed apply, problems in status). */
  Failed = 1,
  /** Bad command line: unknown command or option, missing or invalid value. */
  Usage = 2,
  /** `--check` found changes to make (nothing was changed). */
  Changes = 3,
  /** A needed facility is missing: no CAP_NET_ADMIN, no systemd, no addon. */
  Unavailable = 4,
}

/** A command-line mistake: reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** True when stdout is a terminal and NO_COLOR is unset, so ANSI styling may be used. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
}

/** Wraps text in an ANSI style when colour is allowed. */
export function style(text: string, code: 'red' | 'green' | 'yellow' | 'bold' | 'dim'): string {
  if (!useColor()) return text;
  const codes = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
  return `\u001b[${codes[code]}m${text}\u001b[0m`;
}

/**
 * Prints an error on stderr (as JSON on stdout too when --json was given) and returns the
 * exit code for it. Errors may carry their own `exitCode`.
 */
export function reportError(error: unknown, argv: string[]): number {
  const err = error instanceof Error ? error : new Error(String(error));
  const own = (err as Error & { exitCode?: unknown }).exitCode;
  let exitCode: number = ExitCode.Failed;
  if (err instanceof UsageError) exitCode = ExitCode.Usage;
  else if (typeof own === 'number') exitCode = own;

  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: errorToJson(err) }, null, 2)}\n`);
  }
  process.stderr.write(`fstack-kni: ${err.message}\n`);
  if (process.env.FSTACK_KNI_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCode;
}

/** Plain-object form of an error with its own enumerable fields (errno, code, ...). */
export function errorToJson(err: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [key, value] of Object.entries(err)) {
    if (key !== 'stack') fields[key] = value;
  }
  return fields;
}
