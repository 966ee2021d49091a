// Property test of the TypeScript netlink decoders: thousands of mutated kernel datagrams
// (the recorded seed corpus of native/fuzz) go through message framing, attribute and
// nested-attribute walking and the link, address, route, neighbour and event decoders.
// Whatever the bytes, a decoder returns or throws NetlinkDecodeError, never another error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AttributeIterator, NetlinkDecodeError } from '../../src/netlink/attributes.js';
import { parseMessages } from '../../src/netlink/message.js';
import { decodeAddress, decodeAddresses } from '../../src/rtnl/address.js';
import { decodeEvents } from '../../src/rtnl/events.js';
import { decodeLink, decodeLinks } from '../../src/rtnl/link.js';
import { decodeNeighbour, decodeNeighbours } from '../../src/rtnl/neighbour.js';
import { decodeRoute, decodeRoutes } from '../../src/rtnl/route.js';
import { mutateBytesTimes, Prng } from './mutate.js';
import { corpusFiles } from './native-fuzz.js';

const ITERATIONS = 20_000;
const SEED = 0x5eed_0001;
const ALL_KINDS = { links: true, addresses: true, routes: true, neighbours: true };
const fixtureDir = fileURLToPath(new URL('./fixtures', import.meta.url));

function fixture(name: string): Buffer {
  return Buffer.from(readFileSync(join(fixtureDir, name), 'utf8').trim(), 'hex');
}

/** Runs `decode` and rethrows anything that is not a NetlinkDecodeError, with the input. */
function expectDecodeErrorOnly(what: string, input: Buffer, decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (error instanceof NetlinkDecodeError) return;
    throw new Error(`${what} threw ${String(error)} for input ${input.toString('hex')}`, {
      cause: error,
    });
  }
}

/** Walks attributes and every payload as nested attributes, reading each value every way. */
function walkAttributes(buffer: Buffer, start: number, end: number, depth: number): void {
  for (const attribute = new AttributeIterator(buffer, start, end); attribute.next(); ) {
    attribute.string();
    attribute.bytes();
    for (const read of [
      () => attribute.u8(),
      () => attribute.u16(),
      () => attribute.u32(),
      () => attribute.s32(),
    ]) {
      try {
        read();
      } catch (error) {
        if (!(error instanceof NetlinkDecodeError)) throw error;
      }
    }
    if (depth > 0) {
      try {
        const nested = attribute.nestedAttributes();
        while (nested.next())
          walkAttributes(buffer, nested.offset, nested.offset + nested.length, depth - 1);
      } catch (error) {
        if (!(error instanceof NetlinkDecodeError)) throw error;
      }
    }
  }
}

/** Feeds one datagram to every decoder. */
function decodeEverything(input: Buffer): void {
  expectDecodeErrorOnly('decodeLinks', input, () => decodeLinks(input));
  expectDecodeErrorOnly('decodeAddresses', input, () => decodeAddresses(input));
  expectDecodeErrorOnly('decodeRoutes', input, () => decodeRoutes(input));
  expectDecodeErrorOnly('decodeNeighbours', input, () => decodeNeighbours(input));

  // Every message through every decoder, whatever its type, and its body as attributes.
  expectDecodeErrorOnly('per-message decoders', input, () => {
    for (const message of parseMessages(input)) {
      for (const decode of [decodeLink, decodeAddress, decodeRoute, decodeNeighbour]) {
        expectDecodeErrorOnly(decode.name, input, () => decode(input, message));
      }
      for (const headerLength of [16, 8, 12]) {
        expectDecodeErrorOnly('attribute walk', input, () =>
          walkAttributes(
            input,
            Math.min(message.offset + 16 + headerLength, message.offset + message.length),
            message.offset + message.length,
            3,
          ),
        );
      }
    }
  });

  // Event decoding never throws; undecodable messages become error events.
  const events = decodeEvents(input, ALL_KINDS);
  for (const event of events) {
    if (event.kind === 'error' && !(event.error instanceof NetlinkDecodeError)) {
      throw new Error(
        `decodeEvents reported ${String(event.error)} for input ${input.toString('hex')}`,
        { cause: event.error },
      );
    }
  }
}

describe('netlink decoders under mutated kernel replies', () => {
  const seeds = corpusFiles().map((file) => readFileSync(file));

  it('has recorded seeds to mutate', () => {
    expect(seeds.length).toBeGreaterThan(10);
  });

  it('decodes every recorded datagram without error', () => {
    for (const seed of seeds) {
      expect(() => parseMessages(seed)).not.toThrow();
      expect(() => decodeEverything(seed)).not.toThrow();
    }
  });

  it.each([
    ['address-ifa-address-6-bytes.hex', decodeAddresses],
    ['route-gateway-6-bytes.hex', decodeRoutes],
    ['neighbour-dst-6-bytes.hex', decodeNeighbours],
  ] as const)('rejects the IP attribute of %s', (name, decode) => {
    expect(() => decode(fixture(name))).toThrow(NetlinkDecodeError);
    expect(() => decode(fixture(name))).toThrow(/is 6 bytes, not an IPv4 or IPv6 address/);
  });

  it(`throws only NetlinkDecodeError on ${ITERATIONS} mutations`, () => {
    const random = new Prng(SEED);
    let decodeErrors = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = random.pick(seeds);
      const donor = random.pick(seeds);
      const input = mutateBytesTimes(random, seed, 1 + random.below(6), donor);
      decodeEverything(input);
      try {
        parseMessages(input);
      } catch {
        decodeErrors += 1;
      }
    }
    // Both outcomes must occur, or the mutations never reached the framing checks.
    expect(decodeErrors).toBeGreaterThan(0);
    expect(decodeErrors).toBeLessThan(ITERATIONS);
  });
});
