// `fstack-kni restart` against a private systemd (test/helpers/systemd.ts) whose unit
// plays F-Stack: it keeps a tap named veth0 open in a test netns, so each restart
// removes the interface and brings it back empty with a new ifindex. `ip -j` and
// `systemctl --user show` are the oracles.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetns, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';
import {
  buildSkipReason,
  fakeFstackUnit,
  ifindexOf,
  interfaceState,
  runbookConfig,
  runCliAsync,
  writeFakeFstack,
} from './fstack-unit.js';

const skipReason = systemdSkipReason ?? kernelSkipReason ?? buildSkipReason;

interface RestartJson {
  ok: boolean;
  unit: string;
  job: { path: string; result: string; durationMs: number };
  unitState: { activeState: string; subState: string; result: string } | null;
  interfaces: Array<{ name: string; index: number; previousIndex?: number; afterJobMs: number }>;
  apply: {
    ok: boolean;
    changed: boolean;
    results: Array<{ command: string; status: string }>;
  } | null;
  timings: {
    restartJobMs: number;
    jobToInterfacesMs: number;
    applyMs: number;
    jobToConfiguredMs: number;
    totalMs: number;
  };
}

describe.skipIf(skipReason !== undefined)(
  `restart command${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let systemd: PrivateSystemd;
    let netns = '';
    let dir = '';
    let config = '';

    beforeAll(async () => {
      netns = createTestNetns('fkrestart');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-restart-'));
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, runbookConfig());
      const script = writeFakeFstack(dir);

      systemd = await startPrivateSystemd();
      await systemd.writeUnitFile('fstack.service', fakeFstackUnit(netns, script));
      await systemd.writeUnitFile(
        'failing.service',
        '[Service]\nType=oneshot\nExecStart=/bin/false\n',
      );
      await systemd.writeUnitFile(
        'slow.service',
        '[Service]\nType=exec\nExecStartPre=/bin/sleep 30\nExecStart=/bin/sleep 1000\n',
      );
      await systemd.writeUnitFile(
        'no-tap.service',
        '[Service]\nType=exec\nExecStart=/bin/sleep 1000\n',
      );
      await systemd.writeUnitFile(
        'dying.service',
        '[Service]\nType=exec\nExecStart=/bin/sh -c "sleep 0.3; exit 3"\n',
      );
      await systemd.systemctl('daemon-reload');
    });

    afterAll(async () => {
      await systemd?.stop();
      if (netns !== '') removeTestNetns(netns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    function restart(...args: string[]): ReturnType<typeof runCliAsync> {
      return runCliAsync([
        'restart',
        '--bus',
        systemd.busAddress,
        '--config',
        config,
        '--netns',
        netns,
        ...args,
      ]);
    }

    it('configures veth0 after a restart', async () => {
      await systemd.systemctl('start', 'fstack.service');
      // The first start may still be creating the tap; the restart below must not take it.
      const before = await waitForIndex(netns, 'veth0');

      const run = await restart('--unit', 'fstack.service', '--json');

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as RestartJson;
      expect(report.ok).toBe(true);
      expect(report.job.result).toBe('done');
      expect(report.unitState).toBeNull();
      expect(report.interfaces).toHaveLength(1);
      expect(report.interfaces[0]?.name).toBe('veth0');
      expect(report.interfaces[0]?.previousIndex).toBe(before);
      expect(report.interfaces[0]?.index).not.toBe(before);
      expect(report.apply?.ok).toBe(true);
      expect(report.apply?.changed).toBe(true);
      expect(report.timings.restartJobMs).toBeGreaterThan(0);
      expect(report.timings.jobToConfiguredMs).toBeGreaterThanOrEqual(report.timings.applyMs);
      expect(report.timings.totalMs).toBeGreaterThanOrEqual(
        report.timings.restartJobMs + report.timings.jobToConfiguredMs,
      );

      const state = interfaceState(netns, 'veth0');
      expect(state.index).toBe(report.interfaces[0]?.index);
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
      expect((await systemd.show('fstack.service', 'ActiveState')).ActiveState).toBe('active');
    });

    it('prints timings in text mode', async () => {
      const run = await restart('--unit', 'fstack.service');

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /^Restarted fstack\.service \(job \/org\/freedesktop\/systemd1\/job\/\d+ done in [\d.]+ ms\)$/m,
      );
      expect(run.stdout).toMatch(/^veth0 is back as ifindex \d+ \(was \d+\)/m);
      expect(run.stdout).toContain(
        `ip -n ${netns} address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`,
      );
      expect(run.stdout).toMatch(
        /^Timings: restart job [\d.]+ ms, job end to interfaces [\d.]+ ms, apply [\d.]+ ms, job end to configured [\d.]+ ms, total [\d.]+ ms$/m,
      );
      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
    });

    it('waits without applying under --no-apply', async () => {
      const before = ifindexOf(netns, 'veth0');

      const run = await restart('--unit', 'fstack.service', '--no-apply', '--json');

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as RestartJson;
      expect(report.apply).toBeNull();
      expect(report.timings.applyMs).toBe(0);
      expect(report.interfaces[0]?.index).not.toBe(before);
      const state = interfaceState(netns, 'veth0');
      expect(state.index).toBe(report.interfaces[0]?.index);
      expect(state.up).toBe(false);
      expect(state.addresses).toEqual([]);
    });

    it('reports a failed job with the unit state', async () => {
      const run = await restart('--unit', 'failing.service', '--json');

      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as RestartJson;
      expect(report.ok).toBe(false);
      expect(report.job.result).toBe('failed');
      expect(report.unitState?.activeState).toBe('failed');
      expect(report.unitState?.subState).toBe('failed');
      expect(report.unitState?.result).toBe('exit-code');
      expect(report.interfaces).toEqual([]);
      expect(report.apply).toBeNull();
      const oracle = await systemd.show('failing.service', 'ActiveState', 'Result');
      expect(oracle).toMatchObject({ ActiveState: 'failed', Result: 'exit-code' });

      const text = await restart('--unit', 'failing.service');
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('Restart of failing.service failed');
      expect(text.stdout).toContain('ActiveState=failed SubState=failed Result=exit-code');
    });

    it('rejects an unknown unit', async () => {
      const run = await restart('--unit', 'no-such-unit.service');

      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('unit no-such-unit.service not found');
      expect(run.stderr).toContain('org.freedesktop.systemd1.NoSuchUnit');
    });

    it('rejects an invalid unit name before sending', async () => {
      const run = await restart('--unit', 'fstack');

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        '--unit "fstack" is not a unit name: it has no unit type suffix such as .service',
      );
    });

    it('times out a slow job', async () => {
      const run = await restart('--unit', 'slow.service', '--timeout', '1', '--json');

      expect(run.code).toBe(1);
      const failure = JSON.parse(run.stdout) as {
        ok: boolean;
        error: { code: string; unit: string; unitState?: { activeState: string } };
      };
      expect(failure.ok).toBe(false);
      expect(failure.error.code).toBe('ETIMEDOUT');
      expect(failure.error.unit).toBe('slow.service');
      expect(failure.error.unitState?.activeState).toBe('activating');
      expect(run.stderr).toContain(
        'the restart of slow.service did not finish within the limit of 1000 ms',
      );
      expect(run.stderr).toContain('ActiveState=activating');
      await systemd.systemctl('stop', 'slow.service');
    });

    it('times out when the interface does not come back', async () => {
      const run = await restart('--unit', 'no-tap.service', '--timeout', '2');

      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`timed out after`);
      expect(run.stderr).toContain(`waiting for veth0 to appear in netns ${netns}`);
      expect(run.stderr).toContain('ActiveState=active SubState=running');
      await systemd.systemctl('stop', 'no-tap.service');
    });

    it('stops waiting when the unit dies', async () => {
      const run = await restart('--unit', 'dying.service', '--json');

      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as RestartJson & { failure: string };
      expect(report.ok).toBe(false);
      expect(report.failure).toBe('unit-stopped');
      expect(report.job.result).toBe('done');
      expect(report.unitState?.activeState).toBe('failed');
      expect(report.unitState?.result).toBe('exit-code');
      expect(report.apply).toBeNull();

      const text = await restart('--unit', 'dying.service');
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(
        'dying.service stopped before its interfaces came back; nothing was applied',
      );
      expect(text.stdout).toContain('ActiveState=failed SubState=failed Result=exit-code');
    });

    it('rejects malformed options', async () => {
      for (const args of [
        ['--timeout', '0'],
        ['--timeout', 'soon'],
        ['--bus', 'session'],
      ]) {
        const run = await runCliAsync(['restart', '--config', config, ...(args as string[])]);
        expect(run.code, args.join(' ')).toBe(2);
      }
    });
  },
);

/** Waits until the interface exists (hang guard: 10 s) and returns its ifindex. */
async function waitForIndex(netns: string, name: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const index = ifindexOf(netns, name);
    if (index !== undefined) return index;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not appear in ${netns}`);
}
