// An interface vanishes between plan and apply, as when F-Stack (>= 1.25, whose tap lives
// only while it runs) exits at the wrong moment. The converge engine's own steps are driven
// one by one: read the kernel, plan, delete veth1 with `ip`, apply. The steps on veth1 must
// fail with a clear error, everything done on veth0 must be undone, and once veth1 is back
// a new converge must succeed. `ip -j` is the oracle throughout.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/model.js';
import { applyPlan } from '../../src/kni/apply.js';
import { converge } from '../../src/kni/converge.js';
import { desiredState } from '../../src/kni/desired.js';
import { rtnlKernel } from '../../src/kni/kernel.js';
import { readLiveState, stateDifferences } from '../../src/kni/live.js';
import { planChanges } from '../../src/kni/plan.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import { ipAddresses, ipRoutes } from '../cli/kni-helpers.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

const TWO_PORTS = `[dpdk]
lcore_mask=1
port_list=0,1

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

[port1]
addr=198.51.100.79
netmask=255.255.255.0
broadcast=198.51.100.255
gateway=198.51.100.1

[kni]
enable=1
method=accept
tcp_port=22
`;

/** Returns what `ip -j` shows of one link: flags, MTU, MAC, addresses and routes (not the qdisc). */
function linkState(netns: string, name: string): string {
  const link = ipJson<Array<{ ifname: string; flags: string[]; mtu: number; address: string }>>(
    netns,
    'link',
    'show',
  ).find((candidate) => candidate.ifname === name);
  return JSON.stringify({
    flags: link?.flags,
    mtu: link?.mtu,
    mac: link?.address,
    addresses: ipAddresses(netns, name),
    routes: ipRoutes(netns, name),
  });
}

describe.skipIf(kernelSkipReason !== undefined)('interface vanishing during apply', () => {
  let netns = '';
  let nl: Rtnl;

  beforeEach(() => {
    netns = createTestNetns('fkvanish');
    ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
    ip(netns, 'tuntap', 'add', 'veth1', 'mode', 'tap');
    nl = Rtnl.open({ netns: { name: netns } });
  });

  afterEach(() => {
    nl?.close();
    removeTestNetns(netns);
  });

  it('fails clearly, undoes its own steps and converges once the interface is back', async () => {
    const desired = desiredState(parseConfig(TWO_PORTS).config, { fstackVersion: '1.25' });
    const kernel = rtnlKernel(nl);
    const before = await readLiveState(kernel.source);
    const plan = planChanges(desired, before, { netns });
    expect(plan.blockers).toEqual([]);
    expect(plan.changes.filter((change) => change.interface === 'veth1').length).toBeGreaterThan(0);
    const veth0Before = linkState(netns, 'veth0');

    ip(netns, 'link', 'delete', 'veth1');
    const outcome = await applyPlan(plan, kernel.executor, { netns });

    expect(outcome.ok).toBe(false);
    expect(outcome.rolledBack).toBe(true);
    for (const step of outcome.steps) {
      if (step.change.interface === 'veth1') {
        expect(step.status).toBe('failed');
        expect(step.error?.code).toBe('ENODEV');
        expect(step.error?.message).toMatch(/veth1.*: No such device \(ENODEV\)/);
      } else {
        expect(step.status).toBe('rolled-back');
      }
    }
    expect(outcome.steps.some((step) => step.change.interface === 'veth0')).toBe(true);

    // veth0 is exactly as before the run; the only other difference is the deleted veth1.
    expect(linkState(netns, 'veth0')).toBe(veth0Before);
    const after = await readLiveState(kernel.source);
    expect(stateDifferences(before, after, ['veth0', 'veth1'])).toEqual([
      'veth1 is gone but existed before',
    ]);

    // F-Stack starts again and creates veth1 anew: a new run converges both interfaces.
    ip(netns, 'tuntap', 'add', 'veth1', 'mode', 'tap');
    const report = await converge(desired, kernel, { netns });
    expect(report.ok).toBe(true);
    expect(report.unconverged).toEqual([]);
    expect(ipAddresses(netns, 'veth0')).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
    expect(ipAddresses(netns, 'veth1')).toEqual(['198.51.100.79/24 brd 198.51.100.255']);
    expect(ipRoutes(netns, 'veth0')).toEqual(['default via 192.0.2.1 metric 0']);
    expect(ipRoutes(netns, 'veth1')).toEqual(['default via 198.51.100.1 metric 1']);
  });

  it('reports the vanished interface through converge as a failed, fully undone run', async () => {
    const desired = desiredState(parseConfig(TWO_PORTS).config, { fstackVersion: '1.25' });
    const veth0Before = linkState(netns, 'veth0');

    // The source reads the kernel as converge does, then veth1 vanishes before the batch.
    const kernel = rtnlKernel(nl);
    let reads = 0;
    const source = {
      links: {
        list: async () => {
          const links = await nl.links.list();
          reads += 1;
          if (reads === 1) ip(netns, 'link', 'delete', 'veth1');
          return links;
        },
      },
      addresses: nl.addresses,
      routes: nl.routes,
    };

    const report = await converge(desired, { source, executor: kernel.executor }, { netns });
    expect(report.ok).toBe(false);
    expect(report.rolledBack).toBe(true);
    expect(
      report.steps
        .filter((step) => step.status === 'failed')
        .every((step) => step.change.interface === 'veth1'),
    ).toBe(true);
    expect(report.steps.some((step) => step.status === 'rollback-failed')).toBe(false);
    expect(report.remaining).toEqual(['veth1 is gone but existed before']);
    expect(linkState(netns, 'veth0')).toBe(veth0Before);
  });
});
