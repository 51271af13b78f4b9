/**
 * Exchange collisions (RFC 7296 §2.8.1, §2.8.2, §2.25), each ordering drawn as a sequence
 * diagram in the manner of strongSwan's test_child_rekey.c / test_ike_rekey.c. The network is
 * in manual mode: every arrow is one deliverFrom()/take()/deliver() below, in diagram order.
 * The nonces are forced (first octet) so the test decides which new SA is redundant:
 *
 *   N1 = cgw's request nonce       N2 = aws's request nonce
 *   N3 = aws's answer to cgw       N4 = cgw's answer to aws
 *
 *   cgw's new SA = {N1, N3}, aws's new SA = {N2, N4}; the one holding the lowest of the four
 *   is redundant and deleted by its initiator; the survivor's initiator deletes the old SA.
 */
import { describe, expect, it } from 'vitest';
import type { Wire } from '../harness/network.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectSameIkeKeys, expectWindowsInSync, settle, type Peer } from '../harness/pair.js';

const QUIET = { dpdIntervalSeconds: 100_000 };

function collisionPair(): Pair<'ikev2'> {
  const pair = new Pair('ikev2', { timing: QUIET }).establish();
  pair.net.setManual(true);
  return pair;
}

/** Back to a normal network: deliver, run out grace periods and retries, check the end state. */
function finish(pair: Pair<'ikev2'>, ms = 60_000): void {
  pair.net.setManual(false);
  pair.run(ms);
  settle(pair);
  expectMirrored(pair);
  expectSameIkeKeys(pair);
  expectWindowsInSync(pair);
}

function forceNonces(pair: Pair<'ikev2'>, [n1, n2, n3, n4]: readonly [number, number, number, number]): void {
  pair.cgw.random.nonceFirstBytes.push(n1, n4);
  pair.aws.random.nonceFirstBytes.push(n2, n3);
}

/** Whose exchange produced the surviving SA, by the lowest of the four forced first octets. */
function expectedSurvivor(nonces: readonly number[]): 'cgw' | 'aws' {
  const lowest = nonces.indexOf(Math.min(...nonces));
  return lowest === 0 || lowest === 2 ? 'aws' : 'cgw';
}

/** The redundant SA never reached its initiator's data plane (outbound stayed on the survivor). */
function expectRedundantNeverInstalled(loser: Peer<'ikev2'>): void {
  const own = loser.sink.history.filter((sa) => sa.initiatedByUs);
  // Only the first CHILD SA (from IKE_AUTH, if this side initiated it) was ever its own.
  expect(own.every((sa) => sa.id === loser.sink.history[0]?.id)).toBe(true);
}

const FOUR_ORDERINGS = [
  [0x00, 0xff, 0xff, 0xff],
  [0xff, 0x00, 0xff, 0xff],
  [0xff, 0xff, 0x00, 0xff],
  [0xff, 0xff, 0xff, 0x00],
] as const;

