// The libFuzzer targets of native/fuzz, built with AddressSanitizer and
// UndefinedBehaviorSanitizer: every recorded seed and every saved regression input runs
// clean, then each target is fuzzed for a short while (about 60 s across all four). The
// long run is `npm run fuzz -- SECONDS`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTargets,
  fuzzSkipReason,
  runInputs,
  runTarget,
  seedFiles,
  TARGETS,
} from './native-fuzz.js';

const SECONDS_PER_TARGET = 15;

describe.skipIf(fuzzSkipReason !== undefined)(
  `native fuzz targets${fuzzSkipReason ? ` (skipped: ${fuzzSkipReason})` : ''}`,
  () => {
    let work = '';
    let binaries: Record<string, string> = {};

    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'fstack-kni-fuzz-'));
      binaries = buildTargets(join(work, 'bin'));
    }, 120_000);

    afterAll(() => {
      if (work !== '') rmSync(work, { recursive: true, force: true });
    });

    for (const target of TARGETS) {
      it(`${target} passes every seed and regression input`, () => {
        const files = seedFiles();
        expect(files.length).toBeGreaterThan(0);
        const result = runInputs(binaries[target] as string, files);
        expect(result.output).not.toMatch(/ERROR: |invariant failed|runtime error/);
        expect(result.status).toBe(0);
      });

      it(
        `${target} survives ${SECONDS_PER_TARGET} s of fuzzing`,
        () => {
          const stats = runTarget(binaries[target] as string, {
            seconds: SECONDS_PER_TARGET,
            workCorpus: join(work, 'corpus', target),
            artifactDir: join(work, 'artifacts', target),
          });
          console.log(
            `${target}: ${stats.executions} executions, coverage ${stats.coverage} edges, ${stats.features} features, ` +
              `corpus ${stats.corpusSize} inputs, findings ${stats.crashes.length}`,
          );
          expect(stats.crashes).toEqual([]);
          expect(stats.found).toBe(false);
          expect(stats.executions).toBeGreaterThan(0);
        },
        (SECONDS_PER_TARGET + 60) * 1000,
      );
    }
  },
);
