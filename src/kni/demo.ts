// The sandbox demo: the runbook's case end to end on a machine without F-Stack. A network
// namespace stands in for the host, a tap named veth0 held open by this process stands in
// for the one F-Stack >= 1.25 creates, and frames written to that tap stand in for the
// packets F-Stack hands to the kernel.
import { read, write } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../config/model.js';
import { createNetns, deleteNetns } from '../netlink/netns.js';
import { connectTcp, listenTcp } from '../netlink/tcp.js';
import { Rtnl } from '../rtnl/index.js';
import { createTun, type TunDevice } from '../rtnl/tun.js';
import { type ConvergeReport, converge } from './converge.js';
import { type DesiredState, desiredState } from './desired.js';
import { type Explanation, explainPackets } from './explain.js';
import {
  arpRequest,
  parseArpReply,
  parseTcpFrame,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  tcpFrame,
} from './frames.js';
import { rtnlKernel } from './kernel.js';
import { readLiveState } from './live.js';
import { diagnose, type StatusReport } from './status.js';

/** Default name of the sandbox namespace. */
export const DEMO_NETNS = 'fstack-kni-demo';

/** The runbook's f-stack.conf, with documentation addresses. */
export const DEMO_CONFIG = `; Written by fstack-kni demo: the runbook's case.
[dpdk]
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

const SHARED_ADDRESS = '192.0.2.79';
/** The port [kni] tcp_port hands to the kernel, where the sandbox's listener runs. */
const SSH_PORT = 22;
/** Greeting the sandbox's listener sends to each client, in the form of an SSH version line. */
export const DEMO_BANNER = 'SSH-2.0-fstack-kni-demo\r\n';
/** The client the probe frames come from: a host on the port's subnet. */
const CLIENT = { mac: '02:00:5e:00:02:0a', ip: '192.0.2.10', port: 40022 };
/** How long the probe waits for each reply from the kernel. */
const ANSWER_TIMEOUT_MS = 3000;

export interface DemoStep {
  title: string;
  ok: boolean;
  detail: string;
  /**
   * True when the step failed because a facility is missing (not because of a wrong
   * result), so the command exits with "unavailable".
   */
  unavailable?: boolean;
}

export interface DemoOptions {
  /** Leave the namespace, the tap and the config in place. */
  keep?: boolean;
  netns?: string;
}

export interface DemoReport {
  ok: boolean;
  netns: string;
  configPath?: string;
  steps: DemoStep[];
  desired?: DesiredState;
  before?: StatusReport;
  apply?: ConvergeReport;
  after?: StatusReport;
  explanation?: Explanation;
  /** With --keep: commands that remove what the demo left. */
  removal: string[];
}

const readAsync = promisify(read);
const writeAsync = promisify(write);

/**
 * Runs the demo and cleans up what it created (unless `keep`). A failed step, including an
 * unexpected exception, is recorded in `steps` instead of thrown.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const netns = options.netns ?? DEMO_NETNS;
  const report: DemoReport = { ok: false, netns, steps: [], removal: [] };
  const step = (title: string, ok: boolean, detail: string, unavailable = false): boolean => {
    report.steps.push({ title, ok, detail, ...(unavailable ? { unavailable } : {}) });
    return ok;
  };

  let createdNetns = false;
  let nl: Rtnl | undefined;
  let tap: TunDevice | undefined;
  let reader: FrameReader | undefined;
  let listener: Server | undefined;
  let directory: string | undefined;

  try {
    createNetns(netns);
    createdNetns = true;
    step('create the sandbox network namespace', true, `netns ${netns}`);
  } catch (error) {
    const exists = (error as { code?: unknown }).code === 'EEXIST';
    const detail = exists
      ? `netns ${netns} exists (left by demo --keep?); remove it with: ip netns delete ${netns}, or choose --netns NAME`
      : (error as Error).message;
    step('create the sandbox network namespace', false, detail);
    return report;
  }

  try {
    nl = Rtnl.open({ netns: { name: netns } });
    await nl.links.setUp('lo', true);
    tap = createTun({ name: 'veth0', tap: true, persist: false, netns: { name: netns } });
    reader = new FrameReader(tap.fd);
    step(
      'create veth0 as F-Stack >= 1.25 does',
      true,
      'a tap held open by this process; it vanishes when the fd closes',
    );

    directory = await mkdtemp(join(tmpdir(), 'fstack-kni-demo-'));
    report.configPath = join(directory, 'f-stack.conf');
    await writeFile(report.configPath, DEMO_CONFIG);
    step('write f-stack.conf', true, report.configPath);

    const loaded = parseConfig(DEMO_CONFIG, { file: report.configPath, fstackVersion: '1.25' });
    const desired = desiredState(loaded.config, { fstackVersion: loaded.version });
    report.desired = desired;
    const environment = { exists: () => true };
    const statusInput = {
      config: loaded.config,
      configErrors: [],
      options: { fstackVersion: loaded.version },
    };

    report.before = diagnose({ ...statusInput, live: await readLiveState(nl), environment });
    step(
      'read the state before',
      true,
      `${report.before.problems.length} problem(s), as after an F-Stack start`,
    );

    report.apply = await converge(desired, rtnlKernel(nl), { netns });
    const applied = step(
      'apply f-stack.conf',
      report.apply.ok,
      `${report.apply.steps.length} change(s) in ${report.apply.timings.totalMs.toFixed(1)} ms`,
    );

    report.after = diagnose({ ...statusInput, live: await readLiveState(nl), environment });
    step(
      'read the state after',
      report.after.ok,
      report.after.ok ? 'no problems' : `${report.after.problems.length} problem(s)`,
    );

    report.explanation = explainPackets(loaded.config.kni, loaded.version);
    const ssh = report.explanation.verdicts.find((v) => v.packet === 'tcp/22');
    step(
      'explain packet steering',
      ssh?.receiver === 'kernel',
      `tcp/22 goes to ${ssh?.receiver ?? 'nobody'}`,
    );

    if (applied) {
      listener = await startListener(netns, step);
      if (listener !== undefined) await readBanner(netns, step);
      await probe(reader, tap, listener !== undefined, step);
    }
  } catch (error) {
    step('unexpected error', false, error instanceof Error ? error.message : String(error));
  } finally {
    await cleanUp({
      keep: options.keep ?? false,
      netns,
      createdNetns,
      nl,
      tap,
      reader,
      listener,
      directory,
      report,
      step,
    });
  }

  report.ok = report.steps.every((s) => s.ok);
  return report;
}

/**
 * Starts the stand-in for sshd: a listener on 192.0.2.79:22 inside the sandbox that sends
 * DEMO_BANNER to each client and closes. Returns undefined when it cannot listen.
 */
async function startListener(netns: string, step: StepRecorder): Promise<Server | undefined> {
  const title = `TCP listener on ${SHARED_ADDRESS}:${SSH_PORT} inside the sandbox`;
  try {
    const server = await listenTcp(
      { netns: { name: netns }, address: SHARED_ADDRESS, port: SSH_PORT },
      (socket: Socket) => {
        socket.on('error', () => socket.destroy());
        socket.end(DEMO_BANNER);
      },
    );
    step(title, true, 'listening; it sends an SSH version line to each client');
    return server;
  } catch (error) {
    step(title, false, (error as Error).message);
    return undefined;
  }
}

/**
 * Proves the listener is reachable at the shared address from inside the sandbox, as a
 * client on the host itself reaches it (over the loopback path): connects there and reads
 * the banner. The SYN through veth0 in probe() covers the path from the wire.
 */
async function readBanner(netns: string, step: StepRecorder): Promise<void> {
  const title = `banner read from ${SHARED_ADDRESS}:${SSH_PORT} inside the sandbox`;
  let socket: Socket | undefined;
  try {
    socket = await connectTcp({
      netns: { name: netns },
      address: SHARED_ADDRESS,
      port: SSH_PORT,
      timeoutMs: ANSWER_TIMEOUT_MS,
    });
    const banner = await readToEnd(socket);
    step(title, banner === DEMO_BANNER, `read ${JSON.stringify(banner)}`);
  } catch (error) {
    step(title, false, (error as Error).message);
  } finally {
    socket?.destroy();
  }
}

/** Reads a socket until the peer closes it, within ANSWER_TIMEOUT_MS. */
async function readToEnd(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the listener did not close the connection within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

type StepRecorder = (title: string, ok: boolean, detail: string, unavailable?: boolean) => boolean;

/**
 * Proves the shared address works from the wire's side: an ARP request and a TCP SYN to
 * port 22 go into the tap as F-Stack would pass them on, and the kernel's replies come out.
 * With a listener on the port the kernel must reply with SYN-ACK, without one with a reset.
 */
async function probe(
  reader: FrameReader,
  tap: TunDevice,
  listening: boolean,
  step: StepRecorder,
): Promise<void> {
  await writeAsync(tap.fd, arpRequest(CLIENT.mac, CLIENT.ip, SHARED_ADDRESS));
  const arp = await reader.waitFor((frame) => {
    const reply = parseArpReply(frame);
    return reply?.senderIp === SHARED_ADDRESS ? reply : undefined;
  });
  if (
    !step(
      'ARP for 192.0.2.79 answered through veth0',
      arp !== undefined,
      arp === undefined ? 'no ARP reply' : `reply from ${arp.senderMac}`,
    )
  ) {
    return;
  }

  const sequence = 0x1000;
  const syn = {
    sourceMac: CLIENT.mac,
    destinationMac: (arp as { senderMac: string }).senderMac,
    sourceIp: CLIENT.ip,
    destinationIp: SHARED_ADDRESS,
  };
  await writeAsync(
    tap.fd,
    tcpFrame({
      ...syn,
      sourcePort: CLIENT.port,
      destinationPort: 22,
      sequence,
      acknowledgement: 0,
      flags: TCP_SYN,
      payload: Buffer.alloc(0),
    }),
  );
  const answer = await reader.waitFor((frame) => {
    const segment = parseTcpFrame(frame);
    return segment?.sourcePort === 22 && segment.destinationPort === CLIENT.port
      ? segment
      : undefined;
  });

  if (answer === undefined) {
    step('TCP to 192.0.2.79:22 through veth0', false, 'no answer from the kernel');
    return;
  }

  const synAck = (answer.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
  const reset = (answer.flags & TCP_RST) !== 0;
  if (synAck) {
    // Abort the half-open connection, as a client that gives up would.
    await writeAsync(
      tap.fd,
      tcpFrame({
        ...syn,
        sourcePort: CLIENT.port,
        destinationPort: 22,
        sequence: sequence + 1,
        acknowledgement: 0,
        flags: TCP_RST,
        payload: Buffer.alloc(0),
      }),
    );
  }
  if (listening) {
    step(
      'TCP listener on 192.0.2.79:22 reachable through veth0',
      synAck,
      synAck
        ? 'the kernel answered SYN with SYN-ACK'
        : `expected SYN-ACK, got flags 0x${answer.flags.toString(16)}`,
    );
    return;
  }
  step(
    'TCP to 192.0.2.79:22 reaches the kernel through veth0',
    reset,
    reset
      ? 'the kernel answered SYN with a reset, since nothing listens'
      : `expected a reset, got flags 0x${answer.flags.toString(16)}`,
  );
}

interface CleanUpContext {
  keep: boolean;
  netns: string;
  createdNetns: boolean;
  nl: Rtnl | undefined;
  tap: TunDevice | undefined;
  reader: FrameReader | undefined;
  listener: Server | undefined;
  directory: string | undefined;
  report: DemoReport;
  step: (title: string, ok: boolean, detail: string) => boolean;
}

async function cleanUp(context: CleanUpContext): Promise<void> {
  const { keep, netns, nl, tap, reader, listener, directory, report, step } = context;
  const problems: string[] = [];

  // The listener lives in this process, so it cannot stay behind even with --keep.
  if (listener !== undefined) await new Promise<void>((resolve) => listener.close(() => resolve()));

  try {
    if (tap !== undefined && keep) tap.setPersist(true);
    // Deleting the tap ends a read still waiting on it (the kernel shuts the queue down),
    // so this process can exit. With --keep, an ARP request makes the kernel send a frame.
    if (reader?.busy === true && tap !== undefined) {
      if (keep) await writeAsync(tap.fd, arpRequest(CLIENT.mac, CLIENT.ip, SHARED_ADDRESS));
      else await nl?.links.delete('veth0');
      await reader.settle();
    }
  } catch (error) {
    problems.push(`tap: ${(error as Error).message}`);
  }
  tap?.close();
  nl?.close();

  if (keep) {
    if (context.createdNetns) report.removal.push(`ip netns delete ${netns}`);
    if (directory !== undefined) report.removal.push(`rm -r ${directory}`);
    step(
      'keep the sandbox',
      problems.length === 0,
      problems.join('; ') || `netns ${netns} and ${directory ?? 'no config'} left in place`,
    );
    return;
  }

  if (context.createdNetns) {
    try {
      deleteNetns(netns);
    } catch (error) {
      problems.push(`netns: ${(error as Error).message}`);
    }
  }
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  if (context.createdNetns || directory !== undefined) {
    step(
      'remove the sandbox',
      problems.length === 0,
      problems.join('; ') || `netns ${netns} and the config removed`,
    );
  }
}

/**
 * Reads frames from a tap fd. The fd is blocking, so each read occupies a libuv worker
 * until a frame arrives. A read that outlives its wait is kept and reused, never doubled.
 */
class FrameReader {
  private pending: Promise<Buffer | undefined> | undefined;

  constructor(private readonly fd: number) {}

  /** True while a read is outstanding. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Reads frames until `match` returns a value or ANSWER_TIMEOUT_MS pass. */
  async waitFor<T>(match: (frame: Buffer) => T | undefined): Promise<T | undefined> {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const frame = await this.next(deadline - Date.now());
      if (frame === undefined) continue;
      const value = match(frame);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** Waits for the outstanding read, whatever it returns. */
  async settle(): Promise<void> {
    await this.pending;
  }

  private async next(waitMs: number): Promise<Buffer | undefined> {
    if (this.pending === undefined) {
      const buffer = Buffer.alloc(2048);
      this.pending = readAsync(this.fd, buffer, 0, buffer.length, null).then(
        ({ bytesRead }) => {
          this.pending = undefined;
          return buffer.subarray(0, bytesRead);
        },
        () => {
          this.pending = undefined;
          return undefined;
        },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, waitMs));
    });
    try {
      return await Promise.race([this.pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
