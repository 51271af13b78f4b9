import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeRouteTable } from '../../helpers/fake-route-table.js';
import { StaticFailover } from '../../../src/routing/static-failover.js';

function harness(failback: 'auto' | 'manual' = 'auto') {
  const clock = new FakeClock();
  const kernel = new FakeRouteTable();
  const table = kernel.routes;
  const failover = new StaticFailover({
    prefixes: ['198.19.0.0/16', '10.20.0.0/16'],
    tunnels: [
      { index: 1, ifname: 'cgw-t1', gateway: '169.254.10.1' },
      { index: 2, ifname: 'cgw-t2', gateway: '169.254.20.1' },
    ],
    failback,
    failbackHoldMs: 10_000,
    startupGraceMs: 5_000,
    clock,
    routeTable: kernel,
  });
  /** Moves the clock, then lets the route table's promises settle. */
  const advance = async (ms: number): Promise<void> => {
    clock.advance(ms);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  const devices = async (): Promise<string[]> => {
    await advance(0);
    return [...table.values()].map((r) => `${r.prefix} via ${r.via} dev ${r.dev}`);
  };
  return { failover, table, devices, advance };
}

describe('static routing failover', () => {
  it('prefers tunnel 1, moves to tunnel 2 when tunnel 1 loses health, returns after the hold time', async () => {
    const { failover, devices, advance } = harness();
    failover.setHealth(1, true);
    failover.setHealth(2, true);
    expect(await devices()).toEqual(['198.19.0.0/16 via 169.254.10.1 dev cgw-t1', '10.20.0.0/16 via 169.254.10.1 dev cgw-t1']);
    failover.setHealth(1, false);
    expect(failover.active).toBe(2);
    expect(await devices()).toEqual(['198.19.0.0/16 via 169.254.20.1 dev cgw-t2', '10.20.0.0/16 via 169.254.20.1 dev cgw-t2']);
    failover.setHealth(1, true);
    await advance(9_000);
    expect(failover.active).toBe(2);
    await advance(1_001);
    expect(failover.active).toBe(1);
    expect(await devices()).toEqual(['198.19.0.0/16 via 169.254.10.1 dev cgw-t1', '10.20.0.0/16 via 169.254.10.1 dev cgw-t1']);
  });

  it('a tunnel 1 that flaps during the hold time does not take traffic back', async () => {
    const { failover, advance } = harness();
    failover.setHealth(1, true);
    failover.setHealth(2, true);
    failover.setHealth(1, false);
    failover.setHealth(1, true);
    await advance(5_000);
    failover.setHealth(1, false);
    await advance(10_000);
    expect(failover.active).toBe(2);
  });

  it('manual failback stays on tunnel 2', async () => {
    const { failover, advance } = harness('manual');
    failover.setHealth(1, true);
    failover.setHealth(2, true);
    failover.setHealth(1, false);
    failover.setHealth(1, true);
    await advance(60_000);
    expect(failover.active).toBe(2);
  });

  it('at start, waits a grace period for tunnel 1 before settling for tunnel 2', async () => {
    const { failover, devices, advance } = harness();
    failover.setHealth(2, true);
    expect(failover.active).toBeNull();
    await advance(5_001);
    expect(failover.active).toBe(2);
    expect(await devices()).toEqual(['198.19.0.0/16 via 169.254.20.1 dev cgw-t2', '10.20.0.0/16 via 169.254.20.1 dev cgw-t2']);
  });

  it('keeps the routes where they are when both tunnels are down, and removes them on stop', async () => {
    const { failover, table, advance } = harness();
    failover.setHealth(1, true);
    failover.setHealth(1, false);
    expect(failover.active).toBe(1);
    await failover.stop();
    expect(table.size).toBe(0);
  });
});
