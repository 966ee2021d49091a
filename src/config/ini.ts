// Tokenizer that reads f-stack.conf the way F-Stack's vendored inih does (lib/ff_ini_parser.c,
// built with INI_ALLOW_MULTILINE=1, INI_ALLOW_BOM=1, INI_ALLOW_INLINE_COMMENTS=1 with prefix ";",
// INI_STOP_ON_FIRST_ERROR=1, MAX_SECTION=MAX_NAME=50, INI_MAX_LINE 200 or 2048 by version).
//
// The rules, byte by byte:
// - The file is read with fgets into a buffer of INI_MAX_LINE bytes, so a line of more than
//   INI_MAX_LINE-1 bytes (its ending included) is cut, and the rest is read as the next line.
//   Only `\n` ends a line; a NUL byte ends the C string early.
// - A UTF-8 BOM is skipped on the first line read. Then the line is right-stripped and
//   left-skipped of C whitespace (space, \t, \n, \v, \f, \r).
// - `;` or `#` as the first non-blank byte: a comment.
// - Otherwise a non-blank line that starts with whitespace, once a key has been seen in the
//   current section, continues that key: the handler is called again with the same (possibly
//   truncated) name and the whole trimmed line as value. No inline comment is removed there.
// - `[`: a section header up to the first `]`, unless a `;` preceded by whitespace comes
//   first (then it is an error). The name is not trimmed and is cut to 49 bytes.
// - Else `name=value` or `name:value`, split at the first `=` or `:`. A `;` after whitespace
//   starts an inline comment, and before the separator it makes the line an error. Name and
//   value are trimmed. A line without separator is an error.
// Everything here works on bytes held in latin1 strings (one char per byte), so limits and
// columns are exact; names and values are decoded back with the document's encoding.
import { type ConfigDocument, lineBytes, type TextEncoding } from './document.js';

/** inih buffer sizes for section and key names, NUL included. */
export const MAX_SECTION = 50;
export const MAX_NAME = 50;

/** Tokenizer settings: INI_MAX_LINE, the fgets buffer size (NUL included). */
export interface IniOptions {
  maxLine: number;
}

/** A position in the file: physical line (1-based) and byte column (1-based, BOM excluded). */
export interface IniPosition {
  line: number;
  column: number;
}

/** A `[section]` header. */
export interface IniSectionEvent {
  kind: 'section';
  /** The name F-Stack keeps: the text between the brackets, cut to MAX_SECTION-1 bytes. */
  name: string;
  /** The whole text between the brackets. */
  fullName: string;
  truncated: boolean;
  /** F-Stack's line number (counts fgets reads, so a cut line counts twice). */
  iniLine: number;
  /** Position of the `[`. */
  pos: IniPosition;
  /** 0 for the first fgets read of a physical line, 1.. for the pieces after a cut. */
  chunk: number;
}

/** One handler call: a `name=value` line or a continuation line. */
export interface IniPairEvent {
  kind: 'pair';
  section: string;
  name: string;
  value: string;
  /** True for an indented line that continues the previous key. */
  continuation: boolean;
  iniLine: number;
  /** Position of the name (or of the continuation text). */
  pos: IniPosition;
  /** Position of the value's first byte (after trimming). */
  valuePos: IniPosition;
  /** Byte offsets inside the physical line text: value start and end (exclusive). */
  valueStart: number;
  valueEnd: number;
  /** Byte offset where an inline `;` comment starts, if any. */
  commentStart?: number;
  chunk: number;
  /** True when the line was cut by the line limit (this read is not the whole line). */
  cut: boolean;
}

/** A syntax error: inih reports this line number and F-Stack stops reading. */
export interface IniErrorEvent {
  kind: 'error';
  reason: 'unclosed-section' | 'missing-separator';
  /** The trimmed text of the failing read. */
  text: string;
  iniLine: number;
  pos: IniPosition;
  chunk: number;
}

