// Identity of a file's content at the time it was read, to detect changes made by someone else
// before a write replaces it.

// fs.promises is read only when snapshotOf runs, for the reason given in model.ts.
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';

// Loading node:crypto takes about 5 ms on Node 20 (timed with `import('node:crypto')` in a
// fresh process). A command that never compares snapshots, such as `fstack-kni status`,
// would pay that at every start, so it is loaded on the first hash instead.
const require = createRequire(import.meta.url);
let createHash: typeof import('node:crypto').createHash | undefined;

/** Identity of a file when read. The content hash decides, and the other fields help messages. */
export interface FileSnapshot {
  /** SHA-256 of the bytes read, hex. */
  sha256: string;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

/** Returns the SHA-256 of bytes as hex. */
export function contentHash(bytes: Uint8Array): string {
  createHash ??= (require('node:crypto') as typeof import('node:crypto')).createHash;
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Builds the snapshot of bytes just read from `path`. `sha256` is computed when first read,
 * from `bytes`, which the caller must not change afterwards.
 */
export async function snapshotOf(path: string, bytes: Uint8Array): Promise<FileSnapshot> {
  const info = await fs.stat(path);
  let hash: string | undefined;
  return {
    get sha256(): string {
      hash ??= contentHash(bytes);
      return hash;
    },
    size: info.size,
    mtimeMs: info.mtimeMs,
    ino: info.ino,
    dev: info.dev,
  };
}
