// One converge run: read the kernel, plan, apply (unless checking), then read again to
// verify the result or to find what a rollback could not restore.
import { performance } from 'node:perf_hooks';
import { applyPlan, type StepResult } from './apply.js';
import type { DesiredState } from './desired.js';
import type { KernelAccess } from './kernel.js';
import { type LiveState, readLiveState, stateDifferences } from './live.js';
import { type Plan, planChanges } from './plan.js';

export interface ConvergeOptions {
  /** Compute and report the plan without changing anything. */
  check?: boolean;
  /** Remove addresses and routes on managed interfaces that the config does not ask for. */
  prune?: boolean;
  /** Named netns, for rendering commands (the kernel access is already bound to it). */
  netns?: string;
}

/** Milliseconds spent in each phase, measured with performance.now(). */
export interface ConvergeTimings {
  readMs: number;
  planMs: number;
  applyMs: number;
  verifyMs: number;
  totalMs: number;
}

export interface ConvergeReport {
  /** True when the kernel matches the config at the end (or, under check, could be made to). */
  ok: boolean;
  /** True when the run left the kernel different from how it found it. */
  changed: boolean;
  check: boolean;
  plan: Plan;
  /** Results per change; empty under check or when the plan is blocked. */
  steps: StepResult[];
  rolledBack: boolean;
  /** After a rollback: how the managed interfaces still differ from the state before the run. */
  remaining: string[];
  /** After a successful apply: changes a fresh plan still finds (normally none). */
  unconverged: string[];
  timings: ConvergeTimings;
}

/**
 * Runs one converge. A kernel rejection ends up in `steps`, followed by a rollback; the
 * promise rejects when reading the kernel or sending a batch fails.
 */
export async function converge(
  desired: DesiredState,
  kernel: KernelAccess,
  options: ConvergeOptions = {},
): Promise<ConvergeReport> {
  const started = performance.now();
  const planOptions = {
    prune: options.prune ?? false,
    ...(options.netns !== undefined ? { netns: options.netns } : {}),
  };

  const before = await readLiveState(kernel.source);
  const read = performance.now();
  const plan = planChanges(desired, before, planOptions);
  const planned = performance.now();

  const report: ConvergeReport = {
    ok: plan.blockers.length === 0,
    changed: false,
    check: options.check ?? false,
    plan,
    steps: [],
    rolledBack: false,
    remaining: [],
    unconverged: [],
    timings: {
      readMs: read - started,
      planMs: planned - read,
      applyMs: 0,
      verifyMs: 0,
      totalMs: 0,
    },
  };

  if (report.check || plan.blockers.length > 0 || plan.changes.length === 0) {
    report.timings.totalMs = performance.now() - started;
    return report;
  }

  const outcome = await applyPlan(
    plan,
    kernel.executor,
    options.netns === undefined ? {} : { netns: options.netns },
  );
  const applied = performance.now();
  report.steps = outcome.steps;
  report.rolledBack = outcome.rolledBack;

  const after: LiveState = await readLiveState(kernel.source);
  if (outcome.ok) {
    report.unconverged = planChanges(desired, after, planOptions).changes.map(
      (change) => change.command,
    );
    report.ok = report.unconverged.length === 0;
    report.changed = true;
  } else {
    const names = desired.interfaces.map((iface) => iface.name);
    report.remaining = stateDifferences(before, after, names);
    report.ok = false;
    report.changed = report.remaining.length > 0;
  }

  const verified = performance.now();
  report.timings.applyMs = applied - planned;
  report.timings.verifyMs = verified - applied;
  report.timings.totalMs = verified - started;
  return report;
}

/** True when a check found work to do. */
export function hasPendingChanges(report: ConvergeReport): boolean {
  return report.plan.changes.length > 0;
}
