// Diagnosis: f-stack.conf next to the kernel state of each veth<N>, with every mismatch
// turned into a problem that names its likely cause and the fix.
import type { Diagnostic } from '../config/diagnostics.js';
import type { FstackConfig } from '../config/model.js';
import type { Link } from '../rtnl/types.js';
import { keyDiagnostic } from './config-error.js';
import { type DesiredOptions, type DesiredState, desiredState } from './desired.js';
import {
  describeBackend,
  type FstackVersion,
  type KniBackend,
  kniRealization,
  parseFstackVersion,
} from './driver.js';
import { KniError } from './errors.js';
import {
  addressesOn,
  findLink,
  formatAddress,
  formatRoute,
  isDefaultRoute,
  isKernelRoute,
  type LiveState,
  MAIN_TABLE,
  routeMetric,
  routesOn,
} from './live.js';
import { type Blocker, type Change, type Drift, type Plan, planChanges } from './plan.js';

/** Reads of the host that the diagnosis needs; injected so tests control them. */
export interface StatusEnvironment {
  /** True when the path exists (fs.existsSync in production). */
  exists(path: string): boolean;
}

export interface InterfaceStatus {
  name: string;
  portId: number;
  vlanId?: number;
  present: boolean;
  up: boolean;
  carrier: boolean;
  mac?: string;
  /** Kernel addresses, formatted as `192.0.2.79/24 broadcast 192.0.2.255`. */
  addresses: string[];
  /** Kernel routes out of the interface that do not follow from an address. */
  routes: string[];
  /** The state f-stack.conf requires. */
  expected: { addresses: string[]; routes: string[]; carrier: boolean; mac?: string };
}

/** One mismatch between f-stack.conf and the kernel. */
export interface Problem {
  code: string;
  interface?: string;
  message: string;
  /** The likely cause. */
  cause: string;
  /** The action that resolves the problem. */
  fix: string;
}

export interface StatusReport {
  /** True when there is no problem. */
  ok: boolean;
  fstackVersion: string;
  driver: KniBackend;
  kni: {
    enable: boolean;
    method?: string;
    tcpPorts: number[];
    udpPorts: number[];
    kniAction?: string;
  };
  interfaces: InterfaceStatus[];
  problems: Problem[];
  notes: string[];
}

export interface StatusInput {
  config: FstackConfig;
  /** Validation errors of the config, one line each. */
  configErrors: readonly string[];
  /** Every diagnostic of the config, for the location and fix of a key it cannot use. */
  diagnostics?: readonly Diagnostic[];
  options: DesiredOptions;
  live: LiveState;
  environment: StatusEnvironment;
  /**
   * Options of the status run that apply needs to act on the same target (`--config`,
   * `--netns`, `--port`, `--with-vips`, ...), one argv item each. The fixes repeat them.
   */
  applyArguments?: readonly string[];
}

/** Compares config and kernel; pure apart from `environment`. */
export function diagnose(input: StatusInput): StatusReport {
  const { config, live, environment } = input;
  const version = parseFstackVersion(input.options.fstackVersion);
  const driver = kniRealization(version, config.kni.type).backend;
  const report: StatusReport = {
    ok: true,
    fstackVersion: version,
    driver,
    kni: {
      enable: Boolean(config.kni.enable),
      ...(config.kni.method !== undefined ? { method: config.kni.method } : {}),
      tcpPorts: [...config.kni.tcpPorts],
      udpPorts: [...config.kni.udpPorts],
      ...(config.kni.kniAction !== undefined ? { kniAction: config.kni.kniAction } : {}),
    },
    interfaces: [],
    problems: [],
    notes: [],
  };

  if (input.configErrors.length > 0) {
    for (const error of input.configErrors) {
      report.problems.push({
        code: 'config-invalid',
        message: error,
        cause:
          'f-stack.conf has an error that stops F-Stack from starting or changes what it reads',
        fix: 'correct f-stack.conf, then run fstack-kni status again',
      });
    }
    return finish(report);
  }

  let desired: DesiredState;
  try {
    desired = desiredState(config, input.options);
  } catch (error) {
    if (!(error instanceof KniError)) throw error;
    const diagnostic = keyDiagnostic(error, config, input.diagnostics ?? []);
    report.problems.push(
      problemFromError(error, applyCommand(input.applyArguments ?? []), diagnostic),
    );
    return finish(report);
  }

  const applyArguments = input.applyArguments ?? [];
  const apply = applyCommand(applyArguments);
  // Fixes that suggest a new --route-metric drop the one the user gave.
  const applyNewMetric = applyCommand(withoutOption(applyArguments, '--route-metric'));
  const plan = planChanges(desired, live, {});
  report.notes.push(...plan.notes);
  report.interfaces = desired.interfaces.map((iface) => interfaceStatus(iface, live));

  for (const blocker of plan.blockers) {
    report.problems.push(
      problemFromBlocker(blocker, driver, version, environment, apply, applyNewMetric),
    );
  }
  report.problems.push(...problemsFromChanges(plan, desired, apply));
  report.problems.push(...problemsFromDrift(plan, apply));
  report.problems.push(...carrierProblems(desired, live, plan, apply));
  report.problems.push(...defaultRouteShadows(desired, live, applyNewMetric));

  return finish(report);
}

