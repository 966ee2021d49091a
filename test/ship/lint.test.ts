// `npm run lint` stays clean: Biome format and lint rules, tsc --noEmit, clang-format 14.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('lint', () => {
  it('npm run lint passes', () => {
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'lint.mjs')], {
      cwd: root,
      encoding: 'utf8',
    });

    expect(result.stdout + result.stderr).toContain('lint passed');
    expect(result.status).toBe(0);
  }, 120_000);
});
