// Findings about an f-stack.conf: what F-Stack would reject (errors) and what it silently
// accepts but almost certainly misreads (warnings), each with its place in the file.

export type Severity = 'error' | 'warning';

/** Every finding code, with its severity and what it means. */
export const DIAGNOSTIC_CODES = {
  // Reading the file (lib/ff_ini_parser.c).
  'syntax-unclosed-section': [
    'error',
    'a [section] line has no closing ] (F-Stack stops reading there)',
  ],
  'syntax-missing-separator': [
    'error',
    'a line is neither a comment, a [section] nor name=value (F-Stack stops there)',
  ],
  'line-too-long': [
    'error',
    'a line is longer than F-Stack reads at once; the rest is read as a new line',
  ],
  'section-name-truncated': ['warning', 'a section name is longer than the 49 bytes F-Stack keeps'],
  'continuation-line': [
    'warning',
    'an indented line continues the previous key and replaces its value',
  ],
  'inline-hash-comment': [
    'warning',
    'text after # is part of the value (only ; after whitespace starts a comment)',
  ],
  'lone-carriage-return': ['warning', 'a carriage return inside a line is kept as part of it'],
  'nul-byte': ['warning', 'F-Stack ignores the rest of a line after a NUL byte'],
  'key-outside-section': ['warning', 'a key before the first [section] is ignored'],
  'key-empty-name': ['warning', 'a line with an empty key name is ignored'],
  // Names and versions.
  'section-unknown': ['warning', 'F-Stack ignores a section it does not know'],
  'section-case': ['warning', 'section names are case-sensitive; this one is ignored'],
  'section-name-noncanonical': [
    'warning',
    'F-Stack reads a numbered section under another spelling',
  ],
  'section-version': ['warning', 'the chosen F-Stack version does not read this section'],
  'key-unknown': ['warning', 'F-Stack ignores a key it does not know'],
  'key-case': ['warning', 'key names are case-sensitive; this one is ignored'],
  'key-version': ['warning', 'the chosen F-Stack version does not read this key'],
  'key-duplicate': ['warning', 'a key is set more than once; F-Stack keeps the last value'],
  // Order and handler failures (lib/ff_config.c, F-Stack stops reading there).
  'port-before-port-list': ['error', '[portN] comes before [dpdk] port_list'],
  'vlan-before-vlan-filter': ['error', '[vlanN] comes before [dpdk] vlan_filter'],
  'vdev-before-nb-vdev': ['error', '[vdevN] comes before [dpdk] nb_vdev'],
  'bond-before-nb-bond': ['error', '[bondN] comes before [dpdk] nb_bond'],
  'rss-check-before-port': ['error', '[rss_check] comes before any [portN] or [vlanN] key'],
  'vlan-portid-before-port': [
    'error',
    '[vlanN] portid comes before any [portN] key (F-Stack crashes)',
  ],
  'section-id-invalid': [
    'error',
    'a [port…], [vlan…], [vdev…] or [bond…] section has no usable number',
  ],
  'list-invalid': ['error', 'port_list, lcore_list, vlan_filter or slave_port_list holds junk'],
  'list-too-long': ['error', 'a list holds more values than F-Stack has room for'],
  'lcore-mask-invalid': ['error', 'lcore_mask is not a hexadecimal mask with at least one lcore'],
  // Startup checks (ff_check_config).
  'kni-method-missing': ['error', 'KNI is enabled without method'],
  'kni-method-invalid': ['error', 'method is neither accept nor reject'],
  'kni-action-invalid': ['error', 'kni_action is not alltokni, alltoff or default'],
  'port-missing-address': ['error', 'a listed port lacks addr, netmask, broadcast or gateway'],
  'lcore-not-enabled': ['error', 'an lcore_list entry is not in lcore_mask'],
  'port-list-empty': [
    'error',
    'port_list is present but empty, so F-Stack reads undefined port ids',
  ],
  // Silent misreadings.
  'list-empty-item': ['warning', 'an empty list item reads as 0'],
  'list-value-wraps': ['warning', 'a list value outside 0-65535 wraps around'],
  'list-range-reversed': ['warning', 'a range whose end is below its start selects nothing'],
  'list-duplicate': ['warning', 'a list names the same value twice'],
  'list-empty': ['warning', 'lcore_list, vlan_filter or slave_port_list is present but empty'],
  'number-invalid': [
    'warning',
    'a numeric value is not a clean integer; F-Stack reads its leading digits or 0',
  ],
  'ip-invalid': ['warning', 'an address is not valid; F-Stack uses 0.0.0.0 or ::'],
  'netmask-not-contiguous': ['warning', 'a netmask has non-contiguous one-bits'],
  'broadcast-mismatch': ['warning', 'broadcast does not match addr and netmask'],
  'gateway-outside-subnet': ['warning', 'gateway is not inside addr/netmask'],
  'gateway-is-network': ['warning', 'gateway equals the network address'],
  'gateway-is-address': ['warning', 'gateway equals the port address'],
  'prefix-len-invalid': ['warning', 'prefix_len or vip_prefix_len is not 0-128'],
  'vip-dropped': ['warning', 'F-Stack drops or misreads an item of vip_addr or vip_addr6'],
  'kni-port-misread': [
    'warning',
    'F-Stack reads a tcp_port or udp_port item differently from how it looks',
  ],
  'kni-ports-empty': ['warning', 'an empty tcp_port or udp_port makes F-Stack match port 0'],
  'kni-accept-no-ports': [
    'warning',
    'method=accept without ports sends no TCP or UDP to the kernel',
  ],
  'kni-type-invalid': ['warning', 'type is neither 0 nor 1'],
  'kni-primary-lcore': [
    'warning',
    "with KNI on, the primary lcore must be in every port's lcore_list",
  ],
  'kni-disabled-settings': ['warning', '[kni] has settings but enable is 0 or missing'],
  'lcore-mask-missing': ['warning', '[dpdk] has no lcore_mask'],
  'port-list-missing': ['warning', '[dpdk] has no port_list, so F-Stack configures no port'],
  'port-unlisted': ['warning', 'a [portN] section is not in port_list and is not used'],
  'vlan-not-filtered': ['warning', 'a [vlanN] section is not in vlan_filter and is ignored'],
  'vlan-port-missing': [
    'warning',
    'a [vlanN] section has no usable portid and is not attached to a port',
  ],
  'vlan-missing-address': [
    'warning',
    'a [vlanN] section lacks addr, netmask, broadcast or gateway',
  ],
} as const satisfies Record<string, readonly [Severity, string]>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** One finding. Lines and columns are 1-based; columns count bytes; line 0 means the whole file. */
export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  file: string;
  line: number;
  column: number;
  /** The value or text the finding is about, as it appears in the file. */
  value?: string;
  /** Suggested change. */
  fix?: string;
}

