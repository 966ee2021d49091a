// The watch reconciler: keeps the runbook's loop closed after every F-Stack restart and
// every drift, without anybody running a command.
//
// It subscribes to link, address and route notifications of one namespace and converges
// the managed interfaces when one appears or drifts from f-stack.conf. Notifications that
// arrive close together are handled in one pass, and a notification that arrives during a
// pass makes another pass run after it, so nothing is missed. After lost notifications
// (ENOBUFS) the subscription dumps the state again, and a pass follows. The config is
// reloaded on request (SIGHUP in the CLI) and when the file changes.
import { performance } from 'node:perf_hooks';
import type { LoadedConfig } from '../config/model.js';
import { type ConvergeReport, converge } from '../kni/converge.js';
import type { DesiredOptions, DesiredState } from '../kni/desired.js';
import { type KernelAccess, rtnlKernel } from '../kni/kernel.js';
import { Rtnl, type RtnlEvent, type Subscription } from '../rtnl/index.js';
import type { BusTarget } from './bus.js';
import { ConfigSource, type ReloadOutcome } from './watch-config.js';
import { ManagedInterfaces } from './watch-events.js';
import type { LogRecord, WatchLogger } from './watch-log.js';
import { type RetiredObject, removeRetired, retiredObjects } from './watch-retire.js';
import { observeUnitJobs, type UnitJobEnd, type UnitJobObserver } from './watch-unit.js';

export interface WatchOptions {
  /** f-stack.conf to follow. */
  configPath: string;
  /** F-Stack version whose rules apply; the config module's default unless set. */
  fstackVersion?: string;
  /** Builds the desired-state options for each loaded config. */
  desiredOptions(loaded: LoadedConfig): DesiredOptions;
  /** Named netns of the interfaces; the current namespace unless set. */
  netns?: string;
  /** Remove addresses and routes on managed interfaces that f-stack.conf does not ask for. */
  prune?: boolean;
  /** F-Stack's unit: its job ends are logged, and timed against the configured state. */
  unit?: string;
  /** systemd to ask about `unit`; 'system' unless set. */
  bus?: BusTarget;
  log: WatchLogger;
  /** Receive buffer of the event socket in bytes (the library's 4 MiB unless set). */
  receiveBuffer?: number;
  /**
   * Delay in ms that collects a burst of notifications into one pass. Unless set, 0: the pass
   * starts once the notifications already received in this turn of the event loop are read.
   */
  debounceMs?: number;
}

/** Delays of the retries after a failed or blocked pass: from the first up to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 30_000;

/** How long stop() lets a running pass finish before closing its socket. */
const STOP_GRACE_MS = 5000;

interface PendingAppearance {
  index: number;
  /** performance.now() when the link notification was received. */
  at: number;
}

/** A running watch reconciler. */
export class KniWatcher {
  readonly #options: WatchOptions;
  readonly #config: ConfigSource;
  readonly #nl: Rtnl;
  readonly #kernel: KernelAccess;
  readonly #managed = new ManagedInterfaces();
  readonly #log: WatchLogger;
  #subscription: Subscription | undefined;
  #unitObserver: UnitJobObserver | undefined;

  // Pass scheduling: a pass is due (`#dirty`), waiting for the burst to end (`#debounce`),
  // or running (`#running`).
  #dirty = false;
  #triggers = new Set<string>();
  #debounce: { cancel(): void } | undefined;
  #running: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_FIRST_MS;
  #resyncTimer: NodeJS.Timeout | undefined;

  readonly #appearances = new Map<string, PendingAppearance>();
  readonly #lastConfigured = new Map<string, number>();
  #lastJobEnd: UnitJobEnd | undefined;
  #retired: RetiredObject[] = [];
  #missing = '';
  #stopped = false;
  #early: RtnlEvent[] | undefined = [];
  readonly #done: Promise<void>;
  #resolveDone: () => void = () => undefined;

