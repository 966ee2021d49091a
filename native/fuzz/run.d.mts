// Types of run.mjs for the TypeScript tests that import it.

export const COMPILER: string;
export const TARGETS: readonly string[];
export const CORPUS_DIR: string;
export const REGRESSIONS_DIR: string;

export interface FuzzStats {
  executions: number;
  /** Edges covered at the end of the run. */
  coverage: number;
  features: number;
  corpusSize: number;
  /** True when libFuzzer exited with an error or wrote a crash, leak, timeout or OOM input. */
  found: boolean;
  crashes: string[];
  status: number | null;
  output: string;
}

export function fuzzSkipReason(): string | undefined;
export function buildTargets(outDir: string): Record<string, string>;
export function runTarget(
  binary: string,
  options: { seconds: number; workCorpus: string; artifactDir: string },
): FuzzStats;
export function runInputs(
  binary: string,
  files: readonly string[],
): { status: number | null; output: string };
export function seedFiles(): string[];
