/**
 * Two packet threads per data plane (threads: 2, native/src/loop.c) under load: the twins
 * (two data planes in namespaces cgwd-dp-*, real kernel, veth) carry UDP both ways at once
 * (iperf3 --bidir, so the outbound and the inbound thread of each side are busy together)
 * while SAs are replaced again and again (commands under the write lock while both threads
 * run), probes go out and come back, hostile datagrams are counted, and at the end both
 * data planes are closed while traffic still flows. Needs root.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../../src/dataplane/index.js';
import { execInResult, sleep, stopPid } from '../../../src/system/exec.js';
import { ADDR_A, createTwins, INSIDE_A, INSIDE_B, ping, saPair, sendRaw, type SaPair, type Twins } from './twins.js';

const root = process.getuid?.() === 0;

function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
}

/** iperf3 UDP both ways at once from A to B for `seconds`; resolves the client's exit code and JSON. */
function bidirUdp(t: Twins, port: number, seconds: number, rate = '60M'): { done: Promise<{ code: number; out: string; err: string }>; stop: () => Promise<void> } {
  const server = spawn('ip', ['netns', 'exec', t.nsB, 'iperf3', '-s', '-1', '-B', INSIDE_B, '-p', String(port)], { stdio: 'ignore' });
  const done = (async () => {
    await sleep(300);
    const r = await execInResult(
      t.nsA,
      'iperf3',
      ['-c', INSIDE_B, '-B', INSIDE_A, '-p', String(port), '-u', '-b', rate, '-l', '1200', '--bidir', '-t', String(seconds), '-J'],
      (seconds + 20) * 1000,
    );
    return { code: r.code, out: r.stdout, err: r.stderr };
  })();
  return {
    done,
    stop: async () => {
      if (server.pid && server.exitCode === null) await stopPid(server.pid);
    },
  };
}

