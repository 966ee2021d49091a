// Crash safety of f-stack.conf writes. A child process loops over `config set` through the
// library (editConfigFile on a symlink, as an operator's /etc/f-stack.conf may be) and is
// killed with SIGKILL at random moments, then restarted, until 500 writes went through.
// After every kill the file must be one complete version, never a mix or a truncation, with
// its mode, owner and symlink kept. The next writer must get past the stale lock and the
// temporary file the killed one left. Two writers at once must not lose each other's
// changes, and a change made by someone else between read and write must be refused.
import { spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEdits } from '../../src/config/edit.js';
import { getValue, loadConfig } from '../../src/config/model.js';
import { ConflictError, writeConfigFile } from '../../src/config/write.js';
import { Prng } from '../fuzz/mutate.js';
import { distSkipReason, makeTempDir, repoRoot } from '../helpers/config-paths.js';

const WRITES = 500;
const SEED = 0x5eed_0004;
const OWNER = { uid: 1234, gid: 2345 };
const MODE = 0o640;
/** Restarts allowed without a single write getting through before the test gives up. */
const MAX_IDLE_RESTARTS = 50;

const rootSkipReason =
  process.getuid?.() === 0 ? undefined : 'needs root to give the file another owner';
const skipReason = distSkipReason ?? rootSkipReason;

// About 100 KiB, so that a write that was not atomic could be caught half done.
const PADDING = Array.from(
  { length: 1500 },
  (_, i) => `; padding line ${i} ${'x'.repeat(50)}`,
).join('\n');

/** Returns the full file with tcp_port=PORTS, the only part that changes between versions. */
function version(ports: number): string {
  return `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

${PADDING}
[kni]
enable=1
method=accept
tcp_port=${ports}
udp_port=53
`;
}

/** A writer: `count` edits of kni.tcp_port (counting up from the file's value), or forever. */
const WRITER = `
import { editConfigFile } from ${JSON.stringify(join(repoRoot, 'dist', 'config', 'write.js'))};
import { getValue, loadConfig } from ${JSON.stringify(join(repoRoot, 'dist', 'config', 'model.js'))};
const [path, countText, key] = process.argv.slice(2);
const count = Number(countText);
const current = Number(getValue((await loadConfig(path)).config, 'kni', 'tcp_port')?.value ?? '0');
for (let i = 1; count === 0 || i <= count; i++) {
  const value = key === 'kni.tcp_port' ? String(current + i) : '1';
  await editConfigFile(path, [{ kind: 'set', key: key === 'kni.tcp_port' ? key : \`\${key}\${i}\`, value }]);
}
`;

describe.skipIf(skipReason !== undefined)(
  `crash-safe config writes${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let realDir = '';
    let realFile = '';
    let link = '';
    let writer = '';

    beforeEach(() => {
      temp = makeTempDir('fstack-kni-crash-');
      realDir = join(temp.path, 'etc');
      mkdirSync(realDir);
      realFile = join(realDir, 'f-stack.conf');
      writeFileSync(realFile, version(1000), { mode: MODE });
      chownSync(realFile, OWNER.uid, OWNER.gid);
      link = join(temp.path, 'f-stack.conf');
      symlinkSync(realFile, link);
      writer = join(temp.path, 'writer.mjs');
      writeFileSync(writer, WRITER);
    });

    afterEach(() => temp.remove());

    /** Checks the file after a kill and returns the tcp_port of the version found. */
    function checkIntact(): number {
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe(realFile);
      const info = statSync(realFile);
      expect(info.mode & 0o7777).toBe(MODE);
      expect({ uid: info.uid, gid: info.gid }).toEqual(OWNER);

      const text = readFileSync(realFile, 'utf8');
      const ports = Number(/^tcp_port=(\d+)$/m.exec(text)?.[1]);
      expect(text).toBe(version(ports));
      return ports;
    }

    /** Runs a writer to completion; it must succeed whatever the killed ones left behind. */
    function runWriter(count: number, key = 'kni.tcp_port'): void {
      const result = spawnSync(process.execPath, [writer, link, String(count), key], {
        encoding: 'utf8',
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }

    it('leaves the old or the new file in full after each SIGKILL', async () => {
      const random = new Prng(SEED);
      let ports = checkIntact();
      const first = ports;
      let kills = 0;
      let idle = 0;
      let strayFiles = 0;

      while (ports - first < WRITES) {
        const child = spawn(process.execPath, [writer, link, '0', 'kni.tcp_port'], {
          stdio: 'ignore',
        });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        // Node takes tens of milliseconds to start, so short delays kill it before or while it reads.
        await new Promise((resolve) => setTimeout(resolve, 20 + random.below(300)));
        child.kill('SIGKILL');
        await exited;
        kills += 1;

        const now = checkIntact();
        expect(now).toBeGreaterThanOrEqual(ports);
        idle = now === ports ? idle + 1 : 0;
        expect(idle).toBeLessThan(MAX_IDLE_RESTARTS);
        ports = now;
        strayFiles = Math.max(strayFiles, readdirSync(realDir).length - 1);

        // Now and then a writer that is not killed: it must get past the stale lock.
        if (kills % 25 === 0) {
          runWriter(1);
          ports = checkIntact();
        }
      }

      runWriter(1);
      checkIntact();
      console.log(
        `${ports + 1 - first} writes, ${kills} kills, at most ${strayFiles} stale files next to the config at once`,
      );

      // The last writer removed what killed writers left: temporary files and the lock.
      expect(readdirSync(realDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(existsSync(`${realFile}.lock`)).toBe(false);
    }, 240_000);

    it('serializes two concurrent writers without losing a change', async () => {
      const run = (key: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [writer, link, '50', key], {
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('exit', (code) => resolve(code));
        });
      const codes = await Promise.all([run('freebsd.sysctl.net.a'), run('freebsd.sysctl.net.b')]);
      expect(codes).toEqual([0, 0]);

      const loaded = await loadConfig(link);
      for (let i = 1; i <= 50; i++) {
        expect(getValue(loaded.config, 'freebsd.sysctl', `net.a${i}`)?.value).toBe('1');
        expect(getValue(loaded.config, 'freebsd.sysctl', `net.b${i}`)?.value).toBe('1');
      }
      expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(statSync(realFile).mode & 0o7777).toBe(MODE);
    }, 60_000);

    it('refuses to overwrite a change made between read and write', async () => {
      const loaded = await loadConfig(link);
      const edited = applyEdits(loaded, [{ kind: 'set', key: 'kni.tcp_port', value: '2222' }]);
      const theirs = version(3333);
      writeFileSync(realFile, theirs);

      await expect(
        writeConfigFile(link, edited.document, {
          expected: loaded.snapshot as NonNullable<typeof loaded.snapshot>,
        }),
      ).rejects.toThrow(ConflictError);
      expect(readFileSync(realFile, 'utf8')).toBe(theirs);
      expect(existsSync(`${realFile}.lock`)).toBe(false);
    });
  },
);
