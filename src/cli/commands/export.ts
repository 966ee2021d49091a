// `fstack-kni export networkd`: the desired state of veth<N> as systemd-networkd files, for
// hosts where networkd, not fstack-kni, should own the kernel side.
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { formatDiagnostic } from '../../config/diagnostics.js';
import { NETWORKD_FILE_PREFIX, type NetworkdFile, networkdFiles } from '../../export/networkd.js';
import { desiredStateOf } from '../../kni/config-error.js';
import type { DesiredState } from '../../kni/desired.js';
import { KniError } from '../../kni/errors.js';
import { DEFAULT_CONFIG_PATH } from '../../kni/options.js';
import { parseCommandArgs } from '../arguments.js';
import { ExitCode, style, UsageError } from '../output.js';
import type { Command } from '../run.js';
import { loadValidConfig, TARGET_OPTIONS, TARGET_USAGE, targetOptions } from './target.js';

/** Target options that make sense without a kernel: no --netns, and no --mac-from (networkd cannot copy a MAC). */
const EXPORT_OPTIONS = {
  config: TARGET_OPTIONS.config,
  'fstack-version': TARGET_OPTIONS['fstack-version'],
  port: TARGET_OPTIONS.port,
  interface: TARGET_OPTIONS.interface,
  mac: TARGET_OPTIONS.mac,
  'route-metric': TARGET_OPTIONS['route-metric'],
  'no-default-route': TARGET_OPTIONS['no-default-route'],
  'with-vips': TARGET_OPTIONS['with-vips'],
  'no-vlans': TARGET_OPTIONS['no-vlans'],
  json: TARGET_OPTIONS.json,
  output: { type: 'string' },
  prefix: { type: 'string' },
} as const;

const TARGET_LINES = TARGET_USAGE.split('\n')
  .filter((line) => !/^\s+--(netns|mac-from)\s/.test(line))
  .join('\n');

const USAGE = `Usage: fstack-kni export networkd [options]

Writes systemd-networkd files that give each veth<N> what "fstack-kni apply" gives it:
one .network file per interface (address, broadcast, default routes, MAC) and a .netdev
file per VLAN interface. The desired state is computed exactly as apply computes it.
networkd cannot switch on the carrier that rte_kni (F-Stack <= 1.23) needs; the file says so.

Options:
${TARGET_LINES}  --output DIR            write the files into DIR (created when missing), such as
                          /etc/systemd/network; without it they are printed on stdout
  --prefix TEXT           start of each file name (default ${NETWORKD_FILE_PREFIX})

Then run "networkctl reload" to make networkd read them.

Exit codes: 0 written, 1 f-stack.conf invalid or KNI disabled, 2 usage.
`;

export const command: Command = {
  summary: 'write systemd-networkd files equal to what apply sets on veth<N>',
  usage: USAGE,

  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs('export', argv, EXPORT_OPTIONS, true);
    const [format, ...extra] = positionals;
    if (format === undefined)
      throw new UsageError('missing format; run "fstack-kni export --help"');
    if (format !== 'networkd')
      throw new UsageError(`unknown format "${format}"; the only format is networkd`);
    if (extra.length > 0)
      throw new UsageError(`unexpected argument "${extra[0]}": export takes one format, networkd`);

    const path = values.config ?? DEFAULT_CONFIG_PATH;
    const { loaded, warnings } = await loadValidConfig(path, values['fstack-version']);
    const desired = desiredStateOf(loaded, targetOptions(values, loaded));
    const files = renderFiles(desired, path, values.prefix);

    const output = values.output;
    const written = output === undefined ? [] : await writeFiles(output, files);
    const stale =
      output === undefined
        ? []
        : await staleFiles(output, values.prefix ?? NETWORKD_FILE_PREFIX, files);

    if (values.json ?? false) {
      const document = {
        ok: true,
        format,
        config: path,
        fstackVersion: desired.fstackVersion,
        driver: desired.driver,
        output: output ?? null,
        files: files.map((file, i) => ({ ...file, path: written[i] ?? null })),
        stale,
        notes: desired.notes,
        warnings: warnings.map(formatDiagnostic),
      };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
      return ExitCode.Ok;
    }

    for (const warning of warnings) process.stderr.write(`${formatDiagnostic(warning)}\n`);
    for (const note of desired.notes) process.stderr.write(`${style('note:', 'yellow')} ${note}\n`);
    if (output === undefined) {
      process.stdout.write(files.map((file) => `# ${file.name}\n${file.contents}`).join('\n'));
      return ExitCode.Ok;
    }
    for (const file of written) process.stdout.write(`wrote ${file}\n`);
    for (const file of stale) {
      process.stderr.write(
        `${style('warning:', 'yellow')} ${file} is from an earlier export and f-stack.conf no longer asks for it; remove it\n`,
      );
    }
    process.stdout.write('Run "networkctl reload" to make systemd-networkd read them.\n');
    return ExitCode.Ok;
  },
};