describe.skipIf(!root)('two packet threads per data plane under load (root)', () => {
  let t: Twins;
  let nextId = 100;

  beforeAll(async () => {
    t = await createTwins({ threads: 2 });
  });

  afterAll(async () => {
    await t?.destroy();
  });

  it('runs cgwd-dp-out and cgwd-dp-in for each data plane, in its namespace', async () => {
    expect(t.a.threads).toBe(2);
    const names = threadNames();
    expect(names.filter((n) => n === 'cgwd-dp-out').length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => n === 'cgwd-dp-in').length).toBeGreaterThanOrEqual(2);
    const pair = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    expect((await ping(t.nsB, INSIDE_A)).received).toBe(3);
    t.a.removeChildSa(pair.a.id);
    t.b.removeChildSa(pair.b.id);
  });

  it('UDP both ways while the SA is replaced 10 times, probes answered, hostile datagrams counted exactly', async () => {
    let current: SaPair = saPair(nextId++, { encryption: 'aes256-gcm16' });
    t.a.installChildSa(current.a);
    t.b.installChildSa(current.b);
    const before = { a: t.a.counters(), b: t.b.counters() };
    const probes: ProbeEvent[] = [];
    const onProbe = (e: ProbeEvent): void => {
      probes.push(e);
    };
    t.a.on('probe', onProbe);
    const load = bidirUdp(t, 5311, 4);
    try {
      await sleep(800); // traffic flowing both ways
      t.a.setProbe(1, 50);
      // Rekeys under traffic: make-before-break on both sides, the old pair removed a little later.
      const suites = [{ encryption: 'aes128-gcm16' }, { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128' }] as const;
      for (let i = 0; i < 10; i++) {
        const next = saPair(nextId++, suites[i % 2]!);
        t.a.installChildSa(next.a);
        t.b.installChildSa(next.b);
        await sleep(100);
        t.a.removeChildSa(current.a.id);
        t.b.removeChildSa(current.b.id);
        current = next;
        await sleep(100);
      }
      // Hostile datagrams into A's inbound thread while both threads are busy: unknown SPIs.
      const noSaBefore = t.a.counters().drops.no_sa;
      const junk = Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from([0x0b, 0xad, 0x00, i & 0xff]), Buffer.alloc(60, 1)]));
      await sendRaw(t.nsB, { address: ADDR_A, port: 4500 }, junk);
      const r = await load.done;
      expect(r.code, r.err).toBe(0);
      t.a.setProbe(1, 0);
      await sleep(100);
      const report = JSON.parse(r.out) as { end: { sum_received?: { packets?: number }; sum_received_bidir_reverse?: { packets?: number } } };
      const after = { a: t.a.counters(), b: t.b.counters() };
      const ta = after.a.tunnels[0]!;
      const tb = after.b.tunnels[0]!;
      const ba = before.a.tunnels[0]!;
      const bb = before.b.tunnels[0]!;
      // Both directions of both data planes carried the load.
      for (const moved of [ta.packetsOut - ba.packetsOut, ta.packetsIn - ba.packetsIn, tb.packetsOut - bb.packetsOut, tb.packetsIn - bb.packetsIn]) {
        expect(moved).toBeGreaterThan(5000);
      }
      console.log(
        `threads=2 under bidirectional UDP with 10 rekeys: A out ${ta.packetsOut - ba.packetsOut} in ${ta.packetsIn - ba.packetsIn}, ` +
          `B out ${tb.packetsOut - bb.packetsOut} in ${tb.packetsIn - bb.packetsIn}; iperf3 received ${report.end.sum_received?.packets ?? '?'} / ` +
          `${report.end.sum_received_bidir_reverse?.packets ?? '?'}; A drops ${JSON.stringify(Object.fromEntries(Object.entries(after.a.drops).filter(([, v]) => v > 0)))}`,
      );
      // Counted once each, none lost to a race between the threads.
      expect(after.a.drops.no_sa - noSaBefore).toBeGreaterThanOrEqual(200);
      // Nothing corrupted or replayed on the way, whichever SA carried it.
      for (const c of [after.a, after.b]) {
        expect([c.drops.icv, c.drops.replay, c.drops.malformed, c.drops.bad_padding]).toEqual([0, 0, 0, 0]);
      }
      // The last SA carries the tunnel on both sides; the replaced ones are gone.
      expect(ta.outboundSa).toBe(current.a.id);
      expect(tb.outboundSa).toBe(current.b.id);
      expect(after.a.sas.map((s) => s.id)).toEqual([current.a.id]);
      // Probes went out on the outbound thread and their replies were claimed on the inbound one.
      const answered = probes.filter((e) => e.rttMs !== undefined).length;
      expect(probes.length).toBeGreaterThanOrEqual(20);
      expect(answered).toBeGreaterThanOrEqual(probes.length / 2);
      expect(ta.probe.answered + ta.probe.lost).toBeLessThanOrEqual(ta.probe.sent);
      expect(ta.probe.sent - (ta.probe.answered + ta.probe.lost)).toBeLessThanOrEqual(1);
      // The per-direction counters add up in the snapshot: A's tunnel drops equal the SA-less ones it saw.
      expect(ta.drops.icv).toBe(0);
    } finally {
      t.a.off('probe', onProbe);
      t.a.setProbe(1, 0);
      await load.stop();
    }
    expect((await ping(t.nsA, INSIDE_B)).received).toBe(3);
    t.a.removeChildSa(current.a.id);
    t.b.removeChildSa(current.b.id);
  }, 60_000);

  it('a volume limit crossed on both threads at once raises one soft event and one hard event', async () => {
    const pair = saPair(nextId++, { encryption: 'aes128-gcm16' });
    const events: string[] = [];
    const soft = (e: { id: number }): void => {
      if (e.id === pair.a.id) events.push('soft');
    };
    const hard = (e: { id: number }): void => {
      if (e.id === pair.a.id) events.push('hard');
    };
    t.a.on('sa-soft-expired', soft);
    t.a.on('sa-hard-expired', hard);
    // Packets in and out both count toward the limit (the larger of the two): both threads test it.
    t.a.installChildSa(pair.a, { softPackets: 2000, hardPackets: 4000 });
    t.b.installChildSa(pair.b);
    // Ping floods both ways (iperf3 would need its TCP control connection, which the hard limit cuts).
    const flood = (ns: string, to: string) => execInResult(ns, 'ping', ['-n', '-q', '-f', '-s', '200', '-c', '4000', '-w', '4', to], 20_000);
    try {
      await Promise.all([flood(t.nsA, INSIDE_B), flood(t.nsB, INSIDE_A)]);
      await sleep(700); // a tick delivers the events
      const s = t.a.counters().sas.find((x) => x.id === pair.a.id)!;
      expect(s.hardExpired).toBe(true);
      expect(events.filter((e) => e === 'soft')).toHaveLength(1);
      expect(events.filter((e) => e === 'hard')).toHaveLength(1);
    } finally {
      t.a.off('sa-soft-expired', soft);
      t.a.off('sa-hard-expired', hard);
      t.a.removeChildSa(pair.a.id);
      t.b.removeChildSa(pair.b.id);
    }
  }, 30_000);

  it('closes both data planes while traffic flows, without hanging', async () => {
    const pair = saPair(nextId++, { encryption: 'aes128-gcm16' });
    t.a.installChildSa(pair.a);
    t.b.installChildSa(pair.b);
    const load = bidirUdp(t, 5313, 5);
    try {
      await sleep(1500);
      const moving = t.a.counters().tunnels[0]!.packetsIn;
      expect(moving).toBeGreaterThan(0);
      const t0 = Date.now();
      t.a.close();
      t.b.close();
      const took = Date.now() - t0;
      console.log(`threads=2: both data planes closed under load in ${took} ms`);
      expect(took).toBeLessThan(2000);
      expect(t.a.closed && t.b.closed).toBe(true);
      await load.done; // iperf3 ends on its own (its packets now go nowhere)
    } finally {
      await load.stop();
    }
    const names = threadNames();
    expect(names.filter((n) => n === 'cgwd-dp-out' || n === 'cgwd-dp-in')).toEqual([]);
  }, 40_000);
});
