import { describe, expect, it } from 'vitest';

import { documentFromText } from '../../src/config/document.js';
import { type IniEvent, type IniPairEvent, tokenize } from '../../src/config/ini.js';

function scan(text: string, maxLine = 2048) {
  return tokenize(documentFromText(text), { maxLine });
}

function pairs(text: string, maxLine = 2048): [string, string, string][] {
  return scan(text, maxLine)
    .events.filter((event): event is IniPairEvent => event.kind === 'pair')
    .map((event) => [event.section, event.name, event.value]);
}

function kinds(events: IniEvent[]): string[] {
  return events.map((event) => (event.kind === 'error' ? `error:${event.reason}` : event.kind));
}

describe('tokenize', () => {
  it('reads sections and keys with = or :', () => {
    expect(pairs('[kni]\nenable=1\nmethod : accept\n')).toEqual([
      ['kni', 'enable', '1'],
      ['kni', 'method', 'accept'],
    ]);
  });

  it('cuts an inline ; comment only after whitespace', () => {
    expect(pairs('[port0]\nvip_addr=192.0.2.3;192.0.2.4\naddr=192.0.2.1 ; lab\nb=x\t;y\n')).toEqual(
      [
        ['port0', 'vip_addr', '192.0.2.3;192.0.2.4'],
        ['port0', 'addr', '192.0.2.1'],
        ['port0', 'b', 'x'],
      ],
    );
  });

  it('keeps # text in values', () => {
    expect(pairs('[port0]\naddr=192.0.2.1 # lab\n')).toEqual([
      ['port0', 'addr', '192.0.2.1 # lab'],
    ]);
  });

  it('reads # and ; lines as comments, indented or not', () => {
    expect(kinds(scan('# a\n; b\n  # c\n\t; d\n').events)).toEqual([]);
  });

  it('continues the previous key with an indented line', () => {
    expect(pairs('[kni]\nmethod=reject\n  tcp_port=80 ; kept\n\n# comment\n\tnext\n')).toEqual([
      ['kni', 'method', 'reject'],
      ['kni', 'method', 'tcp_port=80 ; kept'],
      ['kni', 'method', 'next'],
    ]);
  });

  it('does not continue across a section header', () => {
    expect(pairs('[a]\nk=v\n[b]\n  x=y\n')).toEqual([
      ['a', 'k', 'v'],
      ['b', 'x', 'y'],
    ]);
  });

  it('reads an indented section header after a key as a continuation', () => {
    expect(pairs('[a]\nk=v\n  [b]\n')).toEqual([
      ['a', 'k', 'v'],
      ['a', 'k', '[b]'],
    ]);
  });

  it('keeps section names untrimmed and case-sensitive', () => {
    const events = scan('[ KNI ]\nEnable=1\n').events;
    expect(events[0]).toMatchObject({ kind: 'section', name: ' KNI ' });
    expect(events[1]).toMatchObject({ kind: 'pair', section: ' KNI ', name: 'Enable' });
  });

  it('cuts section names to 49 bytes', () => {
    const long = 'a'.repeat(60);
    const event = scan(`[${long}]\n`).events[0];
    expect(event).toMatchObject({ kind: 'section', name: 'a'.repeat(49), truncated: true });
  });

  it('continues with the name cut to 49 bytes', () => {
    const name = 'k'.repeat(55);
    expect(pairs(`[s]\n${name}=1\n  2\n`)).toEqual([
      ['s', name, '1'],
      ['s', 'k'.repeat(49), '2'],
    ]);
  });

  it('reports an unclosed section and a line without separator', () => {
    const result = scan('[kni\nenable\n');
    expect(kinds(result.events)).toEqual(['error:unclosed-section', 'error:missing-separator']);
    expect(result.firstErrorIniLine).toBe(1);
  });

  it('reports a ; comment before ] as an unclosed section', () => {
    expect(kinds(scan('[kni ;x]\n').events)).toEqual(['error:unclosed-section']);
  });

  it('reports a ; comment before the separator as an error', () => {
    expect(kinds(scan('[s]\nname ;x=1\n').events)).toEqual(['section', 'error:missing-separator']);
  });

  it('skips a BOM on the first line', () => {
    expect(pairs('\ufeff[kni]\nenable=1\n')).toEqual([['kni', 'enable', '1']]);
  });

  it('splits a line over the limit', () => {
    const value = 'v'.repeat(197);
    const result = scan(`[s]\nk=${value}x=y\n`, 200);
    expect(
      result.events
        .filter((event) => event.kind === 'pair')
        .map((event) => (event as IniPairEvent).value),
    ).toEqual([value, 'y']);
    expect(result.cutChunks).toHaveLength(1);
    expect(result.cutChunks[0]).toMatchObject({ line: 2, start: 199, iniLine: 3 });
  });

  it('counts the BOM into the first line length', () => {
    const result = scan(`\ufeffk=${'v'.repeat(195)}\n`, 200);
    expect(result.cutChunks).toHaveLength(1);
  });

  it('ignores the rest of a line after a NUL byte', () => {
    expect(pairs('[s]\nk=a\0;b\n')).toEqual([['s', 'k', 'a']]);
  });

  it('keeps a lone carriage return inside a value', () => {
    expect(pairs('[s]\nk=a\rb=c\n')).toEqual([['s', 'k', 'a\rb=c']]);
  });

  it('places values by byte column', () => {
    const event = scan('[s]\n  é = ✓v\n').events[1] as IniPairEvent;
    expect(event.pos).toEqual({ line: 2, column: 3 });
    expect(event.valuePos).toEqual({ line: 2, column: 8 });
    expect(event.valueEnd - event.valueStart).toBe(4);
  });

  it('places values on a BOM line without counting the BOM', () => {
    const event = scan('\ufeffk=v\n').events[0] as IniPairEvent;
    expect(event.pos).toEqual({ line: 1, column: 1 });
    expect(event.valuePos).toEqual({ line: 1, column: 3 });
  });
});