/** Returns `fstack-kni apply` with the arguments, each quoted for a POSIX shell when needed. */
function applyCommand(args: readonly string[]): string {
  const quoted = args.map((arg) =>
    /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`,
  );
  return ['fstack-kni apply', ...quoted].join(' ');
}

/** Returns the arguments without `option VALUE` pairs of the option. */
function withoutOption(args: readonly string[], option: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === option) i++;
    else kept.push(args[i] as string);
  }
  return kept;
}

function finish(report: StatusReport): StatusReport {
  report.ok = report.problems.length === 0;
  return report;
}

function interfaceStatus(
  iface: DesiredState['interfaces'][number],
  live: LiveState,
): InterfaceStatus {
  const link = findLink(live, iface.name);
  const expected = {
    addresses: iface.addresses.map((a) => formatAddress(a)),
    routes: iface.routes.map((r) => `default via ${r.gateway} metric ${r.metric}`),
    carrier: true,
    ...(iface.mac !== undefined ? { mac: iface.mac } : {}),
  };
  const status: InterfaceStatus = {
    name: iface.name,
    portId: iface.portId,
    ...(iface.vlanId !== undefined ? { vlanId: iface.vlanId } : {}),
    present: link !== undefined,
    up: link?.up ?? false,
    carrier: link?.carrier ?? false,
    ...(link?.mac !== undefined ? { mac: link.mac } : {}),
    addresses: link === undefined ? [] : addressesOn(live, link.index).map((a) => formatAddress(a)),
    routes:
      link === undefined
        ? []
        : routesOn(live, link.index)
            .filter((r) => !isKernelRoute(r))
            .map((r) => formatRoute(r)),
    expected,
  };
  return status;
}

function problemFromError(
  error: KniError,
  apply: string,
  diagnostic: Diagnostic | undefined,
): Problem {
  if (error.code === 'KNI_DISABLED') {
    return {
      code: 'kni-disabled',
      message: 'KNI is disabled in f-stack.conf',
      cause:
        '[kni] enable is missing or 0, so F-Stack creates no veth interface and the kernel receives nothing',
      fix: `add [kni] with enable=1, method=accept and tcp_port=22 (for ssh), restart F-Stack, then run ${apply}`,
    };
  }
  if (diagnostic !== undefined) {
    return {
      code: 'config-invalid',
      message: `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${error.message}`,
      cause: diagnostic.message,
      fix: `${diagnostic.fix ?? 'correct the value'} in f-stack.conf, then run fstack-kni status again`,
    };
  }
  return {
    code: 'config-invalid',
    message: error.message,
    cause: 'f-stack.conf or an option does not describe a usable interface',
    fix: 'correct f-stack.conf or the option, then run fstack-kni status again',
  };
}

function problemFromBlocker(
  blocker: Blocker,
  driver: KniBackend,
  version: FstackVersion,
  environment: StatusEnvironment,
  apply: string,
  applyNewMetric: string,
): Problem {
  switch (blocker.code) {
    case 'interface-missing':
      return missingInterface(blocker.interface, driver, version, environment, apply);
    case 'route-conflict':
      return {
        code: 'default-route-conflict',
        interface: blocker.interface,
        message: blocker.message,
        cause:
          'another interface owns the default route with the same metric, so apply cannot add this one',
        fix: `run ${applyNewMetric} with --route-metric N (a free metric) or --no-default-route`,
      };
    case 'not-a-vlan':
      return {
        code: 'not-a-vlan',
        interface: blocker.interface,
        message: blocker.message,
        cause:
          "an interface with the VLAN interface's name exists with another kind, parent or VLAN id",
        fix: `delete it (ip link delete ${blocker.interface}), then run ${apply}`,
      };
    case 'mac-source-missing':
      return {
        code: 'mac-source-missing',
        interface: blocker.interface,
        message: blocker.message,
        cause: 'the NIC is bound to DPDK, renamed, or in another netns',
        fix: 'pass the MAC itself (--mac PORT=aa:bb:cc:dd:ee:ff)',
      };
  }
}

function missingInterface(
  name: string,
  driver: KniBackend,
  version: FstackVersion,
  environment: StatusEnvironment,
  apply: string,
): Problem {
  const causes: string[] = [];
  const fixes: string[] = [];

  if (driver === 'virtio_user') {
    if (!environment.exists('/dev/net/tun')) {
      causes.push('/dev/net/tun is missing, so DPDK virtio_user cannot create the tap');
      fixes.push('load the tun module (modprobe tun)');
    }
    if (!environment.exists('/dev/vhost-net')) {
      causes.push('/dev/vhost-net is missing, so DPDK virtio_user cannot attach the tap');
      fixes.push('load the vhost_net module (modprobe vhost_net)');
    }
    causes.push(
      `the F-Stack primary process is not running (on F-Stack ${version} the tap exists only while it runs)`,
      'KNI was off in the f-stack.conf F-Stack started with',
    );
  } else {
    if (!environment.exists('/sys/module/rte_kni')) {
      causes.push('the rte_kni module is not loaded');
      fixes.push('load it (insmod rte_kni.ko carrier=on)');
    }
    causes.push(
      'the F-Stack primary process is not running',
      'KNI was off in the f-stack.conf F-Stack started with',
    );
  }
  fixes.push(`start F-Stack with [kni] enable=1, then run ${apply}`);

  return {
    code: 'interface-missing',
    interface: name,
    message: `${name} does not exist (expected: ${describeBackend(driver)})`,
    cause: causes.join('; or '),
    fix: fixes.join(', then '),
  };
}

function problemsFromChanges(
  plan: Plan,
  desired: DesiredState,
  applyCommandLine: string,
): Problem[] {
  const problems: Problem[] = [];
  const apply = `run ${applyCommandLine}`;

  for (const change of plan.changes) {
    const base = { interface: change.interface };
    switch (change.kind) {
      case 'create-vlan':
        problems.push({
          ...base,
          code: 'vlan-missing',
          message: `VLAN interface ${change.interface} does not exist`,
          cause: 'it was never created, or F-Stack restarted and recreated its parent',
          fix: apply,
        });
        break;
      case 'link-up':
        problems.push({
          ...base,
          code: 'link-down',
          message: `${change.interface} is down`,
          cause:
            desired.driver === 'virtio_user'
              ? 'F-Stack (re)started: its tap comes back down and empty at every start'
              : 'F-Stack (re)started or nobody brought the rte_kni interface up',
          fix: apply,
        });
        break;
      case 'set-mac':
        problems.push({
          ...base,
          code: 'mac-differs',
          message: change.description,
          cause: 'the MAC was never set or was changed',
          fix: apply,
        });
        break;
      case 'add-address':
        if (change.reason === 'missing')
          problems.push(missingAddress(change, plan, applyCommandLine));
        break;
      case 'delete-address':
        if (change.reason !== 'mismatch') break;
        problems.push({
          ...base,
          code: 'address-mismatch',
          message: `${change.interface} has ${change.current ?? change.target} but f-stack.conf asks for ${replacementOf(change, plan)}`,
          cause: 'the address was set by hand with other options, or f-stack.conf changed since',
          fix: apply,
        });
        break;
      case 'add-route':
        problems.push({
          ...base,
          code: 'route-missing',
          message: `${change.interface} has no route ${change.target}`,
          cause:
            'F-Stack (re)started and the kernel dropped the route with the link, or it was never added',
          fix: apply,
        });
        break;
      case 'replace-route':
        if (change.reason === 'mismatch') {
          problems.push({
            ...base,
            code: 'route-gateway-differs',
            message: `${change.interface} has route ${change.current ?? 'none'} but f-stack.conf asks for ${change.target}`,
            cause: 'the gateway changed in f-stack.conf, or the route was added by hand',
            fix: apply,
          });
        }
        break;
      default:
        break;
    }
  }
  return problems;
}

/** Describes a missing address, as an "old IP" when the interface has another of that family. */
function missingAddress(change: Change, plan: Plan, apply: string): Problem {
  const old = oldAddressFor(change, plan);
  if (old !== undefined) {
    return {
      code: 'address-differs',
      interface: change.interface,
      message: `${change.interface} has ${old.target} but f-stack.conf asks for ${change.target}`,
      cause: 'f-stack.conf changed (an old IP is still set), or the address was set by hand',
      fix: `run ${apply} --prune (adds the new address and removes the old one)`,
    };
  }
  return {
    code: 'address-missing',
    interface: change.interface,
    message: `${change.interface} lacks address ${change.target}`,
    cause:
      'F-Stack (re)started and its interface came back without addresses, or it was never configured',
    fix: `run ${apply}`,
  };
}

/** Returns the address that the plan adds in place of a mismatching one. */
function replacementOf(change: Change, plan: Plan): string {
  const add = plan.changes.find(
    (c) =>
      c.kind === 'add-address' && c.interface === change.interface && c.current === change.current,
  );
  return add?.target ?? 'another address';
}

/** Returns the drift address of the same family that a missing address most likely replaced. */
function oldAddressFor(change: Change, plan: Plan): Drift | undefined {
  if (change.operation.type !== 'address-add') return undefined;
  const family = change.operation.address.address.includes(':') ? 6 : 4;
  return plan.drift.find(
    (d) => d.kind === 'address' && d.interface === change.interface && d.family === family,
  );
}

function problemsFromDrift(plan: Plan, apply: string): Problem[] {
  const oldAddresses = new Set(
    plan.changes
      .filter((c) => c.kind === 'add-address' && c.reason === 'missing')
      .map((c) => oldAddressFor(c, plan))
      .filter((d) => d !== undefined),
  );
  return plan.drift
    .filter((d) => !oldAddresses.has(d))
    .map((d) => ({
      code: d.kind === 'address' ? 'unexpected-address' : 'unexpected-route',
      interface: d.interface,
      message: d.description,
      cause: 'set by hand or by another tool, or left over from an older f-stack.conf',
      fix: `run ${apply} --prune, or remove it yourself (${d.command})`,
    }));
}

/** Up but without carrier: the kernel transmits nothing. Down links are reported elsewhere. */
function carrierProblems(
  desired: DesiredState,
  live: LiveState,
  plan: Plan,
  apply: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const iface of desired.interfaces) {
    const link: Link | undefined = findLink(live, iface.name);
    if (link === undefined || !link.up || link.carrier) continue;
    if (iface.vlanId !== undefined) continue;

    const planned = plan.changes.some((c) => c.kind === 'carrier-on' && c.interface === iface.name);
    problems.push({
      code: 'no-carrier',
      interface: iface.name,
      message: `${iface.name} is up but has no carrier, so the kernel sends nothing through it`,
      cause:
        desired.driver === 'rte_kni'
          ? 'rte_kni (F-Stack <= 1.23, or 1.24 with [kni] type=0) starts with the carrier off unless loaded with carrier=on'
          : 'no process holds the tap open: F-Stack (virtio_user) attaches it while running, and the kernel refuses carrier on for a tap nobody holds',
      fix: planned
        ? `run ${apply} (sets the carrier)`
        : 'start F-Stack, which attaches the tap and brings the carrier up',
    });
  }
  return problems;
}

/** Another interface's default route with a lower metric takes the traffic this one should carry. */
function defaultRouteShadows(
  desired: DesiredState,
  live: LiveState,
  applyNewMetric: string,
): Problem[] {
  const problems: Problem[] = [];
  // Ports after the first get higher metrics on purpose; only foreign routes shadow them.
  const managed = new Set(
    desired.interfaces
      .map((iface) => findLink(live, iface.name)?.index)
      .filter((i) => i !== undefined),
  );
  for (const iface of desired.interfaces) {
    for (const wanted of iface.routes) {
      const shadow = live.routes.find(
        (r) =>
          r.family === wanted.family &&
          r.table === MAIN_TABLE &&
          isDefaultRoute(r) &&
          !(r.index !== undefined && managed.has(r.index)) &&
          routeMetric(r) < wanted.metric,
      );
      if (shadow === undefined) continue;
      const owner = live.links.find((l) => l.index === shadow.index)?.name ?? 'a multipath route';
      problems.push({
        code: 'default-route-conflict',
        interface: iface.name,
        message: `${owner} has the default route ${formatRoute(shadow)}, which wins over ${iface.name}'s metric ${wanted.metric}`,
        cause:
          'replies to clients beyond the gateway leave through another interface with the F-Stack source address',
        fix: `run ${applyNewMetric} --route-metric N with N below ${routeMetric(shadow)}, or use a policy rule for the F-Stack address`,
      });
    }
  }
  return problems;
}
