import { describe, expect, it } from 'vitest';
import { applyPlan, leftChanges } from '../../src/kni/apply.js';
import { desiredState } from '../../src/kni/desired.js';
import { stateDifferences } from '../../src/kni/live.js';
import { planChanges } from '../../src/kni/plan.js';
import { hasNetAdminCapability } from '../../src/netlink/errors.js';
import { FakeKernel } from './fake-kernel.js';
import {
  convergedRunbook,
  makeAddress,
  makeConfig,
  makeLink,
  makeLive,
  runbookPort,
} from './fixtures.js';

const runbook = desiredState(makeConfig(), { fstackVersion: '1.25' });

describe('applyPlan', () => {
  it('converges a fresh tap in one batch', async () => {
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const plan = planChanges(runbook, kernel.state);

    const outcome = await applyPlan(plan, kernel);
    expect(outcome.ok).toBe(true);
    expect(outcome.rolledBack).toBe(false);
    expect(outcome.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'applied']);
    expect(kernel.batches).toHaveLength(1);
    expect(leftChanges(outcome)).toBe(true);

    expect(planChanges(runbook, kernel.state).changes).toEqual([]);
  });

  it('is a no-op the second time', async () => {
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    await applyPlan(planChanges(runbook, kernel.state), kernel);

    const second = await applyPlan(planChanges(runbook, kernel.state), kernel);
    expect(second.steps).toEqual([]);
    expect(leftChanges(second)).toBe(false);
    expect(kernel.batches).toHaveLength(1);
  });

  it('rolls back when the gateway route is rejected', async () => {
    const desired = desiredState(
      makeConfig({ ports: [runbookPort(0, { gateway: '198.51.100.1' })] }),
      {
        fstackVersion: '1.25',
      },
    );
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const before = kernel.snapshot();

    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    expect(outcome.ok).toBe(false);
    expect(outcome.rolledBack).toBe(true);
    expect(outcome.steps.map((s) => [s.change.kind, s.status])).toEqual([
      ['link-up', 'rolled-back'],
      ['add-address', 'rolled-back'],
      ['add-route', 'failed'],
    ]);
    expect(outcome.steps[2]!.error).toMatchObject({ code: 'ENETUNREACH', errno: 101 });
    expect(leftChanges(outcome)).toBe(false);
    expect(stateDifferences(before, kernel.state, ['veth0'])).toEqual([]);

    // The undo batch runs the inverse operations last step first.
    expect(kernel.batches[1]!.map((o) => o.type)).toEqual(['address-delete', 'link-set-up']);
  });

  it('rolls back steps after the failed one too', async () => {
    const port = runbookPort(0, { addr6: '2001:db8::79', gateway6: '2001:db8::1' });
    const desired = desiredState(makeConfig({ ports: [port] }), { fstackVersion: '1.25' });
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }), {
      failWhen: (o) =>
        o.type === 'address-add' &&
        o.address.family === undefined &&
        o.address.address === '192.0.2.79'
          ? 'EADDRNOTAVAIL'
          : undefined,
    });
    const before = kernel.snapshot();

    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    const statuses = Object.fromEntries(outcome.steps.map((s) => [s.change.command, s.status]));
    expect(statuses).toEqual({
      'ip link set veth0 up': 'rolled-back',
      'ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0': 'failed',
      'ip address add 2001:db8::79/64 dev veth0': 'rolled-back',
      'ip route add default via 192.0.2.1 dev veth0 metric 0': 'failed',
      'ip -6 route add default via 2001:db8::1 dev veth0 metric 1024': 'rolled-back',
    });
    expect(stateDifferences(before, kernel.state, ['veth0'])).toEqual([]);
  });

  it('restores a replaced broadcast and its route', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' })];
    const kernel = new FakeKernel(live, {
      failWhen: (o) =>
        o.type === 'route-replace' && o.route.metric === 0 && kernel.batches.length === 1
          ? 'ENOBUFS'
          : undefined,
    });
    const before = kernel.snapshot();

    const outcome = await applyPlan(planChanges(runbook, kernel.state), kernel);
    expect(outcome.ok).toBe(false);
    expect(outcome.steps.map((s) => s.status)).toEqual(['rolled-back', 'rolled-back', 'failed']);
    expect(stateDifferences(before, kernel.state, ['veth0'])).toEqual([]);
  });

  it('repairs a wrong broadcast and keeps the route', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' })];
    const kernel = new FakeKernel(live);

    const outcome = await applyPlan(planChanges(runbook, kernel.state), kernel);
    expect(outcome.ok).toBe(true);
    expect(planChanges(runbook, kernel.state).changes).toEqual([]);
    expect(kernel.state.routes.some((r) => r.prefixLength === 0 && r.gateway === '192.0.2.1')).toBe(
      true,
    );
  });

  it('prunes a stale IP and restores it on failure', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' })];
    const ok = new FakeKernel(structuredClone(live));
    const pruned = await applyPlan(planChanges(runbook, ok.state, { prune: true }), ok);
    expect(pruned.ok).toBe(true);
    expect(ok.state.addresses.map((a) => a.address)).toEqual(['192.0.2.79']);
    expect(planChanges(runbook, ok.state, { prune: true }).changes).toEqual([]);

    const failing = new FakeKernel(structuredClone(live), {
      failWhen: (o) =>
        o.type === 'route-replace' && failing.batches.length === 1 ? 'ENOBUFS' : undefined,
    });
    const before = failing.snapshot();
    const outcome = await applyPlan(planChanges(runbook, failing.state, { prune: true }), failing);
    expect(outcome.ok).toBe(false);
    expect(stateDifferences(before, failing.state, ['veth0'])).toEqual([]);
  });

  it('stops before the rest when a VLAN cannot be created', async () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
    };
    const desired = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }), {
      vlanSupported: false,
    });

    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    expect(outcome.ok).toBe(false);
    expect(outcome.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'EOPNOTSUPP', message: 'Unknown device type' },
    });
    expect(outcome.steps.slice(1).every((s) => s.status === 'skipped')).toBe(true);
    expect(kernel.batches).toHaveLength(1);
  });

  it('creates a VLAN in its own batch', async () => {
    const vlan = {
      vlanId: 10,
      portId: 0,
      addr: '203.0.113.5',
      netmask: '255.255.255.0',
      broadcast: '203.0.113.255',
    };
    const desired = desiredState(makeConfig({ vlans: [vlan] }), { fstackVersion: '1.25' });
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));

    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    expect(outcome.ok).toBe(true);
    expect(kernel.batches.map((b) => b.length)).toEqual([1, 5]);
    expect(planChanges(desired, kernel.state).changes).toEqual([]);
  });

  it('reports an undo that fails', async () => {
    const desired = desiredState(
      makeConfig({ ports: [runbookPort(0, { gateway: '198.51.100.1' })] }),
      {
        fstackVersion: '1.25',
      },
    );
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }), {
      failWhen: (o) => (o.type === 'link-set-up' && !o.up ? 'EPERM' : undefined),
    });

    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel, { netns: 'lab' });
    expect(outcome.steps[0]).toMatchObject({
      status: 'rollback-failed',
      error: { code: 'EPERM' },
      failedUndo: ['ip -n lab link set veth0 down'],
    });
    expect(leftChanges(outcome)).toBe(true);
  });

  it('fails the carrier step on a tap', async () => {
    const desired = desiredState(makeConfig(), { fstackVersion: '1.23' });
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    expect(outcome.steps[1]).toMatchObject({
      change: { kind: 'carrier-on' },
      status: 'failed',
      error: { code: 'EPERM' },
    });
    expect(kernel.state.links[0]!.up).toBe(false);
  });

  it('leads a tap carrier error with its cause', async () => {
    const desired = desiredState(makeConfig(), { fstackVersion: '1.23' });
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const outcome = await applyPlan(planChanges(desired, kernel.state), kernel);
    const message = outcome.steps[1]!.error!.message;

    if (hasNetAdminCapability() === false) {
      expect(message).not.toContain('holds it open');
    } else {
      expect(message).toMatch(
        /^veth0 rejected carrier on \(EPERM\): a tun\/tap accepts carrier changes only while a process holds it open/,
      );
    }
  });
});

