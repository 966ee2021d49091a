// Ethernet frames for probing the kernel through a tap, the way F-Stack hands it packets:
// ARP requests and TCP segments in, and the kernel's replies out. Only what the demo's
// reachability proof needs: IPv4, no options, no fragments.
import { formatIPv4, parseIPv4 } from '../net/ip.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const IPPROTO_TCP = 6;
const ETHERNET_HEADER = 14;
const IPV4_HEADER = 20;
const TCP_HEADER = 20;

/** TCP header flag bits. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface ArpReply {
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

export interface TcpSegment {
  sourceMac: string;
  sourceIp: string;
  destinationIp: string;
  sourcePort: number;
  destinationPort: number;
  sequence: number;
  acknowledgement: number;
  flags: number;
  payload: Buffer;
}

/** `who-has TARGET tell SENDER`, broadcast. */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  const frame = Buffer.alloc(ETHERNET_HEADER + 28);
  writeEthernet(frame, 'ff:ff:ff:ff:ff:ff', senderMac, ETHERTYPE_ARP);
  const arp = ETHERNET_HEADER;
  frame.writeUInt16BE(1, arp); // hardware type: Ethernet
  frame.writeUInt16BE(ETHERTYPE_IPV4, arp + 2);
  frame.writeUInt8(6, arp + 4);
  frame.writeUInt8(4, arp + 5);
  frame.writeUInt16BE(1, arp + 6); // request
  macBytes(senderMac).copy(frame, arp + 8);
  ipBytes(senderIp).copy(frame, arp + 14);
  ipBytes(targetIp).copy(frame, arp + 24);
  return frame;
}

/** Decodes an ARP reply; undefined for any other frame. */
export function parseArpReply(frame: Buffer): ArpReply | undefined {
  if (frame.length < ETHERNET_HEADER + 28 || frame.readUInt16BE(12) !== ETHERTYPE_ARP)
    return undefined;
  const arp = ETHERNET_HEADER;
  if (frame.readUInt16BE(arp + 6) !== 2) return undefined;
  return {
    senderMac: formatMac(frame.subarray(arp + 8, arp + 14)),
    senderIp: formatIPv4(frame.subarray(arp + 14, arp + 18)),
    targetIp: formatIPv4(frame.subarray(arp + 24, arp + 28)),
  };
}

/** Builds an IPv4 TCP segment in an Ethernet frame, with both checksums. */
export function tcpFrame(
  segment: Omit<TcpSegment, 'sourceMac'> & { sourceMac: string; destinationMac: string },
): Buffer {
  const frame = Buffer.alloc(ETHERNET_HEADER + IPV4_HEADER + TCP_HEADER + segment.payload.length);
  writeEthernet(frame, segment.destinationMac, segment.sourceMac, ETHERTYPE_IPV4);

  const ip = ETHERNET_HEADER;
  frame.writeUInt8(0x45, ip);
  frame.writeUInt16BE(IPV4_HEADER + TCP_HEADER + segment.payload.length, ip + 2);
  frame.writeUInt16BE(0x4000, ip + 6); // don't fragment
  frame.writeUInt8(64, ip + 8);
  frame.writeUInt8(IPPROTO_TCP, ip + 9);
  ipBytes(segment.sourceIp).copy(frame, ip + 12);
  ipBytes(segment.destinationIp).copy(frame, ip + 16);
  frame.writeUInt16BE(checksum(frame.subarray(ip, ip + IPV4_HEADER)), ip + 10);

  const tcp = ip + IPV4_HEADER;
  frame.writeUInt16BE(segment.sourcePort, tcp);
  frame.writeUInt16BE(segment.destinationPort, tcp + 2);
  frame.writeUInt32BE(segment.sequence >>> 0, tcp + 4);
  frame.writeUInt32BE(segment.acknowledgement >>> 0, tcp + 8);
  frame.writeUInt8((TCP_HEADER / 4) << 4, tcp + 12);
  frame.writeUInt8(segment.flags, tcp + 13);
  frame.writeUInt16BE(64240, tcp + 14); // window
  segment.payload.copy(frame, tcp + TCP_HEADER);
  frame.writeUInt16BE(tcpChecksum(frame.subarray(ip + 12, ip + 20), frame.subarray(tcp)), tcp + 16);
  return frame;
}

/** Decodes an IPv4 TCP segment; undefined for any other frame. */
export function parseTcpFrame(frame: Buffer): TcpSegment | undefined {
  if (frame.length < ETHERNET_HEADER + IPV4_HEADER || frame.readUInt16BE(12) !== ETHERTYPE_IPV4)
    return undefined;
  const ip = ETHERNET_HEADER;
  const headerLength = (frame.readUInt8(ip) & 0x0f) * 4;
  if (frame.readUInt8(ip + 9) !== IPPROTO_TCP) return undefined;
  const total = frame.readUInt16BE(ip + 2);
  const tcp = ip + headerLength;
  if (frame.length < tcp + TCP_HEADER) return undefined;
  const dataOffset = (frame.readUInt8(tcp + 12) >> 4) * 4;
  return {
    sourceMac: formatMac(frame.subarray(6, 12)),
    sourceIp: formatIPv4(frame.subarray(ip + 12, ip + 16)),
    destinationIp: formatIPv4(frame.subarray(ip + 16, ip + 20)),
    sourcePort: frame.readUInt16BE(tcp),
    destinationPort: frame.readUInt16BE(tcp + 2),
    sequence: frame.readUInt32BE(tcp + 4),
    acknowledgement: frame.readUInt32BE(tcp + 8),
    flags: frame.readUInt8(tcp + 13),
    payload: frame.subarray(tcp + dataOffset, ip + total),
  };
}

function writeEthernet(frame: Buffer, destination: string, source: string, type: number): void {
  macBytes(destination).copy(frame, 0);
  macBytes(source).copy(frame, 6);
  frame.writeUInt16BE(type, 12);
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((octet) => Number.parseInt(octet, 16)));
}

function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function ipBytes(text: string): Buffer {
  const bytes = parseIPv4(text);
  if (bytes === undefined) throw new RangeError(`not an IPv4 address: ${text}`);
  return Buffer.from(bytes);
}

/** Computes the Internet checksum (RFC 1071) of `data`, starting from `initial`. */
function checksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2)
    sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** TCP checksum over the IPv4 pseudo-header (source and destination) and the segment. */
function tcpChecksum(addresses: Uint8Array, segment: Uint8Array): number {
  const pseudo = Buffer.alloc(12);
  Buffer.from(addresses).copy(pseudo, 0);
  pseudo.writeUInt8(IPPROTO_TCP, 9);
  pseudo.writeUInt16BE(segment.length, 10);
  const partial = ~checksum(pseudo) & 0xffff;
  return checksum(segment, partial);
}
