/** Keepalive health from probe results, fed by a fake probe driver on a fake clock. */
import { describe, expect, it } from 'vitest';
import { Keepalive, type ProbeDriver, type ProbeResult } from '../../../src/tunnel/keepalive.js';
import { FakeClock } from '../../helpers/fake-clock.js';

class FakeDriver implements ProbeDriver {
  started: { target: string; intervalMs: number } | undefined;
  stopped = 0;
  #onResult: ((r: ProbeResult) => void) | undefined;
  start(target: string, intervalMs: number, onResult: (r: ProbeResult) => void): void {
    this.started = { target, intervalMs };
    this.#onResult = onResult;
  }
  stop(): void {
    this.stopped++;
    this.#onResult = undefined;
  }
  report(r: ProbeResult): void {
    this.#onResult?.(r);
  }
}

function keepalive(window = 2, intervalSeconds = 1) {
  const clock = new FakeClock();
  const driver = new FakeDriver();
  const k = new Keepalive({ driver, target: '169.254.10.1', intervalSeconds, window, clock });
  const health: boolean[] = [];
  const probes: (number | undefined)[] = [];
  k.on('health', (h) => health.push(h));
  k.on('probe', (rtt) => probes.push(rtt));
  k.start();
  const intervalMs = intervalSeconds * 1000;
  /** One interval passes and the data plane reports the probe it finished. */
  const feed = (answered: boolean, inbound = 0): void => {
    clock.advance(intervalMs);
    driver.report({ rttMs: answered ? 0.41 : undefined, inbound });
  };
  return { k, clock, driver, feed, health, probes };
}

describe('keepalive health', () => {
  it('starts the driver with the target and the interval in ms, and stops it', () => {
    const { k, driver } = keepalive(3, 0.2);
    expect(driver.started).toEqual({ target: '169.254.10.1', intervalMs: 200 });
    k.stop();
    expect(driver.stopped).toBe(1);
  });

  it('healthy with an answered probe in the window, unhealthy after a whole window unanswered', () => {
    const { k, feed, health, probes } = keepalive(2);
    feed(true);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(false);
    expect(health).toEqual([true, false]);
    expect(probes).toEqual([0.41, undefined, undefined]);
    expect(k.status()).toMatchObject({ sent: 3, received: 1, lastRttMs: 0.41 });
  });

  it('inbound traffic while a probe was out is proof of life: healthy, but the probe still counts as lost', () => {
    const { k, feed, probes } = keepalive(2);
    feed(true);
    feed(false, 5);
    feed(false, 3);
    feed(false, 1);
    expect(k.healthy).toBe(true);
    expect(probes).toEqual([0.41, undefined, undefined, undefined]);
    expect(k.status().recentLoss).toBe(0.75);
    expect(k.silentRun).toBe(0);
    feed(false);
    feed(false);
    expect(k.healthy).toBe(false);
    expect(k.silentRun).toBe(2);
  });

  it('silent probes (no answer, no traffic) are counted and announced; an answer resets the run', () => {
    const { k, feed } = keepalive(3);
    const silent: number[] = [];
    k.on('silent', (n) => silent.push(n));
    feed(true);
    feed(false);
    feed(false);
    expect(silent).toEqual([1, 2]);
    feed(true);
    expect(k.silentRun).toBe(0);
  });

  it('a driver that reports nothing for two intervals counts as unanswered probes (the watchdog)', () => {
    const { k, clock, feed, probes } = keepalive(2);
    feed(true);
    expect(k.healthy).toBe(true);
    clock.advance(1999);
    expect(probes).toEqual([0.41]);
    clock.advance(1);
    expect(probes).toEqual([0.41, undefined]);
    expect(k.healthy).toBe(true);
    clock.advance(2000);
    expect(k.healthy).toBe(false);
  });

  it('after stop() neither results nor the watchdog change anything', () => {
    const { k, clock, driver, feed, health } = keepalive(2);
    feed(true);
    k.stop();
    driver.report({ rttMs: undefined, inbound: 0 });
    clock.advance(60_000);
    expect(k.healthy).toBe(true);
    expect(health).toEqual([true]);
  });

  it('a new CHILD SA is presumed healthy at once (routes go in at CHILD-up) until a whole window goes unanswered', () => {
    const { k, feed, health } = keepalive(2);
    feed(false);
    feed(false);
    expect(k.healthy).toBe(false);
    k.presumeHealthy();
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(false);
    expect(health).toEqual([true, false]);
  });

  it('the presumption is confirmed by an answer and then follows the normal window', () => {
    const { k, feed } = keepalive(2);
    k.presumeHealthy();
    feed(true);
    feed(false);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(false);
  });
});