describe('applyPlan with IPv4 secondaries', () => {
  it('keeps a drift secondary when fixing the primary', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' }),
      makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255', flags: 0x81 }),
    ];
    const kernel = new FakeKernel(live);

    const outcome = await applyPlan(planChanges(runbook, kernel.state), kernel);
    expect(outcome.ok).toBe(true);
    expect(kernel.state.addresses.map((a) => a.address).sort()).toEqual([
      '192.0.2.50',
      '192.0.2.79',
    ]);
    expect(planChanges(runbook, kernel.state).changes).toEqual([]);
  });

  it('restores secondaries on rollback', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' }),
      makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255', flags: 0x81 }),
    ];
    const kernel = new FakeKernel(live, {
      failWhen: (o) =>
        o.type === 'route-replace' && kernel.batches.length === 1 ? 'ENOBUFS' : undefined,
    });
    const before = kernel.snapshot();

    const outcome = await applyPlan(planChanges(runbook, kernel.state), kernel);
    expect(outcome.ok).toBe(false);
    expect(stateDifferences(before, kernel.state, ['veth0'])).toEqual([]);
  });

  it('prunes a primary and keeps the desired secondary', async () => {
    const { link, live } = convergedRunbook();
    live.addresses = [
      makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' }),
      makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.255', flags: 0x81 }),
    ];
    const kernel = new FakeKernel(live);
    const outcome = await applyPlan(planChanges(runbook, kernel.state, { prune: true }), kernel);
    expect(outcome.ok).toBe(true);
    expect(kernel.state.addresses.map((a) => a.address)).toEqual(['192.0.2.79']);
    expect(planChanges(runbook, kernel.state, { prune: true }).changes).toEqual([]);
  });
});
