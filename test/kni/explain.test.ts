import { describe, expect, it } from 'vitest';
import { parseFstackVersion } from '../../src/kni/driver.js';
import { KniError } from '../../src/kni/errors.js';
import {
  defaultPackets,
  explainPackets,
  type KniSteering,
  parsePacket,
} from '../../src/kni/explain.js';

const v121 = parseFstackVersion('1.21');
const v123 = parseFstackVersion('1.23');
const v125 = parseFstackVersion('1.25');

const accept22: KniSteering = { enable: true, method: 'accept', tcpPorts: [22], udpPorts: [] };
const reject80: KniSteering = {
  enable: true,
  method: 'reject',
  tcpPorts: [80, 443],
  udpPorts: [53],
};

function receivers(kni: KniSteering, version = v125, packets?: string[]): Record<string, string> {
  const explanation = explainPackets(kni, version, packets?.map(parsePacket));
  return Object.fromEntries(explanation.verdicts.map((v) => [v.packet, v.receiver]));
}

describe('parsePacket', () => {
  it('parses ports and kinds', () => {
    expect(parsePacket('TCP/22')).toEqual({ protocol: 'tcp', port: 22 });
    expect(parsePacket('udp/53')).toEqual({ protocol: 'udp', port: 53 });
    expect(parsePacket('icmp6')).toEqual({ protocol: 'icmp6' });
  });

  it('rejects bad input', () => {
    expect(() => parsePacket('tcp/0')).toThrow(KniError);
    expect(() => parsePacket('tcp/70000')).toThrow(/out of range/);
    expect(() => parsePacket('sctp/5')).toThrow(/unknown packet kind/);
  });
});

describe('defaultPackets', () => {
  it('lists ports, icmp, arp, ndp and an unlisted port', () => {
    expect(
      defaultPackets(accept22).map((p) => ('port' in p ? `${p.protocol}/${p.port}` : p.protocol)),
    ).toEqual(['tcp/22', 'icmp', 'arp', 'ndp', 'tcp/80']);
    expect(defaultPackets(reject80).at(-1)).toEqual({ protocol: 'tcp', port: 22 });
  });
});

describe('explainPackets', () => {
  it('steers the runbook case under accept', () => {
    expect(receivers(accept22)).toEqual({
      'tcp/22': 'kernel',
      icmp: 'fstack',
      arp: 'both',
      'ndp (unicast MAC)': 'both',
      'ndp (multicast MAC)': 'fstack',
      'tcp/80': 'fstack',
    });
  });

  it('steers reject by destination port', () => {
    expect(
      receivers(reject80, v125, ['tcp/80', 'tcp/22', 'udp/53', 'udp/123', 'icmp', 'ospf', 'other']),
    ).toEqual({
      'tcp/80': 'fstack',
      'tcp/22': 'kernel',
      'udp/53': 'fstack',
      'udp/123': 'kernel',
      icmp: 'kernel',
      ospf: 'kernel',
      other: 'kernel',
    });
  });

  it('copies NDP to both before 1.24', () => {
    expect(receivers(accept22, v123, ['ndp', 'multicast'])).toEqual({
      ndp: 'both',
      multicast: 'fstack',
    });
    expect(receivers(reject80, v123, ['multicast'])).toEqual({ multicast: 'kernel' });
  });

  it('classifies multicast MAC first from 1.24', () => {
    expect(receivers(reject80, v125, ['ndp', 'multicast'])).toEqual({
      'ndp (unicast MAC)': 'both',
      'ndp (multicast MAC)': 'kernel',
      multicast: 'kernel',
    });
    const rule = explainPackets(accept22, v125, [parsePacket('multicast')]).verdicts[0]!.rule;
    expect(rule).toContain('classified before ports');
  });

  it('applies kni_action alltokni and alltoff', () => {
    const all = ['tcp/22', 'tcp/80', 'icmp', 'arp', 'ndp'];
    expect(receivers({ ...accept22, kniAction: 'alltokni' }, v125, all)).toEqual({
      'tcp/22': 'kernel',
      'tcp/80': 'kernel',
      icmp: 'kernel',
      arp: 'both',
      'ndp (unicast MAC)': 'both',
      'ndp (multicast MAC)': 'kernel',
    });
    expect(receivers({ ...accept22, kniAction: 'alltoff' }, v125, all)).toEqual({
      'tcp/22': 'fstack',
      'tcp/80': 'fstack',
      icmp: 'fstack',
      arp: 'both',
      'ndp (unicast MAC)': 'both',
      'ndp (multicast MAC)': 'fstack',
    });
    expect(receivers({ ...accept22, kniAction: 'default' }, v125, ['tcp/22'])).toEqual({
      'tcp/22': 'kernel',
    });
  });

  it('applies kni_action from the oldest version', () => {
    const explanation = explainPackets({ ...accept22, kniAction: 'alltoff' }, v121, [
      parsePacket('tcp/22'),
    ]);
    expect(explanation.verdicts[0]!.receiver).toBe('fstack');
  });

  it('sends everything to F-Stack when disabled', () => {
    const explanation = explainPackets({ enable: false, tcpPorts: [], udpPorts: [] }, v125, [
      parsePacket('arp'),
      parsePacket('tcp/22'),
    ]);
    expect(explanation.verdicts.map((v) => v.receiver)).toEqual(['fstack', 'fstack']);
    expect(explanation.warnings[0]).toContain('not even ARP');
  });

  it('rejects a missing method', () => {
    expect(() => explainPackets({ enable: true, tcpPorts: [], udpPorts: [] }, v125)).toThrow(
      /method is missing/,
    );
    expect(() =>
      explainPackets({ enable: true, method: 'allow', tcpPorts: [], udpPorts: [] }, v125),
    ).toThrow(/"allow"/);
  });

  it('warns about ephemeral replies', () => {
    expect(explainPackets(reject80, v125).warnings.join('\n')).toContain('10000-65535');
    expect(explainPackets(accept22, v125).warnings.join('\n')).toContain('32768-60999');
  });

  it('warns about ssh under reject and empty accept', () => {
    expect(explainPackets({ ...reject80, tcpPorts: [22] }, v125).warnings.join('\n')).toContain(
      'ssh on the host',
    );
    const empty = explainPackets(
      { enable: true, method: 'accept', tcpPorts: [], udpPorts: [] },
      v125,
    );
    expect(empty.warnings.join('\n')).toContain('no TCP or UDP packet reaches the kernel');
  });

  it('warns about ping under accept and port 0', () => {
    const warnings = explainPackets({ ...accept22, tcpPorts: [22, 0] }, v125).warnings.join('\n');
    expect(warnings).toContain('answered by F-Stack');
    expect(warnings).toContain('contains 0');
  });

  it('warns about NDP multicast under accept on 1.24 only', () => {
    expect(explainPackets(accept22, parseFstackVersion('1.24')).warnings.join('\n')).toContain(
      'solicited-node',
    );
    expect(explainPackets(accept22, v123).warnings.join('\n')).not.toContain('solicited-node');
  });
});
