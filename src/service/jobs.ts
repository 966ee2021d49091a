// Queueing systemd jobs and waiting for their JobRemoved signal.
//
// Order matters: the JobRemoved match and Manager.Subscribe are in place before the job is
// queued, so the signal cannot be missed. A JobRemoved that arrives before the reply naming
// the job (systemd does not promise the order) is kept until the reply comes.
import { performance } from 'node:perf_hooks';
import type { NativeBusSignal } from '../native/native-bus.js';
import type { DBusConnection } from './bus.js';
import { DBusErrorName, SystemdError } from './errors.js';

export const MANAGER_PATH = '/org/freedesktop/systemd1';
export const MANAGER_INTERFACE = 'org.freedesktop.systemd1.Manager';

/**
 * Outcome of a job, from the JobRemoved signal (org.freedesktop.systemd1(5)): done, canceled
 * (another job replaced it), timeout (JobTimeoutSec= passed), failed (the unit failed),
 * dependency (a required unit failed), skipped (nothing to do, e.g. reload of an inactive
 * unit), and on newer systemd more values, passed through unchanged.
 */
export type JobResult =
  | 'done'
  | 'canceled'
  | 'timeout'
  | 'failed'
  | 'dependency'
  | 'skipped'
  | 'invalid'
  | 'assert'
  | 'unsupported'
  | 'collected'
  | 'once'
  | (string & {});

/** Manager methods that queue a job for one unit with a (name, mode) signature. */
export type JobMethod = 'StartUnit' | 'StopUnit' | 'RestartUnit';

/** Queueing mode of a job (the `--job-mode` of systemctl). systemd's default is replace. */
export type JobMode =
  | 'replace'
  | 'fail'
  | 'isolate'
  | 'ignore-dependencies'
  | 'ignore-requirements';

export const JOB_MODES: readonly JobMode[] = [
  'replace',
  'fail',
  'isolate',
  'ignore-dependencies',
  'ignore-requirements',
];

/** A finished job. */
export interface JobOutcome {
  unit: string;
  /** Job object path, e.g. /org/freedesktop/systemd1/job/42. */
  job: string;
  result: JobResult;
  /** Time from sending the request to receiving JobRemoved, in ms. */
  durationMs: number;
}

export interface JobRequest {
  method: JobMethod;
  unit: string;
  mode: JobMode;
  /** performance.now() value by which the job must have ended. */
  deadline: number;
  /** The full time limit in ms, for messages. */
  timeoutMs: number;
}

interface JobRemoved {
  unit: string;
  result: string;
}

interface Waiter {
  resolve(removed: JobRemoved): void;
  reject(error: SystemdError): void;
}

const JOB_VERBS: Record<JobMethod, string> = {
  StartUnit: 'start',
  StopUnit: 'stop',
  RestartUnit: 'restart',
};

/** Runs jobs on one connection; create one per connection. */
export class JobRunner {
  readonly #bus: DBusConnection;
  #subscribed: Promise<void> | undefined;
  readonly #waiters = new Map<string, Waiter>();
  // Count of job requests whose reply (the job path) has not arrived yet, and the
  // JobRemoved signals without a waiter that arrived meanwhile.
  #queueing = 0;
  readonly #unclaimed = new Map<string, JobRemoved>();

