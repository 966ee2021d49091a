#!/usr/bin/env node
// Builds the fstack-kni command into dist/cli/ (part of `npm run build`). tsc type-checks
// src/cli/ with the rest and writes ES modules there too; this script replaces them with:
//
// - src/cli/program.ts and everything it imports, bundled by rolldown into CommonJS chunks:
//   program.js, and one chunk per command plus the chunks they share, which load on demand.
//   `status` loads 6 chunks instead of about 50 ES modules, and CommonJS skips the ES module
//   loader, which costs Node 20 several ms more per start.
// - src/cli/main.cts, the loader that package.json "bin" names, as dist/cli/main.js.
// - dist/cli/package.json, which makes Node read these .js files as CommonJS although the
//   package is "type": "module".
// - a V8 code cache per chunk (CHUNK.js.v8cache), which main.js hands to V8.
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { rolldown } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist', 'cli');

/** Kept out of the bundle: node-gyp-build finds the addon relative to the package at run time. */
const EXTERNAL = ['node-gyp-build'];

/** Output options that both bundles share: CommonJS without JSDoc comments, which only cost reading. */
const COMMON_OUTPUT = {
  format: 'cjs',
  comments: { legal: true, annotation: false, jsdoc: false },
};

/**
 * Gives each bundled module the `import.meta.url` of its own file in the library's dist/, so
 * paths it resolves against that URL (../package.json in src/version.ts, the package root in
 * src/native/addon.ts) mean the same in the bundle as in the library.
 */
// NOTE: the replacement is textual, so `import.meta.url` inside a string or comment changes too.
const libraryModuleUrl = {
  name: 'library-module-url',
  transform(code, id) {
    if (!code.includes('import.meta.url')) return null;
    const twin = join(root, 'dist', relative(join(root, 'src'), id)).replace(/\.c?ts$/, '.js');
    const path = JSON.stringify(`/${relative(outDir, twin)}`);
    const header = `import { pathToFileURL as libraryModuleUrl$ } from 'node:url';\n`;
    return (
      header + code.replaceAll('import.meta.url', `libraryModuleUrl$(__dirname + ${path}).href`)
    );
  },
};

async function bundle(input, output) {
  const build = await rolldown({
    input,
    cwd: root,
    platform: 'node',
    external: EXTERNAL,
    plugins: [libraryModuleUrl],
    tsconfig: join(root, 'tsconfig.json'),
  });
  try {
    await build.write({ ...COMMON_OUTPUT, ...output });
  } finally {
    await build.close();
  }
}

async function bundleProgram() {
  await bundle(
    { program: join(root, 'src', 'cli', 'program.ts') },
    { dir: outDir, entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  );
}

async function bundleLoader() {
  const file = join(outDir, 'main.js');
  await bundle(join(root, 'src', 'cli', 'main.cts'), {
    file,
    banner: '#!/usr/bin/env node',
  });
  chmodSync(file, 0o755);
}

/**
 * Writes the code cache of every chunk. V8 compiles functions lazily, on their first call,
 * and a cache contains only the functions compiled when it is made. So the chunks are
 * compiled with --no-lazy, and the cache contains every function. The flag is restored
 * before the cache is made, because V8 stamps a cache with a hash of its flags and rejects
 * one made under other flags.
 *
 * NOTE: Node.js warns that changing V8 flags after start may misbehave. This relies on V8
 * (11.3 in Node 20) recomputing the flag hash; test/cli/loader.test.ts checks that the node
 * which built the caches accepts them.
 */
function writeCodeCaches() {
  const require = createRequire(import.meta.url);
  const { compileChunk, CODE_CACHE_SUFFIX } = require(join(outDir, 'main.js'));
  for (const name of readdirSync(outDir)) {
    if (!name.endsWith('.js') || name === 'main.js') continue;
    const file = join(outDir, name);
    setFlagsFromString('--no-lazy');
    let script;
    try {
      script = compileChunk(file, readFileSync(file, 'utf8'));
    } finally {
      setFlagsFromString('--lazy');
    }
    writeFileSync(file + CODE_CACHE_SUFFIX, script.createCachedData());
  }
}

rmSync(outDir, { recursive: true, force: true });
await bundleProgram();
await bundleLoader();
writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
writeCodeCaches();
