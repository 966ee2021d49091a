// Malformed files, each with the finding it must produce: code, severity, line and column.
// Most cases change one line of a small valid file (lines keep their numbers; appended lines
// start at 15).
import { describe, expect, it } from 'vitest';

import { DIAGNOSTIC_CODES, type DiagnosticCode } from '../../src/config/diagnostics.js';
import { parseConfig } from '../../src/config/model.js';

const BASE = [
  '[dpdk]', //                1
  'lcore_mask=1', //          2
  'port_list=0', //           3
  '', //                      4
  '[port0]', //               5
  'addr=192.0.2.79', //       6
  'netmask=255.255.255.0', // 7
  'broadcast=192.0.2.255', // 8
  'gateway=192.0.2.1', //     9
  '', //                      10
  '[kni]', //                 11
  'enable=1', //              12
  'method=accept', //         13
  'tcp_port=22', //           14
];

/** Returns the base file with some lines replaced (by 1-based number) and lines appended. */
function variant(replace: Record<number, string>, append: string[] = []): string {
  const lines = BASE.map((line, i) => replace[i + 1] ?? line);
  return `${[...lines, ...append].join('\n')}\n`;
}

interface Case {
  name: string;
  text: string;
  version?: string;
  code: DiagnosticCode;
  line: number;
  column: number;
}