/** Renders the files; an invalid --prefix is a usage error (exit 2). */
function renderFiles(
  desired: DesiredState,
  source: string,
  prefix: string | undefined,
): NetworkdFile[] {
  try {
    return networkdFiles(desired, { source, ...(prefix !== undefined ? { prefix } : {}) });
  } catch (error) {
    if (error instanceof KniError && error.code === 'OPTION_INVALID') {
      throw new UsageError(`--prefix: ${error.message}`);
    }
    throw error;
  }
}

/** Writes each file with mode 0644 through a temporary name and a rename, so networkd never reads half a file. */
async function writeFiles(directory: string, files: readonly NetworkdFile[]): Promise<string[]> {
  try {
    await makeDirectory(resolve(directory));
  } catch (error) {
    throw outputError(directory, 'cannot create directory', error);
  }
  const paths: string[] = [];
  for (const file of files) {
    const target = join(directory, file.name);
    const temporary = join(directory, `.${file.name}.${process.pid}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o644);
      try {
        // networkd reads the file as user systemd-network, whatever the umask was.
        await handle.chmod(0o644);
        await handle.writeFile(file.contents);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw outputError(directory, `cannot write ${target}`, error);
    }
    paths.push(target);
  }
  return paths;
}

/**
 * Creates a directory and its missing parents with one non-recursive mkdir per level.
 * `mkdir(path, { recursive: true })` retries forever on a procfs or sysfs path whose mkdir
 * fails with ENOENT although the parent exists (Node 20), so this stops at the first error
 * other than EEXIST, and at a second ENOENT for the same path.
 */
async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o755 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(path)).isDirectory()) return;
      throw Object.assign(new Error(`EEXIST: ${path} exists and is not a directory`), {
        code: 'EEXIST',
      });
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    await makeDirectory(parent);
  }
  // The parent exists now; an ENOENT here is final.
  await mkdir(path, { mode: 0o755 });
}

/** Wraps a file system error of --output into an error that names the option and the path (exit 1). */
function outputError(directory: string, action: string, error: unknown): Error {
  const cause = error as NodeJS.ErrnoException;
  const text = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`--output ${directory}: ${action}: ${text}`, { cause: error }), {
    ...(cause.code !== undefined ? { code: cause.code } : {}),
    ...(cause.errno !== undefined ? { errno: cause.errno } : {}),
    exitCode: ExitCode.Failed,
  });
}

/** Files with the prefix in the directory that this export did not write. */
async function staleFiles(
  directory: string,
  prefix: string,
  files: readonly NetworkdFile[],
): Promise<string[]> {
  const current = new Set(files.map((file) => file.name));
  const entries = await readdir(directory);
  return entries
    .filter(
      (name) => name.startsWith(prefix) && /\.(network|netdev)$/.test(name) && !current.has(name),
    )
    .sort()
    .map((name) => join(directory, name));
}
