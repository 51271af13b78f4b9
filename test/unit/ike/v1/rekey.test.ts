/**
 * Rekeying: phase 2 (a new quick mode with PFS, RFC 2409 §5.5) by either side, by timers before
 * expiry, make-before-break; phase 1 re-established (a new Main Mode) without losing the IPsec
 * SA; simultaneous rekeys of either phase.
 *
 *   cgw                                   aws
 *    │ QM1 (HASH, SA, Ni, KE, IDs) ──────► │
 *    │ ◄────── QM2 (HASH, SA, Nr, KE, IDs) │
 *    │ QM3 (HASH) ───────────────────────► │  installs new
 *    │ installs new, switches outbound     │
 *    │ D(ESP, old inbound SPI) ──────────► │  removes old (after the grace period)
 *    │ removes old inbound after the grace │
 */
import { describe, expect, it } from 'vitest';
import { ExchangeType } from '../../../../src/ike/v1/constants.js';
import { resolveTiming } from '../../../../src/ike/timing.js';
import { tunnelConfig } from '../harness/config.js';
import { encrypted, exchangeOf, ofExchange } from './harness/messages.js';
import { COLLISION_WINDOW_MS } from '../../../../src/ike/v1/connection.js';
import { Pair, currentIkeKeys, expectMirrored, expectSameIkeKeys, settle } from '../harness/pair.js';
import type { RecordingSink } from '../harness/sink.js';

const GRACE = resolveTiming(tunnelConfig('ikev1')).rekeyedInboundGraceMs;
/** Manual rekeys wait this long after an SA's creation, else they count as a collision with it. */
const SETTLED = COLLISION_WINDOW_MS + 1_000;

/** The data plane never went empty after `from` (the tunnel carried traffic throughout). */
function neverEmpty(sink: RecordingSink, from = 0): void {
  let count = 0;
  for (const e of sink.events) {
    count += e.kind === 'install' ? 1 : e.kind === 'remove' ? -1 : 0;
    if (e.at >= from) expect(count, `data plane empty at ${e.at}`).toBeGreaterThan(0);
  }
}

/**
 * Runs `ms` in small steps and measures, per direction, how long a packet sent on that side's
 * outbound SA would have found no inbound SA on arrival at the other side, one path delay later
 * (it travels behind the QM3 or QM2 that preceded it, as over any in-order path): the time
 * pings would have been lost.
 */
function runMeasuringLoss(pair: Pair, ms: number, stepMs = 5): { cgw: number; aws: number } {
  const pathDelayMs = pair.net.latencyMs + pair.net.jitterMs;
  const lost = { cgw: 0, aws: 0 };
  const pending: { due: number; from: 'cgw' | 'aws'; spi: number }[] = [];
  for (let t = 0; t < ms; t += stepMs) {
    for (const from of [pair.cgw, pair.aws]) {
      const out = from.sink.outbound === undefined ? undefined : from.sink.installed.get(from.sink.outbound);
      if (!out) lost[from.name] += stepMs;
      else pending.push({ due: pair.clock.now() + pathDelayMs, from: from.name, spi: out.spiOut });
    }
    pair.run(stepMs);
    while (pending[0] && pending[0].due <= pair.clock.now()) {
      const p = pending.shift();
      if (p && !(p.from === 'cgw' ? pair.aws : pair.cgw).sink.accepts(p.spi)) lost[p.from] += stepMs;
    }
  }
  return lost;
}

