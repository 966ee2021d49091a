// The npm tarball as a user gets it: what it contains, and that it installs and runs on a
// machine with no compiler and no network, loading the shipped prebuild.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runbookConfig, writeConfig } from '../cli/kni-helpers.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';
import {
  copyCheckout,
  findOnPath,
  installTarball,
  listFiles,
  makeBareBin,
  makeScratch,
  npmCliPath,
  repoRoot,
  run,
} from './helpers.js';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};
const npmCli = npmCliPath();
const platformSkipReason =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? `the package ships a prebuild for linux-x64 only, this is ${process.platform}-${process.arch}`
    : undefined;
/** Install prefix of the running node when its headers are installed there (include/node). */
const nodeHeadersPrefix = dirname(dirname(process.execPath));
const sourceBuildSkipReason =
  findOnPath('make') === undefined || findOnPath('c++') === undefined
    ? 'make or c++ is not on PATH'
    : existsSync(join(nodeHeadersPrefix, 'include', 'node', 'node_api.h'))
      ? undefined
      : `Node's headers are not in ${nodeHeadersPrefix}/include/node and cannot be downloaded here`;
const skipReason =
  platformSkipReason ?? (npmCli === undefined ? 'npm-cli.js was not found on PATH' : undefined);

/** Paths inside the tarball (under package/) that a user may receive. */
const ALLOWED = [
  /^package\.json$/,
  /^README(\.vi)?\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
  /^binding\.gyp$/,
  /^dist\/.+\.(js|d\.ts)$/,
  /^dist\/cli\/package\.json$/,
  /^dist\/cli\/[^/]+\.js\.v8cache$/,
  /^prebuilds\/linux-x64\/fstack-kni\.glibc\.node$/,
  /^native\/[^/]+\.(cc|h)$/,
  /^systemd\/[^/]+$/,
  /^examples\/.+$/,
  /^node_modules\/(node-addon-api|node-gyp-build)\/.+$/,
];

/** Paths the tarball must contain for the CLI, the library, the prebuild and the fallback build. */
const REQUIRED = [
  'package.json',
  'LICENSE',
  'CHANGELOG.md',
  'binding.gyp',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/cli/main.js',
  'dist/cli/package.json',
  'dist/cli/program.js',
  'dist/cli/program.js.v8cache',
  'dist/native/addon.js',
  'prebuilds/linux-x64/fstack-kni.glibc.node',
  'native/addon.cc',
  'node_modules/node-gyp-build/package.json',
  'node_modules/node-addon-api/napi.h',
];

