// Turns the samples of a benchmark run into the summary (docs/benchmarks.json), the target
// verdicts and the Markdown page (docs/benchmarks.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPERATION_TITLES, type OperationId, type RowDefinition, TOOL_TITLES } from './cases.js';
import type { ColdStartResult } from './cold-start.js';
import { median, repoRoot } from './common.js';

/** One measurement of a row, or the error that stopped it. */
export interface RowSample {
  usPerOperation?: number;
  maxRssKb?: number;
  extra?: Record<string, unknown>;
  error?: string;
}

export type RunOutcome<T = unknown> = { ok: true; value: T } | { ok: false; error: string };

export interface Environment {
  date: string;
  finishedAt?: string;
  command: string;
  quick: boolean;
  rounds: number;
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  iproute2: string;
  netlinkPackage: string;
  pyroute2: string;
  compiler: string;
  /** Name of the namespace the run created and removed. */
  netns: string;
}

export interface RowSummary {
  id: string;
  operation: OperationId;
  tool: string;
  mode: string;
  /** Median over rounds; null when the row is unsupported or every round failed. */
  usPerOperation: number | null;
  operationsPerSecond: number | null;
  /** usPerOperation divided by the floor row's; above 1 is slower than the floor. */
  ratioToFloor: number | null;
  /** Id of the floor row that ratioToFloor compares with. */
  floorReference?: string;
  /** Largest peak RSS over rounds, in MiB. */
  peakRssMb: number | null;
  samplesUs: number[];
  unsupported?: string;
  errors: string[];
  /** Medians of numeric case-specific values, such as converge phases. */
  extra?: Record<string, unknown>;
}

export interface TargetVerdict {
  id: string;
  target: string;
  measured: string;
  /** null when the numbers needed are missing. */
  met: boolean | null;
}

export interface SoakResult {
  operations: number;
  usPerOperation: number;
  maxRssKb: number;
  extra: {
    rssAfterWarmupMb: number;
    rssAtEndMb: number;
    rssGrowthMb: number;
    maxPending: number;
    pendingAtEnd: number;
    samples: Array<Record<string, number>>;
  };
}

export interface BenchReport {
  environment: Environment;
  /** Load averages (1, 5, 15 min) before each round and after the last. */
  loadAverages: number[][];
  rows: RowSummary[];
  targets: TargetVerdict[];
  soak: RunOutcome<SoakResult>;
  coldStart: RunOutcome<ColdStartResult>;
  restart: RunOutcome;
  /** Rows that failed in at least one round. */
  failures: string[];
}

interface ReportInput {
  environment: Environment;
  rows: RowDefinition[];
  samples: Map<string, RowSample[]>;
  loads: number[][];
  soak: RunOutcome;
  coldStart: RunOutcome;
  restart: RunOutcome;
}

/** Medians of the numeric fields of `extra` over rounds, one level of nesting deep. */
function medianExtra(samples: RowSample[]): Record<string, unknown> | undefined {
  const extras = samples
    .map((sample) => sample.extra)
    .filter((extra): extra is Record<string, unknown> => extra !== undefined);
  if (extras.length === 0) return undefined;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extras[0] as Record<string, unknown>)) {
    if (typeof value === 'number') {
      result[key] = median(extras.map((extra) => extra[key] as number));
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      result[key] = Object.fromEntries(
        Object.keys(value).map((inner) => [
          inner,
          median(extras.map((extra) => (extra[key] as Record<string, number>)[inner] as number)),
        ]),
      );
    }
  }
  return result;
}

function summarizeRow(row: RowDefinition, samples: RowSample[]): RowSummary {
  const values = samples
    .map((sample) => sample.usPerOperation)
    .filter((value): value is number => value !== undefined);
  const rss = samples
    .map((sample) => sample.maxRssKb)
    .filter((value): value is number => value !== undefined);
  const us = values.length === 0 ? null : median(values);
  const summary: RowSummary = {
    id: row.id,
    operation: row.operation,
    tool: TOOL_TITLES[row.tool],
    mode: row.mode,
    usPerOperation: us,
    operationsPerSecond: us === null ? null : 1e6 / us,
    ratioToFloor: null,
    peakRssMb: rss.length === 0 ? null : Math.max(...rss) / 1024,
    samplesUs: values,
    errors: samples
      .map((sample) => sample.error)
      .filter((error): error is string => error !== undefined),
  };
  if (row.unsupported !== undefined) summary.unsupported = row.unsupported;
  const extra = medianExtra(samples);
  if (extra !== undefined) {
    delete extra.toolMaxRssKb;
    if (Object.keys(extra).length > 0) summary.extra = extra;
  }
  return summary;
}

