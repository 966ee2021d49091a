// `fstack-kni demo` (and `npm start`): the runbook's case in a sandbox netns on a machine
// without F-Stack.
import { DEMO_NETNS, type DemoReport, runDemo } from '../../kni/demo.js';
import { checkNetnsName } from '../../netlink/netns.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style, UsageError } from '../output.js';
import type { Command } from '../run.js';
import { renderReport } from './apply.js';
import { renderExplanation } from './explain.js';
import { renderStatus } from './status.js';

const USAGE = `Usage: fstack-kni demo [--keep] [--netns NAME] [--json]

Shows the whole job on a machine without F-Stack: creates the network namespace
${DEMO_NETNS}, a tap named veth0 held open the way F-Stack >= 1.25 does, and an example
f-stack.conf (port 0 at 192.0.2.79/24, gateway 192.0.2.1, [kni] method=accept tcp_port=22).
Then it shows the state before, applies, shows the state after and the packet steering.
It starts a listener on 192.0.2.79:22 inside the namespace that sends an SSH version
line, connects there from inside the namespace and reads the line, and proves through
the tap that 192.0.2.79 answers ARP, and a TCP SYN to port 22 with SYN-ACK. Finally it
removes the sandbox. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).

Options:
  --keep          leave the namespace, the tap and the config, and print how to remove them
  --netns NAME    name of the sandbox namespace (default ${DEMO_NETNS}); it must not exist
  --json          print one JSON document on stdout

Exit codes: 0 every step worked, 1 a step failed, 2 usage, 4 a needed facility is missing.
`;

const OPTIONS = {
  keep: { type: 'boolean' },
  netns: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'run the runbook case in a sandbox netns, without F-Stack',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs('demo', argv, OPTIONS);
    if (values.netns !== undefined) {
      try {
        checkNetnsName(values.netns);
      } catch (error) {
        throw new UsageError(`--netns: ${(error as Error).message}`);
      }
    }
    const report = await runDemo({
      keep: values.keep ?? false,
      ...(values.netns !== undefined ? { netns: values.netns } : {}),
    });

    if (values.json ?? false) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(renderDemo(report));
    }

    if (report.ok) return ExitCode.Ok;
    const failed = report.steps.filter((s) => !s.ok);
    return failed.every((s) => s.unavailable === true) ? ExitCode.Unavailable : ExitCode.Failed;
  },
};

function renderDemo(report: DemoReport): string {
  const parts: string[] = [];
  const config = report.configPath ?? 'f-stack.conf';

  if (report.before !== undefined)
    parts.push(
      style('State before apply', 'bold'),
      renderStatus(report.before, config, report.netns, []),
    );
  if (report.apply !== undefined && report.desired !== undefined) {
    parts.push(style('Apply', 'bold'), renderReport(report.apply, report.desired, report.netns));
  }
  if (report.after !== undefined)
    parts.push(
      style('State after apply', 'bold'),
      renderStatus(report.after, config, report.netns, []),
    );
  if (report.explanation !== undefined)
    parts.push(
      style('Packet steering', 'bold'),
      renderExplanation(
        report.explanation,
        report.after?.kni ?? report.before?.kni ?? { enable: true, tcpPorts: [], udpPorts: [] },
      ),
    );

  parts.push(style('Steps', 'bold'));
  for (const step of report.steps) {
    const mark = step.ok
      ? style('ok  ', 'green')
      : style(step.unavailable === true ? 'n/a ' : 'FAIL', 'red');
    parts.push(`  ${mark} ${step.title}: ${step.detail}`);
  }
  for (const command of report.removal) parts.push(`  to remove: ${command}`);
  parts.push(
    report.ok
      ? style('Demo succeeded.', 'green')
      : style('Demo did not complete every step.', 'red'),
  );
  return `${parts.join('\n')}\n`;
}
