// `npm run bench`: rtnetlink reconfiguration from Node.js with this library, next to the
// kernel floor (plain C), the npm package `netlink`, iproute2's `ip` and pyroute2, all on
// the same fresh namespace and veth pair. Writes docs/benchmarks.json and
// docs/benchmarks.md (see report.ts), or with --quick runs every case once with tiny
// counts and writes only what --json / --markdown name.
//
// Usage: node dist-bench/bench/run.js [--quick] [--rounds N] [--only REGEXP] [--json PATH]
//                                      [--markdown PATH]
//   BENCH_QUICK=1 is the same as --quick. --only runs the rows whose id matches, such as
//   `address/`, with their floor. It skips the soak, cold start and restart, and like
//   --quick writes only what --json / --markdown name. Needs root (network namespaces)
//   and `cc`.
//
// Every tool runs as a process of its own under bench/runner.c, which enters the namespace
// and records the process's peak RSS. Rounds alternate all rows, with the start rotated
// each round, and the medians over rounds are reported, so load from other processes on the
// machine skews every tool alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  floorCount,
  type RowDefinition,
  restartCount,
  rowDefinitions,
  soakCounts,
} from './cases.js';
import { measureColdStart } from './cold-start.js';
import { kniConfigText, repoRoot, type WorkerResult, type WorkerSpec } from './common.js';
import {
  type BenchContext,
  check,
  compile,
  createNamespace,
  findPython,
  resetLink,
  runMeasured,
} from './context.js';
import {
  type BenchReport,
  buildReport,
  type Environment,
  type RowSample,
  type RunOutcome,
  renderMarkdown,
} from './report.js';

interface Options {
  quick: boolean;
  rounds: number;
  only?: RegExp;
  json?: string;
  markdown?: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
    },
  });
  const quick = values.quick === true || process.env.BENCH_QUICK === '1';
  let rounds = quick ? 1 : 5;
  if (values.rounds !== undefined) rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
  const options: Options = { quick, rounds };
  if (values.only !== undefined) options.only = parseOnly(values.only);
  const partial = quick || options.only !== undefined;
  const json = values.json ?? (partial ? undefined : join(repoRoot, 'docs', 'benchmarks.json'));
  const markdown =
    values.markdown ?? (partial ? undefined : join(repoRoot, 'docs', 'benchmarks.md'));
  if (json !== undefined) options.json = json;
  if (markdown !== undefined) options.markdown = markdown;
  return options;
}

function workerCommand(context: BenchContext, row: RowDefinition): string[] {
  const worker = row.worker;
  if (worker === undefined) throw new Error(`${row.id} has no worker`);
  const spec: WorkerSpec = {
    case: worker.case,
    netns: context.netns,
    ifindex: context.ifindex,
    count: worker.count,
    warmup: worker.warmup,
    config: context.config,
    directory: context.directory,
    runner: context.runner,
  };
  const script = (name: string) => join(repoRoot, 'dist-bench', 'bench', name);
  switch (worker.program) {
    case 'library':
      return [process.execPath, script('worker-library.js'), JSON.stringify(spec)];
    case 'netlink':
      return [process.execPath, script('worker-netlink-package.js'), JSON.stringify(spec)];
    case 'ip':
      return [process.execPath, script('worker-ip.js'), JSON.stringify(spec)];
    case 'pyroute2':
      if (context.python === undefined)
        throw new Error(context.pythonSkip ?? 'pyroute2 is not available');
      return [context.python, join(repoRoot, 'bench', 'worker_pyroute2.py'), JSON.stringify(spec)];
  }
}

function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as T;
}

/** Runs one worker row once and returns its sample, or the error that stopped it. */
function measureRow(context: BenchContext, row: RowDefinition): RowSample {
  try {
    const { stdout, usage } = runMeasured(context, workerCommand(context, row));
    const result = lastJsonLine<WorkerResult>(stdout);
    const toolRss = result.extra?.toolMaxRssKb;
    return {
      usPerOperation: result.usPerOperation,
      maxRssKb: typeof toolRss === 'number' ? toolRss : usage.maxRssKb,
      ...(result.extra !== undefined && { extra: result.extra }),
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    resetLink(context);
  }
}

/** Runs bench/floor.c once; returns one sample per floor case name. */
function measureFloor(context: BenchContext, quick: boolean): Map<string, RowSample> {
  const samples = new Map<string, RowSample>();
  try {
    const { stdout, usage } = runMeasured(context, [
      context.floor,
      context.netnsPath,
      String(context.ifindex),
      String(floorCount(quick)),
    ]);
    for (const line of stdout.trim().split('\n')) {
      const result = JSON.parse(line) as { case: string; usPerOperation: number };
      samples.set(result.case, { usPerOperation: result.usPerOperation, maxRssKb: usage.maxRssKb });
    }
  } catch (error) {
    samples.set('error', { error: error instanceof Error ? error.message : String(error) });
  } finally {
    resetLink(context);
  }
  return samples;
}

/** Averages a floor case's two runs of one round, or returns the first error when a run failed. */
function parseOnly(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new RangeError(
      `--only must be a regular expression matched against row ids such as address/library/batch, got ${JSON.stringify(pattern)}: ${(error as Error).message}`,
    );
  }
}

