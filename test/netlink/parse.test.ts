// The pure C++ parsing units (native/nl_parse.cc, nl_requests.cc, nl_batch.cc) on byte fixtures
// and on garbage, through a small driver compiled here with AddressSanitizer and
// UndefinedBehaviorSanitizer, so an out-of-bounds read fails the test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as raw from './raw-messages.js';

const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

const nativeDirectory = fileURLToPath(new URL('../../native/', import.meta.url));
const driverSource = fileURLToPath(new URL('./nl_parse_driver.cc', import.meta.url));

function hasCompiler(): boolean {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32LE(value, 0);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value, 0);
  return out;
}

function withHeader(message: Buffer, sequence: number, portId: number): Buffer {
  const out = Buffer.from(message);
  out.writeUInt32LE(sequence, 8);
  out.writeUInt32LE(portId, 12);
  return out;
}

// The request that every ack below acknowledges: RTM_NEWADDR, 40 bytes, IFA_LOCAL at offset 24.
const request = withHeader(raw.addAddress(1, '192.0.2.79', 24), 7, 99);

/** Builds an NLMSG_ERROR the way the kernel does (net/netlink/af_netlink.c, netlink_ack). */
function errorMessage(options: {
  error: number;
  capped: boolean;
  tlvs?: Buffer[];
  sequence?: number;
}): Buffer {
  const echoed = options.capped ? request.subarray(0, 16) : request;
  const flags = (options.capped ? raw.NLM_F_CAPPED : 0) | (options.tlvs ? raw.NLM_F_ACK_TLVS : 0);
  const payload = Buffer.concat([int32(options.error), echoed]);
  const padded = Buffer.concat([
    payload,
    Buffer.alloc(((payload.length + 3) & ~3) - payload.length),
  ]);
  const message = raw.message(raw.NLMSG_ERROR, flags, padded, ...(options.tlvs ?? []));
  return withHeader(message, options.sequence ?? 7, 99);
}

function doneMessage(error: number, flags = 0, tlvs: Buffer[] = []): Buffer {
  const all = flags | (tlvs.length > 0 ? raw.NLM_F_ACK_TLVS : 0) | raw.NLM_F_MULTI;
  return withHeader(raw.message(raw.NLMSG_DONE, all, int32(error), ...tlvs), 7, 99);
}

function dataMessage(host: number, flags = 0): Buffer {
  const message = raw.addAddress(1, `198.51.100.${host}`, 32);
  message.writeUInt16LE(raw.RTM_NEWADDR, 4);
  message.writeUInt16LE(raw.NLM_F_MULTI | flags, 6);
  return withHeader(message, 7, 99);
}

const extackText = raw.attribute(
  NLMSGERR_ATTR_MSG,
  Buffer.from('ipv4: Address already assigned\0'),
);
const extackOffset = raw.attribute(NLMSGERR_ATTR_OFFS, u32(24));

