#!/usr/bin/env node
// fstack-kni command-line entry: picks the command and maps errors to exit codes.
import { commands } from './commands/index.js';
import { runCommand } from './run.js';

process.exitCode = await runCommand(commands, process.argv.slice(2));
