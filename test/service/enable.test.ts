// `fstack-kni enable` and `disable`: the [kni] edit on a file shaped like F-Stack's shipped
// config.ini (its [kni] block commented out), and the whole runbook with --restart against
// the F-Stack stand-in unit of a private systemd.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestNetns, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';
import {
  buildSkipReason,
  fakeFstackUnit,
  interfaceState,
  runCliAsync,
  writeFakeFstack,
} from './fstack-unit.js';

/** A config shaped like the shipped samples: port 0 set, the [kni] block commented out. */
const SHIPPED_LIKE = `[dpdk]
# Hexadecimal bitmask of cores to run on.
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

# Kni config: if enabled and method=reject,
# all packets that do not belong to the following tcp_port and udp_port
# will transmit to kernel; if method=accept, all packets that belong to
# the following tcp_port and udp_port will transmit to kernel.
#[kni]
#enable=1
#method=reject
# The format is same as port_list
#tcp_port=80,443
#udp_port=53

[freebsd.boot]
hz=100
`;

/** The same file after `enable --tcp-port 22`: only the header and three keys change. */
const ENABLED_22 = SHIPPED_LIKE.replace(
  '#[kni]\n#enable=1\n#method=reject\n',
  '[kni]\nenable=1\nmethod=accept\n',
).replace('#tcp_port=80,443', 'tcp_port=22');

interface EnableJson {
  ok: boolean;
  changed: boolean;
  written: boolean;
  dryRun: boolean;
  diff: string;
  restart: {
    ok: boolean;
    job: { result: string };
    interfaces: Array<{ name: string; index: number }>;
    apply: { ok: boolean } | null;
  } | null;
  verify: {
    status: string;
    reason?: string;
    ok: boolean;
    checks: Array<{ address: string; port: number; result: string }>;
  } | null;
}

const editSkip = buildSkipReason;

