// End-to-end: `fstack-kni demo` creates its sandbox, proves the path and removes it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ipJson, kernelSkipReason, removeTestNetns, uniqueNetnsName } from '../helpers/netns.js';
import { buildSkipReason, runJson } from './kni-helpers.js';

const skipReason = kernelSkipReason ?? buildSkipReason;

interface DemoJson {
  ok: boolean;
  netns: string;
  configPath?: string;
  steps: Array<{ title: string; ok: boolean; detail: string; unavailable?: boolean }>;
  removal: string[];
}

function stepDetail(report: DemoJson, title: string): string | undefined {
  return report.steps.find((s) => s.title === title)?.detail;
}

function netnsExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .some((line) => line.split(' ')[0] === name);
}

describe.skipIf(skipReason !== undefined)(
  `demo command${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const created: string[] = [];

    afterEach(() => {
      for (const name of created.splice(0)) removeTestNetns(name);
    });

    it('runs every step and cleans up', () => {
      const netns = uniqueNetnsName('fkdemo');
      created.push(netns);
      const { code, json } = runJson<DemoJson>(['demo', '--netns', netns]);

      expect(json.steps.filter((s) => !s.ok)).toEqual([]);
      expect(code).toBe(0);
      expect(json.steps.map((s) => s.title)).toEqual([
        'create the sandbox network namespace',
        'create veth0 as F-Stack >= 1.25 does',
        'write f-stack.conf',
        'read the state before',
        'apply f-stack.conf',
        'read the state after',
        'explain packet steering',
        'TCP listener on 192.0.2.79:22 inside the sandbox',
        'banner read from 192.0.2.79:22 inside the sandbox',
        'ARP for 192.0.2.79 answered through veth0',
        'TCP listener on 192.0.2.79:22 reachable through veth0',
        'remove the sandbox',
      ]);
      expect(stepDetail(json, 'banner read from 192.0.2.79:22 inside the sandbox')).toBe(
        `read ${JSON.stringify('SSH-2.0-fstack-kni-demo\r\n')}`,
      );
      expect(stepDetail(json, 'TCP listener on 192.0.2.79:22 reachable through veth0')).toBe(
        'the kernel answered SYN with SYN-ACK',
      );
      expect(netnsExists(netns)).toBe(false);
      expect(existsSync(json.configPath ?? '/nonexistent')).toBe(false);
    });

    it('keeps the sandbox with --keep', () => {
      const netns = uniqueNetnsName('fkdemo');
      created.push(netns);
      const { code, json } = runJson<DemoJson>(['demo', '--netns', netns, '--keep']);

      expect(json.steps.filter((s) => !s.ok)).toEqual([]);
      expect(code).toBe(0);
      expect(netnsExists(netns)).toBe(true);
      expect(json.removal).toContain(`ip netns delete ${netns}`);
      const links = ipJson<Array<{ ifname: string; addr_info: Array<{ local: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'veth0',
      );
      expect(links[0]?.addr_info.map((a) => a.local)).toContain('192.0.2.79');
      execFileSync('rm', [
        '-r',
        json.configPath?.replace(/\/f-stack\.conf$/, '') ?? '/nonexistent-dir',
      ]);
    });

    it('refuses an existing namespace', () => {
      const netns = uniqueNetnsName('fkdemo');
      created.push(netns);
      execFileSync('ip', ['netns', 'add', netns]);
      const { code, json } = runJson<DemoJson>(['demo', '--netns', netns]);
      expect(code).toBe(1);
      expect(json.steps[0]!.detail).toContain('exists');
      expect(netnsExists(netns)).toBe(true);
    });
  },
);