describe.skipIf(!hasCompiler())('nl_parse on byte fixtures', () => {
  let directory: string;
  let driver: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'fkt-parse-'));
    driver = join(directory, 'nl_parse_driver');
    execFileSync('g++', [
      '-std=c++17',
      '-O1',
      '-g',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-I',
      nativeDirectory,
      driverSource,
      join(nativeDirectory, 'nl_parse.cc'),
      join(nativeDirectory, 'nl_requests.cc'),
      join(nativeDirectory, 'nl_batch.cc'),
      '-o',
      driver,
    ]);
  }, 120_000);

  afterAll(() => {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  // Runs driver commands; a sanitizer finding makes the driver exit non-zero, which throws.
  function run(...commands: string[]): Array<Record<string, unknown>> {
    const output = execFileSync(driver, { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
    return output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('walks messages back to back', () => {
    const first = dataMessage(1);
    const [result] = run(`walk ${Buffer.concat([first, doneMessage(0)]).toString('hex')}`);
    expect(result).toEqual({
      messages: [
        { type: raw.RTM_NEWADDR, flags: raw.NLM_F_MULTI, sequence: 7, portId: 99, size: 40 },
        { type: raw.NLMSG_DONE, flags: raw.NLM_F_MULTI, sequence: 7, portId: 99, size: 20 },
      ],
      malformed: false,
    });
  });

  it('walk flags bad lengths as malformed', () => {
    const tooShort = Buffer.from(dataMessage(1));
    tooShort.writeUInt32LE(12, 0);
    const tooLong = Buffer.from(dataMessage(1));
    tooLong.writeUInt32LE(41, 0);
    const unpaddedLast = Buffer.concat([dataMessage(1), raw.message(99, 0, Buffer.from([1]))]);

    const [short, long, unpadded, empty, header] = run(
      `walk ${tooShort.toString('hex')}`,
      `walk ${tooLong.toString('hex')}`,
      `walk ${unpaddedLast.toString('hex')}`,
      'walk ',
      `walk ${dataMessage(1).subarray(0, 10).toString('hex')}`,
    );
    expect(short).toEqual({ messages: [], malformed: true });
    expect(long).toEqual({ messages: [], malformed: true });
    expect(unpadded?.messages).toHaveLength(2);
    expect(unpadded?.malformed).toBe(false);
    expect(empty).toEqual({ messages: [], malformed: false });
    expect(header).toEqual({ messages: [], malformed: true });
  });

  it('capped error with extended ack', () => {
    const [result] = run(
      `error ${errorMessage({ error: -17, capped: true, tlvs: [extackText, extackOffset] }).toString('hex')}`,
    );
    expect(result).toEqual({
      framed: true,
      ok: true,
      error: 17,
      extackMessage: 'ipv4: Address already assigned',
      extackOffset: 24,
    });
  });

  it('uncapped error skips the echoed request', () => {
    const [result] = run(
      `error ${errorMessage({ error: -22, capped: false, tlvs: [extackOffset, extackText] }).toString('hex')}`,
    );
    expect(result).toMatchObject({
      ok: true,
      error: 22,
      extackMessage: 'ipv4: Address already assigned',
      extackOffset: 24,
    });
  });

  it('plain ack has no extended ack', () => {
    const [result] = run(`error ${errorMessage({ error: 0, capped: true }).toString('hex')}`);
    expect(result).toEqual({
      framed: true,
      ok: true,
      error: 0,
      extackMessage: '',
      extackOffset: -1,
    });
  });

  it('impossible error codes are rejected', () => {
    const short = raw.message(raw.NLMSG_ERROR, 0, Buffer.from([0xff, 0xff]));
    const positive = errorMessage({ error: 5, capped: true });
    const minimum = errorMessage({ error: -(2 ** 31), capped: true });
    const results = run(
      `error ${short.toString('hex')}`,
      `error ${positive.toString('hex')}`,
      `error ${minimum.toString('hex')}`,
    );
    for (const result of results) expect(result).toMatchObject({ framed: true, ok: false });
  });

  it('damaged extended ack is ignored', () => {
    // An attribute claiming more bytes than the message has.
    const overlong = Buffer.from(extackText);
    overlong.writeUInt16LE(200, 0);
    // A message attribute without its terminating NUL.
    const unterminated = raw.attribute(NLMSGERR_ATTR_MSG, Buffer.from('abc'));
    // An uncapped ack whose echoed request claims to be huge.
    const bogusEcho = errorMessage({ error: -22, capped: false, tlvs: [extackText] });
    bogusEcho.writeUInt32LE(0xffffffff, 20);

    const [damaged, noNul, echo] = run(
      `error ${errorMessage({ error: -22, capped: true, tlvs: [overlong] }).toString('hex')}`,
      `error ${errorMessage({ error: -22, capped: true, tlvs: [unterminated] }).toString('hex')}`,
      `error ${bogusEcho.toString('hex')}`,
    );
    expect(damaged).toEqual({
      framed: true,
      ok: true,
      error: 22,
      extackMessage: '',
      extackOffset: -1,
    });
    expect(noNul).toMatchObject({ ok: true, extackMessage: 'abc' });
    expect(echo).toMatchObject({ ok: true, error: 22, extackMessage: '' });
  });

  it('DONE carries an error and extended ack', () => {
    const [withError, bare] = run(
      `done ${doneMessage(-22, 0, [raw.attribute(NLMSGERR_ATTR_MSG, Buffer.from('bad filter\0'))]).toString('hex')}`,
      `done ${raw.message(raw.NLMSG_DONE, raw.NLM_F_MULTI).toString('hex')}`,
    );
    expect(withError).toEqual({
      framed: true,
      ok: true,
      error: 22,
      extackMessage: 'bad filter',
      extackOffset: -1,
    });
    expect(bare).toEqual({ framed: true, ok: true, error: 0, extackMessage: '', extackOffset: -1 });
  });

  it('dump collects parts until DONE', () => {
    const first = Buffer.concat([dataMessage(1), dataMessage(2)]);
    const second = Buffer.concat([dataMessage(3, raw.NLM_F_DUMP_INTR), doneMessage(0)]);
    const [result] = run(`collect dump ${first.toString('hex')} ${second.toString('hex')}`);

    expect(result).toEqual({
      completedAt: 1,
      error: 0,
      interrupted: true,
      extackMessage: '',
      extackOffset: -1,
      payload: Buffer.concat([
        dataMessage(1),
        dataMessage(2),
        dataMessage(3, raw.NLM_F_DUMP_INTR),
      ]).toString('hex'),
    });
  });

  it('dump ended by an error or a failed DONE', () => {
    const ended = errorMessage({ error: -22, capped: true, tlvs: [extackText] });
    const [byError, byDone] = run(
      `collect dump ${dataMessage(1).toString('hex')} ${ended.toString('hex')}`,
      `collect dump ${Buffer.concat([dataMessage(1), doneMessage(-16)]).toString('hex')}`,
    );
    expect(byError).toMatchObject({
      completedAt: 1,
      error: 22,
      extackMessage: 'ipv4: Address already assigned',
    });
    expect(byDone).toMatchObject({ completedAt: 0, error: 16 });
  });

  it('plain request completes at its ack only', () => {
    const reply = dataMessage(9);
    const [result, unfinished] = run(
      `collect plain ${reply.toString('hex')} ${doneMessage(0).toString('hex')} ${errorMessage({ error: 0, capped: true }).toString('hex')}`,
      `collect plain ${reply.toString('hex')} ${doneMessage(0).toString('hex')}`,
    );
    expect(result).toMatchObject({
      completedAt: 2,
      error: 0,
      interrupted: false,
      payload: reply.toString('hex'),
    });
    expect(unfinished).toMatchObject({ completedAt: -1 });
  });

  it('payload is padded to 4 bytes', () => {
    const odd = withHeader(
      raw.message(raw.RTM_NEWLINK, raw.NLM_F_MULTI, Buffer.from([1, 2, 3])),
      7,
      99,
    );
    const [result] = run(
      `collect dump ${Buffer.concat([odd, Buffer.alloc(1), doneMessage(0)]).toString('hex')}`,
    );
    expect(result?.payload).toBe(Buffer.concat([odd, Buffer.alloc(1)]).toString('hex'));
  });

  it('batch layout finds each message', () => {
    const add = raw.addAddress(1, '192.0.2.10', 24);
    const remove = raw.deleteAddress(1, '192.0.2.10', 24);
    const odd = raw.message(99, 0, Buffer.from([1]));
    const padded = Buffer.concat([odd, Buffer.alloc(3)]);
    const [three, unpaddedLast] = run(
      `batch 65536 256 ${Buffer.concat([add, remove, add]).toString('hex')}`,
      `batch 65536 256 ${Buffer.concat([add, padded, odd]).toString('hex')}`,
    );
    expect(add.length).toBe(40);
    expect(three).toEqual({ parsed: true, offsets: [0, 40, 80, 120], datagramEnds: [3] });
    expect(unpaddedLast).toEqual({ parsed: true, offsets: [0, 40, 60, 77], datagramEnds: [3] });
  });

  it('batch layout rejects bad framing', () => {
    const add = raw.addAddress(1, '192.0.2.10', 24);
    const tooLong = Buffer.from(add);
    tooLong.writeUInt32LE(44, 0);
    const tooShort = Buffer.from(add);
    tooShort.writeUInt32LE(15, 0);

    const [empty, long, short, truncatedSecond, trailing] = run(
      'batch 65536 256 ',
      `batch 65536 256 ${Buffer.concat([add, tooLong]).toString('hex')}`,
      `batch 65536 256 ${tooShort.toString('hex')}`,
      `batch 65536 256 ${Buffer.concat([add, add.subarray(0, 12)]).toString('hex')}`,
      `batch 65536 256 ${Buffer.concat([add, Buffer.alloc(20)]).toString('hex')}`,
    );
    expect(empty).toEqual({ parsed: false, malformedOffset: 0 });
    expect(long).toEqual({ parsed: false, malformedOffset: 40 });
    expect(short).toEqual({ parsed: false, malformedOffset: 0 });
    expect(truncatedSecond).toEqual({ parsed: false, malformedOffset: 40 });
    expect(trailing).toEqual({ parsed: false, malformedOffset: 40 });
  });

  it('batch datagrams respect both limits', () => {
    const add = raw.addAddress(1, '192.0.2.10', 24);
    const big = raw.message(99, 0, Buffer.alloc(200));
    const five = Buffer.concat([add, add, add, add, add]).toString('hex');
    const [byCount, byBytes, oversized] = run(
      `batch 65536 2 ${five}`,
      `batch 100 256 ${five}`,
      `batch 100 256 ${Buffer.concat([add, big, add]).toString('hex')}`,
    );
    expect(byCount?.datagramEnds).toEqual([2, 4, 5]);
    // 80 bytes fit in 100, 120 do not.
    expect(byBytes?.datagramEnds).toEqual([2, 4, 5]);
    // A message larger than the limit goes alone.
    expect(oversized?.datagramEnds).toEqual([1, 2, 3]);
  });

  it('garbage input does not crash', () => {
    const seeds = [
      errorMessage({ error: -17, capped: true, tlvs: [extackText, extackOffset] }),
      errorMessage({ error: -22, capped: false, tlvs: [extackText] }),
      Buffer.concat([dataMessage(1, raw.NLM_F_DUMP_INTR), doneMessage(-22, 0, [extackText])]),
    ];
    const results = run(
      ...seeds.map((seed) => `seed ${seed.toString('hex')}`),
      'garbage 20000 1',
      'garbage 20000 2',
    );
    expect(results).toEqual([{ runs: 20000 }, { runs: 20000 }]);
  });

  it('request table matches a model', () => {
    expect(run('table 20000 3')).toEqual([{ ok: true, live: expect.any(Number) }]);
  });
});