describe('phase 2 rekey', () => {
  for (const side of ['cgw', 'aws'] as const) {
    it(`initiated by ${side}: PFS, new SA before the old one goes, old inbound kept for the grace period`, () => {
      const pair = new Pair('ikev1').establish();
      const old = expectMirrored(pair);
      pair.run(SETTLED);
      const qmBefore = ofExchange(pair.net.delivered, ExchangeType.QUICK_MODE).length;
      expect(pair[side].connection.rekeyChild()).toBe(true);
      expect(runMeasuringLoss(pair, 100)).toEqual({ cgw: 0, aws: 0 });
      // Both sides now hold the new SA and still the old one (make-before-break).
      expect(pair.cgw.sink.installed.size).toBe(2);
      expect(pair.aws.sink.installed.size).toBe(2);
      const newer = pair.cgw.sink.list.find((s) => s.id !== old.cgw.id);
      expect(newer?.pfsGroup).toBe(14);
      // The initiator keeps sending on the old SA a while: the responder installs only on QM3.
      const initiator = pair[side];
      const initiatorNew = initiator.sink.list.find((s) => s.id !== old[side].id);
      expect(initiator.sink.outbound).toBe(old[side].id);
      expect(initiatorNew?.holdOutbound).toBe(true);
      expect(runMeasuringLoss(pair, 500)).toEqual({ cgw: 0, aws: 0 });
      expect(pair.cgw.sink.outbound).toBe(newer?.id);
      const installedAt = initiator.sink.events.find((e) => e.kind === 'install' && e.id === initiatorNew?.id)?.at ?? Infinity;
      const releasedAt = initiator.sink.events.find((e) => e.kind === 'release' && e.id === initiatorNew?.id)?.at ?? -Infinity;
      expect(releasedAt - installedAt).toBeGreaterThanOrEqual(400);
      expect(ofExchange(pair.net.delivered, ExchangeType.QUICK_MODE).length - qmBefore).toBe(3);
      pair.run(GRACE + 1_000);
      const fresh = expectMirrored(pair);
      expect(fresh.cgw.spiIn).not.toBe(old.cgw.spiIn);
      for (const peer of [pair.cgw, pair.aws]) {
        const installed = peer.sink.events.find((e) => e.kind === 'install' && e.id !== (peer === pair.cgw ? old.cgw.id : old.aws.id));
        const removed = peer.sink.events.find((e) => e.kind === 'remove');
        expect(installed && removed && installed.at < removed.at).toBe(true);
        expect((removed?.at ?? 0) - (installed?.at ?? 0)).toBeGreaterThanOrEqual(GRACE - 100);
        expect(peer.count('child-rekeyed')).toBe(1);
        expect(peer.count('child-down')).toBe(0);
        neverEmpty(peer.sink);
      }
      expect(pair[side].events.find((e) => e.name === 'child-rekeyed')?.data).toMatchObject({ initiatedByUs: true });
    });
  }

  it('the responder decrypts on the new SA before its QM2 leaves and sends on it from QM3 on', () => {
    const pair = new Pair('ikev1').establish();
    const old = expectMirrored(pair);
    pair.run(SETTLED);
    expect(pair.cgw.connection.rekeyChild()).toBe(true);
    pair.run(1_000);
    const fresh = pair.aws.sink.history.find((s) => s.id !== old.aws.id);
    const at = (sink: RecordingSink, kind: 'install' | 'release', spiIn: number | undefined): number =>
      sink.events.find((e) => e.kind === kind && sink.history.find((s) => s.id === e.id)?.spiIn === spiIn)?.at ?? NaN;
    expect(fresh?.holdOutbound).toBe(true);
    // AWS (responder) could decrypt before cgw (initiator) had even installed, i.e. before QM3 was sent.
    expect(at(pair.aws.sink, 'install', fresh?.spiIn)).toBeLessThan(at(pair.cgw.sink, 'install', fresh?.spiOut));
    // …and sent on it only once QM3 had arrived, a path delay after cgw installed.
    expect(at(pair.aws.sink, 'release', fresh?.spiIn)).toBeGreaterThanOrEqual(at(pair.cgw.sink, 'install', fresh?.spiOut) + pair.net.latencyMs);
  });

  it('happens by timer before expiry, for hours, on both sides, always one mirrored pair', () => {
    const tunnel = tunnelConfig('ikev1', { childLifetimeSeconds: 1_000, rekeyMarginSeconds: 120 });
    const pair = new Pair('ikev1', { tunnel }).establish();
    for (let hour = 0; hour < 6; hour++) {
      pair.run(3_600_000);
      settle(pair);
    }
    const rekeys = pair.cgw.connection.status().counters.childRekeys;
    expect(rekeys).toBeGreaterThanOrEqual(6 * 3.6);
    expect(pair.cgw.count('child-down') + pair.aws.count('child-down')).toBe(0);
    neverEmpty(pair.cgw.sink, 100);
    neverEmpty(pair.aws.sink, 100);
    // Our lifetime (90 % of the configured one) with margin and fuzz: never past the hard lifetime.
    for (const sa of pair.cgw.sink.history) expect(sa.softLifetimeSeconds).toBeLessThan(900);
    expect(pair.cgw.sink.history.every((s) => s.hardLifetimeSeconds === 900)).toBe(true);
  });

  it('simultaneous rekeys from both sides: both complete, the lowest nonce loses, one pair remains', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(SETTLED);
    expect(pair.cgw.connection.rekeyChild()).toBe(true);
    expect(pair.aws.connection.rekeyChild()).toBe(true);
    expect(runMeasuringLoss(pair, GRACE * 4)).toEqual({ cgw: 0, aws: 0 });
    settle(pair);
    expectMirrored(pair);
    expect(pair.cgw.connection.status().counters.childRekeyCollisions).toBe(1);
    expect(pair.aws.connection.status().counters.childRekeyCollisions).toBe(1);
    neverEmpty(pair.cgw.sink);
    neverEmpty(pair.aws.sink);
    // The redundant SA was never handed to either data plane twice, and each side's outbound SA
    // is the surviving one.
    expect(pair.cgw.sink.outbound).toBe(pair.cgw.sink.only().id);
    expect(pair.aws.sink.outbound).toBe(pair.aws.sink.only().id);
  });

  it('many seeds of simultaneous rekeys all converge', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const pair = new Pair('ikev1', { seed, network: { jitterMs: 20 } }).establish();
      pair.run(SETTLED);
      pair.cgw.connection.rekeyChild();
      pair.run(seed * 3);
      pair.aws.connection.rekeyChild();
      // Reordering (20 ms of jitter) can put a side on an SA a moment before the other has it.
      const lost = runMeasuringLoss(pair, GRACE * 5);
      expect(lost.cgw + lost.aws, `seed ${seed}`).toBeLessThanOrEqual(2 * (pair.net.latencyMs + pair.net.jitterMs));
      settle(pair);
      expectMirrored(pair);
    }
  });

  it("crossed rekeys whose Deletes are lost: the redundant SA still goes, losing at most the grace period's traffic", () => {
    for (const lost of ['cgw', 'aws'] as const) {
      const pair = new Pair('ikev1').establish();
      pair.run(SETTLED);
      const source = lost === 'cgw' ? pair.cgw.address : pair.aws.address;
      pair.net.dropIf = (w) => w.from.address === source && exchangeOf(w) === ExchangeType.INFORMATIONAL;
      pair.cgw.connection.rekeyChild();
      pair.aws.connection.rekeyChild();
      const early = runMeasuringLoss(pair, 5_000);
      pair.net.dropIf = undefined;
      const late = runMeasuringLoss(pair, 60_000, 50);
      expect(early.cgw + early.aws + late.cgw + late.aws, lost).toBeLessThanOrEqual(GRACE + 100);
      settle(pair);
      expectMirrored(pair);
    }
  });
});

