// The sample config.ini shipped with several F-Stack releases: each must round-trip byte for
// byte and parse without errors under its own version's rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { serializeDocument } from '../../src/config/document.js';
import { parseConfig } from '../../src/config/model.js';
import {
  fixtureDir,
  fixtureNames,
  fixtureSkipReason,
  fixtureVersion,
} from '../helpers/config-paths.js';

describe.skipIf(fixtureSkipReason !== undefined)(
  `sample configs${fixtureSkipReason ? ` (skipped: ${fixtureSkipReason})` : ''}`,
  () => {
    it('are present', () => {
      expect(fixtureNames.length).toBeGreaterThanOrEqual(6);
    });

    describe.each(fixtureNames)('%s', (name) => {
      const bytes = readFileSync(join(fixtureDir, name));
      const loaded = parseConfig(bytes, { file: name, fstackVersion: fixtureVersion(name) });

      it('round-trips byte for byte', () => {
        expect(serializeDocument(loaded.document).equals(bytes)).toBe(true);
      });

      it('has no errors', () => {
        expect(loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error')).toEqual(
          [],
        );
        expect(loaded.stop).toBeUndefined();
      });

      it('reads port 0 with its addresses', () => {
        const port = loaded.config.ports.get(0);
        expect(loaded.config.dpdk.portList).toEqual([0]);
        expect(port?.addr).toBe('192.168.1.2');
        expect(port?.gateway).toBe('192.168.1.1');
        expect(loaded.config.dpdk.lcores).toEqual([0]);
      });

      it('ships KNI commented out', () => {
        expect(loaded.config.kni.present).toBe(false);
        expect(loaded.config.kni.enable).toBe(false);
      });
    });

    it('flags the non-contiguous netmask of the old samples', () => {
      for (const name of fixtureNames.filter((candidate) => /1\.(13|21)/.test(candidate))) {
        const loaded = parseConfig(readFileSync(join(fixtureDir, name)), {
          fstackVersion: fixtureVersion(name),
        });
        expect(loaded.diagnostics.map((diagnostic) => diagnostic.code)).toContain(
          'netmask-not-contiguous',
        );
      }
    });
  },
);
