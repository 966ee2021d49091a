import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  AttributeIterator,
  AttributeWriter,
  align4,
  NetlinkDecodeError,
  parseAttributes,
} from '../../src/netlink/attributes.js';
import { hex, toHex } from './hex.js';

const littleEndian = endianness() === 'LE';

/** The written bytes of a writer. */
function written(writer: AttributeWriter): Buffer {
  return (writer as unknown as { buffer: Buffer }).buffer.subarray(0, writer.size);
}

describe.skipIf(!littleEndian)('AttributeWriter', () => {
  it('writes each type with padding to 4 bytes', () => {
    const writer = new AttributeWriter(8);
    writer.u8(1, 0xab);
    writer.u16(2, 0x1234);
    writer.u32(3, 0xdeadbeef);
    writer.s32(4, -2);
    writer.string(5, 'veth0');
    writer.bytes(6, Uint8Array.of(1, 2, 3));
    writer.flag(7);
    writer.be16(8, 0x8100);

    expect(toHex(written(writer))).toBe(
      toHex(
        hex(
          '0500 0100 ab000000', //            u8, 3 bytes padding
          '0600 0200 3412 0000', //           u16
          '0800 0300 efbeadde', //            u32
          '0800 0400 feffffff', //            s32 -2
          '0a00 0500 7665746830 00 0000', //  "veth0" + NUL + padding
          '0700 0600 010203 00', //           3 bytes + padding
          '0400 0700', //                     flag, no payload
          '0600 0840 8100 0000', //           NLA_F_NET_BYTEORDER, big endian 0x8100
        ),
      ),
    );
  });

  it('nests attributes and sets NLA_F_NESTED', () => {
    const writer = new AttributeWriter();
    const outer = writer.beginNested(18);
    writer.string(1, 'vlan');
    const inner = writer.beginNested(2);
    writer.u16(1, 100);
    writer.endNested(inner);
    writer.endNested(outer);

    expect(toHex(written(writer))).toBe(
      toHex(
        hex(
          '1c00 1280', //                  IFLA_LINKINFO | NLA_F_NESTED, 28 bytes
          '0900 0100 766c616e 00 000000', // IFLA_INFO_KIND "vlan"
          '0c00 0280', //                  IFLA_INFO_DATA | NLA_F_NESTED, 12 bytes
          '0600 0100 6400 0000', //        IFLA_VLAN_ID 100
        ),
      ),
    );
  });

  it('leaves NLA_F_NESTED off when asked', () => {
    const writer = new AttributeWriter();
    const peer = writer.beginNested(1, false);
    writer.u32(3, 7);
    writer.endNested(peer);
    expect(toHex(written(writer))).toBe(toHex(hex('0c00 0100', '0800 0300 07000000')));
  });

  it('writes a struct attribute with zeroed payload', () => {
    const writer = new AttributeWriter();
    const at = writer.attributeStruct(6, 16);
    writer.setU32(at, 200);
    writer.setU32(at + 4, 300);
    expect(toHex(written(writer))).toBe(
      toHex(hex('1400 0600', 'c8000000 2c010000 00000000 00000000')),
    );
  });

  it('grows past its initial capacity', () => {
    const writer = new AttributeWriter(4);
    for (let i = 0; i < 100; i++) writer.u32(1, i);
    const bytes = written(writer);
    expect(bytes.length).toBe(800);
    expect(bytes.readUInt32LE(8 * 99 + 4)).toBe(99);
  });

  it('rejects an attribute over 65535 bytes', () => {
    const writer = new AttributeWriter();
    expect(() => writer.bytes(1, new Uint8Array(70_000))).toThrow(RangeError);
  });
});

