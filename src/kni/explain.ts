// Which stack receives each kind of packet arriving on an F-Stack port, under the [kni]
// settings and the F-Stack version. The rules follow protocol_filter() and process_packets()
// in F-Stack's lib/ff_dpdk_if.c (tags v1.21 to v1.25, all of which read kni_action):
//
// - ARP and NDP (ICMPv6 133-137): F-Stack handles the packet and a copy goes to the kernel,
//   whatever kni_action is set to.
// - kni_action=alltokni sends everything else to the kernel, alltoff to F-Stack.
// - method=accept: TCP/UDP whose destination port is listed go to the kernel, the rest to
//   F-Stack. method=reject: listed ports go to F-Stack, everything else to the kernel.
// - From 1.24 a multicast destination MAC is classified before NDP and ports, so such packets
//   follow the method rule as a whole (accept: F-Stack, reject: kernel).

import { classifiesMulticastFirst, type FstackVersion } from './driver.js';
import { KniError } from './errors.js';

export type Receiver = 'kernel' | 'fstack' | 'both';

/** A kind of packet: TCP or UDP to a destination port, or a protocol. */
export type PacketKind =
  | { protocol: 'tcp' | 'udp'; port: number }
  | { protocol: 'icmp' | 'icmp6' | 'arp' | 'ndp' | 'ospf' | 'multicast' | 'other' };

/** The [kni] keys that steer packets. */
export interface KniSteering {
  enable: boolean;
  method?: string;
  tcpPorts: readonly number[];
  udpPorts: readonly number[];
  kniAction?: string;
}

export interface Verdict {
  /** `tcp/22`, `icmp`, `ndp (multicast MAC)`, ... */
  packet: string;
  receiver: Receiver;
  /** The rule that decides, in the words of f-stack.conf. */
  rule: string;
}

export interface Explanation {
  fstackVersion: string;
  verdicts: Verdict[];
  /** Consequences worth knowing: replies steered to the wrong stack, unreachable services. */
  warnings: string[];
}

const SIMPLE_KINDS = ['icmp', 'icmp6', 'arp', 'ndp', 'ospf', 'multicast', 'other'] as const;

/** Parses `tcp/22`, `udp/53`, `icmp`, `icmp6`, `arp`, `ndp`, `ospf`, `multicast`, `other`. */
export function parsePacket(text: string): PacketKind {
  const lower = text.trim().toLowerCase();
  const port = /^(tcp|udp)\/(\d{1,5})$/.exec(lower);
  if (port !== null) {
    const value = Number(port[2]);
    if (value < 1 || value > 65535) {
      throw new KniError('OPTION_INVALID', `port in "${text}" is out of range 1-65535`);
    }
    return { protocol: port[1] as 'tcp' | 'udp', port: value };
  }
  const simple = SIMPLE_KINDS.find((kind) => kind === lower);
  if (simple !== undefined) return { protocol: simple };
  throw new KniError(
    'OPTION_INVALID',
    `unknown packet kind "${text}": use tcp/PORT, udp/PORT, ${SIMPLE_KINDS.join(', ')}`,
  );
}

/**
 * Returns the packets shown when none are named: every listed TCP and UDP port, ICMP, ARP,
 * NDP and one TCP port that is not listed.
 */
export function defaultPackets(kni: KniSteering): PacketKind[] {
  const packets: PacketKind[] = [
    ...kni.tcpPorts.filter((p) => p > 0).map((port) => ({ protocol: 'tcp' as const, port })),
    ...kni.udpPorts.filter((p) => p > 0).map((port) => ({ protocol: 'udp' as const, port })),
  ];
  packets.push({ protocol: 'icmp' }, { protocol: 'arp' }, { protocol: 'ndp' });

  const unlisted =
    [22, 80, 443, 8080].find((port) => !kni.tcpPorts.includes(port)) ?? firstUnlisted(kni.tcpPorts);
  packets.push({ protocol: 'tcp', port: unlisted });
  return packets;
}

