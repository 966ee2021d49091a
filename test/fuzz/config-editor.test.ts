// Property test of the f-stack.conf editor: random set, unset, enable-section and
// disable-section operations, with valid and hostile keys and values, on mutated sample
// configs and small valid files. An edit either applies or throws EditError. An applied
// edit reads back as asked: set keys have their value, unset keys are gone, the result
// has no errors when it changed the file, other keys keep their values, and the new file round-trips byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument, serializeDocument } from '../../src/config/document.js';
import { applyEdits, EditError, type EditOperation, parseKeyPath } from '../../src/config/edit.js';
import { getValue, type LoadedConfig, parseConfig } from '../../src/config/model.js';
import { SECTIONS } from '../../src/config/schema.js';
import { FSTACK_VERSIONS } from '../../src/config/versions.js';
import { fixtureDir, fixtureNames } from '../helpers/config-paths.js';
import { mutateText, Prng } from './mutate.js';

const ITERATIONS = 5000;
const SEED = 0x5eed_0003;

const VALID_BASE = `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

[kni]
enable=1
method=accept
tcp_port=22
`;

const samples = [
  VALID_BASE,
  VALID_BASE.replaceAll('\n', '\r\n'),
  `\ufeff${VALID_BASE}`,
  ...fixtureNames.map((name) => readFileSync(join(fixtureDir, name), 'utf8')),
];

const VALUES = [
  '1',
  '0',
  'accept',
  'reject',
  'alltokni',
  '192.0.2.79',
  '198.51.100.1',
  '255.255.255.0',
  '255.0.255.0',
  '0',
  '0-3',
  '0,1',
  '22',
  '22,80',
  '80 443',
  'http',
  '8080-',
  '70000',
  '',
  ' spaced ',
  'a;b',
  'a ;b',
  'x # y',
  'line\nbreak',
  'cr\rhere',
  'x'.repeat(3000),
  '\u00e9t\u00e9',
  '-1',
  '0x1f',
  '2001:db8::1',
  '64',
  '=',
  '[kni]',
];

/** Returns a key address such as `kni.method` or `port1.addr`, mostly valid, sometimes not. */
function randomKey(random: Prng): string {
  if (random.chance(0.05))
    return random.pick([
      'kni',
      '.enable',
      'kni.',
      'no.such.section.key',
      'KNI.enable',
      'kni.Enable',
      'port.addr',
    ]);
  const spec = random.pick(SECTIONS);
  const section = spec.numbered ? `${spec.prefix}${random.pick([0, 0, 1, 7, 100])}` : spec.prefix;
  const names = spec.keys.map((key) => key.name);
  const name =
    names.length === 0 || random.chance(0.1)
      ? random.pick(['kern.ipc.somaxconn', 'bogus_key', 'hz'])
      : random.pick(names);
  return `${section}.${name}`;
}

function randomOperation(random: Prng): EditOperation {
  switch (random.below(6)) {
    case 0:
    case 1:
    case 2:
      return { kind: 'set', key: randomKey(random), value: random.pick(VALUES) };
    case 3:
      return { kind: 'unset', key: randomKey(random) };
    case 4:
      return {
        kind: 'enable-section',
        section: random.pick(['kni', 'port1', 'vlan7', 'pcap', 'freebsd.boot', 'nosuch']),
      };
    default:
      return {
        kind: 'disable-section',
        section: random.pick(['kni', 'port0', 'pcap', 'freebsd.sysctl', 'nosuch']),
      };
  }
}

/** The value each set or unset key must read back as after the operations (undefined: absent). */
function expectedValues(
  operations: readonly EditOperation[],
): Map<string, { section: string; name: string; value: string | undefined }> {
  const expected = new Map<string, { section: string; name: string; value: string | undefined }>();
  for (const operation of operations) {
    if (operation.kind !== 'set' && operation.kind !== 'unset') continue;
    const path = parseKeyPath(operation.key);
    expected.set(operation.key, {
      ...path,
      value: operation.kind === 'set' ? operation.value : undefined,
    });
  }
  return expected;
}

