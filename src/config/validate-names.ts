// Checks of section and key names: unknown names (F-Stack ignores them silently), wrong case,
// numbered sections spelled so F-Stack reads another number, names the chosen version does
// not read, and keys set more than once.
import { scanSectionId } from './c-parsers.js';
import type { Finding } from './diagnostics.js';
import type { IniPairEvent, IniSectionEvent } from './ini.js';
import {
  describeVersions,
  keyKnownIn,
  keysForVersion,
  matchSection,
  SECTIONS,
  type SectionSpec,
} from './schema.js';
import type { ValidationInput } from './validate.js';
import { compareVersions, type FstackVersion, versionInRange } from './versions.js';

export function checkNames(input: ValidationInput): Finding[] {
  const findings: Finding[] = [];
  for (const event of input.scan.events) {
    if (event.kind === 'section') checkSectionName(input.version, event, findings);
    else if (event.kind === 'pair' && !event.continuation)
      checkKeyName(input.version, event, findings);
  }
  checkDuplicates(input, findings);
  return findings;
}

/** Resolves a section name the way F-Stack routes it; undefined when F-Stack ignores it. */
export function routeSection(
  name: string,
  version: FstackVersion,
): { spec: SectionSpec; id?: number } | undefined {
  const exact = matchSection(name);
  if (exact !== undefined) return versionInRange(version, exact.spec.since) ? exact : undefined;

  for (const spec of SECTIONS) {
    if (!spec.numbered || !name.startsWith(spec.prefix) || !versionInRange(version, spec.since))
      continue;
    const id = scanSectionId(name, spec.prefix);
    return id === undefined ? { spec } : { spec, id };
  }
  return undefined;
}

function checkSectionName(
  version: FstackVersion,
  event: IniSectionEvent,
  findings: Finding[],
): void {
  const name = event.name;
  const at = { line: event.pos.line, column: event.pos.column, value: `[${event.fullName}]` };
  const exact = matchSection(name);

  if (exact !== undefined) {
    if (!versionInRange(version, exact.spec.since)) {
      findings.push({
        code: 'section-version',
        message: `F-Stack ${version} does not read [${name}] (read by ${describeVersions(exact.spec.since)}), so it ignores the whole section`,
        ...at,
        fix: `remove the section, or check --fstack-version (${version} was assumed)`,
      });
    }
    return;
  }

  const routed = routeSection(name, version);
  if (routed !== undefined) {
    if (routed.id !== undefined && routed.id >= 0) {
      const canonical = `${routed.spec.prefix}${routed.id}`;
      findings.push({
        code: 'section-name-noncanonical',
        message: `F-Stack reads [${name}] as [${canonical}] (it scans the number after "${routed.spec.prefix}")`,
        ...at,
        fix: `write [${canonical}]`,
      });
    }
    return;
  }

  const suggestion = suggestSection(name, version);
  if (suggestion !== undefined && suggestion.toLowerCase() === name.toLowerCase()) {
    findings.push({
      code: 'section-case',
      message: `section names are case-sensitive: F-Stack ignores [${name}] and everything in it`,
      ...at,
      fix: `write [${suggestion}]`,
    });
    return;
  }
  findings.push({
    code: 'section-unknown',
    message: `F-Stack does not know [${name}] and ignores everything in it`,
    ...at,
    ...(suggestion !== undefined
      ? { fix: `did you mean [${suggestion}]?` }
      : { fix: 'remove the section or comment it out' }),
  });
}

function checkKeyName(version: FstackVersion, event: IniPairEvent, findings: Finding[]): void {
  if (event.name === '' || event.section === '') return;
  const routed = routeSection(event.section, version);
  if (routed === undefined || routed.spec.anyKey) return;

  const { spec } = routed;
  const at = { line: event.pos.line, column: event.pos.column, value: event.value };
  const known = spec.keys.find((candidate) => candidate.name === event.name);

  if (known !== undefined) {
    if (!keyKnownIn(known, version)) {
      const typeNote =
        spec.kind === 'kni' && event.name === 'type' && version !== '1.24'
          ? compareVersions(version, '1.24') > 0
            ? `; from 1.25 the kernel side is always a virtio_user tap`
            : `; before 1.24 the kernel side is always rte_kni`
          : '';
      findings.push({
        code: 'key-version',
        message: `F-Stack ${version} does not read ${event.name} in [${event.section}] (read by ${describeVersions(known.since, known.until)})${typeNote}`,
        ...at,
        fix: `remove the line, or check --fstack-version (${version} was assumed)`,
      });
    }
    return;
  }

  const names = keysForVersion(spec.kind, version).map((candidate) => candidate.name);
  const sameCase = names.find((candidate) => candidate.toLowerCase() === event.name.toLowerCase());
  if (sameCase !== undefined) {
    findings.push({
      code: 'key-case',
      message: `key names are case-sensitive: F-Stack ignores ${event.name} in [${event.section}]`,
      ...at,
      fix: `write ${sameCase}=${event.value}`,
    });
    return;
  }
  const close = closestName(event.name, names);
  findings.push({
    code: 'key-unknown',
    message: `F-Stack ${version} does not know ${event.name} in [${event.section}] and ignores it`,
    ...at,
    fix: close !== undefined ? `did you mean ${close}?` : `known keys: ${names.join(', ')}`,
  });
}

/** Reports every value that a later line of the same key overrides. */
function checkDuplicates(input: ValidationInput, findings: Finding[]): void {
  const last = new Map<string, IniPairEvent>();
  const pairs = input.scan.events.filter(
    (event): event is IniPairEvent => event.kind === 'pair' && !event.continuation,
  );
  for (const event of pairs) last.set(`${event.section}\u0000${event.name}`, event);

  for (const event of pairs) {
    if (event.name === '' || event.section === '') continue;
    const winner = last.get(`${event.section}\u0000${event.name}`) as IniPairEvent;
    if (winner === event) continue;
    findings.push({
      code: 'key-duplicate',
      message: `${event.name} of [${event.section}] is set again at line ${winner.pos.line}; F-Stack keeps the last value, so this one has no effect`,
      line: event.pos.line,
      column: event.pos.column,
      value: event.value,
      fix: 'remove one of the two lines',
    });
  }
}

function suggestSection(name: string, version: FstackVersion): string | undefined {
  const lower = name.toLowerCase();
  for (const spec of SECTIONS) {
    if (!versionInRange(version, spec.since)) continue;
    if (!spec.numbered && spec.prefix === lower) return spec.prefix;
    if (spec.numbered) {
      const match = /^([a-z]+)\s*([0-9]+)$/.exec(lower);
      if (match !== null && match[1] === spec.prefix) return `${spec.prefix}${Number(match[2])}`;
    }
  }
  const fixedNames = SECTIONS.filter(
    (spec) => !spec.numbered && versionInRange(version, spec.since),
  ).map((spec) => spec.prefix);
  return closestName(name, fixedNames);
}

/** Returns the candidate within edit distance 2 of `name` (case-insensitive), if any. */
function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}