/**
 * Sets each row's ratio to its floor row: the median over rounds of the ratio within each
 * round, so a round slowed by other load on the machine counts once, not twice.
 */
/**
 * Median over rounds of `numerator / denominator` within each round, so a round slowed by
 * other load on the machine counts once, not twice. null when no round has both.
 */
function medianRoundRatio(
  samples: Map<string, RowSample[]>,
  numerator: string,
  denominator: string,
): number | null {
  const below = samples.get(denominator) ?? [];
  const ratios = (samples.get(numerator) ?? [])
    .map((sample, round) => [sample.usPerOperation, below[round]?.usPerOperation] as const)
    .filter(
      (pair): pair is readonly [number, number] => pair[0] !== undefined && pair[1] !== undefined,
    )
    .map(([top, bottom]) => top / bottom);
  return ratios.length === 0 ? null : median(ratios);
}

/** Sets each row's ratio to its floor row, per round (medianRoundRatio). */
function addFloorRatios(
  rows: RowDefinition[],
  summaries: RowSummary[],
  samples: Map<string, RowSample[]>,
): void {
  rows.forEach((row, i) => {
    if (row.reference === undefined || row.tool === 'floor') return;
    const floorId = `${row.operation}/floor/${row.reference}`;
    const ratio = medianRoundRatio(samples, row.id, floorId);
    if (ratio === null) return;
    const summary = summaries[i] as RowSummary;
    summary.ratioToFloor = ratio;
    summary.floorReference = floorId;
  });
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);

