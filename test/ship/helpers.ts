// Helpers for the packaging tests: copy the checkout aside, pack it, and install the tarball
// the way an appliance without a compiler or network would.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Top-level entries of the checkout that are outputs or local state, never sources. */
const NOT_COPIED = new Set([
  'node_modules',
  'build',
  'dist',
  'dist-bench',
  'prebuilds',
  '.git',
  'test-results.json',
  'coverage',
]);

/** Returns the absolute path of a program found on PATH, or undefined. */
export function findOnPath(program: string, path = process.env.PATH ?? ''): string | undefined {
  for (const directory of path.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, program);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Path of npm's own entry script, so npm can run under a PATH that holds only node and sh. */
export function npmCliPath(): string | undefined {
  const fromEnvironment = process.env.npm_execpath;
  if (fromEnvironment?.endsWith('npm-cli.js')) return fromEnvironment;
  const npm = findOnPath('npm');
  if (npm === undefined) return undefined;
  const script = realpathSync(npm);
  return script.endsWith('.js') ? script : undefined;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program and returns its exit code and output; a failed spawn counts as exit -1. */
export function run(
  program: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): RunResult {
  const result: SpawnSyncReturns<string> = spawnSync(program, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const spawnError = result.error === undefined ? '' : `\n${result.error.message}`;
  return {
    code: result.status ?? -1,
    stdout: result.stdout ?? '',
    stderr: `${result.stderr ?? ''}${spawnError}`,
  };
}

/** Creates a scratch directory for one test file; `remove` deletes it with everything inside. */
export function makeScratch(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Copies the checkout's sources to `target`, with node_modules linked rather than copied.
 * Packing the copy runs prepare and prepack there, so the checkout's dist/ and build/ (which
 * other tests load) are never rebuilt underneath them.
 */
export function copyCheckout(target: string): void {
  cpSync(repoRoot, target, {
    recursive: true,
    filter: (source) => {
      const top = relative(repoRoot, source).split(sep)[0] ?? '';
      return !NOT_COPIED.has(top);
    },
  });
  symlinkSync(join(repoRoot, 'node_modules'), join(target, 'node_modules'), 'dir');
}

/**
 * Creates a bin directory holding only `node` and `sh`, for a PATH on which no compiler,
 * make or python3 can be found. npm needs sh to run package scripts.
 */
export function makeBareBin(target: string): string {
  const bin = join(target, 'bare-bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(findOnPath('sh') ?? '/bin/sh', join(bin, 'sh'));
  return bin;
}

/**
 * Installs a tarball into a new project directory with npm's cache empty and network use
 * forbidden, under `env`. Returns the npm result and the project directory.
 */
export function installTarball(
  tarball: string,
  project: string,
  npmCli: string,
  env: NodeJS.ProcessEnv,
): RunResult {
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'appliance', private: true }, null, 2)}\n`,
  );
  const cache = join(project, '.npm-cache');
  return run(
    process.execPath,
    [
      npmCli,
      'install',
      '--offline',
      '--cache',
      cache,
      '--no-audit',
      '--no-fund',
      '--foreground-scripts',
      tarball,
    ],
    { cwd: project, env },
  );
}

/** Lists a directory's files recursively as paths relative to it. */
export function listFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(relative(directory, join(entry.parentPath, entry.name)));
  }
  return files.sort();
}
