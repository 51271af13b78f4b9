/**
 * Two customer-gateway boxes on one LAN, each with its own cgwd and VPN connection to one virtual
 * private gateway, keepalived (VRRP) holding the LAN's gateway address with `cgwd status --check`
 * as its health check (src/lab/ha-pair.ts). While the LAN host pings the VPC host every 10 ms,
 * box A's cgwd is killed, its uplink cut, the box powered off; each time traffic must move to box B
 * within bounds (VRRP on the LAN side, the BGP hold time on AWS's), and come back without flapping
 * when box A returns. Needs root. Figures: `npm run bench -- --ha-only`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { labDown } from '../../src/lab/lab.js';
import { runHaPair, type HaPairResult } from '../../src/lab/ha-pair.js';
import { CLI } from './helpers/cgwd-process.js';

const HOLD_TIME = 10;
let result: HaPairResult | undefined;

afterAll(async () => {
  await labDown();
});

describe('HA pair: two boxes, two connections, keepalived', () => {
  it('moves traffic to box B for each failure of box A and back when A returns, both directions bounded, no flapping', async () => {
    result = await runHaPair({ cli: CLI, events: ['cgwd-killed', 'uplink-cut', 'power-off'], holdTime: HOLD_TIME, standbyPrepend: 4, log: (l) => console.log(l) });
    const byEvent = new Map(result.phases.map((p) => [p.event, p]));
    for (const event of ['cgwd-killed', 'uplink-cut', 'power-off'] as const) {
      const failed = byEvent.get(event);
      const returned = byEvent.get(`${event}:return`);
      expect(failed, event).toBeDefined();
      expect(returned, `${event}:return`).toBeDefined();
      if (!failed || !returned) continue;
      // Traffic flowed again before the phase ended (the last 3 s all answered is implied by a loss
      // well under the phase), and each direction lost less than its bound: LAN→VPC waits for VRRP
      // (check 1 s × fall 2, or the master-down interval of ~3.6 s), VPC→LAN for AWS's BGP (hold time).
      expect(failed.lanToVpcLost * 10, `${event} LAN→VPC ms`).toBeLessThan(8_000);
      expect(failed.vpcToLanLost * 10, `${event} VPC→LAN ms`).toBeLessThan((HOLD_TIME + 6) * 1_000);
      expect(failed.sent - failed.lanToVpcLost - failed.vpcToLanLost, `${event} answered`).toBeGreaterThan(failed.sent / 3);
      // Box A's return (failback after its check passed and preempt_delay) costs at most a second each way.
      expect(returned.lanToVpcLost * 10, `${event}:return LAN→VPC ms`).toBeLessThan(1_000);
      expect(returned.vpcToLanLost * 10, `${event}:return VPC→LAN ms`).toBeLessThan(1_000);
    }
    // No flapping: box A became MASTER once at the start and once per return; box B once per failure.
    const masters = (states: string[]): number => states.filter((s) => s === 'MASTER').length;
    console.log(`VRRP transitions: box A ${result.transitions.a.join(' ')}; box B ${result.transitions.b.join(' ')}`);
    expect(masters(result.transitions.a)).toBe(4);
    expect(masters(result.transitions.b)).toBe(3);
  }, 900_000);
});
