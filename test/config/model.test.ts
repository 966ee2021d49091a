import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { getValue, loadConfig, parseConfig } from '../../src/config/model.js';
import {
  kniRealization,
  maxLineForVersion,
  parseFstackVersion,
} from '../../src/config/versions.js';
import { makeTempDir } from '../helpers/config-paths.js';

const RUNBOOK = `[dpdk]
lcore_mask=3
port_list=0
vlan_filter=10

[port0]
addr=192.0.2.79
netmask=255.255.255.0
broadcast=192.0.2.255
gateway=192.0.2.1
addr6=2001:db8::79
prefix_len=64
gateway6=2001:db8::1
vip_addr=192.0.2.80;192.0.2.81
vip_addr6=2001:db8::80
if_name=eth1
lcore_list=0,1

[vlan10]
portid=0
addr=198.51.100.2
netmask=255.255.255.0
broadcast=198.51.100.255
gateway=198.51.100.1

[kni]
enable=1
method=accept
tcp_port=22,80-81
udp_port=53
kni_action=default

[freebsd.boot]
hz=100

[freebsd.sysctl]
kern.ipc.somaxconn=32768

[custom]
anything=kept
`;

describe('typed model', () => {
  const loaded = parseConfig(RUNBOOK, { file: 'runbook.conf' });
  const { config } = loaded;

  it('has no findings for the runbook file', () => {
    expect(
      loaded.diagnostics.filter((diagnostic) => diagnostic.code !== 'section-unknown'),
    ).toEqual([]);
    expect(loaded.version).toBe('1.25');
  });

  it('reads [dpdk]', () => {
    expect(config.dpdk.portList).toEqual([0]);
    expect(config.dpdk.lcoreMask).toBe('3');
    expect(config.dpdk.lcores).toEqual([0, 1]);
    expect(config.dpdk.vlanFilter).toEqual([10]);
    expect(config.dpdk.sources.port_list).toEqual({ line: 3, column: 11 });
  });

  it('reads [port0] with value locations', () => {
    const port = config.ports.get(0);
    expect(port).toMatchObject({
      id: 0,
      listed: true,
      addr: '192.0.2.79',
      netmask: '255.255.255.0',
      broadcast: '192.0.2.255',
      gateway: '192.0.2.1',
      addr6: '2001:db8::79',
      prefixLen: 64,
      gateway6: '2001:db8::1',
      vipAddr: ['192.0.2.80', '192.0.2.81'],
      vipAddr6: ['2001:db8::80'],
      ifName: 'eth1',
      lcoreList: [0, 1],
      section: { line: 6, column: 1 },
    });
    expect(port?.sources.addr).toEqual({ line: 7, column: 6 });
  });

  it('reads [vlan10] attached to port 0', () => {
    expect(config.vlans.get(10)).toMatchObject({
      vlanId: 10,
      portId: 0,
      addr: '198.51.100.2',
      gateway: '198.51.100.1',
    });
  });

  it('reads [kni] with the ports F-Stack matches', () => {
    expect(config.kni).toMatchObject({
      present: true,
      enable: true,
      method: 'accept',
      tcpPort: '22,80-81',
      udpPort: '53',
      tcpPorts: [22, 80, 81],
      udpPorts: [53],
      kniAction: 'default',
      realization: { backend: 'virtio_user', needsCarrier: false },
    });
    expect(config.kni.sources.method).toEqual({ line: 28, column: 8 });
  });

  it('keeps FreeBSD tunables and unknown sections as entries', () => {
    expect(config.freebsd.boot.map((entry) => [entry.name, entry.value])).toEqual([['hz', '100']]);
    expect(config.freebsd.sysctl.map((entry) => [entry.name, entry.value])).toEqual([
      ['kern.ipc.somaxconn', '32768'],
    ]);
    expect(config.entries.find((entry) => entry.section === 'custom')).toMatchObject({
      name: 'anything',
      value: 'kept',
      status: 'ignored',
    });
    expect(config.sections.map((section) => section.name)).toEqual([
      'dpdk',
      'port0',
      'vlan10',
      'kni',
      'freebsd.boot',
      'freebsd.sysctl',
      'custom',
    ]);
  });

  it('returns the last value of a key', () => {
    const twice = parseConfig('[kni]\nmethod=reject\nmethod=accept\n');
    expect(getValue(twice.config, 'kni', 'method')).toEqual({
      section: 'kni',
      name: 'method',
      value: 'accept',
      line: 3,
      column: 8,
    });
    expect(getValue(twice.config, 'kni', 'tcp_port')).toBeUndefined();
  });

  it('merges repeated sections', () => {
    const merged = parseConfig('[kni]\nenable=1\n[dpdk]\nport_list=0\n[kni]\nmethod=accept\n');
    expect(merged.config.kni).toMatchObject({ enable: true, method: 'accept' });
  });

  it('reads the text F-Stack keeps, # comments included', () => {
    const hashed = parseConfig('[dpdk]\nport_list=0\n[port0]\naddr=192.0.2.1 # lab\n');
    expect(hashed.config.ports.get(0)?.addr).toBe('192.0.2.1 # lab');
  });

  it('drops VLANs that F-Stack ignores', () => {
    const text = RUNBOOK.replace('vlan_filter=10', 'vlan_filter=20');
    expect(parseConfig(text).config.vlans.size).toBe(0);
  });

  it('reads no [vlanN] before 1.24', () => {
    const old = parseConfig(RUNBOOK.replace('vlan_filter=10\n', ''), { fstackVersion: '1.23' });
    expect(old.config.vlans.size).toBe(0);
    expect(old.config.kni.realization).toEqual({ backend: 'rte_kni', needsCarrier: true });
  });
});