function judgeTargets(
  rows: RowSummary[],
  samples: Map<string, RowSample[]>,
  soak: RunOutcome,
  coldStart: RunOutcome,
): TargetVerdict[] {
  const us = (id: string) => rows.find((row) => row.id === id)?.usPerOperation ?? null;
  const ratio = (id: string) => rows.find((row) => row.id === id)?.ratioToFloor ?? null;
  const roundRatio = (numerator: string, denominator: string) =>
    medianRoundRatio(samples, numerator, denominator);
  const verdicts: TargetVerdict[] = [];

  const single = us('address/library/awaited');
  const floorSingle = us('address/floor/single');
  const singleRatio = ratio('address/library/awaited');
  verdicts.push({
    id: 'address-one-at-a-time',
    target: 'awaited one-at-a-time address add+delete <= 1.3x the floor one at a time',
    measured:
      singleRatio === null
        ? 'missing'
        : `${fixed(singleRatio)}x (medians ${fixed(single ?? Number.NaN)} vs ${fixed(floorSingle ?? Number.NaN)} µs)`,
    met: singleRatio === null ? null : singleRatio <= 1.3,
  });

  // Throughput relative to the floor is the inverse of the time ratio. The transport's own
  // batch is shown for comparison but not judged: NetlinkSocket is not part of the public API.
  const transportBatch = ratio('address/library/transport-batch');
  const transportNote =
    transportBatch === null ? '' : ` (transport alone ${fixed(1 / transportBatch)}x, not judged)`;
  const throughputs = [
    ['batch API', ratio('address/library/batch')],
    ['prepared batch', ratio('address/library/prepared')],
    ['64 in flight', ratio('address/library/in-flight')],
  ]
    .filter((pair): pair is [string, number] => pair[1] !== null)
    .map(([name, value]) => [name, 1 / value] as const);
  verdicts.push({
    id: 'address-batched',
    target: "batch or pipelined throughput >= 0.8x the floor's batched throughput",
    measured:
      throughputs.length === 0
        ? 'missing'
        : throughputs.map(([name, value]) => `${name} ${fixed(value)}x`).join(', ') + transportNote,
    met:
      throughputs.length === 0 ? null : Math.max(...throughputs.map(([, value]) => value)) >= 0.8,
  });

  const pairs = ['address/%/awaited', 'address/%/in-flight', 'route/%/awaited', 'link/%/awaited'];
  const speedups = pairs
    .map(
      (pattern) =>
        [
          pattern.replace('/%', ''),
          roundRatio(pattern.replace('%', 'netlink'), pattern.replace('%', 'library')),
        ] as const,
    )
    .filter((pair): pair is readonly [string, number] => pair[1] !== null);
  verdicts.push({
    id: 'versus-netlink-package',
    target: '>= 2x faster than the npm netlink package on the same case',
    measured:
      speedups.length === 0
        ? 'missing'
        : speedups.map(([name, value]) => `${name} ${fixed(value, 1)}x`).join(', '),
    met: speedups.length === 0 ? null : speedups.every(([, value]) => value >= 2),
  });

  const scratch = us('apply-scratch/library/converge');
  verdicts.push({
    id: 'apply-from-scratch',
    target: 'full KNI apply from scratch <= 0.5 ms in-process',
    measured:
      scratch === null
        ? 'missing'
        : `${fixed(scratch / 1000, 3)} ms (runbook: ${fixed((us('apply-scratch/ip/runbook') ?? Number.NaN) / 1000, 1)} ms)`,
    met: scratch === null ? null : scratch <= 500,
  });
  const noop = us('apply-noop/library/converge');
  verdicts.push({
    id: 'apply-no-op',
    target: 'no-op apply <= 0.2 ms in-process',
    measured: noop === null ? 'missing' : `${fixed(noop / 1000, 3)} ms`,
    met: noop === null ? null : noop <= 200,
  });

  if (soak.ok) {
    const { extra, operations } = soak.value as SoakResult;
    verdicts.push({
      id: 'soak',
      target:
        '1,000,000 requests on one handle: no growth of pending requests, RSS flat within 10 MB',
      measured: `${operations.toLocaleString('en-US')} requests, RSS ${fixed(extra.rssAfterWarmupMb, 1)} -> ${fixed(extra.rssAtEndMb, 1)} MiB (${extra.rssGrowthMb >= 0 ? '+' : ''}${fixed(extra.rssGrowthMb, 1)}), pending at most ${extra.maxPending} at samples, ${extra.pendingAtEnd} at end`,
      met:
        extra.maxPending === 0 &&
        extra.pendingAtEnd === 0 &&
        extra.rssGrowthMb <= 10 &&
        operations >= 1_000_000,
    });
  } else {
    verdicts.push({
      id: 'soak',
      target: '1,000,000 requests on one handle',
      measured: notMeasured(soak.error),
      met: null,
    });
  }

  if (coldStart.ok) {
    const value = coldStart.value as ColdStartResult;
    verdicts.push({
      id: 'cold-start',
      target: '`fstack-kni status` cold start <= 1.5x `node -e 0`',
      measured: `${fixed(value.ratio)}x (${fixed(value.statusMs, 1)} vs ${fixed(value.nodeMs, 1)} ms)`,
      met: value.ratio <= 1.5,
    });
  } else {
    verdicts.push({
      id: 'cold-start',
      target: '`fstack-kni status` cold start <= 1.5x `node -e 0`',
      measured: notMeasured(coldStart.error),
      met: null,
    });
  }
  return verdicts;
}

export function buildReport(input: ReportInput): BenchReport {
  const rows = input.rows.map((row) => summarizeRow(row, input.samples.get(row.id) ?? []));
  addFloorRatios(input.rows, rows, input.samples);
  return {
    environment: input.environment,
    loadAverages: input.loads,
    rows,
    targets: judgeTargets(rows, input.samples, input.soak, input.coldStart),
    soak: input.soak as RunOutcome<SoakResult>,
    coldStart: input.coldStart as RunOutcome<ColdStartResult>,
    restart: input.restart,
    failures: rows
      .filter((row) => row.errors.length > 0)
      .map((row) => `${row.id}: ${row.errors[0]}`),
  };
}

// --- Markdown ---