describe.skipIf(editSkip !== undefined)(
  `enable and disable edits${editSkip ? ` (skipped: ${editSkip})` : ''}`,
  () => {
    let dir = '';
    let config = '';

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-enable-'));
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, SHIPPED_LIKE);
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('uncomments the shipped block', async () => {
      const run = await runCliAsync(['enable', '--tcp-port', '22', '--config', config]);

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${config}: updated`);
      expect(run.stdout).toContain('fstack-kni restart --unit fstack_ha.service');
      expect(readFileSync(config, 'utf8')).toBe(ENABLED_22);
    });

    it('changes nothing under --dry-run', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--config',
        config,
        '--dry-run',
        '--restart',
        '--json',
      ]);

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as EnableJson;
      expect(report.changed).toBe(true);
      expect(report.written).toBe(false);
      expect(report.dryRun).toBe(true);
      expect(report.restart).toBeNull();
      expect(report.diff).toContain('\n-#[kni]\n');
      expect(report.diff).toContain('\n+[kni]\n');
      expect(report.diff).toContain('+tcp_port=22');
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);

      const text = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--config',
        config,
        '--dry-run',
        '--restart',
      ]);
      expect(text.stdout).toContain('dry run, nothing written');
      expect(text.stdout).toContain('dry run: fstack_ha.service was not restarted');
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('writes several ports and keys', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--tcp-port',
        '8000-8010',
        '--udp-port',
        '53',
        '--method',
        'reject',
        '--kni-action',
        'default',
        '--config',
        config,
      ]);

      expect(run.code).toBe(0);
      const text = readFileSync(config, 'utf8');
      expect(text).toContain(
        '[kni]\nenable=1\nmethod=reject\n# The format is same as port_list\ntcp_port=22,8000-8010\nudp_port=53\n',
      );
      expect(text).toContain('kni_action=default\n');
      expect(text.indexOf('kni_action=default')).toBeLessThan(text.indexOf('[freebsd.boot]'));
    });

    it('keeps an existing method and reports no change', async () => {
      writeFileSync(config, `${SHIPPED_LIKE}\n[kni]\nenable=1\nmethod=reject\ntcp_port=22\n`);
      const before = readFileSync(config, 'utf8');

      const run = await runCliAsync(['enable', '--tcp-port', '22', '--config', config]);

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('no change needed');
      expect(readFileSync(config, 'utf8')).toBe(before);
    });

    it('disables and keeps the rest', async () => {
      writeFileSync(config, ENABLED_22);

      const run = await runCliAsync(['disable', '--config', config]);

      expect(run.code).toBe(0);
      expect(readFileSync(config, 'utf8')).toBe(
        ENABLED_22.replace('[kni]\nenable=1\n', '[kni]\nenable=0\n'),
      );

      const again = await runCliAsync(['disable', '--config', config]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('no change needed (KNI already off)');
    });

    it('disables without warning about the kept settings', async () => {
      writeFileSync(config, ENABLED_22);

      const text = await runCliAsync(['disable', '--config', config]);
      expect(text.code).toBe(0);
      expect(text.stdout).not.toContain('warning');
      expect(text.stderr).not.toContain('warning');

      writeFileSync(config, ENABLED_22);
      const json = await runCliAsync(['disable', '--config', config, '--json']);
      expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([]);
    });

    it('leaves a file without KNI alone on disable', async () => {
      const run = await runCliAsync(['disable', '--config', config, '--json']);

      expect(run.code).toBe(0);
      expect((JSON.parse(run.stdout) as EnableJson).changed).toBe(false);
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('rejects malformed values', async () => {
      for (const args of [
        ['--tcp-port', 'ssh'],
        ['--tcp-port', '0'],
        ['--tcp-port', '70000'],
        ['--tcp-port', '90-80'],
        ['--udp-port', '53 54'],
        ['--method', 'drop'],
        ['--kni-action', 'all'],
        ['--tcp-port', '22', '--restart', '--mac', '0=zz'],
      ]) {
        const run = await runCliAsync(['enable', '--config', config, ...(args as string[])]);
        expect(run.code, args.join(' ')).toBe(2);
      }
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('refuses to edit a file with errors', async () => {
      // F-Stack stops at a line without "=" or ":", so the result would have that error too.
      writeFileSync(config, SHIPPED_LIKE.replace('port_list=0\n', 'port_list=0\nnonsense\n'));
      const before = readFileSync(config, 'utf8');

      const run = await runCliAsync(['enable', '--tcp-port', '22', '--config', config]);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('would have 1 error');
      expect(run.stderr).toContain('nothing was written');
      expect(readFileSync(config, 'utf8')).toBe(before);
    });
  },
);

const earlySkip = kernelSkipReason ?? buildSkipReason;

describe.skipIf(earlySkip !== undefined)(
  `enable --restart failing before the edit${earlySkip ? ` (skipped: ${earlySkip})` : ''}`,
  () => {
    let netns = '';
    let dir = '';
    let config = '';
    let noBus = '';

    beforeAll(() => {
      netns = createTestNetns('fkearly');
    });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-enable-early-'));
      config = join(dir, 'f-stack.conf');
      noBus = `unix:path=${join(dir, 'no-bus')}`;
      writeFileSync(config, SHIPPED_LIKE);
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    afterAll(() => {
      if (netns !== '') removeTestNetns(netns);
    });

    it('leaves the file on a bus error', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--restart',
        '--bus',
        noBus,
        '--netns',
        netns,
        '--config',
        config,
      ]);

      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `fstack-kni: cannot connect to ${noBus}: No such file or directory; no socket exists at ${noBus}; ` +
          'check the path, e.g. unix:path=/run/systemd/private or unix:path=/run/user/UID/bus\n',
      );
      expect(run.code).toBe(4);
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('leaves the file on disable too', async () => {
      writeFileSync(config, ENABLED_22);

      const run = await runCliAsync([
        'disable',
        '--restart',
        '--bus',
        noBus,
        '--netns',
        netns,
        '--config',
        config,
        '--json',
      ]);

      expect(run.code).toBe(4);
      const report = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } };
      expect(report.ok).toBe(false);
      expect(report.error.code).toBe('ECONNECT');
      expect(readFileSync(config, 'utf8')).toBe(ENABLED_22);
    });

    it('explains a missing user bus', async () => {
      // sd-bus finds no user bus address without these two variables.
      const run = await runCliAsync(
        [
          'enable',
          '--tcp-port',
          '22',
          '--restart',
          '--bus',
          'user',
          '--netns',
          netns,
          '--config',
          config,
        ],
        { prefix: ['env', '-u', 'XDG_RUNTIME_DIR', '-u', 'DBUS_SESSION_BUS_ADDRESS'] },
      );

      expect(run.stderr).toBe(
        'fstack-kni: cannot connect to the user bus: No medium found; there is no user bus for this user: ' +
          'neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set (as under sudo or in a system service); ' +
          'log in as the user that runs F-Stack, give --bus unix:path=/run/user/UID/bus, ' +
          'or leave out --bus to use the system bus\n',
      );
      expect(run.code).toBe(4);
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('leaves the file on a missing netns', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--restart',
        '--bus',
        noBus,
        '--netns',
        `${netns}-gone`,
        '--config',
        config,
      ]);

      expect(run.stderr).toBe(
        `fstack-kni: network namespace "${netns}-gone" not found (no /run/netns/${netns}-gone); ` +
          'list them with "ip netns list" or create it\n',
      );
      expect(run.code).toBe(1);
      expect(readFileSync(config, 'utf8')).toBe(SHIPPED_LIKE);
    });

    it('leaves the file on an unusable address', async () => {
      // An invalid addr is a warning for F-Stack, so the edit alone would go through.
      const broken = SHIPPED_LIKE.replace('addr=192.0.2.79', 'addr=192.0.2.300');
      writeFileSync(config, broken);

      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--restart',
        '--bus',
        noBus,
        '--netns',
        netns,
        '--config',
        config,
      ]);

      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('"192.0.2.300" is not an IPv4 address');
      expect(run.code).toBe(1);
      expect(readFileSync(config, 'utf8')).toBe(broken);
    });
  },
);

const runbookSkip = systemdSkipReason ?? kernelSkipReason ?? buildSkipReason;

describe.skipIf(runbookSkip !== undefined)(
  `enable --restart${runbookSkip ? ` (skipped: ${runbookSkip})` : ''}`,
  () => {
    let systemd: PrivateSystemd;
    let netns = '';
    let dir = '';
    let config = '';
    let listener: ChildProcess | undefined;

    beforeAll(async () => {
      netns = createTestNetns('fkenable');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-enable-restart-'));
      const script = writeFakeFstack(dir);
      systemd = await startPrivateSystemd();
      await systemd.writeUnit('fstack.service', fakeFstackUnit(netns, script));
      await systemd.systemctl('start', 'fstack.service');
    });

    beforeEach(() => {
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, SHIPPED_LIKE);
    });

    afterAll(async () => {
      if (listener?.pid !== undefined && listener.exitCode === null) listener.kill('SIGTERM');
      await systemd?.stop();
      if (netns !== '') removeTestNetns(netns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('runs the runbook with --netns', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--restart',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'fstack.service',
        '--bus',
        systemd.busAddress,
        '--json',
      ]);

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as EnableJson;
      expect(report.written).toBe(true);
      expect(report.restart?.job.result).toBe('done');
      expect(report.restart?.apply?.ok).toBe(true);
      // Nothing listens on port 22 in the namespace yet: the kernel refuses, which is no failure.
      expect(report.verify?.status).toBe('done');
      expect(report.verify?.ok).toBe(true);
      expect(report.verify?.checks).toEqual([
        expect.objectContaining({ address: '192.0.2.79', port: 22, result: 'refused' }),
      ]);
      expect(readFileSync(config, 'utf8')).toBe(ENABLED_22);

      const state = interfaceState(netns, 'veth0');
      expect(state.index).toBe(report.restart?.interfaces[0]?.index);
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it('checks the ports in the namespace', async () => {
      // A listener on port 22 in the test namespace plays sshd. Port 2323 has no listener.
      listener = spawn(
        'ip',
        [
          'netns',
          'exec',
          netns,
          process.execPath,
          '-e',
          "require('node:net').createServer((s) => { s.on('error', () => {}); s.end('SSH-2.0-test\\r\\n'); })" +
            ".listen(22, '0.0.0.0', () => console.log('listening'))",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: listener?.stdout as NodeJS.ReadableStream }).once('line', () =>
          resolve(),
        );
        listener?.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
      });

      // Without --netns the CLI runs in the namespace it was started in, like on an F-Stack host.
      const run = await runCliAsync(
        [
          'enable',
          '--tcp-port',
          '22',
          '--tcp-port',
          '2323',
          '--restart',
          '--config',
          config,
          '--unit',
          'fstack.service',
          '--bus',
          systemd.busAddress,
        ],
        { prefix: ['ip', 'netns', 'exec', netns] },
      );

      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Port check from this host:');
      expect(run.stdout).toMatch(/open +192\.0\.2\.79:22 accepts connections/);
      expect(run.stdout).toMatch(
        /refused +192\.0\.2\.79:2323: the address answers, but nothing listens on the port/,
      );
      expect(interfaceState(netns, 'veth0').addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);

      // With --netns, the CLI stays in its own namespace and connects from inside this one.
      const fromOutside = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--tcp-port',
        '2323',
        '--restart',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'fstack.service',
        '--bus',
        systemd.busAddress,
        '--json',
      ]);
      expect(fromOutside.code).toBe(0);
      const report = JSON.parse(fromOutside.stdout) as EnableJson;
      expect(report.verify?.status).toBe('done');
      expect(
        report.verify?.checks.map((check) => `${check.address}:${check.port} ${check.result}`),
      ).toEqual(['192.0.2.79:22 open', '192.0.2.79:2323 refused']);

      listener.kill('SIGTERM');
    });

    it('skips the check under method=reject', async () => {
      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--method',
        'reject',
        '--restart',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'fstack.service',
        '--bus',
        systemd.busAddress,
        '--json',
      ]);

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as EnableJson;
      expect(report.verify?.status).toBe('skipped');
      expect(report.verify?.reason).toContain('method=reject');
    });

    it('restarts without waiting on disable', async () => {
      writeFileSync(config, ENABLED_22);
      const before = (await systemd.show('fstack.service', 'MainPID')).MainPID;

      const run = await runCliAsync([
        'disable',
        '--restart',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'fstack.service',
        '--bus',
        systemd.busAddress,
        '--json',
      ]);

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as EnableJson;
      expect(report.written).toBe(true);
      expect(report.restart?.job.result).toBe('done');
      expect(report.restart?.interfaces).toEqual([]);
      expect(report.restart?.apply).toBeNull();
      expect(report.verify).toBeNull();
      expect(readFileSync(config, 'utf8')).toContain('[kni]\nenable=0\n');
      expect((await systemd.show('fstack.service', 'MainPID')).MainPID).not.toBe(before);
    });

    it('reports a failed restart after the edit', async () => {
      await systemd.writeUnit('failing.service', '[Service]\nType=oneshot\nExecStart=/bin/false\n');

      const run = await runCliAsync([
        'enable',
        '--tcp-port',
        '22',
        '--restart',
        '--config',
        config,
        '--netns',
        netns,
        '--unit',
        'failing.service',
        '--bus',
        systemd.busAddress,
      ]);

      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`${config}: updated`);
      expect(run.stdout).toContain('Restart of failing.service failed');
      expect(run.stdout).toContain('ActiveState=failed SubState=failed Result=exit-code');
      expect(readFileSync(config, 'utf8')).toBe(ENABLED_22);
    });
  },
);
