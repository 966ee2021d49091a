#!/usr/bin/env node
// `npm run format`: rewrites files to the project style. Biome formats, sorts imports and
// applies its safe fixes; clang-format 14 formats the C and C++ sources when installed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cxxFiles, findClangFormat, root } from './cxx.mjs';

const require = createRequire(import.meta.url);
const biome = require.resolve('@biomejs/biome/bin/biome');

const written = spawnSync(process.execPath, [biome, 'check', '--write', '.'], {
  cwd: root,
  stdio: 'inherit',
});
// Biome exits non-zero when lint findings remain that it cannot fix; the formatting is written anyway.
let status = written.status ?? 1;

const clangFormat = findClangFormat();
if (clangFormat === undefined) {
  process.stdout.write('clang-format 14 is not installed: C and C++ files were not formatted\n');
} else {
  const formatted = spawnSync(clangFormat, ['-i', ...cxxFiles()], { cwd: root, stdio: 'inherit' });
  if (formatted.status !== 0) status = formatted.status ?? 1;
}
process.exitCode = status;
