/**
 * Keeping the tunnel alive and noticing when it is not: liveness checks (RFC 7296 §2.4),
 * retransmission with backoff and the responder's cache (§2.1), a dead peer, a restarted peer,
 * a lossy network, half-open SAs, stop().
 */
import { describe, expect, it } from 'vitest';
import { ExchangeType } from '../../../../src/ike/v2/wire/constants.js';
import { retransmitTimeouts, resolveTiming } from '../../../../src/ike/timing.js';
import { tunnelConfig } from '../harness/config.js';
import { describeSent, sentBy } from './harness/messages.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectSameIkeKeys, expectWindowsInSync, settle } from '../harness/pair.js';

describe('liveness checks (DPD)', () => {
  it('an idle tunnel sends an empty INFORMATIONAL every interval and stays up', () => {
    const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    const before = sentBy(pair.cgw.transport, { exchange: ExchangeType.INFORMATIONAL, response: false }).length;
    pair.run(100_000);
    const checks = sentBy(pair.cgw.transport, { exchange: ExchangeType.INFORMATIONAL, response: false }).length - before;
    expect(checks).toBeGreaterThanOrEqual(8);
    expect(checks).toBeLessThanOrEqual(11);
    // Each side checks on its own schedule; never more than about one check per interval.
    expect(sentBy(pair.aws.transport, { exchange: ExchangeType.INFORMATIONAL, response: false }).length).toBeLessThanOrEqual(11);
    expect(pair.cgw.connection.state).toBe('established');
    expectWindowsInSync(pair);
  });

  it('a dead peer is detected interval × retries after its last message, then re-initiation with backoff', () => {
    const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    pair.run(3_000);
    const lastHeard = pair.clock.now();
    pair.net.setDown(AWS_IP, true);
    pair.run(60_000);
    const down = pair.cgw.events.find((e) => e.name === 'ike-down');
    expect(down?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE', established: true });
    const detectedAfter = (down?.at ?? Infinity) - lastHeard;
    expect(detectedAfter).toBeLessThanOrEqual(10_000 * 3 + 100);
    expect(detectedAfter).toBeGreaterThanOrEqual(10_000 * 3 - 3_000 - 100);
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.cgw.count('child-down')).toBe(1);
    // It keeps trying (IKE_SA_INIT, retransmitted, then again after the backoff) for ever.
    pair.run(600_000);
    expect(pair.cgw.connection.status().counters.reconnects).toBeGreaterThanOrEqual(5);
    pair.net.setDown(AWS_IP, false);
    pair.run(120_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
  });

  it('a restarted peer (state lost) is noticed and the tunnel re-established', () => {
    const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    pair.run(5_000);
    pair.aws.restart();
    pair.run(120_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE' });
    expect(pair.aws.connection.status().counters.drops['unknown-spi']).toBeGreaterThan(0);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
  });

  it('ESP activity reported by the data plane counts as liveness', () => {
    const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 10 } }).establish();
    const before = sentBy(pair.cgw.transport, { exchange: ExchangeType.INFORMATIONAL, response: false }).length;
    for (let i = 0; i < 10; i++) {
      pair.run(5_000);
      pair.cgw.connection.noteInboundActivity();
    }
    expect(sentBy(pair.cgw.transport, { exchange: ExchangeType.INFORMATIONAL, response: false }).length).toBe(before);
  });
});

