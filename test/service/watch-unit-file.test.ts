// The shipped systemd/fstack-kni-watch.service: systemd's own offline check must accept it
// without a warning, and the settings the watcher relies on must be there.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './fstack-unit.js';

const unitPath = join(repoRoot, 'systemd', 'fstack-kni-watch.service');

/** Why `systemd-analyze verify` cannot run here, or undefined. */
function analyzeSkipReason(): string | undefined {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'systemd-analyze is not installed (Debian package systemd)';
  }
  // verify checks that the programs of ExecStart= and ExecReload= exist on this host.
  if (!existsSync('/usr/bin/env') || !existsSync('/bin/kill'))
    return '/usr/bin/env or /bin/kill is missing';
  return undefined;
}

const skipReason = analyzeSkipReason();

/** `Key=value` lines of the file, comments left out, in order. */
function settings(text: string): string[] {
  return text.split('\n').filter((line) => /^[A-Za-z]+=/.test(line));
}

describe('fstack-kni-watch.service', () => {
  it('has the settings the watcher relies on', () => {
    const lines = settings(readFileSync(unitPath, 'utf8'));

    expect(lines).toContain('After=fstack_ha.service');
    expect(lines).toContain('PartOf=fstack_ha.service');
    expect(lines).toContain('WantedBy=fstack_ha.service');
    expect(lines).toContain(
      'ExecStart=/usr/bin/env fstack-kni watch --config /etc/f-stack.conf --unit fstack_ha.service',
    );
    expect(lines).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(lines).toContain('Restart=on-failure');
    expect(lines).toContain('CapabilityBoundingSet=CAP_NET_ADMIN');
    expect(lines).toContain('AmbientCapabilities=CAP_NET_ADMIN');
    expect(lines).toContain('NoNewPrivileges=yes');
    expect(lines).toContain('ProtectSystem=strict');
    expect(lines).toContain('ProtectHome=yes');
    expect(lines).toContain('PrivateTmp=yes');
    expect(lines).toContain('RestrictAddressFamilies=AF_NETLINK AF_UNIX');
    expect(lines.filter((line) => line.startsWith('ReadWritePaths='))).toEqual([]);
  });

  it.skipIf(skipReason !== undefined)(
    `passes systemd-analyze verify${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    () => {
      // verify loads the units a unit names; a stub of F-Stack's unit sits next to it.
      const dir = mkdtempSync(join(tmpdir(), 'fstack-kni-unit-'));
      try {
        copyFileSync(unitPath, join(dir, 'fstack-kni-watch.service'));
        writeFileSync(join(dir, 'fstack_ha.service'), '[Service]\nExecStart=/bin/true\n');

        const result = spawnSync(
          'systemd-analyze',
          ['verify', '--man=no', join(dir, 'fstack-kni-watch.service')],
          {
            encoding: 'utf8',
            env: { ...process.env, SYSTEMD_LOG_COLOR: '0' },
          },
        );

        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);

        // The same check reports a value systemd does not know, so an empty stderr means something.
        const broken = readFileSync(unitPath, 'utf8').replace(
          'ProtectSystem=strict',
          'ProtectSystem=sometimes',
        );
        writeFileSync(join(dir, 'fstack-kni-watch.service'), broken);
        const rejected = spawnSync(
          'systemd-analyze',
          ['verify', '--man=no', join(dir, 'fstack-kni-watch.service')],
          { encoding: 'utf8' },
        );
        expect(rejected.stderr).toContain('sometimes');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
