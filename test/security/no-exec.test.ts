// The product never runs a program: every command is traced with `strace -f -e trace=execve`
// and the only execve allowed is the one that starts node itself. Covers apply, status,
// explain, config check and set, enable, disable, export and demo, and, with a private
// systemd (test/helpers/systemd.ts) driving a stand-in F-Stack unit, restart, enable
// --restart and watch.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSkipReason, cliPath, runbookConfig } from '../cli/kni-helpers.js';
import {
  createTestNetns,
  ip,
  kernelSkipReason,
  removeTestNetns,
  uniqueNetnsName,
} from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';
import { fakeFstackUnit, writeFakeFstack } from '../service/fstack-unit.js';

const straceSkipReason =
  spawnSync('strace', ['-V']).status === 0 ? undefined : 'strace is not installed';
const skipReason = straceSkipReason ?? kernelSkipReason ?? buildSkipReason;

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The execve lines strace wrote, one per call. */
  execs: string[];
}

/** Lines of an strace log that record an execve call (not its resumption). */
function execveLines(log: string): string[] {
  return log.split('\n').filter((line) => /\bexecve\(/.test(line) && !line.includes('resumed>'));
}

/** Runs the CLI under strace and returns its result and every execve it made. */
function traced(dir: string, args: string[]): Traced {
  const log = join(dir, `strace-${readdirSync(dir).length}.log`);
  const result = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-s',
      '4096',
      '-e',
      'trace=execve',
      '-o',
      log,
      '--',
      process.execPath,
      cliPath,
      ...args,
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 120_000,
    },
  );
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    execs: execveLines(readFileSync(log, 'utf8')),
  };
}

/** Asserts that the only execve is node starting the CLI. */
function expectOnlyNode(run: Traced): void {
  expect(run.execs).toHaveLength(1);
  expect(run.execs[0]).toContain(
    `execve("${process.execPath}", ["${process.execPath}", "${cliPath}"`,
  );
  expect(run.execs[0]).toMatch(/= 0$/);
}

