import { describe, expect, it } from 'vitest';
import {
  arpRequest,
  parseArpReply,
  parseTcpFrame,
  TCP_ACK,
  TCP_SYN,
  tcpFrame,
} from '../../src/kni/frames.js';

/** One's-complement sum of 16-bit words, folded; 0xffff for data that carries its checksum. */
function sum16(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2)
    sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('frames', () => {
  it('builds an ARP request', () => {
    const frame = arpRequest('02:00:5e:00:02:0a', '192.0.2.10', '192.0.2.79');
    expect(frame.length).toBe(42);
    expect(frame.subarray(0, 6).toString('hex')).toBe('ffffffffffff');
    expect(frame.readUInt16BE(12)).toBe(0x0806);
    expect(frame.subarray(38, 42)).toEqual(Buffer.from([192, 0, 2, 79]));
    expect(parseArpReply(frame)).toBeUndefined();
  });

  it('parses an ARP reply', () => {
    const frame = arpRequest('02:00:5e:00:02:4f', '192.0.2.79', '192.0.2.10');
    frame.writeUInt16BE(2, 20);
    expect(parseArpReply(frame)).toEqual({
      senderMac: '02:00:5e:00:02:4f',
      senderIp: '192.0.2.79',
      targetIp: '192.0.2.10',
    });
  });

  it('builds TCP with valid checksums and parses it back', () => {
    const payload = Buffer.from('SSH-2.0-test\r\n');
    const frame = tcpFrame({
      sourceMac: '02:00:5e:00:02:0a',
      destinationMac: '02:00:5e:00:02:4f',
      sourceIp: '192.0.2.10',
      destinationIp: '192.0.2.79',
      sourcePort: 40022,
      destinationPort: 22,
      sequence: 0xfffffff0,
      acknowledgement: 7,
      flags: TCP_SYN | TCP_ACK,
      payload,
    });

    expect(sum16(frame.subarray(14, 34))).toBe(0xffff);
    const pseudo = Buffer.concat([
      frame.subarray(26, 34),
      Buffer.from([0, 6]),
      Buffer.from([0, 20 + payload.length]),
    ]);
    expect(sum16(Buffer.concat([pseudo, frame.subarray(34)]))).toBe(0xffff);

    expect(parseTcpFrame(frame)).toEqual({
      sourceMac: '02:00:5e:00:02:0a',
      sourceIp: '192.0.2.10',
      destinationIp: '192.0.2.79',
      sourcePort: 40022,
      destinationPort: 22,
      sequence: 0xfffffff0,
      acknowledgement: 7,
      flags: TCP_SYN | TCP_ACK,
      payload,
    });
  });
});
