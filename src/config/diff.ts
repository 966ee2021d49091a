// Unified diff of two documents, for --dry-run output.
import type { ConfigDocument, DocumentLine } from './document.js';

type Operation = { kind: ' ' | '-' | '+'; line: DocumentLine; oldIndex: number; newIndex: number };

/** Returns a unified diff with `context` lines around changes; empty when the documents are equal. */
export function unifiedDiff(
  before: ConfigDocument,
  after: ConfigDocument,
  labels: { before: string; after: string },
  context = 3,
): string {
  const operations = diffLines(before.lines, after.lines);
  if (operations.every((operation) => operation.kind === ' ') && before.bom === after.bom)
    return '';

  const out = [`--- ${labels.before}`, `+++ ${labels.after}`];
  if (before.bom !== after.bom)
    out.push(`@@ byte order mark ${after.bom ? 'added' : 'removed'} @@`);

  const changed = operations
    .map((operation, i) => (operation.kind !== ' ' ? i : -1))
    .filter((i) => i >= 0);
  let hunkStart = 0;
  while (hunkStart < changed.length) {
    let hunkEnd = hunkStart;
    while (
      hunkEnd + 1 < changed.length &&
      (changed[hunkEnd + 1] as number) - (changed[hunkEnd] as number) <= 2 * context + 1
    ) {
      hunkEnd++;
    }
    const from = Math.max(0, (changed[hunkStart] as number) - context);
    const to = Math.min(operations.length, (changed[hunkEnd] as number) + context + 1);
    out.push(...formatHunk(operations.slice(from, to), operations, from));
    hunkStart = hunkEnd + 1;
  }
  return `${out.join('\n')}\n`;
}

function formatHunk(hunk: Operation[], all: Operation[], from: number): string[] {
  const oldStart = startIndex(all, from, 'old');
  const newStart = startIndex(all, from, 'new');
  const oldCount = hunk.filter((operation) => operation.kind !== '+').length;
  const newCount = hunk.filter((operation) => operation.kind !== '-').length;
  const lines = [`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`];
  for (const operation of hunk) {
    lines.push(`${operation.kind}${operation.line.text}`);
    if (operation.line.eol === '') lines.push('\\ No newline at end of file');
  }
  return lines;
}

/** 1-based line number where the hunk starts in the old or new file. */
function startIndex(all: Operation[], from: number, side: 'old' | 'new'): number {
  let count = 0;
  for (let i = 0; i < from; i++) {
    const kind = (all[i] as Operation).kind;
    if (kind === ' ' || (side === 'old' ? kind === '-' : kind === '+')) count++;
  }
  return count + 1;
}

function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** Line diff by longest common subsequence, after trimming the common head and tail. */
function diffLines(a: readonly DocumentLine[], b: readonly DocumentLine[]): Operation[] {
  const same = (x: DocumentLine, y: DocumentLine): boolean => x.text === y.text && x.eol === y.eol;
  let head = 0;
  while (
    head < a.length &&
    head < b.length &&
    same(a[head] as DocumentLine, b[head] as DocumentLine)
  )
    head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    same(a[a.length - 1 - tail] as DocumentLine, b[b.length - 1 - tail] as DocumentLine)
  ) {
    tail++;
  }

  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const width = midB.length + 1;
  const lcs = new Uint32Array((midA.length + 1) * width);
  for (let i = midA.length - 1; i >= 0; i--) {
    for (let j = midB.length - 1; j >= 0; j--) {
      lcs[i * width + j] = same(midA[i] as DocumentLine, midB[j] as DocumentLine)
        ? (lcs[(i + 1) * width + j + 1] as number) + 1
        : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
    }
  }

  const operations: Operation[] = [];
  for (let k = 0; k < head; k++)
    operations.push({ kind: ' ', line: a[k] as DocumentLine, oldIndex: k, newIndex: k });
  let i = 0;
  let j = 0;
  while (i < midA.length || j < midB.length) {
    if (
      i < midA.length &&
      j < midB.length &&
      same(midA[i] as DocumentLine, midB[j] as DocumentLine)
    ) {
      operations.push({
        kind: ' ',
        line: midA[i] as DocumentLine,
        oldIndex: head + i,
        newIndex: head + j,
      });
      i++;
      j++;
    } else if (
      i < midA.length &&
      (j === midB.length ||
        (lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number))
    ) {
      operations.push({
        kind: '-',
        line: midA[i] as DocumentLine,
        oldIndex: head + i,
        newIndex: head + j,
      });
      i++;
    } else {
      operations.push({
        kind: '+',
        line: midB[j] as DocumentLine,
        oldIndex: head + i,
        newIndex: head + j,
      });
      j++;
    }
  }
  for (let k = 0; k < tail; k++) {
    const oldIndex = a.length - tail + k;
    operations.push({
      kind: ' ',
      line: a[oldIndex] as DocumentLine,
      oldIndex,
      newIndex: b.length - tail + k,
    });
  }
  return operations;
}
