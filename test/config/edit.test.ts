import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { serializeDocument } from '../../src/config/document.js';
import { applyEdits, EditError, type EditOperation } from '../../src/config/edit.js';
import { getValue, type LoadedConfig, parseConfig } from '../../src/config/model.js';
import {
  fixtureDir,
  fixtureNames,
  fixtureSkipReason,
  fixtureVersion,
} from '../helpers/config-paths.js';

const BASE = `# site config
[dpdk]
lcore_mask=1
port_list=0

[port0]
addr = 192.0.2.79   ; main address
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1
`;

const KNI = `${BASE}
[kni]
enable=1
method=accept
tcp_port=22
`;

function edit(
  text: string,
  operations: EditOperation[],
  version?: string,
): { text: string; loaded: LoadedConfig } {
  const loaded = parseConfig(text, version !== undefined ? { fstackVersion: version } : {});
  const result = applyEdits(loaded, operations);
  return { text: serializeDocument(result.document).toString('utf8'), loaded: result.loaded };
}

function editError(text: string, operations: EditOperation[], version?: string): EditError {
  try {
    edit(text, operations, version);
  } catch (error) {
    if (error instanceof EditError) return error;
    throw error;
  }
  throw new Error('expected an EditError');
}

const set = (key: string, value: string): EditOperation => ({ kind: 'set', key, value });

describe('set', () => {
  it('replaces a value in place and keeps spacing and comment', () => {
    const { text } = edit(BASE, [
      set('port0.addr', '192.0.2.80'),
      set('port0.broadcast', '192.0.2.255'),
    ]);
    expect(text).toBe(
      BASE.replace('addr = 192.0.2.79   ; main address', 'addr = 192.0.2.80   ; main address'),
    );
  });

  it('fills an empty value before an inline comment', () => {
    const { text, loaded } = edit(`${KNI}udp_port= ;none\n`, [set('kni.udp_port', '53')]);
    expect(text).toContain('udp_port= 53 ;none\n');
    expect(loaded.config.kni.udpPorts).toEqual([53]);
  });

  it('adds a new key after the last key of its section', () => {
    const { text } = edit(KNI, [set('port0.if_name', 'eth1')]);
    expect(text).toBe(KNI.replace('gateway=192.0.2.1\n', 'gateway=192.0.2.1\nif_name=eth1\n'));
  });

  it('adds a new section after a blank line at the end', () => {
    const { text } = edit(BASE, [
      set('kni.enable', '1'),
      set('kni.method', 'accept'),
      set('kni.tcp_port', '22'),
    ]);
    expect(text).toBe(`${BASE}\n[kni]\nenable=1\nmethod=accept\ntcp_port=22\n`);
  });

  it('adds [dpdk] before the first section', () => {
    const text =
      '# header\n[port0]\naddr=192.0.2.79\nnetmask=255.255.255.0\nbroadcast=192.0.2.255\ngateway=192.0.2.1\n';
    const result = edit(text, [set('dpdk.port_list', '0'), set('dpdk.lcore_mask', '1')]);
    expect(result.text).toBe(
      `# header\n[dpdk]\nport_list=0\nlcore_mask=1\n\n${text.slice('# header\n'.length)}`,
    );
    expect(
      result.loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
    ).toEqual([]);
  });

  it('uses CRLF in a CRLF file', () => {
    const crlf = BASE.replace(/\n/g, '\r\n');
    const { text } = edit(crlf, [set('port0.if_name', 'eth1')]);
    expect(text).toBe(
      crlf.replace('gateway=192.0.2.1\r\n', 'gateway=192.0.2.1\r\nif_name=eth1\r\n'),
    );
  });

  it('keeps a missing final newline', () => {
    const { text } = edit(BASE.trimEnd(), [set('kni.enable', '0')]);
    expect(text).toBe(`${BASE}\n[kni]\nenable=0`);
  });

  it('keeps the BOM', () => {
    const { text } = edit(`\ufeff${BASE}`, [set('port0.addr', '192.0.2.80')]);
    expect(text.startsWith('\ufeff# site config\n')).toBe(true);
  });

  it('replaces continuation lines with the value', () => {
    const text = `${BASE}\n[kni]\nenable=1\nmethod=reject\n  tcp_port=80\n`;
    const result = edit(text, [set('kni.method', 'accept'), set('kni.tcp_port', '22')]);
    expect(result.text).toBe(`${BASE}\n[kni]\nenable=1\nmethod=accept\ntcp_port=22\n`);
  });

  it('sets FreeBSD tunables with dotted names', () => {
    const { loaded } = edit(BASE, [set('freebsd.sysctl.kern.ipc.somaxconn', '4096')]);
    expect(loaded.config.freebsd.sysctl.map((entry) => [entry.name, entry.value])).toEqual([
      ['kern.ipc.somaxconn', '4096'],
    ]);
  });

  it('reports no change when the value is already set', () => {
    const loaded = parseConfig(KNI);
    const result = applyEdits(loaded, [set('kni.method', 'accept')]);
    expect(result.changed).toBe(false);
    expect(result.document).toBe(loaded.document);
  });

  it('uncomments a commented key of an active section', () => {
    const text = `${BASE}#if_name=eno7\n`;
    expect(edit(text, [set('port0.if_name', 'eth1')]).text).toBe(`${BASE}if_name=eth1\n`);
  });

  it('does not take prose comments for keys', () => {
    const text = `${BASE}#    if_name: the kernel name\n`;
    expect(edit(text, [set('port0.if_name', 'eth1')]).text).toBe(
      `${BASE}if_name=eth1\n#    if_name: the kernel name\n`,
    );
  });

  it('appends instead of uncommenting a block that holds active lines', () => {
    const text =
      '[dpdk]\nport_list=0\n#[kni]\n#enable=1\nlcore_mask=1\n[port0]\naddr=192.0.2.79\nnetmask=255.255.255.0\nbroadcast=192.0.2.255\ngateway=192.0.2.1\n';
    const { text: result, loaded } = edit(text, [
      set('kni.enable', '1'),
      set('kni.method', 'accept'),
    ]);
    expect(result).toBe(`${text}\n[kni]\nenable=1\nmethod=accept\n`);
    expect(loaded.config.dpdk.lcoreMask).toBe('1');
  });
});

