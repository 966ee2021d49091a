// Throwaway network namespaces for kernel tests. Tests inspect them with `ip -j` as an
// oracle independent of the library; the library itself never runs `ip`.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Why kernel tests cannot run here, or undefined when they can. */
export const kernelSkipReason: string | undefined =
  process.getuid?.() !== 0
    ? 'kernel tests need root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create network namespaces)'
    : undefined;

/** Returns a fresh namespace name with the given prefix, unique across parallel runs. */
export function uniqueNetnsName(prefix = 'fkt'): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Creates a namespace with `ip netns add` and brings its loopback up. */
export function createTestNetns(prefix = 'fkt'): string {
  const name = uniqueNetnsName(prefix);
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * Removes a namespace if it still exists; safe to call twice. A failed `ip netns delete`
 * is tried again a few times and then raised, so that a test never leaves a namespace
 * behind without a word.
 */
export function removeTestNetns(name: string): void {
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!existsSync(join('/run/netns', name))) return;
    const result = spawnSync('ip', ['netns', 'delete', name], { encoding: 'utf8' });
    if (result.status === 0) return;
    lastError = result.stderr.trim() || `exit ${result.status}`;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  if (existsSync(join('/run/netns', name))) {
    throw new Error(`cannot remove test namespace ${name}: ${lastError}`);
  }
}

/** Runs `ip -j ARGS` inside the namespace and returns the parsed JSON. */
export function ipJson<T = unknown>(netns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** Runs `ip ARGS` inside the namespace (test setup only). */
export function ip(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', netns, ...args], { encoding: 'utf8' });
}
