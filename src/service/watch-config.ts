// f-stack.conf for the watch reconciler: loaded and validated at start, reloaded on SIGHUP
// and when the file changes. A reload that fails keeps the last good config.
//
// The file is watched through its directory, since editors (and this product's own
// writer) replace the file by renaming a new one over it, which ends a watch on the old
// inode.
import { type FSWatcher, watch } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatDiagnostic } from '../config/diagnostics.js';
import {
  configDirectoryMessage,
  type LoadedConfig,
  loadConfig,
  missingConfigMessage,
} from '../config/model.js';
import { desiredStateOf } from '../kni/config-error.js';
import type { DesiredOptions, DesiredState } from '../kni/desired.js';
import { KniError } from '../kni/errors.js';

/** A config that loaded without errors, with the desired state it defines. */
export interface GoodConfig {
  loaded: LoadedConfig;
  /** Undefined when `[kni]` is off: F-Stack creates no interface, so nothing is managed. */
  desired: DesiredState | undefined;
  /** SHA-256 of the file content. */
  hash: string;
}

export interface ConfigSourceOptions {
  path: string;
  fstackVersion?: string;
  /** Builds the desired-state options for a loaded file (its version may differ per reload). */
  desiredOptions(loaded: LoadedConfig): DesiredOptions;
  /** Delay in ms that collects the several file events of one write; 50 unless set. */
  settleMs?: number;
}

/** Trigger of a reload. */
export type ReloadReason = 'SIGHUP' | 'file';

/** Outcome of one reload. */
export type ReloadOutcome =
  | { status: 'reloaded'; reason: ReloadReason; previous: GoodConfig; config: GoodConfig }
  | { status: 'unchanged'; reason: ReloadReason }
  | { status: 'invalid'; reason: ReloadReason; error: Error };

/**
 * Reads f-stack.conf and turns it into the desired state. Throws KniError CONFIG_INVALID
 * (with every error as a detail, or for a missing file) or PORT_INVALID, or the file
 * system error.
 */
export async function loadGoodConfig(
  path: string,
  options: Pick<ConfigSourceOptions, 'fstackVersion' | 'desiredOptions'>,
): Promise<GoodConfig> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(
      path,
      options.fstackVersion === undefined ? {} : { fstackVersion: options.fstackVersion },
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KniError('CONFIG_INVALID', missingConfigMessage(path));
    if (code === 'EISDIR') throw new KniError('CONFIG_INVALID', configDirectoryMessage(path));
    throw error;
  }
  const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
  if (errors.length > 0) {
    throw new KniError(
      'CONFIG_INVALID',
      `${path} has ${errors.length} error(s)`,
      errors.map(formatDiagnostic),
    );
  }

  let desired: DesiredState | undefined;
  try {
    desired = desiredStateOf(loaded, options.desiredOptions(loaded));
  } catch (error) {
    if (!(error instanceof KniError && error.code === 'KNI_DISABLED')) throw error;
  }
  return { loaded, desired, hash: loaded.snapshot?.sha256 ?? '' };
}

/** The current good config, reloaded on request and on file changes. */
export class ConfigSource {
  readonly #options: ConfigSourceOptions;
  #current: GoodConfig;
  readonly #watchers: FSWatcher[] = [];
  #settleTimer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #again: ReloadReason | undefined;
  #onReload: (outcome: ReloadOutcome) => void = () => undefined;

  private constructor(options: ConfigSourceOptions, current: GoodConfig) {
    this.#options = options;
    this.#current = current;
  }

  /** Loads the file; rejects as loadGoodConfig does, since there is no last good config yet. */
  static async open(options: ConfigSourceOptions): Promise<ConfigSource> {
    return new ConfigSource(options, await loadGoodConfig(options.path, options));
  }

  get current(): GoodConfig {
    return this.#current;
  }

  /**
   * Starts watching the directory of the file (and of its target, when it is a symlink)
   * and calls `onReload` after every reload, whatever triggered it.
   */
  async watchFile(onReload: (outcome: ReloadOutcome) => void): Promise<void> {
    this.#onReload = onReload;
    const path = this.#options.path;
    const targets = new Map<string, string>([[dirname(path), basename(path)]]);
    const real = await realpath(path).catch(() => path);
    if (real !== path) targets.set(dirname(real), basename(real));

    for (const [directory, name] of targets) {
      const watcher = watch(directory, { persistent: true }, (_type, filename) => {
        // Linux names the entry; a null name (never seen on Linux) may be ours too.
        if (filename === null || filename.toString() === name) this.#fileChanged();
      });
      watcher.on('error', () => undefined);
      this.#watchers.push(watcher);
    }
  }

  /**
   * Loads the file again. A failure keeps the current config and reports `invalid`. A
   * file event with unchanged content reports `unchanged`. Reloads run one at a time, and
   * a request during a reload runs once more after it.
   */
  reload(reason: ReloadReason): Promise<void> {
    if (this.#reloading !== undefined) {
      this.#again = reason === 'SIGHUP' || this.#again === 'SIGHUP' ? 'SIGHUP' : 'file';
      return this.#reloading;
    }
    this.#reloading = this.#reloadLoop(reason).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Stops watching the file. Safe to call twice. */
  close(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    for (const watcher of this.#watchers.splice(0)) watcher.close();
  }

  #fileChanged(): void {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      void this.reload('file');
    }, this.#options.settleMs ?? 50);
  }

  async #reloadLoop(first: ReloadReason): Promise<void> {
    let reason: ReloadReason | undefined = first;
    while (reason !== undefined) {
      this.#again = undefined;
      this.#onReload(await this.#reloadOnce(reason));
      reason = this.#again;
    }
  }

  async #reloadOnce(reason: ReloadReason): Promise<ReloadOutcome> {
    let next: GoodConfig;
    try {
      next = await loadGoodConfig(this.#options.path, this.#options);
    } catch (error) {
      return {
        status: 'invalid',
        reason,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
    if (reason === 'file' && next.hash === this.#current.hash)
      return { status: 'unchanged', reason };

    const previous = this.#current;
    this.#current = next;
    return { status: 'reloaded', reason, previous, config: next };
  }
}
