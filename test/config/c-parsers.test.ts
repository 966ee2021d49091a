import { describe, expect, it } from 'vitest';

import {
  atoi,
  kniPortSet,
  parseConfigList,
  parseLcoreMask,
  readKniPortItems,
  rteStrsplit,
  scanSectionId,
} from '../../src/config/c-parsers.js';

describe('atoi', () => {
  it.each([
    ['1', 1],
    ['  42abc', 42],
    ['yes', 0],
    ['', 0],
    ['-7', -7],
    ['+3', 3],
    ['1 # on', 1],
    ['4294967296', 0],
    ['2147483648', -2147483648],
    ['99999999999999999999', -1],
  ])('reads %j as %d', (text, value) => {
    expect(atoi(text)).toBe(value);
  });
});

describe('rteStrsplit', () => {
  it('splits like DPDK', () => {
    expect(rteStrsplit('a;b;c', ';', 64)).toEqual(['a', 'b', 'c']);
    expect(rteStrsplit('', ';', 64)).toEqual([]);
    expect(rteStrsplit('a;', ';', 64)).toEqual(['a']);
    expect(rteStrsplit('a;;b', ';', 64)).toEqual(['a', '', 'b']);
    expect(rteStrsplit(';a', ';', 64)).toEqual(['', 'a']);
  });

  it('keeps the rest in the last allowed token', () => {
    expect(rteStrsplit('a;b;c;d', ';', 2)).toEqual(['a', 'b;c;d']);
  });
});

describe('parseConfigList', () => {
  it('reads numbers and ranges, sorted', () => {
    expect(parseConfigList('4-6,1,2', 32)).toMatchObject({
      values: [1, 2, 4, 5, 6],
      empty: false,
      oddities: [],
    });
  });

  it('strips spaces but not tabs after a number', () => {
    expect(parseConfigList(' 1 , 2 ', 32).values).toEqual([1, 2]);
    expect(parseConfigList('1\t,2', 32).failure).toEqual({ reason: 'not-integer', item: '1\t' });
  });

  it.each(['a', '0x1', '1.5', '1 2', '1-b', '+'])('fails on junk %j', (text) => {
    expect(parseConfigList(text, 32).failure?.reason).toBe('not-integer');
  });

  it('reads an empty item as 0', () => {
    const list = parseConfigList('1,,2', 32);
    expect(list.values).toEqual([0, 1, 2]);
    expect(list.oddities.map((oddity) => oddity.kind)).toContain('empty-item');
  });

  it('reads -5 as the range 0-5', () => {
    expect(parseConfigList('-5', 32).values).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('selects nothing for a reversed range', () => {
    const list = parseConfigList('5-3', 32);
    expect(list.empty).toBe(true);
    expect(list.oddities.map((oddity) => oddity.kind)).toEqual(['reversed-range']);
  });

  it('cuts values to 16 bits', () => {
    const list = parseConfigList('65537', 32);
    expect(list.values).toEqual([1]);
    expect(list.oddities.map((oddity) => oddity.kind)).toEqual(['wraps']);
  });

  it('fails when there are too many values', () => {
    expect(parseConfigList('0-32', 32).failure?.reason).toBe('too-many');
    expect(parseConfigList('0-31', 32).values).toHaveLength(32);
  });

  it('reports an empty value', () => {
    expect(parseConfigList('', 32)).toMatchObject({ values: [], empty: true });
  });
});

describe('parseLcoreMask', () => {
  it.each([
    ['1', [0]],
    ['0x5', [0, 2]],
    ['F0', [4, 5, 6, 7]],
    ['0X10', [4]],
  ])('reads %s', (mask, lcores) => {
    expect(parseLcoreMask(mask)).toEqual({ lcores });
  });

  it.each([
    ['', 'empty'],
    ['0', 'no-lcore'],
    ['1g', 'not-hex'],
    ['1 # one', 'not-hex'],
    [`1${'0'.repeat(32)}`, 'too-wide'],
  ])('rejects %j', (mask, failure) => {
    expect(parseLcoreMask(mask).failure).toBe(failure);
  });

  it('accepts leading zeros beyond 128 bits', () => {
    expect(parseLcoreMask(`${'0'.repeat(40)}1`)).toEqual({ lcores: [0] });
  });
});

describe('KNI port parser', () => {
  it.each([
    ['22', [22]],
    ['80,443', [80, 443]],
    ['80-82', [80, 81, 82]],
    ['80 443', [80]],
    ['http', [0]],
    ['8080-', []],
    ['65616', [80]],
    ['80,,443', [0, 80, 443]],
    ['', [0]],
    ['-2', [0, 1, 2, 65534, 65535]],
    ['80-,90', [80, 90]],
    ['1,2-3', [1, 2, 3]],
  ])('reads %j as %j', (value, ports) => {
    expect(kniPortSet(value)).toEqual(ports);
  });

  it('reads a wide range as every port', () => {
    expect(kniPortSet('0-70000')).toHaveLength(65536);
  });

  it('reads nothing when the key is absent', () => {
    expect(kniPortSet(undefined)).toEqual([]);
  });

  it('reports items with their offsets', () => {
    expect(readKniPortItems('80, 443').map((item) => [item.text, item.offset])).toEqual([
      ['80', 0],
      [' 443', 3],
    ]);
  });
});

describe('scanSectionId', () => {
  it.each([
    ['port0', 'port', 0],
    ['port 1', 'port', 1],
    ['port01x', 'port', 1],
    ['port-1', 'port', -1],
    ['portal', 'port', undefined],
    ['port', 'port', undefined],
  ])('reads %j', (section, prefix, id) => {
    expect(scanSectionId(section, prefix)).toBe(id);
  });
});
