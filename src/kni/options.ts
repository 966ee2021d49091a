// Command-line values of the converge commands turned into DesiredOptions, with one check
// per option. Malformed values raise KniError with code OPTION_INVALID.
import { checkInterfaceName, type DesiredOptions, normalizeMac } from './desired.js';
import { KniError } from './errors.js';

/** Raw option values as node:util parseArgs returns them. */
export interface TargetValues {
  'fstack-version'?: string;
  port?: string[];
  interface?: string[];
  mac?: string[];
  'mac-from'?: string[];
  'route-metric'?: string;
  'no-default-route'?: boolean;
  'with-vips'?: boolean;
  'no-vlans'?: boolean;
}

/** Default path of f-stack.conf, as F-Stack's service units install it. */
export const DEFAULT_CONFIG_PATH = '/etc/f-stack.conf';

/** Builds DesiredOptions from command-line values; `fstackVersion` falls back to `fallbackVersion`. */
export function desiredOptionsFrom(values: TargetValues, fallbackVersion: string): DesiredOptions {
  const options: DesiredOptions = { fstackVersion: values['fstack-version'] ?? fallbackVersion };

  if (values.port !== undefined && values.port.length > 0) {
    options.ports = values.port.map((text) => parsePortId(text, '--port'));
  }
  if (values.interface !== undefined) {
    options.interfaceNames = parsePortMap(values.interface, '--interface', (text, port) => {
      checkInterfaceName(text, `port ${port}`);
      return text;
    });
  }
  if (values.mac !== undefined) {
    options.macs = parsePortMap(values.mac, '--mac', (text, port) =>
      normalizeMac(text, `port ${port}`),
    );
  }
  if (values['mac-from'] !== undefined) {
    options.macSources = parsePortMap(values['mac-from'], '--mac-from', (text) => text);
  }
  if (values['route-metric'] !== undefined) {
    options.routeMetric = parseMetric(values['route-metric']);
  }
  if (values['no-default-route'] === true) options.defaultRoute = false;
  if (values['with-vips'] === true) options.withVips = true;
  if (values['no-vlans'] === true) options.vlans = false;
  return options;
}

/** Per-port options of the form `PORT=VALUE`, as they appear on the command line. */
const PORT_MAP_OPTIONS = ['interface', 'mac', 'mac-from'] as const;

/**
 * Checks that every port the options name is one that the command manages: a port of
 * `[dpdk] port_list` in `file`, and one of the `--port` values when any were given. Without
 * this check, desiredState would skip `--interface 5=veth5` for a port outside port_list
 * and report success. Run it after desiredOptionsFrom, which checks the syntax. Throws
 * KniError OPTION_INVALID naming the option, the value and the fix.
 */
export function checkOptionPorts(
  values: TargetValues,
  portList: readonly number[],
  file: string,
): void {
  const listed = `[dpdk] port_list (${portList.join(',') || 'empty'}) of ${file}`;
  for (const text of values.port ?? []) {
    const port = Number(text);
    if (!portList.includes(port)) {
      throw new KniError(
        'OPTION_INVALID',
        `--port ${text}: port ${port} is not in ${listed}; use a port of port_list, or add ${port} to port_list with a [port${port}] section`,
      );
    }
  }

  const selected = (values.port ?? []).map(Number);
  for (const name of PORT_MAP_OPTIONS) {
    for (const entry of values[name] ?? []) {
      const port = Number(entry.slice(0, entry.indexOf('=')));
      if (!portList.includes(port)) {
        throw new KniError(
          'OPTION_INVALID',
          `--${name} ${entry}: port ${port} is not in ${listed}; use a port of port_list, or add ${port} to port_list with a [port${port}] section`,
        );
      }
      if (selected.length > 0 && !selected.includes(port)) {
        throw new KniError(
          'OPTION_INVALID',
          `--${name} ${entry}: port ${port} is not managed, because --port selects only ${selected.join(', ')}; add --port ${port} or drop --${name} ${entry}`,
        );
      }
    }
  }
}

function parsePortId(text: string, option: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new KniError(
      'OPTION_INVALID',
      `${option} ${JSON.stringify(text)} is not a port id (0-65535)`,
    );
  }
  return Number(text);
}

/** Parses repeated `PORT=VALUE` options into a map; a port given twice is an error. */
function parsePortMap<T>(
  entries: readonly string[],
  option: string,
  parse: (text: string, port: number) => T,
): Map<number, T> {
  const map = new Map<number, T>();
  for (const entry of entries) {
    const separator = entry.indexOf('=');
    if (separator <= 0 || separator === entry.length - 1) {
      throw new KniError(
        'OPTION_INVALID',
        `${option} ${JSON.stringify(entry)} must have the form PORT=VALUE, e.g. 0=ens1`,
      );
    }
    const port = parsePortId(entry.slice(0, separator), option);
    if (map.has(port)) {
      throw new KniError('OPTION_INVALID', `${option} names port ${port} twice`);
    }
    map.set(port, parse(entry.slice(separator + 1), port));
  }
  return map;
}

function parseMetric(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    throw new KniError(
      'OPTION_INVALID',
      `--route-metric ${JSON.stringify(text)} is not a metric (0-4294967295)`,
    );
  }
  return Number(text);
}
