// `fstack-kni config ...` run as a user would: the built CLI on files in a temporary directory.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  cliPath,
  distSkipReason,
  fixtureDir,
  fixtureSkipReason,
  makeTempDir,
} from '../helpers/config-paths.js';

const CLEAN = `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

#[kni]
#enable=1
#method=reject
#tcp_port=80,443
#udp_port=53
`;

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, 'config', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(distSkipReason !== undefined)(
  `fstack-kni config${distSkipReason ? ` (skipped: ${distSkipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let file: string;

    beforeEach(() => {
      temp = makeTempDir('fstack-cli-');
      file = join(temp.path, 'f-stack.conf');
      writeFileSync(file, CLEAN);
    });

    afterEach(() => temp.remove());

    describe('check', () => {
      it('passes a clean file', () => {
        const result = run('check', '--config', file);
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(`${file}: no problems found (F-Stack 1.25 rules)\n`);
      });

      it('prints warnings like a compiler and still passes', () => {
        writeFileSync(file, CLEAN.replace('addr=192.0.2.79', 'addr=192.0.2.79 # lab'));
        const result = run('check', '--config', file);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(
          `${file}:6:6: warning: addr of [port0] is "192.0.2.79 # lab"`,
        );
        expect(result.stdout).toContain(
          '    value: "192.0.2.79 # lab"\n    fix: write addr=192.0.2.79',
        );
        expect(result.stdout).toContain(`${file}: 0 errors, 1 warning`);
      });

      it('fails on warnings with --strict', () => {
        writeFileSync(file, CLEAN.replace('[port0]', '[port0]\nEnable=1'));
        expect(run('check', '--config', file, '--strict').code).toBe(1);
      });

      it('fails on errors', () => {
        writeFileSync(file, `${CLEAN}[kni]\nenable=1\n`);
        const result = run('check', '--config', file);
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(
          new RegExp(`^${file}:17:8: error: KNI is enabled but \\[kni\\] has no method`, 'm'),
        );
        expect(result.stdout).toContain('fix: add method=accept');
      });

      it('prints one JSON document', () => {
        writeFileSync(file, `${CLEAN}[kni]\nenable=1\n`);
        const result = run('check', '--config', file, '--json', '--fstack-version', '1.23');
        expect(result.code).toBe(1);
        const report = JSON.parse(result.stdout);
        expect(report).toMatchObject({
          ok: false,
          file,
          fstackVersion: '1.23',
          errors: 1,
          warnings: 0,
        });
        expect(report.diagnostics[0]).toMatchObject({
          severity: 'error',
          code: 'kni-method-missing',
          line: 17,
          column: 8,
        });
      });

      it('reports a missing file', () => {
        const missing = join(temp.path, 'missing.conf');
        const result = run('check', '--config', missing);
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(
          `fstack-kni: f-stack.conf not found: ${missing}; give --config PATH\n`,
        );
      });

      it('suggests the closest unknown option', () => {
        const result = run('check', '--confg', file);
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(
          'fstack-kni: unknown option --confg for "config"; did you mean --config? Run "fstack-kni config --help" for the options.\n',
        );
      });

      it('reads /etc/f-stack.conf by default', () => {
        const result = run('check', '--json');
        if (existsSync('/etc/f-stack.conf')) {
          expect(JSON.parse(result.stdout).file).toBe('/etc/f-stack.conf');
        } else {
          expect(result.code).toBe(1);
          expect(result.stderr).toContain('/etc/f-stack.conf');
        }
      });
    });

    describe('get', () => {
      it('prints the value F-Stack reads', () => {
        const result = run('get', 'port0.addr', '--config', file);
        expect(result).toMatchObject({ code: 0, stdout: '192.0.2.79\n' });
      });

      it('fails for a key that is not set', () => {
        const result = run('get', 'kni.enable', '--config', file);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('kni.enable is not set');
      });

      it('prints JSON with the location', () => {
        const result = run('get', 'dpdk.port_list', '--config', file, '--json');
        expect(JSON.parse(result.stdout)).toMatchObject({
          ok: true,
          set: true,
          value: '0',
          line: 3,
          column: 11,
        });
      });
    });

    describe('edits', () => {
      it('prints a diff and writes nothing with --dry-run', () => {
        const result = run(
          'set',
          'kni.enable=1',
          'kni.method=accept',
          'kni.tcp_port=22',
          '--config',
          file,
          '--dry-run',
        );
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(
          [
            `--- ${file}`,
            `+++ ${file} (edited)`,
            '@@ -8,8 +8,8 @@',
            ' broadcast=192.0.2.255',
            ' gateway=192.0.2.1',
            ' ',
            '-#[kni]',
            '-#enable=1',
            '-#method=reject',
            '-#tcp_port=80,443',
            '+[kni]',
            '+enable=1',
            '+method=accept',
            '+tcp_port=22',
            ' #udp_port=53',
            '',
          ].join('\n'),
        );
        expect(readFileSync(file, 'utf8')).toBe(CLEAN);
      });

      it('writes the change and a backup', () => {
        const result = run(
          'set',
          'kni.enable=1',
          'kni.method=accept',
          'kni.tcp_port=22',
          '--config',
          file,
          '--backup',
        );
        expect(result.code).toBe(0);
        expect(result.stderr).toContain(`updated (previous content in ${file}.bak)`);
        expect(readFileSync(file, 'utf8')).toBe(
          CLEAN.replace(
            '#[kni]\n#enable=1\n#method=reject\n#tcp_port=80,443',
            '[kni]\nenable=1\nmethod=accept\ntcp_port=22',
          ),
        );
        expect(readFileSync(`${file}.bak`, 'utf8')).toBe(CLEAN);
        expect(run('check', '--config', file).code).toBe(0);
      });

      it('uses a backup suffix', () => {
        expect(
          run('set', 'port0.addr=192.0.2.80', '--config', file, '--backup-suffix', '.orig').code,
        ).toBe(0);
        expect(readFileSync(`${file}.orig`, 'utf8')).toBe(CLEAN);
      });

      it('rejects an invalid value and writes nothing', () => {
        const result = run('set', 'port0.addr=192.0.2.1 # lab', '--config', file);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('invalid value "192.0.2.1 # lab" for port0.addr');
        expect(readFileSync(file, 'utf8')).toBe(CLEAN);
      });

      it('rejects a result with errors and lists them', () => {
        const result = run('set', 'kni.enable=1', '--config', file, '--json');
        expect(result.code).toBe(1);
        const report = JSON.parse(result.stdout);
        expect(report).toMatchObject({ ok: false, error: { code: 'result-invalid' } });
        expect(report.diagnostics.map((diagnostic: { code: string }) => diagnostic.code)).toEqual([
          'kni-method-missing',
        ]);
        expect(readFileSync(file, 'utf8')).toBe(CLEAN);
      });

      it('reports the change as JSON', () => {
        const result = run(
          'unset',
          'port0.gateway',
          'port0.broadcast',
          '--config',
          file,
          '--json',
          '--dry-run',
        );
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout).error.code).toBe('result-invalid');

        const ok = run('set', 'port0.if_name=eth1', '--config', file, '--json');
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.stdout)).toMatchObject({
          ok: true,
          changed: true,
          written: true,
          dryRun: false,
        });
        expect(readFileSync(file, 'utf8')).toContain('gateway=192.0.2.1\nif_name=eth1\n');
      });

      it('enables and disables a section', () => {
        expect(run('enable-section', 'kni', '--config', file).code).toBe(0);
        expect(run('get', 'kni.method', '--config', file).stdout).toBe('reject\n');
        expect(run('disable-section', 'kni', '--config', file).code).toBe(0);
        expect(readFileSync(file, 'utf8')).toBe(CLEAN);
      });

      it('rejects disabling a section it could not enable again, and writes nothing', () => {
        expect(run('enable-section', 'kni', '--config', file).code).toBe(0);
        const continued = readFileSync(file, 'utf8').replace(
          'method=reject\n',
          'method=reject\n  accept\n',
        );
        writeFileSync(file, continued);
        const result = run('disable-section', 'kni', '--config', file);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('("accept") is indented');
        expect(result.stderr).toContain('Nothing was written');
        expect(readFileSync(file, 'utf8')).toBe(continued);
      });

      it('applies concurrent sets one after another', async () => {
        const edits = [
          'dpdk.promiscuous=1',
          'dpdk.numa_on=1',
          'dpdk.tso=0',
          'dpdk.vlan_strip=1',
          'dpdk.idle_sleep=10',
          'dpdk.pkt_tx_delay=20',
          'dpdk.symmetric_rss=0',
          'port0.if_name=eth1',
        ];
        const codes = await Promise.all(
          edits.map(
            (assignment) =>
              new Promise<number | null>((resolve) => {
                const child = spawn(
                  process.execPath,
                  [cliPath, 'config', 'set', assignment, '--config', file],
                  { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } },
                );
                child.on('exit', (code) => resolve(code));
              }),
          ),
        );
        expect(codes).toEqual(edits.map(() => 0));
        for (const assignment of edits) {
          const [key, value] = assignment.split('=') as [string, string];
          expect(run('get', key, '--config', file).stdout, key).toBe(`${value}\n`);
        }
      });

      it('reports when nothing changes', () => {
        const result = run('set', 'port0.addr=192.0.2.79', '--config', file);
        expect(result.code).toBe(0);
        expect(result.stderr).toContain('no change needed');
      });
    });

    describe('usage', () => {
      it.each([
        [['frobnicate']],
        [['get']],
        [['set', 'kni.enable']],
        [['check', '--fstack-version', '1.13', '--config', 'x']],
        [['check', '--bogus']],
        [['get', 'enable']],
      ])('rejects %j with exit code 2', (args) => {
        expect(run(...args).code).toBe(2);
      });

      it('prints help', () => {
        const result = run('--help');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('Usage: fstack-kni config <subcommand>');
      });
    });

    describe.skipIf(fixtureSkipReason !== undefined)('sample configs', () => {
      it('enables KNI in the 1.25 sample in place', () => {
        copyFileSync(join(fixtureDir, 'config.ini.v1.25'), file);
        const before = readFileSync(file, 'utf8');
        expect(
          run('set', 'kni.enable=1', 'kni.method=accept', 'kni.tcp_port=22', '--config', file).code,
        ).toBe(0);
        const after = readFileSync(file, 'utf8');
        expect(after.split('\n')).toHaveLength(before.split('\n').length);
        expect(after.match(/^\[kni\]$/gm)).toHaveLength(1);
        expect(run('check', '--config', file).code).toBe(0);
      });
    });
  },
);
