// Records the seed corpus of the native fuzz targets from the real kernel: link, address,
// route and neighbour dumps, a GET with its ack, errors with and without extended ack, and
// notifications, each datagram as raw bytes. The namespace is a throwaway one.
//
// The committed corpus (native/fuzz/corpus) was written by this test with
// FSTACK_KNI_UPDATE_CORPUS=1; without that variable it records into a temp dir only.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessages } from '../../src/netlink/message.js';
import { decodeAddresses } from '../../src/rtnl/address.js';
import { decodeLinks } from '../../src/rtnl/link.js';
import { decodeNeighbours } from '../../src/rtnl/neighbour.js';
import { decodeRoutes } from '../../src/rtnl/route.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';
import { COMPILER, CORPUS_DIR, fuzzSkipReason, repoRoot } from './native-fuzz.js';

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_ACK_TLVS = 0x200;

const skipReason = kernelSkipReason ?? fuzzSkipReason;

/** Splits a datagram into its messages, control messages included. */
function walk(datagram: Buffer): Array<{ type: number; flags: number; payload: Buffer }> {
  const messages = [];
  let offset = 0;
  while (offset + 16 <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    expect(length).toBeGreaterThanOrEqual(16);
    expect(offset + length).toBeLessThanOrEqual(datagram.length);
    messages.push({
      type: datagram.readUInt16LE(offset + 4),
      flags: datagram.readUInt16LE(offset + 6),
      payload: datagram.subarray(offset + 16, offset + length),
    });
    offset += (length + 3) & ~3;
  }
  expect(offset).toBeGreaterThanOrEqual(datagram.length);
  return messages;
}

describe.skipIf(skipReason !== undefined)(
  `seed corpus recorder${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns = '';
    let work = '';
    let output = '';

    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'fstack-kni-record-'));
      output = join(work, 'corpus');
      mkdirSync(output);
      const recorder = join(work, 'record_replies');
      const build = spawnSync(
        COMPILER,
        [
          '-std=c++17',
          '-g',
          '-O1',
          '-Wall',
          '-Wextra',
          '-Werror',
          '-fsanitize=address,undefined',
          join(repoRoot, 'native', 'fuzz', 'record_replies.cc'),
          '-o',
          recorder,
        ],
        { encoding: 'utf8' },
      );
      expect(build.stderr).toBe('');
      expect(build.status).toBe(0);

      netns = createTestNetns('fkrec');
      ip(netns, 'link', 'add', 'fz0', 'type', 'veth', 'peer', 'name', 'fz0-peer');
      ip(netns, 'link', 'set', 'fz0-peer', 'up');
      ip(netns, 'link', 'set', 'fz0', 'up');
      ip(netns, 'address', 'add', '192.0.2.1/24', 'broadcast', '192.0.2.255', 'dev', 'fz0');
      ip(netns, 'address', 'add', '2001:db8:1::1/64', 'dev', 'fz0', 'nodad');
      ip(netns, 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', 'dev', 'fz0');
      ip(
        netns,
        'neighbour',
        'add',
        '192.0.2.9',
        'lladdr',
        '02:00:00:00:00:09',
        'dev',
        'fz0',
        'nud',
        'permanent',
      );

      const run = spawnSync('ip', ['netns', 'exec', netns, recorder, output], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    });

    afterAll(() => {
      if (netns !== '') removeTestNetns(netns);
      if (work !== '') rmSync(work, { recursive: true, force: true });
    });

    function datagram(name: string): Buffer {
      return readFileSync(join(output, name));
    }

    it('records dumps the TypeScript decoders read', () => {
      const links = decodeLinks(Buffer.concat([datagram('dump-links-00.bin')]));
      expect(links.map((link) => link.name)).toEqual(
        expect.arrayContaining(['lo', 'fz0', 'fz0-peer']),
      );

      const addresses = decodeAddresses(datagram('dump-addresses-00.bin'));
      expect(addresses.map((a) => `${a.address}/${a.prefixLength}`)).toEqual(
        expect.arrayContaining(['192.0.2.1/24', '2001:db8:1::1/64']),
      );

      const routes = decodeRoutes(datagram('dump-routes-00.bin'));
      expect(
        routes.some(
          (route) => route.destination === '198.51.100.0' && route.gateway === '192.0.2.254',
        ),
      ).toBe(true);

      const neighbours = readdirSync(output)
        .filter((name) => name.startsWith('dump-neighbours-'))
        .flatMap((name) => decodeNeighbours(datagram(name)));
      expect(
        neighbours.some((n) => n.address === '192.0.2.9' && n.mac === '02:00:00:00:00:09'),
      ).toBe(true);
    });

    it('records errors with extended acks', () => {
      // A name longer than IFNAMSIZ fails the policy check with ERANGE.
      const policy = walk(datagram('error-policy-capped-00.bin'));
      expect(policy[0]?.type).toBe(NLMSG_ERROR);
      expect((policy[0]?.flags ?? 0) & NLM_F_ACK_TLVS).toBe(NLM_F_ACK_TLVS);
      expect(policy[0]?.payload.readInt32LE(0)).toBe(-34);
      expect(policy[0]?.payload.toString('latin1')).toContain('Attribute failed policy validation');

      // The uncapped ack echoes the whole request, name included, before its attributes.
      const full = walk(datagram('error-policy-full-00.bin'));
      expect(full[0]?.payload.toString('latin1')).toContain('name-longer-than-ifnamsiz');

      const strict = walk(datagram('error-strict-dump-00.bin'));
      expect(strict[0]?.type).toBe(NLMSG_DONE);
      expect(strict[0]?.payload.toString('latin1')).toContain(
        'Invalid values in header for link dump request',
      );

      const exists = walk(datagram('error-eexist-00.bin'));
      expect(exists[0]?.payload.readInt32LE(0)).toBe(-17);
    });

    it('records notifications', () => {
      const events = readdirSync(output).filter((name) => name.startsWith('events-'));
      expect(events.length).toBeGreaterThan(0);
      for (const name of events) expect(() => parseMessages(datagram(name))).not.toThrow();
    });

    it('records the scenarios of the committed corpus', () => {
      const recorded = readdirSync(output).sort();
      if (process.env.FSTACK_KNI_UPDATE_CORPUS === '1') {
        rmSync(CORPUS_DIR, { recursive: true, force: true });
        mkdirSync(CORPUS_DIR);
        for (const name of recorded) copyFileSync(join(output, name), join(CORPUS_DIR, name));
      }

      // How many datagrams a reply takes depends on the kernel and on timing, so only the
      // scenarios are compared: file names without their datagram number.
      expect(existsSync(CORPUS_DIR)).toBe(true);
      const scenarios = (names: string[]) =>
        [...new Set(names.map((name) => name.replace(/-\d+\.bin$/, '')))].sort();
      expect(scenarios(readdirSync(CORPUS_DIR))).toEqual(scenarios(recorded));
    });
  },
);
