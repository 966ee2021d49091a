// systemd/fstack-kni-watch.service run by a real systemd, with the sandbox it ships. The
// unit file is installed unchanged. A drop-in sets only what a site sets (the program, its
// --config and --unit, and here the test's network namespace) and the test's plumbing: the
// bus of the private systemd, a log file, and read-only binds of the files that
// PrivateTmp= would hide. `ip -j`, /proc/<MainPID> and `systemctl --user show` are the
// oracles. The watcher's JSON log serves only where nothing else shows the fact (a SIGHUP,
// a job end, a clean stop) and to explain failures.
//
// A user manager started as root (test/helpers/systemd.ts) applies the whole sandbox:
// DynamicUser=, the capability sets, no_new_privs, seccomp and the mount namespace. The
// dynamic user cannot reach that manager's bus, so the watcher logs unit-watch-failed until
// the last test, which checks the D-Bus path as the user nobody.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';
import {
  buildSkipReason,
  cliPath,
  fakeFstackUnit,
  interfaceState,
  repoRoot,
  runbookConfig,
  type WatchRecord,
  writeFakeFstack,
} from './fstack-unit.js';

const UNIT = 'fstack-kni-watch.service';
// The shipped unit names F-Stack's unit fstack_ha.service, so the stand-in takes that name.
const FSTACK_UNIT = 'fstack_ha.service';
const unitPath = join(repoRoot, 'systemd', UNIT);

// CAP_NET_ADMIN is capability 12, and /proc/PID/status prints each set as 16 hex digits.
const NET_ADMIN_ONLY = (1n << 12n).toString(16).padStart(16, '0');
// systemd.exec(5): "Dynamic users/groups are allocated from the UID/GID range 61184...65519".
const DYNAMIC_UID_MIN = 61184;
const DYNAMIC_UID_MAX = 65519;

// ProtectHome= hides these and PrivateTmp= replaces these, so a program or checkout there
// is invisible to the unit unless the drop-in binds it back.
const HIDDEN_PREFIXES = ['/home/', '/root/', '/run/user/', '/tmp/', '/var/tmp/'];

/** Returns the checkout and Node's install directory when the sandbox would hide them. */
function hiddenProgramPaths(): string[] {
  const nodeInstall = dirname(dirname(process.execPath));
  return [repoRoot, nodeInstall].filter((path) =>
    HIDDEN_PREFIXES.some((hidden) => `${path}/`.startsWith(hidden)),
  );
}

const skipReason = systemdSkipReason ?? kernelSkipReason ?? buildSkipReason;