const CASES: Case[] = [
  {
    name: 'unclosed section',
    text: variant({ 1: '[dpdk' }),
    code: 'syntax-unclosed-section',
    line: 1,
    column: 1,
  },
  {
    name: 'comment inside brackets',
    text: variant({ 11: '[kni ;x]' }),
    code: 'syntax-unclosed-section',
    line: 11,
    column: 1,
  },
  {
    name: 'line without separator',
    text: variant({ 12: 'enable' }),
    code: 'syntax-missing-separator',
    line: 12,
    column: 1,
  },
  {
    name: 'comment before separator',
    text: variant({ 12: 'enable ;x=1' }),
    code: 'syntax-missing-separator',
    line: 12,
    column: 1,
  },
  {
    name: 'line over 199 bytes in 1.23',
    text: variant({ 14: `tcp_port=${Array.from({ length: 60 }, () => '1000').join(',')}` }),
    version: '1.23',
    code: 'line-too-long',
    line: 14,
    column: 200,
  },
  {
    name: 'section name over 49 bytes',
    text: variant({}, [`[${'a'.repeat(60)}]`]),
    code: 'section-name-truncated',
    line: 15,
    column: 1,
  },
  {
    name: 'indented key',
    text: variant({ 14: '  tcp_port=22' }),
    code: 'continuation-line',
    line: 14,
    column: 1,
  },
  {
    name: 'continuation replaces method',
    text: variant({ 14: '  tcp_port=22' }),
    code: 'kni-method-invalid',
    line: 14,
    column: 3,
  },
  {
    name: '# in a value',
    text: variant({}, ['[pcap]', 'savepath=/tmp # dumps']),
    code: 'inline-hash-comment',
    line: 16,
    column: 15,
  },
  {
    name: '# after an address',
    text: variant({ 6: 'addr=192.0.2.79 # lab' }),
    code: 'ip-invalid',
    line: 6,
    column: 6,
  },
  {
    name: 'bad address text',
    text: variant({ 6: 'addr=192.0.2.300' }),
    code: 'ip-invalid',
    line: 6,
    column: 6,
  },
  {
    name: 'key in wrong case',
    text: variant({ 12: 'Enable=1' }),
    code: 'key-case',
    line: 12,
    column: 1,
  },
  {
    name: 'section in wrong case',
    text: variant({ 11: '[KNI]' }),
    code: 'section-case',
    line: 11,
    column: 1,
  },
  {
    name: 'misspelled section',
    text: variant({ 11: '[knii]' }),
    code: 'section-unknown',
    line: 11,
    column: 1,
  },
  {
    name: 'misspelled key',
    text: variant({ 14: 'tcp_ports=22' }),
    code: 'key-unknown',
    line: 14,
    column: 1,
  },
  { name: 'type in 1.25', text: variant({}, ['type=1']), code: 'key-version', line: 15, column: 1 },
  {
    name: '[vlanN] in 1.23',
    text: variant({}, ['[vlan1]', 'portid=0']),
    version: '1.23',
    code: 'section-version',
    line: 15,
    column: 1,
  },
  {
    name: 'port section before port_list',
    text: variant({ 3: '' }),
    code: 'port-before-port-list',
    line: 6,
    column: 1,
  },
  {
    name: 'vlan section before vlan_filter',
    text: variant({}, ['[vlan10]', 'portid=0']),
    code: 'vlan-before-vlan-filter',
    line: 16,
    column: 1,
  },
  {
    name: 'vdev section before nb_vdev',
    text: variant({}, ['[vdev0]', 'path=/var/run/x']),
    code: 'vdev-before-nb-vdev',
    line: 16,
    column: 1,
  },
  {
    name: 'bond section before nb_bond',
    text: variant({}, ['[bond0]', 'mode=4']),
    code: 'bond-before-nb-bond',
    line: 16,
    column: 1,
  },
  {
    name: 'rss_check before any port',
    text: '[dpdk]\nlcore_mask=1\nport_list=0\n[rss_check]\nenable=1\n[port0]\naddr=192.0.2.79\nnetmask=255.255.255.0\nbroadcast=192.0.2.255\ngateway=192.0.2.1\n',
    code: 'rss-check-before-port',
    line: 5,
    column: 1,
  },
  {
    name: 'vlan portid before any port key',
    text: '[dpdk]\nlcore_mask=1\nport_list=0\nvlan_filter=10\n[vlan10]\nportid=0\n[port0]\naddr=192.0.2.79\n',
    code: 'vlan-portid-before-port',
    line: 6,
    column: 1,
  },
  {
    name: 'port section without number',
    text: variant({}, ['[portal]', 'x=1']),
    code: 'section-id-invalid',
    line: 16,
    column: 1,
  },
  {
    name: 'junk in port_list',
    text: variant({ 3: 'port_list=0,a' }),
    code: 'list-invalid',
    line: 3,
    column: 11,
  },
  {
    name: 'port_list too long',
    text: variant({ 3: 'port_list=0-40' }),
    code: 'list-too-long',
    line: 3,
    column: 11,
  },
  {
    name: 'empty port_list',
    text: variant({ 3: 'port_list=' }),
    code: 'port-list-empty',
    line: 3,
    column: 11,
  },
  {
    name: 'lcore_mask without lcore',
    text: variant({ 2: 'lcore_mask=0' }),
    code: 'lcore-mask-invalid',
    line: 2,
    column: 12,
  },
  {
    name: 'lcore_mask with comment',
    text: variant({ 2: 'lcore_mask=1 # one' }),
    code: 'lcore-mask-invalid',
    line: 2,
    column: 12,
  },
  {
    name: 'lcore_list outside lcore_mask',
    text: variant({ 10: 'lcore_list=1' }),
    code: 'lcore-not-enabled',
    line: 10,
    column: 12,
  },
  {
    name: 'KNI without method',
    text: variant({ 13: '' }),
    code: 'kni-method-missing',
    line: 12,
    column: 8,
  },
  {
    name: 'misspelled method',
    text: variant({ 13: 'method=accpet' }),
    code: 'kni-method-invalid',
    line: 13,
    column: 8,
  },
  {
    name: 'unknown kni_action',
    text: variant({}, ['kni_action=all']),
    code: 'kni-action-invalid',
    line: 15,
    column: 12,
  },
  {
    name: 'port without gateway',
    text: variant({ 9: '' }),
    code: 'port-missing-address',
    line: 5,
    column: 1,
  },
  {
    name: 'listed port without section',
    text: variant({ 3: 'port_list=0,1' }),
    code: 'port-missing-address',
    line: 3,
    column: 11,
  },
  {
    name: 'non-contiguous netmask',
    text: variant({ 7: 'netmask=255.255.225.0' }),
    code: 'netmask-not-contiguous',
    line: 7,
    column: 9,
  },
  {
    name: 'wrong broadcast',
    text: variant({ 8: 'broadcast=192.0.2.254' }),
    code: 'broadcast-mismatch',
    line: 8,
    column: 11,
  },
  {
    name: 'gateway in another subnet',
    text: variant({ 9: 'gateway=198.51.100.1' }),
    code: 'gateway-outside-subnet',
    line: 9,
    column: 9,
  },
  {
    name: 'gateway is the network address',
    text: variant({ 9: 'gateway=192.0.2.0' }),
    code: 'gateway-is-network',
    line: 9,
    column: 9,
  },
  {
    name: 'gateway is the own address',
    text: variant({ 9: 'gateway=192.0.2.79' }),
    code: 'gateway-is-address',
    line: 9,
    column: 9,
  },
  {
    name: 'prefix_len over 128',
    text: variant({ 10: 'prefix_len=200' }),
    code: 'prefix-len-invalid',
    line: 10,
    column: 12,
  },
  {
    name: 'ports separated by a space',
    text: variant({ 14: 'tcp_port=22 80' }),
    code: 'kni-port-misread',
    line: 14,
    column: 10,
  },
  {
    name: 'port by service name',
    text: variant({ 14: 'tcp_port=22,http' }),
    code: 'kni-port-misread',
    line: 14,
    column: 13,
  },
  {
    name: 'open-ended range',
    text: variant({ 14: 'tcp_port=8080-' }),
    code: 'kni-port-misread',
    line: 14,
    column: 10,
  },
  {
    name: 'port over 65535',
    text: variant({ 14: 'tcp_port=65558' }),
    code: 'kni-port-misread',
    line: 14,
    column: 10,
  },
  {
    name: 'empty port item',
    text: variant({ 14: 'tcp_port=22,,80' }),
    code: 'kni-port-misread',
    line: 14,
    column: 13,
  },
  {
    name: 'empty udp_port',
    text: variant({}, ['udp_port=']),
    code: 'kni-ports-empty',
    line: 15,
    column: 10,
  },
  {
    name: 'accept without ports',
    text: variant({ 14: '' }),
    code: 'kni-accept-no-ports',
    line: 13,
    column: 8,
  },
  {
    name: 'enable=yes',
    text: variant({ 12: 'enable=yes' }),
    code: 'number-invalid',
    line: 12,
    column: 8,
  },
  {
    name: 'KNI settings while disabled',
    text: variant({ 12: 'enable=0' }),
    code: 'kni-disabled-settings',
    line: 12,
    column: 8,
  },
  {
    name: 'space in a VIP list',
    text: variant({ 10: 'vip_addr=192.0.2.3; 192.0.2.4' }),
    code: 'vip-dropped',
    line: 10,
    column: 10,
  },
  {
    name: 'method set twice',
    text: variant({}, ['method=reject']),
    code: 'key-duplicate',
    line: 13,
    column: 1,
  },
  {
    name: 'empty lcore_list item',
    text: variant({ 10: 'lcore_list=,0' }),
    code: 'list-empty-item',
    line: 10,
    column: 12,
  },
  {
    name: 'lcore_list value wraps',
    text: variant({ 10: 'lcore_list=65536' }),
    code: 'list-value-wraps',
    line: 10,
    column: 12,
  },
  {
    name: 'reversed lcore_list range',
    text: variant({ 10: 'lcore_list=3-1' }),
    code: 'list-range-reversed',
    line: 10,
    column: 12,
  },
  {
    name: 'empty lcore_list',
    text: variant({ 10: 'lcore_list=' }),
    code: 'list-empty',
    line: 10,
    column: 12,
  },
  {
    name: 'lcore listed twice',
    text: variant({ 10: 'lcore_list=0,0' }),
    code: 'list-duplicate',
    line: 10,
    column: 12,
  },
  {
    name: 'key before any section',
    text: `x=1\n${variant({})}`,
    code: 'key-outside-section',
    line: 1,
    column: 1,
  },
  {
    name: 'empty key name',
    text: variant({ 10: '=1' }),
    code: 'key-empty-name',
    line: 10,
    column: 1,
  },
  {
    name: 'carriage return inside a line',
    text: variant({ 10: '# note\rmore' }),
    code: 'lone-carriage-return',
    line: 10,
    column: 7,
  },
  { name: 'NUL byte', text: variant({ 10: '# a\0b' }), code: 'nul-byte', line: 10, column: 4 },
  {
    name: 'port section not listed',
    text: variant({}, ['[port1]', 'addr=192.0.2.80']),
    code: 'port-unlisted',
    line: 15,
    column: 1,
  },
  {
    name: 'port section spelled [port 0]',
    text: variant({ 5: '[port 0]' }),
    code: 'section-name-noncanonical',
    line: 5,
    column: 1,
  },
  {
    name: 'VLAN not in vlan_filter',
    text: variant({ 4: 'vlan_filter=10' }, ['[vlan20]', 'portid=0']),
    code: 'vlan-not-filtered',
    line: 15,
    column: 1,
  },
  {
    name: 'VLAN without portid',
    text: variant({ 4: 'vlan_filter=10' }, ['[vlan10]', 'addr=192.0.2.90']),
    code: 'vlan-port-missing',
    line: 15,
    column: 1,
  },
  {
    name: 'VLAN without gateway',
    text: variant({ 4: 'vlan_filter=10' }, [
      '[vlan10]',
      'portid=0',
      'addr=198.51.100.2',
      'netmask=255.255.255.0',
      'broadcast=198.51.100.255',
    ]),
    code: 'vlan-missing-address',
    line: 15,
    column: 1,
  },
  {
    name: 'type 2 in 1.24',
    text: variant({}, ['type=2']),
    version: '1.24',
    code: 'kni-type-invalid',
    line: 15,
    column: 6,
  },
  {
    name: 'primary lcore missing with KNI',
    text: variant({ 2: 'lcore_mask=3', 10: 'lcore_list=1' }),
    code: 'kni-primary-lcore',
    line: 10,
    column: 12,
  },
  {
    name: 'no [dpdk] at all',
    text: '[kni]\nenable=0\n',
    code: 'port-list-missing',
    line: 0,
    column: 0,
  },
  {
    name: 'no lcore_mask',
    text: variant({ 2: '' }),
    code: 'lcore-mask-missing',
    line: 1,
    column: 1,
  },
];