/** A finding before the file name is attached. */
export type Finding = Omit<Diagnostic, 'file' | 'severity'> & { severity?: Severity };

/** Returns the default severity of a code. */
export function severityOf(code: DiagnosticCode): Severity {
  return DIAGNOSTIC_CODES[code][0];
}

/** Completes a finding into a diagnostic. */
export function toDiagnostic(finding: Finding, file: string): Diagnostic {
  return {
    severity: finding.severity ?? severityOf(finding.code),
    code: finding.code,
    message: finding.message,
    file,
    line: finding.line,
    column: finding.column,
    ...(finding.value !== undefined ? { value: finding.value } : {}),
    ...(finding.fix !== undefined ? { fix: finding.fix } : {}),
  };
}

/** Sorts diagnostics by line, column, then errors first. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const rank = (diagnostic: Diagnostic): number => (diagnostic.severity === 'error' ? 0 : 1);
  return diagnostics.sort(
    (a, b) =>
      a.line - b.line || a.column - b.column || rank(a) - rank(b) || a.code.localeCompare(b.code),
  );
}

/** Formats one diagnostic like a compiler: `FILE:LINE:COL: error: message`, then value and fix. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where =
    diagnostic.line > 0
      ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}`
      : diagnostic.file;
  const lines = [`${where}: ${diagnostic.severity}: ${diagnostic.message} [${diagnostic.code}]`];
  if (diagnostic.value !== undefined) lines.push(`    value: ${JSON.stringify(diagnostic.value)}`);
  if (diagnostic.fix !== undefined) lines.push(`    fix: ${diagnostic.fix}`);
  return lines.join('\n');
}

/** Counts errors and warnings. */
export function countDiagnostics(diagnostics: readonly Diagnostic[]): {
  errors: number;
  warnings: number;
} {
  let errors = 0;
  let warnings = 0;
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity === 'error') errors++;
    else warnings++;
  }
  return { errors, warnings };
}
