import { describe, expect, it } from 'vitest';
import { CGWD_ROUTE_PROTOCOL, CountingRouteTable, ERRNO, ipBatchLine, toNativeChange } from '../../../src/routing/kernel-routes.js';
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