/** Polls `check` until it returns true. Throws after `timeoutMs`, a hang guard and not a timing check. */
async function waitFor(
  check: () => boolean | Promise<boolean>,
  description: string,
  describeState: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${description}\n${describeState()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fields of /proc/PID/status, e.g. status.CapEff. */
function procStatus(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** One line of /proc/PID/mountinfo (proc(5)). */
interface MountEntry {
  /** The directory of the mounted file system that appears at mountPoint. */
  root: string;
  mountPoint: string;
  /** Per-mount options, such as ro or nosuid. */
  options: string[];
  fsType: string;
  /** Options of the file system itself, such as hidepid=invisible. */
  superOptions: string[];
}

/** Maps each mount point of the process to the mount visible there (the last one mounted). */
function visibleMounts(pid: number): Map<string, MountEntry> {
  const mounts = new Map<string, MountEntry>();
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    if (line === '') continue;
    const [before, after] = line.split(' - ') as [string, string];
    const fields = before.split(' ');
    const [fsType, , superOptions] = after.split(' ');
    const entry: MountEntry = {
      root: fields[3] as string,
      mountPoint: fields[4] as string,
      options: (fields[5] as string).split(','),
      fsType: fsType as string,
      superOptions: (superOptions ?? '').split(','),
    };
    mounts.set(entry.mountPoint, entry);
  }
  return mounts;
}

/** Inode of a namespace file such as /proc/PID/ns/net, as `net:[4026531840]` names it. */
function namespaceId(path: string): string {
  return readlinkSync(path);
}

describe.skipIf(skipReason !== undefined)(
  `${UNIT} under its sandbox${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let systemd: PrivateSystemd;
    let netns = '';
    let dir = '';
    let config = '';
    let logPath = '';
    let firstPid = 0;

    /** Parses the watcher's JSON log as written so far. */
    function records(): WatchRecord[] {
      if (!existsSync(logPath)) return [];
      return readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as WatchRecord);
    }

    function logTail(): string {
      if (!existsSync(logPath)) return '(no watcher log)';
      return readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
    }

    async function mainPid(): Promise<number> {
      return Number((await systemd.show(UNIT, 'MainPID')).MainPID);
    }

    function veth0(): ReturnType<typeof interfaceState> {
      return interfaceState(netns, 'veth0');
    }

    const configuredAs = (address: string) => (): boolean => {
      const state = veth0();
      return (
        state.up &&
        JSON.stringify(state.addresses) === JSON.stringify([`${address}/24 brd 192.0.2.255`]) &&
        JSON.stringify(state.routes) === JSON.stringify(['default via 192.0.2.1'])
      );
    };

    /** Replaces the file the way editors do: write a new file, rename it over the old one. */
    function replaceConfig(text: string): void {
      writeFileSync(`${config}.new`, text, { mode: 0o644 });
      renameSync(`${config}.new`, config);
    }

    beforeAll(async () => {
      netns = createTestNetns('fksandbox');
      dir = mkdtempSync(join(tmpdir(), 'fstack-kni-sandbox-'));
      // The dynamic user must reach f-stack.conf, as it reaches /etc/f-stack.conf (0644).
      chmodSync(dir, 0o755);
      config = join(dir, 'f-stack.conf');
      writeFileSync(config, runbookConfig(), { mode: 0o644 });
      logPath = join(dir, 'watch.log');
      const script = writeFakeFstack(dir);

      // The last test runs the watcher as the user nobody, whom the default test bus rejects.
      systemd = await startPrivateSystemd({ busOpenToAllUsers: true });
      const busSocket = systemd.busAddress.replace(/^unix:path=/, '');
      await systemd.writeUnitFile(FSTACK_UNIT, fakeFstackUnit(netns, script));
      await systemd.writeUnitFile(UNIT, readFileSync(unitPath, 'utf8'));
      mkdirSync(join(systemd.unitDir, `${UNIT}.d`));
      await systemd.writeUnitFile(
        `${UNIT}.d/site.conf`,
        `[Service]
# What a site sets: the program, f-stack.conf and F-Stack's unit. The test's systemd is
# reached on its own bus rather than the system bus, and logs go to a file because the test
# manager has no journal.
ExecStart=
ExecStart=${process.execPath} ${cliPath} watch --json-log --config ${config} --unit ${FSTACK_UNIT} --bus ${systemd.busAddress}
# F-Stack's interfaces live in the test namespace.
NetworkNamespacePath=/run/netns/${netns}
# PrivateTmp= hides the host's /tmp, where the config and the bus socket of the test are;
# these binds show them, read-only, at the same paths in the unit's private /tmp. A site
# installs fstack-kni and node outside the hidden paths; a checkout or node under them is
# bound back the same way.
BindReadOnlyPaths=${[dir, busSocket, ...hiddenProgramPaths()].join(' ')}
StandardOutput=append:${logPath}
StandardError=append:${logPath}
`,
      );
      await systemd.systemctl('daemon-reload');
    });

    afterAll(async () => {
      await systemd?.stop();
      if (netns !== '') removeTestNetns(netns);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('starts with F-Stack once enabled', async () => {
      // EnableUnitFiles on the manager's bus, so the manager links the unit into its own
      // config directory following [Install] WantedBy=. `systemctl --user enable` works on the
      // files of this process's home directory instead, and the call on the private socket
      // fails with EBADR (systemd 252).
      execFileSync('busctl', [
        `--address=${systemd.busAddress}`,
        'call',
        'org.freedesktop.systemd1',
        '/org/freedesktop/systemd1',
        'org.freedesktop.systemd1.Manager',
        'EnableUnitFiles',
        'asbb',
        '1',
        UNIT,
        'false',
        'false',
      ]);
      await systemd.systemctl('daemon-reload');
      expect(existsSync(join(systemd.unitDir, `${FSTACK_UNIT}.wants`, UNIT))).toBe(true);

      await systemd.systemctl('start', FSTACK_UNIT);
      await waitFor(
        async () => (await systemd.show(UNIT, 'SubState')).SubState === 'running',
        `${UNIT} running`,
        logTail,
      );

      const state = await systemd.show(UNIT, 'ActiveState', 'SubState', 'MainPID');
      expect(state.ActiveState).toBe('active');
      expect(state.SubState).toBe('running');
      expect(Number(state.MainPID)).toBeGreaterThan(0);
      firstPid = Number(state.MainPID);
    });

    it('configures veth0 from f-stack.conf', async () => {
      await waitFor(configuredAs('192.0.2.79'), 'veth0 configured', logTail);

      const state = veth0();
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it('restores a deleted address and its route', async () => {
      ip(netns, 'address', 'delete', '192.0.2.79/24', 'dev', 'veth0');
      await waitFor(configuredAs('192.0.2.79'), 'veth0 restored', logTail);

      const state = veth0();
      expect(state.addresses).toEqual(['192.0.2.79/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it('brings veth0 back up', async () => {
      ip(netns, 'link', 'set', 'veth0', 'down');
      await waitFor(() => veth0().up, 'veth0 up again', logTail);

      expect(veth0().up).toBe(true);
      await waitFor(configuredAs('192.0.2.79'), 'veth0 configured after link up', logTail);
      expect(veth0().routes).toEqual(['default via 192.0.2.1']);
    });

    it('runs as a dynamic user', async () => {
      const status = procStatus(await mainPid());
      const [realUid, effectiveUid, savedUid, fsUid] = (status.Uid ?? '').split(/\s+/).map(Number);

      expect(realUid).toBeGreaterThanOrEqual(DYNAMIC_UID_MIN);
      expect(realUid).toBeLessThanOrEqual(DYNAMIC_UID_MAX);
      expect(effectiveUid).toBe(realUid);
      expect(savedUid).toBe(realUid);
      expect(fsUid).toBe(realUid);
      expect(status.Gid?.split(/\s+/)[0]).toBe(String(realUid));
    });

    it('holds CAP_NET_ADMIN and no other capability', async () => {
      const status = procStatus(await mainPid());

      expect(status.CapBnd).toBe(NET_ADMIN_ONLY);
      expect(status.CapPrm).toBe(NET_ADMIN_ONLY);
      expect(status.CapEff).toBe(NET_ADMIN_ONLY);
      expect(status.CapAmb).toBe(NET_ADMIN_ONLY);
    });

    it('runs with no_new_privs, a seccomp filter and umask 0077', async () => {
      const status = procStatus(await mainPid());

      expect(status.NoNewPrivs).toBe('1');
      // 2 is SECCOMP_MODE_FILTER: SystemCallFilter=, RestrictAddressFamilies=,
      // RestrictNamespaces= and the other settings that systemd implements with seccomp.
      expect(status.Seccomp).toBe('2');
      expect(status.Umask).toBe('0077');
    });

    it('sees the file system read-only, with homes and /tmp hidden', async () => {
      const mounts = visibleMounts(await mainPid());

      // ProtectSystem=strict
      expect(mounts.get('/')?.options).toContain('ro');
      // ProtectHome=yes: an empty directory that no user may enter is mounted over each home.
      for (const home of ['/home', '/root'].filter((path) => existsSync(path))) {
        expect(mounts.get(home)?.root, home).toBe('/inaccessible/dir');
      }
      // PrivateTmp=yes: /tmp and /var/tmp are directories of their own.
      expect(mounts.get('/tmp')?.root).toMatch(
        /\/systemd-private-[^/]+-fstack-kni-watch\.service-/,
      );
      expect(mounts.get('/var/tmp')?.root).toMatch(
        /\/systemd-private-[^/]+-fstack-kni-watch\.service-/,
      );
      // The drop-in's BindReadOnlyPaths= shows the test directory read-only.
      expect(mounts.get(dir)?.options).toContain('ro');
    });

    it('sees private /dev and read-only kernel interfaces', async () => {
      const mounts = visibleMounts(await mainPid());

      // PrivateDevices=yes
      expect(mounts.get('/dev')?.fsType).toBe('tmpfs');
      // ProtectProc=invisible
      expect(mounts.get('/proc')?.superOptions).toContain('hidepid=invisible');
      // ProtectKernelTunables=yes
      expect(mounts.get('/proc/sys')?.options).toContain('ro');
      expect(mounts.get('/sys')?.options).toContain('ro');
      // ProtectControlGroups=yes
      expect(mounts.get('/sys/fs/cgroup')?.options).toContain('ro');
      // ProtectKernelLogs=yes
      expect(mounts.get('/proc/kmsg')?.root).toBe('/inaccessible/reg');
    });

    it('runs in its own mount and UTS namespaces and the test netns', async () => {
      const pid = await mainPid();
      const manager = `/proc/${systemd.pid}/ns`;

      // PrivateMounts= and the settings above give the unit a mount namespace of its own,
      // apart from the one the test manager runs in.
      expect(namespaceId(`/proc/${pid}/ns/mnt`)).not.toBe(namespaceId(`${manager}/mnt`));
      // ProtectHostname=yes
      expect(namespaceId(`/proc/${pid}/ns/uts`)).not.toBe(namespaceId(`${manager}/uts`));
      // NetworkNamespacePath=
      expect(namespaceId(`/proc/${pid}/ns/net`)).toBe(
        `net:[${statSync(`/run/netns/${netns}`).ino}]`,
      );
    });

    it('applies an edited f-stack.conf', async () => {
      replaceConfig(runbookConfig('192.0.2.80'));
      await waitFor(configuredAs('192.0.2.80'), 'veth0 at 192.0.2.80', logTail);

      const state = veth0();
      expect(state.addresses).toEqual(['192.0.2.80/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
    });

    it('reloads f-stack.conf on systemctl reload', async () => {
      const earlier = records().length;
      const since = (): WatchRecord[] => records().slice(earlier);
      const isSighupReload = (record: WatchRecord): boolean =>
        record.event === 'config-reload' && record.reason === 'SIGHUP';

      // ExecReload= runs /bin/kill in the same sandbox.
      await systemd.systemctl('reload', UNIT);
      await waitFor(() => since().some(isSighupReload), 'config-reload after SIGHUP', logTail);

      expect(since().find((record) => record.event === 'signal')?.signal).toBe('SIGHUP');
      expect(since().filter(isSighupReload)).toHaveLength(1);
    });

    it('is restarted with F-Stack and configures the new veth0', async () => {
      const previousIndex = veth0().index;

      await systemd.systemctl('restart', FSTACK_UNIT);
      await waitFor(
        async () =>
          (await systemd.show(UNIT, 'SubState')).SubState === 'running' &&
          (await mainPid()) !== firstPid,
        `${UNIT} restarted by PartOf=`,
        logTail,
      );
      await waitFor(
        () => veth0().index !== previousIndex && configuredAs('192.0.2.80')(),
        'new veth0 configured',
        logTail,
      );

      const state = veth0();
      expect(state.index).not.toBe(previousIndex);
      expect(state.up).toBe(true);
      expect(state.addresses).toEqual(['192.0.2.80/24 brd 192.0.2.255']);
      expect(state.routes).toEqual(['default via 192.0.2.1']);
      expect(await mainPid()).not.toBe(firstPid);
    });

    it('never failed and stops with exit code 0', async () => {
      const running = await systemd.show(UNIT, 'SubState', 'NRestarts');
      expect(running.SubState).toBe('running');
      expect(running.NRestarts).toBe('0');
      expect(records().filter((record) => record.level === 'error')).toEqual([]);

      await systemd.systemctl('stop', UNIT);

      const state = await systemd.show(UNIT, 'ActiveState', 'Result', 'ExecMainStatus');
      expect(state.ActiveState).toBe('inactive');
      expect(state.Result).toBe('success');
      expect(state.ExecMainStatus).toBe('0');
      expect(records().at(-1)?.event).toBe('stop');
      expect(records().at(-1)?.reason).toBe('SIGTERM received');
    });

    // dbus-daemon drops a client whose uid it cannot look up, and nss-systemd looks up
    // dynamic users only through PID 1 (io.systemd.DynamicUser in /run/systemd/userdb/),
    // which a user manager does not provide. So the watcher above logged unit-watch-failed,
    // and this variant checks the D-Bus path under the rest of the sandbox as the user nobody.
    it('reaches systemd over D-Bus as a static user', async () => {
      await systemd.writeUnitFile(
        `${UNIT}.d/static-user.conf`,
        '[Service]\nDynamicUser=no\nUser=nobody\n',
      );
      await systemd.systemctl('daemon-reload');
      const earlier = records().length;
      const since = (): WatchRecord[] => records().slice(earlier);
      await systemd.systemctl('start', UNIT);
      await waitFor(
        () => since().some((record) => record.event === 'start'),
        'start record',
        logTail,
      );
      const pid = await mainPid();

      expect(procStatus(pid).CapEff).toBe(NET_ADMIN_ONLY);
      expect(procStatus(pid).Seccomp).toBe('2');
      expect(since().filter((record) => record.event === 'unit-watch-failed')).toEqual([]);
      const peers = JSON.parse(
        execFileSync('busctl', [`--address=${systemd.busAddress}`, '--json=short', 'list'], {
          encoding: 'utf8',
        }),
      ) as Array<{ name: string; pid: number | null; user: string | null }>;
      const watcher = peers.find((peer) => peer.pid === pid);
      expect(watcher?.user, JSON.stringify(peers)).toBe('nobody');

      // Starting the running F-Stack unit again is a job that ends at once, and systemd
      // sends its JobRemoved signal to the subscribed watcher.
      await systemd.systemctl('start', FSTACK_UNIT);
      await waitFor(
        () => since().some((record) => record.event === 'unit-job'),
        'unit-job record',
        logTail,
      );
      const job = since().find((record) => record.event === 'unit-job');
      expect(job?.unit).toBe(FSTACK_UNIT);
      expect(job?.result).toBe('done');
    });
  },
);
