// A private systemd user manager for service tests, isolated from the host's systemd.
//
// How it is set up (all as root):
// - `unshare --mount --propagation slave` gives the manager its own mount namespace, where
//   a tmpfs on /run/systemd contains an empty /run/systemd/system: systemd --user refuses to
//   start unless that directory exists, and the host's /run/systemd stays untouched. The
//   tmpfs also contains /run/systemd/inaccessible/, which sandboxed units need.
//   Slave rather than private propagation lets mounts made later on the host reach the
//   manager (nothing flows back), so units can use NetworkNamespacePath=/run/netns/NAME
//   for a namespace created by `ip netns add` after the manager started.
// - Run as root, this user manager applies the sandboxing settings of a unit (DynamicUser=,
//   capabilities, seccomp, mount namespaces), as test/service/watch-sandbox.test.ts shows.
// - Before exec, the launcher moves itself into a fresh cgroup (fstack-kni-test-<pid>) in
//   every cgroup hierarchy. systemd --user takes its own cgroup as its root and moves every
//   process of that root into init.scope. Started in the host's root cgroup, it would move
//   all host processes there (seen with systemd 252 on a host without systemd as PID 1).
// - The manager runs with XDG_RUNTIME_DIR=DIR and XDG_CONFIG_HOME=DIR/cfg. Units go in
//   DIR/cfg/systemd/user. Its session bus is its own dbus.socket/dbus.service pair (written
//   there too, so the vendor ones from dbus-user-session are not needed): systemd --user
//   only puts org.freedesktop.systemd1 on a bus whose dbus.socket and dbus.service units it
//   runs itself, and its dbus.socket would take over any socket already at DIR/bus.
//   Every process therefore is a child of the manager and ends with it.
// - Tests reach it at unix:path=DIR/bus (a bus, with Hello) or at
//   unix:path=DIR/systemd/private (direct, like systemctl as root).
//
// `systemctl --user` and `busctl` with XDG_RUNTIME_DIR=DIR serve as oracles independent of
// the library.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SYSTEMD_BINARY = '/lib/systemd/systemd';

function findProgram(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = join(directory, name);
    if (directory !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function findSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'systemd tests need root (a private mount namespace, a tmpfs on /run/systemd and a cgroup)';
  }
  if (!existsSync(SYSTEMD_BINARY))
    return `systemd tests need ${SYSTEMD_BINARY} (Debian package systemd)`;
  const missing = ['dbus-daemon', 'unshare', 'systemctl', 'busctl'].filter(
    (name) => findProgram(name) === undefined,
  );
  if (missing.length > 0)
    return `systemd tests need ${missing.join(', ')} in PATH (packages dbus-daemon, util-linux, systemd)`;
  return undefined;
}

/** Why the private systemd cannot run here, or undefined when it can. */
export const systemdSkipReason: string | undefined = findSkipReason();

export interface StartOptions {
  /** How long to wait for org.freedesktop.systemd1 on the bus, in ms; 20 000 unless set. */
  readyTimeoutMs?: number;
  /**
   * Lets processes of every user connect to the session bus, as the system bus does, so a
   * unit with User=nobody can reach systemd there. Unless set, dbus-daemon's session
   * configuration admits only the user it runs as, root. A DynamicUser= unit still cannot
   * connect: dbus-daemon drops a client whose uid it cannot look up, and nss-systemd looks
   * up dynamic users only through PID 1, which is not this manager.
   */
  busOpenToAllUsers?: boolean;
}

/** A running private systemd user manager. */
export interface PrivateSystemd {
  /** Its XDG_RUNTIME_DIR, a fresh directory under the system temp dir. */
  readonly dir: string;
  /** Its session bus, where org.freedesktop.systemd1 is served. */
  readonly busAddress: string;
  /** Its private socket, for direct connections (no bus daemon). */
  readonly privateAddress: string;
  /** Where unit files go. */
  readonly unitDir: string;
  /** pid of systemd --user. */
  readonly pid: number;
  /** Writes DIR/cfg/systemd/user/NAME without reloading. */
  writeUnitFile(name: string, text: string): Promise<void>;
  /** Writes a unit file, then reloads the manager (Manager.Reload, via systemctl daemon-reload). */
  writeUnit(name: string, text: string): Promise<void>;
  /** Runs `systemctl --user ARGS` against this manager and returns its stdout. */
  systemctl(...args: string[]): Promise<string>;
  /** Reads unit properties with `systemctl --user show`, e.g. show('x.service', 'MainPID'). */
  show(unit: string, ...properties: string[]): Promise<Record<string, string>>;
  /** Stops the manager and everything it started, removes its cgroups and directory. Safe to call twice. */
  stop(): Promise<void>;
}

