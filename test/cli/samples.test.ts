// End-to-end: apply on every shipped F-Stack sample config with KNI switched on, and the
// VLAN sections of 1.24 and later.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TunDevice } from '../../src/rtnl/tun.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import {
  buildSkipReason,
  fixtureSkipReason,
  holdTap,
  ipAddresses,
  ipLink,
  ipRoutes,
  ipSnapshot,
  makeTempDir,
  runbookConfig,
  runCli,
  runJson,
  sampleWithKni,
  writeConfig,
} from './kni-helpers.js';

const skipReason = kernelSkipReason ?? buildSkipReason ?? fixtureSkipReason;

interface ApplyJson {
  ok: boolean;
  changed: boolean;
  driver: string;
  plan: { changes: Array<{ kind: string; command: string }>; notes: string[] };
  results: Array<{ status: string; error?: { code?: string; message: string }; hint?: string }>;
}

/** Sample file, the version to apply it as, and whether that version needs the carrier step. */
const SAMPLES: Array<[string, string, boolean]> = [
  // 1.13 predates the modelled versions; its file is read with the oldest rules, 1.21.
  ['config.ini.v1.13', '1.21', true],
  ['config.ini.v1.21', '1.21', true],
  ['config.ini.v1.22', '1.22', true],
  ['config.ini.v1.23', '1.23', true],
  ['config.ini.1.24', '1.24', false],
  ['config.ini.v1.25', '1.25', false],
  ['config.ini.dev-5cb586b', 'dev', false],
];

/** True when this kernel can create VLAN links (module 8021q). */
function vlanKindAvailable(): boolean {
  const probe = createTestNetns('fkvlanprobe');
  try {
    ip(probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    execFileSync(
      'ip',
      ['-n', probe, 'link', 'add', 'link', 'p0', 'name', 'p0.10', 'type', 'vlan', 'id', '10'],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  } finally {
    removeTestNetns(probe);
  }
}

describe.skipIf(skipReason !== undefined)(
  `sample configs${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns: string;
    let temp: ReturnType<typeof makeTempDir>;
    let tap: TunDevice | undefined;

    beforeEach(() => {
      netns = createTestNetns('fksample');
      temp = makeTempDir();
    });

    afterEach(() => {
      tap?.close();
      tap = undefined;
      removeTestNetns(netns);
      temp.remove();
    });

    it.each(SAMPLES)('applies %s as F-Stack %s', (file, version, carrier) => {
      tap = holdTap(netns);
      const config = writeConfig(temp.dir, sampleWithKni(file));

      const first = runJson<ApplyJson>([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        version,
      ]);
      expect(first.code).toBe(0);
      expect(first.json.driver).toBe(carrier ? 'rte_kni' : 'virtio_user');
      expect(first.json.plan.changes.map((c) => c.kind)).toEqual(
        carrier
          ? ['link-up', 'carrier-on', 'add-address', 'add-route']
          : ['link-up', 'add-address', 'add-route'],
      );
      expect(ipLink(netns, 'veth0')?.flags).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
      expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 0']);

      const second = runJson<ApplyJson>([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        version,
      ]);
      expect(second.json.changed).toBe(false);
    });

    it('rejects the shipped 1.21 netmask and touches nothing', () => {
      tap = holdTap(netns);
      const config = writeConfig(
        temp.dir,
        sampleWithKni('config.ini.v1.21', {
          addr: '192.0.2.79',
          broadcast: '192.0.2.255',
          gateway: '192.0.2.1',
        }),
      );
      const before = ipSnapshot(netns);

      const result = runCli([
        'apply',
        '--config',
        config,
        '--netns',
        netns,
        '--fstack-version',
        '1.21',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('255.255.225.0 has non-contiguous one-bits');
      expect(ipSnapshot(netns)).toBe(before);
    });

    describe('VLAN sections', () => {
      const vlanConfig = runbookConfig(
        '',
        'enable=1\nmethod=accept\ntcp_port=22\n\n[vlan10]\nportid=0\naddr=203.0.113.5\nnetmask=255.255.255.0\nbroadcast=203.0.113.255\ngateway=203.0.113.1\n',
      ).replace('port_list=0', 'port_list=0\nvlan_filter=10');
      const vlanAvailable = skipReason === undefined && vlanKindAvailable();

      it('plans the VLAN interface', () => {
        tap = holdTap(netns);
        const config = writeConfig(temp.dir, vlanConfig);
        const check = runJson<ApplyJson>([
          'apply',
          '--config',
          config,
          '--netns',
          netns,
          '--check',
          '--fstack-version',
          '1.25',
        ]);
        expect(check.code).toBe(3);
        expect(check.json.plan.changes.map((c) => c.command)).toEqual([
          `ip -n ${netns} link add link veth0 name veth0.10 type vlan id 10`,
          `ip -n ${netns} link set veth0 up`,
          `ip -n ${netns} link set veth0.10 up`,
          `ip -n ${netns} address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`,
          `ip -n ${netns} address add 203.0.113.5/24 broadcast 203.0.113.255 dev veth0.10`,
          `ip -n ${netns} route add default via 192.0.2.1 dev veth0 metric 0`,
        ]);
        expect(check.json.plan.notes.join('\n')).toContain('[vlan10] gateway is not installed');
      });

      const withoutKind = 'reports a kernel without the vlan link kind';
      it.skipIf(vlanAvailable)(
        vlanAvailable ? `${withoutKind} (skipped: this kernel has it)` : withoutKind,
        () => {
          tap = holdTap(netns);
          const config = writeConfig(temp.dir, vlanConfig);
          const before = ipSnapshot(netns);

          const result = runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]);
          expect(result.code).toBe(1);
          expect(result.json.results[0]).toMatchObject({
            status: 'failed',
            error: { code: 'EOPNOTSUPP' },
          });
          expect(result.json.results[0]!.hint).toContain('--no-vlans');
          expect(result.json.results.slice(1).every((r) => r.status === 'skipped')).toBe(true);
          expect(ipSnapshot(netns)).toBe(before);

          expect(runCli(['apply', '--config', config, '--netns', netns, '--no-vlans']).code).toBe(
            0,
          );
          expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
        },
      );

      const live = 'creates the VLAN interface live';
      it.skipIf(!vlanAvailable)(
        vlanAvailable ? live : `${live} (skipped: this kernel lacks the vlan link kind)`,
        () => {
          tap = holdTap(netns);
          const config = writeConfig(temp.dir, vlanConfig);
          expect(runCli(['apply', '--config', config, '--netns', netns]).code).toBe(0);
          expect(ipAddresses(netns, 'veth0.10')).toEqual(['203.0.113.5/24 brd 203.0.113.255']);
          expect(
            runJson<ApplyJson>(['apply', '--config', config, '--netns', netns]).json.changed,
          ).toBe(false);
        },
      );
    });
  },
);
