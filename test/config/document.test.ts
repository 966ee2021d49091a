import { describe, expect, it } from 'vitest';

import {
  byteOffsetToIndex,
  documentFromText,
  dominantLineEnding,
  parseDocument,
  serializeDocument,
  spliceLines,
} from '../../src/config/document.js';
import { parseConfig } from '../../src/config/model.js';

const roundTrip = (bytes: Buffer): Buffer => serializeDocument(parseDocument(bytes));

describe('document round trip', () => {
  it.each([
    ['empty file', ''],
    ['only a newline', '\n'],
    ['only comments', '# one\n; two\n#three'],
    ['LF endings', '[dpdk]\nport_list=0\n'],
    ['CRLF endings', '[dpdk]\r\nport_list=0\r\n'],
    ['mixed endings', '[dpdk]\r\nport_list=0\n\r\n\nlcore_mask=1\r\n'],
    ['no final newline', '[kni]\nenable=1'],
    ['no final newline after CR', '[kni]\nenable=1\r'],
    ['lone carriage returns', 'a=1\rb=2\n\r\r\n'],
    ['BOM', '\ufeff[dpdk]\nport_list=0\n'],
    ['BOM only', '\ufeff'],
    ['two BOMs', '\ufeff\ufeff[dpdk]\n'],
    ['UTF-8 text', '# café ✓\n[kni]\nmethod=accept\n'],
    ['trailing whitespace and tabs', '[kni]  \t\nenable = 1 \t \n\t\n'],
    ['NUL byte', 'a=1\0b\n'],
  ])('keeps the bytes of %s', (_name, text) => {
    const bytes = Buffer.from(text, 'utf8');
    expect(roundTrip(bytes).equals(bytes)).toBe(true);
  });

  it('keeps bytes that are not UTF-8', () => {
    const bytes = Buffer.from([0x61, 0x3d, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x0a, 0x80]);
    const doc = parseDocument(bytes);
    expect(doc.encoding).toBe('latin1');
    expect(serializeDocument(doc).equals(bytes)).toBe(true);
  });

  it('keeps a BOM followed by bytes that are not UTF-8', () => {
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x0a]);
    const doc = parseDocument(bytes);
    expect(doc.bom).toBe(true);
    expect(serializeDocument(doc).equals(bytes)).toBe(true);
  });

  it('records each line ending', () => {
    const doc = parseDocument(Buffer.from('a\r\nb\nc'));
    expect(doc.lines).toEqual([
      { text: 'a', eol: '\r\n' },
      { text: 'b', eol: '\n' },
      { text: 'c', eol: '' },
    ]);
  });

  it('parses an empty file to no lines', () => {
    expect(parseDocument(Buffer.alloc(0)).lines).toEqual([]);
    expect(parseConfig('').document.lines).toEqual([]);
  });
});

describe('document editing primitives', () => {
  it('uses the dominant line ending for new lines', () => {
    const doc = documentFromText('a\r\nb\r\nc\n');
    expect(dominantLineEnding(doc)).toBe('\r\n');
    const edited = spliceLines(doc, 1, 0, ['x']);
    expect(serializeDocument(edited).toString()).toBe('a\r\nx\r\nb\r\nc\n');
  });

  it('keeps a missing final newline when appending', () => {
    const doc = documentFromText('a\nb');
    expect(serializeDocument(spliceLines(doc, 2, 0, ['c'])).toString()).toBe('a\nb\nc');
  });

  it('appends with a newline to an empty document', () => {
    expect(serializeDocument(spliceLines(documentFromText(''), 0, 0, ['[kni]'])).toString()).toBe(
      '[kni]\n',
    );
  });

  it('maps byte offsets to string indexes', () => {
    expect(byteOffsetToIndex('aé✓b', 3, 'utf8')).toBe(2);
    expect(byteOffsetToIndex('aé✓b', 6, 'utf8')).toBe(3);
    expect(byteOffsetToIndex('aé✓b', 4, 'utf8')).toBe(2);
  });
});
