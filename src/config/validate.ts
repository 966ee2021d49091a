// Validation of a parsed f-stack.conf: runs every check and turns findings into diagnostics.
// Each validate-*.ts file covers one concept; this file only wires them together.
import { type Diagnostic, type Finding, toDiagnostic } from './diagnostics.js';
import type { ConfigDocument } from './document.js';
import type { HandlerRun } from './handler.js';
import type { IniScan } from './ini.js';
import type { ConfigEntry } from './model.js';
import { checkAddresses } from './validate-addresses.js';
import { checkKni } from './validate-kni.js';
import { checkLists } from './validate-lists.js';
import { checkNames } from './validate-names.js';
import { checkPorts } from './validate-ports.js';
import { checkSyntax } from './validate-syntax.js';
import { checkValues } from './validate-values.js';
import type { FstackVersion } from './versions.js';

/** Everything a check may look at. */
export interface ValidationInput {
  file: string;
  version: FstackVersion;
  document: ConfigDocument;
  scan: IniScan;
  run: HandlerRun;
}

/** One check: returns its findings. */
export type Check = (input: ValidationInput) => Finding[];

const CHECKS: readonly Check[] = [
  checkSyntax,
  checkNames,
  checkValues,
  checkLists,
  checkPorts,
  checkAddresses,
  checkKni,
];

/** Runs every check and returns the diagnostics, handler failures included. */
export function validate(input: ValidationInput): Diagnostic[] {
  const findings = [...input.run.findings, ...CHECKS.flatMap((check) => check(input))];
  return findings.map((finding) => toDiagnostic(finding, input.file));
}

/** Returns the entries F-Stack applied for a key, in file order. */
export function appliedEntries(
  input: ValidationInput,
  section: string,
  name: string,
): ConfigEntry[] {
  return input.run.config.entries.filter(
    (entry) => entry.section === section && entry.name === name && entry.status === 'applied',
  );
}

/** Returns the last entry F-Stack applied for a key: the value it keeps. */
export function lastApplied(
  input: ValidationInput,
  section: string,
  name: string,
): ConfigEntry | undefined {
  const entries = appliedEntries(input, section, name);
  return entries[entries.length - 1];
}

/** Returns a finding's position at an entry's value. */
export function atValue(entry: ConfigEntry): { line: number; column: number } {
  return { line: entry.line, column: entry.valueColumn };
}
