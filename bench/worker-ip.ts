// Benchmark worker for iproute2's `ip` (and the runbook's ifconfig and route) started from
// Node, one process per operation or one `ip -batch` process per run. The orchestrator
// starts this worker inside the test namespace (bench/runner.c), so the commands run there
// without `ip -n`, as an operator's shell on the host would run them.
//
// The result's `extra.toolMaxRssKb` is the peak RSS of the tool's own process. It is
// measured by running one of its commands under bench/runner.c, because the worker's own
// RSS is Node's.
//
// Usage: node dist-bench/bench/worker-ip.js SPEC_JSON   (see WorkerSpec in common.ts)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  elapsedUs,
  FIRST_HOST,
  KNI_ADDRESS,
  KNI_BROADCAST,
  KNI_GATEWAY,
  LINK,
  median,
  ROUTE_DESTINATION,
  readWorkerSpec,
  report,
  type WorkerResult,
  type WorkerSpec,
} from './common.js';

/** Runs a command and fails the run when it fails. */
function run(command: readonly string[]): void {
  const [program, ...args] = command as [string, ...string[]];
  const result = spawnSync(program, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0)
    throw new Error(`${command.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`);
}

/** Peak RSS in KiB of one run of `command`, measured by bench/runner.c. */
function toolRss(spec: WorkerSpec, command: readonly string[]): number {
  if (spec.runner === undefined || spec.directory === undefined)
    throw new Error('worker-ip needs runner and directory');
  const resultFile = join(spec.directory, `ip-rss-${process.pid}.json`);
  run([spec.runner, '/proc/self/ns/net', resultFile, ...command]);
  return (JSON.parse(readFileSync(resultFile, 'utf8')) as { maxRssKb: number }).maxRssKb;
}

/** Commands of one operation in turn, e.g. add then delete; `i` picks the variant. */
type Commands = (i: number) => string[][];

const address = `192.0.2.${FIRST_HOST}/24`;
const routeOf = (i: number) => [
  'route',
  'replace',
  `${ROUTE_DESTINATION}/24`,
  'dev',
  LINK,
  'metric',
  String(i & 1),
];

const spawnCases: Record<string, Commands> = {
  'address-spawn': (i) => [['ip', 'address', i & 1 ? 'delete' : 'add', address, 'dev', LINK]],
  'route-spawn': (i) => [['ip', ...routeOf(i)]],
  'link-spawn': (i) => [['ip', 'link', 'set', 'dev', LINK, i & 1 ? 'up' : 'down']],
};

const batchLines: Record<string, (i: number) => string> = {
  'address-batch-file': (i) => `address ${i & 1 ? 'delete' : 'add'} ${address} dev ${LINK}`,
  'route-batch-file': (i) => routeOf(i).join(' '),
  'link-batch-file': (i) => `link set dev ${LINK} ${i & 1 ? 'up' : 'down'}`,
};

// One process per operation, timed from Node as a script calling `ip` would see it.
function spawnCase(spec: WorkerSpec, commands: Commands): WorkerResult {
  const loop = (operations: number) => {
    for (let i = 0; i < operations; i++) for (const command of commands(i)) run(command);
  };
  loop(spec.warmup);
  const start = process.hrtime.bigint();
  loop(spec.count);
  const us = elapsedUs(start);
  const toolMaxRssKb = Math.max(
    ...[0, 1].flatMap((i) => commands(i).map((command) => toolRss(spec, command))),
  );
  run(['ip', 'link', 'set', 'dev', LINK, 'up']);
  return {
    case: spec.case,
    operations: spec.count,
    usPerOperation: us / spec.count,
    extra: { toolMaxRssKb },
  };
}

// One `ip -batch FILE` process for all operations, run under bench/runner.c for its RSS.
function batchFileCase(spec: WorkerSpec, line: (i: number) => string): WorkerResult {
  if (spec.runner === undefined || spec.directory === undefined)
    throw new Error('worker-ip needs runner and directory');
  const file = join(spec.directory, `ip-batch-${process.pid}.txt`);
  const resultFile = join(spec.directory, `ip-batch-${process.pid}.json`);
  const write = (operations: number) =>
    writeFileSync(
      file,
      `${Array.from({ length: operations + (operations & 1) }, (_, i) => line(i)).join('\n')}\n`,
    );

  write(spec.warmup);
  run(['ip', '-batch', file]);
  write(spec.count);
  const start = process.hrtime.bigint();
  run([spec.runner, '/proc/self/ns/net', resultFile, 'ip', '-batch', file]);
  const us = elapsedUs(start);
  const usage = JSON.parse(readFileSync(resultFile, 'utf8')) as { maxRssKb: number };
  run(['ip', 'link', 'set', 'dev', LINK, 'up']);
  return {
    case: spec.case,
    operations: spec.count,
    usPerOperation: us / spec.count,
    extra: { toolMaxRssKb: usage.maxRssKb },
  };
}

