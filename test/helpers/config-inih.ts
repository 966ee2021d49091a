// A small C program that parses files with Debian's libinih and prints every handler call and
// the ini_parse result, as the reference for the tokenizer's differential test.
//
// Debian's inih (package libinih1 55) differs from F-Stack's vendored copy in its defaults:
// INI_STOP_ON_FIRST_ERROR is 0 (F-Stack: 1) and INI_MAX_LINE is 200 (F-Stack: 200 up to 1.23,
// 2048 from 1.24). Debian's build exposes these settings as global variables (ini_max_line,
// ini_stop_on_first_error, ...), so the harness sets them to F-Stack's values at run time and
// both parsers agree on every input the differential test generates. Other settings match
// F-Stack's copy: multi-line on, BOM on, inline comments on with prefix ";", start-of-line
// comments ";#", stack buffer, MAX_SECTION and MAX_NAME 50, no value-less keys. Some other
// inih copies (not Debian's 55) strip inline comments from continuation lines, while
// F-Stack's copy does not.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HARNESS = `#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <ini.h>

static void hex(const char *text) {
    for (; *text; text++) printf("%02x", (unsigned char)*text);
}

static int handler(void *user, const char *section, const char *name, const char *value) {
    (void)user;
    printf("H ");
    hex(section);
    printf(" ");
    hex(name);
    printf(" ");
    hex(value);
    printf("\\n");
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    ini_max_line = atoi(argv[1]);
    ini_stop_on_first_error = true;
    ini_allow_multiline = true;
    ini_allow_bom = true;
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = (char *)";";
    ini_start_comment_prefixes = (char *)";#";
    ini_use_stack = true;
    for (int i = 2; i < argc; i++) {
        printf("F %s\\n", argv[i]);
        printf("R %d\\n", ini_parse(argv[i], handler, NULL));
    }
    return 0;
}
`;

/** One handler call, with section, name and value as hex of their bytes. */
export interface InihCall {
  section: string;
  name: string;
  value: string;
}

/** What libinih made of one file. */
export interface InihResult {
  calls: InihCall[];
  result: number;
}

/** Compiles the harness into `dir`; returns its path, or the reason it cannot be built. */
export function buildInihHarness(dir: string): { path: string } | { skip: string } {
  if (!existsSync('/usr/include/ini.h'))
    return { skip: 'libinih-dev is not installed (/usr/include/ini.h missing)' };
  const source = join(dir, 'inih-harness.c');
  const binary = join(dir, 'inih-harness');
  writeFileSync(source, HARNESS);
  try {
    execFileSync('cc', ['-O0', '-o', binary, source, '-linih'], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error);
    return { skip: `cannot build the libinih harness: ${stderr.split('\n')[0]}` };
  }
  return { path: binary };
}

/** Parses files with libinih under a line limit; returns one result per file, in order. */
export function runInih(harness: string, maxLine: number, files: readonly string[]): InihResult[] {
  const output = execFileSync(harness, [String(maxLine), ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const results: InihResult[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('F ')) results.push({ calls: [], result: 0 });
    const current = results[results.length - 1];
    if (current === undefined) continue;
    if (line.startsWith('H ')) {
      const [, section = '', name = '', value = ''] = line.split(' ');
      current.calls.push({ section, name, value });
    } else if (line.startsWith('R ')) {
      current.result = Number(line.slice(2));
    }
  }
  return results;
}