describe.skipIf(skipReason !== undefined)(
  `no program is executed${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns = '';
    let dir = '';
    let config = '';
    // demo deletes its namespace when it ends; afterAll removes it should demo fail first.
    const demoNetns = uniqueNetnsName('fkexec-demo');

    beforeAll(() => {
      netns = createTestNetns('fkexec');
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-exec-'));
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, runbookConfig());
    });

    afterAll(() => {
      if (netns !== '') removeTestNetns(netns);
      removeTestNetns(demoNetns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('the tracer sees a program that runs another', () => {
      const log = join(dir, 'control.log');
      spawnSync('strace', [
        '-f',
        '-qq',
        '-s',
        '4096',
        '-e',
        'trace=execve',
        '-o',
        log,
        '--',
        process.execPath,
        '-e',
        'require("child_process").execFileSync("true")',
      ]);
      expect(execveLines(readFileSync(log, 'utf8')).length).toBeGreaterThan(1);
    });

    it.each([
      [
        'apply',
        () => ['apply', '--config', config, '--netns', netns, '--fstack-version', '1.25'],
        0,
      ],
      [
        'status',
        () => ['status', '--config', config, '--netns', netns, '--fstack-version', '1.25'],
        1,
      ],
      ['explain', () => ['explain', '--config', config], 0],
      ['config check', () => ['config', 'check', '--config', config], 0],
      ['config set', () => ['config', 'set', 'kni.tcp_port=22,80', '--config', config], 0],
      ['disable', () => ['disable', '--config', config], 0],
      ['enable', () => ['enable', '--tcp-port', '22', '--config', config], 0],
      [
        'export',
        () => ['export', 'networkd', '--config', config, '--output', join(dir, 'networkd')],
        0,
      ],
      ['demo', () => ['demo', '--netns', demoNetns], 0],
    ] as const)(
      '%s',
      (_name, args, code) => {
        const run = traced(dir, [...args()]);
        expect(run.stderr).not.toMatch(/^fstack-kni: /m);
        expect(run.code).toBe(code);
        expectOnlyNode(run);
      },
      60_000,
    );

    describe.skipIf(systemdSkipReason !== undefined)(
      `with systemd${systemdSkipReason ? ` (skipped: ${systemdSkipReason})` : ''}`,
      () => {
        let systemd: PrivateSystemd;

        beforeAll(async () => {
          systemd = await startPrivateSystemd();
          await systemd.writeUnitFile(
            'fstack.service',
            fakeFstackUnit(netns, writeFakeFstack(dir)),
          );
          await systemd.systemctl('daemon-reload');
          ip(netns, 'link', 'delete', 'veth0');
        }, 60_000);

        afterAll(async () => {
          await systemd?.stop();
        });

        it('restart', () => {
          const run = traced(dir, [
            'restart',
            '--bus',
            systemd.busAddress,
            '--unit',
            'fstack.service',
            '--config',
            config,
            '--netns',
            netns,
          ]);
          expect(run.stderr).toBe('');
          expect(run.code).toBe(0);
          expectOnlyNode(run);
        }, 120_000);

        it('enable --restart', () => {
          const run = traced(dir, [
            'enable',
            '--tcp-port',
            '22',
            '--restart',
            '--bus',
            systemd.busAddress,
            '--unit',
            'fstack.service',
            '--config',
            config,
            '--netns',
            netns,
          ]);
          expect(run.code).toBe(0);
          expectOnlyNode(run);
        }, 120_000);

        it('watch', async () => {
          const log = join(dir, 'watch-strace.log');
          const child = spawn(
            'strace',
            [
              '-f',
              '-qq',
              '-s',
              '4096',
              '-e',
              'trace=execve',
              '-o',
              log,
              '--',
              process.execPath,
              cliPath,
              'watch',
              '--json-log',
              '--bus',
              systemd.busAddress,
              '--unit',
              'fstack.service',
              '--config',
              config,
              '--netns',
              netns,
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let stdout = '';
          const exited = new Promise<number | null>((resolve) =>
            child.once('exit', (code) => resolve(code)),
          );
          let stopped = false;

          try {
            // Once the watch has started, restart the unit; once it configured the new veth0, stop it.
            let restarted = false;
            await new Promise<void>((resolve, reject) => {
              // A hang guard, not a timing check: without it a watch that never logs would outlive the test.
              const guard = setTimeout(
                () => reject(new Error(`watch did not configure veth0; its log:\n${stdout}`)),
                60_000,
              );
              child.stdout.on('data', (chunk: Buffer) => {
                stdout += chunk.toString();
                if (!restarted && /"event":"start"/.test(stdout)) {
                  restarted = true;
                  void systemd.systemctl('restart', 'fstack.service');
                }
                if (/"event":"unit-job"[^\n]*\n(.*\n)*.*"event":"configured"/.test(stdout)) {
                  clearTimeout(guard);
                  resolve();
                }
              });
            });
            process.kill(childPidOf(child.pid ?? -1), 'SIGTERM');
            // strace exits with the status of the program it traced: watch exits 0 on SIGTERM.
            expect(await exited).toBe(0);
            stopped = true;
          } finally {
            if (!stopped) {
              // strace leaves the traced program running when it is killed, so that goes first.
              try {
                process.kill(childPidOf(child.pid ?? -1), 'SIGKILL');
              } catch {
                // Already gone.
              }
              child.kill('SIGKILL');
            }
          }

          expectOnlyNode({
            code: 0,
            stdout,
            stderr: '',
            execs: execveLines(readFileSync(log, 'utf8')),
          });
        }, 120_000);
      },
    );
  },
);

/** Returns the pid of the one child of `parent` (the traced node under strace). */
function childPidOf(parent: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  throw new Error(`no child of pid ${parent}`);
}
