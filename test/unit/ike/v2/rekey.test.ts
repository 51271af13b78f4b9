/**
 * Rekeying: CHILD SAs (each side, with and without PFS, make-before-break), the IKE SA (each
 * side: CHILD SAs move, the old SA is deleted), lifetime-driven rekeys with margin and fuzz,
 * and the failures a rekey can meet (INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN for a KE-less
 * rekey against a peer that wants PFS — how an AWS tunnel dies at its first rekey, an hour in).
 */
import { describe, expect, it } from 'vitest';
import { rekeyAfterSeconds, resolveTiming } from '../../../../src/ike/timing.js';
import { tunnelConfig } from '../harness/config.js';
import { Pair, expectMirrored, expectSameIkeKeys, settle, type Peer } from '../harness/pair.js';
import { SeededRandom } from '../harness/seeded-random.js';

/** Fails if the data plane ever held no SA between the first install and the end. */
function expectNeverEmpty(peer: Peer<'ikev2'>): void {
  let installed = 0;
  let seen = false;
  for (const event of peer.sink.events) {
    installed += event.kind === 'install' ? 1 : event.kind === 'remove' ? -1 : 0;
    if (event.kind === 'install') seen = true;
    if (seen) expect(installed, `${peer.name} data plane empty at ${event.at} ms`).toBeGreaterThan(0);
  }
}

describe('CHILD SA rekey', () => {
  it.each([
    ['cgw', 'with PFS', [19]],
    ['cgw', 'without PFS', []],
    ['aws', 'with PFS', [19]],
    ['aws', 'without PFS', []],
  ] as const)('initiated by %s %s: new pair installed first, old inbound kept for the grace period', (who, _pfs, groups) => {
    const pair = new Pair('ikev2', { tunnel: tunnelConfig('ikev2', { pfsGroups: [...groups] }) }).establish();
    const initiator = pair[who];
    const responder = who === 'cgw' ? pair.aws : pair.cgw;
    const before = initiator.sink.only();
    const startedAt = pair.clock.now();
    expect(initiator.connection.rekeyChild()).toBe(true);
    pair.run(200);
    // Both hold old and new; outbound already on the new one.
    expect(initiator.sink.installed.size).toBe(2);
    expect(responder.sink.installed.size).toBe(2);
    expect(initiator.sink.outbound).not.toBe(before.id);
    pair.run(9_000);
    expect(initiator.sink.installed.has(before.id)).toBe(true); // grace period (10 s) not over
    pair.run(2_000);
    const { cgw } = expectMirrored(pair);
    expect(cgw.id).not.toBe(before.id);
    expect(cgw.pfsGroup).toBe(groups[0]);
    const removal = initiator.sink.events.find((e) => e.kind === 'remove' && e.id === before.id);
    expect(removal && removal.at - startedAt).toBeGreaterThanOrEqual(10_000);
    expectNeverEmpty(pair.cgw);
    expectNeverEmpty(pair.aws);
    expect(initiator.events.filter((e) => e.name === 'child-rekeyed')).toHaveLength(1);
    expect(initiator.count('child-down')).toBe(0);
  });

  it('INVALID_KE_PAYLOAD in CREATE_CHILD_SA: retried with the group the responder wants', () => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { pfsGroups: [19, 14] }) }, aws: { tunnel: tunnelConfig('ikev2', { pfsGroups: [14] }) } }).establish();
    pair.cgw.connection.rekeyChild();
    pair.run(15_000);
    expect(expectMirrored(pair).cgw.pfsGroup).toBe(14);
  });

  it('a rekey without KE against a peer that requires PFS is refused; the old SA stays in use', () => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { pfsGroups: [] }) }, aws: { tunnel: tunnelConfig('ikev2', { pfsGroups: [14] }) } }).establish();
    const before = pair.cgw.sink.only();
    pair.cgw.connection.rekeyChild();
    pair.run(1_000);
    expect(pair.cgw.sink.only().id).toBe(before.id);
    expect(pair.aws.sink.installed.size).toBe(1);
    expect(pair.cgw.connection.state).toBe('established');
  });
});