describe('simultaneous CHILD SA rekeys (§2.8.1)', () => {
  /**
   *        cgw                                   aws
   *   rekey N1  -----\                 /-----  rekey N2
   *                   \---------------/----->  detect collision, answer N3
   *   detect          <--------------/  /----
   *   collision, N4   -----\           /
   *                         \---------/------>  knows all four nonces
   *   knows all four  <--------------/
   *   loser   --- D(its redundant SA) -->       winner --- D(old SA) -->
   */
  it.each(FOUR_ORDERINGS)('both requests cross, nonces %i %i %i %i', (...nonces) => {
    const pair = collisionPair();
    forceNonces(pair, nonces);
    pair.cgw.connection.rekeyChild(); //            rekey N1 ----\
    pair.aws.connection.rekeyChild(); //                          /---- rekey N2
    pair.net.deliverFrom(CGW_IP); //                  aws answers N3
    pair.net.deliverFrom(AWS_IP); //                  cgw gets aws's request, answers N4
    pair.net.deliverFrom(AWS_IP); //                  cgw gets its answer: resolves
    pair.net.deliverFrom(CGW_IP); //                  aws gets its answer: resolves
    pair.net.deliverAll(); //                          the two Deletes and their answers
    const survivor = expectedSurvivor(nonces);
    finish(pair);
    expect(pair.cgw.sink.only().initiatedByUs).toBe(survivor === 'cgw');
    expectRedundantNeverInstalled(survivor === 'cgw' ? pair.aws : pair.cgw);
  });

  /**
   * One side's CREATE_CHILD_SA answer is delayed: it sees the peer's Delete first.
   *
   *        cgw                                   aws
   *   rekey     -----\                 /-----  rekey
   *                   \---------------/----->  detect collision
   *   detect          <--------------/  /----
   *   collision       -----\           /
   *                         \---------/------>  resolves: deletes (old or redundant) SA
   *   handle delete   <----------------\--/---  delete
   *                   ------------------\---->
   *   handle rekey    <------------------/     (the delayed answer)
   *   delete          ----------------------->
   *                   <-----------------------
   */
  it.each(FOUR_ORDERINGS)('answer delayed behind the peer\'s Delete, nonces %i %i %i %i', (...nonces) => {
    const pair = collisionPair();
    forceNonces(pair, nonces);
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.rekeyChild();
    pair.net.deliverFrom(CGW_IP); //                  aws answers cgw's request
    pair.net.deliverFrom(AWS_IP); //                  cgw gets aws's request, answers
    const delayed = pair.net.take(AWS_IP); //        aws's answer to cgw: held back
    pair.net.deliverFrom(CGW_IP); //                  aws gets its answer, resolves, sends a Delete
    pair.net.deliverFrom(AWS_IP); //                  cgw handles the Delete, answers
    pair.net.deliverFrom(CGW_IP); //                  aws gets the Delete's answer
    pair.net.deliver(delayed); //                     cgw finally gets its answer
    pair.net.deliverAll();
    const survivor = expectedSurvivor(nonces);
    finish(pair);
    expect(pair.cgw.sink.only().initiatedByUs).toBe(survivor === 'cgw');
  });

  /**
   * cgw's request is delayed: aws completes its rekey without noticing the collision.
   *
   *        cgw                                   aws
   *   rekey     -----\                 /-----  rekey
   *                   \               /
   *   detect          <-\------------/
   *   collision       ---\------------------>  (answer) resolves: no collision seen
   *                       \            /-----  delete old SA
   *                        \----------/----->  detect collision (old SA being deleted)
   *   handle delete   <--------------/  /----  TEMPORARY_FAILURE
   *                   ------------------/--->
   *   aborts rekey    <----------------/
   */
  it.each([
    [0x00, 0xff, 0xff],
    [0xff, 0x00, 0xff],
    [0xff, 0xff, 0x00],
  ])('one request delayed: TEMPORARY_FAILURE, nonces %i %i %i', (n1, n2, n4) => {
    const pair = collisionPair();
    pair.cgw.random.nonceFirstBytes.push(n1, n4);
    pair.aws.random.nonceFirstBytes.push(n2);
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.rekeyChild();
    const delayedRequest = pair.net.take(CGW_IP);
    pair.net.deliverFrom(AWS_IP); //                  cgw answers aws's rekey (records a collision)
    pair.net.deliverFrom(CGW_IP); //                  aws resolves: installs its SA, deletes the old one
    pair.net.deliver(delayedRequest); //              aws: old SA being deleted → TEMPORARY_FAILURE
    pair.net.deliverFrom(AWS_IP); //                  cgw handles the Delete of the old SA
    pair.net.deliverFrom(AWS_IP); //                  cgw gets TEMPORARY_FAILURE: gives up, nothing left to rekey
    pair.net.deliverAll();
    finish(pair);
    expect(pair.cgw.sink.only().initiatedByUs).toBe(false); // aws's SA is the one
    expectRedundantNeverInstalled(pair.cgw);
  });

  /**
   * cgw's request is delayed even more: it arrives after the old SA is gone.
   *
   *        cgw                                   aws
   *   rekey     -----\                 /-----  rekey
   *   detect          <-\------------/
   *   collision       ---\------------------>  resolves
   *   handle delete   <---\------------------  delete old SA
   *                   -----\---------------->
   *                         \--------------->  old SA unknown
   *   aborts rekey    <---------------------  CHILD_SA_NOT_FOUND
   */
  it('one request delayed past the Delete: CHILD_SA_NOT_FOUND', () => {
    const pair = collisionPair();
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.rekeyChild();
    const delayedRequest = pair.net.take(CGW_IP);
    pair.net.deliverFrom(AWS_IP);
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliverFrom(AWS_IP); //                  Delete of the old SA reaches cgw
    pair.net.deliverFrom(CGW_IP); //                  its answer reaches aws
    pair.net.deliver(delayedRequest);
    expect(pair.net.queue).toHaveLength(1); //       CHILD_SA_NOT_FOUND on its way
    pair.net.deliverAll();
    finish(pair);
    expect(pair.cgw.sink.only().initiatedByUs).toBe(false);
  });
});

