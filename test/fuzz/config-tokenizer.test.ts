// Property test of the f-stack.conf reader: thousands of mutated sample configs (the
// shipped ones of several F-Stack releases, when present) and synthetic files, as bytes
// and as text. Every input must serialize back to the exact bytes it was read from, and
// parsing plus validation must never throw, whatever the content.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument, serializeDocument } from '../../src/config/document.js';
import { parseConfig } from '../../src/config/model.js';
import { FSTACK_VERSIONS } from '../../src/config/versions.js';
import { fixtureDir, fixtureNames } from '../helpers/config-paths.js';
import { mutateBytesTimes, mutateText, Prng, syntheticConfig } from './mutate.js';

const ITERATIONS = 10_000;
const SEED = 0x5eed_0002;

const samples = fixtureNames.map((name) => readFileSync(join(fixtureDir, name)));

/** Reads bytes like `config check` does and checks the round trip; returns the diagnostics count. */
function readBack(bytes: Buffer, version: string): number {
  const document = parseDocument(bytes);
  const serialized = serializeDocument(document);
  if (!serialized.equals(bytes)) {
    throw new Error(`round trip changed the bytes of input ${bytes.toString('hex')}`);
  }

  let diagnostics: number;
  try {
    const loaded = parseConfig(bytes, { fstackVersion: version });
    if (!serializeDocument(loaded.document).equals(bytes)) {
      throw new Error(`parseConfig's document changed the bytes of input ${bytes.toString('hex')}`);
    }
    diagnostics = loaded.diagnostics.length;
  } catch (error) {
    throw new Error(
      `parseConfig (F-Stack ${version}) threw ${String(error)} for input ${bytes.toString('hex')}`,
      { cause: error },
    );
  }
  return diagnostics;
}

/** Produces the i-th input: a mutated sample or a synthetic file, as text or raw bytes. */
function nextInput(random: Prng): Buffer {
  const base =
    samples.length > 0 && random.chance(0.6)
      ? random.pick(samples)
      : Buffer.from(syntheticConfig(random));
  if (random.chance(0.5)) {
    let text = base.toString('utf8');
    const rounds = 1 + random.below(8);
    for (let i = 0; i < rounds; i++) text = mutateText(random, text);
    return Buffer.from(text, random.chance(0.9) ? 'utf8' : 'latin1');
  }
  return mutateBytesTimes(random, base, 1 + random.below(8));
}

describe('f-stack.conf reader under mutated input', () => {
  it('reads every shipped sample back byte for byte', () => {
    for (const sample of samples) {
      for (const version of FSTACK_VERSIONS) expect(() => readBack(sample, version)).not.toThrow();
    }
  });

  it('keeps BOM, CRLF, a missing final newline and invalid UTF-8', () => {
    const cases = [
      Buffer.from('\ufeff[kni]\r\nenable=1\r\nmethod=accept', 'utf8'),
      Buffer.from([0x5b, 0x6b, 0x6e, 0x69, 0x5d, 0x0a, 0xff, 0xfe, 0x3d, 0x31, 0x0d, 0x0d, 0x0a]),
      Buffer.from('[dpdk]\n\n\n   \n;\n#\n', 'utf8'),
      Buffer.alloc(0),
      Buffer.from('\r\n\r', 'utf8'),
    ];
    for (const bytes of cases) expect(() => readBack(bytes, '1.25')).not.toThrow();
  });

  it(`round-trips and never throws on ${ITERATIONS} mutated files`, () => {
    const random = new Prng(SEED);
    let withFindings = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = nextInput(random);
      if (readBack(bytes, random.pick(FSTACK_VERSIONS)) > 0) withFindings += 1;
    }
    // The mutations must reach the validator's findings. With the clean shipped samples as
    // bases, some mutated files must come out clean too; synthetic bases always have findings.
    expect(withFindings).toBeGreaterThan(ITERATIONS / 10);
    if (samples.length > 0) expect(withFindings).toBeLessThan(ITERATIONS);
  });
});