function firstUnlisted(ports: readonly number[]): number {
  let port = 1024;
  while (ports.includes(port)) port++;
  return port;
}

/** Decides the receiver of each packet kind and collects the warnings that apply. */
export function explainPackets(
  kni: KniSteering,
  version: FstackVersion,
  packets?: readonly PacketKind[],
): Explanation {
  const list = packets === undefined || packets.length === 0 ? defaultPackets(kni) : packets;
  const steering = resolveSteering(kni);
  const verdicts = list.flatMap((packet) => verdictsFor(packet, kni, steering, version));
  return { fstackVersion: version, verdicts, warnings: warningsFor(kni, steering, version, list) };
}

/** What decides packets other than ARP and NDP. */
type Steering =
  | { mode: 'disabled' }
  | { mode: 'alltokni' }
  | { mode: 'alltoff' }
  | { mode: 'accept' }
  | { mode: 'reject' };

function resolveSteering(kni: KniSteering): Steering {
  if (!kni.enable) return { mode: 'disabled' };

  const method = kni.method?.toLowerCase();
  if (method !== 'accept' && method !== 'reject') {
    throw new KniError(
      'CONFIG_INVALID',
      `[kni] method is ${kni.method === undefined ? 'missing' : `"${kni.method}"`}; F-Stack refuses to start unless it is accept or reject`,
    );
  }

  const action = kni.kniAction?.toLowerCase();
  if (action === 'alltokni') return { mode: 'alltokni' };
  if (action === 'alltoff') return { mode: 'alltoff' };
  return { mode: method };
}

function verdictsFor(
  packet: PacketKind,
  kni: KniSteering,
  steering: Steering,
  version: FstackVersion,
): Verdict[] {
  const name = packetName(packet);

  if (steering.mode === 'disabled') {
    return [
      { packet: name, receiver: 'fstack', rule: 'KNI is disabled: F-Stack handles every packet' },
    ];
  }

  if (packet.protocol === 'arp') {
    return [
      {
        packet: name,
        receiver: 'both',
        rule: 'ARP: F-Stack handles it and a copy goes to the kernel',
      },
    ];
  }

  if (packet.protocol === 'ndp') {
    const unicast: Verdict = {
      packet: classifiesMulticastFirst(version) ? 'ndp (unicast MAC)' : name,
      receiver: 'both',
      rule: 'NDP: F-Stack handles it and a copy goes to the kernel',
    };
    if (!classifiesMulticastFirst(version)) return [unicast];
    return [
      unicast,
      multicastVerdict(
        'ndp (multicast MAC)',
        steering,
        'NDP to a multicast MAC (solicited-node NS, RS, RA)',
      ),
    ];
  }

  if (packet.protocol === 'multicast' && classifiesMulticastFirst(version)) {
    return [multicastVerdict(name, steering, 'a multicast destination MAC')];
  }

  if (steering.mode === 'alltokni')
    return [{ packet: name, receiver: 'kernel', rule: 'kni_action=alltokni' }];
  if (steering.mode === 'alltoff')
    return [{ packet: name, receiver: 'fstack', rule: 'kni_action=alltoff' }];

  if (packet.protocol === 'tcp' || packet.protocol === 'udp') {
    const key = `${packet.protocol}_port`;
    const listed = (packet.protocol === 'tcp' ? kni.tcpPorts : kni.udpPorts).includes(packet.port);
    if (steering.mode === 'accept') {
      return [
        listed
          ? {
              packet: name,
              receiver: 'kernel',
              rule: `method=accept and ${packet.port} is in ${key}`,
            }
          : {
              packet: name,
              receiver: 'fstack',
              rule: `method=accept and ${packet.port} is not in ${key}`,
            },
      ];
    }
    return [
      listed
        ? {
            packet: name,
            receiver: 'fstack',
            rule: `method=reject and ${packet.port} is in ${key}`,
          }
        : {
            packet: name,
            receiver: 'kernel',
            rule: `method=reject and ${packet.port} is not in ${key}`,
          },
    ];
  }

  // ICMP, ICMPv6 other than NDP, OSPF, multicast before 1.24 and non-IP: no port to match.
  const what =
    packet.protocol === 'multicast'
      ? 'multicast (classified by protocol before 1.24)'
      : 'not TCP or UDP';
  return [
    steering.mode === 'accept'
      ? {
          packet: name,
          receiver: 'fstack',
          rule: `method=accept passes only listed TCP/UDP ports; ${what}`,
        }
      : {
          packet: name,
          receiver: 'kernel',
          rule: `method=reject keeps only listed TCP/UDP ports; ${what}`,
        },
  ];
}

