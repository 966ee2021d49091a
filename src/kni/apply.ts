// Executes a plan: one batch for new VLAN links, one for everything else. When a step fails,
// every step that took effect is undone with its inverse operations in reverse order.
//
// The kernel handles each message of a batch on its own, so steps after a failed one still
// run. The rollback therefore covers every step that succeeded, not only those before the
// failure.

import { hasNetAdminCapability } from '../netlink/errors.js';
import { describeOperation } from './describe.js';
import type { KernelOperation } from './operations.js';
import type { Change, Plan } from './plan.js';

/** Outcome of one kernel operation. */
export type OperationResult = { ok: true } | { ok: false; error: Error };

/** Sends kernel operations; `Rtnl` is adapted to it in kernel.ts, tests use a fake. */
export interface OperationExecutor {
  /** Sends the operations in one batch and returns one result per operation, in order. */
  execute(operations: readonly KernelOperation[]): Promise<OperationResult[]>;
}

/**
 * `applied`: took effect and stays. `failed`: the kernel rejected it. `skipped`: not sent
 * because an earlier batch failed. `rolled-back`: took effect, then was undone.
 * `rollback-failed`: took effect and could not be undone; the kernel keeps it.
 */
export type StepStatus = 'applied' | 'failed' | 'skipped' | 'rolled-back' | 'rollback-failed';

/** Error details in plain data, fit for JSON. */
export interface StepError {
  message: string;
  /** errno name such as `EEXIST`, when the error carries one. */
  code?: string;
  errno?: number;
}

export interface StepResult {
  change: Change;
  status: StepStatus;
  /** The error of the step, or of its undo for `rollback-failed`. */
  error?: StepError;
  /** For `rollback-failed`: the undo commands that did not succeed. */
  failedUndo?: string[];
}

export interface ApplyOutcome {
  /** True when every step succeeded. */
  ok: boolean;
  steps: StepResult[];
  /** True when a rollback ran. */
  rolledBack: boolean;
}

export interface ApplyOptions {
  /** Named netns, only for rendering undo commands in reports. */
  netns?: string;
}

/**
 * Applies the plan's changes. A kernel rejection becomes a `failed` step, not an exception;
 * the promise rejects only when the executor itself throws.
 */
export async function applyPlan(
  plan: Plan,
  executor: OperationExecutor,
  options: ApplyOptions = {},
): Promise<ApplyOutcome> {
  const steps: StepResult[] = plan.changes.map((change) => ({ change, status: 'skipped' }));
  const creations = steps.filter((step) => step.change.operation.type === 'link-add-vlan');
  const rest = steps.filter((step) => step.change.operation.type !== 'link-add-vlan');

  let failed = false;
  for (const batch of [creations, rest]) {
    if (batch.length === 0) continue;
    const results = await executor.execute(batch.map((step) => step.change.operation));
    batch.forEach((step, i) => {
      const result = results[i];
      if (result === undefined || !result.ok) {
        failed = true;
        step.status = 'failed';
        const error =
          result === undefined ? new Error('no result for this operation') : result.error;
        step.error = explainStepError(step.change, toStepError(error));
      } else {
        step.status = 'applied';
      }
    });
    if (failed) break;
  }

  if (!failed) return { ok: true, steps, rolledBack: false };

  await rollBack(steps, executor, options);
  return { ok: false, steps, rolledBack: true };
}

/** Undoes every applied step, last first, in one batch. */
async function rollBack(
  steps: StepResult[],
  executor: OperationExecutor,
  options: ApplyOptions,
): Promise<void> {
  const applied = steps.filter((step) => step.status === 'applied').reverse();
  const operations: KernelOperation[] = [];
  const owners: StepResult[] = [];
  for (const step of applied) {
    for (const operation of step.change.undo) {
      operations.push(operation);
      owners.push(step);
    }
  }

  const results = operations.length === 0 ? [] : await executor.execute(operations);
  const failures = new Map<StepResult, { commands: string[]; error: Error }>();
  operations.forEach((operation, i) => {
    const result = results[i];
    if (result !== undefined && (result.ok || alreadyUndone(operation, result.error))) return;
    const owner = owners[i] as StepResult;
    const error = result === undefined ? new Error('no result for this operation') : result.error;
    const entry = failures.get(owner) ?? { commands: [], error };
    entry.commands.push(
      describeOperation(operation, options.netns === undefined ? {} : { netns: options.netns }),
    );
    failures.set(owner, entry);
  });

  for (const step of applied) {
    const failure = failures.get(step);
    if (failure === undefined) {
      step.status = 'rolled-back';
    } else {
      step.status = 'rollback-failed';
      step.error = toStepError(failure.error);
      step.failedUndo = failure.commands;
    }
  }
}

/**
 * True when an undo that deletes something failed because it is already gone: the kernel
 * removes routes together with their address and link, so that state is the one wanted.
 */
function alreadyUndone(operation: KernelOperation, error: Error): boolean {
  const code = errorCode(error);
  switch (operation.type) {
    case 'route-delete':
      return code === 'ESRCH';
    case 'address-delete':
      return code === 'EADDRNOTAVAIL' || code === 'ENODEV';
    case 'link-delete':
      return code === 'ENODEV';
    default:
      return false;
  }
}

function errorCode(error: Error): string | undefined {
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function toStepError(error: Error): StepError {
  const fields = error as Error & { code?: unknown; errno?: unknown };
  return {
    message: error.message,
    ...(typeof fields.code === 'string' ? { code: fields.code } : {}),
    ...(typeof fields.errno === 'number' ? { errno: fields.errno } : {}),
  };
}

/**
 * Leads a step's error with its cause where the kernel's errno misleads. A tun/tap rejects
 * carrier changes with EPERM while no process holds it open, even from a process with
 * CAP_NET_ADMIN.
 */
function explainStepError(change: Change, error: StepError): StepError {
  if (change.kind !== 'carrier-on' || error.code !== 'EPERM' || hasNetAdminCapability() === false)
    return error;
  return {
    ...error,
    message:
      `${change.interface} rejected carrier on (EPERM): a tun/tap accepts carrier changes only while a process holds it open, ` +
      `and none holds ${change.interface}; start F-Stack, which attaches it (kernel error: ${error.message})`,
  };
}

/** True when some step's effect stays in the kernel. */
export function leftChanges(outcome: ApplyOutcome): boolean {
  return outcome.steps.some(
    (step) => step.status === 'applied' || step.status === 'rollback-failed',
  );
}
