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
/** The CLI bundle's entry chunk, written together with the chunk of every command. */
const cliBundle = join(repoRoot, 'dist', 'cli', 'program.js');

/** Returns why `built` cannot stand for `source` (missing or older), or undefined. */
function staleReason(source: string, built: string): string | undefined {
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(source).mtimeMs) return undefined;
  return `${built} is missing or older than ${source}: run npm run build first`;
}

/**
 * Why tests of the built code cannot run: dist/ is missing or older than the sources of the
 * config module or its CLI command. The CLI bundle contains its own copy of the config
 * module, so it is compared with those sources too.
 */
export const distSkipReason: string | undefined = (() => {
  if (!existsSync(cliPath) || !existsSync(join(distConfigDir, 'write.js'))) {
    return 'dist/ is missing: run npm run build first';
  }
  const configSources = readdirSync(join(repoRoot, 'src', 'config')).map((name) =>
    join(repoRoot, 'src', 'config', name),
  );
  for (const source of configSources) {
    const built = source
      .replace(join(repoRoot, 'src'), join(repoRoot, 'dist'))
      .replace(/\.ts$/, '.js');
    const reason = staleReason(source, built) ?? staleReason(source, cliBundle);
    if (reason !== undefined) return reason;
  }
  return staleReason(join(repoRoot, 'src', 'cli', 'commands', 'config.ts'), cliBundle);
})();

/** Creates a temporary directory; remove it with the returned function. */
export function makeTempDir(prefix = 'fstack-config-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
