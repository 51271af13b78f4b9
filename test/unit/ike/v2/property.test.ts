/**
 * Random interleavings (seeded, reproducible): both sides start CHILD and IKE rekeys, CHILD
 * deletes and liveness checks at random moments while a scheduler delivers the queued datagrams
 * in random order (any direction, any position), sometimes twice, sometimes not at all, and time
 * moves in random steps. Afterwards the network heals and the invariants must hold:
 *
 *   - message IDs never desync: each side's next request ID is the other's expected one
 *     (libreswan before 5.1 desynchronised them in simultaneous rekeys, amazon-linux-2023#1121);
 *   - both sides end with exactly one CHILD SA pair installed, mirroring each other, on an IKE
 *     SA whose keys both sides share;
 *   - nothing ever threw inside the datagram path.
 *
 * A failing seed reproduces alone: it.each names it.
 */
import { describe, expect, it } from 'vitest';
import { Pair, expectMirrored, expectSameIkeKeys, expectWindowsInSync, settle } from '../harness/pair.js';
import { SeededRandom } from '../harness/seeded-random.js';

interface Scenario {
  readonly steps: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly maxStepMs: number;
  /** Also CHILD deletes by cgw, IKE SA deletes and peer restarts. */
  readonly everything?: boolean;
}

function runInterleaving(seed: number, scenario: Scenario): Pair<'ikev2'> {
  const pair = new Pair('ikev2', { seed, timing: { dpdIntervalSeconds: 15 } }).establish();
  pair.net.setManual(true);
  const dice = new SeededRandom(seed * 7919);
  for (let step = 0; step < scenario.steps; step++) {
    const roll = dice.fraction();
    if (roll < 0.06) pair.cgw.connection.rekeyChild();
    else if (roll < 0.12) pair.aws.connection.rekeyChild();
    else if (roll < 0.15) pair.cgw.connection.rekeyIke();
    else if (roll < 0.18) pair.aws.connection.rekeyIke();
    else if (roll < 0.19) pair.aws.connection.deleteChild();
    else if (roll < 0.3) pair.clock.advance(dice.below(scenario.maxStepMs));
    else if (scenario.everything && roll < 0.31) pair.cgw.connection.deleteChild();
    else if (scenario.everything && roll < 0.315) pair[dice.below(2) === 0 ? 'cgw' : 'aws'].connection.deleteIke();
    else if (scenario.everything && roll < 0.317) pair.aws.restart();
    else if (pair.net.queue.length > 0) {
      const index = dice.below(pair.net.queue.length);
      const [datagram] = pair.net.queue.splice(index, 1);
      if (!datagram) continue;
      const fate = dice.fraction();
      if (fate < scenario.dropRate) continue;
      pair.net.deliver(datagram);
      if (fate > 1 - scenario.duplicateRate) pair.net.queue.push(datagram);
    }
  }
  pair.net.setManual(false);
  pair.run(300_000);
  return pair;
}

function expectConverged(pair: Pair<'ikev2'>): void {
  // A restarted or deleted peer may need DPD plus a reconnect to be noticed and replaced.
  settle(pair, 120_000);
  expectMirrored(pair);
  expectSameIkeKeys(pair);
  expectWindowsInSync(pair);
  for (const peer of [pair.cgw, pair.aws]) {
    expect(peer.connection.status().counters.drops['internal-error'] ?? 0, peer.name).toBe(0);
    expect(peer.connection.status().ikeSas.filter((s) => s.state === 'established')).toHaveLength(1);
  }
}

const SEEDS = Array.from({ length: Number(process.env.CGWD_PROPERTY_SEEDS ?? 40) }, (_, i) => i + 1);

describe('random interleavings, reliable but reordered and delayed', () => {
  it.each(SEEDS)('seed %i', (seed) => {
    const pair = runInterleaving(seed, { steps: 250, dropRate: 0, duplicateRate: 0.05, maxStepMs: 400 });
    expectConverged(pair);
    // Nothing was lost and no request waited long enough to exhaust its retransmissions.
    expect(pair.cgw.count('ike-down') + pair.aws.count('ike-down')).toBe(0);
  });

  it('collisions actually happened across the runs', () => {
    let child = 0;
    let ike = 0;
    for (const seed of SEEDS.slice(0, 20)) {
      const counters = runInterleaving(seed, { steps: 250, dropRate: 0, duplicateRate: 0.05, maxStepMs: 400 }).cgw.connection.status().counters;
      child += counters.childRekeyCollisions;
      ike += counters.ikeRekeyCollisions;
    }
    expect(child).toBeGreaterThan(0);
    expect(ike).toBeGreaterThan(0);
  });
});

describe('random interleavings with loss and long stalls', () => {
  it.each(SEEDS.slice(0, Math.ceil(SEEDS.length * 0.625)))('seed %i', (seed) => {
    const pair = runInterleaving(seed, { steps: 250, dropRate: 0.15, duplicateRate: 0.1, maxStepMs: 4_000 });
    expectConverged(pair);
  });
});

describe('random interleavings of every operation: deletes of CHILD and IKE SAs, peer restarts', () => {
  it.each(SEEDS.slice(0, Math.ceil(SEEDS.length * 0.5)))('seed %i', (seed) => {
    const pair = runInterleaving(seed, { steps: 250, dropRate: 0.05, duplicateRate: 0.05, maxStepMs: 1_000, everything: true });
    expectConverged(pair);
  });
});
