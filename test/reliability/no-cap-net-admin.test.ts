// The CLI without CAP_NET_ADMIN, in a throwaway namespace. The child runs as root with the
// capability dropped from its bounding and inheritable sets (setpriv), so it may enter the
// namespace and read, but the kernel rejects every change. apply must name CAP_NET_ADMIN,
// exit with 4 ("unavailable") and leave the kernel as it was. status, which only reads,
// still works.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildSkipReason,
  cliPath,
  ipSnapshot,
  makeTempDir,
  runbookConfig,
  writeConfig,
} from '../cli/kni-helpers.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

const setprivSkipReason =
  spawnSync('setpriv', ['--version']).status === 0
    ? undefined
    : 'setpriv (util-linux) is not installed';
const skipReason = kernelSkipReason ?? buildSkipReason ?? setprivSkipReason;

/** Runs the CLI with CAP_NET_ADMIN dropped; returns exit code and output. */
function runWithoutNetAdmin(args: string[]): {
  code: number | null;
  stdout: string;
  stderr: string;
} {
  const result = spawnSync(
    'setpriv',
    ['--inh-caps=-all', '--bounding-set=-net_admin', '--', process.execPath, cliPath, ...args],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(skipReason !== undefined)(
  `CLI without CAP_NET_ADMIN${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns = '';
    let temp: ReturnType<typeof makeTempDir>;

    beforeEach(() => {
      netns = createTestNetns('fkcap');
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      temp = makeTempDir();
    });

    afterEach(() => {
      removeTestNetns(netns);
      temp.remove();
    });

    it('runs the child without the capability', () => {
      const result = spawnSync(
        'setpriv',
        [
          '--inh-caps=-all',
          '--bounding-set=-net_admin',
          '--',
          'grep',
          '^CapEff',
          '/proc/self/status',
        ],
        {
          encoding: 'utf8',
        },
      );
      const effective = BigInt(`0x${result.stdout.trim().split(/\s+/)[1]}`);
      const CAP_NET_ADMIN = 12n;
      expect(effective & (1n << CAP_NET_ADMIN)).toBe(0n);
    });

    it('apply names CAP_NET_ADMIN, exits 4 and changes nothing', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const result = runWithoutNetAdmin([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.25',
      ]);
      expect(result.stdout).toMatch(
        /Operation not permitted \(EPERM\): the process lacks CAP_NET_ADMIN in the target network namespace/,
      );
      expect(result.stdout).toContain(
        'Failed: every step taken was undone; the kernel is as before.',
      );
      expect(result.code).toBe(4);
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('apply --json reports the same and exits 4', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const result = runWithoutNetAdmin([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.25',
        '--json',
      ]);
      const report = JSON.parse(result.stdout) as {
        ok: boolean;
        changed: boolean;
        results: Array<{ status: string; error?: { code?: string } }>;
      };
      expect(report.ok).toBe(false);
      expect(report.changed).toBe(false);
      expect(report.results.length).toBeGreaterThan(0);
      for (const step of report.results) {
        expect(step.status).toBe('failed');
        expect(step.error?.code).toBe('EPERM');
      }
      expect(result.code).toBe(4);
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('status still reads the kernel', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runWithoutNetAdmin([
        'status',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.25',
      ]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('veth0');
      expect(result.code).toBe(1);
    });
  },
);
