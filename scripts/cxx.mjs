// The C and C++ sources that .clang-format governs, and the clang-format that checks them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Directories whose C and C++ files are formatted: the addon with its fuzzers, and the bench floor. */
const CXX_DIRECTORIES = ['native', 'bench'];

/** Returns the .cc, .h and .c files under native/ and bench/, relative to the repository root. */
export function cxxFiles() {
  const files = [];
  for (const directory of CXX_DIRECTORIES) {
    let entries;
    try {
      entries = readdirSync(join(root, directory), { withFileTypes: true, recursive: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isFile() && /\.(cc|h|c)$/.test(entry.name)) {
        files.push(relative(root, join(entry.parentPath, entry.name)));
      }
    }
  }
  return files.sort();
}

/**
 * Returns the clang-format 14 executable, or undefined. Other major versions break lines
 * differently, so a check with them would report changes that version 14 does not make.
 */
export function findClangFormat() {
  for (const candidate of ['clang-format-14', 'clang-format']) {
    const result = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (result.status === 0 && /version 14\./.test(result.stdout)) return candidate;
  }
  return undefined;
}