describe.skipIf(skipReason !== undefined)(
  `npm pack${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const scratch = makeScratch('fstack-kni-pack-');
    const checkout = join(scratch.dir, 'checkout');
    let tarball: string;
    let entries: string[];
    let bareEnv: NodeJS.ProcessEnv;
    let project: string;
    let installed: string;
    let install: ReturnType<typeof run>;

    beforeAll(() => {
      copyCheckout(checkout);
      const pack = run('npm', ['pack', '--pack-destination', scratch.dir, '--foreground-scripts'], {
        cwd: checkout,
      });
      if (pack.code !== 0)
        throw new Error(`npm pack failed (exit ${pack.code}):\n${pack.stdout}\n${pack.stderr}`);
      tarball = join(scratch.dir, `${manifest.name}-${manifest.version}.tgz`);

      const list = run('tar', ['-tzf', tarball], { cwd: scratch.dir });
      if (list.code !== 0) throw new Error(`tar -tzf failed: ${list.stderr}`);
      entries = list.stdout
        .split('\n')
        .filter((line) => line !== '' && !line.endsWith('/'))
        .map((line) => line.replace(/^package\//, ''));

      bareEnv = { PATH: makeBareBin(scratch.dir), HOME: join(scratch.dir, 'home') };
      project = join(scratch.dir, 'appliance');
      installed = join(project, 'node_modules', manifest.name);
      install = installTarball(tarball, project, npmCli as string, bareEnv);
    }, 600_000);

    afterAll(() => scratch.remove());

    it('tarball holds only shipped files', () => {
      const unexpected = entries.filter((entry) => !ALLOWED.some((pattern) => pattern.test(entry)));
      expect(unexpected).toEqual([]);
    });

    it('tarball holds every required file', () => {
      const missing = REQUIRED.filter((path) => !entries.includes(path));
      expect(missing).toEqual([]);
    });

    it('tarball holds the docs, examples and unit of the checkout', () => {
      const present = ['README.md', 'README.vi.md', 'CHANGELOG.md', 'LICENSE'].filter((file) =>
        existsSync(join(repoRoot, file)),
      );
      for (const directory of ['examples', 'systemd']) {
        if (existsSync(join(repoRoot, directory))) {
          present.push(
            ...listFiles(join(repoRoot, directory)).map((file) => `${directory}/${file}`),
          );
        }
      }
      const missing = present.filter((path) => !entries.includes(path));
      expect(missing).toEqual([]);
    });

    it('tarball has no source maps, tests or build outputs', () => {
      const leaked = entries.filter((entry) =>
        /\.map$|^(src|test|bench|build|scripts|docs)\//.test(entry),
      );
      expect(leaked).toEqual([]);
    });

    it('bare PATH has no compiler', () => {
      for (const tool of ['cc', 'gcc', 'c++', 'g++', 'make', 'python3', 'node-gyp']) {
        expect(findOnPath(tool, bareEnv.PATH), tool).toBeUndefined();
      }
      expect(findOnPath('node', bareEnv.PATH)).toBeDefined();
    });

    it('installs offline with an empty cache', () => {
      expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
      expect(existsSync(join(installed, 'dist', 'cli', 'main.js'))).toBe(true);
    });

    it('install compiles nothing', () => {
      expect(existsSync(join(installed, 'build'))).toBe(false);
    });

    it('installed CLI prints its version', () => {
      const result = run(join(project, 'node_modules', '.bin', 'fstack-kni'), ['--version'], {
        cwd: project,
        env: bareEnv,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`fstack-kni ${manifest.version}\n`);
      expect(result.code).toBe(0);
    });

    it('installed CLI code caches are accepted', () => {
      // --help loads the chunk of every command; the debug output names any rejected cache.
      const result = run(join(project, 'node_modules', '.bin', 'fstack-kni'), ['--help'], {
        cwd: project,
        env: { ...bareEnv, FSTACK_KNI_DEBUG: '1' },
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('status');
      expect(result.code).toBe(0);
    });

    it('installed addon loads from the prebuild', () => {
      const loader = pathToFileURL(join(installed, 'dist', 'native', 'addon.js')).href;
      const script = `const { addon } = await import(${JSON.stringify(loader)}); process.stdout.write(typeof addon().describeErrno);`;
      const result = run('node', ['--input-type=module', '-e', script], {
        cwd: project,
        env: bareEnv,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('function');
    });

    it('installed library exports its API', () => {
      const script = `const m = await import('fstack-kni'); process.stdout.write(JSON.stringify([m.version, typeof m.Rtnl, typeof m.converge, typeof m.networkdFiles]));`;
      const result = run('node', ['--input-type=module', '-e', script], {
        cwd: project,
        env: bareEnv,
      });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual([
        manifest.version,
        'function',
        'function',
        'function',
      ]);
    });

    describe.skipIf(kernelSkipReason !== undefined)(
      `installed CLI in a netns${kernelSkipReason ? ` (skipped: ${kernelSkipReason})` : ''}`,
      () => {
        let netns: string;

        afterEach(() => removeTestNetns(netns));

        it('applies the runbook config', () => {
          netns = createTestNetns('fkship');
          ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
          const config = writeConfig(scratch.dir, runbookConfig());
          const cli = join(project, 'node_modules', '.bin', 'fstack-kni');
          const args = ['--config', config, '--netns', netns, '--fstack-version', '1.25'];

          const apply = run(cli, ['apply', ...args], { cwd: project, env: bareEnv });
          expect(apply.code, `${apply.stdout}\n${apply.stderr}`).toBe(0);

          const links = ipJson<
            Array<{
              addr_info: Array<{
                family: string;
                local: string;
                prefixlen: number;
                broadcast?: string;
              }>;
            }>
          >(netns, 'address', 'show', 'dev', 'veth0');
          const ipv4 = links[0]?.addr_info.filter((address) => address.family === 'inet');
          expect(ipv4).toEqual([
            expect.objectContaining({
              local: '192.0.2.79',
              prefixlen: 24,
              broadcast: '192.0.2.255',
            }),
          ]);
          const routes = ipJson<Array<{ dst: string; gateway?: string; dev: string }>>(
            netns,
            'route',
            'show',
            'default',
          );
          expect(routes).toEqual([
            expect.objectContaining({ dst: 'default', gateway: '192.0.2.1', dev: 'veth0' }),
          ]);

          const check = run(cli, ['apply', '--check', '--json', ...args], {
            cwd: project,
            env: bareEnv,
          });
          expect(check.code, check.stderr).toBe(0);
          expect(JSON.parse(check.stdout)).toMatchObject({
            ok: true,
            changed: false,
            pending: false,
          });

          // Nothing holds the tap open, so status finds the address but reports no carrier.
          const status = run(cli, ['status', '--json', ...args], { cwd: project, env: bareEnv });
          expect(status.stderr).toBe('');
          const report = JSON.parse(status.stdout) as {
            interfaces: Array<{ name: string; addresses: string[]; carrier: boolean }>;
          };
          expect(report.interfaces).toEqual([
            expect.objectContaining({ name: 'veth0', carrier: false }),
          ]);
          expect(report.interfaces[0]?.addresses).toContain('192.0.2.79/24 broadcast 192.0.2.255');
          expect(status.code).toBe(1);
        });
      },
    );

    describe.skipIf(sourceBuildSkipReason !== undefined)(
      `source build fallback${sourceBuildSkipReason ? ` (skipped: ${sourceBuildSkipReason})` : ''}`,
      () => {
        it('rebuilds from source on request', () => {
          const fallbackProject = join(scratch.dir, 'with-compiler');
          const home = join(scratch.dir, 'home-with-compiler');
          // node-gyp downloads Node's headers unless nodedir points at installed ones.
          const env = { PATH: process.env.PATH, HOME: home, npm_config_nodedir: nodeHeadersPrefix };
          const installResult = installTarball(tarball, fallbackProject, npmCli as string, env);
          expect(installResult.code, installResult.stderr).toBe(0);

          const cache = join(fallbackProject, '.npm-cache');
          const rebuild = run(
            process.execPath,
            [
              npmCli as string,
              'rebuild',
              manifest.name,
              '--build-from-source',
              '--offline',
              '--cache',
              cache,
              '--foreground-scripts',
            ],
            { cwd: fallbackProject, env },
          );
          expect(rebuild.code, `${rebuild.stdout}\n${rebuild.stderr}`).toBe(0);

          const release = join(fallbackProject, 'node_modules', manifest.name, 'build', 'Release');
          expect(readdirSync(release)).toContain('fstack_kni.node');
          const version = run(
            join(fallbackProject, 'node_modules', '.bin', 'fstack-kni'),
            ['--version'],
            { cwd: fallbackProject, env },
          );
          expect(version.stdout).toBe(`fstack-kni ${manifest.version}\n`);
        }, 600_000);
      },
    );
  },
);
