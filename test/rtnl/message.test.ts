import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { NetlinkDecodeError } from '../../src/netlink/attributes.js';
import { NLM_F_ACK, RTM_NEWLINK } from '../../src/netlink/constants.js';
import {
  MessageBuilder,
  parseMessages,
  readMessageHeader,
  writeIfinfomsg,
} from '../../src/netlink/message.js';
import { hex, toHex } from './hex.js';

describe.skipIf(endianness() !== 'LE')('MessageBuilder', () => {
  it('writes the header with NLM_F_REQUEST and the final length', () => {
    const builder = new MessageBuilder(RTM_NEWLINK, NLM_F_ACK);
    writeIfinfomsg(builder, { index: 7, flags: 1, change: 1 });
    builder.u32(4, 1400);

    expect(toHex(builder.finish())).toBe(
      toHex(
        hex(
          '28000000 1000 0500 00000000 00000000', // nlmsghdr: 40 bytes, RTM_NEWLINK, REQUEST|ACK
          '00 00 0000 07000000 01000000 01000000', // ifinfomsg: index 7, IFF_UP in flags and change
          '0800 0400 78050000', // IFLA_MTU 1400
        ),
      ),
    );
  });
});

describe.skipIf(endianness() !== 'LE')('parseMessages', () => {
  const two = hex(
    '14000000 1000 0200 01000000 00000000', // RTM_NEWLINK, NLM_F_MULTI, seq 1, 20 bytes
    '01020304',
    '15000000 1400 0200 01000000 00000000', // RTM_NEWADDR, 21 bytes: padded to 24
    '01020304 05 000000',
    '14000000 0300 0200 01000000 00000000', // NLMSG_DONE
    '00000000',
  );

  it('splits messages and leaves out control messages', () => {
    const messages = parseMessages(two);
    expect(messages.map((message) => [message.type, message.offset, message.length])).toEqual([
      [16, 0, 20],
      [20, 20, 21],
    ]);
    expect(messages[0]?.sequence).toBe(1);
    expect(messages[0]?.flags).toBe(2);
  });

  it('reports a message that runs past the buffer', () => {
    const truncated = two.subarray(0, 36);
    expect(() => parseMessages(truncated)).toThrow(NetlinkDecodeError);
    expect(() => parseMessages(truncated)).toThrow(
      /message length 21 is invalid, 16 bytes left \(at byte 20\)/,
    );
  });

  it('reports a truncated header after a whole message', () => {
    expect(() => parseMessages(two.subarray(0, 30))).toThrow(/header is truncated: 10 bytes left/);
  });

  it('ignores fewer than 4 trailing bytes', () => {
    expect(parseMessages(Buffer.concat([two.subarray(0, 20), Buffer.alloc(3)]))).toHaveLength(1);
  });

  it('reports a message length below the header size', () => {
    expect(() => readMessageHeader(hex('08000000 1000 0000 00000000 00000000'))).toThrow(
      /length 8 is invalid/,
    );
  });

  it('reports a truncated header', () => {
    expect(() => readMessageHeader(hex('14000000 1000'))).toThrow(
      /header is truncated: 6 bytes left/,
    );
  });

  it('returns nothing for an empty buffer', () => {
    expect(parseMessages(Buffer.alloc(0))).toEqual([]);
  });
});
