// Hex fixtures: one row per header or attribute, spaces and `#` comments ignored.
// Integers in fixtures are little endian, the host order of x86-64 and arm64.

/** Joins hex rows into a buffer. */
export function hex(...rows: string[]): Buffer {
  const text = rows.map((row) => row.replace(/#.*$/, '').replace(/\s+/g, '')).join('');
  if (!/^([0-9a-f]{2})*$/i.test(text)) throw new Error(`invalid hex fixture: ${text}`);
  return Buffer.from(text, 'hex');
}

/** Hex of a buffer, for readable diffs in failed assertions. */
export function toHex(buffer: Uint8Array): string {
  return Buffer.from(buffer).toString('hex');
}

/** Hex of a NUL-terminated string padded to 4 bytes. */
export function paddedString(text: string): string {
  const bytes = Buffer.from(`${text}\0`);
  const padded = Buffer.alloc((bytes.length + 3) & ~3);
  bytes.copy(padded);
  return padded.toString('hex');
}