function formatUs(us: number): string {
  if (us >= 10_000) return `${(us / 1000).toFixed(1)} ms`;
  if (us >= 1_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : us >= 10 ? 1 : 2)} µs`;
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(perSecond >= 10 ? 0 : 1);
}

function rowLine(row: RowSummary): string {
  if (row.unsupported !== undefined)
    return `| ${row.tool} | ${row.mode} | not offered: ${row.unsupported} | | | |`;
  if (row.usPerOperation === null)
    return `| ${row.tool} | ${row.mode} | failed: ${(row.errors[0] ?? 'no result').split('\n')[0]} | | | |`;
  const ratio =
    row.ratioToFloor === null
      ? ''
      : `${row.ratioToFloor.toFixed(2)}x ${row.floorReference?.endsWith('batched') ? '(batched)' : ''}`.trim();
  const rss = row.peakRssMb === null ? '' : `${row.peakRssMb.toFixed(1)} MiB`;
  return `| ${row.tool} | ${row.mode} | ${formatUs(row.usPerOperation)} | ${formatRate(row.operationsPerSecond as number)} | ${ratio} | ${rss} |`;
}

function resultTables(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const operation of Object.keys(OPERATION_TITLES) as OperationId[]) {
    const rows = report.rows.filter((row) => row.operation === operation);
    const perApply = operation.startsWith('apply');
    lines.push(`### ${OPERATION_TITLES[operation]}`, '');
    lines.push(
      `| tool | mode | ${perApply ? 'time per apply' : 'time per operation'} | ${perApply ? 'applies/s' : 'operations/s'} | vs floor | peak RSS |`,
    );
    lines.push('|---|---|--:|--:|--:|--:|');
    for (const row of rows) lines.push(rowLine(row));
    const converge = rows.find(
      (row) => row.tool === 'fstack-kni' && row.extra?.phaseMedianUs !== undefined,
    );
    if (converge !== undefined) {
      const phases = converge.extra?.phaseMedianUs as Record<string, number>;
      lines.push(
        '',
        `Converge phases (medians, from the converge report): read ${formatUs(phases.read ?? 0)}, plan ${formatUs(phases.plan ?? 0)}, ` +
          `apply ${formatUs(phases.apply ?? 0)}, verify ${formatUs(phases.verify ?? 0)}.`,
      );
    }
    lines.push('');
  }
  return lines;
}

/** Returns the measured text of a target whose run failed or was skipped. */
function notMeasured(error: string): string {
  return error.startsWith('skipped:') ? error : `failed: ${error}`;
}

function describeRestart(restart: RunOutcome): string[] {
  if (!restart.ok) return [`Not measured: ${restart.error}.`];
  type Distribution = { median: number; p99: number; max: number; samples: number };
  type Mode = {
    count: number;
    misses: number;
    jobToConfigured: Distribution;
    linkToConfigured: Distribution;
    restartJob: Distribution;
  };
  const value = restart.value as { restart: Mode; watch: Mode };
  const lines = [
    '| mode | restarts | misses | job end → configured (median / p99) | link appears → configured (median / p99) | restart job (median) |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  for (const [name, mode] of [
    ['`restart` operation', value.restart],
    ['`fstack-kni watch`', value.watch],
  ] as const) {
    lines.push(
      `| ${name} | ${mode.count} | ${mode.misses} | ${mode.jobToConfigured.median.toFixed(1)} / ${mode.jobToConfigured.p99.toFixed(1)} ms | ` +
        `${mode.linkToConfigured.median.toFixed(1)} / ${mode.linkToConfigured.p99.toFixed(1)} ms | ${mode.restartJob.median.toFixed(1)} ms |`,
    );
  }
  return lines;
}

