// The benchmark's shared plumbing: running programs, the namespace and its veth pair, and
// running a process under bench/runner.c for its peak RSS.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LINK, PEER, repoRoot } from './common.js';

/** Exit status and rusage of one process, as bench/runner.c writes them. */
export interface ProcessUsage {
  exitCode: number;
  signal: number;
  wallUs: number;
  userUs: number;
  systemUs: number;
  maxRssKb: number;
}

/** The namespace, the compiled helpers and the scratch directory that every measurement uses. */
export interface BenchContext {
  netns: string;
  netnsPath: string;
  ifindex: number;
  directory: string;
  runner: string;
  floor: string;
  config: string;
  /** The Python interpreter that imports pyroute2, when there is one. */
  python?: string;
  pythonSkip?: string;
}

const WORKER_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs a program to completion and returns its stdout; throws with its stderr when it fails. */
export function check(program: string, args: readonly string[], input?: string): string {
  const result = spawnSync(program, args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: WORKER_TIMEOUT_MS,
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

export function compile(directory: string, name: string): string {
  const binary = join(directory, name);
  check('cc', ['-O2', '-Wall', '-o', binary, join(repoRoot, 'bench', `${name}.c`)]);
  return binary;
}

/** Creates the namespace with veth0 (measured) and its peer veth0p, both up. */
export function createNamespace(netns: string): number {
  check('ip', ['netns', 'add', netns]);
  check(
    'ip',
    ['-n', netns, '-batch', '-'],
    `link set lo up\nlink add ${LINK} type veth peer name ${PEER}\nlink set ${PEER} up\nlink set ${LINK} up\n`,
  );
  const links = JSON.parse(check('ip', ['-n', netns, '-j', 'link', 'show', 'dev', LINK])) as Array<{
    ifindex: number;
  }>;
  const ifindex = links[0]?.ifindex;
  if (ifindex === undefined) throw new Error(`${LINK} was not created in ${netns}`);
  return ifindex;
}

/**
 * Puts veth0 back to the state every row starts from: up, no IPv4 address, no IPv4 route.
 * The IPv6 link-local address is kept.
 */
export function resetLink(context: BenchContext): void {
  check(
    'ip',
    ['-n', context.netns, '-force', '-batch', '-'],
    `address flush dev ${LINK} scope global\nroute flush dev ${LINK}\nlink set dev ${LINK} up\n`,
  );
}

/** Finds a python3 that imports pyroute2: the one in PATH, else Debian's. */
export function findPython(): { python?: string; skip?: string } {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const result = spawnSync(candidate, ['-c', 'import pyroute2'], { stdio: 'ignore' });
    if (result.status === 0) return { python: candidate };
  }
  return { skip: 'no python3 imports pyroute2 (Debian: apt-get install python3-pyroute2)' };
}

/** Runs `argv` under bench/runner.c in the namespace and returns its stdout and usage. */
export function runMeasured(
  context: BenchContext,
  argv: readonly string[],
): { stdout: string; usage: ProcessUsage } {
  const resultFile = join(context.directory, 'usage.json');
  rmSync(resultFile, { force: true });
  const stdout = check(context.runner, [context.netnsPath, resultFile, ...argv]);
  const usage = JSON.parse(readFileSync(resultFile, 'utf8')) as ProcessUsage;
  return { stdout, usage };
}
