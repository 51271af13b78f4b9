import { describe, expect, it } from 'vitest';
import { ecmpActive, parseConfig, resolveSettings, type VpnConfig } from '../../../src/config/index.js';
import { expectProblem, readSample } from './helpers.js';

const bgp = (): VpnConfig => parseConfig(readSample('sample-batfish-bgp-vgw.xml'));
const tgw = (): VpnConfig => parseConfig(readSample('sample-batfish-bgp-tgw.xml'));
const staticConfig = (): VpnConfig => parseConfig(readSample('sample-batfish-static-vgw.xml'));

describe('resolveSettings', () => {
  it('needs nothing in the common case', () => {
    expect(resolveSettings(undefined, {}, bgp())).toEqual({
      advertise: [],
      staticRoutes: [],
      localAddress: { mode: 'auto', preferred: '147.75.69.27', fallback: '0.0.0.0' },
      localId: '147.75.69.27',
      interfaces: ['cgw-t1', 'cgw-t2'],
      keepalive: { intervalSeconds: 0.2, window: 3 },
      metrics: { listen: '127.0.0.1:9580' },
      controlSocket: '/run/cgwd/cgwd.sock',
      ikeVersion: 'ikev2',
      failback: 'auto',
      defaultRoute: { accept: false, metric: 50 },
      routeMetric: 100,
      asPathPrepend: 0,
      ecmp: 'auto',
      dataplaneThreads: 1,
      origins: {
        advertise: 'default',
        staticRoutes: 'default',
        localAddress: 'default',
        localId: 'default',
        interfaces: 'default',
        'keepalive.target': 'default',
        'keepalive.intervalSeconds': 'default',
        'keepalive.window': 'default',
        'metrics.listen': 'default',
        controlSocket: 'default',
        ikeVersion: 'default',
        failback: 'default',
        'defaultRoute.accept': 'default',
        'defaultRoute.metric': 'default',
        routeMetric: 'default',
        asPathPrepend: 'default',
        ecmp: 'default',
        dataplaneThreads: 'default',
      },
    });
  });

  it('ecmp: auto means both tunnels at once on a transit gateway with BGP only; on works toward a VGW too; off is off', () => {
    const active = (file: object, config: VpnConfig): boolean => ecmpActive(resolveSettings(JSON.stringify(file), {}, config), config);
    expect([active({}, tgw()), active({}, bgp()), active({}, staticConfig())]).toEqual([true, false, false]);
    expect([active({ ecmp: 'on' }, bgp()), active({ ecmp: 'off' }, tgw())]).toEqual([true, false]);
    expect(resolveSettings(undefined, { ecmp: 'off' }, tgw()).origins.ecmp).toBe('cli');
  });

  it('dataplaneThreads: 1 by default, 2 from the file (a number) or the flag (a string), the flag winning', () => {
    expect(resolveSettings(undefined, {}, bgp()).dataplaneThreads).toBe(1);
    const fromFile = resolveSettings(JSON.stringify({ dataplaneThreads: 2 }), {}, bgp());
    expect([fromFile.dataplaneThreads, fromFile.origins.dataplaneThreads]).toEqual([2, 'file']);
    const fromFlag = resolveSettings(JSON.stringify({ dataplaneThreads: 2 }), { dataplaneThreads: '1' }, bgp());
    expect([fromFlag.dataplaneThreads, fromFlag.origins.dataplaneThreads]).toEqual([1, 'cli']);
    expect(resolveSettings(undefined, { dataplaneThreads: '2' }, bgp()).dataplaneThreads).toBe(2);
  });

  it('reads the settings file, and flags override it', () => {
    const file = JSON.stringify({
      advertise: ['10.10.0.0/16', '10.20.0.0/16'],
      localAddress: '192.0.2.10',
      localId: 'cgw.example.net',
      interfaces: ['vpn0', 'vpn1'],
      keepalive: { target: '10.0.0.10', intervalSeconds: 2 },
      metrics: { listen: '[::1]:9100' },
      controlSocket: '/run/cgwd/site-a.sock',
      ikeVersion: 'ikev1',
      failback: 'manual',
    });
    const s = resolveSettings(file, { advertise: ['10.30.0.0/16'], keepaliveInterval: '7', localAddress: 'auto' }, bgp());
    expect(s).toMatchObject({
      advertise: ['10.30.0.0/16'],
      localAddress: { mode: 'auto', preferred: '147.75.69.27' },
      localId: 'cgw.example.net',
      interfaces: ['vpn0', 'vpn1'],
      keepalive: { target: '10.0.0.10', intervalSeconds: 7 },
      metrics: { listen: '[::1]:9100' },
      controlSocket: '/run/cgwd/site-a.sock',
      ikeVersion: 'ikev1',
      failback: 'manual',
    });
    expect(s.origins).toMatchObject({ advertise: 'cli', 'keepalive.intervalSeconds': 'cli', 'keepalive.target': 'file', interfaces: 'file', staticRoutes: 'default' });
  });

  it('a fixed local address', () => {
    expect(resolveSettings(undefined, { localAddress: '192.0.2.7' }, bgp()).localAddress).toEqual({ mode: 'fixed', address: '192.0.2.7' });
  });

  it('static routes on a static-routing connection', () => {
    expect(resolveSettings('{"staticRoutes": ["172.31.0.0/16", "10.0.0.0/8"]}', {}, staticConfig()).staticRoutes).toEqual(['172.31.0.0/16', '10.0.0.0/8']);
  });

  it('100 prefixes toward a virtual private gateway are fine, 101 are not; a transit gateway takes 1000', () => {
    const prefixes = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`);
    expect(resolveSettings(undefined, { advertise: prefixes(100) }, bgp()).advertise).toHaveLength(100);
    const problem = expectProblem(() => resolveSettings(undefined, { advertise: prefixes(101) }, bgp()), { path: '--advertise', rule: 'advertise-limit' });
    expect(problem.message).toContain('at most 100');
    expect(resolveSettings(undefined, { advertise: prefixes(1000) }, tgw()).advertise).toHaveLength(1000);
    expectProblem(() => resolveSettings(undefined, { advertise: prefixes(1001) }, tgw()), { path: '--advertise', rule: 'advertise-limit' });
  });

  it('reports every settings problem at once', () => {
    try {
      resolveSettings('{"interfaces": ["a/b", "a/b"], "failback": "x", "bogus": 1}', {}, bgp());
      expect.unreachable();
    } catch (error) {
      const problems = (error as { code: string; problems: { rule: string }[] }).problems;
      expect((error as { code: string }).code).toBe('SETTINGS_INVALID');
      expect(problems.map((p) => p.rule).sort()).toEqual(['failback', 'ifname', 'ifname', 'interfaces-distinct', 'settings-unknown']);
    }
  });
});