const RESET = ['ip', '-batch', '-'];
const RESET_INPUT = `address flush dev ${LINK}\nlink set dev ${LINK} down\n`;

function reset(): void {
  const result = spawnSync(RESET[0] as string, RESET.slice(1), {
    input: RESET_INPUT,
    stdio: ['pipe', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`reset failed: ${result.stderr}`);
}

/** The runbook's steps 4 and 5 with net-tools, then its check (step 7), one process each. */
const RUNBOOK = [
  ['ifconfig', LINK, KNI_ADDRESS, 'netmask', '255.255.255.0', 'broadcast', KNI_BROADCAST],
  ['route', 'add', 'default', 'gw', KNI_GATEWAY, 'dev', LINK],
  ['ip', 'address', 'show', 'dev', LINK],
];

/** The same changes as `ip` commands, one process each. */
const IP_COMMANDS = [
  ['ip', 'link', 'set', 'dev', LINK, 'up'],
  ['ip', 'address', 'add', `${KNI_ADDRESS}/24`, 'broadcast', KNI_BROADCAST, 'dev', LINK],
  ['ip', 'route', 'add', 'default', 'via', KNI_GATEWAY, 'dev', LINK],
];

/** Commands a script runs to find out that nothing needs changing. */
const READ_STATE = [
  ['ip', '-j', 'link', 'show'],
  ['ip', '-j', 'address', 'show'],
  ['ip', '-j', 'route', 'show', 'table', 'all'],
];

// Each apply is timed alone, with an untimed reset before it; the median is reported.
function applyCase(spec: WorkerSpec, commands: string[][], fromScratch: boolean): WorkerResult {
  if (!fromScratch) {
    reset();
    for (const command of IP_COMMANDS) run(command);
  }

  const times: number[] = [];
  for (let i = 0; i < spec.warmup + spec.count; i++) {
    if (fromScratch) reset();
    const start = process.hrtime.bigint();
    for (const command of commands) run(command);
    if (i >= spec.warmup) times.push(elapsedUs(start));
  }
  // One more apply, each command under bench/runner.c, for the tools' peak RSS.
  if (fromScratch) reset();
  const toolMaxRssKb = Math.max(...commands.map((command) => toolRss(spec, command)));
  reset();
  run(['ip', 'link', 'set', 'dev', LINK, 'up']);
  return {
    case: spec.case,
    operations: spec.count,
    usPerOperation: median(times),
    extra: { toolMaxRssKb },
  };
}

const BATCH_APPLY = `link set dev ${LINK} up\naddress add ${KNI_ADDRESS}/24 broadcast ${KNI_BROADCAST} dev ${LINK}\nroute add default via ${KNI_GATEWAY} dev ${LINK}\n`;

function main(): void {
  const spec = readWorkerSpec();
  const spawnCommands = spawnCases[spec.case];
  const batchLine = batchLines[spec.case];
  if (spawnCommands !== undefined) {
    report(spawnCase(spec, spawnCommands));
  } else if (batchLine !== undefined) {
    report(batchFileCase(spec, batchLine));
  } else if (spec.case === 'apply-runbook') {
    report(applyCase(spec, RUNBOOK, true));
  } else if (spec.case === 'apply-ip-commands') {
    report(applyCase(spec, IP_COMMANDS, true));
  } else if (spec.case === 'apply-ip-batch') {
    if (spec.directory === undefined) throw new Error('apply-ip-batch needs a directory');
    const file = join(spec.directory, `ip-apply-${process.pid}.txt`);
    writeFileSync(file, BATCH_APPLY);
    report(applyCase(spec, [['ip', '-batch', file]], true));
  } else if (spec.case === 'apply-noop') {
    report(applyCase(spec, READ_STATE, false));
  } else {
    throw new Error(`unknown case ${spec.case}`);
  }
}

main();