/** Renders docs/benchmarks.md. bench/benchmarks-notes.md, written by hand, is appended. */
export function renderMarkdown(report: BenchReport): string {
  const env = report.environment;
  const lines: string[] = [
    '# Benchmarks',
    '',
    'How fast this library reconfigures links, addresses and routes from Node.js, next to the',
    'kernel floor (the same requests from plain C), the npm package `netlink`, iproute2 `ip`',
    'and pyroute2. Every tool works on the same fresh network namespace and veth pair, created',
    'and removed by the run. This page and `docs/benchmarks.json` are written by',
    `\`${env.command}\` (bench/run.ts); the notes at the end are kept by hand in`,
    '`bench/benchmarks-notes.md`.',
    '',
    '`npm run bench -- --only REGEXP` runs only the rows whose id matches, such as',
    "`'address/library/(batch|prepared)'`, with their floor, and writes neither file. The last",
    'line on standard output is the targets as JSON; `npm run -s bench` leaves out the lines',
    'npm prints before it.',
    '',
    '## Machine and run',
    '',
    '| | |',
    '|---|---|',
    `| date | ${env.date} |`,
    `| command | \`${env.command}\` |`,
    `| CPU | ${env.cpu}, ${env.cores} cores |`,
    `| kernel | ${env.kernel} |`,
    `| Node.js | ${env.node} |`,
    `| iproute2 | ${env.iproute2} |`,
    `| npm netlink | ${env.netlinkPackage} |`,
    `| pyroute2 | ${env.pyroute2} |`,
    `| C compiler | ${env.compiler} (\`cc -O2\`) |`,
    `| rounds | ${env.rounds}, alternating all rows, start rotated each round; medians reported |`,
    `| load average (1 min) | ${report.loadAverages.map((load) => (load[0] ?? 0).toFixed(2)).join(', ')} (before each round, then after the last) |`,
    '',
    'The machine is shared with other test runs, so the load above is not zero: ratios taken',
    'within one run are steadier than the absolute times.',
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...report.targets.map(
      (target) =>
        `| ${target.target} | ${target.measured} | ${target.met === null ? 'not measured' : target.met ? 'yes' : '**no**'} |`,
    ),
    '',
    '## Results',
    '',
    "Time per operation is the median over rounds of each round's mean (apply rows: the median",
    'of single applies). An address operation is one request, an add or a delete. "vs floor"',
    'compares with the floor row of the same operation: the one-at-a-time floor for rows that',
    'wait for each ack, the batched floor (64 requests per sendmsg) for batches and requests in',
    'flight. It is a ratio of times, so a throughput target of 0.8x the floor means at most',
    '1.25x here. It is the median over rounds of the ratio within each round, and in each round the',
    "floor runs right before and right after this library's rows, so the two sides share the",
    "machine's load of that minute. Peak RSS is the largest ru_maxrss of the tool's process",
    'over rounds: one Node or Python process per row, and for `ip`, `ifconfig` and `route`',
    'their own process.',
    '',
    ...resultTables(report),
    '## Soak: one handle, many requests',
    '',
  ];

  if (report.soak.ok) {
    const soak = report.soak.value;
    lines.push(
      `${soak.operations.toLocaleString('en-US')} address requests on one handle (awaited pairs and 64 in flight, in turn),`,
      `${formatUs(soak.usPerOperation)} per request. Memory after a full GC (\`--expose-gc\`), sampled after`,
      'the warm-up and at every tenth of the run:',
      '',
      '| requests | RSS | heap used | young generation reserved | pending requests |',
      '|--:|--:|--:|--:|--:|',
      ...soak.extra.samples.map(
        (sample) =>
          `| ${(sample.requests ?? 0).toLocaleString('en-US')} | ${(sample.rssMb ?? 0).toFixed(1)} MiB | ${(sample.heapUsedMb ?? 0).toFixed(1)} MiB | ` +
          `${(sample.newSpaceMb ?? 0).toFixed(0)} MiB | ${sample.pending} |`,
      ),
      '',
      'V8 enlarges the young generation (new space) when the allocation rate is high, which',
      'raises RSS in steps without any object staying alive. The column shows when it did.',
      '',
    );
  } else {
    lines.push(`Not measured: ${report.soak.error}.`, '');
  }

  lines.push('## CLI cold start', '');
  if (report.coldStart.ok) {
    const cold = report.coldStart.value;
    lines.push(
      `\`${cold.command}\` against a converged veth0, next to \`node -e 0\`, with ${cold.method}:`,
      `${cold.rounds} rounds of ${cold.runsPerRound} runs each, median of the round medians.`,
      '',
      '| command | wall time | peak RSS |',
      '|---|--:|--:|',
      `| \`node -e 0\` | ${cold.nodeMs.toFixed(1)} ms | ${(cold.nodeMaxRssKb / 1024).toFixed(1)} MiB |`,
      `| \`fstack-kni status\` | ${cold.statusMs.toFixed(1)} ms (${cold.ratio.toFixed(2)}x) | ${(cold.statusMaxRssKb / 1024).toFixed(1)} MiB |`,
      '',
    );
  } else {
    lines.push(`Not measured: ${report.coldStart.error}.`, '');
  }

  lines.push(
    '## Restart to configured',
    '',
    'bench/restart.ts: a unit of a private systemd plays F-Stack and holds a tap named veth0',
    'open, so each restart removes the interface and brings it back down and empty. Measured',
    'from the end of the restart job, and from the link notification, until veth0 is up with',
    'its address and default route.',
    '',
    ...describeRestart(report.restart),
    '',
  );

  if (report.failures.length > 0) {
    lines.push(
      '## Failures in this run',
      '',
      ...report.failures.map((failure) => `- ${failure.split('\n')[0]}`),
      '',
    );
  }

  const notes = join(repoRoot, 'bench', 'benchmarks-notes.md');
  if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trim(), '');
  return `${lines.join('\n')}\n`;
}
