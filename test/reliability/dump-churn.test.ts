// Link dumps while another process creates and deletes links as fast as it can. The kernel
// marks a dump it could not keep consistent with NLM_F_DUMP_INTR. Every dump must end as a
// complete list (each link that exists throughout is in it, none twice) or as a
// DumpInterruptedError. A silent partial list fails the test. One socket tries each dump
// once, so interruptions show up, and one retries (the default), as the product does.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DumpInterruptedError } from '../../src/netlink/errors.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import { decodeLinks, encodeLinkDump } from '../../src/rtnl/link.js';
import type { Link } from '../../src/rtnl/types.js';
import { createTestNetns, ipJson, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

const STABLE_PAIRS = 60;
const CHURN_PAIRS = 400;

interface Tally {
  complete: number;
  interrupted: number;
}

describe.skipIf(kernelSkipReason !== undefined)('link dumps under link churn', () => {
  let netns = '';
  let scratch = '';
  const stable: string[] = [];

  beforeAll(() => {
    netns = createTestNetns('fkchurn');
    scratch = mkdtempSync(join(tmpdir(), 'fstack-kni-churn-'));
    const setup: string[] = [];
    for (let i = 0; i < STABLE_PAIRS; i++) {
      setup.push(`link add st${i} type veth peer name stp${i}`);
      stable.push(`st${i}`, `stp${i}`);
    }
    writeFileSync(join(scratch, 'setup.batch'), `${setup.join('\n')}\n`);
    execFileSync('ip', ['-n', netns, '-batch', join(scratch, 'setup.batch')]);

    const churn: string[] = [];
    for (let i = 0; i < CHURN_PAIRS; i++)
      churn.push(
        `link add ch${i % 20} type veth peer name chp${i % 20}`,
        `link delete ch${i % 20}`,
      );
    writeFileSync(join(scratch, 'churn.batch'), `${churn.join('\n')}\n`);
  });

  afterAll(() => {
    if (netns !== '') removeTestNetns(netns);
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  /** Checks that a dump contains every stable link, and no index twice. */
  function expectComplete(links: Link[]): void {
    const names = links.map((link) => link.name);
    for (const name of stable) expect(names).toContain(name);
    expect(new Set(links.map((link) => link.index)).size).toBe(links.length);
  }

  it('returns complete lists or DumpInterruptedError, never a partial list', async () => {
    const once = NetlinkSocket.open({ netns: { name: netns }, dumpAttempts: 1 });
    const nl = Rtnl.open({ netns: { name: netns } });
    const single: Tally = { complete: 0, interrupted: 0 };
    const retried: Tally = { complete: 0, interrupted: 0 };

    const churn = spawn('ip', ['-n', netns, '-batch', join(scratch, 'churn.batch')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let churnErrors = '';
    churn.stderr.on('data', (chunk: Buffer) => {
      churnErrors += chunk.toString();
    });
    let running = true;
    const finished = new Promise<number | null>((resolve) =>
      churn.on('exit', (code) => {
        running = false;
        resolve(code);
      }),
    );

    async function dumpLoop(tally: Tally, dump: () => Promise<Link[]>): Promise<void> {
      while (running) {
        try {
          expectComplete(await dump());
          tally.complete += 1;
        } catch (error) {
          if (!(error instanceof DumpInterruptedError)) throw error;
          tally.interrupted += 1;
        }
      }
    }

    try {
      await Promise.all([
        dumpLoop(single, async () =>
          decodeLinks(await once.dump(encodeLinkDump(), { operation: 'list links' })),
        ),
        dumpLoop(retried, () => nl.links.list()),
      ]);
      expect(await finished).toBe(0);
      expect(churnErrors).toBe('');
    } finally {
      churn.kill('SIGKILL');
      once.close();
      nl.close();
    }
    console.log(
      `single attempt: ${JSON.stringify(single)}; with retries: ${JSON.stringify(retried)}`,
    );

    // The churn did interrupt dumps, so the run tested what it claims to.
    expect(single.interrupted).toBeGreaterThan(0);
    expect(single.complete + retried.complete).toBeGreaterThan(0);

    // Once the churn is over, a dump equals the oracle.
    const after = Rtnl.open({ netns: { name: netns } });
    try {
      const links = await after.links.list();
      const oracle = ipJson<Array<{ ifname: string }>>(netns, 'link', 'show')
        .map((link) => link.ifname)
        .sort();
      expect(links.map((link) => link.name).sort()).toEqual(oracle);
    } finally {
      after.close();
    }
  }, 120_000);
});
