// Cold start of `fstack-kni status` next to `node -e 0`: the cost of loading the CLI, the
// addon and the config, opening a socket in the namespace and dumping the kernel state,
// on top of Node's own start. Measured with hyperfine when it is installed, else with
// repeated spawns timed from here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNI_ADDRESS, KNI_BROADCAST, KNI_GATEWAY, LINK, median, repoRoot } from './common.js';
import { type BenchContext, check, resetLink, runMeasured } from './context.js';
import type { RunOutcome } from './report.js';

export interface ColdStartResult {
  method: string;
  rounds: number;
  runsPerRound: number;
  /** Medians over rounds of each round's median, in ms. */
  nodeMs: number;
  statusMs: number;
  /** Median over rounds of statusMs / nodeMs within the round. */
  ratio: number;
  statusMaxRssKb: number;
  nodeMaxRssKb: number;
  command: string;
}

function hasHyperfine(): boolean {
  return spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs one round with hyperfine and returns the median wall time in ms of each command. */
function hyperfineRound(
  context: BenchContext,
  commands: string[],
  runs: number,
  warmup: number,
): number[] {
  const exportFile = join(context.directory, 'hyperfine.json');
  check('hyperfine', [
    '-N',
    '--ignore-failure',
    '--style',
    'none',
    '--warmup',
    String(warmup),
    '--runs',
    String(runs),
    '--export-json',
    exportFile,
    ...commands,
  ]);
  const exported = JSON.parse(readFileSync(exportFile, 'utf8')) as {
    results: Array<{ median: number }>;
  };
  return exported.results.map((result) => result.median * 1000);
}

/** Runs one round of spawns, alternating the commands, and returns the median wall time in ms of each. */
function spawnRound(commands: string[][], runs: number): number[] {
  const times = commands.map(() => [] as number[]);
  for (let run = 0; run < runs; run++) {
    commands.forEach((command, i) => {
      const start = process.hrtime.bigint();
      spawnSync(command[0] as string, command.slice(1), { stdio: 'ignore' });
      times[i]?.push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  return times.map((values) => median(values));
}

export function measureColdStart(context: BenchContext, quick: boolean): RunOutcome {
  // status on a converged interface: the common case, and exit code 0.
  check(
    'ip',
    ['-n', context.netns, '-batch', '-'],
    `link set dev ${LINK} up\naddress add ${KNI_ADDRESS}/24 broadcast ${KNI_BROADCAST} dev ${LINK}\nroute add default via ${KNI_GATEWAY} dev ${LINK}\n`,
  );
  try {
    const node = [process.execPath, '-e', '0'];
    const status = [
      process.execPath,
      join(repoRoot, 'dist', 'cli', 'main.js'),
      'status',
      '--config',
      context.config,
      '--netns',
      context.netns,
      '--fstack-version',
      '1.25',
    ];
    check(status[0] as string, status.slice(1));

    const rounds = quick ? 1 : 5;
    const runs = quick ? 2 : 10;
    const useHyperfine = hasHyperfine();
    const nodeTimes: number[] = [];
    const statusTimes: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const [nodeMs, statusMs] = useHyperfine
        ? hyperfineRound(context, [node.join(' '), status.join(' ')], runs, quick ? 0 : 3)
        : spawnRound([node, status], runs);
      nodeTimes.push(nodeMs as number);
      statusTimes.push(statusMs as number);
      ratios.push((statusMs as number) / (nodeMs as number));
    }

    const result: ColdStartResult = {
      method: useHyperfine
        ? 'hyperfine -N (no shell)'
        : 'spawnSync from Node, alternating (hyperfine not installed)',
      rounds,
      runsPerRound: runs,
      nodeMs: median(nodeTimes),
      statusMs: median(statusTimes),
      ratio: median(ratios),
      statusMaxRssKb: runMeasured(context, status).usage.maxRssKb,
      nodeMaxRssKb: runMeasured(context, node).usage.maxRssKb,
      command: `fstack-kni status --config f-stack.conf --netns NAME --fstack-version 1.25`,
    };
    return { ok: true, value: result };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    resetLink(context);
  }
}