/** Checks an applied edit; throws with the input and operations on a violation. */
function checkApplied(
  loaded: LoadedConfig,
  operations: readonly EditOperation[],
  result: ReturnType<typeof applyEdits>,
): void {
  const context = `operations ${JSON.stringify(operations)} on ${JSON.stringify(serializeDocument(loaded.document).toString('latin1'))}`;
  const bytes = serializeDocument(result.document);
  if (!serializeDocument(parseDocument(bytes)).equals(bytes))
    throw new Error(`the edited file does not round-trip: ${context}`);
  if (!result.changed && !bytes.equals(serializeDocument(loaded.document)))
    throw new Error(`an unchanged result has new bytes: ${context}`);

  // An edit that changes nothing writes nothing, so it may leave a broken file as broken as it was.
  const errors = result.loaded.diagnostics.filter((d) => d.severity === 'error');
  if (result.changed && errors.length > 0)
    throw new Error(
      `the edit left errors (${errors.map((e) => e.message).join('; ')}): ${context}`,
    );

  // Enabling or disabling a section changes many keys at once, so those edits skip the checks below.
  const sectionEdits = operations.filter(
    (o) => o.kind === 'enable-section' || o.kind === 'disable-section',
  );
  if (sectionEdits.length > 0) return;

  const expected = expectedValues(operations);
  for (const { section, name, value } of expected.values()) {
    const found = getValue(result.loaded.config, section, name)?.value;
    if (found !== value)
      throw new Error(
        `${section}.${name} reads ${JSON.stringify(found)}, expected ${JSON.stringify(value)}: ${context}`,
      );
  }

  const touchedNames = new Set([...expected.values()].map((path) => path.name));
  for (const entry of loaded.config.entries) {
    if (entry.status === 'failed' || entry.afterStop || touchedNames.has(entry.name)) continue;
    const before = getValue(loaded.config, entry.section, entry.name)?.value;
    const after = getValue(result.loaded.config, entry.section, entry.name)?.value;
    if (before !== after)
      throw new Error(
        `untouched key ${entry.section}.${entry.name} changed from ${JSON.stringify(before)} to ${JSON.stringify(after)}: ${context}`,
      );
  }
}

describe('f-stack.conf editor under random edits', () => {
  it(`applies or throws EditError for ${ITERATIONS} random edits`, () => {
    const random = new Prng(SEED);
    const outcomes = { applied: 0, changed: 0, rejected: new Map<string, number>() };

    for (let i = 0; i < ITERATIONS; i++) {
      let text = random.pick(samples);
      if (random.chance(0.3)) text = mutateText(random, text);
      const loaded = parseConfig(text, { fstackVersion: random.pick(FSTACK_VERSIONS) });
      const operations = Array.from({ length: 1 + random.below(3) }, () => randomOperation(random));

      let result: ReturnType<typeof applyEdits>;
      try {
        result = applyEdits(loaded, operations);
      } catch (error) {
        if (!(error instanceof EditError)) {
          throw new Error(
            `applyEdits threw ${String(error)} for ${JSON.stringify(operations)} on ${JSON.stringify(text)}`,
            { cause: error },
          );
        }
        outcomes.rejected.set(error.code, (outcomes.rejected.get(error.code) ?? 0) + 1);
        continue;
      }
      outcomes.applied += 1;
      if (result.changed) outcomes.changed += 1;
      checkApplied(loaded, operations, result);
    }

    // Both outcomes must be common, or the generator explores only one side.
    expect(outcomes.changed).toBeGreaterThan(ITERATIONS / 20);
    expect([...outcomes.rejected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(
      ITERATIONS / 20,
    );
    expect([...outcomes.rejected.keys()]).toEqual(
      expect.arrayContaining(['key-unknown', 'value-invalid']),
    );
  });
});
