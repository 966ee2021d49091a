// One handle, 1,000,000 requests, every tenth failing with EEXIST: nothing stays pending,
// replies keep matching their requests, and memory stays flat. Run twice: on a plain
// request socket, where most acks are read right after sendmsg, and on a socket with an
// event callback, where every reply goes through the event loop and the table of pending
// requests.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';

const REQUESTS = 1_000_000;
const WARM_UP = 100_000;
const IN_FLIGHT = 256;
const RSS_GROWTH_LIMIT = 10 * 1024 * 1024;
const LO = 1;
const EXISTING = { link: LO, address: '192.0.2.1', prefixLength: 24 };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Returns RSS after two full collections, less V8's young generation (new space). V8 grows
 * the young generation in steps up to its maximum (2 to 32 MiB on Node 20 x64) while
 * short-lived objects are allocated fast, at a moment that depends on the allocation
 * pattern. That memory belongs to the garbage collector's sizing, not to anything kept.
 */
function settledRss(): { rss: number; withoutYoungGeneration: number } {
  gc();
  gc();
  const rss = process.memoryUsage().rss;
  const young =
    getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
      ?.physical_space_size ?? 0;
  return { rss, withoutYoungGeneration: rss - young };
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

interface FloodResult {
  acknowledged: number;
  exists: number;
  afterWarmUp: ReturnType<typeof settledRss>;
  atEnd: ReturnType<typeof settledRss>;
}

/**
 * Sends REQUESTS requests, IN_FLIGHT at a time: `ip link set lo up` nine times out of ten,
 * and adding an address lo already has the tenth. Any other outcome fails the test, so a
 * reply matched to the wrong request shows up as a success or error in the wrong place.
 */
async function flood(nl: Rtnl): Promise<FloodResult> {
  const empty = { rss: 0, withoutYoungGeneration: 0 };
  const result: FloodResult = { acknowledged: 0, exists: 0, afterWarmUp: empty, atEnd: empty };
  const unexpected: string[] = [];

  for (let start = 0; start < REQUESTS; start += IN_FLIGHT) {
    const requests: Promise<void>[] = [];
    for (let i = start; i < start + IN_FLIGHT && i < REQUESTS; i++) {
      if (i % 10 === 9) {
        requests.push(
          nl.addresses.add(EXISTING).then(
            () => void unexpected.push(`request ${i}: adding an existing address succeeded`),
            (error: unknown) => {
              if (error instanceof NetlinkError && error.code === 'EEXIST') result.exists += 1;
              else unexpected.push(`request ${i}: ${String(error)}`);
            },
          ),
        );
      } else {
        requests.push(
          nl.links.setUp(LO, true).then(
            () => {
              result.acknowledged += 1;
            },
            (error: unknown) => void unexpected.push(`request ${i}: ${String(error)}`),
          ),
        );
      }
    }
    await Promise.all(requests);
    if (unexpected.length > 0)
      throw new Error(`unexpected outcomes: ${unexpected.slice(0, 5).join('; ')}`);
    if (start < WARM_UP && start + IN_FLIGHT >= WARM_UP) result.afterWarmUp = settledRss();
  }
  result.atEnd = settledRss();
  return result;
}

describe.skipIf(kernelSkipReason !== undefined)('1,000,000 requests on one handle', () => {
  let netns = '';

  beforeAll(() => {
    netns = createTestNetns('fkflood');
    ip(netns, 'address', 'add', '192.0.2.1/24', 'dev', 'lo');
  });

  afterAll(() => {
    if (netns !== '') removeTestNetns(netns);
  });

  for (const variant of ['plain socket', 'socket with an event callback'] as const) {
    it(`completes every request on a ${variant}`, async () => {
      const socket = NetlinkSocket.open({
        netns: { name: netns },
        ...(variant === 'plain socket' ? {} : { onEvent: () => undefined }),
      });
      const nl = Rtnl.fromTransport(socket);
      try {
        const result = await flood(nl);
        const { afterWarmUp, atEnd } = result;
        console.log(
          `${variant}: ${result.acknowledged} acks, ${result.exists} EEXIST; RSS ${mebibytes(afterWarmUp.rss)} after warm-up, ` +
            `${mebibytes(atEnd.rss)} at the end; without the young generation ${mebibytes(afterWarmUp.withoutYoungGeneration)} ` +
            `and ${mebibytes(atEnd.withoutYoungGeneration)}`,
        );

        expect(result.acknowledged).toBe(REQUESTS - REQUESTS / 10);
        expect(result.exists).toBe(REQUESTS / 10);
        expect(socket.pending).toBe(0);
        expect(atEnd.withoutYoungGeneration - afterWarmUp.withoutYoungGeneration).toBeLessThan(
          RSS_GROWTH_LIMIT,
        );

        // Sequence numbers still pair requests and replies after the flood.
        const lo = await nl.links.get('lo');
        expect(lo?.index).toBe(LO);
        await expect(nl.addresses.add(EXISTING)).rejects.toThrow(
          /^add address 192\.0\.2\.1\/24 on index 1: .*\(EEXIST\)/,
        );
        const addresses = await nl.addresses.list({ link: LO, family: 4 });
        expect(addresses.map((a) => `${a.address}/${a.prefixLength}`)).toEqual([
          '127.0.0.1/8',
          '192.0.2.1/24',
        ]);
        expect(socket.pending).toBe(0);
      } finally {
        socket.close();
      }

      // The kernel saw the same thing: lo up, its addresses unchanged.
      const [link] = ipJson<Array<{ flags: string[]; addr_info: Array<{ local: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'lo',
      );
      expect(link?.flags).toContain('UP');
      expect(link?.addr_info.map((a) => a.local)).toEqual(['127.0.0.1', '192.0.2.1', '::1']);
    }, 120_000);
  }
});
