/**
 * Route safety: which learned prefixes may become kernel routes into a tunnel, as a table of
 * cases, then through BgpRouting against a kernel-like double holding the host's own default route.
 */
import { describe, expect, it } from 'vitest';
import type { LearnedRoute } from '../../../src/bgp/speaker.js';
import { BgpRouting, decideBgpRouting, type BgpTunnelView } from '../../../src/routing/bgp-routing.js';
import { RouteSafety, countRefusals, type RefusalReason } from '../../../src/routing/route-safety.js';
import { OwnedRouteSet } from '../../../src/routing/owned-routes.js';
import { FakeRouteTable } from '../../helpers/fake-route-table.js';

const AWS = ['203.0.113.10', '203.0.113.20'];
const INSIDE = ['169.254.10.0/30', '169.254.20.0/30'];
const SITE = ['192.0.2.0/24'];
const safety = (acceptDefaultRoute = false): RouteSafety => new RouteSafety({ awsOutsideAddresses: AWS, insideCidrs: INSIDE, sitePrefixes: SITE, acceptDefaultRoute });

describe('which prefixes are refused, and why', () => {
  const cases: [string, RefusalReason | 'ok'][] = [
    ['198.19.0.0/16', 'ok'],
    ['10.0.0.0/8', 'ok'],
    ['0.0.0.0/0', 'default-route'],
    ['203.0.113.10/32', 'aws-endpoint'],
    ['203.0.113.20/32', 'aws-endpoint'],
    ['203.0.113.0/24', 'aws-endpoint'],
    ['200.0.0.0/5', 'aws-endpoint'],
    ['203.0.113.128/25', 'ok'],
    ['127.0.0.0/8', 'martian'],
    ['127.1.0.0/16', 'martian'],
    ['0.0.0.0/8', 'martian'],
    ['224.0.0.0/4', 'martian'],
    ['239.1.1.0/24', 'martian'],
    ['240.0.0.0/4', 'martian'],
    ['255.255.255.255/32', 'martian'],
    ['169.254.0.0/16', 'martian'],
    ['169.254.30.0/30', 'martian'],
    ['169.254.10.0/30', 'ok'],
    ['192.0.2.0/24', 'site-prefix'],
    ['192.0.2.128/25', 'site-prefix'],
    ['192.0.0.0/16', 'ok'],
    ['0.0.0.0/1', 'ok'],
    ['10.0.0.1/8', 'invalid'],
    ['banana', 'invalid'],
  ];
  for (const [prefix, expected] of cases) {
    it(`${prefix} → ${expected}`, () => {
      const v = safety().check(prefix);
      expect(v.ok ? 'ok' : v.reason).toBe(expected);
    });
  }

  it('a default route is accepted only with the setting (the AWS endpoints are then pinned to the underlay)', () => {
    expect(safety(true).check('0.0.0.0/0')).toEqual({ ok: true });
    // The setting is about 0.0.0.0/0 only: other prefixes holding an endpoint stay refused.
    const v = safety(true).check('203.0.113.0/24');
    expect(v.ok ? 'ok' : v.reason).toBe('aws-endpoint');
  });

  it('every refusal says which rule and which address', () => {
    const v = safety().check('203.0.113.10/32');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.detail).toContain('203.0.113.10');
  });

  it('a prefix overlapping the site names the site prefix and the CloudHub rule (another site advertising it)', () => {
    const v = safety().check('192.0.2.0/25');
    expect(v.ok ? 'ok' : v.reason).toBe('site-prefix');
    if (!v.ok) expect(v.detail).toMatch(/192\.0\.2\.0\/24.*another site.*unique prefix per site/);
  });

  it('counts by reason, every reason present', () => {
    const counts = countRefusals([
      { prefix: '127.0.0.0/8', tunnels: [1], reason: 'martian', detail: '' },
      { prefix: '224.0.0.0/4', tunnels: [1], reason: 'martian', detail: '' },
    ]);
    expect(counts).toEqual({ 'aws-endpoint': 0, 'default-route': 0, martian: 2, 'site-prefix': 0, invalid: 0, conflict: 0 });
  });
});

function route(prefix: string): LearnedRoute {
  return { prefix, nextHop: '169.254.10.1', asPath: [64512], asPathLength: 1, origin: 0 };
}

/** What the lab's AWS router sends: a default, both endpoints, loopback, and the VPC. */
const HOSTILE = ['0.0.0.0/0', '203.0.113.10/32', '203.0.113.20/32', '127.0.0.0/8', '198.19.0.0/16'].map(route);
const T1 = { index: 1 as const, ifname: 'cgw-t1', gateway: '169.254.10.1' };
const T2 = { index: 2 as const, ifname: 'cgw-t2', gateway: '169.254.20.1' };
const view = (over: Partial<BgpTunnelView> = {}): [BgpTunnelView, BgpTunnelView] => [
  { ...T1, healthy: true, established: true, routes: HOSTILE, ...over },
  { ...T2, healthy: true, established: true, routes: HOSTILE },
];
const policy = (acceptDefaultRoute = false) => ({
  mode: 'active-standby' as const,
  sitePrefixes: SITE,
  maxAdvertisedPrefixes: 100,
  safety: { awsOutsideAddresses: AWS, insideCidrs: INSIDE, acceptDefaultRoute },
  defaultRouteMetric: 50,
});

