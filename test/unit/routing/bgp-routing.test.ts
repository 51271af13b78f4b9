/**
 * Routing decisions from both tunnels' BGP routes and health: the pure
 * decision as a table of cases, then the applier against a route-table double
 * and speaker doubles.
 */
import { describe, expect, it } from 'vitest';
import type { LearnedRoute } from '../../../src/bgp/speaker.js';
import type { OwnedRoute } from '../../../src/routing/kernel-routes.js';
import { FakeRouteTable } from '../../helpers/fake-route-table.js';
import {
  BgpRouting,
  decideBgpRouting,
  type AdvertisementPlan,
  type BgpRoutingPolicy,
  type BgpTunnelView,
} from '../../../src/routing/bgp-routing.js';

const T1 = { index: 1 as const, ifname: 'cgw-t1', gateway: '169.254.10.1' };
const T2 = { index: 2 as const, ifname: 'cgw-t2', gateway: '169.254.20.1' };
const VPC = '172.31.0.0/16';
const SITE = ['10.10.0.0/16', '10.20.0.0/24'];

function route(prefix: string, asPathLength = 1, med?: number): LearnedRoute {
  return { prefix, nextHop: '169.254.0.1', asPath: new Array<number>(asPathLength).fill(64512), asPathLength, ...(med !== undefined ? { med } : {}), origin: 0 };
}

function tunnels(t1: Partial<BgpTunnelView>, t2: Partial<BgpTunnelView>): [BgpTunnelView, BgpTunnelView] {
  return [
    { ...T1, healthy: true, established: true, routes: [route(VPC)], ...t1 },
    { ...T2, healthy: true, established: true, routes: [route(VPC)], ...t2 },
  ];
}

const policy = (over: Partial<BgpRoutingPolicy> = {}): BgpRoutingPolicy => ({ mode: 'active-standby', sitePrefixes: SITE, maxAdvertisedPrefixes: 100, ...over });
const devs = (routes: readonly OwnedRoute[]): string[] => routes.map((r) => `${r.prefix} ${r.dev} ${r.metric}`);

describe('outbound: which tunnel carries each learned prefix', () => {
  const cases: [string, Partial<BgpTunnelView>, Partial<BgpTunnelView>, string[]][] = [
    ['equal routes → tunnel 1', {}, {}, [`${VPC} cgw-t1 100`]],
    ['shorter AS path wins', { routes: [route(VPC, 3)] }, { routes: [route(VPC, 1)] }, [`${VPC} cgw-t2 100`]],
    ['equal AS path, lower MED wins (AWS maintenance lowers it on the survivor)', { routes: [route(VPC, 1, 200)] }, { routes: [route(VPC, 1, 100)] }, [`${VPC} cgw-t2 100`]],
    ['AS path length beats MED', { routes: [route(VPC, 1, 500)] }, { routes: [route(VPC, 2, 0)] }, [`${VPC} cgw-t1 100`]],
    ['a missing MED counts as 0', { routes: [route(VPC, 1, 100)] }, { routes: [route(VPC, 1)] }, [`${VPC} cgw-t2 100`]],
    ['unhealthy tunnel is dropped at once, even with its session still up', { healthy: false }, {}, [`${VPC} cgw-t2 100`]],
    ['session not Established: not usable', {}, { established: false, routes: [route(VPC, 1, 0)] }, [`${VPC} cgw-t1 100`]],
    ['both unusable: no routes', { healthy: false }, { established: false }, []],
    [
      'every prefix AWS announces is routed (CloudHub), each on its best tunnel',
      { routes: [route(VPC), route('10.99.0.0/16', 2)] },
      { routes: [route(VPC), route('10.99.0.0/16', 1)] },
      [`10.99.0.0/16 cgw-t2 100`, `${VPC} cgw-t1 100`],
    ],
  ];
  for (const [name, t1, t2, expected] of cases) {
    it(name, () => {
      expect(devs(decideBgpRouting(tunnels(t1, t2), policy()).routes)).toEqual(expected);
    });
  }

  it('routes point at the AWS inside address of the tunnel', () => {
    expect(decideBgpRouting(tunnels({}, {}), policy()).routes).toEqual([{ prefix: VPC, via: '169.254.10.1', dev: 'cgw-t1', metric: 100 }]);
  });

  it('active-active: both tunnels with equal metrics when they tie; only the best when AWS marks one with a lower MED', () => {
    const aa = policy({ mode: 'active-active' });
    // One multipath route: the kernel keys routes by prefix and metric, so two routes could not coexist.
    expect(decideBgpRouting(tunnels({}, {}), aa).routes).toEqual([
      {
        prefix: VPC,
        via: '169.254.10.1',
        dev: 'cgw-t1',
        metric: 100,
        nexthops: [
          { via: '169.254.10.1', dev: 'cgw-t1' },
          { via: '169.254.20.1', dev: 'cgw-t2' },
        ],
      },
    ]);
    expect(decideBgpRouting(tunnels({}, {}), aa).choices).toEqual([{ prefix: VPC, tunnels: [1, 2], asPathLength: 1, med: 0 }]);
    expect(devs(decideBgpRouting(tunnels({ routes: [route(VPC, 1, 200)] }, { routes: [route(VPC, 1, 100)] }), aa).routes)).toEqual([`${VPC} cgw-t2 100`]);
    expect(devs(decideBgpRouting(tunnels({ healthy: false }, {}), aa).routes)).toEqual([`${VPC} cgw-t2 100`]);
  });
});