describe('malformed files', () => {
  it('starts from a file without findings', () => {
    expect(parseConfig(variant({})).diagnostics).toEqual([]);
  });

  it('covers every finding code', () => {
    const covered = new Set(CASES.map((testCase) => testCase.code));
    expect(
      Object.keys(DIAGNOSTIC_CODES).filter((code) => !covered.has(code as DiagnosticCode)),
    ).toEqual([]);
  });

  it.each(CASES)('$name: $code at $line:$column', (testCase) => {
    const loaded = parseConfig(testCase.text, {
      file: 'test.conf',
      ...(testCase.version ? { fstackVersion: testCase.version } : {}),
    });
    const found = loaded.diagnostics.filter((diagnostic) => diagnostic.code === testCase.code);
    expect(found.map((diagnostic) => `${diagnostic.line}:${diagnostic.column}`)).toContain(
      `${testCase.line}:${testCase.column}`,
    );

    const diagnostic = found.find(
      (candidate) => candidate.line === testCase.line && candidate.column === testCase.column,
    );
    expect(diagnostic?.severity).toBe(DIAGNOSTIC_CODES[testCase.code][0]);
    expect(diagnostic?.file).toBe('test.conf');
    expect(diagnostic?.message.length).toBeGreaterThan(10);
    expect(diagnostic?.fix?.length ?? 0).toBeGreaterThan(5);
  });

  it('stops F-Stack at the first error', () => {
    const loaded = parseConfig(variant({ 12: 'enable' }));
    expect(loaded.stop).toEqual({ line: 12, column: 1, iniLine: 12 });
    expect(loaded.config.entries.find((entry) => entry.name === 'method')?.afterStop).toBe(true);
  });
});
