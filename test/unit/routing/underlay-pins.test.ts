import { describe, expect, it } from 'vitest';
import { UnderlayPins, parseRouteGet, PIN_METRIC } from '../../../src/routing/underlay-pins.js';
import { FakeRouteTable } from '../../helpers/fake-route-table.js';

describe('underlay pins for the AWS outside addresses', () => {
  it('reads `ip -j route get`', () => {
    expect(parseRouteGet('[{"dst":"203.0.113.10","gateway":"198.18.0.1","dev":"eth0","prefsrc":"198.51.100.10","flags":[],"uid":0,"cache":[]}]')).toEqual({ gateway: '198.18.0.1', dev: 'eth0' });
    expect(parseRouteGet('[{"dst":"203.0.113.10","dev":"eth0"}]')).toEqual({ gateway: undefined, dev: 'eth0' });
    expect(parseRouteGet('not json')).toBeUndefined();
    expect(parseRouteGet('[{}]')).toBeUndefined();
  });

  it('pins each address through its current route, keeps a host /32 that is there, and removes only its own', async () => {
    const kernel = new FakeRouteTable();
    kernel.preload({ prefix: '203.0.113.20/32', via: '198.18.0.9', dev: 'eth1', metric: PIN_METRIC, owner: 'admin' });
    const pins = new UnderlayPins(kernel, ['203.0.113.10', '203.0.113.20'], ['cgw-t1', 'cgw-t2'], async () => ({ gateway: '198.18.0.1', dev: 'eth0' }));
    const outcome = await pins.pin();
    expect(outcome.pinned.map((p) => p.prefix)).toEqual(['203.0.113.10/32']);
    expect(outcome.existing).toEqual(['203.0.113.20']);
    expect(outcome.failed).toEqual([]);
    await pins.unpin();
    expect(kernel.list()).toEqual([]);
    expect(kernel.list('admin')).toEqual(['203.0.113.20/32 via 198.18.0.9 dev eth1']);
  });

  it('refuses to pin through a tunnel interface (the host is already mis-routed)', async () => {
    const pins = new UnderlayPins(new FakeRouteTable(), ['203.0.113.10'], ['cgw-t1', 'cgw-t2'], async () => ({ gateway: '169.254.10.1', dev: 'cgw-t1' }));
    expect((await pins.pin()).failed).toEqual([{ address: '203.0.113.10', error: 'the host routes it through tunnel interface cgw-t1' }]);
  });
});
