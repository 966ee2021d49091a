// Benchmark of the runbook loop after an F-Stack restart. It measures the time from the end
// of the restart job until veth0 is fully configured (up, address, default route), once
// with the `restart` operation doing the work and once with `fstack-kni watch` running.
// It also measures the time from the interface's appearance to fully configured. A miss is
// a restart after which veth0 was not configured within 10 s.
//
// F-Stack is played by a unit of a private systemd (test/helpers/systemd.ts) whose process
// keeps a tap named veth0 open in a throwaway netns, so each restart removes the interface
// and brings it back empty. The benchmark watches the namespace with its own rtnetlink
// subscription, independent of the code it measures. Needs root, `npm run install` and
// `npm run build`.
//
// Build and run (from the repository root):
//   npx tsc -p tsconfig.bench.json && node dist-bench/bench/restart.js [COUNT]   (default 200)
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTestNetns, removeTestNetns } from '../test/helpers/netns.js';
import { type PrivateSystemd, startPrivateSystemd } from '../test/helpers/systemd.js';

type Library = typeof import('../dist/index.js');
type RtnlModule = typeof import('../dist/rtnl/index.js');
type ManagerModule = typeof import('../dist/service/manager.js');
type ModelModule = typeof import('../dist/config/model.js');
type Rtnl = import('../dist/rtnl/index.js').Rtnl;
type RtnlEvent = import('../dist/rtnl/index.js').RtnlEvent;
type SystemdManager = import('../dist/service/manager.js').SystemdManager;

const ADDRESS = '192.0.2.79';
const GATEWAY = '192.0.2.1';
const MISS_AFTER_MS = 10_000;

/** Median, 99th percentile and maximum of a sample, in ms. */
export interface Distribution {
  samples: number;
  median: number;
  p99: number;
  max: number;
}

export interface RestartMeasurement {
  mode: 'restart' | 'watch';
  count: number;
  /** Restarts after which veth0 was not configured within 10 s. */
  misses: number;
  /** Headline: job end to fully configured. */
  median: number;
  p99: number;
  jobToConfigured: Distribution;
  /** Job end to veth0's link notification: the stand-in's start-up, not fstack-kni's work. */
  jobToLink: Distribution;
  /** veth0's link notification to fully configured, seen by the benchmark's own subscription. */
  linkToConfigured: Distribution;
  /** The restart job itself (RestartUnit to JobRemoved). */
  restartJob: Distribution;
  /** watch mode: the `sinceLinkEventMs` that the watcher logs itself. */
  watchSinceLinkEvent?: Distribution;
}

export interface MeasureOptions {
  count: number;
  /** Measure with `fstack-kni watch` running (true) or with the restart operation (false, default). */
  watch?: boolean;
}

/** Returns the repository root: the nearest directory above this file with fstack-kni's package.json. */
function findRepoRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'fstack-kni'
    )
      return directory;
    const parent = dirname(directory);
    if (parent === directory)
      throw new Error('cannot find the fstack-kni repository above this script');
    directory = parent;
  }
}

