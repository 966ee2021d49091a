// Malformed configs and command lines, one table row each, with the exact error (or a
// precise pattern where a path is part of it) and the exit code. Each row also proves that
// nothing changed. The hash of every file in the case's directory and `ip -j` of the test
// namespace, where a tap veth0 waits to be configured, are the same before and after.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSkipReason, cliPath, ipSnapshot, makeTempDir } from '../cli/kni-helpers.js';
import { createTestNetns, ip, kernelSkipReason, removeTestNetns } from '../helpers/netns.js';

const skipReason = kernelSkipReason ?? buildSkipReason;

const VALID = `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1

[kni]
enable=1
method=accept
tcp_port=22
`;

/** VALID with a second port, 1, on 198.51.100.0/24. */
const TWO_PORTS = `${VALID.replace('port_list=0', 'port_list=0,1')}
[port1]
addr=198.51.100.2
netmask=255.255.255.0
broadcast=198.51.100.255
gateway=198.51.100.1
`;

/** Returns VALID with one line replaced (`from` must occur in it). */
function variant(from: string, to: string): string {
  if (!VALID.includes(from)) throw new Error(`no "${from}" in the base config`);
  return VALID.replace(from, to);
}

interface Case {
  name: string;
  /** Arguments; CONFIG is the case's config file, NETNS the test namespace, DIR a directory. */
  args: string[];
  /** Content of CONFIG; the valid config by default. */
  config?: string;
  /** Run as the unprivileged user 65534 (nobody) instead of root. */
  asNobody?: boolean;
  code: number;
  /** The whole stderr, or a pattern when it names a temp path. */
  stderr: string | RegExp;
  /** A pattern stdout must match, for errors reported there. */
  stdout?: RegExp;
}

/** The byte rule that every interface name message ends with. */
const NAME_RULE =
  "no '/', ':', NUL or whitespace, and no byte 0xA0, which the kernel counts as a space (as in \u00e0, C3 A0)";

/** The whole stderr for --config naming the directory DIR. */
const DIRECTORY_MESSAGE =
  /^fstack-kni: (\S+\/adir) is a directory, not a config file; give --config the path of f-stack\.conf itself, e\.g\. --config \1\/f-stack\.conf\n$/;

const USAGE = 2;
const FAILED = 1;