/** Returns the rows --only selects, with the floor rows their ratios need, or all rows. */
function selectRows(rows: RowDefinition[], only: RegExp | undefined): RowDefinition[] {
  if (only === undefined) return rows;
  const chosen = rows.filter((row) => only.test(row.id));
  if (chosen.length === 0) {
    throw new RangeError(
      `--only ${only.source} matches no row; row ids: ${rows.map((row) => row.id).join(', ')}`,
    );
  }
  const operations = new Set(chosen.map((row) => row.operation));
  return rows.filter(
    (row) => chosen.includes(row) || (row.tool === 'floor' && operations.has(row.operation)),
  );
}

/** Returns the outcome recorded for a measurement that --only left out. */
function skipped(): RunOutcome<never> {
  return { ok: false, error: 'skipped: not selected by --only' };
}

function bracket(
  before: Map<string, RowSample>,
  after: Map<string, RowSample>,
  name: string,
): RowSample {
  const first = before.get(name) ??
    before.get('error') ?? { error: `floor printed no case "${name}"` };
  const second = after.get(name) ??
    after.get('error') ?? { error: `floor printed no case "${name}"` };
  if (first.usPerOperation === undefined) return first;
  if (second.usPerOperation === undefined) return second;
  return {
    usPerOperation: (first.usPerOperation + second.usPerOperation) / 2,
    maxRssKb: Math.max(first.maxRssKb ?? 0, second.maxRssKb ?? 0),
  };
}

function runRounds(
  context: BenchContext,
  rows: RowDefinition[],
  options: Options,
): { samples: Map<string, RowSample[]>; loads: number[][] } {
  const samples = new Map<string, RowSample[]>(rows.map((row) => [row.id, []]));
  const measured = rows.filter((row) => row.worker !== undefined);
  const library = measured.filter((row) => row.tool === 'library' && row.reference !== undefined);
  const others = measured.filter((row) => !library.includes(row));
  const floorRows = rows.filter((row) => row.floorCase !== undefined);
  const loads: number[][] = [];

  const runRows = (round: number, group: RowDefinition[]) => {
    // The start moves each round, so no row always runs right after the same neighbour.
    const shift = round % Math.max(1, group.length);
    for (const row of [...group.slice(shift), ...group.slice(0, shift)]) {
      const sample = measureRow(context, row);
      samples.get(row.id)?.push(sample);
      const progress =
        sample.error !== undefined
          ? `failed: ${sample.error.split('\n')[0]}`
          : `${(sample.usPerOperation as number).toFixed(2)} us/op`;
      process.stderr.write(`bench: round ${round + 1}/${options.rounds} ${row.id}: ${progress}\n`);
    }
  };

  for (let round = 0; round < options.rounds; round++) {
    loads.push(loadavg());
    // The floor runs right before and right after this library's rows, and its sample for
    // the round is the mean of both, so the ratios compare runs of the same minute.
    const before = measureFloor(context, options.quick);
    runRows(round, library);
    const after = measureFloor(context, options.quick);
    for (const row of floorRows) {
      samples.get(row.id)?.push(bracket(before, after, row.floorCase as string));
    }
    runRows(round, others);
  }
  loads.push(loadavg());
  return { samples, loads };
}

function measureSoak(context: BenchContext, quick: boolean): RunOutcome {
  const { count, warmup } = soakCounts(quick);
  const spec: WorkerSpec = {
    case: 'soak',
    netns: context.netns,
    ifindex: context.ifindex,
    count,
    warmup,
  };
  try {
    const { stdout, usage } = runMeasured(context, [
      process.execPath,
      '--expose-gc',
      join(repoRoot, 'dist-bench', 'bench', 'worker-library.js'),
      JSON.stringify(spec),
    ]);
    const result = lastJsonLine<WorkerResult>(stdout);
    return { ok: true, value: { ...result, maxRssKb: usage.maxRssKb } };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    resetLink(context);
  }
}

