// Command-line parsing shared by every command: node:util parseArgs, with its errors
// rewritten to name the command, the option and the fix.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './output.js';

type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** Maximum edit distance at which an unknown option gets a "did you mean" suggestion. */
const MAX_SUGGESTION_DISTANCE = 2;

/**
 * Parses the arguments of `command` (such as `apply` or `export`) with node:util parseArgs
 * in strict mode. Every parse error becomes a UsageError (exit 2) that names the option.
 */
export function parseCommandArgs<T extends OptionTable>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): {
  values: ReturnType<
    typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>
  >['values'];
  positionals: string[];
} {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      const message =
        describeArgumentError(command, argv, options, allowPositionals) ?? (error as Error).message;
      throw new UsageError(message);
    }
    throw error;
  }
}

/**
 * Finds the first argument that parseArgs rejects and describes it, or returns undefined
 * when none is found (the caller then keeps the parseArgs message).
 */
export function describeArgumentError(
  command: string,
  argv: readonly string[],
  options: OptionTable,
  allowPositionals: boolean,
): string | undefined {
  const help = `Run "fstack-kni ${command} --help" for the options.`;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;

    if (!arg.startsWith('-') || arg === '-') {
      if (!allowPositionals) return `unexpected argument "${arg}" for "${command}". ${help}`;
      continue;
    }

    const long = arg.startsWith('--');
    const equals = long ? arg.indexOf('=') : -1;
    const name = long ? arg.slice(2, equals === -1 ? undefined : equals) : arg.slice(1);
    const option = long
      ? options[name]
      : Object.values(options).find((o) => o.short === name.charAt(0));
    const optionText = long ? `--${name}` : arg;

    if (option === undefined) {
      const suggestion = long ? closestOption(name, Object.keys(options)) : undefined;
      const hint = suggestion === undefined ? '' : `; did you mean --${suggestion}?`;
      return `unknown option ${optionText} for "${command}"${hint}${hint === '' ? '.' : ''} ${help}`;
    }
    if (option.type === 'boolean') {
      if (equals !== -1) return `option ${optionText} takes no value`;
      continue;
    }
    if (equals !== -1) continue;

    const value = argv[i + 1];
    if (value === undefined || value === '--') return `option ${optionText} needs a value`;
    if (/^-\d+$/.test(value)) return `${optionText} must be a non-negative integer, got ${value}`;
    if (value.startsWith('-')) {
      return `option ${optionText} needs a value, got the option ${value}; to pass a value that starts with "-", write ${optionText}=${value}`;
    }
    i++;
  }
  return undefined;
}

/** Returns the option name closest to `name` by edit distance, when within MAX_SUGGESTION_DISTANCE. */
function closestOption(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = MAX_SUGGESTION_DISTANCE + 1;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions of one character each cost 1. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(
        Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
