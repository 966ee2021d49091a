// Differential test of the tokenizer against a real inih: Debian's libinih (package 55).
// Its defaults differ from F-Stack's vendored copy (lib/ff_ini_parser.h) in two options:
// INI_STOP_ON_FIRST_ERROR is 0 instead of 1, and INI_MAX_LINE is 200 where F-Stack 1.24 and
// later use 2048. Debian's build exposes the options as globals, and the harness sets them to
// F-Stack's values, so long lines are compared too. The other options already match
// (multi-line, BOM, inline ";" comments, ";#" line comments, MAX_SECTION and MAX_NAME 50), and
// Debian's 55, like F-Stack's copy, keeps inline comments in continuation lines (some other
// inih copies strip them). Random documents mix sections, keys, `=` and `:`,
// inline `;` and `#`, continuation lines, comments, blank lines, CRLF, a BOM, long section
// names, lines longer than the limit, NUL bytes and UTF-8. Up to the first error, both must
// make the same handler calls, and both must report the same line number.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseDocument } from '../../src/config/document.js';
import { eventsUntilFirstError, type IniPairEvent, tokenize } from '../../src/config/ini.js';
import { buildInihHarness, runInih } from '../helpers/config-inih.js';
import { makeTempDir } from '../helpers/config-paths.js';

const temp = makeTempDir('fstack-inih-');
const harness = buildInihHarness(temp.path);
const skipReason = 'skip' in harness ? harness.skip : undefined;

afterAll(() => temp.remove());

/** Deterministic PRNG (mulberry32) so a failure can be reproduced from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number, maxLine: number): Buffer {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const word = (): string =>
    pick(['kni', 'dpdk', 'port0', 'enable', 'method', 'tcp_port', 'a', 'Key', 'x.y', 'é', '✓v']);
  const pad = (): string => pick(['', '', ' ', '  ', '\t', ' \t']);
  const name = (size: number): string =>
    Array.from({ length: size }, (_, i) => pick(['n', 'm', '_', '.', String(i % 10)])).join('');
  const long = (size: number): string =>
    Array.from({ length: size }, (_, i) =>
      pick(['x', 'y', ' ', ';', '=', '#', 'é', String(i % 10)]),
    ).join('');

  const lineKinds: (() => string)[] = [
    () => '',
    () => pad(),
    () => `${pad()}; comment ${word()}`,
    () => `${pad()}# comment = ${word()}`,
    () => `[${word()}]`,
    () => `${pad()}[${pad()}${word()}${pad()}]${pick(['', ' ; c', ' trailing', '#x'])}`,
    () => `[${word()} ;c]`,
    () => `[${word()}`,
    () => `[${long(30 + Math.floor(next() * 60)).replace(/[\];]/g, 'z')}]`,
    () => `[${name(45 + Math.floor(next() * 10))}]\n${word()}=${word()}`,
    () => `${name(45 + Math.floor(next() * 10))}=${word()}\n${pick([' ', '\t'])}${word()}`,
    () =>
      `${word()}${pad()}${pick(['=', ':'])}${pad()}${word()}${pick(['', ' ; inline', ';kept', ' # hash', '#kept', '\t;tab', ' x=y'])}`,
    () => `${word()}${pad()}=${pad()}`,
    () => `=${word()}`,
    () => `${word()} ${word()}=${word()}`,
    () => `${word()}==${word()}:${word()}`,
    () => `${word()} ;x=y`,
    () => `${pick([' ', '\t', '  '])}${word()}${pick(['', '=v', ' ; c', ' # h'])}`,
    () => `${pick([' ', '\t'])}[${word()}]`,
    () => word(),
    () => `${word()}=${long(maxLine - 20 + Math.floor(next() * 60))}`,
    () => `${pad()}${word()}=${pick(['a\0b', '\0', 'v\rw', 'v\r'])}`,
  ];

  const lines: string[] = [];
  const count = 1 + Math.floor(next() * 24);
  for (let i = 0; i < count; i++) lines.push(pick(lineKinds)());

  let text = '';
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    text += line + (last && next() < 0.3 ? '' : pick(['\n', '\n', '\n', '\r\n']));
  });
  const bom = next() < 0.15 ? '\ufeff' : '';
  return Buffer.from(bom + text, 'utf8');
}

interface Call {
  section: string;
  name: string;
  value: string;
}

function tokenizerCalls(bytes: Buffer, maxLine: number): { calls: Call[]; result: number } {
  const scan = tokenize(parseDocument(bytes, { encoding: 'latin1' }), { maxLine });
  const hex = (text: string): string => Buffer.from(text, 'latin1').toString('hex');
  const calls = eventsUntilFirstError(scan)
    .filter((event): event is IniPairEvent => event.kind === 'pair')
    .map((event) => ({
      section: hex(event.section),
      name: hex(event.name),
      value: hex(event.value),
    }));
  return { calls, result: scan.firstErrorIniLine };
}

describe.skipIf(skipReason !== undefined)(
  `tokenizer against libinih${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    for (const maxLine of [200, 2048]) {
      it(`agrees on 400 random files with INI_MAX_LINE ${maxLine}`, () => {
        const files: string[] = [];
        const contents: Buffer[] = [];
        for (let seed = 1; seed <= 400; seed++) {
          const bytes = generate(seed * 7919 + maxLine, maxLine);
          const file = join(temp.path, `case-${maxLine}-${seed}.ini`);
          writeFileSync(file, bytes);
          files.push(file);
          contents.push(bytes);
        }

        const reference = runInih((harness as { path: string }).path, maxLine, files);
        expect(reference).toHaveLength(files.length);
        let errors = 0;
        reference.forEach((expected, i) => {
          const actual = tokenizerCalls(contents[i] as Buffer, maxLine);
          expect({ file: files[i], ...actual }).toEqual({
            file: files[i],
            calls: expected.calls,
            result: expected.result,
          });
          if (expected.result !== 0) errors++;
        });
        // The generator must exercise both outcomes.
        expect(errors).toBeGreaterThan(20);
        expect(errors).toBeLessThan(files.length);
      });
    }

    it('agrees on the cut of a line one byte over the limit', () => {
      const cases = [
        `k=${'v'.repeat(196)}\n`,
        `k=${'v'.repeat(197)}\n`,
        `k=${'v'.repeat(196)}\r\n`,
        `k=${'v'.repeat(197)}x=y\n`,
        `[s]\nk=${'v'.repeat(197)}  cont\n`,
        `\ufeffk=${'v'.repeat(194)}\n`,
        `\ufeffk=${'v'.repeat(195)}\n`,
      ];
      const files = cases.map((text, i) => {
        const file = join(temp.path, `edge-${i}.ini`);
        writeFileSync(file, text);
        return file;
      });
      const reference = runInih((harness as { path: string }).path, 200, files);
      cases.forEach((text, i) => {
        expect(tokenizerCalls(Buffer.from(text, 'utf8'), 200)).toEqual({
          calls: reference[i]?.calls,
          result: reference[i]?.result,
        });
      });
    });
  },
);
