// End-to-end: `fstack-kni apply` inside throwaway namespaces, checked with `ip -j`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TunDevice } from '../../src/rtnl/tun.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import {
  buildSkipReason,
  holdTap,
  ipAddresses,
  ipLink,
  ipRoutes,
  ipSnapshot,
  makeTempDir,
  runbookConfig,
  runCli,
  runJson,
  writeConfig,
} from './kni-helpers.js';

const skipReason = kernelSkipReason ?? buildSkipReason;

interface ApplyJson {
  ok: boolean;
  changed: boolean;
  pending: boolean;
  plan: {
    changes: Array<{ kind: string; command: string; description: string }>;
    drift: Array<{ target: string }>;
    blockers: Array<{ code: string; message: string }>;
  };
  results: Array<{
    command: string;
    status: string;
    error?: { code?: string; message: string };
    hint?: string;
  }>;
  rolledBack: boolean;
  remaining: string[];
  timings: { totalMs: number };
}

describe.skipIf(skipReason !== undefined)(
  `apply command${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns: string;
    let temp: ReturnType<typeof makeTempDir>;
    const taps: TunDevice[] = [];

    beforeEach(() => {
      netns = createTestNetns('fkapply');
      temp = makeTempDir();
    });

    afterEach(() => {
      for (const tap of taps.splice(0)) tap.close();
      removeTestNetns(netns);
      temp.remove();
    });

    function persistentTap(name = 'veth0'): void {
      ip(netns, 'tuntap', 'add', name, 'mode', 'tap');
    }

    it('configures the runbook case', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(temp.dir, runbookConfig());

      const first = runCli(['apply', '--config', config, '--netns', netns]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(
        `ip -n ${netns} address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`,
      );
      expect(first.stdout).toContain('converged');

      expect(ipLink(netns, 'veth0')?.flags).toContain('UP');
      expect(ipLink(netns, 'veth0')?.flags).toContain('LOWER_UP');
      expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 0']);
    });

    it('changes nothing on the second run', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(temp.dir, runbookConfig());
      const first = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(first.json.changed).toBe(true);
      const before = ipSnapshot(netns);

      const second = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(second.code).toBe(0);
      expect(second.json.ok).toBe(true);
      expect(second.json.changed).toBe(false);
      expect(second.json.plan.changes).toEqual([]);
      expect(second.json.results).toEqual([]);
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('changes nothing under --check', () => {
      persistentTap();
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const check = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns, '--check']);
      expect(check.code).toBe(3);
      expect(check.json.pending).toBe(true);
      expect(check.json.changed).toBe(false);
      expect(check.json.plan.changes.map((c) => c.kind)).toEqual([
        'link-up',
        'add-address',
        'add-route',
      ]);
      expect(ipSnapshot(netns)).toBe(before);

      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);
      const converged = runCli(['apply', '--config', config, '--netns', netns, '--check']);
      expect(converged.code).toBe(0);
      expect(converged.stdout).toContain('nothing to change');
    });

    it('configures IPv6 address and gateway6', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(
        temp.dir,
        runbookConfig('addr6=2001:db8::79\nprefix_len=64\ngateway6=2001:db8::1\n'),
      );

      const result = runCli(['apply', '--config', config, '--netns', netns]);
      expect(result.code).toBe(0);
      expect(ipAddresses(netns, 'veth0')).toEqual([
        '192.0.2.79/24 brd 192.0.2.255',
        '2001:db8::79/64',
      ]);
      expect(ipRoutes(netns, 'veth0')).toEqual([
        'default via 192.0.2.1 metric 0',
        'default via 2001:db8::1 metric 1024',
      ]);

      const again = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(again.json.changed).toBe(false);
    });

    it('configures two ports', () => {
      taps.push(holdTap(netns, 'veth0'));
      const peer = createTestNetns('fkpeer');
      try {
        ip(netns, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'peer1', 'netns', peer);
        ip(peer, 'link', 'set', 'peer1', 'up');
        const config = writeConfig(
          temp.dir,
          `[dpdk]
lcore_mask=1
port_list=0,1

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

[port1]
addr=198.51.100.9
netmask=255.255.255.0
broadcast=198.51.100.255
gateway=198.51.100.1

[kni]
enable=1
method=reject
tcp_port=80,443
`,
        );

        const result = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
        expect(result.code).toBe(0);
        expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
        expect(ipAddresses(netns, 'veth1')).toEqual(['198.51.100.9/24 brd 198.51.100.255']);
        expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 0']);
        expect(ipRoutes(netns, 'veth1')).toEqual(['default via 198.51.100.1 metric 1']);
        expect(ipLink(netns, 'veth1')?.flags).toContain('LOWER_UP');

        const only = runJson<ApplyJson>([
          'apply',
          '--config',
          config,
          '--netns',
          netns,
          '--port',
          '1',
        ]);
        expect(only.json.changed).toBe(false);
      } finally {
        removeTestNetns(peer);
      }
    });

    it('repairs drift and prunes only with --prune', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(temp.dir, runbookConfig());
      ip(netns, 'link', 'set', 'veth0', 'up');
      ip(netns, 'address', 'add', '192.0.2.79/24', 'broadcast', '192.0.2.127', 'dev', 'veth0');
      ip(netns, 'address', 'add', '192.0.2.50/24', 'broadcast', '192.0.2.255', 'dev', 'veth0');
      ip(netns, 'route', 'add', '203.0.113.0/24', 'via', '192.0.2.254', 'dev', 'veth0');

      const repair = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(repair.code).toBe(0);
      expect(repair.json.plan.drift.map((d) => d.target)).toEqual([
        '192.0.2.50/24 broadcast 192.0.2.255',
        '203.0.113.0/24 via 192.0.2.254 metric 0',
      ]);
      expect(ipAddresses(netns, 'veth0').sort()).toEqual([
        '192.0.2.50/24 brd 192.0.2.255',
        '192.0.2.79/24 brd 192.0.2.255',
      ]);
      expect(ipRoutes(netns, 'veth0').sort()).toEqual([
        '203.0.113.0/24 via 192.0.2.254 metric 0',
        'default via 192.0.2.1 metric 0',
      ]);

      const prune = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns, '--prune']);
      expect(prune.code).toBe(0);
      expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 0']);
      expect(ipLink(netns, 'veth0')?.addr_info?.some((a) => a.local.startsWith('fe80:'))).toBe(
        true,
      );

      const again = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns, '--prune']);
      expect(again.json.changed).toBe(false);
    });

    it('rolls back when the kernel rejects the gateway', () => {
      persistentTap();
      const config = writeConfig(
        temp.dir,
        runbookConfig().replace('gateway=192.0.2.1', 'gateway=198.51.100.1'),
      );
      const before = ipSnapshot(netns);

      const result = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(result.code).toBe(1);
      expect(result.json.ok).toBe(false);
      expect(result.json.rolledBack).toBe(true);
      expect(result.json.changed).toBe(false);
      expect(result.json.remaining).toEqual([]);
      expect(result.json.results.map((r) => r.status)).toEqual([
        'rolled-back',
        'rolled-back',
        'failed',
      ]);
      expect(result.json.results[2]!.error?.code).toBe('ENETUNREACH');
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('rolls back when a tap refuses carrier', () => {
      persistentTap();
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const result = runJson<ApplyJson>([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.23',
      ]);
      expect(result.code).toBe(1);
      expect(result.json.results[1]).toMatchObject({ status: 'failed', error: { code: 'EPERM' } });
      expect(result.json.results[1]!.hint).toContain('holds it open');
      expect(result.json.results[1]!.error?.message).toMatch(
        /^veth0 rejected carrier on \(EPERM\): a tun\/tap accepts/,
      );
      expect(result.json.results[1]!.error?.message).not.toContain('CAP_NET_ADMIN');
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('sets the carrier for rte_kni versions', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runJson<ApplyJson>([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.22',
      ]);
      expect(result.code).toBe(0);
      expect(result.json.plan.changes.map((c) => c.kind)).toEqual([
        'link-up',
        'carrier-on',
        'add-address',
        'add-route',
      ]);
      expect(ipLink(netns, 'veth0')?.flags).toContain('LOWER_UP');
    });

    it('blocks when veth0 is missing', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);
      const result = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(result.code).toBe(1);
      expect(result.json.plan.blockers.map((b) => b.code)).toEqual(['interface-missing']);
      expect(ipSnapshot(netns)).toBe(before);
    });

    it('blocks on a foreign default route', () => {
      persistentTap();
      persistentTap('eth9');
      ip(netns, 'link', 'set', 'eth9', 'up');
      ip(netns, 'address', 'add', '203.0.113.2/24', 'dev', 'eth9');
      ip(netns, 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', 'eth9');
      const config = writeConfig(temp.dir, runbookConfig());
      const before = ipSnapshot(netns);

      const blocked = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
      expect(blocked.code).toBe(1);
      expect(blocked.json.plan.blockers[0]!.message).toContain(
        'eth9 already has the IPv4 default route',
      );
      expect(ipSnapshot(netns)).toBe(before);

      const other = runCli([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--route-metric',
        '100',
      ]);
      expect(other.code).toBe(0);
      expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 100']);
    });

    it('installs VIPs only with --with-vips', () => {
      taps.push(holdTap(netns));
      const config = writeConfig(temp.dir, runbookConfig('vip_addr=192.0.2.80;192.0.2.81\n'));
      expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);
      expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);

      expect(runCli(['apply', '--config', config, '--netns', netns, '--with-vips']).code).toBe(0);
      expect(ipAddresses(netns, 'veth0')).toEqual([
        '192.0.2.79/24 brd 192.0.2.255',
        '192.0.2.80/32',
        '192.0.2.81/32',
      ]);
    });

    it('uses interface names and MAC from options', () => {
      ip(netns, 'tuntap', 'add', 'ens1', 'mode', 'tap');
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runCli([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--interface',
        '0=ens1',
        '--mac',
        '0=02:00:5e:10:00:01',
      ]);
      expect(result.code).toBe(0);
      expect(ipLink(netns, 'ens1')?.address).toBe('02:00:5e:10:00:01');
      expect(ipAddresses(netns, 'ens1')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
    });

    it('touches nothing for invalid configs', () => {
      persistentTap();
      const before = ipSnapshot(netns);
      const cases: Array<[string, string, RegExp]> = [
        ['no-method', runbookConfig('', 'enable=1\ntcp_port=22\n'), /method/],
        ['disabled', runbookConfig('', 'enable=0\n'), /KNI is disabled/],
        [
          'bad-address',
          runbookConfig().replace('addr=192.0.2.79', 'addr=192.0.2.79 # lab'),
          /not an IPv4 address/,
        ],
        [
          'bad-netmask',
          runbookConfig().replace('255.255.255.0', '255.255.225.0'),
          /non-contiguous/,
        ],
        ['missing-gateway', runbookConfig().replace('gateway=192.0.2.1\n', ''), /gateway/],
      ];
      for (const [name, text, message] of cases) {
        const config = writeConfig(temp.dir, text, `${name}.conf`);
        const result = runCli(['apply', '--config', config, '--netns', netns]);
        expect(result.code, name).toBe(1);
        expect(result.stderr, name).toMatch(message);
        expect(ipSnapshot(netns), name).toBe(before);
      }
    });

    it('reports usage errors with exit 2', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      expect(runCli(['apply', '--config', config, '--netns', netns, '--bogus']).code).toBe(2);
      expect(
        runCli(['apply', '--config', config, '--netns', netns, '--interface', 'veth0']).code,
      ).toBe(2);
      expect(
        runCli(['apply', '--config', config, '--netns', netns, '--route-metric', '-1']).code,
      ).toBe(2);
      expect(
        runCli(['apply', '--config', config, '--netns', netns, '--fstack-version', '1.9']).code,
      ).toBe(2);
      const missing = runCli(['apply', '--config', `${temp.dir}/nope.conf`, '--netns', netns]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        `f-stack.conf not found: ${temp.dir}/nope.conf; give --config PATH`,
      );
    });
  },
);

describe.skipIf(buildSkipReason !== undefined)('apply command line errors', () => {
  it('suggests the closest unknown option', () => {
    const result = runCli(['apply', '--netsn', 'lab']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'fstack-kni: unknown option --netsn for "apply"; did you mean --netns? Run "fstack-kni apply --help" for the options.\n',
    );
  });

  it('names an unknown option without a close match', () => {
    const result = runCli(['apply', '--frobnicate']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown option --frobnicate for "apply". Run "fstack-kni apply --help"',
    );
    expect(result.stderr).not.toContain('did you mean');
  });

  it('reports a missing option value', () => {
    const result = runCli(['apply', '--route-metric']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('fstack-kni: option --route-metric needs a value\n');
  });

  it('reports a negative number', () => {
    const result = runCli(['apply', '--route-metric', '-5']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'fstack-kni: --route-metric must be a non-negative integer, got -5\n',
    );
  });

  it('reports a value given to a flag', () => {
    const result = runCli(['status', '--with-vips=yes']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('fstack-kni: option --with-vips takes no value\n');
  });
});