describe('CHILD SA rekey against a Delete of the same SA (§2.25.1)', () => {
  /**
   *        rekeyer                              deleter
   *   rekey     -----\                 /-----  delete
   *                   \---------------/----->  detect collision → TEMPORARY_FAILURE
   *   detect          <--------------/  /----
   *   collision:      -----\           /
   *   answer with D         \---------/------>
   *   aborts rekey    <--------------/
   *   (the initiator of the tunnel then creates a new CHILD SA)
   */
  it.each(['cgw', 'aws'] as const)('%s rekeys while the other deletes', (rekeyer) => {
    const pair = collisionPair();
    const deleter = rekeyer === 'cgw' ? 'aws' : 'cgw';
    pair[rekeyer].connection.rekeyChild();
    pair[deleter].connection.deleteChild();
    pair.net.deliverFrom(pair[rekeyer].address); //   rekey meets an SA being deleted: TEMPORARY_FAILURE
    pair.net.deliverFrom(pair[deleter].address); //   the Delete: answered with D, SA gone
    pair.net.deliverFrom(pair[rekeyer].address); //   the Delete's answer
    pair.net.deliverFrom(pair[deleter].address); //   TEMPORARY_FAILURE: nothing left to rekey
    expect(pair.cgw.sink.installed.size + pair.aws.sink.installed.size).toBe(0);
    expect(pair.cgw.count('child-down')).toBe(1);
    finish(pair);
    expect(pair.cgw.sink.only().initiatedByUs).toBe(true); // re-created by the tunnel's initiator
  });

  /**
   *        rekeyer                              deleter
   *   rekey     -----\                 /-----  delete (delayed)
   *                   \---------------/----->  TEMPORARY_FAILURE
   *   reschedule      <--------------/------
   *                   <-------------/          (the Delete arrives late)
   *   answer with D   ----------------------->
   */
  it('the Delete is delayed: the rekeyer reschedules, then the Delete removes the SA', () => {
    const pair = collisionPair();
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.deleteChild();
    const delayedDelete = pair.net.take(AWS_IP);
    pair.net.deliverFrom(CGW_IP); //                  TEMPORARY_FAILURE
    pair.net.deliverFrom(AWS_IP); //                  cgw will retry later
    pair.net.deliver(delayedDelete);
    pair.net.deliverAll();
    finish(pair);
  });

  /**
   *        rekeyer                              deleter
   *   rekey     -----\  (delayed)      /-----  delete
   *   detect          <-\-------------/
   *   answer with D   --\-------------------->
   *                      \------------------>  unknown SA
   *   aborts rekey    <---------------------  CHILD_SA_NOT_FOUND
   */
  it('the rekey is delayed: CHILD_SA_NOT_FOUND', () => {
    const pair = collisionPair();
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.deleteChild();
    const delayedRekey = pair.net.take(CGW_IP);
    pair.net.deliverFrom(AWS_IP);
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliver(delayedRekey);
    pair.net.deliverAll();
    finish(pair);
  });
});

