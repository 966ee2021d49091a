// The bytes the kernel rejects in an interface name. dev_valid_name() (net/core/dev.c)
// rejects '/', ':' and every byte its own isspace() matches. The kernel's ctype table
// (lib/ctype.c) marks 0x09-0x0D, 0x20 and 0xA0 as space, so a UTF-8 name with a character
// whose encoding contains 0xA0, such as "à" (C3 A0), is rejected too.

/** The rule of hasInvalidNameByte, worded for error messages. */
export const NAME_BYTE_RULE =
  "no '/', ':', NUL or whitespace, and no byte 0xA0, which the kernel counts as a space (as in à, C3 A0)";

const KERNEL_SPACE_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

/** True when the UTF-8 bytes of `name` contain NUL, '/', ':' or a kernel isspace() byte. */
export function hasInvalidNameByte(name: string): boolean {
  for (const byte of Buffer.from(name, 'utf8')) {
    if (byte === 0 || byte === 0x2f || byte === 0x3a || KERNEL_SPACE_BYTES.has(byte)) return true;
  }
  return false;
}