function measureRestart(quick: boolean): RunOutcome {
  const script = join(repoRoot, 'dist-bench', 'bench', 'worker-restart.js');
  if (!existsSync(join(repoRoot, 'bench', 'restart.ts')))
    return { ok: false, error: 'bench/restart.ts is missing' };
  try {
    const stdout = check(process.execPath, [script, String(restartCount(quick))]);
    const result = lastJsonLine<{ skipped?: string }>(stdout);
    if (result.skipped !== undefined) return { ok: false, error: `skipped: ${result.skipped}` };
    return { ok: true, value: result };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Returns the command line of this run, as the report shows it. */
function benchCommand(options: Options): string {
  const flags = [
    ...(options.quick ? ['--quick'] : []),
    ...(options.only !== undefined ? ['--only', `'${options.only.source}'`] : []),
  ];
  return flags.length === 0 ? 'npm run bench' : `npm run bench -- ${flags.join(' ')}`;
}

function describeEnvironment(
  options: Options,
  context: BenchContext,
  startedAt: Date,
): Environment {
  const firstLine = (program: string, args: string[]) => {
    const result = spawnSync(program, args, { encoding: 'utf8' });
    return result.status === 0
      ? (`${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? '')
      : 'unavailable';
  };
  const packageVersion = (name: string) =>
    (
      JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  return {
    date: startedAt.toISOString(),
    command: benchCommand(options),
    quick: options.quick,
    rounds: options.rounds,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    iproute2: firstLine('ip', ['-V']),
    netlinkPackage: packageVersion('netlink'),
    pyroute2:
      context.python === undefined
        ? (context.pythonSkip ?? 'unavailable')
        : firstLine(context.python, [
            '-c',
            'import importlib.metadata, sys; print(importlib.metadata.version("pyroute2"), "on Python", sys.version.split()[0])',
          ]),
    compiler: firstLine('cc', ['--version']),
    netns: context.netns,
  };
}

async function main(): Promise<void> {
  let options: Options;
  let rows: RowDefinition[];
  try {
    options = parseOptions(process.argv.slice(2));
    rows = selectRows(rowDefinitions(options.quick), options.only);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root, to create network namespaces and veth pairs\n');
    process.exitCode = 2;
    return;
  }

  const startedAt = new Date();
  const directory = mkdtempSync(join(tmpdir(), 'fstack-kni-bench-'));
  const netns = `fkbench-${process.pid}`;
  let created = false;
  const cleanUp = () => {
    if (created) spawnSync('ip', ['netns', 'delete', netns], { stdio: 'ignore' });
    created = false;
    rmSync(directory, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const runner = compile(directory, 'runner');
    const floor = compile(directory, 'floor');
    const config = join(directory, 'f-stack.conf');
    writeFileSync(config, kniConfigText());
    created = true;
    const ifindex = createNamespace(netns);
    const context: BenchContext = {
      netns,
      netnsPath: `/run/netns/${netns}`,
      ifindex,
      directory,
      runner,
      floor,
      config,
    };
    const python = findPython();
    if (python.python !== undefined) context.python = python.python;
    if (python.skip !== undefined) context.pythonSkip = python.skip;

    const environment = describeEnvironment(options, context, startedAt);
    const { samples, loads } = runRounds(context, rows, options);
    const everything = options.only === undefined;
    if (everything) process.stderr.write('bench: soak of one handle\n');
    const soak = everything ? measureSoak(context, options.quick) : skipped();
    if (everything) process.stderr.write('bench: CLI cold start\n');
    const coldStart = everything ? measureColdStart(context, options.quick) : skipped();
    if (everything) process.stderr.write('bench: restart to configured\n');
    const restart = everything ? measureRestart(options.quick) : skipped();

    const report: BenchReport = buildReport({
      environment,
      rows,
      samples,
      loads,
      soak,
      coldStart,
      restart,
    });
    report.environment.finishedAt = new Date().toISOString();
    if (options.json !== undefined)
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    if (options.markdown !== undefined) writeFileSync(options.markdown, renderMarkdown(report));
    process.stdout.write(
      `${JSON.stringify({ targets: report.targets, failures: report.failures })}\n`,
    );
  } finally {
    cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
