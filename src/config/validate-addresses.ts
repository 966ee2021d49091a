// Checks of the addresses of [portN] and [vlanN]: F-Stack passes them to inet_pton without
// checking the result, so bad text becomes 0.0.0.0 (or ::), and it never compares address,
// netmask, broadcast and gateway with each other.

import {
  broadcastAddress,
  formatIPv4,
  inSubnet,
  networkAddress,
  parseIPv4,
  parseIPv6,
  prefixFromNetmask,
  sameIp,
} from '../net/ip.js';
import type { Finding } from './diagnostics.js';
import type { PortConfig, SourceLocation, VlanConfig } from './model.js';
import type { ValidationInput } from './validate.js';

type Addressed = PortConfig | VlanConfig;

export function checkAddresses(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  for (const port of input.run.config.ports.values()) {
    if (port.section !== undefined) checkSection(`port${port.id}`, port, findings);
  }
  for (const [id, seen] of input.run.state.vlanSections) {
    if (seen.inFilter) checkSection(`vlan${id}`, seen.vlan, findings);
  }
  return findings;
}

function checkSection(section: string, target: Addressed, findings: Finding[]): void {
  const v4 = (name: 'addr' | 'netmask' | 'broadcast' | 'gateway'): Uint8Array | undefined => {
    const text = target[name];
    if (text === undefined) return undefined;
    const bytes = parseIPv4(text);
    if (bytes === undefined)
      findings.push(invalidAddress(section, name, text, 4, target.sources[name]));
    return bytes;
  };
  const addr = v4('addr');
  const netmask = v4('netmask');
  const broadcast = v4('broadcast');
  const gateway = v4('gateway');

  for (const name of ['addr6', 'gateway6'] as const) {
    const text = target[name];
    if (text !== undefined && parseIPv6(text) === undefined) {
      findings.push(invalidAddress(section, name, text, 6, target.sources[name]));
    }
  }
  checkPrefixLength(section, 'prefix_len', target.prefixLen, target.sources.prefix_len, findings);
  checkPrefixLength(
    section,
    'vip_prefix_len',
    target.vipPrefixLen,
    target.sources.vip_prefix_len,
    findings,
  );
  checkVips(section, 'vip_addr', target.vipAddr, 4, target.sources.vip_addr, findings);
  checkVips(section, 'vip_addr6', target.vipAddr6, 6, target.sources.vip_addr6, findings);

  if (netmask === undefined) return;
  const prefix = prefixFromNetmask(netmask);
  if (prefix === undefined) {
    findings.push({
      code: 'netmask-not-contiguous',
      message: `netmask ${target.netmask} of [${section}] has non-contiguous one-bits; the kernel interface cannot use it as a prefix`,
      ...(target.sources.netmask ?? { line: 0, column: 0 }),
      value: target.netmask as string,
      fix: 'write a netmask such as 255.255.255.0',
    });
    return;
  }
  if (addr === undefined) return;

  const expected = broadcastAddress(addr, prefix);
  if (broadcast !== undefined && !sameIp(broadcast, expected) && prefix < 31) {
    findings.push({
      code: 'broadcast-mismatch',
      message: `broadcast ${target.broadcast} of [${section}] does not match ${target.addr}/${prefix}`,
      ...(target.sources.broadcast ?? { line: 0, column: 0 }),
      value: target.broadcast as string,
      fix: `write broadcast=${formatIPv4(expected)}`,
    });
  }

  if (gateway === undefined || prefix >= 31) return;
  const network = networkAddress(addr, prefix);
  const at = {
    ...(target.sources.gateway ?? { line: 0, column: 0 }),
    value: target.gateway as string,
  };
  if (!inSubnet(gateway, addr, prefix)) {
    findings.push({
      code: 'gateway-outside-subnet',
      message: `gateway ${target.gateway} of [${section}] is outside ${formatIPv4(network)}/${prefix}, so it is not reachable on the link`,
      ...at,
      fix: `use a gateway inside ${formatIPv4(network)}/${prefix}, or correct addr and netmask`,
    });
  } else if (sameIp(gateway, network)) {
    findings.push({
      code: 'gateway-is-network',
      message: `gateway ${target.gateway} of [${section}] is the network address of ${formatIPv4(network)}/${prefix}`,
      ...at,
      fix: "write the router's address, usually the first host such as .1",
    });
  } else if (sameIp(gateway, addr)) {
    findings.push({
      code: 'gateway-is-address',
      message: `gateway ${target.gateway} of [${section}] is the port's own address`,
      ...at,
      fix: "write the router's address",
    });
  }
}

function invalidAddress(
  section: string,
  name: string,
  text: string,
  family: 4 | 6,
  at: SourceLocation | undefined,
): Finding {
  const hash = /\s#/.test(text);
  const fallback = family === 4 ? '0.0.0.0' : '::';
  const clean = hash ? text.slice(0, text.search(/\s#/)).trim() : undefined;
  return {
    code: 'ip-invalid',
    message: hash
      ? `${name} of [${section}] is "${text}": F-Stack keeps the text after # (only ; after whitespace starts a comment), so inet_pton fails and F-Stack uses ${fallback}`
      : `${name} "${text}" of [${section}] is not an IPv${family} address; inet_pton fails and F-Stack uses ${fallback}`,
    ...(at ?? { line: 0, column: 0 }),
    value: text,
    fix:
      clean !== undefined && clean !== ''
        ? `write ${name}=${clean} and put the comment on its own line`
        : `write a valid IPv${family} address`,
  };
}

function checkPrefixLength(
  section: string,
  name: string,
  value: number | undefined,
  at: SourceLocation | undefined,
  findings: Finding[],
): void {
  if (value === undefined || (value >= 0 && value <= 128)) return;
  findings.push({
    code: 'prefix-len-invalid',
    message: `${name} of [${section}] is ${value}; an IPv6 prefix length is 0-128`,
    ...(at ?? { line: 0, column: 0 }),
    value: String(value),
    fix: `write ${name}=64 or another value from 0 to 128`,
  });
}

function checkVips(
  section: string,
  name: string,
  items: readonly string[],
  family: 4 | 6,
  at: SourceLocation | undefined,
  findings: Finding[],
): void {
  const parse = family === 4 ? parseIPv4 : parseIPv6;
  const bad = items.filter((item) => parse(item) === undefined);
  if (bad.length === 0) return;

  const tooMany = items.length >= 64 && (items[63] ?? '').includes(';');
  const described = bad.map((item) => (item === '' ? '(empty)' : `"${item}"`)).join(', ');
  findings.push({
    code: 'vip-dropped',
    message: tooMany
      ? `${name} of [${section}] has more than 64 addresses; F-Stack reads the rest as one item and drops it`
      : `F-Stack drops ${described} from ${name} of [${section}]: not IPv${family} addresses`,
    ...(at ?? { line: 0, column: 0 }),
    value: items.join(';'),
    fix: `separate valid IPv${family} addresses with ; and no spaces${tooMany ? ', at most 64' : ''}`,
  });
}
