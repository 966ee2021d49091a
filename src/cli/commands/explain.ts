// `fstack-kni explain`: which stack receives each kind of packet under the [kni] settings.
import { formatDiagnostic } from '../../config/diagnostics.js';
import { KniError } from '../../kni/errors.js';
import {
  type Explanation,
  explainPackets,
  type PacketKind,
  parsePacket,
  type Receiver,
} from '../../kni/explain.js';
import { DEFAULT_CONFIG_PATH } from '../../kni/options.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style, UsageError } from '../output.js';
import type { Command } from '../run.js';
import { loadValidConfig } from './target.js';

const USAGE = `Usage: fstack-kni explain [PACKET ...] [options]

Tells which stack receives each kind of packet arriving on an F-Stack port: the kernel
(through veth<N>), F-Stack, or both, under the [kni] settings of f-stack.conf and the
F-Stack version, and warns about traffic steered to the wrong stack.

Packets: tcp/PORT, udp/PORT, icmp, icmp6, arp, ndp, ospf, multicast, other.
Without packets: the tcp_port and udp_port entries, icmp, arp, ndp and one unlisted TCP port.

Options:
  --config PATH           f-stack.conf to read (default ${DEFAULT_CONFIG_PATH})
  --fstack-version V      F-Stack version on the host: 1.21 ... 1.25 or dev (default 1.25)
  --json                  print one JSON document on stdout
`;

const OPTIONS = {
  config: { type: 'string' },
  'fstack-version': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'tell which stack (kernel, F-Stack or both) receives each kind of packet',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs('explain', argv, OPTIONS, true);
    const path = values.config ?? DEFAULT_CONFIG_PATH;
    const packets = parsePackets(positionals);

    const { loaded, warnings } = await loadValidConfig(path, values['fstack-version'], true);
    const explanation = explainPackets(loaded.config.kni, loaded.version, packets);

    if (values.json ?? false) {
      const document = {
        config: path,
        fstackVersion: explanation.fstackVersion,
        kni: steeringSummary(loaded.config.kni),
        verdicts: explanation.verdicts,
        warnings: explanation.warnings,
        configWarnings: warnings.map(formatDiagnostic),
      };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      process.stdout.write(renderExplanation(explanation, loaded.config.kni));
    }
    return ExitCode.Ok;
  },
};

function parsePackets(texts: string[]): PacketKind[] {
  try {
    return texts.map(parsePacket);
  } catch (error) {
    if (error instanceof KniError) throw new UsageError(error.message);
    throw error;
  }
}

interface SteeringKeys {
  enable: boolean;
  method?: string;
  tcpPorts: readonly number[];
  udpPorts: readonly number[];
  kniAction?: string;
}

function steeringSummary(kni: SteeringKeys): string {
  if (!kni.enable) return 'enable=0';
  const parts = [`enable=1`, `method=${kni.method ?? '(missing)'}`];
  parts.push(
    `tcp_port=${kni.tcpPorts.join(',') || '-'}`,
    `udp_port=${kni.udpPorts.join(',') || '-'}`,
  );
  if (kni.kniAction !== undefined) parts.push(`kni_action=${kni.kniAction}`);
  return parts.join(' ');
}

/** Renders the explanation as a table of packet, receiver and rule, then the warnings. */
export function renderExplanation(explanation: Explanation, kni: SteeringKeys): string {
  const lines = [`F-Stack ${explanation.fstackVersion}, [kni] ${steeringSummary(kni)}`];
  const width = Math.max(20, ...explanation.verdicts.map((v) => v.packet.length + 2));
  lines.push(`  ${'packet'.padEnd(width)} ${'receiver'.padEnd(9)} rule`);
  for (const verdict of explanation.verdicts) {
    lines.push(
      `  ${verdict.packet.padEnd(width)} ${receiverStyle(verdict.receiver)} ${verdict.rule}`,
    );
  }
  if (explanation.warnings.length > 0) {
    lines.push('Warnings:');
    for (const warning of explanation.warnings) lines.push(`  - ${warning}`);
  }
  return `${lines.join('\n')}\n`;
}

function receiverStyle(receiver: Receiver): string {
  const text = (receiver === 'fstack' ? 'F-Stack' : receiver).padEnd(9);
  if (receiver === 'kernel') return style(text, 'green');
  if (receiver === 'both') return style(text, 'yellow');
  return text;
}
