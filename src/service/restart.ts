// The runbook's restart step as one operation: restart the F-Stack unit over D-Bus, wait for
// its veth<N> interfaces to come back, and converge them.
//
// Order matters. The link subscription exists before RestartUnit is sent, so an interface
// that comes back before the job reply is still seen. The wait accepts only a link the
// baseline did not have, so the old interface, still visible for a moment, never counts.
import { performance } from 'node:perf_hooks';
import { type ConvergeReport, converge } from '../kni/converge.js';
import type { DesiredState } from '../kni/desired.js';
import { rtnlKernel } from '../kni/kernel.js';
import type { Rtnl } from '../rtnl/index.js';
import { SystemdError } from './errors.js';
import type { JobOutcome } from './jobs.js';
import { DEFAULT_TIMEOUT_MS, type SystemdManager } from './manager.js';
import type { UnitState } from './unit-state.js';
import { type LinkAppearance, LinkAppearanceTracker } from './wait-link.js';

/** The unit the runbook restarts: the site's unit running the F-Stack application. */
export const DEFAULT_FSTACK_UNIT = 'fstack_ha.service';

/** How often the unit's state is read while its interfaces are awaited, in ms. */
const UNIT_CHECK_INTERVAL_MS = 250;

export interface RestartOptions {
  /** Connected systemd manager; the caller closes it. */
  manager: SystemdManager;
  /** rtnetlink handle in the namespace of the F-Stack interfaces; the caller closes it. */
  nl: Rtnl;
  /** Unit to restart; fstack_ha.service unless set. */
  unit?: string;
  /**
   * Desired state of the interfaces. Without it, the unit is only restarted: nothing is
   * waited for and nothing applied (as after `[kni] enable=0`).
   */
  desired?: DesiredState;
  /** Converge after the interfaces came back (default true); false only waits for them. */
  apply?: boolean;
  /** Passed to converge: remove addresses and routes f-stack.conf does not ask for. */
  prune?: boolean;
  /** Named netns, for messages and rendered commands. */
  netns?: string;
  /** Limit in ms for the restart job and the wait for the interfaces together; 90 000 unless set. */
  timeoutMs?: number;
}

/** Milliseconds of each phase, measured with performance.now(). */
export interface RestartTimings {
  /** From sending RestartUnit to its JobRemoved signal. */
  restartJobMs: number;
  /** From the job's end to the last interface being back; 0 when all were back before. */
  jobToInterfacesMs: number;
  /** Converge (read, plan, apply, verify); 0 when not run. */
  applyMs: number;
  /** From the job's end to the end of the converge: the interfaces are configured; 0 when not run. */
  jobToConfiguredMs: number;
  /** From the start of the operation to its end. */
  totalMs: number;
}

/** One interface that came back, with its timing relative to the job's end. */
export interface InterfaceReturn extends Omit<LinkAppearance, 'appearedAt'> {
  /** Milliseconds from the job's end to the appearance; negative when it came back before. */
  afterJobMs: number;
}

/**
 * Cause of a failed restart: the job ended other than `done` (`job-failed`), the unit
 * stopped or failed before its interfaces came back (`unit-stopped`), or the converge failed.
 */
export type RestartFailure = 'job-failed' | 'unit-stopped' | 'apply-failed';

export interface RestartReport {
  /** True when the job succeeded and, when applied, the interfaces converged. */
  ok: boolean;
  failure?: RestartFailure;
  unit: string;
  job: JobOutcome;
  /** The unit's state after a `job-failed` or `unit-stopped` failure. */
  unitState?: UnitState;
  interfaces: InterfaceReturn[];
  /** The converge run; undefined when the job failed, with apply false or without desired. */
  converge?: ConvergeReport;
  timings: RestartTimings;
}

/**
 * Restarts the unit, waits for the port interfaces of `desired` to come back and converges
 * them, as `systemctl restart UNIT`, then `ip a` until veth<N> shows up, then
 * `fstack-kni apply` do. A job that ends other than `done`, or a unit that stops before
 * its interfaces come back, resolves with `ok: false` and the unit state. Rejects with
 * SystemdError (ENOSUCHUNIT, ETIMEDOUT for the job, ...) or
 * LinkWaitError when the interfaces did not come back within the time limit.
 */
