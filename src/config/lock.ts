// Advisory lock that serializes writers of one file, across processes.
//
// NOTE: Node has no flock(), and this product neither spawns programs nor has a native flock
// helper yet, so the lock is a lock file FILE.lock created with O_CREAT|O_EXCL and holding the
// owner's pid and host name. Trade-offs against flock():
// - A crashed owner leaves the file behind. A waiter removes it when its pid is no longer
//   alive on this host (checked with kill(pid, 0)). A lock from another host, or from a pid
//   that was reused meanwhile, is only waited for until the timeout.
// - Breaking a stale lock renames it aside and checks the inode before deleting, so a fresh
//   lock taken in between is put back. Only if a third process creates a lock in the very
//   moment it is aside can two writers both hold it.
// - Other tools that edit the file do not know this lock; the content check made under the
//   lock (see write.ts) still stops this product from overwriting their changes.
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** Options of acquireLock. */
export interface LockOptions {
  /** Milliseconds to wait for another holder; default 10000. 0 tries once. */
  timeoutMs?: number;
}

/** A held lock. */
export interface FileLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Removes the lock file if it is still this lock's. Safe to call twice. */
  release(): Promise<void>;
}

/** Owner of a lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  createdAt: string;
}

/** The lock was not free within the timeout. */
export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
  readonly code = 'ELOCKED';

  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `${lockPath} is held by ${holder !== undefined ? `pid ${holder.pid} on ${holder.host} since ${holder.createdAt}` : 'another writer'}; ` +
        'try again, or remove the lock file if that process is gone',
    );
  }
}

/** Lock files held by this process, so a second acquisition here waits too. */
const heldHere = new Set<string>();

/** A lock file without readable content is taken as abandoned after this many milliseconds. */
const UNREADABLE_GRACE_MS = 5000;

/** Returns the lock file path for a target file. */
export function lockPathFor(target: string): string {
  return `${target}.lock`;
}

/** Waits for and takes the lock of `target` (an absolute, symlink-free path). */
export async function acquireLock(target: string, options: LockOptions = {}): Promise<FileLock> {
  const path = lockPathFor(target);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let delay = 10;

  for (;;) {
    const taken = await tryCreate(path);
    if (taken !== undefined) return taken;

    const observed = await inspect(path);
    if (observed === undefined) continue;
    if (observed.stale) {
      await breakStaleLock(path, observed.ino, observed.dev);
      continue;
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(path, observed.holder);
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

async function tryCreate(path: string): Promise<FileLock | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      createdAt: new Date().toISOString(),
    };
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    const info = await handle.stat();
    heldHere.add(path);
    return new HeldLock(path, info.ino, info.dev);
  } finally {
    await handle.close();
  }
}

class HeldLock implements FileLock {
  private released = false;

  constructor(
    readonly path: string,
    private readonly ino: number,
    private readonly dev: number,
  ) {}

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    try {
      const info = await stat(this.path);
      if (info.ino === this.ino && info.dev === this.dev) await unlink(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** Reads a lock file and decides whether its holder is gone; undefined when it vanished. */
async function inspect(
  path: string,
): Promise<{ holder?: LockHolder; stale: boolean; ino: number; dev: number } | undefined> {
  let info: Awaited<ReturnType<typeof stat>>;
  let text: string;
  try {
    info = await stat(path);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }

  const holder = parseHolder(text);
  if (holder === undefined) {
    return { stale: Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS, ino: info.ino, dev: info.dev };
  }
  return { holder, stale: isStale(path, holder), ino: info.ino, dev: info.dev };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.createdAt === 'string'
    ) {
      return { pid: value.pid, host: value.host, createdAt: value.createdAt };
    }
  } catch {
    // Not written completely yet, or not ours.
  }
  return undefined;
}

function isStale(path: string, holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !heldHere.has(path);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes a stale lock file, unless it was replaced by a fresh one meanwhile. */
async function breakStaleLock(path: string, ino: number, dev: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }

  const info = await stat(aside);
  if (info.ino !== ino || info.dev !== dev) {
    // Someone took the lock after we looked: give it back unless yet another lock exists.
    try {
      await link(aside, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  await unlink(aside);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
