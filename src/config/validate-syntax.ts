// Checks of how F-Stack's inih reads the lines: syntax errors, cut lines, continuation lines,
// comment characters that do not start comments, and bytes that change a line's meaning.
import type { Finding } from './diagnostics.js';
import { decodeBytes, isCSpace } from './ini.js';
import { keySpec, matchSection } from './schema.js';
import type { ValidationInput } from './validate.js';
import { maxLineForVersion } from './versions.js';

/** Value kinds whose `#` text is reported by the address checks instead. */
const ADDRESS_KINDS = new Set(['ipv4', 'ipv6', 'ipv4-list', 'ipv6-list']);

export function checkSyntax(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  const cutLines = checkCutLines(input, findings);

  for (const event of input.scan.events) {
    if (event.kind === 'error') {
      if (cutLines.has(event.pos.line)) continue;
      findings.push(
        event.reason === 'unclosed-section'
          ? {
              code: 'syntax-unclosed-section',
              message: `section header has no closing ], so F-Stack stops reading the file here`,
              line: event.pos.line,
              column: event.pos.column,
              value: event.text,
              fix: event.text.includes(';')
                ? 'remove the ; comment inside the brackets (after whitespace it starts a comment) or close the name with ]'
                : 'close the section name with ], e.g. [kni]',
            }
          : {
              code: 'syntax-missing-separator',
              message:
                'line is not a comment, a [section] or name=value, so F-Stack stops reading the file here',
              line: event.pos.line,
              column: event.pos.column,
              value: event.text,
              fix: 'write name=value, or start the line with # to make it a comment',
            },
      );
      continue;
    }

    if (event.kind === 'section') {
      if (event.truncated) {
        findings.push({
          code: 'section-name-truncated',
          message: `section name is ${Buffer.byteLength(event.fullName, input.document.encoding)} bytes; F-Stack keeps only the first 49 ("${event.name}")`,
          line: event.pos.line,
          column: event.pos.column,
          value: event.fullName,
          fix: 'shorten the section name to at most 49 bytes',
        });
      }
      continue;
    }

    if (cutLines.has(event.pos.line)) continue;

    if (event.continuation) {
      const looksLikeKey = /^[A-Za-z_][A-Za-z0-9_.]*\s*[=:]/.test(event.value);
      findings.push({
        code: 'continuation-line',
        message: `indented line continues ${event.name} of [${event.section}]: F-Stack reads "${event.value}" as the new value of ${event.name}`,
        line: event.pos.line,
        column: 1,
        value: event.value,
        fix: looksLikeKey
          ? 'remove the leading whitespace so F-Stack reads it as a key of its own'
          : 'remove the leading whitespace, or comment the line out with #',
      });
      continue;
    }

    if (event.section === '' && event.name !== '') {
      findings.push({
        code: 'key-outside-section',
        message: `${event.name} comes before the first [section], so F-Stack ignores it`,
        line: event.pos.line,
        column: event.pos.column,
        value: event.value,
        fix: 'move the key into its section, e.g. below [dpdk]',
      });
    }
    if (event.name === '') {
      findings.push({
        code: 'key-empty-name',
        message: 'line has no key name before the separator, so F-Stack ignores it',
        line: event.pos.line,
        column: event.pos.column,
        value: event.value,
        fix: 'write name=value',
      });
    }

    const kind = matchSection(event.section)?.spec.kind;
    const spec =
      kind !== undefined && kind !== 'freebsd.boot' && kind !== 'freebsd.sysctl'
        ? keySpec(kind, event.name)
        : undefined;
    const hash = /\s#/.exec(event.value);
    if (hash !== null && !(spec !== undefined && ADDRESS_KINDS.has(spec.kind))) {
      findings.push({
        code: 'inline-hash-comment',
        message: `F-Stack keeps "${event.value.slice(hash.index).trim()}" as part of the value of ${event.name}: only ; after whitespace starts an inline comment`,
        line: event.valuePos.line,
        column: event.valuePos.column + Buffer.byteLength(event.value.slice(0, hash.index + 1)),
        value: event.value,
        fix: `write ${event.name}=${event.value.slice(0, hash.index).trim()} and move the comment to its own line or after " ;"`,
      });
    }
  }

  checkLineBytes(input, findings);
  return findings;
}

/**
 * Reports physical lines longer than F-Stack reads at once whose rest is more than whitespace.
 * Returns their line numbers, so other checks do not report the pieces again.
 */
function checkCutLines(input: ValidationInput, findings: Finding[]): Set<number> {
  const lines = new Set<number>();
  const readSize = maxLineForVersion(input.version) - 1;

  for (const chunk of input.scan.cutChunks) {
    if (lines.has(chunk.line)) continue;
    if ([...chunk.bytes].every((char) => isCSpace(char))) continue;
    lines.add(chunk.line);

    const text = input.document.lines[chunk.line - 1]?.text ?? '';
    const rest = decodeBytes(chunk.bytes, input.document.encoding).replace(/[\r\n]+$/, '');
    findings.push({
      code: 'line-too-long',
      message:
        `line is ${Buffer.byteLength(text, input.document.encoding)} bytes but F-Stack ${input.version} reads at most ${readSize} at a time ` +
        `(its line ending included); the rest from column ${chunk.start + 1} is read as a separate line`,
      line: chunk.line,
      column: chunk.start + 1,
      value: rest.length > 40 ? `${rest.slice(0, 40)}…` : rest,
      fix: `shorten the line to at most ${readSize - 1} bytes, e.g. by splitting a list or removing an inline comment`,
    });
  }
  return lines;
}

/** Reports carriage returns inside lines and NUL bytes. */
function checkLineBytes(input: ValidationInput, findings: Finding[]): void {
  input.document.lines.forEach((line, index) => {
    const nul = line.text.indexOf('\0');
    if (nul >= 0) {
      findings.push({
        code: 'nul-byte',
        message: 'line contains a NUL byte; F-Stack ignores everything after it on this line',
        line: index + 1,
        column: Buffer.byteLength(line.text.slice(0, nul), input.document.encoding) + 1,
        fix: 'remove the NUL byte',
      });
    }
    const cr = innerCarriageReturn(line.text);
    if (cr >= 0) {
      findings.push({
        code: 'lone-carriage-return',
        message:
          'line contains a carriage return that does not end it; F-Stack reads only \\n as a line end and keeps the \\r as text',
        line: index + 1,
        column: Buffer.byteLength(line.text.slice(0, cr), input.document.encoding) + 1,
        fix: 'replace the lone \\r with a line break (\\n or \\r\\n)',
      });
    }
  });
}

/** Index of the first \r followed by something other than whitespace, or -1 (trailing ones are stripped by F-Stack). */
function innerCarriageReturn(text: string): number {
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (![...text.slice(i)].every((char) => isCSpace(char))) return i;
  }
  return -1;
}
