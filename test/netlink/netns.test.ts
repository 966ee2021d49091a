// Named network namespaces created and deleted by the addon, checked with `ip netns` and
// /proc/self/mountinfo.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkNetnsName,
  createNetns,
  deleteNetns,
  NETNS_DIRECTORY,
  netnsPath,
  openNetns,
} from '../../src/netlink/netns.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { ipJson, kernelSkipReason, removeTestNetns, uniqueNetnsName } from '../helpers/netns.js';
import * as raw from './raw-messages.js';

function namespaces(): string[] {
  const output = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim();
  return output === '' ? [] : (JSON.parse(output) as Array<{ name: string }>).map((n) => n.name);
}

function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

function thrown(action: () => unknown): NodeJS.ErrnoException {
  try {
    action();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected an exception');
}

describe('netns names', () => {
  it('accepts ordinary names', () => {
    expect(checkNetnsName('kni')).toBe('kni');
    expect(checkNetnsName('a'.repeat(255))).toBe('a'.repeat(255));
    expect(netnsPath('kni')).toBe('/run/netns/kni');
    expect(netnsPath('kni', { directory: '/tmp/ns/' })).toBe('/tmp/ns/kni');
  });

  it('rejects bad names', () => {
    for (const name of ['', '.', '..', 'a/b', '/abs', 'a\0b', 'é'.repeat(128)]) {
      expect(() => checkNetnsName(name), JSON.stringify(name)).toThrow(RangeError);
    }
    expect(() => checkNetnsName(7)).toThrow(TypeError);
    expect(() => createNetns('a/b')).toThrow(RangeError);
    expect(() => deleteNetns('..')).toThrow(RangeError);
    expect(() => netnsPath('x', { directory: 'relative' })).toThrow(TypeError);
  });
});

describe.skipIf(kernelSkipReason !== undefined)('netns in the kernel', () => {
  const created: string[] = [];
  const name = (): string => {
    const fresh = uniqueNetnsName('fkt-ns');
    created.push(fresh);
    return fresh;
  };

  afterAll(() => {
    for (const leftover of created) removeTestNetns(leftover);
  });

  it('create and delete like ip netns', () => {
    const netns = name();
    createNetns(netns);

    expect(namespaces()).toContain(netns);
    expect(isMountPoint(`${NETNS_DIRECTORY}/${netns}`)).toBe(true);
    expect(ipJson<Array<{ ifname: string }>>(netns, 'link', 'show').map((l) => l.ifname)).toEqual([
      'lo',
    ]);

    deleteNetns(netns);
    expect(namespaces()).not.toContain(netns);
    expect(existsSync(`${NETNS_DIRECTORY}/${netns}`)).toBe(false);
  });

  it('existing name fails with EEXIST', () => {
    const netns = name();
    createNetns(netns);

    const error = thrown(() => createNetns(netns));
    expect(error.code).toBe('EEXIST');
    expect(error.errno).toBe(17);
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(`${NETNS_DIRECTORY}/${netns}`);
    expect(error.message).toBe(
      `create network namespace ${netns}: open(${NETNS_DIRECTORY}/${netns}) failed: File exists (EEXIST)`,
    );
    // The failed attempt left the first namespace alone.
    expect(namespaces()).toContain(netns);
    deleteNetns(netns);
  });

  it('missing name fails with ENOENT', () => {
    const error = thrown(() => deleteNetns(`${uniqueNetnsName('fkt-ns')}-never`));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('unlink');
  });

  it('socket opens by name, path and fd', async () => {
    const netns = name();
    createNetns(netns);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const handle = openNetns({ name: netns });
    try {
      for (const target of [{ name: netns }, { path: netnsPath(netns) }, { fd: handle.fd }]) {
        const socket = NetlinkSocket.open({ netns: target });
        try {
          const links = raw.linkNames(await socket.dump(raw.getLinksDump()));
          expect(links).toEqual(['lo']);
        } finally {
          socket.close();
        }
      }

      // A change made through the namespace socket shows up there, with `ip -n`.
      const socket = NetlinkSocket.open({ netns: { fd: handle.fd } });
      await socket.request(raw.addAddress(1, '192.0.2.50', 24));
      socket.close();
      const addresses = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'lo',
      );
      expect(addresses[0]?.addr_info.map((a) => a.local)).toContain('192.0.2.50');
    } finally {
      handle.close();
      handle.close();
    }
    deleteNetns(netns);
  });

  it('openNetns of an fd returns a new fd', () => {
    const netns = name();
    createNetns(netns);
    const first = openNetns({ name: netns });
    const second = openNetns({ fd: first.fd });
    expect(second.fd).not.toBe(first.fd);
    expect(second.path).toBe(`/proc/self/fd/${first.fd}`);
    first.close();

    // The copy still names the namespace after the original is closed.
    const socket = NetlinkSocket.open({ netns: { fd: second.fd } });
    socket.close();
    second.close();
    deleteNetns(netns);
  });

  it('non-network namespace file fails with EINVAL', () => {
    const error = thrown(() => openNetns({ path: '/proc/self/ns/uts' }));
    expect(error.code).toBe('EINVAL');
    expect(error.message).toContain('not a network namespace');

    const directory = mkdtempSync(join(tmpdir(), 'fkt-ns-'));
    try {
      const file = join(directory, 'plain');
      writeFileSync(file, '');
      expect(thrown(() => openNetns({ path: file })).code).toBe('EINVAL');
      expect(thrown(() => NetlinkSocket.open({ netns: { path: file } })).code).toBe('EINVAL');
    } finally {
      rmSync(directory, { recursive: true });
    }
  });

  it('custom directory becomes a shared mount', () => {
    const directory = mkdtempSync(join(tmpdir(), 'fkt-nsdir-'));
    const netns = uniqueNetnsName('fkt-ns');
    try {
      createNetns(netns, { directory });
      expect(isMountPoint(directory)).toBe(true);
      expect(isMountPoint(join(directory, netns))).toBe(true);
      const sharedLine = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .find((line) => line.split(' ')[4] === directory);
      expect(sharedLine).toMatch(/ shared:\d+/);

      const handle = openNetns({ path: join(directory, netns) });
      handle.close();
      deleteNetns(netns, { directory });
      expect(existsSync(join(directory, netns))).toBe(false);
    } finally {
      // createNetns bound the directory onto itself; undo that before removing it.
      if (isMountPoint(directory)) execFileSync('umount', ['--lazy', directory]);
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