export async function restartAndConverge(options: RestartOptions): Promise<RestartReport> {
  const started = performance.now();
  const unit = options.unit ?? DEFAULT_FSTACK_UNIT;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const names = portInterfaceNames(options.desired);
  const netnsLabel =
    options.netns === undefined ? 'this network namespace' : `netns ${options.netns}`;

  const tracker =
    names.length === 0
      ? undefined
      : await LinkAppearanceTracker.start(options.nl, names, { netnsLabel });
  try {
    const job = await restartJob(options.manager, unit, deadline, timeoutMs);
    const jobDone = performance.now();
    const timings: RestartTimings = {
      restartJobMs: job.durationMs,
      jobToInterfacesMs: 0,
      applyMs: 0,
      jobToConfiguredMs: 0,
      totalMs: 0,
    };

    if (job.result !== 'done') {
      const unitState = await options.manager.unitState(unit);
      timings.totalMs = performance.now() - started;
      return { ok: false, failure: 'job-failed', unit, job, unitState, interfaces: [], timings };
    }
    if (tracker === undefined || options.desired === undefined) {
      timings.totalMs = performance.now() - started;
      return { ok: true, unit, job, interfaces: [], timings };
    }

    const waited = await waitForInterfaces(tracker, options.manager, unit, deadline);
    if ('unitState' in waited) {
      timings.totalMs = performance.now() - started;
      return {
        ok: false,
        failure: 'unit-stopped',
        unit,
        job,
        unitState: waited.unitState,
        interfaces: [],
        timings,
      };
    }
    const appearances = waited.appearances;
    tracker.close();
    const interfaces = appearances.map(({ appearedAt, ...rest }) => ({
      ...rest,
      afterJobMs: appearedAt - jobDone,
    }));
    timings.jobToInterfacesMs = Math.max(0, ...interfaces.map((iface) => iface.afterJobMs));

    if (options.apply === false) {
      timings.totalMs = performance.now() - started;
      return { ok: true, unit, job, interfaces, timings };
    }

    const report = await converge(options.desired, rtnlKernel(options.nl), {
      ...(options.prune === undefined ? {} : { prune: options.prune }),
      ...(options.netns === undefined ? {} : { netns: options.netns }),
    });
    const configured = performance.now();
    timings.applyMs = report.timings.totalMs;
    timings.jobToConfiguredMs = configured - jobDone;
    timings.totalMs = configured - started;
    return {
      ok: report.ok,
      ...(report.ok ? {} : { failure: 'apply-failed' as const }),
      unit,
      job,
      interfaces,
      converge: report,
      timings,
    };
  } finally {
    tracker?.close();
  }
}

/**
 * Names of the interfaces F-Stack itself creates (one per port). VLAN interfaces are left
 * out: converge creates them.
 */
export function portInterfaceNames(desired: DesiredState | undefined): string[] {
  if (desired === undefined) return [];
  return desired.interfaces
    .filter((iface) => iface.vlanId === undefined)
    .map((iface) => iface.name);
}

/**
 * Waits for the interfaces, and reads the unit's state meanwhile: a unit that failed or
 * exited (F-Stack dying at start) ends the wait at once instead of at the time limit.
 */
async function waitForInterfaces(
  tracker: LinkAppearanceTracker,
  manager: SystemdManager,
  unit: string,
  deadline: number,
): Promise<{ appearances: LinkAppearance[] } | { unitState: UnitState }> {
  let timer: NodeJS.Timeout | undefined;
  let checking = true;
  const stopped = new Promise<{ unitState: UnitState }>((resolve) => {
    const check = async (): Promise<void> => {
      try {
        const state = await manager.unitState(unit, {
          timeoutMs: Math.min(5000, remaining(deadline)),
        });
        if (state.activeState === 'failed' || state.activeState === 'inactive') {
          resolve({ unitState: state });
          return;
        }
      } catch {
        // An unreadable state tells nothing about the interfaces, so the wait goes on.
      }
      if (checking) timer = setTimeout(() => void check(), UNIT_CHECK_INTERVAL_MS);
    };
    timer = setTimeout(() => void check(), UNIT_CHECK_INTERVAL_MS);
  });

  try {
    return await Promise.race([
      tracker.waitForAll(remaining(deadline)).then((appearances) => ({ appearances })),
      stopped,
    ]);
  } finally {
    checking = false;
    clearTimeout(timer);
  }
}

// Runs the job within what is left of the time limit. A timeout error names the whole limit.
async function restartJob(
  manager: SystemdManager,
  unit: string,
  deadline: number,
  timeoutMs: number,
): Promise<JobOutcome> {
  try {
    return await manager.restartUnit(unit, { timeoutMs: remaining(deadline) });
  } catch (error) {
    if (!(error instanceof SystemdError && error.code === 'ETIMEDOUT' && error.job !== undefined))
      throw error;
    throw new SystemdError(
      'ETIMEDOUT',
      `the restart of ${unit} did not finish within the limit of ${timeoutMs} ms: job ${error.job} still runs ` +
        '(it was not canceled)',
      {
        unit,
        job: error.job,
        operation: 'RestartUnit',
        ...(error.errno === undefined ? {} : { errno: error.errno }),
        cause: error,
      },
    );
  }
}

function remaining(deadline: number): number {
  return Math.max(1, Math.ceil(deadline - performance.now()));
}
