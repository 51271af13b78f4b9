import { readdirSync, readFileSync } from 'node:fs';
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

describe('two packet threads (threads: 2): one heartbeat each', () => {
  const threadNames = (): string[] =>
    readdirSync('/proc/self/task').map((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    });

  it('names the threads cgwd-dp-out and cgwd-dp-in; both beat, both park for stallForTesting, close does not hang', async () => {
    const before = threadNames().filter((n) => n.startsWith('cgwd-dp-')).length;
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, threads: 2 });
    try {
      expect(dp.threads).toBe(2);
      const names = threadNames();
      expect(names.filter((n) => n === 'cgwd-dp-out').length + names.filter((n) => n === 'cgwd-dp-in').length - before).toBe(2);
      const [out0, in0] = dp.heartbeats() as [number, number];
      await sleep(1200); // each thread wakes at least every 500 ms
      const [out1, in1] = dp.heartbeats() as [number, number];
      expect(out1 - out0).toBeGreaterThanOrEqual(2);
      expect(in1 - in0).toBeGreaterThanOrEqual(2);
      const [o, i] = dp.heartbeats() as [number, number];
      expect(dp.heartbeat()).toBeLessThanOrEqual(Math.max(o, i) + 1); // the smaller of the two

      dp.stallForTesting(1500);
      await sleep(150);
      const parked = dp.heartbeats();
      await sleep(1000);
      expect(dp.heartbeats()).toEqual(parked);
      await sleep(1100);
      const resumed = dp.heartbeats();
      expect(resumed[0]).toBeGreaterThan(parked[0]!);
      expect(resumed[1]).toBeGreaterThan(parked[1]!);
      // Commands still run (the outbound thread runs them under the write lock).
      expect(dp.counters().wakeups).toBeGreaterThan(0);
    } finally {
      const t0 = Date.now();
      dp.close();
      expect(Date.now() - t0).toBeLessThan(1000);
    }
    expect(threadNames().filter((n) => n.startsWith('cgwd-dp-')).length).toBe(before);
  });

  it('one thread keeps the old name and a single heartbeat; other thread counts are refused with a typed error', () => {
    const dp = Dataplane.open({ local: { address: '127.0.0.1', port: 0 } });
    try {
      expect(dp.threads).toBe(1);
      expect(dp.heartbeats()).toHaveLength(1);
      expect(threadNames()).toContain('cgwd-dataplane');
    } finally {
      dp.close();
    }
    for (const bad of [0, 3, 1.5]) {
      expect(() => Dataplane.open({ local: { address: '127.0.0.1', port: 0 }, threads: bad as 1 })).toThrow(
        expect.objectContaining({ code: 'DATAPLANE_BAD_OPTIONS' }) as Error,
      );
    }
  });
});
