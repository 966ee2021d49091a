// Checks of numeric values: F-Stack reads them with atoi, which turns "yes" into 0 and "10s"
// into 10 without a warning.
import { atoi, isCleanInteger } from './c-parsers.js';
import type { Finding } from './diagnostics.js';
import { keySpec } from './schema.js';
import type { ValidationInput } from './validate.js';
import { routeSection } from './validate-names.js';

export function checkValues(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  for (const entry of input.run.config.entries) {
    if (entry.status !== 'applied') continue;
    const routed = routeSection(entry.section, input.version);
    if (routed === undefined || routed.spec.anyKey) continue;
    const spec = keySpec(routed.spec.kind, entry.name);
    if (spec?.kind !== 'integer' || isCleanInteger(entry.value)) continue;

    // "1 # on" reads as 1, as intended; the # text is reported on its own.
    if (/^[+-]?[0-9]+\s+#/.test(entry.value)) continue;

    const read = atoi(entry.value);
    findings.push({
      code: 'number-invalid',
      message:
        entry.value === ''
          ? `${entry.name} of [${entry.section}] is empty; F-Stack reads it as 0`
          : `${entry.name} of [${entry.section}] is not an integer; F-Stack's atoi reads "${entry.value}" as ${read}`,
      line: entry.line,
      column: entry.valueColumn,
      value: entry.value,
      fix: `write a decimal integer, e.g. ${entry.name}=${entry.name === 'enable' ? 1 : Math.max(read, 0)}`,
    });
  }
  return findings;
}
