// Edits of f-stack.conf that keep every other byte: set, unset, enable or disable a section.
//
// Placement rules:
// - `set` changes the value in place on the key's last line (the one F-Stack keeps), keeping
//   the text around the value, and drops the key's continuation lines (they would replace it).
// - A key that is absent but commented out in its section (`#tcp_port=80,443`) is uncommented
//   and filled in. Otherwise the new line goes after the section's last key.
// - A section that is absent but commented out (`#[kni]`) is uncommented in place; otherwise it
//   is added after a blank line at the end, and `[dpdk]` before the first section that needs it.
// After the edits the file is parsed again: each set key must read back as written, no other
// key may change, and the result must have no errors. Otherwise an EditError says why.
import { countDiagnostics, formatDiagnostic } from './diagnostics.js';
import {
  byteOffsetToIndex,
  type ConfigDocument,
  replaceLineText,
  sameDocument,
  spliceLines,
} from './document.js';
import {
  commentedKeyName,
  commentSearchRange,
  type DocumentLayout,
  type KeyEntry,
  layoutOf,
  type SectionRange,
  uncomment,
} from './edit-layout.js';
import {
  checkKeyForEdit,
  checkSectionForEdit,
  checkValueForEdit,
  EditError,
  type KeyPath,
  parseKeyPath,
} from './edit-values.js';
import { analyzeDocument, type LoadedConfig } from './model.js';
import { keyKnownIn, type SectionSpec } from './schema.js';
import { type FstackVersion, maxLineForVersion } from './versions.js';

export type { EditErrorCode, KeyPath } from './edit-values.js';
export { EditError, parseKeyPath } from './edit-values.js';

/** One change to make. */
export type EditOperation =
  | { kind: 'set'; key: string; value: string }
  | { kind: 'unset'; key: string }
  | { kind: 'enable-section'; section: string }
  | { kind: 'disable-section'; section: string };

/** The outcome of applyEdits. */
export interface EditResult {
  /** The document after the edits (the input document when nothing changed). */
  document: ConfigDocument;
  /** The edited document parsed and validated. */
  loaded: LoadedConfig;
  changed: boolean;
}

/** Options of applyEdits. */
export interface EditOptions {
  /** Accept a result that still has errors (default false: such a result is rejected). */
  allowErrors?: boolean;
}

/**
 * Applies edits to a loaded file and returns the new document, parsed and validated. Throws an
 * EditError when a key or value is invalid, when F-Stack would read the result differently
 * from what was asked, or when the result has errors.
 */
export function applyEdits(
  loaded: LoadedConfig,
  operations: readonly EditOperation[],
  options: EditOptions = {},
): EditResult {
  const { version } = loaded;
  const maxLine = maxLineForVersion(version);
  let document = loaded.document;
  const touched = new Set<string>();
  const expectations: { path: KeyPath; value: string | undefined }[] = [];

  for (const operation of operations) {
    if (operation.kind === 'set' || operation.kind === 'unset') {
      const path = parseKeyPath(operation.key);
      const spec = checkSectionForEdit(path.section, version);
      const keySpec = checkKeyForEdit(spec, path, version);
      touched.add(keyOf(path.section, path.name));
      if (operation.kind === 'set') {
        checkValueForEdit(path, keySpec, operation.value);
        checkLineLength(path, operation.value, maxLine);
        document = setKey(document, maxLine, version, spec, path, operation.value);
        expectations.push({ path, value: operation.value });
      } else {
        document = unsetKey(document, maxLine, path);
        expectations.push({ path, value: undefined });
      }
    } else {
      const spec = checkSectionForEdit(operation.section, version);
      for (const entry of layoutOf(document, maxLine).entries) {
        if (entry.section === operation.section) touched.add(keyOf(entry.section, entry.name));
      }
      document =
        operation.kind === 'enable-section'
          ? enableSection(document, maxLine, version, spec, operation.section)
          : disableSection(document, maxLine, operation.section);
      for (const entry of layoutOf(document, maxLine).entries) {
        if (entry.section === operation.section) touched.add(keyOf(entry.section, entry.name));
      }
    }
  }

  if (sameDocument(document, loaded.document))
    return { document: loaded.document, loaded, changed: false };

  const result = analyzeDocument(document, { file: loaded.file, version });
  verifyReadBack(loaded, result, expectations, touched);

  const { errors } = countDiagnostics(result.diagnostics);
  if (errors > 0 && options.allowErrors !== true) {
    const listed = result.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    throw new EditError(
      'result-invalid',
      `the edited file would have ${errors} error${errors === 1 ? '' : 's'}, so it was not written:\n${listed.map(formatDiagnostic).join('\n')}`,
      listed,
    );
  }
  return { document, loaded: result, changed: true };
}

function keyOf(section: string, name: string): string {
  return `${section}\u0000${name}`;
}

