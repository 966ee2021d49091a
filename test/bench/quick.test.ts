// The benchmark's quick mode (`npm run bench -- --quick`): every row runs once with tiny
// counts, so the harness keeps working. No time is asserted, only that every row produced a
// number or names the tool that is missing, and that nothing is left behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelSkipReason } from '../helpers/netns.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildSkipReason = existsSync(join(repoRoot, 'dist', 'index.js'))
  ? undefined
  : 'dist/ is missing: run npm run build first';
const skipReason = kernelSkipReason ?? buildSkipReason;

interface Row {
  id: string;
  usPerOperation: number | null;
  unsupported?: string;
  errors: string[];
}

interface Report {
  environment: { netns: string };
  rows: Row[];
  targets: Array<{ id: string; measured: string; met: boolean | null }>;
  soak: { ok: boolean; error?: string };
  coldStart: { ok: boolean; error?: string };
  restart: { ok: boolean; error?: string };
}

/** Tools the machine may lack; their rows must then name what is missing. */
const OPTIONAL_TOOL_ERRORS: Record<string, RegExp> = {
  pyroute2: /pyroute2/,
};

describe.skipIf(skipReason !== undefined)(
  `bench quick mode${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let directory: string;
    let report: Report;
    let markdown: string;

    beforeAll(() => {
      directory = mkdtempSync(join(tmpdir(), 'fstack-kni-bench-test-'));
      execFileSync(
        process.execPath,
        [
          join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          join(repoRoot, 'tsconfig.bench.json'),
        ],
        {
          cwd: repoRoot,
        },
      );
      const json = join(directory, 'bench.json');
      const page = join(directory, 'bench.md');
      execFileSync(
        process.execPath,
        [
          join(repoRoot, 'dist-bench', 'bench', 'run.js'),
          '--quick',
          '--json',
          json,
          '--markdown',
          page,
        ],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 100_000,
        },
      );
      report = JSON.parse(readFileSync(json, 'utf8')) as Report;
      markdown = readFileSync(page, 'utf8');
    }, 120_000);

    afterAll(() => {
      if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
    });

    it('measures every supported row', () => {
      for (const row of report.rows) {
        if (row.unsupported !== undefined) continue;
        const tool = row.id.split('/')[1] as string;
        const optional = OPTIONAL_TOOL_ERRORS[tool];
        if (row.usPerOperation === null && optional !== undefined) {
          expect(row.errors[0], `${row.id} failed without naming its missing tool`).toMatch(
            optional,
          );
          continue;
        }
        expect(row.errors, `${row.id} failed`).toEqual([]);
        expect(row.usPerOperation, row.id).toBeGreaterThan(0);
      }
    });

    it('judges every target', () => {
      const ids = report.targets.map((target) => target.id);
      expect(ids).toEqual([
        'address-one-at-a-time',
        'address-batched',
        'versus-netlink-package',
        'apply-from-scratch',
        'apply-no-op',
        'soak',
        'cold-start',
      ]);
      for (const target of report.targets) expect(target.measured, target.id).not.toBe('missing');
    });

    it('runs soak and cold start', () => {
      expect(report.soak.error).toBeUndefined();
      expect(report.coldStart.error).toBeUndefined();
    });

    it('runs restart or says why not', () => {
      if (!report.restart.ok) expect(report.restart.error).toMatch(/^skipped: /);
    });

    it('writes the page', () => {
      expect(markdown).toContain('## Targets');
      expect(markdown).toContain('## Results');
      expect(markdown).toContain('## CLI cold start');
    });

    it('leaves no namespace behind', () => {
      const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .split('\n')
        .map((line) => line.split(' ')[0]);
      expect(names).not.toContain(report.environment.netns);
    });
  },
);

describe.skipIf(skipReason !== undefined)(
  `bench --only${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const run = (...args: string[]) => {
      try {
        const stdout = execFileSync(
          process.execPath,
          [join(repoRoot, 'dist-bench', 'bench', 'run.js'), ...args],
          { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
        );
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const failed = error as { status: number; stdout: string; stderr: string };
        return { code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
      }
    };

    it('runs matching rows and their floor', () => {
      const directory = mkdtempSync(join(tmpdir(), 'fstack-kni-bench-only-'));
      try {
        const json = join(directory, 'bench.json');
        const result = run('--quick', '--only', 'address/library/prepared', '--json', json);
        expect(result.code, result.stderr).toBe(0);
        const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
        expect(report.rows.map((row) => row.id)).toEqual([
          'address/floor/single',
          'address/floor/batched',
          'address/library/prepared',
        ]);
        expect(report.rows.every((row) => row.errors.length === 0)).toBe(true);
        expect(report.soak).toEqual({ ok: false, error: 'skipped: not selected by --only' });
        const soak = report.targets.find((target) => target.id === 'soak');
        expect(soak?.measured).toBe('skipped: not selected by --only');
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    }, 60_000);

    it.each([
      [['--only', '('], /--only must be a regular expression .* got "\("/],
      [
        ['--only', 'no-such-row'],
        /--only no-such-row matches no row; row ids: address\/floor\/single/,
      ],
      [['--rounds', 'x'], /--rounds must be a positive integer, got x/],
    ])('rejects %j with exit code 2 before it creates anything', (args, message) => {
      const result = run(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('    at ');
    });
  },
);
