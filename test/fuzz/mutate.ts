// Seeded pseudo-random inputs for the property tests: a small PRNG (mulberry32, so a
// failure replays from its seed) and byte and line mutators in the style of a fuzzer's.

/** A deterministic pseudo-random source. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Returns an integer from 0 to `bound - 1`. */
  below(bound: number): number {
    return bound <= 0 ? 0 : this.next() % bound;
  }

  /** Returns true with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)] as T;
  }
}

/** Values that often sit on a boundary of a length or count field. */
const INTERESTING_U16 = [0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 20, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 4, 15, 16, 17, 20, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** Applies one random byte-level mutation and returns a new buffer. */
export function mutateBytes(random: Prng, input: Buffer, donor?: Buffer): Buffer {
  const bytes = Buffer.from(input);
  const at = random.below(Math.max(bytes.length, 1));
  switch (random.below(10)) {
    case 0:
      if (bytes.length > 0) bytes[at] = (bytes[at] as number) ^ (1 << random.below(8));
      return bytes;
    case 1:
      if (bytes.length > 0) bytes[at] = random.below(256);
      return bytes;
    case 2:
      if (bytes.length >= at + 2) bytes.writeUInt16LE(random.pick(INTERESTING_U16), at);
      return bytes;
    case 3:
      if (bytes.length >= at + 4) bytes.writeUInt32LE(random.pick(INTERESTING_U32), at);
      return bytes;
    case 4: {
      // Nudge a 16-bit length field by a small amount.
      if (bytes.length < at + 2) return bytes;
      const value = (bytes.readUInt16LE(at) + random.below(9) - 4) & 0xffff;
      bytes.writeUInt16LE(value, at);
      return bytes;
    }
    case 5:
      return bytes.subarray(0, random.below(bytes.length + 1));
    case 6: {
      const length = random.below(Math.min(64, bytes.length - at) + 1);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]);
    }
    case 7: {
      const inserted = Buffer.alloc(1 + random.below(8));
      for (let i = 0; i < inserted.length; i++) inserted[i] = random.below(256);
      return Buffer.concat([bytes.subarray(0, at), inserted, bytes.subarray(at)]);
    }
    case 8: {
      const length = random.below(Math.min(64, bytes.length - at) + 1);
      const copy = bytes.subarray(at, at + length);
      const to = random.below(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, to), copy, bytes.subarray(to)]);
    }
    default: {
      if (donor === undefined || donor.length === 0) return bytes;
      const from = random.below(donor.length);
      return Buffer.concat([
        bytes.subarray(0, at),
        donor.subarray(from, from + 1 + random.below(128)),
      ]);
    }
  }
}

/** Applies `count` mutations in a row. */
export function mutateBytesTimes(
  random: Prng,
  input: Buffer,
  count: number,
  donor?: Buffer,
): Buffer {
  let bytes = input;
  for (let i = 0; i < count; i++) bytes = mutateBytes(random, bytes, donor);
  return bytes;
}

/** Text fragments that mean something to an INI tokenizer or to F-Stack's value parsers. */
export const INI_FRAGMENTS = [
  '[',
  ']',
  '=',
  ':',
  ';',
  '#',
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '\0',
  '\ufeff',
  '\u00e9',
  '\xff',
  ' ;c',
  ' # lab',
  '[kni]',
  '[KNI]',
  '[port0]',
  '[port 0]',
  '[vlan100]',
  '[dpdk]',
  '[freebsd.sysctl]',
  'enable=1',
  'method=accept',
  'method=reject',
  'tcp_port=22',
  'udp_port=',
  'port_list=0',
  'port_list=0-3',
  'addr=192.0.2.79',
  'netmask=255.255.255.0',
  'netmask=255.0.255.0',
  'broadcast=192.0.2.255',
  'gateway=192.0.2.1',
  'addr6=2001:db8::1',
  'prefix_len=64',
  'vip_addr=192.0.2.2;192.0.2.3',
  'lcore_mask=1',
  'kni_action=alltokni',
  'type=1',
  '  continued',
  '999999999999',
  '-1',
  '0x10',
  'x'.repeat(300),
];

/** Applies one random line-level or text mutation to config text. */
export function mutateText(random: Prng, text: string): string {
  const lines = text.split('\n');
  const at = random.below(lines.length);
  switch (random.below(8)) {
    case 0:
      lines.splice(at, 1);
      break;
    case 1:
      lines.splice(at, 0, lines[random.below(lines.length)] ?? '');
      break;
    case 2: {
      const other = random.below(lines.length);
      [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
      break;
    }
    case 3:
      lines[at] = `${random.pick([' ', '\t', ';', '#', '  '])}${lines[at] ?? ''}`;
      break;
    case 4: {
      const line = lines[at] ?? '';
      const position = random.below(line.length + 1);
      lines[at] = `${line.slice(0, position)}${random.pick(INI_FRAGMENTS)}${line.slice(position)}`;
      break;
    }
    case 5:
      lines.splice(at, 0, random.pick(INI_FRAGMENTS));
      break;
    case 6: {
      const line = lines[at] ?? '';
      const position = random.below(line.length + 1);
      lines[at] = line.slice(0, position) + line.slice(position + 1 + random.below(4));
      break;
    }
    default:
      lines[at] = `${lines[at] ?? ''}\r`;
      break;
  }
  return lines.join('\n');
}

/** Builds a random config-like text from sections, keys and fragments. */
export function syntheticConfig(random: Prng): string {
  const lines: string[] = [];
  const count = 1 + random.below(30);
  for (let i = 0; i < count; i++) {
    switch (random.below(6)) {
      case 0:
        lines.push(
          `[${random.pick(['dpdk', 'port0', 'port1', 'kni', 'vlan7', 'freebsd.boot', 'pcap', 'x y', ''])}]`,
        );
        break;
      case 1:
        lines.push(random.pick(INI_FRAGMENTS));
        break;
      case 2:
        lines.push(
          `${random.pick(['enable', 'method', 'addr', 'netmask', 'port_list', 'tcp_port', 'hz', 'k'])}` +
            `${random.pick(['=', ':', ' = ', '=='])}${random.pick(INI_FRAGMENTS)}`,
        );
        break;
      case 3:
        lines.push('');
        break;
      case 4:
        lines.push(`${random.pick([';', '#'])} comment ${random.below(1000)}`);
        break;
      default: {
        let line = '';
        const length = random.below(40);
        for (let j = 0; j < length; j++)
          line += String.fromCharCode(
            random.chance(0.9) ? 32 + random.below(95) : random.below(256),
          );
        lines.push(line);
      }
    }
  }
  return lines.join(random.chance(0.2) ? '\r\n' : '\n') + (random.chance(0.5) ? '\n' : '');
}
