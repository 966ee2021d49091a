// Layout of a document as F-Stack reads it, for editing. It lists the active sections with
// their line ranges and the lines of each key, continuation lines included. It also finds
// commented-out sections and keys, such as the `#[kni]` block of F-Stack's sample config.
import type { ConfigDocument } from './document.js';
import { type IniPairEvent, type IniScan, tokenize } from './ini.js';

/** An active `[section]` header and the lines up to the next active header. */
export interface SectionRange {
  name: string;
  /** Line index (0-based) of the header. */
  header: number;
  /** Line index after the last line of the section. */
  end: number;
}

/** A key's lines: its `name=value` line and the indented lines that continue it. */
export interface KeyEntry {
  section: string;
  name: string;
  /** Line index of the `name=value` line. */
  line: number;
  /** Line indexes of continuation lines. */
  continuations: number[];
  event: IniPairEvent;
}

/** A commented-out section header such as `#[kni]` and the lines up to the next header. */
export interface CommentedSection {
  name: string;
  header: number;
  end: number;
  /** True when no line F-Stack reads lies between the header and the next active header. */
  usable: boolean;
}

/** The layout of a document. */
export interface DocumentLayout {
  scan: IniScan;
  sections: SectionRange[];
  entries: KeyEntry[];
  commented: CommentedSection[];
  /** Line indexes holding anything F-Stack reads (keys, continuation lines, errors). */
  readLines: Set<number>;
}

const COMMENTED_HEADER = /^[ \t]*[#;][ \t]*\[([A-Za-z][A-Za-z0-9_.]*)\][ \t]*$/;

/**
 * A commented-out key as F-Stack's samples write them: `#name=value`, the comment character
 * directly before the name. Prose such as `#    enable : 0 means disable` does not match, nor
 * does a doubly commented `##iface=`.
 */
const COMMENTED_KEY = /^[ \t]*[#;]([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/;

/** Computes the layout of a document under a line limit (INI_MAX_LINE). */
export function layoutOf(doc: ConfigDocument, maxLine: number): DocumentLayout {
  const scan = tokenize(doc, { maxLine });
  const sections: SectionRange[] = [];
  const entries: KeyEntry[] = [];
  const readLines = new Set<number>();

  for (const event of scan.events) {
    const index = event.pos.line - 1;
    if (event.kind === 'section') {
      if (event.chunk > 0) {
        readLines.add(index);
        continue;
      }
      const previous = sections[sections.length - 1];
      if (previous !== undefined) previous.end = index;
      sections.push({ name: event.name, header: index, end: doc.lines.length });
      continue;
    }
    readLines.add(index);
    if (event.kind !== 'pair') continue;
    if (event.continuation) {
      const owner = entries[entries.length - 1];
      if (owner !== undefined && !owner.continuations.includes(index) && owner.line !== index)
        owner.continuations.push(index);
      continue;
    }
    entries.push({
      section: event.section,
      name: event.name,
      line: index,
      continuations: [],
      event,
    });
  }

  return {
    scan,
    sections,
    entries,
    commented: commentedSections(doc, sections, readLines),
    readLines,
  };
}

/** Finds commented-out headers; each block runs to the next header, active or commented. */
function commentedSections(
  doc: ConfigDocument,
  sections: SectionRange[],
  readLines: Set<number>,
): CommentedSection[] {
  const activeHeaders = new Set(sections.map((section) => section.header));
  const headers: { name: string; line: number; active: boolean }[] = [];
  doc.lines.forEach((line, index) => {
    if (activeHeaders.has(index)) {
      headers.push({ name: '', line: index, active: true });
      return;
    }
    const match = COMMENTED_HEADER.exec(line.text);
    if (match !== null && !readLines.has(index))
      headers.push({ name: match[1] as string, line: index, active: false });
  });

  const result: CommentedSection[] = [];
  headers.forEach((header, i) => {
    if (header.active) return;
    const end = headers[i + 1]?.line ?? doc.lines.length;
    const nextActive =
      headers.slice(i + 1).find((candidate) => candidate.active)?.line ?? doc.lines.length;
    let usable = true;
    for (let line = header.line + 1; line < nextActive; line++) {
      if (readLines.has(line)) usable = false;
    }
    result.push({ name: header.name, header: header.line, end, usable });
  });
  return result;
}

/** Returns `name` of a `#name=value` line, or undefined. */
export function commentedKeyName(text: string): string | undefined {
  return COMMENTED_KEY.exec(text)?.[1];
}

/** Returns the text of a commented key or header line without its comment character. */
export function uncomment(text: string): string {
  return text.replace(/^[ \t]*[#;][ \t]*/, '');
}

/** Returns the lines in which to look for commented-out keys of an active section occurrence. */
export function commentSearchRange(
  layout: DocumentLayout,
  section: SectionRange,
): { start: number; end: number } {
  const nextCommented = layout.commented.find(
    (block) => block.header > section.header && block.header < section.end,
  );
  return { start: section.header + 1, end: nextCommented?.header ?? section.end };
}
