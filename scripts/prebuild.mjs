#!/usr/bin/env node
// Builds the Node-API prebuild that `npm pack` ships: prebuilds/<platform>-<arch>/fstack-kni.<libc>.node.
//
// prebuildify runs `node-gyp rebuild` in the directory it is given, and a rebuild starts by
// deleting build/. Tests and the CLI load build/Release, which must not vanish during a test
// run. So the sources are copied to a temporary directory and built there, and only the
// finished binary is copied into this checkout.
//
// Run it with `npm run build:prebuild`: npm puts its bundled node-gyp on PATH and sets
// npm_config_nodedir from .npmrc. Without nodedir the script uses the headers installed next
// to the running node, when present, so the build needs no download.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const prebuildify = require('prebuildify');

const root = fileURLToPath(new URL('..', import.meta.url));
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);

/** Files the build reads: binding.gyp lists native/*.cc and takes the header path from node-addon-api. */
const BUILD_INPUTS = ['binding.gyp', 'package.json', 'native'];

function headersNextToNode() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function buildEnvironment() {
  if (process.env.npm_config_nodedir === undefined) {
    const prefix = headersNextToNode();
    if (prefix !== undefined) process.env.npm_config_nodedir = prefix;
  }
}

function runPrebuildify(cwd) {
  return new Promise((resolve, reject) => {
    prebuildify(
      {
        cwd,
        out: root,
        napi: true,
        strip: true,
        tagLibc: true,
        // Node-API modules run on any later Node, so build once against the running node's
        // headers. prebuildify's default, the newest release listed by node-abi, needs a download.
        targets: [`node@${process.versions.node}`],
        nodeGyp: process.env.npm_config_node_gyp ?? 'node-gyp',
      },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

/** Loads the new binary in a separate node, which fails when a symbol or library is missing. */
function checkLoads(file) {
  const probe = `const m = require(${JSON.stringify(file)}); if (typeof m.openRouteSocket !== 'function') process.exit(1);`;
  execFileSync(process.execPath, ['-e', probe], { stdio: 'inherit' });
}

buildEnvironment();
const work = mkdtempSync(join(tmpdir(), 'fstack-kni-prebuild-'));
try {
  for (const input of BUILD_INPUTS)
    cpSync(join(root, input), join(work, input), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');

  rmSync(prebuildDir, { recursive: true, force: true });
  await runPrebuildify(work);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const built = readdirSync(prebuildDir).filter((name) => name.endsWith('.node'));
if (built.length !== 1) {
  throw new Error(
    `expected one .node file in ${prebuildDir}, found: ${built.join(', ') || 'none'}`,
  );
}
const file = join(prebuildDir, built[0]);
checkLoads(file);
process.stdout.write(`prebuild: ${file}\n`);
