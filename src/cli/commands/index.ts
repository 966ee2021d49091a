// The command table. Each command module exports one Command; modules load on demand so a
// command only pays for what it imports.
import type { CommandTable } from '../run.js';

export const commands: CommandTable = {
  config: async () => (await import('./config.js')).configCommand,
  apply: async () => (await import('./apply.js')).command,
  status: async () => (await import('./status.js')).command,
  explain: async () => (await import('./explain.js')).command,
  demo: async () => (await import('./demo.js')).command,
  restart: async () => (await import('./restart.js')).command,
  enable: async () => (await import('./enable.js')).command,
  disable: async () => (await import('./disable.js')).command,
  watch: async () => (await import('./watch.js')).command,
  export: async () => (await import('./export.js')).command,
};
