// Safe replacement of f-stack.conf. A write follows a symlink to the real file, takes the
// advisory lock and rejects a file changed since it was read. It optionally keeps a backup,
// then writes a temporary file in the same directory with the old mode and owner, fsyncs it,
// renames it over the file and fsyncs the directory. Temporary files left by a writer that
// was killed before its rename are deleted by the next write.
// NOTE: extended attributes, ACLs and SELinux labels of the old file are not copied to the
// new one.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { type ConfigDocument, serializeDocument } from './document.js';
import { applyEdits, type EditOperation, type EditOptions, type EditResult } from './edit.js';
import { acquireLock } from './lock.js';
import { type LoadedConfig, loadConfig } from './model.js';
import { contentHash, type FileSnapshot, snapshotOf } from './snapshot.js';

/** Options of writeConfigFile. */
export interface WriteOptions {
  /** The file as it was read; the write is refused when its content differs now. */
  expected?: FileSnapshot;
  /** Keep the previous content: true writes FILE.bak, a string is the suffix to use. */
  backup?: boolean | string;
  /** Milliseconds to wait for the lock; default 10000. */
  lockTimeoutMs?: number;
}

/** Outcome of a write. */
export interface WriteResult {
  /** The real file written (symlinks resolved). */
  path: string;
  backupPath?: string;
  /** Snapshot of the new content, for a later write. */
  snapshot: FileSnapshot;
}

/** The file changed since it was read; nothing was written. */
export class ConflictError extends Error {
  override name = 'ConflictError';
  readonly code = 'ECONFLICT';
}

/** Replaces the content of an existing file with a document or bytes. */
export async function writeConfigFile(
  path: string,
  content: ConfigDocument | Uint8Array,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const real = await realpath(path);
  const lock = await acquireLock(
    real,
    options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {},
  );
  try {
    return await writeLocked(
      real,
      content instanceof Uint8Array ? content : serializeDocument(content),
      options,
    );
  } finally {
    await lock.release();
  }
}

/** Options of editConfigFile. */
export interface EditFileOptions extends EditOptions {
  fstackVersion?: string;
  backup?: boolean | string;
  lockTimeoutMs?: number;
  /** Compute the result without writing. */
  dryRun?: boolean;
}

/** The outcome of editConfigFile. */
export interface EditFileResult extends EditResult {
  /** The file as read under the lock. */
  before: LoadedConfig;
  written?: WriteResult;
}

/**
 * Reads, edits and writes a file while holding its lock for the whole time, so concurrent
 * editors of this product apply their changes one after another without losing any.
 */
export async function editConfigFile(
  path: string,
  operations: readonly EditOperation[],
  options: EditFileOptions = {},
): Promise<EditFileResult> {
  const real = await realpath(path);
  const lock = await acquireLock(
    real,
    options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {},
  );
  try {
    const before = await loadConfig(
      real,
      options.fstackVersion !== undefined ? { fstackVersion: options.fstackVersion } : {},
    );
    const result = applyEdits({ ...before, file: path }, operations, options);
    if (!result.changed || options.dryRun === true) return { ...result, before };

    const written = await writeLocked(real, serializeDocument(result.document), {
      ...(before.snapshot !== undefined ? { expected: before.snapshot } : {}),
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
    });
    return { ...result, before, written };
  } finally {
    await lock.release();
  }
}

async function writeLocked(
  real: string,
  bytes: Uint8Array,
  options: WriteOptions,
): Promise<WriteResult> {
  let current: Buffer;
  try {
    current = await readFile(real);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.expected !== undefined) {
      throw new ConflictError(`${real} was removed since it was read; nothing was written`);
    }
    throw error;
  }
  if (options.expected !== undefined && contentHash(current) !== options.expected.sha256) {
    throw new ConflictError(
      `${real} was changed by someone else since it was read; nothing was written, run the command again`,
    );
  }

  const info = await stat(real);
  let backupPath: string | undefined;
  if (options.backup !== undefined && options.backup !== false) {
    backupPath = `${real}${typeof options.backup === 'string' ? options.backup : '.bak'}`;
    await replaceAtomically(backupPath, current, info);
  }
  await replaceAtomically(real, bytes, info);
  return {
    path: real,
    ...(backupPath !== undefined ? { backupPath } : {}),
    snapshot: await snapshotOf(real, bytes),
  };
}

/** Writes bytes to a temporary file next to `target`, then renames it over `target`. */
async function replaceAtomically(
  target: string,
  bytes: Uint8Array,
  owner: { mode: number; uid: number; gid: number },
): Promise<void> {
  const directory = dirname(target);
  await removeAbandonedTemporaries(directory, basename(target));
  const temporary = join(
    directory,
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const mode = owner.mode & 0o7777;

  const handle = await open(temporary, 'wx', mode);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.chmod(mode);
      await keepOwner(handle, owner);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }

  const directoryHandle = await open(directory, 'r');
  try {
    await directoryHandle.sync();
  } finally {
    await directoryHandle.close();
  }
}

/**
 * Deletes the temporary files (`.NAME.PID.HEX.tmp`) of writers that were killed between
 * creating and renaming them. Runs under the lock, so no live writer of this product uses
 * one. A file whose pid is alive is left alone, in case that pid was reused meanwhile.
 */
async function removeAbandonedTemporaries(directory: string, name: string): Promise<void> {
  const prefix = `.${name}.`;
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    // The write itself reports an unreadable directory.
    return;
  }
  for (const entry of entries) {
    const match = entry.startsWith(prefix)
      ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(entry.slice(prefix.length))
      : null;
    if (match === null || isRunning(Number(match[1]))) continue;
    await unlink(join(directory, entry)).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Gives the new file the old owner; without privilege that only works when it is already ours. */
async function keepOwner(
  handle: Awaited<ReturnType<typeof open>>,
  owner: { uid: number; gid: number },
): Promise<void> {
  const info = await handle.stat();
  if (info.uid === owner.uid && info.gid === owner.gid) return;
  try {
    await handle.chown(owner.uid, owner.gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM') {
      throw new Error(
        `cannot keep owner ${owner.uid}:${owner.gid} of the file without privilege; run as root or as the owner`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
