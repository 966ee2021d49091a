// Paths the f-stack.conf tests use: the repository root, the built CLI, and the sample
// configs of several F-Stack releases in the workspace next to the repository.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Sample config.ini files of F-Stack releases, kept outside the repository. */
export const fixtureDir = resolve(repoRoot, '..', 'shared', 'fixtures', 'fstack-config');

/** Why the fixture tests cannot run, or undefined when they can. */
export const fixtureSkipReason: string | undefined = existsSync(fixtureDir)
  ? undefined
  : `sample configs not found at ${fixtureDir}`;

/** File names of the sample configs (empty when absent). */
export const fixtureNames: string[] =
  fixtureSkipReason === undefined ? readdirSync(fixtureDir).sort() : [];

/** The F-Stack version a sample is read with: its own, 1.21 for older ones, and dev as 1.25. */
export function fixtureVersion(name: string): string {
  if (name.includes('dev')) return 'dev';
  const match = /1\.(\d+)/.exec(name);
  const minor = match === null ? 25 : Number(match[1]);
  return `1.${Math.min(Math.max(minor, 21), 25)}`;
}

export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');
export const distConfigDir = join(repoRoot, 'dist', 'config');

/**
 * Why tests of the built code cannot run: dist/ is missing or older than the sources of the
 * config module or its CLI command.
 */
export const distSkipReason: string | undefined = (() => {
  if (!existsSync(cliPath) || !existsSync(join(distConfigDir, 'write.js'))) {
    return 'dist/ is missing: run npm run build first';
  }
  const sources = [
    ...readdirSync(join(repoRoot, 'src', 'config')).map((name) =>
      join(repoRoot, 'src', 'config', name),
    ),
    join(repoRoot, 'src', 'cli', 'commands', 'config.ts'),
  ];
  for (const source of sources) {
    const built = source
      .replace(join(repoRoot, 'src'), join(repoRoot, 'dist'))
      .replace(/\.ts$/, '.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
      return `${built} is missing or older than its source: run npm run build first`;
    }
  }
  return undefined;
})();

/** Creates a temporary directory; remove it with the returned function. */
export function makeTempDir(prefix = 'fstack-config-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
