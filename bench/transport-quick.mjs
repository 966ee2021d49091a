// Quick benchmark of the netlink transport against plain C (bench/floor.c): RTM_NEWADDR +
// RTM_DELADDR of 192.0.2.10/24 on lo, one awaited request at a time and 64 per batch,
// then the same 64-request batches through the batch API (`Rtnl.batch()`, checked and
// encoded on every send), inside a throwaway network namespace, in one long-running process. Needs root, `cc` and a build (`npm run install`
// for the addon, `npm run build` for dist/).
//
// Usage: node bench/transport-quick.mjs [PAIRS] [ROUNDS]   (default 20000 pairs, 5 rounds)
// Rounds of the library and of C alternate, and the medians are printed, so that load from
// other processes on the machine skews both sides alike.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, deleteNetns, netnsPath } from '../dist/netlink/netns.js';
import { NetlinkSocket } from '../dist/netlink/socket.js';
import { Rtnl } from '../dist/rtnl/handle.js';

const pairs = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 5);
const batchSize = 64;
const loopbackIndex = 1;

const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const IFF_UP = 0x1;

function message(type, flags, body) {
  const out = Buffer.alloc(16 + body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  body.copy(out, 16);
  return out;
}

// RTM_NEWADDR / RTM_DELADDR for 192.0.2.HOST/24 on lo, the same bytes bench/floor.c sends.
function addressMessage(type, host) {
  const body = Buffer.alloc(8 + 8 + 8);
  body.writeUInt8(2, 0); // AF_INET
  body.writeUInt8(24, 1);
  body.writeUInt32LE(loopbackIndex, 4);
  for (const [offset, attributeType] of [
    [8, 2],
    [16, 1],
  ]) {
    // IFA_LOCAL, IFA_ADDRESS
    body.writeUInt16LE(8, offset);
    body.writeUInt16LE(attributeType, offset + 2);
    Buffer.from([192, 0, 2, host]).copy(body, offset + 4);
  }
  return message(type, type === RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, body);
}

function linkUpMessage() {
  const body = Buffer.alloc(16);
  body.writeInt32LE(loopbackIndex, 4);
  body.writeUInt32LE(IFF_UP, 8);
  body.writeUInt32LE(IFF_UP, 12);
  return message(RTM_NEWLINK, 0, body);
}

async function oneAtATime(socket, count) {
  const add = addressMessage(RTM_NEWADDR, 10);
  const remove = addressMessage(RTM_DELADDR, 10);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await socket.request(add);
    await socket.request(remove);
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / (2 * count);
}

async function batched(socket, count) {
  const adds = [];
  const removes = [];
  for (let j = 0; j < batchSize; j++) {
    adds.push({ message: addressMessage(RTM_NEWADDR, 10 + j) });
    // Secondaries first: deleting the primary address takes the secondaries with it.
    removes.push({ message: addressMessage(RTM_DELADDR, 10 + batchSize - 1 - j) });
  }
  const rounds = Math.max(1, Math.floor(count / batchSize));
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    for (const results of [await socket.batch(adds), await socket.batch(removes)]) {
      const failed = results.find((result) => !result.ok);
      if (failed) throw failed.error;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / (2 * rounds * batchSize);
}

// The requests of batched(), built with the batch API for every send.
async function batchApi(nl, count) {
  const specs = [];
  for (let j = 0; j < batchSize; j++) {
    specs.push({ link: loopbackIndex, address: `192.0.2.${10 + j}`, prefixLength: 24 });
  }
  const reversed = [...specs].reverse();
  const rounds = Math.max(1, Math.floor(count / batchSize));
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const adds = nl.batch();
    for (const spec of specs) adds.addAddress(spec);
    checkResults(await adds.send());
    const deletes = nl.batch();
    for (const spec of reversed) deletes.deleteAddress(spec);
    checkResults(await deletes.send());
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / (2 * rounds * batchSize);
}

function checkResults(results) {
  const failed = results.find((result) => !result.ok);
  if (failed) throw failed.error;
}

function compileFloor(directory) {
  const binary = join(directory, 'floor');
  const source = fileURLToPath(new URL('./floor.c', import.meta.url));
  execFileSync('cc', ['-O2', '-o', binary, source]);
  return binary;
}

function runFloor(binary, path, count) {
  const output = execFileSync(binary, [path, String(loopbackIndex), String(count)], {
    encoding: 'utf8',
  });
  const cases = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const usPerRequest = (name) => cases.find((c) => c.case === name).usPerOperation;
  return {
    single: usPerRequest('address add+delete, one at a time'),
    batch: usPerRequest('address add+delete, batched'),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const name = `fstack-kni-bench-${process.pid}`;
const directory = mkdtempSync(join(tmpdir(), 'fstack-kni-floor-'));
createNetns(name);
try {
  const binary = compileFloor(directory);
  const socket = NetlinkSocket.open({ netns: { name } });
  const nl = Rtnl.fromTransport(socket);
  await socket.request(linkUpMessage());
  await oneAtATime(socket, 2000); // warm-up
  await batchApi(nl, pairs);

  const measured = { single: [], batch: [], api: [], floorSingle: [], floorBatch: [] };
  for (let round = 0; round < rounds; round++) {
    measured.single.push(await oneAtATime(socket, pairs));
    measured.batch.push(await batched(socket, pairs));
    measured.api.push(await batchApi(nl, pairs));
    const floor = runFloor(binary, netnsPath(name), pairs);
    measured.floorSingle.push(floor.single);
    measured.floorBatch.push(floor.batch);
  }
  nl.close();

  const single = median(measured.single);
  const batch = median(measured.batch);
  const api = median(measured.api);
  const floorSingle = median(measured.floorSingle);
  const floorBatch = median(measured.floorBatch);
  console.log(`${rounds} rounds of ${2 * pairs} requests, medians (node ${process.version})`);
  console.log(
    `one at a time: ${single.toFixed(2)} us/request, C ${floorSingle.toFixed(2)}, ratio ${(single / floorSingle).toFixed(2)}`,
  );
  console.log(
    `batched x${batchSize}: ${batch.toFixed(2)} us/request, C ${floorBatch.toFixed(2)}, ratio ${(batch / floorBatch).toFixed(2)}`,
  );
  console.log(
    `batch API x${batchSize}: ${api.toFixed(2)} us/request, C ${floorBatch.toFixed(2)}, ratio ${(api / floorBatch).toFixed(2)}`,
  );
} finally {
  deleteNetns(name);
  rmSync(directory, { recursive: true, force: true });
}