  private constructor(options: WatchOptions, config: ConfigSource, nl: Rtnl) {
    this.#options = options;
    this.#config = config;
    this.#nl = nl;
    this.#kernel = rtnlKernel(nl);
    this.#log = options.log;
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /**
   * Loads the config, opens the rtnetlink handle, subscribes, dumps the links and starts
   * the first pass. Rejects when the config is invalid (there is no last good one yet) or
   * the namespace cannot be opened. A failing systemd connection is only logged.
   */
  static async start(options: WatchOptions): Promise<KniWatcher> {
    const config = await ConfigSource.open({
      path: options.configPath,
      desiredOptions: options.desiredOptions,
      ...(options.fstackVersion === undefined ? {} : { fstackVersion: options.fstackVersion }),
    });
    const nl = Rtnl.open(options.netns === undefined ? {} : { netns: { name: options.netns } });
    const watcher = new KniWatcher(options, config, nl);
    try {
      await watcher.#begin();
    } catch (error) {
      watcher.#subscription?.close();
      config.close();
      nl.close();
      throw error;
    }
    return watcher;
  }

  /** Resolves once stop() has finished. */
  get stopped(): Promise<void> {
    return this.#done;
  }

  /** Reloads f-stack.conf now, as SIGHUP does. */
  reload(): Promise<void> {
    return this.#config.reload('SIGHUP');
  }

  /**
   * Stops watching: closes the file watch, the systemd connection and the subscription,
   * lets a running pass finish (up to 5 s), then closes the rtnetlink handle. Safe to call twice.
   */
  async stop(reason = 'stop requested'): Promise<void> {
    if (this.#stopped) return this.#done;
    this.#stopped = true;
    this.#debounce?.cancel();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#resyncTimer);
    this.#config.close();
    this.#unitObserver?.close();
    this.#subscription?.close();

    if (this.#running !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#running,
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS))),
      ]);
      clearTimeout(timer);
    }
    this.#nl.close();
    this.#emit({ level: 'info', event: 'stop', reason });
    this.#resolveDone();
    return this.#done;
  }

  async #begin(): Promise<void> {
    const current = this.#config.current;
    this.#managed.setDesired(current.desired, this.#options.prune ?? false);

    this.#subscription = this.#nl.subscribe(
      { links: true, addresses: true, routes: true },
      (event) => this.#onEvent(event),
      this.#options.receiveBuffer === undefined
        ? {}
        : { receiveBuffer: this.#options.receiveBuffer },
    );
    this.#managed.reset(await this.#nl.links.list());
    await this.#config.watchFile((outcome) => this.#configReloaded(outcome));
    if (this.#options.unit !== undefined) await this.#observeUnit(this.#options.unit);

    this.#emit({
      level: 'info',
      event: 'start',
      config: this.#options.configPath,
      fstackVersion: current.desired?.fstackVersion ?? current.loaded.version,
      netns: this.#options.netns ?? null,
      interfaces: this.#managed.names(),
      ...(this.#options.unit === undefined ? {} : { unit: this.#options.unit }),
    });
    if (current.desired === undefined) this.#kniDisabledNotice();

    // Notifications received while starting, in kernel order, on top of the dump.
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const event of early) this.#onEvent(event);
    this.#schedule('start');
  }

  async #observeUnit(unit: string): Promise<void> {
    try {
      this.#unitObserver = await observeUnitJobs(
        this.#options.bus ?? 'system',
        unit,
        (end) => this.#unitJobEnded(end),
        (error) =>
          this.#emit({ level: 'warn', event: 'unit-watch-lost', unit, error: error.message }),
      );
    } catch (error) {
      this.#emit({
        level: 'warn',
        event: 'unit-watch-failed',
        unit,
        error: (error as Error).message,
        note: 'job ends of the unit are not logged; interfaces are still watched',
      });
    }
  }

  #emit(record: LogRecord): void {
    if (this.#stopped && record.event !== 'stop') return;
    this.#log(record);
  }

  #onEvent(event: RtnlEvent): void {
    if (this.#stopped) return;
    if (this.#early !== undefined) {
      this.#early.push(event);
      return;
    }
    const now = performance.now();

    switch (event.kind) {
      case 'overflow':
        this.#emit({
          level: 'warn',
          event: 'overflow',
          note: 'the kernel dropped notifications (ENOBUFS); dumping the state again',
        });
        return;
      case 'resync': {
        const before = new Map(
          this.#managed.names().map((name) => [name, this.#managed.link(name)?.index]),
        );
        this.#managed.reset(event.links ?? []);
        this.#emit({
          level: 'info',
          event: 'resync',
          links: event.links?.length ?? 0,
          addresses: event.addresses?.length ?? 0,
          routes: event.routes?.length ?? 0,
        });
        this.#noteAppearancesAfterResync(before, now);
        this.#schedule('resync');
        return;
      }
      case 'error':
        this.#emit({
          level: 'error',
          event: 'subscription-error',
          error: event.error.message,
          note: 'dumping the state again in 1 s',
        });
        this.#resyncLater();
        return;
      case 'neighbour':
        return;
      default:
        break;
    }

    const classified = this.#managed.classify(event);
    if (classified === undefined) return;
    const { interface: name, effect, ...fields } = classified;
    this.#emit({ level: 'info', event: classified.kind, interface: name, ...fields, effect });

    if (effect === 'appeared') {
      this.#appearances.set(name, { index: classified.index, at: now });
      this.#schedule(`${name} appeared`);
    } else if (effect === 'vanished') {
      this.#appearances.delete(name);
    } else if (effect === 'drift') {
      this.#schedule(`${name} drifted`);
    }
  }

  // Links that came back while notifications were lost count as appeared at the resync,
  // because their notification time is unknown.
  #noteAppearancesAfterResync(before: ReadonlyMap<string, number | undefined>, now: number): void {
    for (const name of this.#managed.names()) {
      const link = this.#managed.link(name);
      if (link === undefined) this.#appearances.delete(name);
      else if (link.index !== before.get(name))
        this.#appearances.set(name, { index: link.index, at: now });
    }
  }

  #resyncLater(): void {
    if (this.#resyncTimer !== undefined) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      void this.#subscription?.resync();
    }, 1000);
  }

  #unitJobEnded(end: UnitJobEnd): void {
    this.#lastJobEnd = end;
    this.#emit({
      level: end.result === 'done' ? 'info' : 'warn',
      event: 'unit-job',
      unit: end.unit,
      job: end.job,
      result: end.result,
    });
  }

  #configReloaded(outcome: ReloadOutcome): void {
    if (this.#stopped) return;
    if (outcome.status === 'unchanged') return;
    if (outcome.status === 'invalid') {
      const details = (outcome.error as { details?: unknown }).details;
      this.#emit({
        level: 'error',
        event: 'config-invalid',
        reason: outcome.reason,
        error: outcome.error.message.split('\n')[0],
        ...(Array.isArray(details) ? { details } : {}),
        note: 'keeping the last good config',
      });
      return;
    }

    const { previous, config } = outcome;
    this.#retired.push(...retiredObjects(previous.desired, config.desired));
    this.#managed.setDesired(config.desired, this.#options.prune ?? false);
    this.#missing = '';
    this.#emit({
      level: 'info',
      event: 'config-reload',
      reason: outcome.reason,
      interfaces: this.#managed.names(),
    });
    if (config.desired === undefined) this.#kniDisabledNotice();
    this.#schedule('config reloaded');
  }

  #kniDisabledNotice(): void {
    this.#emit({
      level: 'warn',
      event: 'kni-disabled',
      config: this.#options.configPath,
      note: '[kni] enable is missing or 0, so F-Stack creates no interface; nothing is managed until it is enabled',
    });
  }

  #schedule(trigger: string): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#triggers.add(trigger);
    if (this.#running !== undefined || this.#debounce !== undefined) return;

    const start = () => {
      this.#debounce = undefined;
      this.#running = this.#runPasses()
        .catch((error: unknown) => {
          // #pass handles kernel and config failures itself, so this is a bug: log it and retry.
          const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
          this.#emit({
            level: 'error',
            event: 'pass-failed',
            error: text,
            retryInMs: this.#retryDelay,
          });
          this.#retryLater();
        })
        .finally(() => {
          this.#running = undefined;
        });
    };
    const delay = this.#options.debounceMs ?? 0;
    if (delay > 0) {
      const timer = setTimeout(start, delay);
      this.#debounce = { cancel: () => clearTimeout(timer) };
    } else {
      const immediate = setImmediate(start);
      this.#debounce = { cancel: () => clearImmediate(immediate) };
    }
  }

  async #runPasses(): Promise<void> {
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false;
      const triggers = [...this.#triggers];
      this.#triggers.clear();
      await this.#pass(triggers);
    }
  }

  #retryLater(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(RETRY_MAX_MS, delay * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule('retry');
    }, delay);
  }

  async #pass(triggers: string[]): Promise<void> {
    const desired = this.#config.current.desired;
    const trigger = triggers.join(', ');

    if (this.#retired.length > 0) await this.#removeRetired(trigger);
    if (desired === undefined) return;

    const present = this.#presentInterfaces(desired);
    if (present.interfaces.length === 0) return;

    // Appearances this pass configures. One that arrives during the pass waits for the next.
    const covered = new Map<string, PendingAppearance>();
    for (const iface of present.interfaces) {
      const pending = this.#appearances.get(iface.name);
      if (pending !== undefined) covered.set(iface.name, pending);
    }

    const started = performance.now();
    let report: ConvergeReport;
    try {
      report = await converge(present, this.#kernel, {
        ...(this.#options.prune === undefined ? {} : { prune: this.#options.prune }),
        ...(this.#options.netns === undefined ? {} : { netns: this.#options.netns }),
      });
    } catch (error) {
      if (this.#stopped) return;
      this.#emit({
        level: 'error',
        event: 'apply-failed',
        trigger,
        error: (error as Error).message,
        retryInMs: this.#retryDelay,
      });
      this.#retryLater();
      return;
    }
    const names = present.interfaces.map((iface) => iface.name);

    if (report.plan.blockers.length > 0) {
      // An interface that vanished during the pass blocks it, and its delete notification
      // has been handled by now. So pass again over the interfaces left, without a warning.
      const blockers = report.plan.blockers.filter(
        (blocker) =>
          !(
            blocker.code === 'interface-missing' &&
            this.#managed.link(blocker.interface) === undefined
          ),
      );
      if (blockers.length === 0) {
        if (present.interfaces.some((iface) => this.#managed.link(iface.name) !== undefined))
          this.#schedule('interface vanished');
        return;
      }
      this.#emit({
        level: 'warn',
        event: 'apply-blocked',
        trigger,
        interfaces: names,
        blockers: blockers.map((blocker) => blocker.message),
        retryInMs: this.#retryDelay,
      });
      this.#retryLater();
      return;
    }

    if (!report.ok) {
      // A failure on an interface that vanished meanwhile (ENODEV while F-Stack stops) is
      // no fault: pass again over what is left.
      const vanished = names.filter((name) => this.#managed.link(name) === undefined);
      const failedOn = report.steps
        .filter((step) => step.error !== undefined)
        .map((step) => step.change.interface);
      if (vanished.length > 0 && failedOn.every((name) => vanished.includes(name))) {
        this.#emit({
          level: 'info',
          event: 'apply-interrupted',
          trigger,
          interfaces: vanished,
          note: 'the interface vanished during the pass',
        });
        this.#schedule('interface vanished');
        return;
      }
      this.#emit({
        level: 'error',
        event: 'apply-failed',
        trigger,
        interfaces: names,
        errors: report.steps
          .filter((step) => step.error !== undefined)
          .map((step) => `${step.change.command}: ${step.error?.message}`),
        rolledBack: report.rolledBack,
        remaining: report.remaining,
        unconverged: report.unconverged,
        retryInMs: this.#retryDelay,
      });
      this.#retryLater();
      return;
    }

    this.#retryDelay = RETRY_FIRST_MS;
    if (report.changed) {
      this.#emit({
        level: 'info',
        event: 'apply',
        trigger,
        interfaces: names,
        changes: report.steps.map((step) => step.change.command),
        ms: performance.now() - started,
      });
    }
    this.#reportConfigured(covered);
  }

  // Returns `desired` cut down to the interfaces that exist (VLAN interfaces: whose parent
  // exists), so that one missing port does not block the others. Logs the missing ones
  // whenever that list changes.
  #presentInterfaces(desired: DesiredState): DesiredState {
    const exists = (name: string | undefined): boolean =>
      name !== undefined && this.#managed.link(name) !== undefined;
    const interfaces = desired.interfaces.filter((iface) =>
      exists(iface.vlanId === undefined ? iface.name : iface.parent),
    );
    const missing = desired.interfaces
      .filter((iface) => iface.vlanId === undefined && !exists(iface.name))
      .map((iface) => iface.name);

    const key = missing.join(',');
    if (key !== this.#missing) {
      this.#missing = key;
      if (missing.length > 0) {
        this.#emit({
          level: 'info',
          event: 'waiting',
          interfaces: missing,
          note: 'absent until F-Stack creates them',
        });
      }
    }
    return { ...desired, interfaces };
  }

  // Logs the time to the configured state of each appearance the pass covered, even when
  // the interface vanished again during the pass: converge verified it before that.
  // NOTE: an appearance recorded while a pass runs is logged by the next pass. When the
  // interface vanishes before that pass starts, no line is logged although the first pass
  // may have configured it (2 of 300 restarts in bench/restart.ts, restarting at once).
  #reportConfigured(covered: ReadonlyMap<string, PendingAppearance>): void {
    const now = performance.now();
    for (const [name, pending] of covered) {
      if (this.#appearances.get(name) === pending) this.#appearances.delete(name);

      const jobEnd = this.#lastJobEnd;
      const previous = this.#lastConfigured.get(name) ?? -Infinity;
      this.#lastConfigured.set(name, now);
      this.#emit({
        level: 'info',
        event: 'configured',
        interface: name,
        index: pending.index,
        sinceLinkEventMs: now - pending.at,
        ...(jobEnd !== undefined && jobEnd.receivedAt >= previous
          ? { sinceUnitJobMs: now - jobEnd.receivedAt }
          : {}),
      });
    }
  }

  async #removeRetired(trigger: string): Promise<void> {
    const retired = this.#retired;
    this.#retired = [];
    try {
      for (const result of await removeRetired(this.#nl, retired)) {
        this.#emit({
          level: result.ok ? 'info' : 'error',
          event: 'retire',
          interface: result.interface,
          object: result.object,
          trigger,
          ...(result.error === undefined ? {} : { error: result.error.message }),
        });
      }
    } catch (error) {
      if (!this.#stopped)
        this.#emit({
          level: 'error',
          event: 'retire-failed',
          trigger,
          error: (error as Error).message,
        });
    }
  }
}
