// Waiting for kernel interfaces to come back after a restart of the process that creates them.
//
// F-Stack's interface (a tap from 1.25 on, an rte_kni netdev before) lives as long as the
// F-Stack process, so a restart removes veth<N> and creates it again with a new ifindex.
// The tracker subscribes to link events before the restart starts and takes a baseline dump
// of the interfaces' indexes. An interface counts as back when a link of that name exists
// that the baseline did not have: a new ifindex, or the baseline's ifindex after a delete
// event. Events, not polling, decide this, so an appearance is seen when it happens.
import { performance } from 'node:perf_hooks';
import type { Rtnl, RtnlEvent, Subscription } from '../rtnl/index.js';
import type { Link } from '../rtnl/types.js';

/** One interface that appeared after the baseline. */
export interface LinkAppearance {
  name: string;
  /** ifindex of the new link. */
  index: number;
  /** ifindex the name had in the baseline; undefined when it did not exist then. */
  previousIndex: number | undefined;
  /** performance.now() when the event (or resync) that showed the new link was received. */
  appearedAt: number;
}

/** State of a tracked interface, for progress and timeout messages. */
export interface TrackedLinkState {
  name: string;
  previousIndex: number | undefined;
  /** ifindex of the link of that name now, or undefined when it is absent. */
  currentIndex: number | undefined;
  /** True once a link of that name appeared after the baseline and still exists. */
  appeared: boolean;
}

/** Not every interface came back in time. */
export class LinkWaitError extends Error {
  override name = 'LinkWaitError';
  readonly code = 'ETIMEDOUT';

  constructor(
    message: string,
    /** The state of every tracked interface when the wait ended. */
    readonly interfaces: TrackedLinkState[],
  ) {
    super(message);
  }
}

interface Tracked {
  name: string;
  previousIndex: number | undefined;
  /** The link of that name as last seen, or undefined when absent. */
  current: Link | undefined;
  /** Set when the baseline's link was deleted, so the same ifindex later counts as new. */
  baselineDeleted: boolean;
  appearance: LinkAppearance | undefined;
}

interface Waiter {
  resolve(appearances: LinkAppearance[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Tracks named links in one namespace from a baseline on. Create it before the restart,
 * call waitForAll after, and close it.
 */
export class LinkAppearanceTracker {
  readonly #tracked = new Map<string, Tracked>();
  readonly #byIndex = new Map<number, string>();
  readonly #netnsLabel: string;
  #subscription: Subscription | undefined;
  #waiter: Waiter | undefined;
  #lastError: Error | undefined;
  // Events received before the baseline dump completed, replayed on top of it.
  #early: Array<{ event: RtnlEvent; at: number }> | undefined = [];

  private constructor(names: readonly string[], netnsLabel: string) {
    for (const name of names) {
      this.#tracked.set(name, {
        name,
        previousIndex: undefined,
        current: undefined,
        baselineDeleted: false,
        appearance: undefined,
      });
    }
    this.#netnsLabel = netnsLabel;
  }

  /**
   * Subscribes to link events on `nl`, then dumps the links for the baseline, so nothing
   * that happens after this resolves can be missed. `netnsLabel` names the namespace in
   * messages ("netns kni" or "this network namespace").
   */
  static async start(
    nl: Rtnl,
    names: readonly string[],
    options: { netnsLabel?: string; receiveBuffer?: number } = {},
  ): Promise<LinkAppearanceTracker> {
    const tracker = new LinkAppearanceTracker(
      names,
      options.netnsLabel ?? 'this network namespace',
    );
    tracker.#subscription = nl.subscribe(
      { links: true },
      (event) => tracker.#onEvent(event),
      options.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer },
    );

