// End-to-end: `fstack-kni status` inside throwaway namespaces.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TunDevice } from '../../src/rtnl/tun.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import {
  buildSkipReason,
  holdTap,
  ipSnapshot,
  makeTempDir,
  runbookConfig,
  runCli,
  runJson,
  writeConfig,
} from './kni-helpers.js';

const skipReason = kernelSkipReason ?? buildSkipReason;

interface StatusJson {
  ok: boolean;
  driver: string;
  interfaces: Array<{
    name: string;
    present: boolean;
    up: boolean;
    carrier: boolean;
    addresses: string[];
    routes: string[];
  }>;
  problems: Array<{
    code: string;
    interface?: string;
    message: string;
    cause: string;
    fix: string;
  }>;
}

describe.skipIf(skipReason !== undefined)(
  `status command${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns: string;
    let temp: ReturnType<typeof makeTempDir>;
    let tap: TunDevice | undefined;

    beforeEach(() => {
      netns = createTestNetns('fkstatus');
      temp = makeTempDir();
    });

    afterEach(() => {
      tap?.close();
      tap = undefined;
      removeTestNetns(netns);
      temp.remove();
    });

    it('reports no problem after apply', () => {
      tap = holdTap(netns);
      const config = writeConfig(temp.dir, runbookConfig());
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);

      const text = runCli(['status', '--config', config, '--netns', netns]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('No problems');
      expect(text.stdout).toMatch(
        /addresses\s+192\.0\.2\.79\/24 broadcast 192\.0\.2\.255\s+192\.0\.2\.79\/24 broadcast 192\.0\.2\.255/,
      );

      const json = runJson<StatusJson>(['status', '--config', config, '--netns', netns]);
      expect(json.json.ok).toBe(true);
      expect(json.json.interfaces[0]).toMatchObject({
        name: 'veth0',
        present: true,
        up: true,
        carrier: true,
      });
    });

    it('explains a fresh tap and changes nothing', () => {
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const result = runJson<StatusJson>(['status', '--config', config, '--netns', netns]);
      expect(result.code).toBe(1);
      expect(result.json.problems.map((p) => p.code)).toEqual([
        'link-down',
        'address-missing',
        'route-missing',
      ]);
      expect(result.json.problems.map((p) => p.fix)).toEqual(
        Array(3).fill(`run fstack-kni apply --config ${config} --netns ${netns}`),
      );
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('reports up without carrier on an unattached tap', () => {
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      const config = writeConfig(temp.dir, runbookConfig());
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);

      const result = runJson<StatusJson>(['status', '--config', config, '--netns', netns]);
      expect(result.json.problems.map((p) => p.code)).toEqual(['no-carrier']);
      expect(result.json.problems[0]!.cause).toContain('no process holds the tap open');
    });

    it('reports a missing interface with causes', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runJson<StatusJson>(['status', '--config', config, '--netns', netns]);
      expect(result.code).toBe(1);
      expect(result.json.problems.map((p) => p.code)).toEqual(['interface-missing']);
      expect(result.json.problems[0]!.cause).toContain('primary process is not running');

      const old = runJson<StatusJson>([
        'status',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.23',
      ]);
      expect(old.json.driver).toBe('rte_kni');
      expect(old.json.problems[0]!.message).toContain('rte_kni netdev');
    });

    it('reports the old IP after a config change', () => {
      tap = holdTap(netns);
      const config = writeConfig(temp.dir, runbookConfig());
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);
      writeConfig(temp.dir, runbookConfig().replace('addr=192.0.2.79', 'addr=192.0.2.80'));

      const result = runJson<StatusJson>(['status', '--config', config, '--netns', netns]);
      expect(result.json.problems.map((p) => p.code)).toEqual(['address-differs']);
      expect(result.json.problems[0]!.message).toBe(
        'veth0 has 192.0.2.79/24 broadcast 192.0.2.255 but f-stack.conf asks for 192.0.2.80/24 broadcast 192.0.2.255',
      );

      expect(runCli(['apply', '--config', config, '--netns', netns, '--prune']).code).toBe(0);
      expect(runCli(['status', '--config', config, '--netns', netns]).code).toBe(0);
    });

    it('leaves a configured VIP alone without --with-vips', () => {
      tap = holdTap(netns);
      const config = writeConfig(temp.dir, runbookConfig('vip_addr=198.51.100.20\n'));
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);
      ip(netns, 'address', 'add', '198.51.100.20/32', 'dev', 'veth0');

      const result = runJson<StatusJson & { notes: string[] }>([
        'status',
        '--config',
        config,
        '--netns',
        netns,
      ]);
      expect(result.code).toBe(0);
      expect(result.json.problems).toEqual([]);
      expect(result.json.notes).toContain(
        'address 198.51.100.20/32 on veth0 is in f-stack.conf as [port0] vip_addr, managed only with --with-vips',
      );

      expect(runCli(['apply', '--config', config, '--netns', netns, '--prune']).code).toBe(0);
      expect(ip(netns, '-j', 'address', 'show', 'dev', 'veth0')).toContain('198.51.100.20');
    });

    it('repeats --with-vips and the target in fixes', () => {
      tap = holdTap(netns);
      const config = writeConfig(temp.dir, runbookConfig('vip_addr=198.51.100.20\n'));
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);

      const result = runJson<StatusJson>([
        'status',
        '--config',
        config,
        '--netns',
        netns,
        '--with-vips',
      ]);
      expect(result.code).toBe(1);
      expect(result.json.problems.map((p) => p.code)).toEqual(['address-missing']);
      expect(result.json.problems[0]!.fix).toBe(
        `run fstack-kni apply --config ${config} --netns ${netns} --with-vips`,
      );
    });

    it('reports KNI disabled and config errors', () => {
      const disabled = writeConfig(temp.dir, runbookConfig('', 'enable=0\n'), 'disabled.conf');
      const off = runJson<StatusJson>(['status', '--config', disabled, '--netns', netns]);
      expect(off.code).toBe(1);
      expect(off.json.problems.map((p) => p.code)).toEqual(['kni-disabled']);

      const broken = writeConfig(
        temp.dir,
        runbookConfig('', 'enable=1\nmethod=maybe\n'),
        'broken.conf',
      );
      const invalid = runJson<StatusJson>(['status', '--config', broken, '--netns', netns]);
      expect(invalid.code).toBe(1);
      expect(invalid.json.problems.map((p) => p.code)).toEqual(['config-invalid']);
      expect(invalid.json.problems[0]!.message).toContain('maybe');
    });
  },
);

describe.skipIf(buildSkipReason !== undefined)('status with a missing netns', () => {
  it('names the namespace and how to list them', () => {
    const temp = makeTempDir();
    try {
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runCli(['status', '--config', config, '--netns', 'fstack-kni-test-absent']);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'fstack-kni: network namespace "fstack-kni-test-absent" not found (no /run/netns/fstack-kni-test-absent); ' +
          'list them with "ip netns list" or create it\n',
      );
    } finally {
      temp.remove();
    }
  });
});
