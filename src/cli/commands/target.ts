// Options, config loading and the rtnetlink handle that the commands working on veth<N>
// share. Kept apart from the apply command so that a command which imports them, such as
// status, does not load what only apply needs.
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { formatDiagnostic } from '../../config/diagnostics.js';
import {
  configDirectoryMessage,
  type Diagnostic,
  type LoadedConfig,
  missingConfigMessage,
  parseConfig,
} from '../../config/model.js';
import { DEFAULT_FSTACK_VERSION } from '../../config/versions.js';
import type { DesiredOptions } from '../../kni/desired.js';
import { KniError } from '../../kni/errors.js';
import {
  checkOptionPorts,
  DEFAULT_CONFIG_PATH,
  desiredOptionsFrom,
  type TargetValues,
} from '../../kni/options.js';
import { checkNetnsName, describeNetnsOpenError } from '../../netlink/netns.js';
import { Rtnl } from '../../rtnl/index.js';
import { ExitCode, UsageError } from '../output.js';

/** Options that select the config, the namespace and the desired state. */
export const TARGET_OPTIONS = {
  config: { type: 'string' },
  'fstack-version': { type: 'string' },
  netns: { type: 'string' },
  port: { type: 'string', multiple: true },
  interface: { type: 'string', multiple: true },
  mac: { type: 'string', multiple: true },
  'mac-from': { type: 'string', multiple: true },
  'route-metric': { type: 'string' },
  'no-default-route': { type: 'boolean' },
  'with-vips': { type: 'boolean' },
  'no-vlans': { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const TARGET_USAGE = `  --config PATH           f-stack.conf to read (default ${DEFAULT_CONFIG_PATH})
  --fstack-version V      F-Stack version on the host: 1.21 ... 1.25 or dev (default ${DEFAULT_FSTACK_VERSION})
  --netns NAME            work in the named network namespace instead of the current one
  --port N                manage only port N of port_list (repeatable)
  --interface N=NAME      kernel interface of port N instead of vethN (repeatable)
  --mac N=MAC             set the MAC of port N's interface (repeatable)
  --mac-from N=IFNAME     copy the MAC of kernel link IFNAME, a NIC still visible to the kernel
  --route-metric N        metric of the default routes (default 0; IPv6 stores 0 as 1024)
  --no-default-route      do not install default routes via gateway / gateway6
  --with-vips             also install vip_addr (as /32) and vip_addr6
  --no-vlans              do not create VLAN interfaces for [vlanN] sections
  --json                  print one JSON document on stdout
`;

/** A config that F-Stack would accept, with its warnings. */
export interface ValidConfig {
  loaded: LoadedConfig;
  warnings: Diagnostic[];
}

/**
 * Reads f-stack.conf and throws KniError CONFIG_INVALID listing every error when it has
 * any. The message ends with "nothing was changed" unless `readOnly` is set, which a
 * command that never changes anything sets.
 */
export async function loadValidConfig(
  path: string,
  fstackVersion: string | undefined,
  readOnly = false,
): Promise<ValidConfig> {
  const loaded = await readConfig(path, fstackVersion);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new KniError(
      'CONFIG_INVALID',
      `${path} has ${errors.length} error(s)${readOnly ? '' : '; nothing was changed'}`,
      errors.map(formatDiagnostic),
    );
  }
  return { loaded, warnings: loaded.diagnostics.filter((d) => d.severity === 'warning') };
}

/**
 * Reads and parses f-stack.conf; a bad --fstack-version is a UsageError. The result has no
 * `snapshot`, because no caller writes the file from it.
 */
export async function readConfig(
  path: string,
  fstackVersion: string | undefined,
): Promise<LoadedConfig> {
  try {
    // A synchronous read, unlike loadConfig: the command waits for the file anyway, and this
    // skips loading node:fs/promises and the thread pool round trips of an asynchronous
    // read and stat, which cost a few ms of each start on Node 20.
    const bytes = readFileSync(path);
    return parseConfig(bytes, {
      file: path,
      ...(fstackVersion === undefined ? {} : { fstackVersion }),
    });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--fstack-version: ${error.message}`);
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new KniError('CONFIG_INVALID', missingConfigMessage(path));
    if (code === 'EISDIR') throw new KniError('CONFIG_INVALID', configDirectoryMessage(path));
    if (typeof code === 'string' && typeof (error as { syscall?: unknown }).syscall === 'string') {
      throw new KniError('CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * Builds DesiredOptions from the parsed values. A malformed value, or a port that the
 * config's port_list lacks, is a UsageError.
 */
export function targetOptions(values: TargetValues, loaded: LoadedConfig): DesiredOptions {
  try {
    const options = desiredOptionsFrom(values, loaded.version);
    checkOptionPorts(values, loaded.config.dpdk.portList, loaded.file);
    return options;
  } catch (error) {
    if (error instanceof KniError && error.code === 'OPTION_INVALID')
      throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Opens an rtnetlink handle in the named netns (or the current one). A malformed name is a
 * UsageError. A permission error exits with "unavailable" (4): the tool needs CAP_NET_ADMIN
 * (and CAP_SYS_ADMIN for --netns).
 */
export function openRtnl(netns: string | undefined): Rtnl {
  if (netns !== undefined) {
    try {
      checkNetnsName(netns);
    } catch (error) {
      throw new UsageError(`--netns: ${(error as Error).message}`);
    }
  }
  try {
    return Rtnl.open(netns === undefined ? {} : { netns: { name: netns } });
  } catch (caught) {
    const error = netns === undefined ? caught : describeNetnsOpenError(netns, caught);
    const code = (error as { code?: unknown }).code;
    if (code === 'EPERM' || code === 'EACCES')
      Object.assign(error as Error, { exitCode: ExitCode.Unavailable });
    throw error;
  }
}
