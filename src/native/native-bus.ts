// The D-Bus (sd-bus) part of the addon boundary; see native.ts for the rest.

// biome-ignore lint/suspicious/noEmptyInterface: filled in by the D-Bus part of the addon.
export interface NativeBusExports {}
