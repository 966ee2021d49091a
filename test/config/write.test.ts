// Writing f-stack.conf: atomic replacement keeping mode and owner, symlinks, backups, the
// changed-since-read check, and the lock between processes (child processes run the built
// module from dist/).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { applyEdits } from '../../src/config/edit.js';
import { acquireLock, LockTimeoutError } from '../../src/config/lock.js';
import { loadConfig } from '../../src/config/model.js';
import { ConflictError, editConfigFile, writeConfigFile } from '../../src/config/write.js';
import { distConfigDir, distSkipReason, makeTempDir } from '../helpers/config-paths.js';

const CONFIG = `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

[freebsd.sysctl]
kern.ipc.somaxconn=32768
`;

let temp: ReturnType<typeof makeTempDir>;
let path: string;

beforeEach(() => {
  temp = makeTempDir();
  path = join(temp.path, 'f-stack.conf');
  writeFileSync(path, CONFIG);
});

afterEach(() => temp.remove());

async function setAddr(file: string, value: string) {
  const loaded = await loadConfig(file);
  const result = applyEdits(loaded, [{ kind: 'set', key: 'port0.addr', value }]);
  return { loaded, result };
}

describe('writeConfigFile', () => {
  it('replaces the file and leaves no temporary file or lock behind', async () => {
    const { loaded, result } = await setAddr(path, '192.0.2.80');
    const inodeBefore = statSync(path).ino;
    const written = await writeConfigFile(path, result.document, { expected: loaded.snapshot! });

    expect(readFileSync(path, 'utf8')).toBe(CONFIG.replace('addr=192.0.2.79', 'addr=192.0.2.80'));
    expect(written.path).toBe(path);
    expect(statSync(path).ino).not.toBe(inodeBefore);
    expect(readdirSync(temp.path)).toEqual(['f-stack.conf']);
  });

  it('keeps mode and owner', async () => {
    chmodSync(path, 0o640);
    const root = process.getuid?.() === 0;
    if (root) chownSync(path, 4321, 4322);
    const { result } = await setAddr(path, '192.0.2.80');
    await writeConfigFile(path, result.document);

    const info = statSync(path);
    expect(info.mode & 0o7777).toBe(0o640);
    if (root) expect([info.uid, info.gid]).toEqual([4321, 4322]);
  });

  it('follows a symlink and keeps it a symlink', async () => {
    const link = join(temp.path, 'link.conf');
    symlinkSync(path, link);
    const { loaded, result } = await setAddr(link, '192.0.2.81');
    const written = await writeConfigFile(link, result.document, { expected: loaded.snapshot! });

    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(written.path).toBe(path);
    expect(readFileSync(path, 'utf8')).toContain('addr=192.0.2.81');
    expect(readdirSync(temp.path).sort()).toEqual(['f-stack.conf', 'link.conf']);
  });

  it('writes a backup of the previous content', async () => {
    chmodSync(path, 0o600);
    const { result } = await setAddr(path, '192.0.2.82');
    const written = await writeConfigFile(path, result.document, { backup: true });

    expect(written.backupPath).toBe(`${path}.bak`);
    expect(readFileSync(`${path}.bak`, 'utf8')).toBe(CONFIG);
    expect(statSync(`${path}.bak`).mode & 0o7777).toBe(0o600);
  });

  it('writes a backup with a chosen suffix', async () => {
    const { result } = await setAddr(path, '192.0.2.83');
    await writeConfigFile(path, result.document, { backup: '.orig' });
    expect(readFileSync(`${path}.orig`, 'utf8')).toBe(CONFIG);
  });

  it('refuses to overwrite a file changed since it was read', async () => {
    const { loaded, result } = await setAddr(path, '192.0.2.84');
    const theirs = CONFIG.replace('kern.ipc.somaxconn=32768', 'kern.ipc.somaxconn=1024');
    writeFileSync(path, theirs);

    await expect(
      writeConfigFile(path, result.document, { expected: loaded.snapshot! }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(readFileSync(path, 'utf8')).toBe(theirs);
    expect(readdirSync(temp.path)).toEqual(['f-stack.conf']);
  });

  it('breaks the lock of a process that no longer runs', async () => {
    const dead = await deadPid();
    writeFileSync(
      `${path}.lock`,
      JSON.stringify({ pid: dead, host: hostname(), createdAt: new Date().toISOString() }),
    );
    const { result } = await setAddr(path, '192.0.2.85');

    await writeConfigFile(path, result.document, { lockTimeoutMs: 5000 });
    expect(readFileSync(path, 'utf8')).toContain('addr=192.0.2.85');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('waits for a lock held in the same process', async () => {
    const lock = await acquireLock(path);
    const { result } = await setAddr(path, '192.0.2.86');
    await expect(
      writeConfigFile(path, result.document, { lockTimeoutMs: 50 }),
    ).rejects.toBeInstanceOf(LockTimeoutError);
    await lock.release();
    await writeConfigFile(path, result.document, { lockTimeoutMs: 50 });
    expect(readFileSync(path, 'utf8')).toContain('addr=192.0.2.86');
  });
});

describe.skipIf(distSkipReason !== undefined)(
  `lock between processes${distSkipReason ? ` (skipped: ${distSkipReason})` : ''}`,
  () => {
    const writeModule = pathToFileURL(join(distConfigDir, 'write.js')).href;
    const lockModule = pathToFileURL(join(distConfigDir, 'lock.js')).href;

    it('serializes two concurrent writers without losing an edit', async () => {
      const script = join(temp.path, 'writer.mjs');
      writeFileSync(
        script,
        `import { editConfigFile } from ${JSON.stringify(writeModule)};
const [file, prefix, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  await editConfigFile(file, [{ kind: 'set', key: 'freebsd.sysctl.' + prefix + '.k' + i, value: String(i) }], { lockTimeoutMs: 60000 });
}
`,
      );
      const writers = ['a', 'b'].map((prefix) =>
        spawn(process.execPath, [script, path, prefix, '25'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      const results = await Promise.all(writers.map(finished));
      expect(results).toEqual([
        { code: 0, stderr: '' },
        { code: 0, stderr: '' },
      ]);

      const loaded = await loadConfig(path);
      const names = loaded.config.freebsd.sysctl.map((entry) => entry.name);
      for (const prefix of ['a', 'b']) {
        for (let i = 0; i < 25; i++) expect(names).toContain(`${prefix}.k${i}`);
      }
      expect(names).toHaveLength(51);
      expect(existsSync(`${path}.lock`)).toBe(false);
    });

    it('makes another process wait while it holds the lock', async () => {
      const script = join(temp.path, 'holder.mjs');
      writeFileSync(
        script,
        `import { acquireLock } from ${JSON.stringify(lockModule)};
const lock = await acquireLock(process.argv[2]);
process.stdout.write('locked\\n');
process.stdin.once('data', async () => { await lock.release(); process.stdout.write('released\\n'); process.exit(0); });
`,
      );
      const holder = spawn(process.execPath, [script, path], { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        await waitForOutput(holder, 'locked');
        const held = await editConfigFile(
          path,
          [{ kind: 'set', key: 'port0.addr', value: '192.0.2.90' }],
          { lockTimeoutMs: 200 },
        ).catch((error: unknown) => error);
        expect(held).toBeInstanceOf(LockTimeoutError);
        expect((held as LockTimeoutError).holder?.pid).toBe(holder.pid);
        expect(readFileSync(path, 'utf8')).toBe(CONFIG);

        holder.stdin?.write('go\n');
        await waitForOutput(holder, 'released');
        await editConfigFile(path, [{ kind: 'set', key: 'port0.addr', value: '192.0.2.90' }], {
          lockTimeoutMs: 5000,
        });
        expect(readFileSync(path, 'utf8')).toContain('addr=192.0.2.90');
      } finally {
        holder.kill();
        await finished(holder);
      }
    });
  },
);

function finished(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve({ code: child.exitCode, stderr });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(text)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`process exited with ${code} before printing ${text}`)),
    );
  });
}

/** Returns the pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await finished(child);
  return child.pid as number;
}
