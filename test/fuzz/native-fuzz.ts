// What the native fuzz tests share: the runner in native/fuzz/run.mjs and whether it can
// build the targets here.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as runner from '../../native/fuzz/run.mjs';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const {
  COMPILER,
  CORPUS_DIR,
  REGRESSIONS_DIR,
  TARGETS,
  buildTargets,
  runInputs,
  runTarget,
  seedFiles,
} = runner;

/** Why the fuzz targets cannot be built here (no clang-14 or no libFuzzer), or undefined. */
export const fuzzSkipReason: string | undefined = runner.fuzzSkipReason();

/** Lists the recorded datagrams of the seed corpus. */
export function corpusFiles(): string[] {
  return seedFiles().filter((file) => file.startsWith(join(CORPUS_DIR, '')));
}
