// Ties a KniError about an f-stack.conf key to the diagnostics that `config check` reports
// for that key, so that a command which rejects the config names file:line:column, the
// value and the fix.
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.js';
import type { FstackConfig, LoadedConfig, SourceLocation } from '../config/model.js';
import { type DesiredOptions, type DesiredState, desiredState } from './desired.js';
import { type ConfigKey, KniError } from './errors.js';

/** Computes desiredState; a KniError about a key is rethrown as locateKniError words it. */
export function desiredStateOf(loaded: LoadedConfig, options: DesiredOptions): DesiredState {
  try {
    return desiredState(loaded.config, options);
  } catch (error) {
    throw locateKniError(error, loaded);
  }
}

/**
 * Returns a KniError about a config key with the diagnostics of that key as details, or
 * with its file:line:column when validation reported nothing there. Returns any other
 * error unchanged.
 */
export function locateKniError(error: unknown, loaded: LoadedConfig): unknown {
  if (!(error instanceof KniError) || error.configKey === undefined) return error;
  const location = keyLocation(loaded.config, error.configKey);
  if (location === undefined) return error;

  const matches = diagnosticsAt(location, loaded.diagnostics);
  const details =
    matches.length > 0
      ? matches.map(formatDiagnostic)
      : [`${loaded.file}:${location.line}:${location.column}: ${error.configKey.key} is set here`];
  return new KniError(error.code, error.message, details, error.configKey);
}

/** Returns the first diagnostic on the line of the key the error is about. */
export function keyDiagnostic(
  error: KniError,
  config: FstackConfig,
  diagnostics: readonly Diagnostic[],
): Diagnostic | undefined {
  if (error.configKey === undefined) return undefined;
  const location = keyLocation(config, error.configKey);
  return location === undefined ? undefined : diagnosticsAt(location, diagnostics)[0];
}

function keyLocation(config: FstackConfig, configKey: ConfigKey): SourceLocation | undefined {
  const match = /^(port|vlan)(\d+)$/.exec(configKey.section);
  if (match === null) return undefined;
  const id = Number(match[2]);
  const target = match[1] === 'port' ? config.ports.get(id) : config.vlans.get(id);
  return target?.sources[configKey.key];
}

// Each key has a line of its own, so a diagnostic on that line is about that key.
function diagnosticsAt(location: SourceLocation, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((diagnostic) => diagnostic.line === location.line);
}
