// fstack-kni command-line program: picks the command and maps errors to exit codes. The build
// bundles it into dist/cli/program.js, which dist/cli/main.js (src/cli/main.cts) loads.
import { commands } from './commands/index.js';
import { runCommand } from './run.js';

// No top-level await: the bundle is CommonJS, which starts faster on Node 20 than ES modules.
runCommand(commands, process.argv.slice(2)).then((exitCode) => {
  process.exitCode = exitCode;
});