describe('IKE SA rekey', () => {
  it.each(['cgw', 'aws'] as const)('initiated by %s: CHILD SAs move over, the old IKE SA is deleted on both sides', (who) => {
    const pair = new Pair('ikev2').establish();
    const child = pair.cgw.sink.only();
    const oldSpis = pair.cgw.connection.status().ikeSas[0];
    expect(pair[who].connection.rekeyIke()).toBe(true);
    pair.run(2_000);
    for (const peer of [pair.cgw, pair.aws]) {
      const sas = peer.connection.status().ikeSas;
      expect(sas).toHaveLength(1);
      expect(sas[0]?.spiI).not.toBe(oldSpis?.spiI);
      expect(sas[0]?.children.map((c) => c.id)).toHaveLength(1);
      expect(peer.count('ike-rekeyed')).toBe(1);
      expect(peer.count('ike-down')).toBe(0);
    }
    expectSameIkeKeys(pair);
    expect(pair.cgw.sink.only().id).toBe(child.id); // the CHILD SA itself is untouched
    expect(pair.cgw.connection.status().ikeSas[0]?.originalInitiator).toBe(who === 'cgw');
    // The new IKE SA works: its own CHILD rekey (keys from the new SK_d) and liveness checks.
    pair[who === 'cgw' ? 'aws' : 'cgw'].connection.rekeyChild();
    pair.run(60_000);
    expectMirrored(pair);
    expect(pair.cgw.connection.state).toBe('established');
  });
});

describe('lifetimes and rekey timing', () => {
  it('defaults sit below AWS (CHILD 3240 s < 3600 s, IKE 27000 s < 28800 s)', () => {
    const timing = resolveTiming(tunnelConfig('ikev2'));
    expect(timing.childLifetimeSeconds).toBe(3240);
    expect(timing.ikeLifetimeSeconds).toBe(27_000);
    expect(timing.childRekeyMarginSeconds).toBe(270);
  });

  it('rekey = lifetime − margin − random(0, margin × fuzz)', () => {
    const random = new SeededRandom(3);
    const samples = Array.from({ length: 200 }, () => rekeyAfterSeconds(3240, 270, 100, random));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(3240 - 540);
    expect(Math.max(...samples)).toBeLessThanOrEqual(3240 - 270);
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(200);
    expect(rekeyAfterSeconds(3240, 270, 0, random)).toBe(2970);
  });

  it('short lab lifetimes: the side with the shorter lifetime rekeys, for hours, without a gap', () => {
    const short = { childLifetimeSeconds: 60, ikeLifetimeSeconds: 300, childRekeyMarginSeconds: 10, ikeRekeyMarginSeconds: 30, rekeyFuzzPercent: 50 };
    const long = { childLifetimeSeconds: 90, ikeLifetimeSeconds: 400, childRekeyMarginSeconds: 10, ikeRekeyMarginSeconds: 30, rekeyFuzzPercent: 50 };
    const pair = new Pair('ikev2', { cgw: { timing: short }, aws: { timing: long } }).establish();
    const first = pair.cgw.sink.only();
    expect(first.softLifetimeSeconds).toBeGreaterThanOrEqual(45);
    expect(first.softLifetimeSeconds).toBeLessThanOrEqual(50);
    expect(first.hardLifetimeSeconds).toBe(60);
    pair.run(2 * 3_600_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
    const cgwChildRekeys = pair.cgw.events.filter((e) => e.name === 'child-rekeyed');
    expect(cgwChildRekeys.length).toBeGreaterThan(120);
    expect(cgwChildRekeys.every((e) => (e.data as { initiatedByUs: boolean }).initiatedByUs)).toBe(true);
    expect(pair.cgw.count('ike-rekeyed')).toBeGreaterThan(20);
    expect(pair.cgw.count('ike-down') + pair.aws.count('ike-down')).toBe(0);
    expect(pair.cgw.count('child-down') + pair.aws.count('child-down')).toBe(0);
    expectNeverEmpty(pair.cgw);
    expectNeverEmpty(pair.aws);
  });

  it('both sides with the same lifetimes: jitter plus collision handling keep one pair', () => {
    const same = { childLifetimeSeconds: 60, ikeLifetimeSeconds: 240, childRekeyMarginSeconds: 10, ikeRekeyMarginSeconds: 20, rekeyFuzzPercent: 100 };
    const pair = new Pair('ikev2', { timing: same }).establish();
    pair.run(3_600_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
    expect(pair.cgw.count('ike-down') + pair.aws.count('ike-down')).toBe(0);
    expectNeverEmpty(pair.cgw);
    expectNeverEmpty(pair.aws);
  });
});