function multicastVerdict(name: string, steering: Steering, subject: string): Verdict {
  const rule = `${subject} is classified before ports (F-Stack >= 1.24)`;
  switch (steering.mode) {
    case 'alltokni':
      return { packet: name, receiver: 'kernel', rule: `kni_action=alltokni; ${rule}` };
    case 'alltoff':
      return { packet: name, receiver: 'fstack', rule: `kni_action=alltoff; ${rule}` };
    case 'accept':
      return { packet: name, receiver: 'fstack', rule: `method=accept; ${rule}` };
    default:
      return { packet: name, receiver: 'kernel', rule: `method=reject; ${rule}` };
  }
}

function warningsFor(
  kni: KniSteering,
  steering: Steering,
  version: FstackVersion,
  packets: readonly PacketKind[],
): string[] {
  const warnings: string[] = [];

  if (steering.mode === 'disabled') {
    warnings.push(
      '[kni] enable is off: the kernel receives nothing, not even ARP; no veth interface exists',
    );
    return warnings;
  }

  if (kni.tcpPorts.includes(0) || kni.udpPorts.includes(0)) {
    warnings.push(
      "tcp_port or udp_port contains 0: F-Stack's port parser turns text that is not a number into 0, which matches nothing",
    );
  }

  switch (steering.mode) {
    case 'alltokni':
      warnings.push(
        'kni_action=alltokni: F-Stack receives only ARP and NDP copies; method, tcp_port and udp_port have no effect',
      );
      break;
    case 'alltoff':
      warnings.push(
        'kni_action=alltoff: the kernel receives only ARP and NDP copies; method, tcp_port and udp_port have no effect',
      );
      break;
    case 'accept':
      if (kni.tcpPorts.length === 0 && kni.udpPorts.length === 0) {
        warnings.push(
          'method=accept with no tcp_port or udp_port: no TCP or UDP packet reaches the kernel',
        );
      }
      warnings.push(
        "method=accept matches destination ports only: replies to the kernel's own outgoing connections " +
          '(Linux ephemeral ports, 32768-60999 by default) go to F-Stack unless listed, so the host cannot, ' +
          'for example, resolve names or download through this interface',
      );
      if (packets.some((p) => p.protocol === 'icmp')) {
        warnings.push(
          'method=accept: ping to the shared address is answered by F-Stack, never by the kernel',
        );
      }
      if (classifiesMulticastFirst(version) && packets.some((p) => p.protocol === 'ndp')) {
        warnings.push(
          'method=accept on F-Stack >= 1.24: neighbour solicitations to solicited-node multicast reach F-Stack only; ' +
            'the kernel answers unicast NDP but not these',
        );
      }
      break;
    case 'reject':
      warnings.push(
        "method=reject matches destination ports only: replies to F-Stack's own outgoing connections arrive " +
          'on its ephemeral ports (FreeBSD default 10000-65535) and go to the kernel unless listed, ' +
          'where they are answered with a reset',
      );
      if (kni.tcpPorts.includes(22)) {
        warnings.push(
          'tcp_port lists 22 under method=reject, so ssh on the host never receives a packet',
        );
      }
      break;
    default:
      break;
  }
  return warnings;
}

function packetName(packet: PacketKind): string {
  return packet.protocol === 'tcp' || packet.protocol === 'udp'
    ? `${packet.protocol}/${packet.port}`
    : packet.protocol;
}
