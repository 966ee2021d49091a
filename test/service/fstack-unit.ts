// A stand-in for F-Stack under the private systemd of test/helpers/systemd.ts. Its unit's
// process creates a tap named veth0 in a test netns and keeps it open, so the interface
// vanishes when the process exits and comes back empty at each start, as with F-Stack 1.25
// and later. Also runs the built CLI, in the foreground or as a long-running watch.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ipJson } from '../helpers/netns.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');
const tunModule = join(repoRoot, 'dist', 'rtnl', 'tun.js');
const addonPath = join(repoRoot, 'build', 'Release', 'fstack_kni.node');

/** Why the tests of the built CLI and addon cannot run, or undefined. */
export const buildSkipReason: string | undefined =
  existsSync(cliPath) && existsSync(tunModule) && existsSync(addonPath)
    ? undefined
    : 'dist/ or build/Release/fstack_kni.node is missing: run npm run install and npm run build first';

// Creates the tap in the namespace the unit runs in (NetworkNamespacePath=) and keeps the
// fd open until SIGTERM, like F-Stack's virtio_user.
const FAKE_FSTACK = `import { createTun } from ${JSON.stringify(tunModule)};
const tap = createTun({ name: process.argv[2] ?? 'veth0', tap: true });
process.on('SIGTERM', () => { tap.close(); process.exit(0); });
setInterval(() => {}, 1 << 30);
`;

/** Writes the stand-in script into `dir` and returns its path. */
export function writeFakeFstack(dir: string): string {
  const path = join(dir, 'fake-fstack.mjs');
  writeFileSync(path, FAKE_FSTACK);
  return path;
}

/** Returns a unit that runs the stand-in in the named netns, creating `iface` there. */
export function fakeFstackUnit(netns: string, script: string, iface = 'veth0'): string {
  return `[Unit]
Description=F-Stack stand-in holding ${iface} open in netns ${netns}
# Tests restart it many times in a row; systemd's default allows 5 starts in 10 s.
StartLimitIntervalSec=0

[Service]
Type=simple
NetworkNamespacePath=/run/netns/${netns}
ExecStart=${process.execPath} ${script} ${iface}
`;
}

/** Returns the runbook's f-stack.conf: port 0 at `addr`/24 with gateway .1, KNI accept with tcp_port=22. */
export function runbookConfig(
  addr = '192.0.2.79',
  kni = 'enable=1\nmethod=accept\ntcp_port=22\n',
): string {
  const prefix = addr.slice(0, addr.lastIndexOf('.'));
  return `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=${addr}
netmask=255.255.255.0
broadcast=${prefix}.255
gateway=${prefix}.1

[kni]
${kni}`;
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  flags: string[];
  addr_info?: Array<{
    family: string;
    local: string;
    prefixlen: number;
    broadcast?: string;
    scope?: string;
  }>;
}

/** ifindex of the interface in the netns, from `ip -j link show`; undefined when absent. */
export function ifindexOf(netns: string, name: string): number | undefined {
  return ipJson<IpLinkJson[]>(netns, 'link', 'show').find((link) => link.ifname === name)?.ifindex;
}

