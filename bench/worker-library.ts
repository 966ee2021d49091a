// Benchmark worker for this library: runs one case in its own process, so that the peak
// RSS the orchestrator records belongs to that case alone, and prints one WorkerResult.
//
// Usage: node dist-bench/bench/worker-library.js SPEC_JSON   (see WorkerSpec in common.ts)
import { getHeapSpaceStatistics } from 'node:v8';
import {
  BATCH,
  elapsedUs,
  FIRST_HOST,
  KNI_ADDRESS,
  type Library,
  loadDist,
  median,
  ROUTE_DESTINATION,
  readWorkerSpec,
  report,
  type SocketModule,
  type WorkerResult,
  type WorkerSpec,
} from './common.js';

type Rtnl = import('../dist/index.js').Rtnl;
type AddressSpec = import('../dist/index.js').AddressSpec;
type NetlinkSocket = import('../dist/netlink/socket.js').NetlinkSocket;
type AddressModule = typeof import('../dist/rtnl/address.js');

const library = await loadDist<Library>('index.js');
const { NetlinkSocket } = await loadDist<SocketModule>('netlink/socket.js');

function addressSpec(ifindex: number, offset: number): AddressSpec {
  return { link: ifindex, address: `192.0.2.${FIRST_HOST + offset}`, prefixLength: 24 };
}

/** Fails the run on a rejected batch item, as a thrown request would. */
function checkBatch(results: ReadonlyArray<{ ok: boolean; error?: Error }>): void {
  const failed = results.find((result) => !result.ok);
  if (failed !== undefined) throw failed.error ?? new Error('a batch request failed');
}

/** A timed loop: `run(n)` performs n operations; returns us per operation. */
type Loop = (operations: number) => Promise<void>;

async function timeLoop(spec: WorkerSpec, loop: Loop): Promise<WorkerResult> {
  if (spec.warmup > 0) await loop(spec.warmup);
  const start = process.hrtime.bigint();
  await loop(spec.count);
  return { case: spec.case, operations: spec.count, usPerOperation: elapsedUs(start) / spec.count };
}

function addressAwaited(nl: Rtnl, spec: WorkerSpec): Loop {
  const address = addressSpec(spec.ifindex, 0);
  return async (operations) => {
    for (let i = 0; i < operations; i += 2) {
      await nl.addresses.add(address);
      await nl.addresses.delete(address);
    }
  };
}

// BATCH adds in flight at once, then BATCH deletes, secondaries first: deleting the primary
// address takes the secondaries with it.
function addressInFlight(nl: Rtnl, spec: WorkerSpec): Loop {
  const specs = Array.from({ length: BATCH }, (_, i) => addressSpec(spec.ifindex, i));
  const reversed = [...specs].reverse();
  return async (operations) => {
    for (let i = 0; i < operations; i += 2 * BATCH) {
      await Promise.all(specs.map((address) => nl.addresses.add(address)));
      await Promise.all(reversed.map((address) => nl.addresses.delete(address)));
    }
  };
}

function addressBatch(nl: Rtnl, spec: WorkerSpec): Loop {
  const specs = Array.from({ length: BATCH }, (_, i) => addressSpec(spec.ifindex, i));
  const reversed = [...specs].reverse();
  return async (operations) => {
    for (let i = 0; i < operations; i += 2 * BATCH) {
      const adds = nl.batch();
      for (const address of specs) adds.addAddress(address);
      checkBatch(await adds.send());
      const deletes = nl.batch();
      for (const address of reversed) deletes.deleteAddress(address);
      checkBatch(await deletes.send());
    }
  };
}

// The same requests as addressBatch, prepared once before the timed loop.
async function addressPrepared(nl: Rtnl, spec: WorkerSpec): Promise<Loop> {
  const adds = nl.batch();
  for (let i = 0; i < BATCH; i++) adds.addAddress(addressSpec(spec.ifindex, i));
  const deletes = nl.batch();
  for (let i = BATCH - 1; i >= 0; i--) deletes.deleteAddress(addressSpec(spec.ifindex, i));
  const up = await adds.prepare();
  const down = await deletes.prepare();
  return async (operations) => {
    for (let i = 0; i < operations; i += 2 * BATCH) {
      checkBatch(await up.send());
      checkBatch(await down.send());
    }
  };
}