describe('versions', () => {
  it('accepts the usual spellings', () => {
    expect(parseFstackVersion('1.24')).toBe('1.24');
    expect(parseFstackVersion('v1.23')).toBe('1.23');
    expect(parseFstackVersion('1.21.5')).toBe('1.21');
    expect(parseFstackVersion('dev')).toBe('1.25');
    expect(parseFstackVersion('dev-5cb586b')).toBe('1.25');
  });

  it.each(['1.13', '2.0', 'latest', ''])('rejects %j', (text) => {
    expect(() => parseFstackVersion(text)).toThrow(RangeError);
  });

  it('sets the line limit by version', () => {
    expect(maxLineForVersion('1.23')).toBe(200);
    expect(maxLineForVersion('1.24')).toBe(2048);
  });

  it('tells how KNI is realized', () => {
    expect(kniRealization('1.21', undefined).backend).toBe('rte_kni');
    expect(kniRealization('1.24', undefined).backend).toBe('virtio_user');
    expect(kniRealization('1.24', 0)).toEqual({ backend: 'rte_kni', needsCarrier: true });
    expect(kniRealization('1.25', 0)).toEqual({ backend: 'virtio_user', needsCarrier: false });
  });

  it('reads type=0 as rte_kni in 1.24 only', () => {
    const text = '[kni]\nenable=0\ntype=0\n';
    expect(parseConfig(text, { fstackVersion: '1.24' }).config.kni.realization.backend).toBe(
      'rte_kni',
    );
    expect(parseConfig(text, { fstackVersion: '1.25' }).config.kni.type).toBeUndefined();
  });

  it('cuts long lines at the version limit', () => {
    const text = `[dpdk]\nport_list=0\nfile_prefix=${'p'.repeat(300)}\n`;
    expect(
      parseConfig(text, { fstackVersion: '1.23' }).diagnostics.map((diagnostic) => diagnostic.code),
    ).toContain('line-too-long');
    expect(
      parseConfig(text, { fstackVersion: '1.24' }).diagnostics.map((diagnostic) => diagnostic.code),
    ).not.toContain('line-too-long');
  });
});

describe('loadConfig', () => {
  const temp = makeTempDir();
  afterAll(() => temp.remove());

  it('reads a file and records its snapshot', async () => {
    const path = join(temp.path, 'f-stack.conf');
    writeFileSync(path, RUNBOOK);
    const loaded = await loadConfig(path, { fstackVersion: '1.25' });
    expect(loaded.file).toBe(path);
    expect(loaded.config.kni.enable).toBe(true);
    expect(loaded.snapshot?.size).toBe(Buffer.byteLength(RUNBOOK));
    expect(loaded.snapshot?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('throws the file system error for a missing file', async () => {
    await expect(loadConfig(join(temp.path, 'missing.conf'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