/** `ip -j` view of one interface: ifindex, UP, addresses with broadcast, main-table routes. */
export function interfaceState(
  netns: string,
  name: string,
): { index?: number; up: boolean; addresses: string[]; routes: string[] } {
  const link = ipJson<IpLinkJson[]>(netns, 'address', 'show').find(
    (candidate) => candidate.ifname === name,
  );
  const routes = ipJson<Array<{ dst: string; gateway?: string; dev?: string; protocol?: string }>>(
    netns,
    '-4',
    'route',
    'show',
  );
  return {
    ...(link === undefined ? {} : { index: link.ifindex }),
    up: link?.flags.includes('UP') ?? false,
    addresses: (link?.addr_info ?? [])
      .filter((a) => a.scope !== 'link')
      .map(
        (a) => `${a.local}/${a.prefixlen}${a.broadcast === undefined ? '' : ` brd ${a.broadcast}`}`,
      ),
    routes: routes
      .filter((r) => r.dev === name && r.protocol !== 'kernel')
      .map((r) => `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`}`),
  };
}

/** Result of one CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A CLI process started by spawnCli. */
export interface CliProcess {
  readonly pid: number;
  /** Output so far. */
  readonly stdout: string;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process exits; SIGKILLs it and rejects after the time limit. */
  readonly done: Promise<CliRun>;
}

/** Starts `node dist/cli/main.js ARGS` (optionally through a wrapper such as `ip netns exec NS`). */
export function spawnCli(
  args: string[],
  options: { prefix?: string[]; timeoutMs?: number } = {},
): CliProcess {
  const prefix = options.prefix ?? [];
  const [command, ...rest] = [...prefix, process.execPath, cliPath, ...args];
  const child = spawn(command as string, rest, {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;

  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `fstack-kni ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    pid: child.pid ?? -1,
    get stdout() {
      return stdout;
    },
    kill: (signal) => child.kill(signal),
    done,
  };
}

/** Runs the CLI to its end; see spawnCli. */
export function runCliAsync(
  args: string[],
  options: { prefix?: string[]; timeoutMs?: number } = {},
): Promise<CliRun> {
  return spawnCli(args, options).done;
}

/** One JSON log record of the watch command. */
export interface WatchRecord {
  time: string;
  level: string;
  event: string;
  interface?: string;
  [field: string]: unknown;
}

/** A running `fstack-kni watch --json-log`, its records collected as they arrive. */
export class WatchProcess {
  readonly records: WatchRecord[] = [];
  readonly child: ChildProcess;
  readonly stderrLines: string[] = [];
  readonly #exited: Promise<number | null>;
  #cursor = 0;
  #waiter:
    | { predicate: (record: WatchRecord) => boolean; resolve: (record: WatchRecord) => void }
    | undefined;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [cliPath, 'watch', '--json-log', ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        this.records.push(JSON.parse(line) as WatchRecord);
      } catch {
        this.records.push({ time: '', level: 'error', event: 'unparsable-line', line });
      }
      this.#match();
    });
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      this.stderrLines.push(line),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Resolves with the first record after the last one returned that matches. Rejects after
   * `timeoutMs` (a hang guard, not a timing check) or when the process exits first.
   */
  next(predicate: (record: WatchRecord) => boolean, timeoutMs = 20_000): Promise<WatchRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(
          new Error(
            `no matching watch record within ${timeoutMs} ms; last records:\n${this.#tail()}`,
          ),
        );
      }, timeoutMs);
      void this.#exited.then((code) => {
        if (this.#waiter === undefined) return;
        clearTimeout(timer);
        this.#waiter = undefined;
        reject(
          new Error(
            `watch exited with ${code} before a matching record; last records:\n${this.#tail()}`,
          ),
        );
      });
      this.#waiter = {
        predicate,
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
      };
      this.#match();
    });
  }

  /** Makes next() look only at records that arrive from now on. */
  skipToEnd(): void {
    this.#cursor = this.records.length;
  }

  /** Sends a signal to the watch process. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit code; kills the process with SIGKILL after `timeoutMs`. */
  async exit(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const result = await Promise.race([this.#exited, killed]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`watch (pid ${this.pid}) did not exit within ${timeoutMs} ms`);
    }
    return result;
  }

  /** Stops the process by pid: SIGTERM, then SIGKILL when it lingers. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    try {
      await this.exit(10_000);
    } catch {
      // Killed with SIGKILL by exit().
    }
  }

  #match(): void {
    if (this.#waiter === undefined) return;
    while (this.#cursor < this.records.length) {
      const record = this.records[this.#cursor++] as WatchRecord;
      if (this.#waiter.predicate(record)) {
        const { resolve } = this.#waiter;
        this.#waiter = undefined;
        resolve(record);
        return;
      }
    }
  }

  #tail(): string {
    return [
      ...this.records.slice(-15).map((record) => JSON.stringify(record)),
      ...this.stderrLines.slice(-5),
    ].join('\n');
  }
}