const repoRoot = findRepoRoot();
const load = <T>(path: string): Promise<T> =>
  import(pathToFileURL(join(repoRoot, 'dist', path)).href) as Promise<T>;

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return {
    samples: sorted.length,
    median: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/**
 * Follows veth0 in the namespace and reports when a link with an ifindex other than the
 * previous one is up with the address and the default route.
 */
class ConfiguredObserver {
  #index: number | undefined;
  #up = false;
  #address = false;
  #route = false;
  #appearedAt = 0;
  #waiter:
    | {
        previous: number | undefined;
        resolve: (result: { index: number; appearedAt: number; configuredAt: number }) => void;
      }
    | undefined;

  constructor(links: Array<{ name: string; index: number; up: boolean }>) {
    const veth = links.find((link) => link.name === 'veth0');
    this.#index = veth?.index;
  }

  get index(): number | undefined {
    return this.#index;
  }

  readonly listener = (event: RtnlEvent): void => {
    const now = performance.now();
    if (event.kind === 'link' && event.object.name === 'veth0') {
      if (event.action === 'delete') {
        this.#index = undefined;
      } else {
        if (event.object.index !== this.#index) {
          this.#index = event.object.index;
          this.#appearedAt = now;
          this.#address = false;
          this.#route = false;
        }
        this.#up = event.object.up;
      }
    } else if (
      event.kind === 'address' &&
      event.object.index === this.#index &&
      event.object.address === ADDRESS
    ) {
      this.#address = event.action === 'new';
    } else if (
      event.kind === 'route' &&
      event.object.index === this.#index &&
      event.object.prefixLength === 0 &&
      event.object.gateway === GATEWAY
    ) {
      this.#route = event.action === 'new';
    } else if (event.kind === 'overflow') {
      process.stderr.write(
        'bench: the observer lost notifications; this restart may count as a miss\n',
      );
    }
    this.#check(now);
  };

  /** Resolves once veth0 has an ifindex other than `previous` and is configured. */
  configured(
    previous: number | undefined,
  ): Promise<{ index: number; appearedAt: number; configuredAt: number }> {
    return new Promise((resolve) => {
      this.#waiter = { previous, resolve };
      this.#check(performance.now());
    });
  }

  cancel(): void {
    this.#waiter = undefined;
  }

  #check(now: number): void {
    const waiter = this.#waiter;
    if (waiter === undefined || this.#index === undefined || this.#index === waiter.previous)
      return;
    if (!(this.#up && this.#address && this.#route)) return;
    this.#waiter = undefined;
    waiter.resolve({ index: this.#index, appearedAt: this.#appearedAt, configuredAt: now });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `count` restarts of the F-Stack stand-in and measures each. */
export async function measureRestarts(options: MeasureOptions): Promise<RestartMeasurement> {
  const library = await load<Library>('index.js');
  const { Rtnl } = await load<RtnlModule>('rtnl/index.js');
  const { SystemdManager } = await load<ManagerModule>('service/manager.js');
  const { loadConfig } = await load<ModelModule>('config/model.js');

  const dir = mkdtempSync(join(tmpdir(), 'fstack-kni-bench-'));
  const netns = createTestNetns('fkbench');
  let systemd: PrivateSystemd | undefined;
  let watch: ChildProcess | undefined;
  let nl: Rtnl | undefined;
  let manager: SystemdManager | undefined;

  try {
    const config = join(dir, 'f-stack.conf');
    writeFileSync(
      config,
      `[dpdk]\nlcore_mask=1\nport_list=0\n\n[port0]\naddr=${ADDRESS}\nnetmask=255.255.255.0\nbroadcast=192.0.2.255\ngateway=${GATEWAY}\n\n[kni]\nenable=1\nmethod=accept\ntcp_port=22\n`,
    );
    const script = join(dir, 'fake-fstack.mjs');
    writeFileSync(
      script,
      `import { createTun } from ${JSON.stringify(join(repoRoot, 'dist', 'rtnl', 'tun.js'))};\n` +
        "const tap = createTun({ name: 'veth0', tap: true });\n" +
        "process.on('SIGTERM', () => { tap.close(); process.exit(0); });\nsetInterval(() => {}, 1 << 30);\n",
    );

    systemd = await startPrivateSystemd();
    await systemd.writeUnit(
      'fstack.service',
      `[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nType=simple\nNetworkNamespacePath=/run/netns/${netns}\nExecStart=${process.execPath} ${script}\n`,
    );
    await systemd.systemctl('start', 'fstack.service');

    nl = Rtnl.open({ netns: { name: netns } });
    manager = await SystemdManager.connect({ bus: { address: systemd.busAddress } });
    const observer = new ConfiguredObserver(await nl.links.list());
    const subscription = nl.subscribe(
      { links: true, addresses: true, routes: true },
      observer.listener,
    );

    const watchSince: number[] = [];
    if (options.watch === true) {
      watch = spawn(
        process.execPath,
        [
          join(repoRoot, 'dist', 'cli', 'main.js'),
          'watch',
          '--json-log',
          '--config',
          config,
          '--netns',
          netns,
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const started = new Promise<void>((resolve) => {
        createInterface({ input: watch?.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          const record = JSON.parse(line) as { event: string; sinceLinkEventMs?: number };
          if (record.event === 'start') resolve();
          if (record.event === 'configured' && record.sinceLinkEventMs !== undefined)
            watchSince.push(record.sinceLinkEventMs);
        });
      });
      await started;
    }

    const loaded = await loadConfig(config);
    const desired = library.desiredState(loaded.config, { fstackVersion: loaded.version });
    const jobToConfigured: number[] = [];
    const linkToConfigured: number[] = [];
    const jobToLink: number[] = [];
    const restartJob: number[] = [];
    let misses = 0;

    for (let i = 0; i < options.count; i += 1) {
      const previous = observer.index;
      const done = observer.configured(previous);

      if (options.watch === true) {
        const job = await manager.restartUnit('fstack.service');
        const jobEnd = performance.now();
        restartJob.push(job.durationMs);
        const result = await withTimeout(done, MISS_AFTER_MS);
        if (result === 'timeout' || job.result !== 'done') {
          misses += 1;
          observer.cancel();
          continue;
        }
        jobToConfigured.push(result.configuredAt - jobEnd);
        jobToLink.push(result.appearedAt - jobEnd);
        linkToConfigured.push(result.configuredAt - result.appearedAt);
      } else {
        let report: Awaited<ReturnType<Library['restartAndConverge']>>;
        try {
          report = await library.restartAndConverge({
            manager,
            nl,
            unit: 'fstack.service',
            desired,
            timeoutMs: MISS_AFTER_MS,
            netns,
          });
        } catch {
          misses += 1;
          observer.cancel();
          continue;
        }
        const result = await withTimeout(done, MISS_AFTER_MS);
        if (!report.ok || result === 'timeout') {
          misses += 1;
          observer.cancel();
          continue;
        }
        restartJob.push(report.timings.restartJobMs);
        jobToConfigured.push(report.timings.jobToConfiguredMs);
        jobToLink.push(report.timings.jobToInterfacesMs);
        linkToConfigured.push(result.configuredAt - result.appearedAt);
      }
    }
    subscription.close();
    // The watcher logs "configured" after its verifying dump, which can end after the
    // benchmark saw the last route notification.
    for (
      let wait = 0;
      options.watch === true && wait < 40 && watchSince.length < options.count - misses;
      wait += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const headline = distribution(jobToConfigured);
    return {
      mode: options.watch === true ? 'watch' : 'restart',
      count: options.count,
      misses,
      median: headline.median,
      p99: headline.p99,
      jobToConfigured: headline,
      jobToLink: distribution(jobToLink),
      linkToConfigured: distribution(linkToConfigured),
      restartJob: distribution(restartJob),
      ...(options.watch === true ? { watchSinceLinkEvent: distribution(watchSince) } : {}),
    };
  } finally {
    if (watch !== undefined && watch.exitCode === null) {
      const exited = new Promise((resolve) => watch?.once('exit', resolve));
      watch.kill('SIGTERM');
      await withTimeout(exited, 10_000);
    }
    manager?.close();
    nl?.close();
    await systemd?.stop();
    removeTestNetns(netns);
    rmSync(dir, { recursive: true, force: true });
  }
}

function format(d: Distribution): string {
  return `median ${d.median.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms (${d.samples} samples)`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const count = Number(process.argv[2] ?? 200);
  for (const watch of [false, true]) {
    const result = await measureRestarts({ count, watch });
    console.log(`${result.mode}: ${result.count} restarts, ${result.misses} misses`);
    console.log(`  job end -> configured:   ${format(result.jobToConfigured)}`);
    console.log(`  job end -> link event:   ${format(result.jobToLink)}`);
    console.log(`  link event -> configured: ${format(result.linkToConfigured)}`);
    console.log(`  restart job:             ${format(result.restartJob)}`);
    if (result.watchSinceLinkEvent !== undefined)
      console.log(`  watch's own sinceLinkEventMs: ${format(result.watchSinceLinkEvent)}`);
  }
}
