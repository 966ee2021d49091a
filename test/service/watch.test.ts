// `fstack-kni watch` as a running process: it must configure veth0 after every restart of
// the F-Stack stand-in unit, follow config edits and SIGHUP, recover from lost
// notifications and exit cleanly. Its JSON log and `ip -j` are the oracles.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';
import {
  buildSkipReason,
  fakeFstackUnit,
  interfaceState,
  runbookConfig,
  runCliAsync,
  spawnCli,
  WatchProcess,
  type WatchRecord,
  writeFakeFstack,
} from './fstack-unit.js';

const RESTARTS = 50;

const serviceSkip = systemdSkipReason ?? kernelSkipReason ?? buildSkipReason;
const kernelSkip = kernelSkipReason ?? buildSkipReason;

/** Replaces the file the way editors do: write a new file, rename it over the old one. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

const isApply = (record: WatchRecord): boolean => record.event === 'apply';

/** Matches the apply record whose changes add `address`. */
const appliedAddress =
  (address: string) =>
  (record: WatchRecord): boolean =>
    isApply(record) && JSON.stringify(record.changes ?? []).includes(`${address}/`);

describe.skipIf(serviceSkip !== undefined)(
  `watch with a restarting unit${serviceSkip ? ` (skipped: ${serviceSkip})` : ''}`,
  () => {
    let systemd: PrivateSystemd;
    let netns = '';
    let dir = '';
    let config = '';
    let watch: WatchProcess | undefined;

    beforeAll(async () => {
      netns = createTestNetns('fkwatch');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-watch-'));
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, runbookConfig());
      const script = writeFakeFstack(dir);

      systemd = await startPrivateSystemd();
      await systemd.writeUnit('fstack.service', fakeFstackUnit(netns, script));
      await systemd.systemctl('start', 'fstack.service');
    });

    afterAll(async () => {
      await watch?.stop();
      await systemd?.stop();
      if (netns !== '') removeTestNetns(netns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('configures veth0 at start', async () => {
      watch = new WatchProcess([
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'fstack.service',
        '--bus',
        systemd.busAddress,
      ]);

      const start = await watch.next((record) => record.event === 'start');
      expect(start.interfaces).toEqual(['veth0']);
      expect(start.unit).toBe('fstack.service');
      expect(Date.parse(start.time)).not.toBeNaN();
      // The stand-in may still be creating veth0; then the first pass waits for it.
      await watch.next(
        (record) => isApply(record) && (record.interfaces as string[]).includes('veth0'),
      );

      const state = interfaceState(netns, 'veth0');
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it(`reconfigures veth0 after each of ${RESTARTS} restarts`, async () => {
      const running = watch as WatchProcess;
      let previous = interfaceState(netns, 'veth0').index;
      const configured: WatchRecord[] = [];

      for (let restart = 1; restart <= RESTARTS; restart += 1) {
        await systemd.systemctl('restart', 'fstack.service');
        const record = await running.next((r) => r.event === 'configured' && r.index !== previous);
        configured.push(record);

        const state = interfaceState(netns, 'veth0');
        expect(state.index, `restart ${restart}`).toBe(record.index);
        expect(state.up, `restart ${restart}`).toBe(true);
        expect(state.addresses, `restart ${restart}`).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
        expect(state.routes, `restart ${restart}`).toEqual(['default via 192.0.2.1']);
        previous = record.index as number;
      }

      expect(new Set(configured.map((record) => record.index)).size).toBe(RESTARTS);
      for (const record of configured) expect(record.sinceLinkEventMs).toEqual(expect.any(Number));
      const jobs = running.records.filter(
        (record) => record.event === 'unit-job' && record.result === 'done',
      );
      expect(jobs.length).toBeGreaterThanOrEqual(RESTARTS);
      expect(running.records.filter((record) => record.level === 'error')).toEqual([]);
    });

    it('restores a deleted address', async () => {
      const running = watch as WatchProcess;

      ip(netns, 'address', 'delete', '192.0.2.79/24', 'dev', 'veth0');
      const deleted = await running.next(
        (record) => record.event === 'address' && record.action === 'delete',
      );
      expect(deleted.effect).toBe('drift');
      await running.next(isApply);

      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(interfaceState(netns, 'veth0').routes).toEqual(['default via 192.0.2.1']);
    });

    it('applies an edited config and removes the old address', async () => {
      const running = watch as WatchProcess;

      replaceFile(config, runbookConfig('192.0.2.80'));
      const reload = await running.next((record) => record.event === 'config-reload');
      expect(reload.reason).toBe('file');
      const retired = await running.next((record) => record.event === 'retire');
      expect(retired.object).toBe('192.0.2.79/24 broadcast 192.0.2.255');
      await running.next(isApply);

      const state = interfaceState(netns, 'veth0');
      expect(state.addresses).toEqual(['192.0.2.80/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it('keeps the last good config when the file turns invalid', async () => {
      const running = watch as WatchProcess;

      replaceFile(config, runbookConfig('192.0.2.82', 'enable=1\ntcp_port=22\n'));
      const invalid = await running.next((record) => record.event === 'config-invalid');
      expect(invalid.level).toBe('error');
      expect(invalid.note).toBe('keeping the last good config');
      expect(invalid.error).toContain('has 1 error(s)');
      expect(JSON.stringify(invalid.details)).toContain('method');

      replaceFile(config, runbookConfig('192.0.2.300'));
      const unusable = await running.next((record) => record.event === 'config-invalid');
      expect(unusable.error).toContain('"192.0.2.300" is not an IPv4 address');

      // A restart is still configured from the last good config.
      await systemd.systemctl('restart', 'fstack.service');
      await running.next((record) => record.event === 'configured');
      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.80/24 brd 192.0.2.255']);
    });

    it('reloads on SIGHUP', async () => {
      const running = watch as WatchProcess;
      replaceFile(config, runbookConfig('192.0.2.79'));
      await running.next((record) => record.event === 'config-reload' && record.reason === 'file');
      await running.next(appliedAddress('192.0.2.79'));

      // Written through a hard link in another directory, the change raises no event in the
      // watched directory, so only SIGHUP can make the watch notice it.
      const other = join(dir, 'other');
      mkdirSync(other, { recursive: true });
      const link = join(other, 'link.conf');
      rmSync(link, { force: true });
      linkSync(config, link);
      writeFileSync(link, runbookConfig('192.0.2.81'));

      running.signal('SIGHUP');
      await running.next((record) => record.event === 'signal' && record.signal === 'SIGHUP');
      const reload = await running.next((record) => record.event === 'config-reload');
      expect(reload.reason).toBe('SIGHUP');
      // A pass still running for an earlier trigger may log its apply first, so wait for the
      // apply that adds the new address.
      await running.next(appliedAddress('192.0.2.81'));

      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.81/24 brd 192.0.2.255']);
      expect(
        running.records.filter(
          (record) => record.event === 'config-reload' && record.reason === 'file',
        ),
      ).toHaveLength(2);
    });

    it('exits 0 on SIGTERM', async () => {
      const running = watch as WatchProcess;

      running.signal('SIGTERM');
      const code = await running.exit();

      expect(code).toBe(0);
      const last = running.records[running.records.length - 1];
      expect(last?.event).toBe('stop');
      expect(last?.reason).toBe('SIGTERM received');
    });
  },
);

describe.skipIf(kernelSkip !== undefined)(
  `watch without systemd${kernelSkip ? ` (skipped: ${kernelSkip})` : ''}`,
  () => {
    let netns = '';
    let dir = '';
    let config = '';
    const watches: WatchProcess[] = [];

    beforeAll(() => {
      netns = createTestNetns('fkwatch2');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-watch2-'));
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, runbookConfig());
      // Interfaces that stay: veth0 to manage, burst0 to carry a burst of changes.
      ip(netns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'peer0');
      ip(netns, 'link', 'set', 'peer0', 'up');
      ip(netns, 'link', 'add', 'burst0', 'type', 'veth', 'peer', 'name', 'burst1');
      ip(netns, 'link', 'set', 'burst0', 'up');
      ip(netns, 'link', 'set', 'burst1', 'up');
    });

    afterAll(async () => {
      for (const watch of watches) await watch.stop();
      if (netns !== '') removeTestNetns(netns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('resyncs after lost notifications', async () => {
      // 16 KiB (the kernel doubles it) fits the notifications of a pass, not those of the burst.
      const watch = new WatchProcess([
        '--config',
        config,
        '--netns',
        netns,
        '--receive-buffer',
        '16384',
      ]);
      watches.push(watch);
      await watch.next(isApply);
      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);

      // 1000 address changes while the watch is stopped make its small buffer overflow. The
      // address of veth0 is deleted last, so that notification is among the lost ones.
      const commands = Array.from(
        { length: 1000 },
        (_, i) => `address add 2001:db8:1::${(i + 1).toString(16)}/128 dev burst0 nodad`,
      );
      commands.push('address delete 192.0.2.79/24 dev veth0');
      const batch = join(dir, 'burst.batch');
      writeFileSync(batch, `${commands.join('\n')}\n`);
      watch.skipToEnd();
      watch.signal('SIGSTOP');
      try {
        execFileSync('ip', ['-n', netns, '-batch', batch]);
      } finally {
        watch.signal('SIGCONT');
      }

      const overflow = await watch.next((record) => record.event === 'overflow');
      expect(overflow.level).toBe('warn');
      const resync = await watch.next((record) => record.event === 'resync');
      expect(resync.addresses).toBeGreaterThan(1000);
      const apply = await watch.next(isApply);
      expect(apply.trigger).toContain('resync');

      const state = interfaceState(netns, 'veth0');
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);

      watch.signal('SIGINT');
      expect(await watch.exit()).toBe(0);
    });

    it('logs readable lines without --json-log', async () => {
      const run = spawnCli(['watch', '--config', config, '--netns', netns], { timeoutMs: 20_000 });
      for (let attempt = 0; attempt < 200 && !run.stdout.includes(' info start '); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      run.kill('SIGTERM');
      const result = await run.done;

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info start config=\S+ fstackVersion=\S+ netns=/m,
      );
      expect(result.stdout).toMatch(/ info stop reason="SIGTERM received"$/m);
    });

    it('fails to start on an invalid config', async () => {
      const bad = join(dir, 'bad.conf');
      writeFileSync(bad, runbookConfig('192.0.2.79', 'enable=1\ntcp_port=22\n'));

      const result = await runCliAsync(['watch', '--config', bad, '--netns', netns]);

      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`${bad} has 1 error(s)`);
      expect(result.stderr).toContain('method');

      const badUnit = await runCliAsync([
        'watch',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'x/y.service',
      ]);
      expect(badUnit.code).toBe(2);
      expect(badUnit.stderr).toContain('--unit "x/y.service" is not a unit name');

      const missing = await runCliAsync([
        'watch',
        '--config',
        join(dir, 'missing.conf'),
        '--netns',
        netns,
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        `f-stack.conf not found: ${join(dir, 'missing.conf')}; give --config PATH`,
      );
    });
  },
);
