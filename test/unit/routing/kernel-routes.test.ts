import { describe, expect, it } from 'vitest';
import { CGWD_ROUTE_PROTOCOL, CountingRouteTable, ERRNO, ipBatchLine, routeDevices, routeOver, toNativeChange } from '../../../src/routing/kernel-routes.js';
import { OwnedRouteSet } from '../../../src/routing/owned-routes.js';
import { FakeRouteTable } from '../../helpers/fake-route-table.js';

const route = { prefix: '198.19.0.0/16', via: '169.254.10.1', dev: 'cgw-t1', metric: 100 };

describe('route changes as the addon and ip -batch take them', () => {
  it('netlink: network and length split, cgwd protocol, gateway only when there is one', () => {
    expect(toNativeChange({ verb: 'add', route })).toEqual({ verb: 'add', dst: '198.19.0.0', dstLen: 16, gateway: '169.254.10.1', dev: 'cgw-t1', metric: 100, protocol: CGWD_ROUTE_PROTOCOL });
    expect(toNativeChange({ verb: 'delete', route: { prefix: '0.0.0.0/0', dev: 'eth0', metric: 1 } })).toEqual({ verb: 'delete', dst: '0.0.0.0', dstLen: 0, dev: 'eth0', metric: 1, protocol: CGWD_ROUTE_PROTOCOL });
  });

  it('a prefix with host bits set never reaches the kernel', () => {
    expect(() => toNativeChange({ verb: 'add', route: { ...route, prefix: '198.19.0.1/16' } })).toThrow(/host bits/);
  });

  it('ip -batch lines', () => {
    expect(ipBatchLine({ verb: 'replace', route })).toBe('route replace 198.19.0.0/16 via 169.254.10.1 dev cgw-t1 metric 100 proto 199');
    expect(ipBatchLine({ verb: 'delete', route })).toBe('route del 198.19.0.0/16 via 169.254.10.1 dev cgw-t1 metric 100 proto 199');
  });

  it('a multipath route: every next hop to netlink and ip -batch; a delete names none of them', () => {
    const both = routeOver('198.19.0.0/16', [{ via: '169.254.10.1', dev: 'cgw-t1' }, { via: '169.254.20.1', dev: 'cgw-t2' }], 100);
    expect(routeDevices(both)).toEqual(['cgw-t1', 'cgw-t2']);
    expect(toNativeChange({ verb: 'replace', route: both }).nexthops).toEqual([
      { gateway: '169.254.10.1', dev: 'cgw-t1' },
      { gateway: '169.254.20.1', dev: 'cgw-t2' },
    ]);
    expect(ipBatchLine({ verb: 'replace', route: both })).toBe('route replace 198.19.0.0/16 metric 100 proto 199 nexthop via 169.254.10.1 dev cgw-t1 nexthop via 169.254.20.1 dev cgw-t2');
    expect(ipBatchLine({ verb: 'delete', route: both })).toBe('route del 198.19.0.0/16 metric 100 proto 199');
    // One next hop is an ordinary route.
    const one = routeOver('198.19.0.0/16', [{ via: '169.254.20.1', dev: 'cgw-t2' }], 100);
    expect(one).toEqual({ prefix: '198.19.0.0/16', via: '169.254.20.1', dev: 'cgw-t2', metric: 100 });
    expect(toNativeChange({ verb: 'add', route: one }).nexthops).toBeUndefined();
  });

  it('the held set moves between one and two next hops by replace, and leaves an unchanged multipath route alone', async () => {
    const fake = new FakeRouteTable();
    const set = new OwnedRouteSet(fake);
    const hops = [{ via: '169.254.10.1', dev: 'cgw-t1' }, { via: '169.254.20.1', dev: 'cgw-t2' }] as const;
    await set.sync([routeOver('198.19.0.0/16', hops, 100)]);
    expect((await set.sync([routeOver('198.19.0.0/16', hops, 100)])).changes).toBe(0);
    expect((await set.sync([routeOver('198.19.0.0/16', [hops[0], { via: '169.254.20.5', dev: 'cgw-t2' }], 100)])).changes).toBe(1);
    await set.sync([routeOver('198.19.0.0/16', [hops[1]], 100)]);
    await set.sync([routeOver('198.19.0.0/16', hops, 100)]);
    expect(fake.ops).toEqual(['add 198.19.0.0/16 cgw-t1', 'replace 198.19.0.0/16 cgw-t1', 'replace 198.19.0.0/16 cgw-t2', 'replace 198.19.0.0/16 cgw-t1']);
    expect(set.held[0]?.nexthops?.map((n) => n.dev)).toEqual(['cgw-t1', 'cgw-t2']);
  });

  it('counts installs, removals and failures per change', async () => {
    const table = new CountingRouteTable(new FakeRouteTable());
    const results = await table.apply([
      { verb: 'add', route },
      { verb: 'add', route },
      { verb: 'delete', route },
    ]);
    expect(results).toEqual([0, ERRNO.EEXIST, 0]);
    expect([table.installs, table.failures, table.removals]).toEqual([1, 1, 1]);
  });
});