// The transport alone: messages encoded once, as bench/transport-quick.mjs sends them.
async function addressTransport(
  socket: NetlinkSocket,
  spec: WorkerSpec,
  batched: boolean,
): Promise<Loop> {
  const { addressRequest, checkAddressSpec } = await loadDist<AddressModule>('rtnl/address.js');
  const encode = (action: 'add' | 'delete', offset: number) =>
    addressRequest(action, checkAddressSpec(addressSpec(spec.ifindex, offset)), spec.ifindex);

  if (!batched) {
    const add = encode('add', 0);
    const remove = encode('delete', 0);
    return async (operations) => {
      for (let i = 0; i < operations; i += 2) {
        await socket.request(add.message, add.op);
        await socket.request(remove.message, remove.op);
      }
    };
  }
  const adds = Array.from({ length: BATCH }, (_, i) => encode('add', i));
  const deletes = Array.from({ length: BATCH }, (_, i) => encode('delete', BATCH - 1 - i));
  return async (operations) => {
    for (let i = 0; i < operations; i += 2 * BATCH) {
      checkBatch(await socket.batch(adds));
      checkBatch(await socket.batch(deletes));
    }
  };
}

function routeAwaited(nl: Rtnl, spec: WorkerSpec): Loop {
  const routes = [0, 1].map((metric) => ({
    destination: ROUTE_DESTINATION,
    prefixLength: 24,
    link: spec.ifindex,
    metric,
    scope: 'link' as const,
  }));
  return async (operations) => {
    for (let i = 0; i < operations; i++)
      await nl.routes.replace(routes[i & 1] as (typeof routes)[0]);
  };
}

function linkAwaited(nl: Rtnl, spec: WorkerSpec): Loop {
  return async (operations) => {
    for (let i = 0; i < operations; i++) await nl.links.setUp(spec.ifindex, (i & 1) === 1);
    await nl.links.setUp(spec.ifindex, true);
  };
}

/** Takes veth0 back to down with no KNI address; the kernel drops its routes with them. */
async function resetKni(nl: Rtnl, spec: WorkerSpec): Promise<void> {
  await nl
    .batch()
    .deleteAddress({ link: spec.ifindex, address: KNI_ADDRESS, prefixLength: 24 })
    .setLinkUp(spec.ifindex, false)
    .send();
}

// Converge runs one at a time with untimed work between them, so each is timed alone and
// the median is reported. `extra` contains the phase medians from the converge report.
async function applyCase(nl: Rtnl, spec: WorkerSpec, fromScratch: boolean): Promise<WorkerResult> {
  if (spec.config === undefined) throw new Error(`${spec.case} needs a config`);
  const loaded = await library.loadConfig(spec.config);
  const desired = library.desiredState(loaded.config, { fstackVersion: '1.25' });
  const kernel = library.rtnlKernel(nl);

  const totals: number[] = [];
  const phases = {
    readMs: [] as number[],
    planMs: [] as number[],
    applyMs: [] as number[],
    verifyMs: [] as number[],
  };
  if (!fromScratch) await library.converge(desired, kernel);

  for (let i = 0; i < spec.warmup + spec.count; i++) {
    if (fromScratch) await resetKni(nl, spec);
    const start = process.hrtime.bigint();
    const result = await library.converge(desired, kernel);
    const us = elapsedUs(start);
    if (!result.ok || result.changed !== fromScratch) {
      throw new Error(
        `converge ended ok=${result.ok} changed=${result.changed}: ${JSON.stringify(result.steps)}`,
      );
    }
    if (i < spec.warmup) continue;
    totals.push(us);
    phases.readMs.push(result.timings.readMs);
    phases.planMs.push(result.timings.planMs);
    phases.applyMs.push(result.timings.applyMs);
    phases.verifyMs.push(result.timings.verifyMs);
  }
  await resetKni(nl, spec);

  return {
    case: spec.case,
    operations: spec.count,
    usPerOperation: median(totals),
    extra: {
      meanUs: totals.reduce((sum, value) => sum + value, 0) / totals.length,
      changes: fromScratch ? 3 : 0,
      phaseMedianUs: Object.fromEntries(
        Object.entries(phases).map(([name, values]) => [
          name.replace(/Ms$/, ''),
          median(values) * 1000,
        ]),
      ),
    },
  };
}

