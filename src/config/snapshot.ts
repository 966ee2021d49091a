// Identity of a file's content at the time it was read, to detect changes made by someone else
// before a write replaces it.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';

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
  return createHash('sha256').update(bytes).digest('hex');
}

/** Builds the snapshot of bytes just read from `path`. */
export async function snapshotOf(path: string, bytes: Uint8Array): Promise<FileSnapshot> {
  const info = await stat(path);
  return { sha256: contentHash(bytes), size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, dev: info.dev };
}