    try {
      tracker.#takeBaseline(await nl.links.list());
    } catch (error) {
      tracker.close();
      throw error;
    }
    return tracker;
  }

  /** Returns the state of every tracked interface. */
  states(): TrackedLinkState[] {
    return [...this.#tracked.values()].map((tracked) => ({
      name: tracked.name,
      previousIndex: tracked.previousIndex,
      currentIndex: tracked.current?.index,
      appeared: tracked.appearance !== undefined,
    }));
  }

  /**
   * Resolves once every tracked interface has appeared after the baseline and still exists,
   * with one appearance per interface in the order given to start. Rejects with
   * LinkWaitError after `timeoutMs`. Only one wait may run at a time.
   */
  waitForAll(timeoutMs: number): Promise<LinkAppearance[]> {
    if (this.#waiter !== undefined) throw new Error('waitForAll is already waiting');
    const done = this.#appearances();
    if (done !== undefined) return Promise.resolve(done);
    if (this.#subscription === undefined)
      return Promise.reject(new Error('the link tracker is closed'));

    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#waiter = undefined;
          reject(this.#timeoutError(timeoutMs));
        },
        Math.max(1, timeoutMs),
      );
      this.#waiter = { resolve, reject, timer };
    });
  }

  /** Stops the subscription; a pending wait rejects. Safe to call twice. */
  close(): void {
    this.#subscription?.close();
    this.#subscription = undefined;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the link tracker was closed while waiting'));
    }
  }

  #takeBaseline(links: readonly Link[]): void {
    for (const link of links) {
      const tracked = this.#tracked.get(link.name);
      // An event received during the dump may already have recorded a newer link.
      if (tracked === undefined) continue;
      tracked.previousIndex = link.index;
      tracked.current = link;
      this.#byIndex.set(link.index, link.name);
    }

    const early = this.#early ?? [];
    this.#early = undefined;
    for (const { event, at } of early) this.#apply(event, at);
  }

  #onEvent(event: RtnlEvent): void {
    const now = performance.now();
    if (this.#early !== undefined) {
      this.#early.push({ event, at: now });
      return;
    }
    this.#apply(event, now);
    this.#settle();
  }

  #apply(event: RtnlEvent, now: number): void {
    if (event.kind === 'link') {
      if (event.action === 'new') this.#linkSeen(event.object, now);
      else this.#linkGone(event.object);
    } else if (event.kind === 'resync' && event.links !== undefined) {
      this.#resync(event.links, now);
    } else if (event.kind === 'error') {
      this.#lastError = event.error;
    }
  }

  #linkSeen(link: Link, now: number): void {
    // A rename away from a tracked name shows up as a new-link event under the new name.
    const formerName = this.#byIndex.get(link.index);
    if (formerName !== undefined && formerName !== link.name)
      this.#linkGone({ ...link, name: formerName });

    const tracked = this.#tracked.get(link.name);
    if (tracked === undefined) return;
    this.#byIndex.set(link.index, link.name);

    const isBaseline = link.index === tracked.previousIndex && !tracked.baselineDeleted;
    const sameAsKnown = tracked.current?.index === link.index;
    tracked.current = link;
    if (!isBaseline && !(sameAsKnown && tracked.appearance !== undefined)) {
      tracked.appearance = {
        name: tracked.name,
        index: link.index,
        previousIndex: tracked.previousIndex,
        appearedAt: now,
      };
    }
  }

  #linkGone(link: Link): void {
    const name = this.#byIndex.get(link.index) ?? link.name;
    const tracked = this.#tracked.get(name);
    this.#byIndex.delete(link.index);
    if (tracked === undefined || tracked.current?.index !== link.index) return;

    if (link.index === tracked.previousIndex) tracked.baselineDeleted = true;
    tracked.current = undefined;
    tracked.appearance = undefined;
  }

  // After lost events only the dump is known. A link whose ifindex differs from the
  // baseline's is new.
  // NOTE: a delete and re-create that both fell into the lost events and reused the
  // baseline's ifindex would go unseen; Linux hands out ifindexes in increasing order, so
  // that needs the counter to wrap around.
  #resync(links: readonly Link[], now: number): void {
    this.#byIndex.clear();
    for (const tracked of this.#tracked.values()) {
      const link = links.find((candidate) => candidate.name === tracked.name);
      if (link === undefined) {
        if (tracked.current?.index === tracked.previousIndex) tracked.baselineDeleted = true;
        tracked.current = undefined;
        tracked.appearance = undefined;
        continue;
      }

      this.#byIndex.set(link.index, link.name);
      const isBaseline = link.index === tracked.previousIndex && !tracked.baselineDeleted;
      const known = tracked.appearance?.index === link.index;
      tracked.current = link;
      if (!isBaseline && !known) {
        tracked.appearance = {
          name: tracked.name,
          index: link.index,
          previousIndex: tracked.previousIndex,
          appearedAt: now,
        };
      }
    }
  }

  #appearances(): LinkAppearance[] | undefined {
    const result: LinkAppearance[] = [];
    for (const tracked of this.#tracked.values()) {
      if (tracked.appearance === undefined || tracked.current === undefined) return undefined;
      result.push(tracked.appearance);
    }
    return result;
  }

  #settle(): void {
    if (this.#waiter === undefined) return;
    const done = this.#appearances();
    if (done === undefined) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(done);
  }

  #timeoutError(timeoutMs: number): LinkWaitError {
    const states = this.states();
    const pending = states.filter((state) => !state.appeared || state.currentIndex === undefined);
    const details = pending.map((state) => {
      if (state.currentIndex !== undefined && state.currentIndex === state.previousIndex) {
        return `${state.name} still has ifindex ${state.currentIndex} from before the restart`;
      }
      return `${state.name} is absent`;
    });
    const cause =
      this.#lastError === undefined
        ? ''
        : `; the event subscription reported: ${this.#lastError.message}`;
    return new LinkWaitError(
      `timed out after ${timeoutMs} ms waiting for ${pending.map((state) => state.name).join(', ')} to appear in ` +
        `${this.#netnsLabel} (${details.join('; ')})${cause}; check that the unit creates them and that --netns names ` +
        'the namespace it runs in',
      states,
    );
  }
}
