// Benchmark worker for restart-to-configured time: runs bench/restart.ts's measurement in
// both modes (the restart operation, and `fstack-kni watch`) and prints one JSON line with
// both results, or with the reason it cannot run here.
//
// Usage: node dist-bench/bench/worker-restart.js COUNT
import { systemdSkipReason } from '../test/helpers/systemd.js';
import { measureRestarts } from './restart.js';

const count = Number(process.argv[2] ?? 20);
if (systemdSkipReason !== undefined) {
  process.stdout.write(`${JSON.stringify({ skipped: systemdSkipReason })}\n`);
} else {
  const restart = await measureRestarts({ count });
  const watch = await measureRestarts({ count, watch: true });
  process.stdout.write(`${JSON.stringify({ restart, watch })}\n`);
}