function checkLineLength(path: KeyPath, value: string, maxLine: number): void {
  const bytes = Buffer.byteLength(`${path.name}=${value}\r\n`);
  if (bytes > maxLine - 1) {
    throw new EditError(
      'value-invalid',
      `${path.section}.${path.name}=${value.length > 40 ? `${value.slice(0, 40)}…` : value} is too long: F-Stack reads at most ${maxLine - 1} bytes per line`,
    );
  }
}

function setKey(
  document: ConfigDocument,
  maxLine: number,
  version: FstackVersion,
  spec: SectionSpec,
  path: KeyPath,
  value: string,
): ConfigDocument {
  let layout = layoutOf(document, maxLine);
  const existing = layout.entries.filter(
    (entry) => entry.section === path.section && entry.name === path.name,
  );
  const last = existing[existing.length - 1];
  if (last !== undefined) return replaceEntry(document, last, value);

  if (!layout.sections.some((section) => section.name === path.section)) {
    document = addSection(document, layout, version, spec, path.section, false);
    layout = layoutOf(document, maxLine);
  }

  const occurrences = layout.sections.filter((section) => section.name === path.section);
  for (const occurrence of occurrences) {
    const range = commentSearchRange(layout, occurrence);
    for (let line = range.start; line < range.end; line++) {
      const text = document.lines[line]?.text ?? '';
      if (!layout.readLines.has(line) && commentedKeyName(text) === path.name) {
        return replaceLineText(document, line, `${path.name}=${value}`);
      }
    }
  }

  const target = occurrences[occurrences.length - 1] as SectionRange;
  return spliceLines(document, insertionPoint(layout, target), 0, [`${path.name}=${value}`]);
}

/** Returns the line index after the last key (and its continuation lines) of a section occurrence. */
function insertionPoint(layout: DocumentLayout, section: SectionRange): number {
  let after = section.header + 1;
  for (const entry of layout.entries) {
    if (entry.line <= section.header || entry.line >= section.end) continue;
    after = Math.max(after, entry.line + 1, ...entry.continuations.map((line) => line + 1));
  }
  return after;
}

/** Writes a new value into a key's line, keeping the text around the value. */
function replaceEntry(document: ConfigDocument, entry: KeyEntry, value: string): ConfigDocument {
  const line = document.lines[entry.line];
  if (line === undefined) throw new RangeError(`line index ${entry.line} is out of range`);
  const { event } = entry;
  const simple = !event.cut && event.chunk === 0 && !line.text.includes('\0');

  let text = `${entry.name}=${value}`;
  if (simple) {
    const start = byteOffsetToIndex(line.text, event.valueStart, document.encoding);
    const end = byteOffsetToIndex(line.text, event.valueEnd, document.encoding);
    const suffix = line.text.slice(end);
    text = line.text.slice(0, start) + value + (suffix.startsWith(';') ? ` ${suffix}` : suffix);
  }

  let result = replaceLineText(document, entry.line, text);
  for (const continuation of [...entry.continuations].sort((a, b) => b - a)) {
    result = spliceLines(result, continuation, 1, []);
  }
  return result;
}

function unsetKey(document: ConfigDocument, maxLine: number, path: KeyPath): ConfigDocument {
  const layout = layoutOf(document, maxLine);
  const lines = layout.entries
    .filter((entry) => entry.section === path.section && entry.name === path.name)
    .flatMap((entry) => [entry.line, ...entry.continuations]);
  let result = document;
  for (const line of [...new Set(lines)].sort((a, b) => b - a))
    result = spliceLines(result, line, 1, []);
  return result;
}

function enableSection(
  document: ConfigDocument,
  maxLine: number,
  version: FstackVersion,
  spec: SectionSpec,
  section: string,
): ConfigDocument {
  const layout = layoutOf(document, maxLine);
  if (layout.sections.some((candidate) => candidate.name === section)) return document;
  return addSection(document, layout, version, spec, section, true);
}

/**
 * Makes a section active: uncomments its commented-out header when there is one (and, with
 * `withKeys`, the first commented `#key=value` line of each key the version reads), else adds
 * an empty header.
 */
function addSection(
  document: ConfigDocument,
  layout: DocumentLayout,
  version: FstackVersion,
  spec: SectionSpec,
  section: string,
  withKeys: boolean,
): ConfigDocument {
  const block = layout.commented.find(
    (candidate) => candidate.name === section && candidate.usable,
  );
  if (block !== undefined) {
    let result = replaceLineText(
      document,
      block.header,
      uncomment(document.lines[block.header]?.text ?? ''),
    );
    if (!withKeys) return result;

    const seen = new Set<string>();
    for (let line = block.header + 1; line < block.end; line++) {
      const text = result.lines[line]?.text ?? '';
      const wasCommented = keptCommentedKey(text);
      if (wasCommented !== undefined) {
        result = replaceLineText(result, line, wasCommented);
        continue;
      }
      const name = commentedKeyName(text);
      if (name === undefined || seen.has(name)) continue;
      seen.add(name);
      const keySpec = spec.keys.find((candidate) => candidate.name === name);
      if (!spec.anyKey && (keySpec === undefined || !keyKnownIn(keySpec, version))) continue;
      result = replaceLineText(result, line, uncomment(text));
    }
    return result;
  }

  // port_list, vlan_filter, nb_vdev and nb_bond must come before the sections that use them.
  const first = layout.sections[0];
  if (section === 'dpdk' && first !== undefined)
    return spliceLines(document, first.header, 0, ['[dpdk]', '']);

  const lastLine = document.lines[document.lines.length - 1];
  const needsBlank = lastLine !== undefined && lastLine.text.trim() !== '';
  return spliceLines(document, document.lines.length, 0, [
    ...(needsBlank ? [''] : []),
    `[${section}]`,
  ]);
}

