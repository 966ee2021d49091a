// Benchmark worker for the npm package `netlink` (0.3.x), the comparison from Node.js that
// does not use this library. It has no namespace option, so the orchestrator starts this
// process inside the test namespace (bench/runner.c). It has no way to send several
// requests in one sendmsg, so there is no batch case.
//
// Usage: node dist-bench/bench/worker-netlink-package.js SPEC_JSON   (see WorkerSpec in common.ts)
import netlink from 'netlink';
import {
  BATCH,
  elapsedUs,
  FIRST_HOST,
  KNI_ADDRESS,
  KNI_BROADCAST,
  KNI_GATEWAY,
  median,
  ROUTE_DESTINATION,
  readWorkerSpec,
  report,
  type WorkerResult,
  type WorkerSpec,
} from './common.js';

type Socket = ReturnType<typeof netlink.createRtNetlink>;

const AF_INET = 2;
const CREATE_EXCLUSIVE = netlink.FlagsNew.CREATE | netlink.FlagsNew.EXCL;
const CREATE_REPLACE = netlink.FlagsNew.CREATE | netlink.FlagsNew.REPLACE;

const ipv4 = (text: string) => Buffer.from(text.split('.').map(Number));
const host = (offset: number) => ipv4(`192.0.2.${FIRST_HOST + offset}`);

type Loop = (operations: number) => Promise<void>;

async function timeLoop(spec: WorkerSpec, loop: Loop): Promise<WorkerResult> {
  if (spec.warmup > 0) await loop(spec.warmup);
  const start = process.hrtime.bigint();
  await loop(spec.count);
  return { case: spec.case, operations: spec.count, usPerOperation: elapsedUs(start) / spec.count };
}

function addAddress(
  socket: Socket,
  index: number,
  local: Buffer,
  broadcast?: Buffer,
): Promise<unknown> {
  return socket.newAddress(
    { family: AF_INET, prefixlen: 24, index },
    { local, address: local, ...(broadcast !== undefined && { broadcast }) },
    { flags: CREATE_EXCLUSIVE },
  );
}

function deleteAddress(socket: Socket, index: number, local: Buffer): Promise<unknown> {
  return socket.delAddress({ family: AF_INET, prefixlen: 24, index }, { local, address: local });
}

function setUp(socket: Socket, index: number, up: boolean): Promise<unknown> {
  // DeviceFlags has only `true` members: an absent `up` in `flags` under `change.up` clears it.
  return socket.setLink({ family: 0, index, flags: up ? { up: true } : {}, change: { up: true } });
}

function addressAwaited(socket: Socket, spec: WorkerSpec): Loop {
  const local = host(0);
  return async (operations) => {
    for (let i = 0; i < operations; i += 2) {
      await addAddress(socket, spec.ifindex, local);
      await deleteAddress(socket, spec.ifindex, local);
    }
  };
}

function addressInFlight(socket: Socket, spec: WorkerSpec): Loop {
  const locals = Array.from({ length: BATCH }, (_, i) => host(i));
  const reversed = [...locals].reverse();
  return async (operations) => {
    for (let i = 0; i < operations; i += 2 * BATCH) {
      await Promise.all(locals.map((local) => addAddress(socket, spec.ifindex, local)));
      await Promise.all(reversed.map((local) => deleteAddress(socket, spec.ifindex, local)));
    }
  };
}

function routeAwaited(socket: Socket, spec: WorkerSpec): Loop {
  const destination = ipv4(ROUTE_DESTINATION);
  return async (operations) => {
    for (let i = 0; i < operations; i++) {
      await socket.newRoute(
        {
          family: AF_INET,
          dstLen: 24,
          table: 254,
          protocol: 'BOOT',
          scope: 'LINK',
          type: 'UNICAST',
        },
        { dst: destination, oif: spec.ifindex, priority: i & 1 },
        { flags: CREATE_REPLACE },
      );
    }
  };
}

function linkAwaited(socket: Socket, spec: WorkerSpec): Loop {
  return async (operations) => {
    for (let i = 0; i < operations; i++) await setUp(socket, spec.ifindex, (i & 1) === 1);
    await setUp(socket, spec.ifindex, true);
  };
}

// The package has no converge engine. Its "apply from scratch" is the runbook's three
// changes sent one after the other, without reading the kernel first. Its "no-op apply" is
// the three dumps that a converge needs to find that nothing is to be done.
async function applyCase(
  socket: Socket,
  spec: WorkerSpec,
  fromScratch: boolean,
): Promise<WorkerResult> {
  const address = ipv4(KNI_ADDRESS);
  const apply = async () => {
    await setUp(socket, spec.ifindex, true);
    await addAddress(socket, spec.ifindex, address, ipv4(KNI_BROADCAST));
    await socket.newRoute(
      {
        family: AF_INET,
        dstLen: 0,
        table: 254,
        protocol: 'BOOT',
        scope: 'UNIVERSE',
        type: 'UNICAST',
      },
      { gateway: ipv4(KNI_GATEWAY), oif: spec.ifindex },
      { flags: CREATE_EXCLUSIVE },
    );
  };
  const reset = async () => {
    await deleteAddress(socket, spec.ifindex, address).catch(() => undefined);
    await setUp(socket, spec.ifindex, false);
  };
  // One dump after the other: the package fails ("Multipart message not terminated
  // properly") when dumps overlap on one socket.
  const readState = async () => {
    await socket.getLinks();
    await socket.getAddresses();
    await socket.getRoutes();
  };

  if (!fromScratch) await apply();
  const times: number[] = [];
  for (let i = 0; i < spec.warmup + spec.count; i++) {
    if (fromScratch) await reset();
    const start = process.hrtime.bigint();
    await (fromScratch ? apply() : readState());
    if (i >= spec.warmup) times.push(elapsedUs(start));
  }
  await reset();
  return { case: spec.case, operations: spec.count, usPerOperation: median(times) };
}

async function main(): Promise<void> {
  const spec = readWorkerSpec();
  const socket = netlink.createRtNetlink();
  try {
    switch (spec.case) {
      case 'address-awaited':
        report(await timeLoop(spec, addressAwaited(socket, spec)));
        break;
      case 'address-in-flight':
        report(await timeLoop(spec, addressInFlight(socket, spec)));
        break;
      case 'route-awaited':
        report(await timeLoop(spec, routeAwaited(socket, spec)));
        break;
      case 'link-awaited':
        report(await timeLoop(spec, linkAwaited(socket, spec)));
        break;
      case 'apply-scratch':
        report(await applyCase(socket, spec, true));
        break;
      case 'apply-noop':
        report(await applyCase(socket, spec, false));
        break;
      default:
        throw new Error(`unknown case ${spec.case}`);
    }
  } finally {
    socket.socket.close();
  }
}

await main();
