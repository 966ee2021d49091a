// SystemdManager against a private systemd user manager (see test/helpers/systemd.ts).
// `systemctl --user show` is the oracle for unit state.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/addon.js';
import { DBusConnection } from '../../src/service/bus.js';
import { SystemdError } from '../../src/service/errors.js';
import { SystemdManager } from '../../src/service/manager.js';
import { createTestNetns, ipJson, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd, systemdSkipReason } from '../helpers/systemd.js';

const JOB_PATH = /^\/org\/freedesktop\/systemd1\/job\/\d+$/;
const MANAGER = '/org/freedesktop/systemd1';
const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';
const UNIT_IFACE_PREFIX = 'org.freedesktop.systemd1.';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

const UNITS: Record<string, string> = {
  'sleeper.service': '[Service]\nType=exec\nExecStart=/bin/sleep 1000\n',
  'sleeper@.service': '[Service]\nType=exec\nExecStart=/bin/sleep 1000\n',
  'false.service': '[Service]\nType=oneshot\nExecStart=/bin/false\n',
  'slow.service': '[Service]\nType=exec\nExecStartPre=/bin/sleep 30\nExecStart=/bin/sleep 1000\n',
};

/** Runs `fn` with environment variables replaced, restoring them afterwards. */
async function withEnv<T>(values: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Resolves with the rejection of `promise`, failing when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<SystemdError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SystemdError);
    return error as SystemdError;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(systemdSkipReason !== undefined)('SystemdManager with a private systemd', () => {
  let systemd: PrivateSystemd;
  let manager: SystemdManager;

  beforeAll(async () => {
    systemd = await startPrivateSystemd();
    for (const [name, text] of Object.entries(UNITS)) await systemd.writeUnitFile(name, text);
    await systemd.systemctl('daemon-reload');
    manager = await SystemdManager.connect({ bus: { address: systemd.busAddress } });
  });

  afterAll(async () => {
    manager?.close();
    await systemd?.stop();
  });

  it('connects through the bus', async () => {
    const versionLine = (await systemd.systemctl('--version')).split('\n')[0] ?? '';

    expect(manager.direct).toBe(false);
    expect(manager.address).toBe(systemd.busAddress);
    expect(versionLine).toContain(`(${manager.version})`);
  });

  it('starts, restarts and stops a unit', async () => {
    const started = await manager.startUnit('sleeper.service');
    expect(started.unit).toBe('sleeper.service');
    expect(started.result).toBe('done');
    expect(started.job).toMatch(JOB_PATH);
    expect(started.durationMs).toBeGreaterThanOrEqual(0);

    const running = await manager.unitState('sleeper.service');
    const shown = await systemd.show('sleeper.service', 'MainPID', 'ActiveEnterTimestamp');
    expect(running.unit).toBe('sleeper.service');
    expect(running.loadState).toBe('loaded');
    expect(running.activeState).toBe('active');
    expect(running.subState).toBe('running');
    expect(running.result).toBe('success');
    expect(running.mainPid).toBe(Number(shown.MainPID));
    expect(running.mainPid).toBeGreaterThan(0);
    expect(running.nRestarts).toBe(0);
    expect(running.activeEnterTimestamp).toBeInstanceOf(Date);
    expect(running.execMainStartTimestamp).toBeInstanceOf(Date);
    expect(running.fragmentPath).toBe(join(systemd.unitDir, 'sleeper.service'));

    const restarted = await manager.restartUnit('sleeper.service');
    expect(restarted.result).toBe('done');
    expect(restarted.job).not.toBe(started.job);
    const afterRestart = await manager.unitState('sleeper.service');
    expect(afterRestart.activeState).toBe('active');
    expect(afterRestart.mainPid).toBe(
      Number((await systemd.show('sleeper.service', 'MainPID')).MainPID),
    );
    expect(afterRestart.mainPid).not.toBe(running.mainPid);

    const stopped = await manager.stopUnit('sleeper.service');
    expect(stopped.result).toBe('done');
    const inactive = await manager.unitState('sleeper.service');
    expect(inactive.activeState).toBe('inactive');
    expect(inactive.subState).toBe('dead');
    expect(inactive.mainPid).toBe(0);
    expect((await systemd.show('sleeper.service', 'ActiveState')).ActiveState).toBe('inactive');
  });

  it('reports a failing unit', async () => {
    const outcome = await manager.startUnit('false.service');
    expect(outcome.result).toBe('failed');
    expect(outcome.job).toMatch(JOB_PATH);

    const state = await manager.unitState('false.service');
    expect(state.activeState).toBe('failed');
    expect(state.result).toBe('exit-code');
    expect((await systemd.show('false.service', 'Result')).Result).toBe('exit-code');
  });

  it('rejects an unknown unit with NoSuchUnit', async () => {
    const started = await rejectionOf(manager.startUnit('no-such-unit.service'));
    expect(started.code).toBe('ENOSUCHUNIT');
    expect(started.dbusError).toBe('org.freedesktop.systemd1.NoSuchUnit');
    expect(started.unit).toBe('no-such-unit.service');
    expect(started.message).toContain('no-such-unit.service');

    const stopped = await rejectionOf(manager.stopUnit('no-such-unit.service'));
    expect(stopped.code).toBe('ENOSUCHUNIT');
    expect(stopped.dbusError).toBe('org.freedesktop.systemd1.NoSuchUnit');

    const state = await rejectionOf(manager.unitState('no-such-unit.service'));
    expect(state.code).toBe('ENOSUCHUNIT');
    expect(state.unit).toBe('no-such-unit.service');
    expect(state.message).toContain('no-such-unit.service');
  });

  it('times out a slow job', async () => {
    const error = await rejectionOf(manager.startUnit('slow.service', { timeoutMs: 500 }));
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.unit).toBe('slow.service');
    expect(error.job).toMatch(JOB_PATH);
    expect(error.message).toContain('slow.service');
    expect(error.message).toContain(error.job);

    // The job was left to systemd: the unit is still starting until it is stopped.
    expect((await manager.unitState('slow.service')).activeState).toBe('activating');
    const stopped = await manager.stopUnit('slow.service');
    expect(stopped.result).toBe('done');
    // Stopping kills ExecStartPre=, which systemd 252 counts as a failure.
    expect(['inactive', 'failed']).toContain((await manager.unitState('slow.service')).activeState);
  });

  it('runs concurrent jobs of template instances', async () => {
    const names = ['sleeper@a.service', 'sleeper@b.service', 'sleeper@c.service'];

    const started = await Promise.all(names.map((name) => manager.startUnit(name)));
    expect(started.map((outcome) => outcome.unit)).toEqual(names);
    expect(started.map((outcome) => outcome.result)).toEqual(['done', 'done', 'done']);
    expect(new Set(started.map((outcome) => outcome.job)).size).toBe(3);
    for (const name of names) {
      expect((await systemd.show(name, 'ActiveState')).ActiveState).toBe('active');
    }

    const stopped = await Promise.all(names.map((name) => manager.stopUnit(name)));
    expect(stopped.map((outcome) => outcome.result)).toEqual(['done', 'done', 'done']);
  });

  it('loads a new unit after reload', async () => {
    await systemd.writeUnitFile('late.service', '[Service]\nType=oneshot\nExecStart=/bin/true\n');

    await manager.reload();
    const outcome = await manager.startUnit('late.service');

    expect(outcome.result).toBe('done');
    expect((await manager.unitState('late.service')).loadState).toBe('loaded');
  });

  it('rejects pending job waits on close', async () => {
    const closing = await SystemdManager.connect({ bus: { address: systemd.busAddress } });
    const waiting = closing.startUnit('slow.service');

    // The job is queued once systemd shows it; then close while waiting for JobRemoved.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if ((await systemd.show('slow.service', 'ActiveState')).ActiveState === 'activating') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    closing.close();

    const error = await rejectionOf(waiting);
    expect(error.code).toBe('EDISCONNECTED');
    expect(error.unit).toBe('slow.service');
    const later = await rejectionOf(closing.unitState('slow.service'));
    expect(later.code).toBe('EDISCONNECTED');
    expect((await manager.stopUnit('slow.service')).result).toBe('done');
  });

  it('validates unit names before sending', async () => {
    // A closed manager fails anything it would send with EDISCONNECTED, so
    // EINVALIDUNITNAME shows that the name was rejected first.
    const closed = await SystemdManager.connect({ bus: { address: systemd.busAddress } });
    closed.close();

    for (const name of [
      '',
      'sleeper',
      'sleeper.unit',
      'a b.service',
      'foo@.service',
      `${'x'.repeat(248)}.service`,
    ]) {
      const error = await rejectionOf(closed.startUnit(name));
      expect(error.code, name).toBe('EINVALIDUNITNAME');
      expect(error.unit, name).toBe(name);
    }
    expect((await rejectionOf(closed.unitState('bad/name.service'))).code).toBe('EINVALIDUNITNAME');
    expect((await rejectionOf(closed.startUnit('sleeper.service'))).code).toBe('EDISCONNECTED');
  });

  it('connects directly to the private socket', async () => {
    const direct = await SystemdManager.connect({
      bus: { address: systemd.privateAddress, direct: true },
    });
    try {
      expect(direct.direct).toBe(true);

      const started = await direct.startUnit('sleeper@direct.service');
      expect(started.result).toBe('done');
      expect((await direct.unitState('sleeper@direct.service')).activeState).toBe('active');
      const stopped = await direct.stopUnit('sleeper@direct.service');
      expect(stopped.result).toBe('done');
    } finally {
      direct.close();
    }
  });

  it('decodes replies of many D-Bus types', async () => {
    const bus = DBusConnection.open({ address: systemd.busAddress });
    const options = { timeoutMs: 10_000 };
    const unitPath = '/org/freedesktop/systemd1/unit/sleeper_2eservice';
    const get = async (iface: string, property: string) =>
      (await bus.call(unitPath, PROPERTIES, 'Get', 'ss', [iface, property], options))[0];
    try {
      // as argument; a(ssssssouso) reply
      const [units] = await bus.call(
        MANAGER,
        MANAGER_IFACE,
        'ListUnitsByNames',
        'as',
        [['sleeper.service']],
        options,
      );
      const [unit] = units as unknown[][];
      expect(units).toHaveLength(1);
      expect(unit?.[0]).toBe('sleeper.service');
      expect(unit?.[2]).toBe('loaded');
      expect(unit?.[6]).toBe(unitPath);
      expect(unit?.[7]).toBe(0);
      expect(unit?.[9]).toBe('/');

      // a(sasbttttuii) inside a variant: struct fields keep their types, t as bigint
      const execStart = (await get(`${UNIT_IFACE_PREFIX}Service`, 'ExecStart')) as unknown[][];
      expect(execStart).toHaveLength(1);
      expect(execStart[0]?.slice(0, 3)).toEqual(['/bin/sleep', ['/bin/sleep', '1000'], false]);
      expect(typeof execStart[0]?.[3]).toBe('bigint');
      expect(typeof execStart[0]?.[7]).toBe('number');

      expect(await get(`${UNIT_IFACE_PREFIX}Unit`, 'Job')).toEqual([0, '/']);
      expect(await get(`${UNIT_IFACE_PREFIX}Unit`, 'CanStart')).toBe(true);
      expect(await get(`${UNIT_IFACE_PREFIX}Service`, 'StatusErrno')).toBe(0);
      expect(await get(`${UNIT_IFACE_PREFIX}Service`, 'StandardInputData')).toEqual(
        Buffer.alloc(0),
      );
      const [progress] = await bus.call(
        MANAGER,
        PROPERTIES,
        'Get',
        'ss',
        [MANAGER_IFACE, 'Progress'],
        options,
      );
      expect(progress).toBe(1);

      // a{sv}: a plain object of plain values
      const [all] = await bus.call(
        unitPath,
        PROPERTIES,
        'GetAll',
        's',
        [`${UNIT_IFACE_PREFIX}Unit`],
        options,
      );
      expect((all as Record<string, unknown>).Id).toBe('sleeper.service');
      expect((all as Record<string, unknown>).Names).toEqual(['sleeper.service']);
    } finally {
      bus.close();
    }
  });

  it('exits with an idle connection open', async () => {
    // A connection that is never closed, with a match, must not keep Node running once
    // its last call completed.
    const script = `
      const addon = require(${JSON.stringify(join(process.cwd(), 'build/Release/fstack_kni.node'))});
      const bus = new addon.BusConnection({ bus: 'address', address: ${JSON.stringify(systemd.busAddress)} });
      bus.addMatch("type='signal',interface='org.freedesktop.systemd1.Manager'", () => {});
      bus.call('org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.DBus.Peer', 'Ping', '', [], 10000,
        (error) => process.stdout.write(error === null ? 'pong' : error.name));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });

    const code = await new Promise((resolve) => child.once('exit', resolve));

    expect(output).toBe('pong');
    expect(code).toBe(0);
  });

  it.skipIf(kernelSkipReason !== undefined)('runs a unit inside a test netns', async () => {
    // The harness must let units enter a namespace created after the manager started.
    const netns = createTestNetns('fkt-sd');
    try {
      await systemd.writeUnit(
        'in-netns.service',
        `[Service]\nType=oneshot\nNetworkNamespacePath=/run/netns/${netns}\n` +
          'ExecStart=/bin/sh -c "ip address add 192.0.2.79/32 dev lo"\n',
      );

      const outcome = await manager.startUnit('in-netns.service');

      expect(outcome.result).toBe('done');
      const [lo] = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'lo',
      );
      expect(lo?.addr_info.map((address) => address.local)).toContain('192.0.2.79');
    } finally {
      removeTestNetns(netns);
    }
  });

  it('resolves the user bus target', async () => {
    const viaPrivate = await withEnv({ XDG_RUNTIME_DIR: systemd.dir }, () =>
      SystemdManager.connect({ bus: 'user' }),
    );
    viaPrivate.close();
    expect(viaPrivate.direct).toBe(true);
    expect(viaPrivate.address).toBe(systemd.privateAddress);

    const emptyRuntimeDir = mkdtempSync(join(tmpdir(), 'fstack-kni-runtime-'));
    try {
      const viaBus = await withEnv(
        { XDG_RUNTIME_DIR: emptyRuntimeDir, DBUS_SESSION_BUS_ADDRESS: systemd.busAddress },
        () => SystemdManager.connect({ bus: 'user' }),
      );
      viaBus.close();
      expect(viaBus.direct).toBe(false);
      expect(viaBus.address).toBe(systemd.busAddress);
    } finally {
      rmSync(emptyRuntimeDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!addon().busLibrary().available)('SystemdManager.connect failures', () => {
  it('reports an unreachable address', async () => {
    const missing = join(tmpdir(), `fstack-kni-missing-${process.pid}`, 'bus');
    const error = await rejectionOf(
      SystemdManager.connect({ bus: { address: `unix:path=${missing}` } }),
    );

    expect(error.code).toBe('ECONNECT');
    expect(error.errno).toBe(2);
    expect(error.message).toContain(missing);
  });

  it('rejects malformed options', async () => {
    await expect(SystemdManager.connect({ bus: { address: '' } })).rejects.toThrow(TypeError);
    await expect(SystemdManager.connect({ bus: 'session' as never })).rejects.toThrow(TypeError);
    await expect(SystemdManager.connect({ timeoutMs: 0 })).rejects.toThrow(RangeError);
  });
});
