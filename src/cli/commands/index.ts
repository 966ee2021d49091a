// The command table. Each command module exports one Command; modules load on demand so a
// command only pays for what it imports.
import type { CommandTable } from '../run.js';

export const commands: CommandTable = {
};