/**
 * Resident set size and heap after a full collection (the soak runs with --expose-gc). The
 * young generation's reserved size is reported apart: V8 grows it under a high allocation
 * rate, which raises RSS without any object staying alive.
 */
function memorySample(requests: number, socket: NetlinkSocket): Record<string, number> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect !== undefined) {
    collect();
    collect();
  }
  const usage = process.memoryUsage();
  const spaces = getHeapSpaceStatistics();
  const reserved = (name: string) =>
    (spaces.find((space) => space.space_name === name)?.space_size ?? 0) / 2 ** 20;
  return {
    requests,
    rssMb: usage.rss / 2 ** 20,
    heapUsedMb: usage.heapUsed / 2 ** 20,
    newSpaceMb: reserved('new_space'),
    externalMb: usage.external / 2 ** 20,
    pending: socket.pending,
  };
}

// `count` requests on one handle, mixing awaited pairs and BATCH requests in flight, with
// memory and pending requests sampled after the warm-up and every tenth of the run.
async function soak(socket: NetlinkSocket, nl: Rtnl, spec: WorkerSpec): Promise<WorkerResult> {
  const awaited = addressAwaited(nl, spec);
  const inFlight = addressInFlight(nl, spec);
  const block = 2 * BATCH + 2 * BATCH;
  const run = async (requests: number) => {
    for (let done = 0; done < requests; done += block) {
      await awaited(2 * BATCH);
      await inFlight(2 * BATCH);
    }
  };

  await run(spec.warmup);
  const samples = [memorySample(0, socket)];
  const step = Math.max(block, Math.floor(spec.count / 10 / block) * block);
  const start = process.hrtime.bigint();
  let done = 0;
  while (done < spec.count) {
    const requests = Math.min(step, spec.count - done);
    await run(requests);
    done += Math.ceil(requests / block) * block;
    samples.push(memorySample(done, socket));
  }
  const us = elapsedUs(start);

  const first = samples[0] as Record<string, number>;
  const last = samples[samples.length - 1] as Record<string, number>;
  return {
    case: spec.case,
    operations: done,
    usPerOperation: us / done,
    extra: {
      rssAfterWarmupMb: first.rssMb,
      rssAtEndMb: last.rssMb,
      rssGrowthMb: (last.rssMb as number) - (first.rssMb as number),
      maxPending: Math.max(...samples.map((sample) => sample.pending as number)),
      pendingAtEnd: last.pending,
      samples,
    },
  };
}

async function main(): Promise<void> {
  const spec = readWorkerSpec();
  const socket = NetlinkSocket.open({ netns: { name: spec.netns } });
  const nl = library.Rtnl.fromTransport(socket);
  try {
    switch (spec.case) {
      case 'address-awaited':
        report(await timeLoop(spec, addressAwaited(nl, spec)));
        break;
      case 'address-in-flight':
        report(await timeLoop(spec, addressInFlight(nl, spec)));
        break;
      case 'address-batch':
        report(await timeLoop(spec, addressBatch(nl, spec)));
        break;
      case 'address-prepared':
        report(await timeLoop(spec, await addressPrepared(nl, spec)));
        break;
      case 'address-transport':
        report(await timeLoop(spec, await addressTransport(socket, spec, false)));
        break;
      case 'address-transport-batch':
        report(await timeLoop(spec, await addressTransport(socket, spec, true)));
        break;
      case 'route-awaited':
        report(await timeLoop(spec, routeAwaited(nl, spec)));
        break;
      case 'link-awaited':
        report(await timeLoop(spec, linkAwaited(nl, spec)));
        break;
      case 'apply-scratch':
        report(await applyCase(nl, spec, true));
        break;
      case 'apply-noop':
        report(await applyCase(nl, spec, false));
        break;
      case 'soak':
        report(await soak(socket, nl, spec));
        break;
      default:
        throw new Error(`unknown case ${spec.case}`);
    }
  } finally {
    nl.close();
  }
}

await main();
