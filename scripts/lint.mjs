#!/usr/bin/env node
// `npm run lint`: Biome (format, lint rules, import order) on TypeScript, JavaScript and JSON,
// the TypeScript compiler without output, and clang-format 14 on the C and C++ sources.
// Every check runs even when an earlier one fails; the exit code is 1 when any failed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cxxFiles, findClangFormat, root } from './cxx.mjs';

const require = createRequire(import.meta.url);

/** Runs one check with inherited output and returns true when it passed. */
function check(title, program, args) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(program, args, { cwd: root, stdio: 'inherit' });
  if (result.error !== undefined) {
    process.stdout.write(`${title}: could not run ${program}: ${result.error.message}\n`);
    return false;
  }
  return result.status === 0;
}

const failed = [];

const biome = require.resolve('@biomejs/biome/bin/biome');
if (!check('biome check', process.execPath, [biome, 'check', '.'])) failed.push('biome check');

const tsc = require.resolve('typescript/bin/tsc');
if (!check('tsc --noEmit', process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json']))
  failed.push('tsc --noEmit');

const clangFormat = findClangFormat();
if (clangFormat === undefined) {
  process.stdout.write(
    '\n== clang-format\nskipped: clang-format 14 is not installed (Debian: apt-get install clang-format-14)\n',
  );
} else if (
  !check(`${clangFormat} --dry-run --Werror`, clangFormat, ['--dry-run', '--Werror', ...cxxFiles()])
) {
  failed.push('clang-format');
}

if (failed.length > 0) {
  process.stdout.write(
    `\nlint failed: ${failed.join(', ')}. "npm run format" fixes formatting and import order.\n`,
  );
  process.exitCode = 1;
} else {
  process.stdout.write('\nlint passed\n');
}