const CASES: Case[] = [
  // Command line: commands, options and their values.
  {
    name: 'unknown command',
    args: ['frobnicate'],
    code: USAGE,
    stderr: 'fstack-kni: unknown command "frobnicate"; run "fstack-kni --help" for the list\n',
  },
  {
    name: 'unknown option',
    args: ['apply', '--config', 'CONFIG', '--frob'],
    code: USAGE,
    stderr:
      'fstack-kni: unknown option --frob for "apply". Run "fstack-kni apply --help" for the options.\n',
  },
  {
    name: 'missing option value',
    args: ['apply', '--config'],
    code: USAGE,
    stderr: 'fstack-kni: option --config needs a value\n',
  },
  {
    name: 'unexpected positional',
    args: ['apply', 'now', '--config', 'CONFIG'],
    code: USAGE,
    stderr: /^fstack-kni: unexpected argument "now" for "apply"\./,
  },
  {
    name: '--port not in port_list',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--port', '5'],
    code: USAGE,
    stderr:
      /^fstack-kni: --port 5: port 5 is not in \[dpdk\] port_list \(0\) of \S+\/case-\d+\.conf; use a port of port_list, or add 5 to port_list with a \[port5\] section\n$/,
  },
  {
    name: '--interface for a port not in port_list',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '5=veth0'],
    code: USAGE,
    stderr:
      /^fstack-kni: --interface 5=veth0: port 5 is not in \[dpdk\] port_list \(0\) of \S+\/case-\d+\.conf; use a port of port_list, or add 5 to port_list with a \[port5\] section\n$/,
  },
  {
    name: '--mac for a port not in port_list',
    args: ['status', '--config', 'CONFIG', '--netns', 'NETNS', '--mac', '3=02:00:00:00:00:01'],
    code: USAGE,
    stderr:
      /^fstack-kni: --mac 3=02:00:00:00:00:01: port 3 is not in \[dpdk\] port_list \(0\) of \S+\/case-\d+\.conf; use a port of port_list, or add 3 to port_list with a \[port3\] section\n$/,
  },
  {
    name: '--mac-from for a port not in port_list',
    args: ['apply', '--check', '--config', 'CONFIG', '--netns', 'NETNS', '--mac-from', '1=lo'],
    code: USAGE,
    stderr:
      /^fstack-kni: --mac-from 1=lo: port 1 is not in \[dpdk\] port_list \(0\) of \S+\/case-\d+\.conf; use a port of port_list, or add 1 to port_list with a \[port1\] section\n$/,
  },
  {
    name: '--interface for a port that --port leaves out',
    args: [
      'apply',
      '--config',
      'CONFIG',
      '--netns',
      'NETNS',
      '--port',
      '0',
      '--interface',
      '1=veth9',
    ],
    config: TWO_PORTS,
    code: USAGE,
    stderr:
      'fstack-kni: --interface 1=veth9: port 1 is not managed, because --port selects only 0; add --port 1 or drop --interface 1=veth9\n',
  },
  {
    name: '--port not a number',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--port', 'abc'],
    code: USAGE,
    stderr: 'fstack-kni: --port "abc" is not a port id (0-65535)\n',
  },
  {
    name: 'interface name too long',
    args: [
      'apply',
      '--config',
      'CONFIG',
      '--netns',
      'NETNS',
      '--interface',
      '0=averyverylongname0',
    ],
    code: USAGE,
    stderr: `fstack-kni: interface name "averyverylongname0" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: 'interface name over 15 bytes of UTF-8',
    args: [
      'apply',
      '--config',
      'CONFIG',
      '--netns',
      'NETNS',
      '--interface',
      '0=\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9',
    ],
    code: USAGE,
    stderr: `fstack-kni: interface name "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: 'interface name with byte 0xA0',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '0=veth\u00e0'],
    code: USAGE,
    stderr: `fstack-kni: interface name "veth\u00e0" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: "interface name with '/'",
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '0=a/b'],
    code: USAGE,
    stderr: `fstack-kni: interface name "a/b" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: 'interface name with a space',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '0=a b'],
    code: USAGE,
    stderr: `fstack-kni: interface name "a b" for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: 'interface name ..',
    args: ['status', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '0=..'],
    code: USAGE,
    stderr: `fstack-kni: interface name ".." for port 0 is invalid: 1-15 characters (15 bytes of UTF-8 at most), not . or .., ${NAME_RULE}\n`,
  },
  {
    name: '--interface without =',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--interface', '0'],
    code: USAGE,
    stderr: 'fstack-kni: --interface "0" must have the form PORT=VALUE, e.g. 0=ens1\n',
  },
  {
    name: '--interface twice for a port',
    args: [
      'apply',
      '--config',
      'CONFIG',
      '--netns',
      'NETNS',
      '--interface',
      '0=veth1',
      '--interface',
      '0=veth2',
    ],
    code: USAGE,
    stderr: 'fstack-kni: --interface names port 0 twice\n',
  },
  {
    name: "--netns with '../'",
    args: ['apply', '--config', 'CONFIG', '--netns', '../etc'],
    code: USAGE,
    stderr: `fstack-kni: --netns: invalid network namespace name "../etc": expected 1 to 255 bytes, no '/', not '.' or '..'\n`,
  },
  {
    name: '--netns empty',
    args: ['status', '--config', 'CONFIG', '--netns', ''],
    code: USAGE,
    stderr: `fstack-kni: --netns: invalid network namespace name "": expected 1 to 255 bytes, no '/', not '.' or '..'\n`,
  },
  {
    name: 'nonexistent netns',
    args: ['apply', '--config', 'CONFIG', '--netns', 'fkbad-no-such-netns'],
    code: FAILED,
    stderr:
      'fstack-kni: network namespace "fkbad-no-such-netns" not found (no /run/netns/fkbad-no-such-netns); list them with "ip netns list" or create it\n',
  },
  {
    name: 'demo --netns with ../',
    args: ['demo', '--netns', '../x'],
    code: USAGE,
    stderr: `fstack-kni: --netns: invalid network namespace name "../x": expected 1 to 255 bytes, no '/', not '.' or '..'\n`,
  },
  {
    name: 'unsupported --fstack-version',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--fstack-version', '9.9'],
    code: USAGE,
    stderr:
      'fstack-kni: --fstack-version: unsupported F-Stack version "9.9"; expected one of 1.21, 1.22, 1.23, 1.24, 1.25 or dev\n',
  },
  {
    name: 'malformed --mac',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--mac', '0=zz'],
    code: USAGE,
    stderr: 'fstack-kni: MAC "zz" for port 0 is invalid: expected aa:bb:cc:dd:ee:ff\n',
  },
  {
    name: 'multicast --mac',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--mac', '0=01:00:00:00:00:01'],
    code: USAGE,
    stderr:
      'fstack-kni: MAC 01:00:00:00:00:01 for port 0 is a multicast address; use a unicast MAC\n',
  },
  {
    name: '--route-metric too large',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--route-metric', '99999999999'],
    code: USAGE,
    stderr: 'fstack-kni: --route-metric "99999999999" is not a metric (0-4294967295)\n',
  },
  {
    name: '--route-metric negative',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--route-metric=-1'],
    code: USAGE,
    stderr: 'fstack-kni: --route-metric "-1" is not a metric (0-4294967295)\n',
  },
  {
    name: '--mac-from without a link',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--mac-from', '0='],
    code: USAGE,
    stderr: 'fstack-kni: --mac-from "0=" must have the form PORT=VALUE, e.g. 0=ens1\n',
  },
  {
    name: '--mac-from a missing link',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS', '--mac-from', '0=nosuch0'],
    code: FAILED,
    stderr: '',
    stdout: /blocked: cannot copy the MAC of nosuch0: no such link with a MAC/,
  },
  {
    name: 'invalid unit name',
    args: ['restart', '--config', 'CONFIG', '--netns', 'NETNS', '--unit', 'bad unit'],
    code: USAGE,
    stderr:
      'fstack-kni: --unit "bad unit" is not a unit name: it has no unit type suffix such as .service\n',
  },
  {
    name: 'unit name with /',
    args: ['watch', '--config', 'CONFIG', '--netns', 'NETNS', '--unit', 'x/y.service'],
    code: USAGE,
    stderr:
      'fstack-kni: --unit "x/y.service" is not a unit name: it contains "/"; only letters, digits and : - _ . \\ @ are allowed\n',
  },
  {
    name: 'template unit name',
    args: [
      'enable',
      '--config',
      'CONFIG',
      '--tcp-port',
      '22',
      '--restart',
      '--unit',
      'fstack@.service',
    ],
    code: USAGE,
    stderr:
      'fstack-kni: --unit "fstack@.service" is not a unit name: it is a template; name an instance such as fstack@instance.service\n',
  },
  {
    name: 'enable with a port out of range',
    args: ['enable', '--config', 'CONFIG', '--tcp-port', '99999'],
    code: USAGE,
    stderr: 'fstack-kni: --tcp-port "99999" is not a port (1-65535) or a range A-B of them\n',
  },
  {
    name: 'enable with an unknown method',
    args: ['enable', '--config', 'CONFIG', '--tcp-port', '22', '--method', 'maybe'],
    code: USAGE,
    stderr: 'fstack-kni: --method "maybe" must be accept or reject\n',
  },
  {
    name: 'explain with a port out of range',
    args: ['explain', '--config', 'CONFIG', 'tcp/99999'],
    code: USAGE,
    stderr: 'fstack-kni: port in "tcp/99999" is out of range 1-65535\n',
  },

  // The config file itself.
  {
    name: 'config path is a directory',
    args: ['apply', '--config', 'DIR', '--netns', 'NETNS'],
    code: FAILED,
    stderr: DIRECTORY_MESSAGE,
  },
  {
    name: 'config set on a directory',
    args: ['config', 'set', 'kni.enable=1', '--config', 'DIR'],
    code: FAILED,
    stderr: DIRECTORY_MESSAGE,
  },
  {
    name: 'enable on a directory',
    args: ['enable', '--tcp-port', '22', '--config', 'DIR'],
    code: FAILED,
    stderr: DIRECTORY_MESSAGE,
  },
  {
    name: 'watch on a directory',
    args: ['watch', '--config', 'DIR', '--netns', 'NETNS'],
    code: FAILED,
    stderr: DIRECTORY_MESSAGE,
  },
  {
    name: 'missing config',
    args: ['apply', '--config', 'DIR/none.conf', '--netns', 'NETNS'],
    code: FAILED,
    stderr: /^fstack-kni: f-stack\.conf not found: \S+\/adir\/none\.conf; give --config PATH\n$/,
  },
  {
    name: 'unreadable config (apply)',
    args: ['apply', '--config', 'CONFIG'],
    config: VALID,
    asNobody: true,
    code: FAILED,
    stderr: /^fstack-kni: cannot read \S+\.conf: EACCES: permission denied, open '\S+\.conf'\n$/,
  },
  {
    name: 'unreadable config (config check)',
    args: ['config', 'check', '--config', 'CONFIG'],
    config: VALID,
    asNobody: true,
    code: FAILED,
    stderr: /^fstack-kni: cannot read \S+\.conf: EACCES: permission denied, open '\S+\.conf'\n$/,
  },
  {
    name: 'invalid IP',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('addr=192.0.2.79', 'addr=192.0.2.300'),
    code: FAILED,
    stderr: new RegExp(
      '^fstack-kni: \\[port0\\] addr "192\\.0\\.2\\.300" is not an IPv4 address\n' +
        ' {2}\\S+/case-\\d+\\.conf:6:6: warning: addr "192\\.0\\.2\\.300" of \\[port0\\] is not an IPv4 address; ' +
        'inet_pton fails and F-Stack uses 0\\.0\\.0\\.0 \\[ip-invalid\\]\n' +
        ' {4}value: "192\\.0\\.2\\.300"\n {4}fix: write a valid IPv4 address\n$',
    ),
  },
  {
    name: 'invalid IP under --check',
    args: ['apply', '--check', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('addr=192.0.2.79', 'addr=192.0.2.300'),
    code: FAILED,
    stderr:
      /^fstack-kni: \[port0\] addr "192\.0\.2\.300" is not an IPv4 address\n {2}\S+\/case-\d+\.conf:6:6: warning: /,
  },
  {
    name: 'non-contiguous netmask (apply)',
    args: ['apply', '--check', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('netmask=255.255.255.0', 'netmask=255.0.255.0'),
    code: FAILED,
    stderr: new RegExp(
      '^fstack-kni: \\[port0\\] netmask 255\\.0\\.255\\.0 has non-contiguous one-bits\n' +
        ' {2}\\S+/case-\\d+\\.conf:7:9: warning: netmask 255\\.0\\.255\\.0 of \\[port0\\] has non-contiguous one-bits; ' +
        'the kernel interface cannot use it as a prefix \\[netmask-not-contiguous\\]\n' +
        ' {4}value: "255\\.0\\.255\\.0"\n {4}fix: write a netmask such as 255\\.255\\.255\\.0\n$',
    ),
  },
  {
    name: 'non-contiguous netmask (export)',
    args: ['export', 'networkd', '--config', 'CONFIG'],
    config: variant('netmask=255.255.255.0', 'netmask=255.0.255.0'),
    code: FAILED,
    stderr:
      /^fstack-kni: \[port0\] netmask 255\.0\.255\.0 has non-contiguous one-bits\n {2}\S+\/case-\d+\.conf:7:9: warning: .*\n {4}value: "255\.0\.255\.0"\n {4}fix: write a netmask such as 255\.255\.255\.0\n$/,
  },
  {
    name: 'invalid gateway (status)',
    args: ['status', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('gateway=192.0.2.1', 'gateway=192.0.2.1.5'),
    code: FAILED,
    stderr: '',
    stdout:
      /1\. \S+\/case-\d+\.conf:9:9: \[port0\] gateway "192\.0\.2\.1\.5" is not an IPv4 address\n {5}cause: gateway "192\.0\.2\.1\.5" of \[port0\] is not an IPv4 address; inet_pton fails and F-Stack uses 0\.0\.0\.0\n {5}fix: write a valid IPv4 address in f-stack\.conf, then run fstack-kni status again\n/,
  },
  {
    name: "address with a '#' comment",
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('addr=192.0.2.79', 'addr=192.0.2.79 # lab'),
    code: FAILED,
    stderr:
      /^fstack-kni: \[port0\] addr "192\.0\.2\.79 # lab" is not an IPv4 address\n {2}\S+:6:6: warning: .*\n {4}value: "192\.0\.2\.79 # lab"\n {4}fix: write addr=192\.0\.2\.79 and put the comment on its own line\n$/,
  },
  {
    name: 'non-contiguous netmask with --strict',
    args: ['config', 'check', '--strict', '--config', 'CONFIG'],
    config: variant('netmask=255.255.255.0', 'netmask=255.0.255.0'),
    code: FAILED,
    stderr: '',
    stdout: /warning: .*255\.0\.255\.0/,
  },
  {
    name: 'KNI enabled without method',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('method=accept\n', ''),
    code: FAILED,
    stderr:
      /^fstack-kni: \S+ has 1 error\(s\); nothing was changed\n {2}\S+:12:8: error: KNI is enabled but \[kni\] has no method; F-Stack fails to start \("conf dpdk.method is necessary"\) \[kni-method-missing\]\n/,
  },
  {
    name: 'unknown method',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('method=accept', 'method=acept'),
    code: FAILED,
    stderr:
      /^fstack-kni: \S+ has 1 error\(s\); nothing was changed\n {2}\S+:13:8: error: method "acept" is neither accept nor reject; F-Stack fails to start \[kni-method-invalid\]\n/,
  },
  {
    name: 'unknown method (explain)',
    args: ['explain', '--config', 'CONFIG', 'tcp/22'],
    config: variant('method=accept', 'method=acept'),
    code: FAILED,
    stderr:
      /^fstack-kni: \S+\.conf has 1 error\(s\)\n {2}\S+:13:8: error: method "acept" is neither accept nor reject; F-Stack fails to start \[kni-method-invalid\]\n {4}value: "acept"\n {4}fix: write method=accept or method=reject\n$/,
  },
  {
    name: 'port missing its address keys',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: '[dpdk]\nport_list=0\n[port0]\naddr=192.0.2.79\n[kni]\nenable=1\nmethod=accept\n',
    code: FAILED,
    stderr:
      /error: \[port0\] has no netmask, broadcast, gateway; F-Stack fails to start \("port0 if config error: no netmask"\) \[port-missing-address\]/,
  },
  {
    name: 'KNI disabled',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('enable=1', 'enable=0'),
    code: FAILED,
    stderr:
      'fstack-kni: KNI is disabled in f-stack.conf ([kni] enable is missing or 0), so F-Stack creates no veth interface; add [kni] with enable=1 and method=accept or reject, then restart F-Stack\n',
  },
  {
    name: 'indented line continuing method',
    args: ['apply', '--config', 'CONFIG', '--netns', 'NETNS'],
    config: variant('tcp_port=22', '  tcp_port=22'),
    code: FAILED,
    stderr: /\[kni-method-invalid\]/,
  },

  // config subcommands and edits.
  {
    name: 'config without subcommand',
    args: ['config'],
    code: USAGE,
    stderr: 'fstack-kni: missing subcommand; run "fstack-kni config --help"\n',
  },
  {
    name: 'unknown config subcommand',
    args: ['config', 'frob', '--config', 'CONFIG'],
    code: USAGE,
    stderr: 'fstack-kni: unknown subcommand "frob"; run "fstack-kni config --help"\n',
  },
  {
    name: 'config get without key',
    args: ['config', 'get', '--config', 'CONFIG'],
    code: USAGE,
    stderr: 'fstack-kni: config get: missing argument; run "fstack-kni config --help"\n',
  },
  {
    name: 'config get with a bad key path',
    args: ['config', 'get', 'kni', '--config', 'CONFIG'],
    code: USAGE,
    stderr:
      'fstack-kni: "kni" is not a key address; write section.key, e.g. kni.enable or port0.addr\n',
  },
  {
    name: 'config set without =',
    args: ['config', 'set', 'kni.enable', '--config', 'CONFIG'],
    code: USAGE,
    stderr: 'fstack-kni: "kni.enable" is not KEY=VALUE (e.g. kni.enable=1)\n',
  },
  {
    name: 'config set without key',
    args: ['config', 'set', '=1', '--config', 'CONFIG'],
    code: USAGE,
    stderr: 'fstack-kni: "=1" is not KEY=VALUE (e.g. kni.enable=1)\n',
  },
  {
    name: 'config set with a newline in the value',
    args: ['config', 'set', 'kni.tcp_port=22\n[dpdk]', '--config', 'CONFIG'],
    code: FAILED,
    stderr:
      'fstack-kni: invalid value "22\\n[dpdk]" for kni.tcp_port: it contains a line break or NUL byte\n',
  },
  {
    name: 'config set on an unknown key',
    args: ['config', 'set', 'kni.bogus=1', '--config', 'CONFIG'],
    code: FAILED,
    stderr:
      'fstack-kni: F-Stack 1.25 does not read bogus in [kni]; known keys: enable, method, tcp_port, udp_port, kni_action, console_packets_ratelimit, general_packets_ratelimit, kernel_packets_ratelimit\n',
  },
  {
    name: 'config set on an unknown section',
    args: ['config', 'set', 'nosuch.key=1', '--config', 'CONFIG'],
    code: FAILED,
    stderr:
      'fstack-kni: F-Stack does not read a section [nosuch]; use dpdk, kni, pcap, port<N>, vlan<N>, vdev<N>, bond<N>, rss_check, freebsd.boot or freebsd.sysctl\n',
  },
  {
    name: 'config set with an unknown method',
    args: ['config', 'set', 'kni.method=foo', '--config', 'CONFIG'],
    code: FAILED,
    stderr: 'fstack-kni: invalid value "foo" for kni.method: expected one of accept, reject\n',
  },
  {
    name: 'config set with an invalid IP',
    args: ['config', 'set', 'port0.addr=192.0.2.300', '--config', 'CONFIG'],
    code: FAILED,
    stderr:
      'fstack-kni: invalid value "192.0.2.300" for port0.addr: not an IPv4 address in dotted-quad form\n',
  },
  {
    name: 'config set with a port name',
    args: ['config', 'set', 'kni.tcp_port=http', '--config', 'CONFIG'],
    code: FAILED,
    stderr:
      'fstack-kni: invalid value "http" for kni.tcp_port: "http" is not a port (0-65535) or low-high range; separate items with commas, no spaces\n',
  },
  {
    name: 'config with an unsupported version',
    args: ['config', 'check', '--fstack-version', '2.0', '--config', 'CONFIG'],
    code: USAGE,
    stderr:
      'fstack-kni: unsupported F-Stack version "2.0"; expected one of 1.21, 1.22, 1.23, 1.24, 1.25 or dev\n',
  },
  {
    name: '--backup-suffix without value',
    args: ['config', 'set', 'kni.enable=1', '--config', 'CONFIG', '--backup-suffix'],
    code: USAGE,
    stderr: 'fstack-kni: option --backup-suffix needs a value\n',
  },
];

/** SHA-256 of every file under `root` by relative path, plus the directory listing. */
function treeHash(root: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const visit = (directory: string, prefix: string) => {
    for (const name of readdirSync(directory).sort()) {
      const path = join(directory, name);
      const info = statSync(path);
      if (info.isDirectory()) {
        hashes[`${prefix}${name}/`] = `mode ${info.mode.toString(8)}`;
        visit(path, `${prefix}${name}/`);
      } else {
        hashes[`${prefix}${name}`] =
          `${createHash('sha256').update(readFileSync(path)).digest('hex')} mode ${info.mode.toString(8)}`;
      }
    }
  };
  visit(root, '');
  return hashes;
}

describe.skipIf(skipReason !== undefined)(
  `bad input${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let netns = '';
    let temp: ReturnType<typeof makeTempDir>;

    beforeAll(() => {
      netns = createTestNetns('fkbad');
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
      temp = makeTempDir();
      // nobody must be able to reach the files it is denied, so only the file is locked.
      chmodSync(temp.dir, 0o755);
      mkdirSync(join(temp.dir, 'adir'));
    });

    afterAll(() => {
      if (netns !== '') removeTestNetns(netns);
      temp?.remove();
    });

    it('has at least 40 cases', () => {
      expect(CASES.length).toBeGreaterThanOrEqual(40);
    });

    // User nobody needs search permission on every directory above the CLI. A checkout under
    // a private directory (mktemp -d, /root) denies it, so those cases cannot run there.
    const nobodyReachesCli =
      spawnSync('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        process.execPath,
        '-e',
        `require('fs').accessSync(${JSON.stringify(cliPath)})`,
      ]).status === 0;
    const numbered = CASES.map((testCase, index) => [testCase.name, index, testCase] as const);
    const asRoot = numbered.filter(([, , testCase]) => testCase.asNobody !== true);
    const asNobody = numbered.filter(([, , testCase]) => testCase.asNobody === true);

    it.each(asRoot)('%s', (_name, index, testCase) => runCase(index, testCase));

    it.skipIf(!nobodyReachesCli).each(asNobody)(
      `%s${nobodyReachesCli ? '' : ' (skipped: user nobody cannot reach the CLI under this checkout path)'}`,
      (_name, index, testCase) => runCase(index, testCase),
    );

    function runCase(index: number, testCase: (typeof CASES)[number]): void {
      const config = join(temp.dir, `case-${index}.conf`);
      writeFileSync(config, testCase.config ?? VALID);
      if (testCase.asNobody === true) chmodSync(config, 0o600);
      const args = testCase.args.map((arg) =>
        arg
          .replace('CONFIG', config)
          .replace('NETNS', netns)
          .replace('DIR', join(temp.dir, 'adir')),
      );

      const filesBefore = treeHash(temp.dir);
      const kernelBefore = ipSnapshot(netns);
      const command =
        testCase.asNobody === true
          ? [
              'setpriv',
              '--reuid=65534',
              '--regid=65534',
              '--clear-groups',
              '--',
              process.execPath,
              cliPath,
              ...args,
            ]
          : [process.execPath, cliPath, ...args];
      const result = spawnSync(command[0] as string, command.slice(1), {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        // A command that starts working instead of failing must not hang the suite.
        timeout: 20_000,
      });

      if (typeof testCase.stderr === 'string') expect(result.stderr).toBe(testCase.stderr);
      else expect(result.stderr).toMatch(testCase.stderr);
      if (testCase.stdout !== undefined) expect(result.stdout).toMatch(testCase.stdout);
      expect(result.status).toBe(testCase.code);
      expect(treeHash(temp.dir)).toEqual(filesBefore);
      expect(ipSnapshot(netns)).toBe(kernelBefore);
    }
  },
);
