// `fstack-kni watch`: the long-running reconciler that keeps veth<N> configured across
// F-Stack restarts and drift. Parses options, wires signals and the log to KniWatcher.

import { DEFAULT_CONFIG_PATH } from '../../kni/options.js';
import { describeNetnsOpenError } from '../../netlink/netns.js';
import { KniWatcher } from '../../service/watch.js';
import { streamLogger } from '../../service/watch-log.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, UsageError } from '../output.js';
import type { Command } from '../run.js';
import { parseBusOption, parseUnitOption } from './restart.js';
import { TARGET_OPTIONS, TARGET_USAGE, targetOptions } from './target.js';

const { json: _json, ...TARGET_OPTIONS_WITHOUT_JSON } = TARGET_OPTIONS;

const WATCH_OPTIONS = {
  ...TARGET_OPTIONS_WITHOUT_JSON,
  unit: { type: 'string' },
  bus: { type: 'string' },
  prune: { type: 'boolean' },
  'json-log': { type: 'boolean' },
  // Undocumented: a small buffer makes the kernel drop notifications, to exercise resync.
  'receive-buffer': { type: 'string' },
} as const;

const USAGE = `Usage: fstack-kni watch [options]

Keeps the kernel side of F-Stack's KNI exception path configured. A long-running
reconciler: it applies f-stack.conf to veth<N> each time the interface appears (after
every F-Stack start) or drifts (a link state, address or default route changed by
something else). Meant to run as fstack-kni-watch.service next to F-Stack's unit.

It logs one line per notification about a managed interface and per action, with an
ISO 8601 time, on stdout. For each interface that appeared, the "configured" line gives
the time from the link notification to the converged state (sinceLinkEventMs).
SIGHUP reloads f-stack.conf, as does a change of the file. A config that fails
validation is logged and the last good one kept. After a reload, the addresses and
default routes that the previous config requested and the new one does not are removed.
SIGTERM and SIGINT stop it (exit 0).

Options:
${TARGET_USAGE.split('\n')
  .filter((line) => !line.startsWith('  --json'))
  .join('\n')}  --unit NAME             also log each job of F-Stack's unit that ends, and time the
                          configured state from it (sinceUnitJobMs)
  --bus BUS               systemd to ask about --unit: system (default), user or a D-Bus
                          address (see fstack-kni restart --help)
  --prune                 also remove addresses and routes on the managed interfaces that
                          f-stack.conf does not ask for
  --json-log              log JSON lines instead of readable lines

Exit codes: 0 stopped by SIGTERM or SIGINT, 1 the config is invalid at start, 2 usage,
4 no permission.
`;

export const command: Command = {
  summary: 'keep veth<N> configured: re-apply f-stack.conf whenever it appears or drifts',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('watch', argv, WATCH_OPTIONS);
    const bus = parseBusOption(values.bus);
    const unit = values.unit === undefined ? undefined : parseUnitOption(values.unit);
    const receiveBuffer = parseReceiveBuffer(values['receive-buffer']);
    const log = streamLogger({ json: values['json-log'] === true });

    let watcher: KniWatcher | undefined;
    let stopSignal: string | undefined;
    let reloadRequested = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (watcher === undefined) stopSignal = signal;
      else void watcher.stop(`${signal} received`);
    };
    const onHangup = (): void => {
      log({ level: 'info', event: 'signal', signal: 'SIGHUP', note: 'reloading the config' });
      if (watcher === undefined) reloadRequested = true;
      else void watcher.reload();
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHangup);

    try {
      watcher = await KniWatcher.start({
        configPath: values.config ?? DEFAULT_CONFIG_PATH,
        desiredOptions: (loaded) => targetOptions(values, loaded),
        log,
        ...(values['fstack-version'] === undefined
          ? {}
          : { fstackVersion: values['fstack-version'] }),
        ...(values.netns === undefined ? {} : { netns: values.netns }),
        ...(values.prune === undefined ? {} : { prune: values.prune }),
        ...(unit === undefined ? {} : { unit, bus }),
        ...(receiveBuffer === undefined ? {} : { receiveBuffer }),
      });
      if (reloadRequested) void watcher.reload();
      if (stopSignal !== undefined) void watcher.stop(`${stopSignal} received`);
      await watcher.stopped;
      return ExitCode.Ok;
    } catch (caught) {
      const error =
        values.netns === undefined ? caught : describeNetnsOpenError(values.netns, caught);
      const code = (error as { code?: unknown }).code;
      if (code === 'EPERM' || code === 'EACCES')
        Object.assign(error as Error, { exitCode: ExitCode.Unavailable });
      throw error;
    } finally {
      process.removeListener('SIGTERM', onStop);
      process.removeListener('SIGINT', onStop);
      process.removeListener('SIGHUP', onHangup);
    }
  },
};

function parseReceiveBuffer(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > 0x7fffffff) {
    throw new UsageError(
      `--receive-buffer ${JSON.stringify(text)} is not a number of bytes from 1 to ${0x7fffffff}`,
    );
  }
  return Number(text);
}
