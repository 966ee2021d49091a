// Builds the libFuzzer targets of native/fuzz with clang++-14 (AddressSanitizer and
// UndefinedBehaviorSanitizer on) and runs them over the seed corpus.
//
//   npm run fuzz -- [SECONDS]        (default 600, split evenly across the targets)
//
// New inputs found go to a work corpus under the system temp directory, kept between runs.
// Crashes go to an artifacts directory next to it, and the run then exits with status 1. A
// crash input becomes a regression: copy it to native/fuzz/regressions/ and fix the code.
// The test suite (test/fuzz/native.test.ts) runs it from then on.
//
// The test suite imports buildTargets, runTarget and runInputs from this file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const fuzzDir = dirname(fileURLToPath(import.meta.url));
const nativeDir = resolve(fuzzDir, '..');

export const COMPILER = 'clang++-14';
export const TARGETS = ['fuzz_framing', 'fuzz_ack', 'fuzz_reply', 'fuzz_requests'];
export const CORPUS_DIR = join(fuzzDir, 'corpus');
export const REGRESSIONS_DIR = join(fuzzDir, 'regressions');

// The pure C++ parts of the transport that the targets link. They need no Node-API headers.
const SOURCES = [
  join(nativeDir, 'nl_parse.cc'),
  join(nativeDir, 'nl_requests.cc'),
  join(nativeDir, 'nl_batch.cc'),
];
const FLAGS = [
  '-std=c++17',
  '-g',
  '-O1',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-fsanitize=fuzzer,address,undefined',
  '-fno-sanitize-recover=all',
  `-I${nativeDir}`,
];
// Maximum input length tried. Recorded link dumps with statistics are about 4.5 KiB.
const MAX_INPUT_BYTES = 16384;

/** Returns why the targets cannot be built here, or undefined when they can. */
export function fuzzSkipReason() {
  const probe = spawnSync(COMPILER, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return `${COMPILER} is not installed`;

  // Linking an empty target shows whether libFuzzer and the sanitizer runtimes are there.
  const directory = mkdtempSync(join(tmpdir(), 'fstack-kni-fuzz-probe-'));
  try {
    const source = join(directory, 'probe.cc');
    writeFileSync(
      source,
      'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n',
    );
    const link = spawnSync(COMPILER, [...FLAGS, source, '-o', join(directory, 'probe')], {
      encoding: 'utf8',
    });
    if (link.status !== 0) {
      return `${COMPILER} cannot link a libFuzzer target (is libclang-rt-14-dev installed?): ${link.stderr.trim().split('\n')[0]}`;
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return undefined;
}

/** Compiles every target into `outDir` and returns the binaries by target name. */
export function buildTargets(outDir) {
  mkdirSync(outDir, { recursive: true });
  const binaries = {};
  for (const target of TARGETS) {
    const output = join(outDir, target);
    const result = spawnSync(
      COMPILER,
      [...FLAGS, ...SOURCES, join(fuzzDir, `${target}.cc`), '-o', output],
      {
        encoding: 'utf8',
      },
    );
    if (result.status !== 0) {
      throw new Error(`building ${target} failed:\n${result.stderr}`);
    }
    binaries[target] = output;
  }
  return binaries;
}

/** Parses the statistics libFuzzer prints at the end of a run. */
function parseStats(output) {
  const executions = /stat::number_of_executed_units:\s*(\d+)/.exec(output);
  const coverage = [...output.matchAll(/cov: (\d+) ft: (\d+) corp: (\d+)/g)].at(-1);
  return {
    executions: executions === null ? 0 : Number(executions[1]),
    coverage: coverage === undefined ? 0 : Number(coverage[1]),
    features: coverage === undefined ? 0 : Number(coverage[2]),
    corpusSize: coverage === undefined ? 0 : Number(coverage[3]),
  };
}

/**
 * Fuzzes one target for `seconds`. New inputs go to `workCorpus` (created when missing),
 * seeds are read from the committed corpus too, and a crash input is written to
 * `artifactDir`. Returns the statistics, whether it found a crash, and libFuzzer's output.
 */
export function runTarget(binary, { seconds, workCorpus, artifactDir }) {
  mkdirSync(workCorpus, { recursive: true });
  mkdirSync(artifactDir, { recursive: true });
  const result = spawnSync(
    binary,
    [
      `-max_total_time=${seconds}`,
      `-max_len=${MAX_INPUT_BYTES}`,
      '-timeout=10',
      '-print_final_stats=1',
      `-artifact_prefix=${artifactDir}/`,
      workCorpus,
      CORPUS_DIR,
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const output = `${result.stdout}${result.stderr}`;
  const crashes = readdirSync(artifactDir).filter((name) =>
    /^(crash|leak|timeout|oom)-/.test(name),
  );
  return {
    ...parseStats(output),
    found: result.status !== 0 || crashes.length > 0,
    crashes,
    status: result.status,
    output,
  };
}

/** Runs each file once through the target (no fuzzing); returns the exit status and output. */
export function runInputs(binary, files) {
  const result = spawnSync(binary, ['-runs=1', ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Lists the files of the committed corpus and of the regression directory, for runInputs. */
export function seedFiles() {
  const files = readdirSync(CORPUS_DIR).map((name) => join(CORPUS_DIR, name));
  if (existsSync(REGRESSIONS_DIR)) {
    files.push(...readdirSync(REGRESSIONS_DIR).map((name) => join(REGRESSIONS_DIR, name)));
  }
  return files.sort();
}

function main() {
  const seconds = Number(process.argv[2] ?? 600);
  if (!Number.isInteger(seconds) || seconds < TARGETS.length) {
    console.error(
      `usage: npm run fuzz -- [SECONDS]: SECONDS must be an integer of at least ${TARGETS.length}, got ${process.argv[2]}`,
    );
    process.exit(2);
  }
  const skip = fuzzSkipReason();
  if (skip !== undefined) {
    console.error(`cannot fuzz: ${skip}`);
    process.exit(2);
  }

  const home = join(tmpdir(), 'fstack-kni-fuzz');
  const binaries = buildTargets(join(home, 'bin'));
  const perTarget = Math.floor(seconds / TARGETS.length);
  let found = false;
  for (const target of TARGETS) {
    const artifactDir = join(home, 'artifacts', target);
    const stats = runTarget(binaries[target], {
      seconds: perTarget,
      workCorpus: join(home, 'corpus', target),
      artifactDir,
    });
    console.log(
      `${target}: ${stats.executions} executions in ${perTarget} s, coverage ${stats.coverage} edges, ` +
        `${stats.features} features, corpus ${stats.corpusSize} inputs` +
        (stats.found
          ? `, FOUND A PROBLEM (exit ${stats.status}), inputs in ${artifactDir}`
          : ', no finding'),
    );
    if (stats.found) {
      found = true;
      console.log(
        stats.output
          .split('\n')
          .filter((line) => /ERROR|invariant|SUMMARY|#\d+ in /.test(line))
          .slice(0, 40)
          .join('\n'),
      );
    }
  }
  process.exit(found ? 1 : 0);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