describe('phase 1 re-established', () => {
  for (const side of ['cgw', 'aws'] as const) {
    it(`by ${side}: a new Main Mode, the IPsec SA untouched, the old ISAKMP SA deleted`, () => {
      const pair = new Pair('ikev1').establish();
      const child = expectMirrored(pair);
      const oldCookie = pair.cgw.connection.status().ikeSas[0]?.spiI;
      pair.run(1_000);
      expect(pair[side].connection.rekeyIke()).toBe(true);
      pair.run(1_000);
      for (const peer of [pair.cgw, pair.aws]) {
        expect(peer.count('ike-rekeyed')).toBe(1);
        expect(peer.count('ike-down')).toBe(0);
        expect(peer.count('child-down')).toBe(0);
        expect(peer.sink.events.filter((e) => e.kind === 'remove')).toHaveLength(0);
      }
      const sas = pair.cgw.connection.status().ikeSas;
      expect(sas).toHaveLength(1);
      expect(sas[0]?.spiI).not.toBe(oldCookie);
      expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
      expectSameIkeKeys(pair);
      expect(expectMirrored(pair).cgw.id).toBe(child.cgw.id);
      // The next phase 2 rekey runs on the new ISAKMP SA.
      pair.run(SETTLED);
      expect(pair.cgw.connection.rekeyChild()).toBe(true);
      pair.run(GRACE + 1_000);
      expectMirrored(pair);
      const qm = ofExchange(pair.net.delivered, ExchangeType.QUICK_MODE).at(-1);
      expect(qm?.data.subarray(0, 8).toString('hex')).toBe(pair.cgw.connection.status().ikeSas[0]?.spiI);
    });
  }

  it('by timers before expiry, repeatedly, by both sides, without ever dropping phase 2', () => {
    const tunnel = tunnelConfig('ikev1', { ikeLifetimeSeconds: 2_400, childLifetimeSeconds: 1_800, rekeyMarginSeconds: 180 });
    const pair = new Pair('ikev1', { tunnel }).establish();
    for (let hour = 0; hour < 8; hour++) pair.run(3_600_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
    const cgw = pair.cgw.connection.status().counters;
    expect(cgw.ikeRekeys).toBeGreaterThanOrEqual(8);
    expect(pair.cgw.count('ike-down') + pair.aws.count('ike-down')).toBe(0);
    expect(pair.cgw.count('child-down') + pair.aws.count('child-down')).toBe(0);
    neverEmpty(pair.cgw.sink, 100);
    neverEmpty(pair.aws.sink, 100);
    expect(pair.cgw.connection.status().ikeSas.filter((s) => s.state !== 'dead').length).toBeLessThanOrEqual(2);
  });

  it('simultaneous re-establishment by both sides converges without losing phase 2', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const pair = new Pair('ikev1', { seed, network: { jitterMs: 10 } }).establish();
      pair.run(1_000);
      pair.cgw.connection.rekeyIke();
      pair.run(seed);
      pair.aws.connection.rekeyIke();
      pair.run(120_000);
      expect(pair.cgw.connection.state).toBe('established');
      expect(pair.aws.connection.state).toBe('established');
      expect(pair.cgw.count('child-down') + pair.aws.count('child-down')).toBe(0);
      neverEmpty(pair.cgw.sink);
      neverEmpty(pair.aws.sink);
      // Both still agree on a working ISAKMP SA: a phase 2 rekey goes through.
      pair.run(SETTLED);
      expect(pair.cgw.connection.rekeyChild()).toBe(true);
      pair.run(GRACE * 2);
      settle(pair);
      expectMirrored(pair);
      expect(currentIkeKeys(pair.cgw)).toBeDefined();
    }
  });

  it('re-establishing phase 1 talks from the floated endpoints (UDP 4500), as strongSwan does', () => {
    const pair = new Pair('ikev1').establish();
    const before = ofExchange(pair.cgw.transport.sent, ExchangeType.IDENTITY_PROTECTION).length;
    pair.cgw.connection.rekeyIke();
    pair.run(1_000);
    const mm = ofExchange(pair.cgw.transport.sent, ExchangeType.IDENTITY_PROTECTION).slice(before);
    expect(mm).toHaveLength(3);
    expect(mm.every((w) => w.from.port === 4500 && w.to.port === 4500)).toBe(true);
    expect(mm.filter(encrypted)).toHaveLength(1);
    expectMirrored(pair);
  });
});
