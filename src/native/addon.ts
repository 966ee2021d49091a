// Loads the compiled addon once. The boundary it exposes is described in native.ts.
import { createRequire } from 'node:module';
import type { NativeAddon } from './native.js';

const require = createRequire(import.meta.url);

let loaded: NativeAddon | undefined;

/** Returns the addon, loading build/Release/fstack_kni.node on first use. */
export function addon(): NativeAddon {
  if (loaded === undefined) {
    loaded = require('../../build/Release/fstack_kni.node') as NativeAddon;
  }
  return loaded;
}