describe('simultaneous IKE SA rekeys (§2.8.2)', () => {
  /**
   *        cgw                                   aws
   *   rekey IKE N1 ---\                 /----  rekey IKE N2
   *                    \---------------/---->  detect collision, answer N3
   *   detect           <--------------/ /----
   *   collision, N4    -----\          /
   *                          \--------/------>  knows all four nonces
   *   knows all four   <-------------/
   *   loser: D(IKE) on its redundant new SA;  winner: D(IKE) on the old SA;
   *   CHILD SAs end up on the surviving new IKE SA on both sides
   */
  it.each(FOUR_ORDERINGS)('both requests cross, nonces %i %i %i %i', (...nonces) => {
    const pair = collisionPair();
    forceNonces(pair, nonces);
    const child = pair.cgw.sink.only().id;
    pair.cgw.connection.rekeyIke();
    pair.aws.connection.rekeyIke();
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliverFrom(AWS_IP);
    pair.net.deliverFrom(AWS_IP);
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliverAll();
    for (const peer of [pair.cgw, pair.aws]) {
      const sas = peer.connection.status().ikeSas;
      expect(sas, peer.name).toHaveLength(1);
      expect(sas[0]?.children).toHaveLength(1);
    }
    const survivor = expectedSurvivor(nonces);
    expect(pair.cgw.connection.status().ikeSas[0]?.originalInitiator).toBe(survivor === 'cgw');
    expect(pair.cgw.sink.only().id).toBe(child);
    pair.cgw.connection.rekeyChild(); // the CHILD SA works on the surviving IKE SA
    finish(pair);
  });

  /**
   * The winner deletes the old IKE SA before the loser's answer arrives:
   *
   *        cgw (loser)                           aws (winner)
   *   rekey IKE  -----\                 /----  rekey IKE
   *                    \---------------/---->  detect collision
   *   detect           <--------------/ /----
   *   collision        -----\          /
   *                          \--------/------>  resolves: its SA won
   *   handle delete    <-------------/--------  D(IKE) on the old SA
   *   (CHILD SAs move  -------------/-------->
   *    to aws's SA)    <-----------/            (the delayed answer) → redundant: D(IKE) on it
   */
  it('the old IKE SA is deleted before the loser hears back', () => {
    const pair = collisionPair();
    forceNonces(pair, [0x00, 0xff, 0xff, 0xff]); // cgw's exchange holds the lowest nonce: aws wins
    pair.cgw.connection.rekeyIke();
    pair.aws.connection.rekeyIke();
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliverFrom(AWS_IP);
    const delayed = pair.net.take(AWS_IP);
    pair.net.deliverFrom(CGW_IP); //                  aws resolves, deletes the old SA
    pair.net.deliverFrom(AWS_IP); //                  cgw: D(IKE) on the old SA
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliver(delayed);
    pair.net.deliverAll();
    expect(pair.cgw.count('ike-down')).toBe(0);
    expect(pair.cgw.connection.status().ikeSas).toHaveLength(1);
    expect(pair.cgw.connection.status().ikeSas[0]?.originalInitiator).toBe(false);
    finish(pair);
  });
});

describe('IKE SA rekey against a CHILD SA rekey (§2.25.2)', () => {
  /**
   *        cgw                                   aws
   *   rekey CHILD ----\                 /----  rekey IKE
   *                    \---------------/---->  TEMPORARY_FAILURE (IKE rekey running)
   *   TEMPORARY_FAIL.  <--------------/ /----  (CHILD exchange running)
   *                    -----\          /
   *   retry later      <-----\--------/
   *                           \-------------->  retry later
   *   … both retry after random delays and both succeed
   */
  it('both answer TEMPORARY_FAILURE, both retry later and succeed', () => {
    const pair = collisionPair();
    const child = pair.cgw.sink.only().id;
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.rekeyIke();
    pair.net.deliverFrom(CGW_IP);
    pair.net.deliverFrom(AWS_IP);
    pair.net.deliverAll();
    expect(pair.cgw.sink.only().id).toBe(child);
    finish(pair);
    expect(pair.cgw.sink.only().id).not.toBe(child);
    expect(pair.cgw.count('ike-rekeyed')).toBe(1);
    expect(pair.aws.count('ike-rekeyed')).toBe(1);
  });
});

describe('Delete of the IKE SA during a rekey (§2.25.2)', () => {
  /**
   *        cgw                                   aws
   *   rekey IKE  -----\                 /----  delete IKE SA
   *                    \---------------/---->  TEMPORARY_FAILURE (closing)
   *   answer, SA gone <---------------/  /---
   *                   ------------------/--->  SA gone
   *   re-initiate …                            (answer to nothing)
   */
  it.each(['IKE', 'CHILD'] as const)('%s rekey meets the peer deleting the IKE SA: both sides clean up, cgw re-initiates', (what) => {
    const pair = collisionPair();
    if (what === 'IKE') pair.cgw.connection.rekeyIke();
    else pair.cgw.connection.rekeyChild();
    pair.aws.connection.deleteIke();
    pair.net.deliverFrom(CGW_IP); //                  aws: closing → TEMPORARY_FAILURE
    pair.net.deliverFrom(AWS_IP); //                  cgw: D(IKE) → answered, SA gone
    pair.net.deliverAll();
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.aws.sink.installed.size).toBe(0);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    finish(pair);
    expect(pair.cgw.count('ike-up')).toBe(2);
  });

  it('a stray message for the deleted IKE SA is a counted drop', () => {
    const pair = collisionPair();
    pair.aws.connection.deleteIke();
    const request = pair.net.take(AWS_IP) as Wire;
    pair.net.deliver(request);
    pair.net.deliverAll();
    pair.net.deliver(request); // a late duplicate of the Delete
    expect(pair.cgw.connection.status().counters.drops['unknown-spi']).toBe(1);
    finish(pair);
  });
});