  constructor(bus: DBusConnection) {
    this.#bus = bus;
    bus.onDisconnect((error) => this.#rejectAll(error));
  }

  /**
   * Queues the job and resolves when systemd removed it, with its result. Rejects with
   * SystemdError ETIMEDOUT at the deadline (the job is not canceled), or with the error of
   * the request (ENOSUCHUNIT, EDBUS, EDISCONNECTED).
   */
  async run(request: JobRequest): Promise<JobOutcome> {
    const { method, unit, mode } = request;
    await this.#subscribe(request);

    const started = performance.now();
    this.#queueing += 1;
    let job: string;
    try {
      const [path] = await this.#bus.call(
        MANAGER_PATH,
        MANAGER_INTERFACE,
        method,
        'ss',
        [unit, mode],
        {
          unit,
          timeoutMs: remainingMs(request),
        },
      );
      if (typeof path !== 'string') {
        throw new SystemdError('EDBUS', `${method} for ${unit} returned no job path`, {
          unit,
          operation: method,
        });
      }
      job = path;
    } finally {
      this.#queueing -= 1;
    }

    const early = this.#unclaimed.get(job);
    this.#unclaimed.delete(job);
    if (this.#queueing === 0) this.#unclaimed.clear();

    const removed = early ?? (await this.#waitForRemoval(job, request));
    return { unit, job, result: removed.result, durationMs: performance.now() - started };
  }

  // Installs the JobRemoved match, then calls Manager.Subscribe (systemd only sends job
  // signals on a bus to subscribed clients; direct connections always get them). Runs once
  // per connection; a failure lets the next job try again. The AddMatch reply is bounded
  // by sd-bus's default reply timeout (25 s), not by the request's deadline.
  #subscribe(request: JobRequest): Promise<void> {
    this.#subscribed ??= (async () => {
      const rule = [
        "type='signal'",
        ...(this.#bus.direct ? [] : ["sender='org.freedesktop.systemd1'"]),
        `path='${MANAGER_PATH}'`,
        `interface='${MANAGER_INTERFACE}'`,
        "member='JobRemoved'",
      ].join(',');
      const removeMatch = await this.#bus.addMatch(rule, (signal) => this.#onJobRemoved(signal));

      try {
        await this.#bus.call(MANAGER_PATH, MANAGER_INTERFACE, 'Subscribe', '', [], {
          timeoutMs: remainingMs(request),
        });
      } catch (error) {
        if (error instanceof SystemdError && error.dbusError === DBusErrorName.AlreadySubscribed)
          return;
        removeMatch();
        throw error;
      }
    })().catch((error: unknown) => {
      this.#subscribed = undefined;
      throw error;
    });
    return this.#subscribed;
  }

  #waitForRemoval(job: string, request: JobRequest): Promise<JobRemoved> {
    const { method, unit, timeoutMs } = request;

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(job);
        reject(
          new SystemdError(
            'ETIMEDOUT',
            `timed out after ${timeoutMs} ms waiting for job ${job} (${JOB_VERBS[method]} ${unit}); ` +
              'the job was not canceled and may still run',
            { unit, job, operation: method },
          ),
        );
      }, remainingMs(request));

      this.#waiters.set(job, {
        resolve: (removed) => {
          clearTimeout(timer);
          resolve(removed);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(
            new SystemdError(
              error.code,
              `${JOB_VERBS[method]} ${unit} (job ${job}): ${error.message}`,
              {
                unit,
                job,
                operation: method,
                ...(error.errno === undefined ? {} : { errno: error.errno }),
                cause: error,
              },
            ),
          );
        },
      });
    });
  }

  #onJobRemoved(signal: NativeBusSignal): void {
    // JobRemoved(u id, o job, s unit, s result)
    const [, job, unit, result] = signal.values;
    if (typeof job !== 'string' || typeof unit !== 'string' || typeof result !== 'string') return;

    const waiter = this.#waiters.get(job);
    if (waiter !== undefined) {
      this.#waiters.delete(job);
      waiter.resolve({ unit, result });
    } else if (this.#queueing > 0) {
      this.#unclaimed.set(job, { unit, result });
    }
  }

  /** Rejects every job wait with `error`; used when the connection is closed. */
  cancelAll(error: SystemdError): void {
    this.#rejectAll(error);
  }

  #rejectAll(error: SystemdError): void {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}

/** Milliseconds left until the request's deadline, at least 1. */
export function remainingMs(request: Pick<JobRequest, 'deadline'>): number {
  return Math.max(1, Math.ceil(request.deadline - performance.now()));
}