describe('retransmission (RFC 7296 §2.1)', () => {
  it('timeouts grow 1 s × 1.8ⁿ up to the cap', () => {
    const timing = resolveTiming(tunnelConfig('ikev2'), { retransmitTries: 8 });
    expect(retransmitTimeouts(timing).map(Math.round)).toEqual([1000, 1800, 3240, 5832, 10498, 18896, 30000, 30000]);
  });

  it('a lost request is retransmitted with the same bytes; a lost response is resent from the cache', () => {
    const pair = new Pair('ikev2');
    let dropAuthRequest = true;
    let dropAuthResponse = true;
    pair.net.dropIf = (d) => {
      const m = describeSent(d);
      if (m.exchange !== ExchangeType.IKE_AUTH) return false;
      if (!m.response && dropAuthRequest) return !(dropAuthRequest = false);
      if (m.response && dropAuthResponse) return !(dropAuthResponse = false);
      return false;
    };
    pair.establish(10_000);
    const requests = sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_AUTH, response: false });
    expect(requests).toHaveLength(3);
    expect(requests[1]?.datagram.data.equals(requests[0]?.datagram.data as Buffer)).toBe(true);
    expect(requests[1]!.datagram.sentAt - requests[0]!.datagram.sentAt).toBe(1_000);
    expect(requests[2]!.datagram.sentAt - requests[1]!.datagram.sentAt).toBe(1_800);
    const responses = sentBy(pair.aws.transport, { exchange: ExchangeType.IKE_AUTH, response: true });
    expect(responses).toHaveLength(2);
    expect(responses[1]?.datagram.data.equals(responses[0]?.datagram.data as Buffer)).toBe(true);
    expect(pair.aws.connection.status().counters.cachedResponsesResent).toBe(1);
    expect(pair.aws.sink.installed.size).toBe(1); // processed once
  });

  it('the responder never retransmits on its own (no amplification)', () => {
    const pair = new Pair('ikev2').establish();
    pair.net.dropIf = (d) => d.from.address === AWS_IP; // every answer lost
    pair.cgw.connection.rekeyChild();
    pair.run(120_000);
    const requests = sentBy(pair.cgw.transport, { response: false }).filter((m) => m.exchange === ExchangeType.CREATE_CHILD_SA);
    const answers = sentBy(pair.aws.transport, { response: true }).filter((m) => m.exchange === ExchangeType.CREATE_CHILD_SA);
    expect(requests.length).toBe(resolveTiming(tunnelConfig('ikev2')).retransmitTries);
    expect(answers.length).toBe(requests.length); // exactly one answer per request received
    expect(sentBy(pair.aws.transport, { response: false }).filter((m) => m.exchange === ExchangeType.CREATE_CHILD_SA)).toHaveLength(0);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE' });
  });

  it('IKE_SA_INIT to nobody: retransmitted, then given up and retried after a backoff', () => {
    const pair = new Pair('ikev2');
    pair.net.setDown(AWS_IP, true);
    pair.start().run(45_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE', established: false });
    expect(pair.cgw.connection.state).toMatch(/backoff|connecting/);
  });
});

describe('a lossy network still converges', () => {
  it.each([1, 2, 3])('20 percent loss, 10 percent duplicates, reordering (seed %i), an hour of rekeys', (seed) => {
    const timing = { childLifetimeSeconds: 120, ikeLifetimeSeconds: 600, childRekeyMarginSeconds: 20, ikeRekeyMarginSeconds: 60, rekeyFuzzPercent: 100, dpdIntervalSeconds: 10 };
    const pair = new Pair('ikev2', { seed, timing, network: { dropRate: 0.2, duplicateRate: 0.1, jitterMs: 80, latencyMs: 20 } });
    pair.start().run(3_600_000);
    pair.net.setLoss({ dropRate: 0, duplicateRate: 0, jitterMs: 0 });
    pair.run(120_000);
    settle(pair, 120_000);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
    expectWindowsInSync(pair);
    expect(pair.cgw.connection.status().counters.retransmittedRequests).toBeGreaterThan(0);
    expect(pair.cgw.connection.status().counters.drops['internal-error'] ?? 0).toBe(0);
    expect(pair.aws.connection.status().counters.drops['internal-error'] ?? 0).toBe(0);
  });
});

describe('half-open SAs and stop()', () => {
  it('a responder SA that never sees IKE_AUTH is dropped after the half-open timeout', () => {
    const pair = new Pair('ikev2');
    pair.net.dropIf = (d) => d.from.address === CGW_IP && describeSent(d).exchange === ExchangeType.IKE_AUTH;
    pair.start().run(2_000);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
    pair.run(30_000);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
    expect(pair.aws.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_HALF_OPEN_TIMEOUT', established: false });
  });

  it('stop() deletes the IKE SA, removes the CHILD SA and stays down', async () => {
    const pair = new Pair('ikev2').establish();
    const stopped = pair.cgw.connection.stop();
    pair.run(1_000);
    await stopped;
    expect(pair.cgw.connection.state).toBe('stopped');
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.aws.sink.installed.size).toBe(0);
    expect(pair.aws.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    pair.run(300_000);
    expect(sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_SA_INIT })).toHaveLength(1);
  });

  it('stop() with the peer gone returns after the bounded wait', async () => {
    const pair = new Pair('ikev2').establish();
    pair.net.setDown(AWS_IP, true);
    const stopped = pair.cgw.connection.stop();
    pair.run(10_000);
    await stopped;
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.cgw.connection.status().ikeSas).toHaveLength(0);
  });
});