describe.skipIf(!littleEndian)('AttributeIterator', () => {
  it('decodes known types and keeps unknown types raw', () => {
    const buffer = hex(
      '0800 0400 dc050000', //       type 4 (IFLA_MTU) 1500
      '0800 ff3f 01020304', //       type 0x3fff, unknown to everyone
      '0a00 0300 7665746830 00 0000', // type 3 "veth0"
      '0500 1000 06 000000', //      type 16 u8 6
    );
    const attributes = parseAttributes(buffer);
    expect(attributes.map((attribute) => attribute.type)).toEqual([4, 0x3fff, 3, 16]);
    expect(toHex(attributes[1]?.data ?? Buffer.alloc(0))).toBe('01020304');

    const iterator = new AttributeIterator(buffer, 0, buffer.length);
    const seen: Array<[number, unknown]> = [];
    while (iterator.next()) {
      if (iterator.type === 4) seen.push([4, iterator.u32()]);
      else if (iterator.type === 3) seen.push([3, iterator.string()]);
      else if (iterator.type === 16) seen.push([16, iterator.u8()]);
    }
    expect(seen).toEqual([
      [4, 1500],
      [3, 'veth0'],
      [16, 6],
    ]);
  });

  it('walks nested attributes', () => {
    const buffer = hex(
      '1c00 1280', //
      '0900 0100 766c616e 00 000000',
      '0c00 0280',
      '0600 0100 6400 0000',
    );
    const outer = new AttributeIterator(buffer, 0, buffer.length);
    expect(outer.next()).toBe(true);
    expect(outer.type).toBe(18);
    expect(outer.nested).toBe(true);

    const inner = outer.nestedAttributes();
    expect(inner.next()).toBe(true);
    expect(inner.string()).toBe('vlan');
    expect(inner.next()).toBe(true);
    expect(inner.type).toBe(2);
    const data = inner.nestedAttributes();
    expect(data.next()).toBe(true);
    expect(data.u16()).toBe(100);
    expect(data.next()).toBe(false);
    expect(inner.next()).toBe(false);
    expect(outer.next()).toBe(false);
  });

  it('reads big endian payloads under NLA_F_NET_BYTEORDER', () => {
    const buffer = hex('0600 0540 8100 0000', '0800 0640 c0000201');
    const iterator = new AttributeIterator(buffer, 0, buffer.length);
    iterator.next();
    expect(iterator.netByteOrder).toBe(true);
    expect(iterator.type).toBe(5);
    expect(iterator.u16()).toBe(0x8100);
    iterator.next();
    expect(iterator.u32()).toBe(0xc0000201);
  });

  it('accepts a last attribute without its padding', () => {
    const buffer = hex('0800 0100 01000000', '0500 0200 07');
    const attributes = parseAttributes(buffer);
    expect(attributes).toHaveLength(2);
    expect(attributes[1]?.data[0]).toBe(7);
  });

  it('ignores fewer than 4 trailing bytes', () => {
    expect(parseAttributes(hex('0800 0100 01000000', '0000'))).toHaveLength(1);
  });

  it('reports a truncated attribute', () => {
    const buffer = hex('0800 0100 01000000', '0c00 0200 0102'); // claims 12 bytes, 6 left
    expect(() => parseAttributes(buffer)).toThrow(NetlinkDecodeError);
    expect(() => parseAttributes(buffer)).toThrow(
      /type 2 is truncated: length 12, 6 bytes left \(at byte 8\)/,
    );
  });

  it('reports an attribute length below the header size', () => {
    expect(() => parseAttributes(hex('0200 0100'))).toThrow(/invalid length 2/);
  });

  it('reports a value too short for its type', () => {
    const buffer = hex('0600 0400 dc05 0000');
    const iterator = new AttributeIterator(buffer, 0, buffer.length);
    iterator.next();
    expect(() => iterator.u32()).toThrow(/2 bytes, too short for u32/);
  });

  it('reads a string without NUL up to the payload end', () => {
    const buffer = hex('0800 0300 61626364', '0800 0400 01000000');
    const iterator = new AttributeIterator(buffer, 0, buffer.length);
    iterator.next();
    expect(iterator.string()).toBe('abcd');
  });

  it('rejects a range outside the buffer', () => {
    expect(() => new AttributeIterator(Buffer.alloc(4), 0, 8)).toThrow(NetlinkDecodeError);
  });

  it('never throws anything but NetlinkDecodeError on random input', () => {
    // A fixed-seed generator keeps the case reproducible.
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const buffer = Buffer.alloc(random() % 64);
      for (let i = 0; i < buffer.length; i++) buffer[i] = random() & 0xff;
      try {
        for (
          const attribute = new AttributeIterator(buffer, 0, buffer.length);
          attribute.next();
        ) {
          // Read every payload as nested attributes too, whatever its flags say.
          try {
            parseAttributes(buffer, attribute.offset, attribute.offset + attribute.length);
          } catch (error) {
            expect(error).toBeInstanceOf(NetlinkDecodeError);
          }
        }
      } catch (error) {
        expect(error).toBeInstanceOf(NetlinkDecodeError);
      }
    }
  });
});

describe('align4', () => {
  it.each([
    [0, 0],
    [1, 4],
    [4, 4],
    [5, 8],
    [15, 16],
  ])('aligns %i to %i', (length, aligned) => {
    expect(align4(length)).toBe(aligned);
  });
});
