/**
 * Keepalive probes in the data plane (native/src/probe.c) over a real SA: two data planes in
 * namespaces cgwd-dp-*, A probing B's inside address. B's kernel answers the echo it gets from
 * its TUN; A consumes the reply before its TUN (A's kernel never sees an echo reply). Lost
 * probes are reported unanswered, with the traffic that arrived meanwhile. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../../src/dataplane/index.js';
import { execIn, sleep } from '../../../src/system/exec.js';
import { createTwins, INSIDE_A, INSIDE_B, ping, saPair, type Twins } from './twins.js';

const root = process.getuid?.() === 0;

/** The kernel's ICMP counters in a namespace (/proc/net/snmp, "Icmp:" lines). */
async function icmpCounters(ns: string): Promise<Record<string, number>> {
  const text = await execIn(ns, 'cat', ['/proc/net/snmp']);
  const lines = text.split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

async function collect(t: Twins, count: number, timeoutMs = 5000): Promise<ProbeEvent[]> {
  const events: ProbeEvent[] = [];
  const listener = (e: ProbeEvent): void => {
    events.push(e);
  };
  t.a.on('probe', listener);
  const end = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < end) await sleep(10);
  t.a.off('probe', listener);
  return events;
}

describe.skipIf(!root).each([1, 2] as const)('data-plane keepalive probes between two namespaces (root), %i packet thread(s)', (threads) => {
  let t: Twins;

  beforeAll(async () => {
    t = await createTwins({ threads });
    const pair = saPair(1, { encryption: 'aes256-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('a probe round trip over the SA: answered with an RTT, and the echo reply is never written to the TUN', async () => {
    const kernelA = await icmpCounters(t.nsA);
    const kernelB = await icmpCounters(t.nsB);
    const before = t.a.counters().tunnels[0]!;
    t.a.setProbe(1, 20);
    const events = await collect(t, 20);
    t.a.setProbe(1, 0);
    await sleep(50);
    const answered = events.filter((e) => e.rttMs !== undefined);
    expect(events.length).toBe(20);
    expect(answered.length).toBeGreaterThanOrEqual(19);
    for (const e of answered) {
      expect(e.tunnel).toBe(1);
      expect(e.rttMs).toBeGreaterThan(0);
      expect(e.rttMs).toBeLessThan(50);
    }
    // Consecutive sequence numbers of our own.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => events[0]!.seq + i));
    const after = t.a.counters().tunnels[0]!;
    expect(after.probe).toMatchObject({ on: false, target: INSIDE_B, intervalMs: 20 });
    expect(after.probe.answered).toBeGreaterThanOrEqual(answered.length);
    // The probes went out through the SA like TUN packets (44 bytes inner each) ...
    expect(after.packetsOut - before.packetsOut).toBe(after.probe.sent);
    expect(after.bytesOut - before.bytesOut).toBe(44 * after.probe.sent);
    // ... B's kernel got the echo requests from its TUN and answered them ...
    const nowB = await icmpCounters(t.nsB);
    expect(nowB.InEchos! - kernelB.InEchos!).toBeGreaterThanOrEqual(answered.length);
    expect(nowB.OutEchoReps! - kernelB.OutEchoReps!).toBeGreaterThanOrEqual(answered.length);
    // ... and A's kernel never saw a reply: the data plane consumed them (not counted as TUN traffic either).
    const nowA = await icmpCounters(t.nsA);
    expect(nowA.InEchoReps! - kernelA.InEchoReps!).toBe(0);
    expect(nowA.InMsgs! - kernelA.InMsgs!).toBe(0);
    expect(after.packetsIn - before.packetsIn).toBe(0);
  });

  it('kernel pings through the same tunnel are not taken for probes: they still get their replies', async () => {
    t.a.setProbe(1, 20);
    const r = await ping(t.nsA, INSIDE_B, ['-c', '5']);
    t.a.setProbe(1, 0);
    expect(r.received, r.output).toBe(5);
  });

  it('a target that does not answer: every probe is reported unanswered, with no traffic meanwhile', async () => {
    // B's kernel gets these from its TUN but does not forward them: nobody answers.
    t.a.setProbe(1, 20, '10.255.255.1');
    const events = await collect(t, 5);
    expect(events.length).toBe(5);
    expect(events.every((e) => e.rttMs === undefined && e.inbound === 0)).toBe(true);
    // Traffic from B meanwhile (B pings A) is proof of life: the unanswered probes carry it.
    const pinging = ping(t.nsB, INSIDE_A, ['-c', '15', '-i', '0.02']);
    await sleep(60);
    const during = await collect(t, 5);
    expect((await pinging).received).toBe(15);
    t.a.setProbe(1, 0);
    expect(during.every((e) => e.rttMs === undefined)).toBe(true);
    expect(during.some((e) => e.inbound > 0)).toBe(true);
    const c = t.a.counters().tunnels[0]!;
    expect(c.probe.target).toBe('10.255.255.1');
    expect(c.probe.inboundAgeMs).not.toBeNull();
    expect(c.probe.inboundAgeMs!).toBeLessThan(5000);
  });

  it('rejects intervals outside 10 ms – 3600 s with a stable error code', () => {
    expect(() => t.a.setProbe(1, 5)).toThrow(expect.objectContaining({ code: 'DATAPLANE_BAD_OPTIONS' }));
    expect(() => t.a.setProbe(1, 3_600_001)).toThrow(expect.objectContaining({ code: 'DATAPLANE_BAD_OPTIONS' }));
  });
});
