// Command dispatch, help and exit codes shared by every fstack-kni command.
import { ExitCode, reportError, UsageError } from './output.js';

/** One CLI command: its one-line summary, its help text and its implementation. */
export interface Command {
  summary: string;
  usage: string;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Command name to a loader, so unused commands are never imported. */
export type CommandTable = Record<string, () => Promise<Command>>;

/**
 * Runs the command named by argv[0] and returns the process exit code. An error thrown while
 * loading or running a command is reported on stderr, such as a command module missing from
 * an incomplete install.
 */
export async function runCommand(table: CommandTable, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    return await dispatch(table, name, rest);
  } catch (error) {
    return reportError(error, rest);
  }
}

async function dispatch(
  table: CommandTable,
  name: string | undefined,
  rest: string[],
): Promise<number> {
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && table[topic] !== undefined) {
      process.stdout.write((await table[topic]()).usage);
      return ExitCode.Ok;
    }
    process.stdout.write(await overview(table));
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version' || name === '-V') {
    const { version } = await import('../version.js');
    process.stdout.write(`fstack-kni ${version}\n`);
    return ExitCode.Ok;
  }

  const load = table[name];
  if (load === undefined) {
    throw new UsageError(`unknown command "${name}"; run "fstack-kni --help" for the list`);
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return ExitCode.Ok;
  }
  return command.run(rest);
}

async function overview(table: CommandTable): Promise<string> {
  const lines = ['Usage: fstack-kni <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(table)) {
    const command = await load();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push('', 'Run "fstack-kni <command> --help" for the options of one command.', '');
  return lines.join('\n');
}
