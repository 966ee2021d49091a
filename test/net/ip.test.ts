import { describe, expect, it } from 'vitest';
import {
  broadcastAddress,
  canonicalIp,
  formatIPv4,
  formatIPv6,
  inSubnet,
  netmaskFromPrefix,
  networkAddress,
  parseIPv4,
  parseIPv4Value,
  parseIPv6,
  prefixFromNetmask,
} from '../../src/net/ip.js';

const v4 = (text: string) => parseIPv4(text) as Uint8Array;

describe('parseIPv4', () => {
  it.each(['192.0.2.79', '0.0.0.0', '255.255.255.255'])('accepts %s', (text) => {
    expect(formatIPv4(v4(text))).toBe(text);
  });

  it.each([
    '192.0.2',
    '192.0.2.1.5',
    '192.0.2.256',
    '192.0.2.01',
    '192.0.2.1 ',
    ' 192.0.2.1',
    '1e1.0.0.1',
    '',
    '192.0.2.-1',
    '0x10.0.0.1',
    '192.0.2.1 # lab',
  ])('rejects %j', (text) => {
    expect(parseIPv4(text)).toBeUndefined();
    expect(parseIPv4Value(text)).toBe(-1);
  });

  it.each([
    ['192.0.2.1', 0xc0000201],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['127.0.0.1', 0x7f000001],
  ])('parses %s as one number', (text, value) => {
    expect(parseIPv4Value(text)).toBe(value);
  });
});

describe('parseIPv6', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8::192.0.2.1', '2001:db8::c000:201'],
  ])('parses %s as %s', (text, canonical) => {
    expect(formatIPv6(parseIPv6(text) as Uint8Array)).toBe(canonical);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:::2',
    ':1::2',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    'g::1',
    '::192.0.2.256',
    'fe80::1%eth0',
    '[::1]',
    '1:2:3:4:5:6:7',
  ])('rejects %j', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

describe('prefix arithmetic', () => {
  it('maps contiguous netmasks to prefix lengths', () => {
    expect(prefixFromNetmask(v4('255.255.255.0'))).toBe(24);
    expect(prefixFromNetmask(v4('255.255.255.255'))).toBe(32);
    expect(prefixFromNetmask(v4('0.0.0.0'))).toBe(0);
    expect(prefixFromNetmask(v4('255.255.254.0'))).toBe(23);
  });

  it('rejects non-contiguous netmasks', () => {
    expect(prefixFromNetmask(v4('255.0.255.0'))).toBeUndefined();
    expect(prefixFromNetmask(v4('255.255.255.1'))).toBeUndefined();
  });

  it('computes network and broadcast', () => {
    expect(formatIPv4(networkAddress(v4('192.0.2.79'), 24))).toBe('192.0.2.0');
    expect(formatIPv4(broadcastAddress(v4('192.0.2.79'), 24))).toBe('192.0.2.255');
    expect(formatIPv4(broadcastAddress(v4('198.51.100.130'), 25))).toBe('198.51.100.255');
    expect(formatIPv4(netmaskFromPrefix(20, 4))).toBe('255.255.240.0');
  });

  it('tests subnet membership', () => {
    expect(inSubnet(v4('192.0.2.1'), v4('192.0.2.79'), 24)).toBe(true);
    expect(inSubnet(v4('192.0.3.1'), v4('192.0.2.79'), 24)).toBe(false);
  });

  it('rejects prefix lengths out of range', () => {
    expect(() => netmaskFromPrefix(33, 4)).toThrow(RangeError);
    expect(() => netmaskFromPrefix(-1, 6)).toThrow(/out of range 0-128/);
  });

  it('canonicalizes address text', () => {
    expect(canonicalIp('2001:0db8:0000::0001')).toBe('2001:db8::1');
    expect(canonicalIp('nonsense')).toBeUndefined();
  });
});