/**
 * Comments out every active header of a section and every line of it that F-Stack reads.
 * A key already commented out (`#key=value`) gets a second `#`, so that enable-section
 * restores it as it was instead of uncommenting it with the others.
 */
function disableSection(
  document: ConfigDocument,
  maxLine: number,
  section: string,
): ConfigDocument {
  const layout = layoutOf(document, maxLine);
  rejectContinuations(document, layout, section);
  let result = document;
  for (const occurrence of layout.sections.filter((candidate) => candidate.name === section)) {
    for (let line = occurrence.header; line < occurrence.end; line++) {
      const text = result.lines[line]?.text ?? '';
      const read = line === occurrence.header || layout.readLines.has(line);
      if (!read && commentedKeyName(text) === undefined) continue;
      result = replaceLineText(result, line, `#${text}`);
    }
  }
  return result;
}

/**
 * Rejects disabling a section with a value continued on an indented line. Commented out,
 * such a line looks like the prose comments of F-Stack's samples (`# The format is same as
 * port_list`), so enable-section could not tell it apart and would leave it out.
 */
function rejectContinuations(document: ConfigDocument, layout: DocumentLayout, section: string) {
  const entry = layout.entries.find(
    (candidate) => candidate.section === section && candidate.continuations.length > 0,
  );
  if (entry === undefined) return;
  const continuation = entry.continuations[0] as number;
  const text = (document.lines[continuation]?.text ?? '').trim();
  throw new EditError(
    'edit-side-effect',
    `line ${continuation + 1} (${JSON.stringify(text)}) is indented, so F-Stack reads it as another value of ` +
      `${section}.${entry.name} from line ${entry.line + 1}, and once commented out enable-section could not ` +
      `tell it from a comment; write lines ${entry.line + 1}-${continuation + 1} as one ${entry.name}= line ` +
      `with the value you mean, then disable [${section}] again. Nothing was written`,
  );
}

/** Returns `#key=value` for a `##key=value` line written by disableSection, else undefined. */
function keptCommentedKey(text: string): string | undefined {
  const match = /^([ \t]*)#([#;][A-Za-z_][A-Za-z0-9_.]*=.*)$/.exec(text);
  return match === null ? undefined : `${match[1]}${match[2]}`;
}

/** Checks that F-Stack reads every edited key as asked and every other key as before. */
function verifyReadBack(
  before: LoadedConfig,
  after: LoadedConfig,
  expectations: readonly { path: KeyPath; value: string | undefined }[],
  touched: ReadonlySet<string>,
): void {
  const afterValues = effectiveValues(after);
  const finalExpectation = new Map<string, string | undefined>();
  for (const { path, value } of expectations)
    finalExpectation.set(keyOf(path.section, path.name), value);

  for (const [key, value] of finalExpectation) {
    const actual = afterValues.get(key);
    if (actual?.value === value) continue;
    const [section, name] = key.split('\u0000') as [string, string];
    throw new EditError(
      'edit-misread',
      value === undefined
        ? `${section}.${name} is still set after unset (line ${actual?.line})`
        : `F-Stack would read ${section}.${name} as ${JSON.stringify(actual?.value ?? null)} instead of ${JSON.stringify(value)}` +
            (actual !== undefined
              ? ` (line ${actual.line}); an indented line after it probably continues it`
              : ''),
    );
  }

  const beforeValues = effectiveValues(before);
  const changed: string[] = [];
  for (const key of new Set([...beforeValues.keys(), ...afterValues.keys()])) {
    if (touched.has(key)) continue;
    if (beforeValues.get(key)?.value !== afterValues.get(key)?.value)
      changed.push(key.replace('\u0000', '.'));
  }
  if (changed.length > 0) {
    throw new EditError(
      'edit-side-effect',
      `the edit would also change how F-Stack reads ${changed.join(', ')}; nothing was written`,
    );
  }
}

/** Returns the last value F-Stack reads for every section and key. */
function effectiveValues(loaded: LoadedConfig): Map<string, { value: string; line: number }> {
  const values = new Map<string, { value: string; line: number }>();
  for (const event of loaded.scan.events) {
    if (event.kind === 'pair')
      values.set(keyOf(event.section, event.name), { value: event.value, line: event.pos.line });
  }
  return values;
}
