// The built CLI as scripts/build-cli.mjs lays it out: CommonJS chunks loaded on demand by
// dist/cli/main.js, each with a V8 code cache. These tests run copies of dist/cli with files
// removed or replaced, as an incomplete or mismatched install would have them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSkipReason, type CliResult, makeTempDir, repoRoot } from './kni-helpers.js';

const cliDir = join(repoRoot, 'dist', 'cli');

/** Lists the chunk files of a build: every .js in dist/cli except the loader. */
function chunkNames(directory: string): string[] {
  return readdirSync(directory).filter((name) => name.endsWith('.js') && name !== 'main.js');
}

/** Returns the one chunk whose name starts with `prefix` (chunk names carry a content hash). */
function chunkNamed(directory: string, prefix: string): string {
  const matches = chunkNames(directory).filter((name) => name.startsWith(`${prefix}-`));
  expect(matches, `chunks named ${prefix}-*`).toHaveLength(1);
  return matches[0]!;
}

function runMain(main: string, args: string[], debug = false): CliResult {
  const result = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FSTACK_KNI_DEBUG: debug ? '1' : '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(buildSkipReason !== undefined)(
  `CLI chunk loader${buildSkipReason ? ` (skipped: ${buildSkipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    /** dist/cli of a copied package: package.json beside dist/, as the chunks expect. */
    let copyDir: string;
    let copyMain: string;

    beforeEach(() => {
      temp = makeTempDir();
      copyDir = join(temp.dir, 'dist', 'cli');
      mkdirSync(copyDir, { recursive: true });
      cpSync(cliDir, copyDir, { recursive: true });
      copyFileSync(join(repoRoot, 'package.json'), join(temp.dir, 'package.json'));
      copyMain = join(copyDir, 'main.js');
    });

    afterEach(() => temp.remove());

    it('build leaves only the bundle in dist/cli', () => {
      // tsc writes ES modules for src/cli too; as CommonJS they would fail to load.
      const entries = readdirSync(cliDir, { withFileTypes: true });
      const others = entries
        .filter(
          (entry) =>
            !entry.isFile() || !/^[\w-]+\.js(\.v8cache)?$|^package\.json$/.test(entry.name),
        )
        .map((entry) => entry.name);
      expect(others).toEqual([]);
    });

    it('build writes a code cache per chunk', () => {
      const names = readdirSync(cliDir);
      const chunks = chunkNames(cliDir);
      expect(chunks).toContain('program.js');
      for (const chunk of chunks) expect(names, chunk).toContain(`${chunk}.v8cache`);
    });

    it('code caches are accepted', () => {
      // --help loads the chunk of every command to print its summary.
      const result = runMain(join(cliDir, 'main.js'), ['--help'], true);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('status');
      expect(result.code).toBe(0);
    });

    it('rejected code cache falls back', () => {
      // A valid cache, but of another source text: V8 rejects it.
      const status = chunkNamed(copyDir, 'status');
      copyFileSync(join(copyDir, `${status}.v8cache`), join(copyDir, 'program.js.v8cache'));
      const result = runMain(copyMain, ['--version'], true);
      expect(result.stdout).toMatch(/^fstack-kni \d+\.\d+\.\d+/);
      expect(result.stderr).toContain('V8 rejected the code cache of');
      expect(result.stderr).toContain('program.js');
      expect(result.code).toBe(0);
    });

    it('garbage code cache falls back', () => {
      writeFileSync(join(copyDir, 'program.js.v8cache'), Buffer.alloc(64, 0x5a));
      const result = runMain(copyMain, ['--version']);
      expect(result.stdout).toMatch(/^fstack-kni \d+\.\d+\.\d+/);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it('missing code caches fall back', () => {
      for (const name of readdirSync(copyDir)) {
        if (name.endsWith('.v8cache')) rmSync(join(copyDir, name));
      }
      const result = runMain(copyMain, ['--help'], true);
      expect(result.stdout).toContain('status');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it('missing command chunk is reported', () => {
      const status = chunkNamed(copyDir, 'status');
      rmSync(join(copyDir, status));
      const result = runMain(copyMain, ['status', '--config', join(temp.dir, 'f-stack.conf')]);
      expect(result.stderr).toContain(`cannot load ${join(copyDir, status)}`);
      expect(result.stderr).toContain('reinstall');
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.code).toBe(4);
    });

    it('missing program chunk is reported', () => {
      rmSync(join(copyDir, 'program.js'));
      const result = runMain(copyMain, ['--version']);
      expect(result.stderr).toContain(`cannot load ${join(copyDir, 'program.js')}`);
      expect(result.stderr).toContain('reinstall');
      expect(result.stdout).toBe('');
      expect(result.code).toBe(4);
    });

    it('other commands run without the status chunk', () => {
      rmSync(join(copyDir, chunkNamed(copyDir, 'status')));
      const result = runMain(copyMain, ['explain', '--help']);
      expect(result.stdout).toContain('Usage: fstack-kni explain');
      expect(result.code).toBe(0);
    });
  },
);