describe('inbound: what each tunnel advertises', () => {
  const plans = (t1: Partial<BgpTunnelView>, t2: Partial<BgpTunnelView>, p = policy()): [AdvertisementPlan, AdvertisementPlan] => {
    const d = decideBgpRouting(tunnels(t1, t2), p);
    return [d.advertisements[1], d.advertisements[2]];
  };

  it('active/standby: tunnel 2 prepends 3 so AWS returns traffic on tunnel 1', () => {
    expect(plans({}, {})).toEqual([
      { prefixes: SITE, asPathPrepend: 0 },
      { prefixes: SITE, asPathPrepend: 3 },
    ]);
  });

  it('the standby box of a redundant pair prepends more on both tunnels, the tunnel order inside the box kept', () => {
    expect(plans({}, {}, policy({ boxAsPathPrepend: 2 }))).toEqual([
      { prefixes: SITE, asPathPrepend: 2 },
      { prefixes: SITE, asPathPrepend: 5 },
    ]);
    // While one tunnel is down the survivor still carries the box's prepend: AWS keeps preferring the other box.
    expect(plans({ healthy: false }, {}, policy({ boxAsPathPrepend: 2 }))[1].asPathPrepend).toBe(2);
  });

  it('active-active: equal advertisements', () => {
    expect(plans({}, {}, policy({ mode: 'active-active' }))).toEqual([
      { prefixes: SITE, asPathPrepend: 0 },
      { prefixes: SITE, asPathPrepend: 0 },
    ]);
  });

  it('tunnel 1 unhealthy: tunnel 1 withdraws, tunnel 2 announces the site prefixes and their halves, unprepended', () => {
    const d = decideBgpRouting(tunnels({ healthy: false }, {}), policy());
    expect(d.advertisements[1]).toEqual({ prefixes: [], asPathPrepend: 0 });
    expect(d.advertisements[2]).toEqual({
      prefixes: ['10.10.0.0/16', '10.20.0.0/24', '10.10.0.0/17', '10.10.128.0/17', '10.20.0.0/25', '10.20.0.128/25'],
      asPathPrepend: 0,
    });
    expect(d.moreSpecifics).toBe('announced');
    expect(d.activeTunnel).toBe(2);
  });

  it('tunnel 1 back: the halves are withdrawn and tunnel 2 is standby again', () => {
    const [, t2] = plans({}, {});
    expect(t2).toEqual({ prefixes: SITE, asPathPrepend: 3 });
  });

  it('more-specifics that would exceed the budget are skipped, with a note', () => {
    const site = Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`);
    const d = decideBgpRouting(tunnels({ healthy: false }, {}), policy({ sitePrefixes: site }));
    expect(d.moreSpecifics).toBe('over-budget');
    expect(d.advertisements[2]).toEqual({ prefixes: site, asPathPrepend: 0 });
    expect(d.notes.join()).toContain('120 of the 100 allowed');
    // The same 40 towards a TGW (1,000) fit.
    expect(decideBgpRouting(tunnels({ healthy: false }, {}), policy({ sitePrefixes: site, maxAdvertisedPrefixes: 1000 })).moreSpecifics).toBe('announced');
  });

  it('exactly at the budget is fine; a /32 has no halves', () => {
    const site = [...Array.from({ length: 33 }, (_, i) => `10.${i}.0.0/16`), '192.0.2.1/32'];
    const d = decideBgpRouting(tunnels({ healthy: false }, {}), policy({ sitePrefixes: site }));
    expect(d.moreSpecifics).toBe('announced');
    expect(d.advertisements[2].prefixes).toHaveLength(100);
  });

  it('tunnel 2 (standby) unhealthy: AWS already prefers tunnel 1, no more-specifics; tunnel 2 withdraws', () => {
    const d = decideBgpRouting(tunnels({}, { healthy: false }), policy());
    expect(d.moreSpecifics).toBe('not-needed');
    expect(d.advertisements[1]).toEqual({ prefixes: SITE, asPathPrepend: 0 });
    expect(d.advertisements[2]).toEqual({ prefixes: [], asPathPrepend: 0 });
  });

  it('active-active: either tunnel down brings the more-specifics on the other', () => {
    const d = decideBgpRouting(tunnels({}, { healthy: false }), policy({ mode: 'active-active' }));
    expect(d.moreSpecifics).toBe('announced');
    expect(d.advertisements[1].prefixes).toHaveLength(6);
  });

  it('both unhealthy: keep advertising as usual, there is nothing better', () => {
    const d = decideBgpRouting(tunnels({ healthy: false }, { healthy: false }), policy());
    expect(d.activeTunnel).toBeNull();
    expect([d.advertisements[1], d.advertisements[2]]).toEqual([
      { prefixes: SITE, asPathPrepend: 0 },
      { prefixes: SITE, asPathPrepend: 3 },
    ]);
  });

  it('the trick can be turned off', () => {
    expect(decideBgpRouting(tunnels({ healthy: false }, {}), policy({ moreSpecificsOnFailover: false })).moreSpecifics).toBe('disabled');
  });
});

describe('BgpRouting applies decisions', () => {
  function harness(p: BgpRoutingPolicy = policy()) {
    const fake = new FakeRouteTable();
    const table = fake.routes;
    const ops = fake.ops;
    const advertised: [number, readonly string[], number][] = [];
    const speaker = (index: number) => ({
      setAdvertised: (prefixes: readonly string[], o: { asPathPrepend?: number }) => void advertised.push([index, prefixes, o.asPathPrepend ?? 0]),
    });
    const lines: string[] = [];
    const logger = { info: (_: unknown, m: string) => lines.push(`info ${m}`), warn: (_: unknown, m: string) => lines.push(`warn ${m}`), error: (_: unknown, m: string) => lines.push(`error ${m}`) };
    const routing = new BgpRouting({
      tunnels: [T1, T2],
      policy: p,
      speakers: [speaker(1), speaker(2)],
      logger: logger as never,
      routeTable: fake,
    });
    const kernel = async (): Promise<string[]> => {
      await routing.settled();
      return [...table.values()].map((r) => `${r.prefix} via ${r.via} dev ${r.dev}`);
    };
    return { routing, kernel, ops, advertised, lines };
  }

  it('installs the VPC route on tunnel 1, moves it to tunnel 2 the moment tunnel 1 is unhealthy, and back', async () => {
    const { routing, kernel, ops } = harness();
    routing.start();
    for (const t of [1, 2] as const) {
      routing.setHealth(t, true);
      routing.setSessionEstablished(t, true);
      routing.setLearnedRoutes(t, [route(VPC)]);
    }
    expect(await kernel()).toEqual([`${VPC} via 169.254.10.1 dev cgw-t1`]);
    ops.length = 0;
    routing.setHealth(1, false);
    expect(await kernel()).toEqual([`${VPC} via 169.254.20.1 dev cgw-t2`]);
    expect(ops).toEqual([`replace ${VPC} cgw-t2`]); // one atomic replace: never without a route
    routing.setHealth(1, true);
    expect(await kernel()).toEqual([`${VPC} via 169.254.10.1 dev cgw-t1`]);
  });

  it('a session going down removes its routes; stop() removes everything it installed', async () => {
    const { routing, kernel } = harness();
    routing.setHealth(1, true);
    routing.setSessionEstablished(1, true);
    routing.setLearnedRoutes(1, [route(VPC), route('10.99.0.0/16')]);
    expect(await kernel()).toHaveLength(2);
    routing.setSessionEstablished(1, false);
    expect(await kernel()).toEqual([]);
    routing.setSessionEstablished(1, true);
    expect(await kernel()).toHaveLength(2);
    await routing.stop();
    expect(await kernel()).toEqual([]);
  });

  it('tells each speaker what to advertise, only when that changes, and logs the failover trick', async () => {
    const { routing, advertised, lines } = harness();
    routing.start();
    expect(advertised).toEqual([
      [1, SITE, 0],
      [2, SITE, 3],
    ]);
    routing.setHealth(1, true); // for a moment tunnel 2 is the dead one: it withdraws
    routing.setHealth(2, true);
    expect(advertised.slice(-2)).toEqual([
      [2, [], 0],
      [2, SITE, 3],
    ]);
    advertised.length = 0;
    routing.setLearnedRoutes(1, [route(VPC)]);
    expect(advertised).toEqual([]);
    routing.setHealth(1, false);
    expect(advertised.map(([t, p, pre]) => [t, p.length, pre])).toEqual([
      [1, 0, 0],
      [2, 6, 0],
    ]);
    expect(lines.some((l) => l.startsWith('info tunnel 1 is down'))).toBe(true);
    advertised.length = 0;
    routing.setHealth(1, true);
    expect(advertised).toEqual([
      [1, SITE, 0],
      [2, SITE, 3],
    ]);
  });

  it('logs a warning when the trick does not fit', () => {
    const { routing, lines } = harness(policy({ sitePrefixes: Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`) }));
    routing.setHealth(2, true);
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(routing.decision?.moreSpecifics).toBe('over-budget');
  });

  it('refuses more site prefixes than the budget, with a clear error', () => {
    expect(
      () =>
        new BgpRouting({
          tunnels: [T1, T2],
          policy: policy({ sitePrefixes: Array.from({ length: 101 }, (_, i) => `10.${i}.0.0/16`) }),
          speakers: [{ setAdvertised: () => {} }, { setAdvertised: () => {} }],
        }),
    ).toThrow(expect.objectContaining({ code: 'BGP_TOO_MANY_PREFIXES' }));
  });
});
