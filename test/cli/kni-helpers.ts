// Helpers for end-to-end tests of the converge commands: run the built CLI, write configs
// into temp dirs, hold taps open the way F-Stack >= 1.25 does, and read kernel state with
// `ip -j` as an oracle independent of the library.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTun, type TunDevice } from '../../src/rtnl/tun.js';
import { ipJson } from '../helpers/netns.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

/** Why CLI tests cannot run, or undefined. */
export const buildSkipReason: string | undefined = existsSync(cliPath)
  ? undefined
  : 'dist/cli/main.js is missing: run npm run build first';

export const fixtureDir = join(repoRoot, '..', 'shared', 'fixtures', 'fstack-config');
/** Why fixture tests cannot run, or undefined. */
export const fixtureSkipReason: string | undefined = existsSync(fixtureDir)
  ? undefined
  : `the shipped F-Stack sample configs are not at ${fixtureDir}`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js ARGS` without colour. */
export function runCli(args: string[]): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI with --json and parses stdout. */
export function runJson<T = Record<string, unknown>>(
  args: string[],
): { code: number; json: T; stderr: string } {
  const result = runCli([...args, '--json']);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`no JSON on stdout (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
  return { code: result.code, json, stderr: result.stderr };
}

/** Creates a temp dir; `remove` deletes it. */
export function makeTempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'fstack-kni-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeConfig(dir: string, text: string, name = 'f-stack.conf'): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Returns the runbook's f-stack.conf: port 0 at 192.0.2.79/24, KNI accept with tcp_port=22. */
export function runbookConfig(
  port0Extra = '',
  kni = 'enable=1\nmethod=accept\ntcp_port=22\n',
): string {
  return `[dpdk]
lcore_mask=1
port_list=0

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1
${port0Extra}
[kni]
${kni}`;
}

/** Documentation addresses for [port0]: 192.0.2.79/24, gateway 192.0.2.1. */
export const DOC_PORT0 = {
  addr: '192.0.2.79',
  netmask: '255.255.255.0',
  broadcast: '192.0.2.255',
  gateway: '192.0.2.1',
};

/**
 * Returns a shipped sample config with KNI on (accept, tcp_port=22) and [port0] moved to
 * documentation addresses; the samples ship [kni] commented out.
 */
export function sampleWithKni(
  file: string,
  port0: Partial<Record<'addr' | 'netmask' | 'broadcast' | 'gateway', string>> = DOC_PORT0,
): string {
  const lines = readFileSync(join(fixtureDir, file), 'utf8').split('\n');
  let section = '';
  const edited = lines.map((line) => {
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header !== null) section = header[1] as string;
    const key = /^(addr|netmask|broadcast|gateway)=/.exec(line);
    const value = key === null ? undefined : port0[key[1] as keyof typeof port0];
    if (section === 'port0' && value !== undefined) return `${key?.[1]}=${value}`;
    return line;
  });
  return `${edited.join('\n')}\n[kni]\nenable=1\nmethod=accept\ntcp_port=22\n`;
}

/** Opens a tap in the namespace and keeps it open, as F-Stack's virtio_user does. */
export function holdTap(netns: string, name = 'veth0'): TunDevice {
  return createTun({ name, tap: true, persist: false, netns: { name: netns } });
}

interface IpAddressInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope?: string;
}

interface IpLink {
  ifname: string;
  flags: string[];
  operstate: string;
  address?: string;
  addr_info?: IpAddressInfo[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  protocol?: string;
  table?: string;
  type?: string;
}

/** Link, flags and addresses of one interface, from `ip -j address show dev NAME`. */
export function ipLink(netns: string, name: string): IpLink | undefined {
  const links = ipJson<IpLink[]>(netns, 'address', 'show');
  return links.find((link) => link.ifname === name);
}

/** `ADDR/PLEN` (with ` brd B` for IPv4) of the interface's addresses, link-local left out. */
export function ipAddresses(netns: string, name: string): string[] {
  return (ipLink(netns, name)?.addr_info ?? [])
    .filter((a) => a.scope !== 'link')
    .map(
      (a) => `${a.local}/${a.prefixlen}${a.broadcast === undefined ? '' : ` brd ${a.broadcast}`}`,
    );
}

/** Main-table routes of both families out of the interface, as `DST via GW metric M`. */
export function ipRoutes(netns: string, name: string): string[] {
  const routes = [
    ...ipJson<IpRoute[]>(netns, '-4', 'route', 'show'),
    ...ipJson<IpRoute[]>(netns, '-6', 'route', 'show'),
  ];
  return routes
    .filter((r) => r.dev === name && r.protocol !== 'kernel')
    .map(
      (r) =>
        `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`} metric ${r.metric ?? 0}`,
    );
}

/**
 * Returns everything `ip -j` shows of links, addresses and routes (all tables, both
 * families), less the qdisc. The kernel attaches a qdisc the first time a link comes up and
 * keeps it after the link goes down, so a rolled-back `up` changes it.
 */
export function ipSnapshot(netns: string): string {
  const links = ipJson<Array<Record<string, unknown>>>(netns, 'address', 'show').map(
    ({ qdisc: _qdisc, ...rest }) => rest,
  );
  return JSON.stringify({
    addresses: links,
    routes4: ipJson(netns, '-4', 'route', 'show', 'table', 'all'),
    routes6: ipJson(netns, '-6', 'route', 'show', 'table', 'all'),
  });
}