describe('unset', () => {
  it('removes every line of the key', () => {
    const text = `${KNI}udp_port=53\n  54\n`;
    const { text: result, loaded } = edit(text, [{ kind: 'unset', key: 'kni.udp_port' }]);
    expect(result).toBe(KNI);
    expect(getValue(loaded.config, 'kni', 'udp_port')).toBeUndefined();
  });

  it('changes nothing for an absent key', () => {
    expect(applyEdits(parseConfig(KNI), [{ kind: 'unset', key: 'kni.udp_port' }]).changed).toBe(
      false,
    );
  });
});

describe('sections', () => {
  it('comments out a section and its keys', () => {
    const text = `${KNI}# trailing note\n`;
    const { text: result, loaded } = edit(text, [{ kind: 'disable-section', section: 'kni' }]);
    expect(result).toBe(
      `${BASE}\n#[kni]\n#enable=1\n#method=accept\n#tcp_port=22\n# trailing note\n`,
    );
    expect(loaded.config.kni.present).toBe(false);
  });

  it('restores a disabled section', () => {
    const disabled = edit(KNI, [{ kind: 'disable-section', section: 'kni' }]).text;
    expect(edit(disabled, [{ kind: 'enable-section', section: 'kni' }]).text).toBe(KNI);
  });

  it('keeps commented keys commented through disable and enable', () => {
    const text = `${KNI}#udp_port=53\n#tcp_port=80\n`;
    const disabled = edit(text, [{ kind: 'disable-section', section: 'kni' }]).text;
    expect(disabled).toBe(
      `${BASE}\n#[kni]\n#enable=1\n#method=accept\n#tcp_port=22\n##udp_port=53\n##tcp_port=80\n`,
    );
    const enabled = edit(disabled, [{ kind: 'enable-section', section: 'kni' }]);
    expect(enabled.text).toBe(text);
    expect(enabled.loaded.config.kni.udpPorts).toEqual([]);
  });

  it('rejects disabling a section with an indented continuation line', () => {
    const text = `${KNI.replace('tcp_port=22\n', 'tcp_port=22\n  80\n')}`;
    const loaded = parseConfig(text, { file: 'f-stack.conf' });
    let thrown: unknown;
    try {
      applyEdits(loaded, [{ kind: 'disable-section', section: 'kni' }]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EditError);
    expect((thrown as EditError).code).toBe('edit-side-effect');
    const line = text.split('\n').indexOf('  80') + 1;
    expect((thrown as EditError).message).toBe(
      `line ${line} ("80") is indented, so F-Stack reads it as another value of kni.tcp_port from line ${line - 1}, ` +
        'and once commented out enable-section could not tell it from a comment; ' +
        `write lines ${line - 1}-${line} as one tcp_port= line with the value you mean, then disable [kni] again. Nothing was written`,
    );
  });

  it('adds an empty section when none is commented out', () => {
    expect(edit(BASE, [{ kind: 'enable-section', section: 'pcap' }]).text).toBe(
      `${BASE}\n[pcap]\n`,
    );
  });
});

describe('refused edits', () => {
  it.each([
    ['an invalid address', set('port0.addr', '192.0.2.300'), 'value-invalid'],
    ['a comment in a value', set('port0.addr', '192.0.2.1 ; x'), 'value-invalid'],
    ['a # in a value', set('pcap.savepath', '/tmp #x'), 'value-invalid'],
    ['a line break', set('pcap.savepath', '/tmp\nx=1'), 'value-invalid'],
    ['leading whitespace', set('pcap.savepath', ' /tmp'), 'value-invalid'],
    ['an unknown method', set('kni.method', 'allow'), 'value-invalid'],
    ['ports separated by spaces', set('kni.tcp_port', '80 443'), 'value-invalid'],
    ['an empty port list', set('kni.tcp_port', ''), 'value-invalid'],
    ['a port over 65535', set('kni.tcp_port', '70000'), 'value-invalid'],
    ['a list with junk', set('dpdk.port_list', '0,a'), 'value-invalid'],
    ['a mask without lcore', set('dpdk.lcore_mask', '0'), 'value-invalid'],
    ['a non-numeric enable', set('kni.enable', 'yes'), 'value-invalid'],
    ['a key in the wrong case', set('kni.Enable', '1'), 'key-unknown'],
    ['a key of another version', set('kni.type', '1'), 'key-unknown'],
    ['an unknown section', set('KNI.enable', '1'), 'section-unknown'],
    ['a section spelled with a space', set('port 0.addr', '192.0.2.1'), 'section-unknown'],
    ['a key without section', set('enable', '1'), 'key-invalid'],
    ['a result with errors', { kind: 'unset', key: 'kni.method' }, 'result-invalid'],
  ] as [string, EditOperation, string][])('rejects %s', (_name, operation, code) => {
    expect(editError(KNI, [operation]).code).toBe(code);
  });

  it('rejects enabling KNI without a method, listing the error', () => {
    const error = editError(BASE, [set('kni.enable', '1')]);
    expect(error.code).toBe('result-invalid');
    expect(error.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['kni-method-missing']);
    expect(error.message).toContain('kni-method-missing');
  });

  it('rejects a line over the 1.23 limit', () => {
    const list = Array.from({ length: 40 }, (_, i) => 1000 + i).join(',');
    expect(editError(KNI, [set('kni.tcp_port', list)], '1.23').code).toBe('value-invalid');
    expect(edit(KNI, [set('kni.tcp_port', list)], '1.24').loaded.config.kni.tcpPorts).toHaveLength(
      40,
    );
  });

  it('rejects an edit whose next line would continue the key', () => {
    const text = `${BASE}\n[kni]\n#enable=0\n  method=accept\n`;
    expect(editError(text, [set('kni.enable', '1')]).code).toBe('edit-misread');
  });
});

describe.skipIf(fixtureSkipReason !== undefined)(
  `shipped #[kni] blocks${fixtureSkipReason ? ` (skipped: ${fixtureSkipReason})` : ''}`,
  () => {
    describe.each(fixtureNames)('%s', (name) => {
      const bytes = readFileSync(join(fixtureDir, name));
      const version = fixtureVersion(name);
      const loaded = parseConfig(bytes, { file: name, fstackVersion: version });

      it('is uncommented and filled in place', () => {
        const result = applyEdits(loaded, [
          set('kni.enable', '1'),
          set('kni.method', 'accept'),
          set('kni.tcp_port', '22'),
        ]);
        const before = loaded.document.lines;
        const after = result.document.lines;
        expect(after).toHaveLength(before.length);

        const changed = after
          .map((line, i) =>
            line.text !== before[i]?.text ? `${before[i]?.text} -> ${line.text}` : '',
          )
          .filter(Boolean);
        expect(changed).toEqual([
          '#[kni] -> [kni]',
          '#enable=1 -> enable=1',
          '#method=reject -> method=accept',
          '#tcp_port=80,443 -> tcp_port=22',
        ]);
        expect(result.loaded.config.kni).toMatchObject({
          present: true,
          enable: true,
          method: 'accept',
          tcpPorts: [22],
          udpPorts: [],
        });
        expect(
          result.loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
        ).toEqual([]);
      });

      it('is enabled with its sample keys', () => {
        const result = applyEdits(loaded, [{ kind: 'enable-section', section: 'kni' }]);
        expect(result.loaded.config.kni).toMatchObject({
          present: true,
          enable: true,
          method: 'reject',
          tcpPorts: [80, 443],
          udpPorts: [53],
        });
        expect(result.document.lines).toHaveLength(loaded.document.lines.length);
      });

      it('round-trips through enable and disable', () => {
        const enabled = applyEdits(loaded, [{ kind: 'enable-section', section: 'kni' }]);
        const disabled = applyEdits(enabled.loaded, [{ kind: 'disable-section', section: 'kni' }]);
        expect(serializeDocument(disabled.document).equals(bytes)).toBe(true);
      });
    });
  },
);
