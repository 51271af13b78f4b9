/** Keepalive health from probe results; the probe lines are fed as iputils ping prints them. */
import { describe, expect, it } from 'vitest';
import { Keepalive } from '../../../src/tunnel/keepalive.js';

function keepalive(window = 2): { k: Keepalive; feed: (answered: boolean) => void; health: boolean[] } {
  const k = new Keepalive({ ifname: 'cgw-t1', target: '169.254.10.1', intervalSeconds: 1, window });
  const health: boolean[] = [];
  k.on('health', (h) => health.push(h));
  let seq = 0;
  const line = (k as unknown as { line(text: string): void }).line.bind(k);
  const feed = (answered: boolean): void => {
    seq += 1;
    line(answered ? `64 bytes from 169.254.10.1: icmp_seq=${seq} ttl=64 time=0.41 ms` : `no answer yet for icmp_seq=${seq}`);
  };
  return { k, feed, health };
}

describe('keepalive health', () => {
  it('healthy with an answered probe in the window, unhealthy after a whole window unanswered', () => {
    const { k, feed, health } = keepalive(2);
    feed(true);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(true);
    feed(false);
    expect(k.healthy).toBe(false);
    expect(health).toEqual([true, false]);
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
