import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../../src/dataplane/index.js';

describe('packet-thread heartbeat (the watchdog source)', () => {
  it('moves at least every tick while the thread runs, stands still while it is parked, then moves again', async () => {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 } });
    try {
      const h0 = dp.heartbeat();
      await sleep(1200); // the loop ticks every 500 ms when idle
      const h1 = dp.heartbeat();
      expect(h1 - h0).toBeGreaterThanOrEqual(2);

      dp.stallForTesting(1500);
      await sleep(150);
      const parked = dp.heartbeat();
      await sleep(1000);
      expect(dp.heartbeat()).toBe(parked);

      await sleep(1100);
      expect(dp.heartbeat()).toBeGreaterThan(parked);
      expect(() => dp.stallForTesting(0)).toThrow(/1\.\.60000/);
    } finally {
      dp.close();
    }
  });
});
