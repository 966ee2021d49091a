// The runbook's last step, `telnet ADDR 22`, done from the host itself: a TCP connect to
// each port that [kni] hands to the kernel, on each port's shared address, from inside the
// namespace of the interfaces.
//
// A connect from the host to its own address goes over the loopback path, so it shows
// that the address is configured and that something listens on it. It cannot show that
// F-Stack steers the packets of a remote client to the kernel.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FstackConfig } from '../config/model.js';
import type { DesiredState } from '../kni/desired.js';
import { addon } from '../native/addon.js';
import { connectTcp } from '../netlink/tcp.js';

/**
 * Outcome of one connect: `open` (the handshake completed), `refused` (the kernel replied
 * with RST, so the address is there but nothing listens), `timeout` or `error`.
 */
export type PortCheckResult = 'open' | 'refused' | 'timeout' | 'error';

export interface PortCheck {
  address: string;
  port: number;
  result: PortCheckResult;
  /** errno code of a failed connect, e.g. EHOSTUNREACH. */
  error?: string;
  durationMs: number;
}

export interface VerifyReport {
  /** `done` when connects were made, `skipped` when they could not or should not be. */
  status: 'done' | 'skipped';
  /** Reason the step was skipped. */
  reason?: string;
  checks: PortCheck[];
  /** False when a connect timed out or failed other than by refusal. */
  ok: boolean;
}

export interface VerifyOptions {
  /** The named netns the interfaces are in; undefined for the current namespace. */
  netns?: string;
  /** Time limit of each connect in ms; 2000 unless set. */
  timeoutMs?: number;
  /** At most this many ports are tried; 32 unless set. */
  maxPorts?: number;
}

/** Reason printed when the addon cannot open a socket inside another namespace. */
export const NO_NETNS_CONNECT = 'no in-namespace connect available';

/**
 * Connects to every TCP port of `tcp_port` on the IPv4 `addr` of every port interface,
 * inside `netns` when it is set. Refusals do not fail the check: they mean nothing listens
 * yet. Skipped when `method` is not accept, because the listed ports then go to F-Stack and
 * not to the kernel, and when the addon was built without openTcpSocket.
 */
export async function verifyTcpPorts(
  config: FstackConfig,
  desired: DesiredState,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const method = (config.kni.method ?? '').toLowerCase();
  if (method !== 'accept') {
    return skipped(
      `method=${config.kni.method ?? '(unset)'} hands the listed tcp_port values to F-Stack, not to the kernel`,
    );
  }
  if (config.kni.tcpPorts.length === 0) return skipped('tcp_port lists no port');
  if (typeof addon().openTcpSocket !== 'function') return skipped(NO_NETNS_CONNECT);

  const maxPorts = options.maxPorts ?? 32;
  const ports = config.kni.tcpPorts.filter((port) => port > 0).slice(0, maxPorts);
  const addresses = desired.interfaces
    .filter((iface) => iface.vlanId === undefined)
    .flatMap((iface) =>
      iface.addresses.filter(
        (address) => address.family === 4 && !address.source.includes('vip_addr'),
      ),
    )
    .map((address) => address.address);

  const checks: PortCheck[] = [];
  for (const address of addresses) {
    for (const port of ports)
      checks.push(await connectOnce(address, port, options.netns, options.timeoutMs ?? 2000));
  }
  return {
    status: 'done',
    checks,
    ok: checks.every((check) => check.result === 'open' || check.result === 'refused'),
  };
}

function skipped(reason: string): VerifyReport {
  return { status: 'skipped', reason, checks: [], ok: true };
}

/** Connects once within the time limit and closes the socket right after. */
async function connectOnce(
  address: string,
  port: number,
  netns: string | undefined,
  timeoutMs: number,
): Promise<PortCheck> {
  const started = performance.now();
  const check = (result: PortCheckResult, error?: string): PortCheck => ({
    address,
    port,
    result,
    ...(error === undefined ? {} : { error }),
    durationMs: performance.now() - started,
  });

  let socket: Socket;
  try {
    socket = await connectTcp({
      address,
      port,
      timeoutMs,
      ...(netns === undefined ? {} : { netns: { name: netns } }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return check('refused');
    if (code === 'ETIMEDOUT') return check('timeout');
    return check('error', code ?? (error as Error).message);
  }
  socket.destroy();
  return check('open');
}
