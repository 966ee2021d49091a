// `fstack-kni disable`: turn `[kni]` off in f-stack.conf (enable=0, the rest kept) and, with
// --restart, restart F-Stack's unit so that it drops veth<N>.
import { disableKniOperations } from '../../service/kni-config.js';
import { parseCommandArgs } from '../arguments.js';
import type { Command } from '../run.js';
import { TOGGLE_OPTIONS, TOGGLE_USAGE, toggle } from './enable.js';

const USAGE = `Usage: fstack-kni disable [options]

Turns off F-Stack's KNI exception path: sets enable=0 in [kni] of f-stack.conf and keeps
its other keys, so "fstack-kni enable" can turn it on again as it was. The edit is
validated as F-Stack reads the file, locked and atomic. Nothing is written when KNI is
off already. With --restart, F-Stack's unit is then restarted; nothing is waited for, as
F-Stack creates no veth<N> without KNI.

Options:
${TOGGLE_USAGE}
Exit codes: 0 done, 1 edit rejected or restart failed, 2 usage, 4 no permission, no
systemd or no D-Bus.
`;

export const command: Command = {
  summary: 'turn off KNI in f-stack.conf; with --restart also restart F-Stack',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('disable', argv, TOGGLE_OPTIONS);
    return toggle(values, disableKniOperations, 'disable');
  },
};
