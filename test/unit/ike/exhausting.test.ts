/**
 * childSaExhausting(): the data plane reports that a CHILD SA's outbound sequence number passed
 * 0xF0000000 (RFC 4303 §3.3.3: the SA must be replaced before 2^32 packets), and the
 * connection rekeys that SA at once, in both versions (IKEv2 CREATE_CHILD_SA, IKEv1 a new
 * quick mode), on the fake clock:
 *
 *   cgw (data plane: seq ≥ 0xF0000000 on SA n)              aws
 *   childSaExhausting(n) ─► rekey request ───────────────────►
 *   childSaExhausting(n) again: false (one is pending)
 *                        ◄─────────────────────────────────── answer
 *   SA n+1 installed, SA n retired: childSaExhausting(n) is false from now on
 */
import { describe, expect, it } from 'vitest';
import type { IkeVersion } from './harness/config.js';
import { Pair, expectMirrored, settle } from './harness/pair.js';

/** Far from the natural rekey (≈ 2970 s with the default lifetimes), long enough for any exchange. */
const EXCHANGE_MS = 5_000;
/**
 * An SA is hours old when it runs out of sequence numbers; a minute stands for that here (IKEv1
 * takes two SAs completed within COLLISION_WINDOW_MS of each other for a rekey collision).
 */
const SA_AGE_MS = 60_000;

function established(version: IkeVersion): Pair {
  return new Pair(version).establish().run(SA_AGE_MS);
}

describe.each<IkeVersion>(['ikev2', 'ikev1'])('%s: a CHILD SA running out of sequence numbers', (version) => {
  it('is rekeyed at once, make-before-break', () => {
    const pair = established(version);
    const old = pair.cgw.sink.only();
    expect(pair.cgw.connection.childSaExhausting(old.id)).toBe(true);
    pair.run(EXCHANGE_MS);
    expect(pair.cgw.last('child-rekeyed')?.data).toMatchObject({ oldId: old.id, initiatedByUs: true });
    expect(pair.cgw.sink.history.length).toBe(2);
    expect(pair.cgw.connection.status().counters.childRekeys).toBe(1);
    settle(pair);
    const { cgw } = expectMirrored(pair);
    expect(cgw.id).not.toBe(old.id);
    expect(cgw.spiIn).not.toBe(old.spiIn);
  });

  it('a second report while the rekey is pending starts no other', () => {
    const pair = established(version);
    const { id } = pair.cgw.sink.only();
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(true);
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(false);
    pair.run(1);
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(false);
    pair.run(EXCHANGE_MS);
    settle(pair);
    expect(pair.cgw.count('child-rekeyed')).toBe(1);
    expect(pair.aws.count('child-rekeyed')).toBe(1);
    expect(pair.cgw.sink.history.length).toBe(2);
    expect(pair.cgw.connection.status().counters.childRekeyCollisions).toBe(0);
  });

  it('behind another exchange (an IKE SA rekey in flight), one rekey is queued, not two', () => {
    const pair = established(version);
    const { id } = pair.cgw.sink.only();
    expect(pair.cgw.connection.rekeyIke()).toBe(true);
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(true);
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(false);
    pair.run(EXCHANGE_MS);
    settle(pair);
    expect(pair.cgw.count('ike-rekeyed')).toBe(1);
    expect(pair.cgw.count('child-rekeyed')).toBe(1);
    expect(pair.cgw.last('child-rekeyed')?.data).toMatchObject({ oldId: id });
  });

  it('an unknown or retired CHILD SA is ignored', () => {
    const pair = established(version);
    const old = pair.cgw.sink.only();
    expect(pair.cgw.connection.childSaExhausting(old.id + 100)).toBe(false);
    expect(pair.cgw.connection.childSaExhausting(-1)).toBe(false);
    expect(pair.cgw.connection.rekeyChild()).toBe(true);
    pair.run(EXCHANGE_MS);
    const replacement = pair.cgw.sink.history.at(-1);
    expect(replacement?.id).not.toBe(old.id);
    // The replaced SA may still be in the data plane for its grace period: its report is stale.
    expect(pair.cgw.connection.childSaExhausting(old.id)).toBe(false);
    settle(pair);
    expect(pair.cgw.connection.childSaExhausting(old.id)).toBe(false);
    expect(pair.cgw.count('child-rekeyed')).toBe(1);
    // The live one still can be rekeyed.
    expect(pair.cgw.connection.childSaExhausting(replacement?.id ?? -1)).toBe(true);
  });

  it('nothing to rekey before the tunnel is up or after it stopped', async () => {
    const idle = new Pair(version);
    expect(idle.cgw.connection.childSaExhausting(1)).toBe(false);
    const pair = established(version);
    const { id } = pair.cgw.sink.only();
    const stopped = pair.cgw.connection.stop();
    pair.run(10_000);
    await stopped;
    expect(pair.cgw.connection.childSaExhausting(id)).toBe(false);
  });

  it('the responder rekeys its SA too (AWS side or a customer that answers)', () => {
    const pair = established(version);
    const { id } = pair.aws.sink.only();
    expect(pair.aws.connection.childSaExhausting(id)).toBe(true);
    pair.run(EXCHANGE_MS);
    settle(pair);
    expect(pair.aws.last('child-rekeyed')?.data).toMatchObject({ oldId: id, initiatedByUs: true });
    expectMirrored(pair);
  });
});
