// End-to-end: `fstack-kni explain` on configs written to a temp dir (no kernel needed).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildSkipReason,
  makeTempDir,
  runbookConfig,
  runCli,
  runJson,
  writeConfig,
} from './kni-helpers.js';

interface ExplainJson {
  fstackVersion: string;
  kni: string;
  verdicts: Array<{ packet: string; receiver: string; rule: string }>;
  warnings: string[];
}

describe.skipIf(buildSkipReason !== undefined)(
  `explain command${buildSkipReason ? ` (skipped: ${buildSkipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;

    beforeEach(() => {
      temp = makeTempDir();
    });

    afterEach(() => {
      temp.remove();
    });

    it('explains the runbook case by default', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const result = runCli(['explain', '--config', config]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/tcp\/22\s+kernel\s+method=accept and 22 is in tcp_port/);
      expect(result.stdout).toMatch(/icmp\s+F-Stack/);
      expect(result.stdout).toMatch(/arp\s+both/);
      expect(result.stdout).toMatch(/tcp\/80\s+F-Stack/);
      expect(result.stdout).toContain('32768-60999');
    });

    it('prints verdicts as JSON', () => {
      const config = writeConfig(
        temp.dir,
        runbookConfig('', 'enable=1\nmethod=reject\ntcp_port=80,443\nudp_port=53\n'),
      );
      const result = runJson<ExplainJson>([
        'explain',
        'tcp/80',
        'tcp/22',
        'udp/53',
        'icmp',
        'ndp',
        '--config',
        config,
        '--fstack-version',
        '1.23',
      ]);
      expect(result.code).toBe(0);
      expect(result.json.fstackVersion).toBe('1.23');
      expect(result.json.kni).toBe('enable=1 method=reject tcp_port=80,443 udp_port=53');
      expect(Object.fromEntries(result.json.verdicts.map((v) => [v.packet, v.receiver]))).toEqual({
        'tcp/80': 'fstack',
        'tcp/22': 'kernel',
        'udp/53': 'fstack',
        icmp: 'kernel',
        ndp: 'both',
      });
      expect(result.json.warnings.join('\n')).toContain('10000-65535');
    });

    it('follows kni_action', () => {
      const config = writeConfig(
        temp.dir,
        runbookConfig('', 'enable=1\nmethod=accept\ntcp_port=22\nkni_action=alltoff\n'),
      );
      const result = runJson<ExplainJson>(['explain', 'tcp/22', 'arp', '--config', config]);
      expect(result.json.verdicts.map((v) => v.receiver)).toEqual(['fstack', 'both']);
    });

    it('rejects bad packets and configs', () => {
      const config = writeConfig(temp.dir, runbookConfig());
      const usage = runCli(['explain', 'tcp/abc', '--config', config]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('unknown packet kind');

      const broken = writeConfig(temp.dir, runbookConfig('', 'enable=1\n'), 'broken.conf');
      const invalid = runCli(['explain', '--config', broken]);
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain('method');
    });
  },
);