// The manager's own session bus, replacing the vendor units of dbus-user-session.
const DBUS_SOCKET_UNIT = `[Unit]
Description=Session bus socket of the test manager

[Socket]
ListenStream=%t/bus
`;

function dbusServiceUnit(dbusDaemon: string, configFile: string | undefined): string {
  const config = configFile === undefined ? '--session' : `--config-file=${configFile}`;
  return `[Unit]
Description=Session bus of the test manager
Requires=dbus.socket

[Service]
ExecStart=${dbusDaemon} ${config} --address=systemd: --nofork --nopidfile --systemd-activation
`;
}

// The policy of dbus-daemon's session.conf, plus <allow user="*"/>: any user may connect.
// dbus-daemon requires a <listen> element; --address=systemd: replaces it.
const OPEN_BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

// Runs inside the new mount namespace as `sh launch.sh DIR`; $$ becomes systemd's pid.
const LAUNCH_SCRIPT = `set -eu
dir=$1
cgroup=fstack-kni-test-$$

# Join a fresh cgroup in every hierarchy (cpuset is skipped: a new cpuset cgroup has no CPUs).
for mount in $(sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\) .* - cgroup2\\{0,1\\} .*/\\1/p' /proc/self/mountinfo); do
  case $mount in */cpuset) continue ;; esac
  if mkdir "$mount/$cgroup" 2>/dev/null; then
    echo "$mount/$cgroup" >> "$dir/cgroups"
    echo $$ > "$mount/$cgroup/cgroup.procs" || echo "cannot join $mount/$cgroup" >&2
  fi
done
if ! grep -q "/$cgroup\\$" /proc/self/cgroup; then
  echo "cannot move into a private cgroup; refusing to start systemd --user in the host's cgroup" >&2
  exit 1
fi

[ -d /run/systemd ] || mkdir /run/systemd
mount -t tmpfs -o mode=0755 fstack-kni-test /run/systemd
mkdir /run/systemd/system
# What PID 1 creates at boot: the nodes that sandboxing settings such as ProtectHome=
# mount over paths to hide them. Without them a sandboxed unit fails with 226/NAMESPACE.
mkdir -m 0755 /run/systemd/inaccessible
mkdir -m 0000 /run/systemd/inaccessible/dir
install -m 0000 /dev/null /run/systemd/inaccessible/reg
mkfifo -m 0000 /run/systemd/inaccessible/fifo
mknod -m 0000 /run/systemd/inaccessible/chr c 0 0
mknod -m 0000 /run/systemd/inaccessible/blk b 0 0

export HOME="$dir/home" XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir/cfg" XDG_DATA_HOME="$dir/data"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/bus"
exec ${SYSTEMD_BINARY} --user
`;

/**
 * Starts a private systemd user manager and resolves once org.freedesktop.systemd1 is on
 * its bus. Call stop() in afterAll. Rejects (after cleaning up) when it does not come up.
 */
export async function startPrivateSystemd(options: StartOptions = {}): Promise<PrivateSystemd> {
  if (systemdSkipReason !== undefined) throw new Error(systemdSkipReason);
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;

  const dir = mkdtempSync(join(tmpdir(), 'fstack-kni-systemd-'));
  const unitDir = join(dir, 'cfg', 'systemd', 'user');
  mkdirSync(join(unitDir, 'sockets.target.wants'), { recursive: true });
  mkdirSync(join(dir, 'home'));
  await writeFile(join(unitDir, 'dbus.socket'), DBUS_SOCKET_UNIT);
  let busConfig: string | undefined;
  if (options.busOpenToAllUsers === true) {
    busConfig = join(dir, 'bus.conf');
    await writeFile(busConfig, OPEN_BUS_CONFIG);
  }
  await writeFile(
    join(unitDir, 'dbus.service'),
    dbusServiceUnit(findProgram('dbus-daemon') ?? 'dbus-daemon', busConfig),
  );
  symlinkSync('../dbus.socket', join(unitDir, 'sockets.target.wants', 'dbus.socket'));
  await writeFile(join(dir, 'launch.sh'), LAUNCH_SCRIPT);

  const logPath = join(dir, 'systemd.log');
  const log = openSync(logPath, 'a');
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'slave', 'sh', join(dir, 'launch.sh'), dir],
    {
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);

  const systemd = new RunningSystemd(dir, unitDir, child, logPath);
  try {
    await systemd.waitReady(readyTimeoutMs);
  } catch (error) {
    await systemd.stop();
    throw error;
  }
  return systemd;
}

class RunningSystemd implements PrivateSystemd {
  readonly busAddress: string;
  readonly privateAddress: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #logPath: string;
  readonly #killOnExit = (): void => this.#killSync();
  #stopped = false;