describe('BGP decisions keep unsafe prefixes out of the kernel and show them', () => {
  it('only the VPC prefix is routed; the rest is refused with both tunnels named', () => {
    const d = decideBgpRouting(view(), policy());
    expect(d.routes.map((r) => r.prefix)).toEqual(['198.19.0.0/16']);
    expect(d.refused.map((r) => [r.prefix, r.reason, r.tunnels])).toEqual([
      ['0.0.0.0/0', 'default-route', [1, 2]],
      ['127.0.0.0/8', 'martian', [1, 2]],
      ['203.0.113.10/32', 'aws-endpoint', [1, 2]],
      ['203.0.113.20/32', 'aws-endpoint', [1, 2]],
    ]);
  });

  it('refused prefixes are shown also while the tunnel is unhealthy (the session still sends them)', () => {
    const d = decideBgpRouting(view({ healthy: false }), policy());
    expect(d.refused.find((r) => r.prefix === '127.0.0.0/8')?.tunnels).toEqual([1, 2]);
  });

  it('with the setting, 0.0.0.0/0 is routed at its own metric', () => {
    const d = decideBgpRouting(view(), policy(true));
    expect(d.routes.map((r) => `${r.prefix} ${r.metric}`)).toEqual(['0.0.0.0/0 50', '198.19.0.0/16 100']);
  });

  it("the host's own default route of the same metric is never replaced: a conflict, shown, and it survives stop()", async () => {
    const kernel = new FakeRouteTable();
    kernel.preload({ prefix: '0.0.0.0/0', via: '198.18.0.1', dev: 'eth0', metric: 50, owner: 'dhcp' });
    const speaker = { setAdvertised: (): void => undefined };
    const routing = new BgpRouting({ tunnels: [T1, T2], policy: policy(true), speakers: [speaker, speaker], routeTable: kernel });
    for (const t of [1, 2] as const) {
      routing.setHealth(t, true);
      routing.setSessionEstablished(t, true);
      routing.setLearnedRoutes(t, HOSTILE);
    }
    await routing.settled();
    expect(kernel.list()).toEqual(['198.19.0.0/16 via 169.254.10.1 dev cgw-t1']);
    expect(kernel.list('dhcp')).toEqual(['0.0.0.0/0 via 198.18.0.1 dev eth0']);
    expect(routing.refused().filter((r) => r.reason === 'conflict').map((r) => r.prefix)).toEqual(['0.0.0.0/0']);
    await routing.stop();
    expect(kernel.list()).toEqual([]);
    expect(kernel.list('dhcp')).toEqual(['0.0.0.0/0 via 198.18.0.1 dev eth0']);
  });
});

describe('OwnedRouteSet: one batch per change of the wanted set, only its own routes touched', () => {
  it('adds, moves by replace, deletes only what it holds; 1,000 routes in one batch', async () => {
    const kernel = new FakeRouteTable();
    kernel.preload({ prefix: '10.1.0.0/16', via: '192.168.1.1', dev: 'eth0', metric: 100, owner: 'static' });
    const set = new OwnedRouteSet(kernel);
    const many = Array.from({ length: 1000 }, (_, i) => ({ prefix: `10.${100 + (i >> 8)}.${i & 255}.0/24`, via: '169.254.10.1', dev: 'cgw-t1', metric: 100 }));
    const first = await set.sync([...many, { prefix: '10.1.0.0/16', via: '169.254.10.1', dev: 'cgw-t1', metric: 100 }]);
    expect(kernel.batches).toBe(1);
    expect(first.conflicts.map((c) => c.prefix)).toEqual(['10.1.0.0/16']);
    expect(set.held).toHaveLength(1000);
    const moved = many.map((r) => ({ ...r, via: '169.254.20.1', dev: 'cgw-t2' }));
    const second = await set.sync(moved);
    expect(kernel.batches).toBe(2);
    expect(second.changes).toBe(1000);
    expect(kernel.ops.slice(-1000).every((op) => op.startsWith('replace'))).toBe(true);
    await set.clear();
    expect(kernel.list()).toEqual([]);
    expect(kernel.list('static')).toEqual(['10.1.0.0/16 via 192.168.1.1 dev eth0']);
  });

  it('a route whose interface vanished is forgotten on delete, not reported as a failure', async () => {
    const kernel = new FakeRouteTable();
    const set = new OwnedRouteSet(kernel);
    await set.sync([{ prefix: '10.9.0.0/16', via: '169.254.10.1', dev: 'cgw-t1', metric: 100 }]);
    kernel.routes.clear(); // the TUN went away and took its routes
    const outcome = await set.clear();
    expect(outcome.failures).toEqual([]);
    expect(set.held).toEqual([]);
  });
});
