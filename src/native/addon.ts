// Loads the compiled addon once. The boundary it exposes is described in native.ts.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './native.js';

const require = createRequire(import.meta.url);

/** The package root, two levels up from both src/native/ and dist/native/. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let loaded: NativeAddon | undefined;

/**
 * Returns the addon, loading it on first use through node-gyp-build. It takes
 * build/Release/fstack_kni.node when that exists (a developer checkout, or an install that
 * compiled from source), else the prebuild in prebuilds/<platform>-<arch>/ that matches this
 * machine's libc. Throws an Error with code ADDON_NOT_FOUND when neither fits.
 */
export function addon(): NativeAddon {
  if (loaded === undefined) {
    const loadBinding = require('node-gyp-build') as (directory: string) => unknown;
    try {
      loaded = loadBinding(PACKAGE_ROOT) as NativeAddon;
    } catch (error) {
      throw addonNotFound(error);
    }
  }
  return loaded;
}

/** Restates node-gyp-build's "No native build was found" with the way to get one. */
function addonNotFound(error: unknown): unknown {
  if (!(error instanceof Error) || !error.message.startsWith('No native build was found'))
    return error;
  return Object.assign(
    new Error(
      `the fstack-kni addon is not built for this machine (${process.platform}-${process.arch}): ` +
        'the package ships a prebuild for linux-x64 with glibc only. Build it from source with ' +
        '"npm rebuild fstack-kni --build-from-source", which needs python3, make and a C++17 compiler',
      { cause: error },
    ),
    // exitCode 4 is the CLI's "a needed facility is missing".
    { code: 'ADDON_NOT_FOUND', exitCode: 4 },
  );
}
