// Helpers shared by the benchmark's orchestrator (run.ts) and its workers: where the
// repository is, how a worker learns its case and reports its result, and statistics.
//
// The benchmark measures the shipped build in dist/, so the workers load it at run time
// from the repository root: dist-bench/ mirrors the source tree and a relative import from
// there would not reach dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Library = typeof import('../dist/index.js');
export type SocketModule = typeof import('../dist/netlink/socket.js');

/** Addresses and names every case uses, from the documentation ranges. */
export const LINK = 'veth0';
export const PEER = 'veth0p';
export const KNI_ADDRESS = '192.0.2.79';
export const KNI_GATEWAY = '192.0.2.1';
export const KNI_BROADCAST = '192.0.2.255';
/** Address cases add and delete 192.0.2.(FIRST_HOST + i)/24. */
export const FIRST_HOST = 10;
/** Requests in one batch or in flight at once, as in bench/floor.c. */
export const BATCH = 64;
/** Route cases replace this route with metric 0 and 1 in turn. */
export const ROUTE_DESTINATION = '198.51.100.0';

/** The case a worker process measures, passed as JSON in argv[2]. */
export interface WorkerSpec {
  case: string;
  netns: string;
  ifindex: number;
  /** Operations to time. */
  count: number;
  /** Operations run before timing starts. */
  warmup: number;
  /** f-stack.conf for the apply cases. */
  config?: string;
  /** Directory for the worker's temporary files. */
  directory?: string;
  /** bench/runner.c compiled, for workers that measure the processes they start. */
  runner?: string;
}

/** A worker's result line on stdout. */
export interface WorkerResult {
  case: string;
  operations: number;
  usPerOperation: number;
  /** Case-specific numbers, such as converge phase timings or soak samples. */
  extra?: Record<string, unknown>;
}

/** Returns the repository root: the nearest directory above this file with fstack-kni's package.json. */
export function findRepoRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'fstack-kni'
    ) {
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory)
      throw new Error('cannot find the fstack-kni repository above this script');
    directory = parent;
  }
}

export const repoRoot = findRepoRoot();

/** Imports a module of the build in dist/, e.g. `index.js`. */
export function loadDist<T>(path: string): Promise<T> {
  return import(pathToFileURL(join(repoRoot, 'dist', path)).href) as Promise<T>;
}

/** Reads the worker's spec from argv[2]. */
export function readWorkerSpec(): WorkerSpec {
  const text = process.argv[2];
  if (text === undefined) throw new Error('usage: node WORKER.js SPEC_JSON');
  return JSON.parse(text) as WorkerSpec;
}

/** Writes one result line for the orchestrator. */
export function report(result: WorkerResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Microseconds since `start` (a process.hrtime.bigint() value). */
export function elapsedUs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e3;
}

/** Median of a non-empty sample; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Returns the f-stack.conf of the apply cases: port 0 with the KNI address and KNI on. */
export function kniConfigText(): string {
  return [
    '[dpdk]',
    'lcore_mask=1',
    'port_list=0',
    '',
    '[port0]',
    `addr=${KNI_ADDRESS}`,
    'netmask=255.255.255.0',
    `broadcast=${KNI_BROADCAST}`,
    `gateway=${KNI_GATEWAY}`,
    '',
    '[kni]',
    'enable=1',
    'method=accept',
    'tcp_port=22',
    '',
  ].join('\n');
}
