// Lossless line model of f-stack.conf: every line keeps its text and its own line ending, so
// an unchanged document serializes to exactly the bytes it was read from (UTF-8 BOM, CRLF,
// mixed endings and a missing final newline included).

/** A line ending as stored in the file. Only `\n` ends a line for F-Stack (it reads with fgets). */
export type LineEnding = '\n' | '\r\n' | '';

/**
 * Character encoding of the file's bytes: `utf8` when they are valid UTF-8, else `latin1`,
 * which maps every byte to one character and back, so any file round-trips.
 */
export type TextEncoding = 'utf8' | 'latin1';

/** One physical line: its text without the ending, and the ending itself. */
export interface DocumentLine {
  readonly text: string;
  readonly eol: LineEnding;
}

/** A whole file as lines. Documents are immutable: edits return new documents. */
export interface ConfigDocument {
  /** True when the file starts with the UTF-8 byte order mark EF BB BF (not part of line 1's text). */
  readonly bom: boolean;
  readonly encoding: TextEncoding;
  readonly lines: readonly DocumentLine[];
}

const BOM_BYTES = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Splits file bytes into a document. Never fails: bytes that are not UTF-8 are read as latin1.
 * `encoding: 'latin1'` forces one character per byte, so names and values are byte strings.
 */
export function parseDocument(
  bytes: Uint8Array,
  options: { encoding?: TextEncoding } = {},
): ConfigDocument {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bom = buffer.subarray(0, 3).equals(BOM_BYTES);
  const body = bom ? buffer.subarray(3) : buffer;

  if (options.encoding === 'latin1')
    return { bom, encoding: 'latin1', lines: splitLines(body.toString('latin1')) };
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    return { bom, encoding: 'utf8', lines: splitLines(text) };
  } catch {
    return { bom, encoding: 'latin1', lines: splitLines(body.toString('latin1')) };
  }
}

/** Builds a document from a JS string; a leading U+FEFF becomes the BOM. */
export function documentFromText(text: string): ConfigDocument {
  return parseDocument(Buffer.from(text, 'utf8'));
}

/** Returns the exact bytes of a document. */
export function serializeDocument(doc: ConfigDocument): Buffer {
  const body = Buffer.from(documentText(doc), doc.encoding);
  return doc.bom ? Buffer.concat([BOM_BYTES, body]) : body;
}

/** Returns the document as one string, without the BOM. */
export function documentText(doc: ConfigDocument): string {
  return doc.lines.map((line) => line.text + line.eol).join('');
}

/** Returns the bytes of one line's text and ending (never the BOM). */
export function lineBytes(doc: ConfigDocument, index: number): Buffer {
  const line = doc.lines[index];
  if (line === undefined)
    throw new RangeError(`line index ${index} is out of range 0-${doc.lines.length - 1}`);
  return Buffer.from(line.text + line.eol, doc.encoding);
}

/** Returns the byte length of a string in the document's encoding. */
export function byteLength(text: string, encoding: TextEncoding): number {
  return Buffer.byteLength(text, encoding);
}

/**
 * Converts a byte offset inside `text` to a string index. An offset inside a multi-byte
 * character maps to the start of that character.
 */
export function byteOffsetToIndex(
  text: string,
  byteOffset: number,
  encoding: TextEncoding,
): number {
  if (encoding === 'latin1') return Math.min(byteOffset, text.length);

  let bytes = 0;
  let index = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > byteOffset) return index;
    bytes += size;
    index += char.length;
  }
  return index;
}

/** Returns the line ending used by most lines, or `\n` when there is none or a tie. */
export function dominantLineEnding(doc: ConfigDocument): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (const line of doc.lines) {
    if (line.eol === '\r\n') crlf++;
    else if (line.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/**
 * Replaces `deleteCount` lines from `start` with new lines and returns the new document.
 * New lines take the dominant line ending. When lines are added after a last line that had no
 * ending, that line gets one and the new last line goes without, so the file keeps its style.
 */
export function spliceLines(
  doc: ConfigDocument,
  start: number,
  deleteCount: number,
  texts: readonly string[],
): ConfigDocument {
  if (start < 0 || start > doc.lines.length) {
    throw new RangeError(`line index ${start} is out of range 0-${doc.lines.length}`);
  }
  const eol = dominantLineEnding(doc);
  const lines = [...doc.lines];
  const removed = lines.splice(start, deleteCount);
  const atEnd = start === lines.length;
  const endedWithoutNewline =
    atEnd &&
    (removed.length > 0
      ? removed[removed.length - 1]?.eol === ''
      : lines[lines.length - 1]?.eol === '');

  const added: DocumentLine[] = texts.map((text) => ({ text, eol }));
  if (atEnd && added.length > 0 && endedWithoutNewline) {
    const previous = lines[lines.length - 1];
    if (previous !== undefined && previous.eol === '')
      lines[lines.length - 1] = { text: previous.text, eol };
    const last = added[added.length - 1] as DocumentLine;
    added[added.length - 1] = { text: last.text, eol: '' };
  }
  lines.splice(start, 0, ...added);
  return { ...doc, lines };
}

/** Returns a document with one line's text replaced; its line ending stays. */
export function replaceLineText(doc: ConfigDocument, index: number, text: string): ConfigDocument {
  const line = doc.lines[index];
  if (line === undefined)
    throw new RangeError(`line index ${index} is out of range 0-${doc.lines.length - 1}`);
  const lines = [...doc.lines];
  lines[index] = { text, eol: line.eol };
  return { ...doc, lines };
}

/** True when both documents serialize to the same bytes. */
export function sameDocument(a: ConfigDocument, b: ConfigDocument): boolean {
  return serializeDocument(a).equals(serializeDocument(b));
}

function splitLines(text: string): DocumentLine[] {
  const lines: DocumentLine[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    if (newline < 0) {
      lines.push({ text: text.slice(start), eol: '' });
      break;
    }
    const crlf = newline > start && text[newline - 1] === '\r';
    lines.push({
      text: text.slice(start, crlf ? newline - 1 : newline),
      eol: crlf ? '\r\n' : '\n',
    });
    start = newline + 1;
  }
  return lines;
}
