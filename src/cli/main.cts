// Entry point of the fstack-kni command (package.json "bin"). The build bundles the CLI into
// CommonJS chunks in dist/cli/ (scripts/build-cli.mjs) and stores a V8 code cache next to each
// chunk. This file loads the chunks with those caches, so a start skips most of the parsing
// and compiling of JavaScript. Node 20 has no compile cache of its own for modules
// (module.enableCompileCache arrived in Node 22.1).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** Chunk that runs the command line; it loads the chunk of each command on demand. */
const PROGRAM_CHUNK = 'program.js';

/** Suffix of the file holding a chunk's V8 code cache. */
export const CODE_CACHE_SUFFIX = '.v8cache';

/** The exit code for a missing facility, the same as the CLI's ExitCode.Unavailable. */
const EXIT_UNAVAILABLE = 4;

interface ChunkModule {
  exports: unknown;
}

const nodeRequire = createRequire(__filename);
const chunks = new Map<string, ChunkModule>();

/**
 * Compiles a chunk inside the wrapper that Node's CommonJS loader uses. The build compiles
 * through this function too when it writes the code caches, because V8 accepts a cache only
 * for the same source text. When V8 rejects `cachedData` (another Node.js version or other
 * V8 flags), it compiles from source and sets `cachedDataRejected`.
 */
export function compileChunk(file: string, source: string, cachedData?: Buffer): Script {
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  return new Script(wrapped, { filename: file, cachedData });
}

function readCodeCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file + CODE_CACHE_SUFFIX);
  } catch {
    // A missing or unreadable cache only costs the compile time it would have saved.
    return undefined;
  }
}

function readChunkSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw Object.assign(
      new Error(
        `cannot load ${file}: ${(error as Error).message}. The installed fstack-kni is ` +
          'incomplete: reinstall it, or run "npm run build" in a checkout',
        { cause: error },
      ),
      { code: 'CLI_CHUNK_MISSING', exitCode: EXIT_UNAVAILABLE },
    );
  }
}

/**
 * The `require` that chunks see: other chunks by relative path, anything else through Node.
 * NOTE: a plain function, without `require.resolve` or `require.cache`, because rolldown's
 * CommonJS output only calls `require(id)`; chunks never appear in Node's `require.cache`.
 */
function requireFromChunk(id: string): unknown {
  return id.startsWith('./') ? loadChunk(join(__dirname, id)) : nodeRequire(id);
}

/** Runs a chunk once and returns its exports, as `require` does for a CommonJS file. */
export function loadChunk(file: string): unknown {
  const loaded = chunks.get(file);
  if (loaded !== undefined) return loaded.exports;

  const source = readChunkSource(file);
  const script = compileChunk(file, source, readCodeCache(file));
  if (script.cachedDataRejected === true && process.env.FSTACK_KNI_DEBUG) {
    process.stderr.write(`fstack-kni: V8 rejected the code cache of ${file}\n`);
  }
  const module: ChunkModule = { exports: {} };
  chunks.set(file, module);
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, requireFromChunk, module, file, __dirname);
  return module.exports;
}

if (require.main === module) {
  try {
    loadChunk(join(__dirname, PROGRAM_CHUNK));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'CLI_CHUNK_MISSING') throw error;
    process.stderr.write(`fstack-kni: ${(error as Error).message}\n`);
    process.exitCode = EXIT_UNAVAILABLE;
  }
}