  constructor(
    readonly dir: string,
    readonly unitDir: string,
    child: ChildProcess,
    logPath: string,
  ) {
    this.busAddress = `unix:path=${dir}/bus`;
    this.privateAddress = `unix:path=${dir}/systemd/private`;
    this.#child = child;
    this.#logPath = logPath;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.once('error', () => undefined);
    // Last resort if the test process exits without afterAll.
    process.once('exit', this.#killOnExit);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (
        this.#child.exitCode !== null ||
        this.#child.signalCode !== null ||
        this.#child.pid === undefined
      ) {
        throw new Error(`systemd --user exited during startup:\n${this.#logTail()}`);
      }
      if (existsSync(join(this.dir, 'systemd', 'private')) && (await this.#systemdOnBus())) return;
      if (Date.now() > deadline) {
        throw new Error(
          `org.freedesktop.systemd1 did not appear on ${this.busAddress} within ${timeoutMs} ms:\n${this.#logTail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  // The first connection to DIR/bus also starts the manager's dbus.service.
  async #systemdOnBus(): Promise<boolean> {
    try {
      const { stdout } = await execFileAsync('busctl', [
        `--address=${this.busAddress}`,
        '--timeout=2',
        'call',
        'org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus',
        'NameHasOwner',
        's',
        'org.freedesktop.systemd1',
      ]);
      return stdout.trim() === 'b true';
    } catch {
      return false;
    }
  }

  async writeUnitFile(name: string, text: string): Promise<void> {
    await writeFile(join(this.unitDir, name), text);
  }

  async writeUnit(name: string, text: string): Promise<void> {
    await this.writeUnitFile(name, text);
    await this.systemctl('daemon-reload');
  }

  async systemctl(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('systemctl', ['--user', ...args], {
      env: { ...process.env, XDG_RUNTIME_DIR: this.dir, DBUS_SESSION_BUS_ADDRESS: this.busAddress },
    });
    return stdout;
  }

  async show(unit: string, ...properties: string[]): Promise<Record<string, string>> {
    const output = await this.systemctl(
      'show',
      unit,
      ...properties.map((property) => `--property=${property}`),
    );
    const values: Record<string, string> = {};
    for (const line of output.split('\n')) {
      const equals = line.indexOf('=');
      if (equals > 0) values[line.slice(0, equals)] = line.slice(equals + 1);
    }
    return values;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    process.removeListener('exit', this.#killOnExit);

    // SIGTERM makes a user manager start exit.target, which stops every unit, then exit.
    if (this.#running()) {
      this.#child.kill('SIGTERM');
      if (!(await this.#waitExit(15_000))) {
        this.#child.kill('SIGKILL');
        await this.#waitExit(5_000);
      }
    }

    const leftovers = await this.#removeCgroups();
    await rm(this.dir, { recursive: true, force: true });
    if (this.#running()) throw new Error(`systemd --user (pid ${this.pid}) did not exit`);
    if (leftovers.length > 0)
      throw new Error(`could not remove test cgroups: ${leftovers.join(', ')}`);
  }

  #running(): boolean {
    return (
      this.#child.pid !== undefined &&
      this.#child.exitCode === null &&
      this.#child.signalCode === null
    );
  }

  async #waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const exited = await Promise.race([this.#exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return exited;
  }

  // Kills whatever is left in the test cgroups (normally nothing), then removes them
  // deepest first. Returns the directories that could not be removed.
  async #removeCgroups(): Promise<string[]> {
    let roots: string[];
    try {
      roots = (await readFile(join(this.dir, 'cgroups'), 'utf8'))
        .split('\n')
        .filter((line) => line !== '');
    } catch {
      return [];
    }

    let remaining: string[] = [];
    for (let attempt = 0; attempt < 50; attempt += 1) {
      remaining = [];
      for (const root of roots) {
        for (const directory of await cgroupTree(root)) {
          for (const pid of await cgroupPids(directory)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Already gone.
            }
          }
          try {
            await rmdir(directory);
          } catch {
            if (existsSync(directory)) remaining.push(directory);
          }
        }
      }
      if (remaining.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return remaining;
  }

  #killSync(): void {
    if (this.#running()) this.#child.kill('SIGKILL');
    try {
      for (const root of readFileSync(join(this.dir, 'cgroups'), 'utf8').split('\n')) {
        if (root !== '') rmdirSync(root);
      }
    } catch {
      // Best effort: the process is exiting, and cgroups still holding processes stay.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #logTail(): string {
    try {
      return readFileSync(this.#logPath, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

// Directories of a cgroup subtree, deepest first.
async function cgroupTree(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const result: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.isDirectory()) result.push(...(await cgroupTree(join(root, entry.name))));
  }
  result.push(root);
  return result;
}

async function cgroupPids(directory: string): Promise<number[]> {
  try {
    const text = await readFile(join(directory, 'cgroup.procs'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}
