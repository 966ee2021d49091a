import { describe, expect, it } from 'vitest';
import { converge, hasPendingChanges } from '../../src/kni/converge.js';
import { desiredState } from '../../src/kni/desired.js';
import { FakeKernel } from './fake-kernel.js';
import {
  convergedRunbook,
  makeConfig,
  makeDefaultRoute,
  makeLink,
  makeLive,
  runbookPort,
} from './fixtures.js';

const runbook = desiredState(makeConfig(), { fstackVersion: '1.25' });

describe('converge', () => {
  it('applies, verifies and reports changed', async () => {
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const report = await converge(runbook, kernel.access());

    expect(report.ok).toBe(true);
    expect(report.changed).toBe(true);
    expect(report.unconverged).toEqual([]);
    expect(report.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'applied']);
    expect(report.timings.totalMs).toBeGreaterThanOrEqual(report.timings.applyMs);
  });

  it('changes nothing the second time', async () => {
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    await converge(runbook, kernel.access());
    const second = await converge(runbook, kernel.access());

    expect(second.ok).toBe(true);
    expect(second.changed).toBe(false);
    expect(second.plan.changes).toEqual([]);
    expect(kernel.batches).toHaveLength(1);
  });

  it('only plans under check', async () => {
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const before = kernel.snapshot();
    const report = await converge(runbook, kernel.access(), { check: true });

    expect(hasPendingChanges(report)).toBe(true);
    expect(report.changed).toBe(false);
    expect(report.steps).toEqual([]);
    expect(kernel.batches).toEqual([]);
    expect(kernel.state).toEqual(before);
  });

  it('touches nothing when blocked', async () => {
    const { live } = convergedRunbook();
    const eth0 = makeLink('eth0', { up: true });
    live.links.push(eth0);
    live.routes = [makeDefaultRoute(eth0, '198.51.100.1')];
    const kernel = new FakeKernel(live);

    const report = await converge(runbook, kernel.access());
    expect(report.ok).toBe(false);
    expect(report.changed).toBe(false);
    expect(report.plan.blockers.map((b) => b.code)).toEqual(['route-conflict']);
    expect(kernel.batches).toEqual([]);
  });

  it('reports what a failed rollback leaves', async () => {
    const desired = desiredState(
      makeConfig({ ports: [runbookPort(0, { gateway: '198.51.100.1' })] }),
      {
        fstackVersion: '1.25',
      },
    );
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }), {
      failWhen: (o) => (o.type === 'link-set-up' && !o.up ? 'EPERM' : undefined),
    });

    const report = await converge(desired, kernel.access());
    expect(report.ok).toBe(false);
    expect(report.rolledBack).toBe(true);
    expect(report.remaining).toEqual(['veth0 is up but was down']);
    expect(report.changed).toBe(true);
  });

  it('reports a clean rollback as unchanged', async () => {
    const desired = desiredState(
      makeConfig({ ports: [runbookPort(0, { gateway: '198.51.100.1' })] }),
      {
        fstackVersion: '1.25',
      },
    );
    const kernel = new FakeKernel(makeLive({ links: [makeLink('veth0')] }));
    const report = await converge(desired, kernel.access());
    expect(report.ok).toBe(false);
    expect(report.remaining).toEqual([]);
    expect(report.changed).toBe(false);
  });
});
