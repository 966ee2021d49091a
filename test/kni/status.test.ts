import { describe, expect, it } from 'vitest';
import { diagnose, type StatusInput } from '../../src/kni/status.js';
import {
  convergedRunbook,
  makeAddress,
  makeConfig,
  makeDefaultRoute,
  makeLink,
  makeLive,
  runbookPort,
} from './fixtures.js';

const allPresent = { exists: () => true };

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  return {
    config: makeConfig(),
    configErrors: [],
    options: { fstackVersion: '1.25' },
    live: convergedRunbook().live,
    environment: allPresent,
    ...overrides,
  };
}

function codes(report: ReturnType<typeof diagnose>): string[] {
  return report.problems.map((p) => p.code);
}

describe('diagnose', () => {
  it('does not report an unmanaged VIP', () => {
    const config = makeConfig({ ports: [runbookPort(0, { vipAddr: ['198.51.100.20'] })] });
    const { link, live } = convergedRunbook();
    live.addresses.push(makeAddress(link, '198.51.100.20/32'));
    const report = diagnose(input({ config, live }));

    expect(report.problems).toEqual([]);
    expect(report.notes).toContain(
      'address 198.51.100.20/32 on veth0 is in f-stack.conf as [port0] vip_addr, managed only with --with-vips',
    );
  });

  it('repeats the given options in fixes', () => {
    const config = makeConfig({ ports: [runbookPort(0, { vipAddr: ['198.51.100.20'] })] });
    const applyArguments = [
      '--config',
      '/tmp/my conf',
      '--netns',
      'lab',
      '--port',
      '0',
      '--with-vips',
    ];
    const report = diagnose(
      input({ config, options: { fstackVersion: '1.25', withVips: true }, applyArguments }),
    );

    expect(codes(report)).toEqual(['address-missing']);
    expect(report.problems[0]!.fix).toBe(
      "run fstack-kni apply --config '/tmp/my conf' --netns lab --port 0 --with-vips",
    );
  });

  it('drops the given --route-metric from metric fixes', () => {
    const { live } = convergedRunbook();
    const other = makeLink('eth9', { up: true });
    live.links.push(other);
    live.routes.push(makeDefaultRoute(other, '192.0.2.254'));
    const report = diagnose(
      input({
        live,
        options: { fstackVersion: '1.25', routeMetric: 5 },
        applyArguments: ['--route-metric', '5'],
      }),
    );

    const conflict = report.problems.find((p) => p.code === 'default-route-conflict');
    expect(conflict?.fix).toMatch(/^run fstack-kni apply --route-metric N with N below 0,/);
    const missing = report.problems.find((p) => p.code === 'route-missing');
    expect(missing?.fix).toBe('run fstack-kni apply --route-metric 5');
  });

  it('reports a converged interface as ok', () => {
    const report = diagnose(input());
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.interfaces[0]).toMatchObject({
      name: 'veth0',
      present: true,
      up: true,
      carrier: true,
      addresses: ['192.0.2.79/24 broadcast 192.0.2.255'],
      routes: ['default via 192.0.2.1 metric 0'],
      expected: {
        addresses: ['192.0.2.79/24 broadcast 192.0.2.255'],
        routes: ['default via 192.0.2.1 metric 0'],
      },
    });
  });

  it('reports config errors and stops', () => {
    const report = diagnose(input({ configErrors: ['line 3: [kni] method is missing'] }));
    expect(codes(report)).toEqual(['config-invalid']);
    expect(report.interfaces).toEqual([]);
  });

  it('reports KNI disabled', () => {
    const report = diagnose(input({ config: makeConfig({ kni: { enable: false } }) }));
    expect(codes(report)).toEqual(['kni-disabled']);
    expect(report.problems[0]!.fix).toContain('enable=1');
  });

  it('explains a missing tap on 1.25', () => {
    const missing = (path: string) => path !== '/dev/vhost-net';
    const report = diagnose(
      input({ live: makeLive({ links: [makeLink('lo')] }), environment: { exists: missing } }),
    );
    expect(codes(report)).toEqual(['interface-missing']);
    const problem = report.problems[0]!;
    expect(problem.cause).toContain('/dev/vhost-net is missing');
    expect(problem.cause).not.toContain('/dev/net/tun');
    expect(problem.cause).toContain('primary process is not running');
    expect(problem.fix).toContain('modprobe vhost_net');
    expect(report.interfaces[0]!.present).toBe(false);
  });

  it('explains a missing rte_kni netdev on 1.23', () => {
    const report = diagnose(
      input({
        options: { fstackVersion: '1.23' },
        live: makeLive(),
        environment: { exists: (path) => path !== '/sys/module/rte_kni' },
      }),
    );
    expect(report.problems[0]!.cause).toContain('rte_kni module is not loaded');
    expect(report.problems[0]!.fix).toContain('insmod rte_kni.ko carrier=on');
  });

  it('reports a fresh tap as down without address and route', () => {
    const report = diagnose(input({ live: makeLive({ links: [makeLink('veth0')] }) }));
    expect(codes(report)).toEqual(['link-down', 'address-missing', 'route-missing']);
    expect(report.problems[0]!.cause).toContain('comes back down and empty');
    expect(report.problems[2]!.message).toBe('veth0 has no route default via 192.0.2.1 metric 0');
  });

  it('reports an old IP once', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.50/24', { broadcast: '192.0.2.255' })];
    const report = diagnose(input({ live }));
    expect(codes(report)).toEqual(['address-differs']);
    expect(report.problems[0]!.message).toBe(
      'veth0 has 192.0.2.50/24 broadcast 192.0.2.255 but f-stack.conf asks for 192.0.2.79/24 broadcast 192.0.2.255',
    );
    expect(report.problems[0]!.fix).toContain('--prune');
  });

  it('reports a wrong broadcast', () => {
    const { link, live } = convergedRunbook();
    live.addresses = [makeAddress(link, '192.0.2.79/24', { broadcast: '192.0.2.127' })];
    const report = diagnose(input({ live }));
    expect(codes(report)).toEqual(['address-mismatch']);
    expect(report.problems[0]!.message).toBe(
      'veth0 has 192.0.2.79/24 broadcast 192.0.2.127 but f-stack.conf asks for 192.0.2.79/24 broadcast 192.0.2.255',
    );
  });

  it('reports up without carrier by driver', () => {
    const tap = diagnose(input({ live: convergedRunbook({ carrier: false }).live }));
    expect(codes(tap)).toEqual(['no-carrier']);
    expect(tap.problems[0]!.cause).toContain('no process holds the tap open');

    const kni = diagnose(
      input({
        options: { fstackVersion: '1.23' },
        live: convergedRunbook({ carrier: false }).live,
      }),
    );
    expect(codes(kni)).toEqual(['no-carrier']);
    expect(kni.problems[0]!.cause).toContain('carrier=on');
    expect(kni.problems[0]!.fix).toContain('sets the carrier');
  });

  it('reports a default route on another interface', () => {
    const { live } = convergedRunbook();
    const eth0 = makeLink('eth0', { up: true, carrier: true });
    live.links.push(eth0);

    live.routes.push(makeDefaultRoute(eth0, '198.51.100.1', { metric: 0 }));
    live.routes = live.routes.filter((r) => !(r.gateway === '192.0.2.1'));
    const sameMetric = diagnose(input({ live }));
    expect(codes(sameMetric)).toEqual(['default-route-conflict']);
    expect(sameMetric.problems[0]!.fix).toContain('--route-metric');

    const lower = diagnose(input({ live, options: { fstackVersion: '1.25', routeMetric: 100 } }));
    expect(codes(lower)).toContain('default-route-conflict');
    expect(lower.problems.find((p) => p.code === 'default-route-conflict')!.message).toContain(
      'wins over veth0',
    );
  });

  it('reports a gateway change and extra route', () => {
    const { link, live } = convergedRunbook();
    live.routes = [
      makeDefaultRoute(link, '192.0.2.254'),
      { ...makeDefaultRoute(link, '192.0.2.1'), destination: '203.0.113.0', prefixLength: 24 },
    ];
    const report = diagnose(input({ live }));
    expect(codes(report)).toEqual(['route-gateway-differs', 'unexpected-route']);
    expect(report.problems[0]!.message).toBe(
      'veth0 has route default via 192.0.2.254 metric 0 but f-stack.conf asks for default via 192.0.2.1 metric 0',
    );
  });

  it('reports two ports independently', () => {
    const config = makeConfig({
      ports: [
        runbookPort(0),
        runbookPort(1, {
          addr: '198.51.100.9',
          broadcast: '198.51.100.255',
          gateway: '198.51.100.1',
        }),
      ],
    });
    const report = diagnose(
      input({ config, options: { fstackVersion: '1.25', routeMetric: 0, ports: [0, 1] } }),
    );
    expect(report.interfaces.map((i) => [i.name, i.present])).toEqual([
      ['veth0', true],
      ['veth1', false],
    ]);
    expect(codes(report)).toEqual(['interface-missing']);
    expect(report.problems[0]!.interface).toBe('veth1');
  });
});
