// The library examples in examples/library, run as a user runs them (node FILE NETNS) in a
// throwaway namespace with a tap named veth0, and checked with `ip -j`.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSkipReason, makeTempDir, runbookConfig, writeConfig } from '../cli/kni-helpers.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';
import { repoRoot, run } from './helpers.js';

const skipReason = kernelSkipReason ?? buildSkipReason;

interface IpAddress {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
}

function runExample(name: string, args: string[]): ReturnType<typeof run> {
  return run(process.execPath, [join(repoRoot, 'examples', 'library', name), ...args], {
    cwd: repoRoot,
  });
}

describe.skipIf(skipReason !== undefined)(
  `library examples${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns: string;
    let temp: ReturnType<typeof makeTempDir>;

    beforeEach(() => {
      netns = createTestNetns('fkexample');
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      temp = makeTempDir();
    });

    afterEach(() => {
      removeTestNetns(netns);
      temp.remove();
    });

    function addresses(): IpAddress[] {
      const links = ipJson<Array<{ addr_info: IpAddress[] }>>(
        netns,
        'address',
        'show',
        'dev',
        'veth0',
      );
      return (links[0]?.addr_info ?? []).filter((address) => !address.local.startsWith('fe80:'));
    }

    it('addresses.mjs configures veth0 twice', () => {
      const first = runExample('addresses.mjs', [netns]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe('192.0.2.79/24 broadcast 192.0.2.255\n');

      const second = runExample('addresses.mjs', [netns]);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toBe(first.stdout);

      expect(addresses()).toEqual([
        expect.objectContaining({ local: '192.0.2.79', prefixlen: 24, broadcast: '192.0.2.255' }),
      ]);
      const routes = ipJson<Array<{ gateway?: string; dev: string }>>(
        netns,
        'route',
        'show',
        'default',
      );
      expect(routes).toEqual([expect.objectContaining({ gateway: '192.0.2.1', dev: 'veth0' })]);
    });

    it('batch.mjs reports one result per request', () => {
      const result = runExample('batch.mjs', [netns]);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual([
        'ok     set link veth0 up',
        'ok     replace address 198.51.100.7/24 on veth0',
        'ok     replace address 2001:db8::7/64 on veth0',
        'ok     replace route 203.0.113.0/24 via 198.51.100.1 dev veth0',
      ]);
      expect(addresses().map((address) => `${address.local}/${address.prefixlen}`)).toEqual([
        '198.51.100.7/24',
        '2001:db8::7/64',
      ]);
      const routes = ipJson<Array<{ dst: string; gateway?: string }>>(
        netns,
        'route',
        'show',
        '203.0.113.0/24',
      );
      expect(routes).toEqual([
        expect.objectContaining({ dst: '203.0.113.0/24', gateway: '198.51.100.1' }),
      ]);
    });

    it('batch.mjs reports a failed request', () => {
      ip(netns, 'link', 'delete', 'veth0');
      ip(netns, 'tuntap', 'add', 'veth1', 'mode', 'tap');

      const result = runExample('batch.mjs', [netns]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain('failed set link veth0 up');
    });

    it('prepared.mjs sends its batches in turn', () => {
      const index = ipJson<Array<{ ifindex: number }>>(netns, 'link', 'show', 'veth0')[0]?.ifindex;
      const on = `on veth0 (index ${index} when prepared)`;

      const result = runExample('prepared.mjs', [netns]);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual([
        `up: ok     add address 198.51.100.10/24 ${on}`,
        `up: ok     add address 198.51.100.11/24 ${on}`,
        `down: ok     delete address 198.51.100.11/24 ${on}`,
        `down: ok     delete address 198.51.100.10/24 ${on}`,
        `up: ok     add address 198.51.100.10/24 ${on}`,
        `up: ok     add address 198.51.100.11/24 ${on}`,
      ]);
      expect(addresses().map((address) => `${address.local}/${address.prefixlen}`)).toEqual([
        '198.51.100.10/24',
        '198.51.100.11/24',
      ]);
    });

    it('prepared.mjs rejects a missing link before it sends', () => {
      ip(netns, 'link', 'delete', 'veth0');

      const result = runExample('prepared.mjs', [netns]);

      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'add address 198.51.100.10/24 on veth0: No such device (ENODEV): no link has this name; ' +
          'a link created in the same batch must be named in a later batch, or given by index\n',
      );
    });

    it('subscribe.mjs prints the new address', () => {
      const result = runExample('subscribe.mjs', [netns]);

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('new address 192.0.2.99/24 on veth0\n');
    });

    it('converge.mjs applies f-stack.conf', () => {
      const config = writeConfig(temp.dir, runbookConfig());

      const check = runExample('converge.mjs', [config, netns, '--check']);
      expect(check.code, check.stderr).toBe(3);
      expect(check.stdout).toContain(
        `would run: ip -n ${netns} address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0`,
      );

      const applied = runExample('converge.mjs', [config, netns]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toContain(
        `applied: ip -n ${netns} route add default via 192.0.2.1 dev veth0 metric 0`,
      );
      expect(addresses()).toEqual([
        expect.objectContaining({ local: '192.0.2.79', prefixlen: 24, broadcast: '192.0.2.255' }),
      ]);

      const again = runExample('converge.mjs', [config, netns, '--check']);
      expect(again.code, again.stdout).toBe(0);
      expect(again.stdout).toBe('');
    });

    it('converge.mjs reports a missing interface', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      ip(netns, 'link', 'delete', 'veth0');

      const result = runExample('converge.mjs', [config, netns]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain('blocked: veth0 does not exist');
    });
  },
);