export type IniEvent = IniSectionEvent | IniPairEvent | IniErrorEvent;

/** One fgets read of a physical line. */
export interface IniChunk {
  /** Physical line, 1-based. */
  line: number;
  /** 0 for the first read of the line. */
  index: number;
  /** Byte offset of the read inside the physical line text (negative for a BOM). */
  start: number;
  /** The bytes read, as a latin1 string. */
  bytes: string;
  iniLine: number;
}

/** The tokenizer's output for a whole document. */
export interface IniScan {
  /** Every event in file order. Reading continues after errors (F-Stack itself stops at the first). */
  events: IniEvent[];
  /** Reads of physical lines that were cut by the line limit (index > 0). */
  cutChunks: IniChunk[];
  /** F-Stack's line number of the first syntax error, or 0. */
  firstErrorIniLine: number;
}

const BOM = '\xef\xbb\xbf';

/** True for the bytes C's isspace() accepts in the C locale. */
export function isCSpace(char: string | undefined): boolean {
  return (
    char === ' ' ||
    char === '\t' ||
    char === '\n' ||
    char === '\v' ||
    char === '\f' ||
    char === '\r'
  );
}

/** Decodes a latin1 byte string with the document's encoding. */
export function decodeBytes(bytes: string, encoding: TextEncoding): string {
  return encoding === 'latin1' ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Encodes text to a latin1 byte string in the document's encoding. */
export function encodeBytes(text: string, encoding: TextEncoding): string {
  return Buffer.from(text, encoding).toString('latin1');
}

/** Reads a document the way F-Stack's inih does and returns every event. */
export function tokenize(doc: ConfigDocument, options: IniOptions): IniScan {
  if (!Number.isInteger(options.maxLine) || options.maxLine < 2) {
    throw new RangeError(`maxLine must be an integer of at least 2, got ${options.maxLine}`);
  }
  const state: ScanState = {
    encoding: doc.encoding,
    section: '',
    prevName: '',
    iniLine: 0,
    events: [],
    cutChunks: [],
    firstErrorIniLine: 0,
  };
  const limit = options.maxLine - 1;

  for (let index = 0; index < doc.lines.length; index++) {
    const prefix = index === 0 && doc.bom ? BOM : '';
    const raw = prefix + lineBytes(doc, index).toString('latin1');

    for (let start = 0, chunk = 0; start < raw.length; start += limit, chunk++) {
      state.iniLine++;
      const read: IniChunk = {
        line: index + 1,
        index: chunk,
        start: start - prefix.length,
        bytes: raw.slice(start, start + limit),
        iniLine: state.iniLine,
      };
      if (chunk > 0) state.cutChunks.push(read);
      scanRead(state, read, raw.length > limit);
    }
  }
  return {
    events: state.events,
    cutChunks: state.cutChunks,
    firstErrorIniLine: state.firstErrorIniLine,
  };
}

/** Returns the events F-Stack's parser acts on: everything before the first syntax error. */
export function eventsUntilFirstError(scan: IniScan): IniEvent[] {
  const stop = scan.events.findIndex((event) => event.kind === 'error');
  return stop < 0 ? scan.events : scan.events.slice(0, stop + 1);
}

interface ScanState {
  encoding: TextEncoding;
  section: string;
  prevName: string;
  iniLine: number;
  events: IniEvent[];
  cutChunks: IniChunk[];
  firstErrorIniLine: number;
}

/** Processes one fgets read, as one iteration of inih's loop. */
function scanRead(state: ScanState, read: IniChunk, lineWasCut: boolean): void {
  const nul = read.bytes.indexOf('\0');
  const line = nul >= 0 ? read.bytes.slice(0, nul) : read.bytes;

  let start = 0;
  if (read.iniLine === 1 && line.startsWith(BOM)) start = 3;

  let end = line.length;
  while (end > start && isCSpace(line[end - 1])) end--;
  while (start < end && isCSpace(line[start])) start++;

  const first = start < end ? line[start] : undefined;
  const pos = (offset: number): IniPosition => ({
    line: read.line,
    column: read.start + offset + 1,
  });
  const decode = (from: number, to: number): string =>
    decodeBytes(line.slice(from, to), state.encoding);

  if (first === ';' || first === '#') return;

  if (state.prevName !== '' && first !== undefined && start > 0) {
    state.events.push({
      kind: 'pair',
      section: decodeBytes(state.section, state.encoding),
      name: decodeBytes(state.prevName, state.encoding),
      value: decode(start, end),
      continuation: true,
      iniLine: read.iniLine,
      pos: pos(start),
      valuePos: pos(start),
      valueStart: read.start + start,
      valueEnd: read.start + end,
      chunk: read.index,
      cut: lineWasCut,
    });
    return;
  }

  if (first === '[') {
    const close = findCharsOrComment(line, start + 1, end, ']');
    if (close < end && line[close] === ']') {
      const fullName = line.slice(start + 1, close);
      const kept = truncateCString(fullName, MAX_SECTION);
      state.section = kept;
      state.prevName = '';
      state.events.push({
        kind: 'section',
        name: decodeBytes(kept, state.encoding),
        fullName: decodeBytes(fullName, state.encoding),
        truncated: kept.length < fullName.length,
        iniLine: read.iniLine,
        pos: pos(start),
        chunk: read.index,
      });
    } else {
      addError(state, 'unclosed-section', decode(start, end), read, pos(start));
    }
    return;
  }

  if (first === undefined) return;

  const separator = findCharsOrComment(line, start, end, '=:');
  if (separator >= end || (line[separator] !== '=' && line[separator] !== ':')) {
    addError(state, 'missing-separator', decode(start, end), read, pos(start));
    return;
  }

  let nameEnd = separator;
  while (nameEnd > start && isCSpace(line[nameEnd - 1])) nameEnd--;
  const name = line.slice(start, nameEnd);

  const comment = findCharsOrComment(line, separator + 1, end, null);
  let valueStart = separator + 1;
  let valueEnd = comment;
  while (valueStart < valueEnd && isCSpace(line[valueStart])) valueStart++;
  while (valueEnd > valueStart && isCSpace(line[valueEnd - 1])) valueEnd--;

  state.prevName = truncateCString(name, MAX_NAME);
  state.events.push({
    kind: 'pair',
    section: decodeBytes(state.section, state.encoding),
    name: decodeBytes(name, state.encoding),
    value: decode(valueStart, valueEnd),
    continuation: false,
    iniLine: read.iniLine,
    pos: pos(start),
    valuePos: pos(valueStart),
    valueStart: read.start + valueStart,
    valueEnd: read.start + valueEnd,
    ...(comment < end ? { commentStart: read.start + comment } : {}),
    chunk: read.index,
    cut: lineWasCut,
  });
}

function addError(
  state: ScanState,
  reason: IniErrorEvent['reason'],
  text: string,
  read: IniChunk,
  pos: IniPosition,
): void {
  state.events.push({ kind: 'error', reason, text, iniLine: read.iniLine, pos, chunk: read.index });
  if (state.firstErrorIniLine === 0) state.firstErrorIniLine = read.iniLine;
}

/**
 * inih's find_chars_or_comment: index of the first byte in `chars`, or of a `;` that follows
 * whitespace, or `end` when there is neither.
 */
function findCharsOrComment(line: string, from: number, end: number, chars: string | null): number {
  let wasSpace = false;
  let i = from;
  while (i < end) {
    const char = line[i] as string;
    if (chars?.includes(char)) break;
    if (wasSpace && char === ';') break;
    wasSpace = isCSpace(char);
    i++;
  }
  return i;
}

/** strncpy0 into a buffer of `size` bytes: keeps at most size-1 bytes. */
function truncateCString(bytes: string, size: number): string {
  return bytes.length > size - 1 ? bytes.slice(0, size - 1) : bytes;
}
