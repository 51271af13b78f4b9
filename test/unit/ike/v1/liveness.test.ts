/**
 * Keeping the tunnel alive and noticing when it is not: DPD (RFC 3706) idle-triggered, a dead
 * peer, a restarted peer, a wrong PSK, lost/duplicated/reordered datagrams, retransmission and
 * cached answers (RFC 2408 §4), the Commit bit (RFC 2408 §3.1), half-open SAs, stop().
 */
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType } from '../../../../src/ike/v1/constants.js';
import { COMMIT_WAIT_MS } from '../../../../src/ike/v1/tasks/quick-mode.js';
import { resolveTiming } from '../../../../src/ike/timing.js';
import { retransmitTimeouts } from '../../../../src/ike/timing.js';
import { tunnelConfig } from '../harness/config.js';
import { encrypted, exchangeOf, ofExchange, withCommit } from './harness/messages.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectSameIkeKeys, settle } from '../harness/pair.js';

const informationals = (pair: Pair, from: 'cgw' | 'aws') => ofExchange(pair[from].transport.sent, ExchangeType.INFORMATIONAL);

describe('dead peer detection (RFC 3706)', () => {
  it('an idle tunnel probes about once per interval and stays up; each probe is answered', () => {
    const pair = new Pair('ikev1', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    const before = { cgw: informationals(pair, 'cgw').length, aws: informationals(pair, 'aws').length };
    pair.run(100_000);
    const sent = { cgw: informationals(pair, 'cgw').length - before.cgw, aws: informationals(pair, 'aws').length - before.aws };
    // Each side probes on its own schedule, at most once per interval, and answers the other's
    // probes: per side at most ~10 R-U-THERE and ~10 R-U-THERE-ACK in 100 s.
    expect(sent.cgw + sent.aws).toBeGreaterThanOrEqual(8);
    expect(sent.cgw).toBeLessThanOrEqual(22);
    expect(sent.aws).toBeLessThanOrEqual(22);
    expect((sent.cgw + sent.aws) % 2).toBe(0);
    expect(pair.cgw.connection.state).toBe('established');
    expect(pair.cgw.count('ike-down') + pair.aws.count('ike-down')).toBe(0);
    expectMirrored(pair);
  });

  it('traffic (noteInboundActivity) suppresses probes: DPD is idle-triggered', () => {
    const pair = new Pair('ikev1', { timing: { dpdIntervalSeconds: 10 } }).establish();
    const before = informationals(pair, 'cgw').length;
    for (let i = 0; i < 100; i++) {
      pair.cgw.connection.noteInboundActivity();
      pair.aws.connection.noteInboundActivity();
      pair.run(1_000);
    }
    expect(informationals(pair, 'cgw').length - before).toBe(0);
  });

  it('a dead peer is declared dead interval × retries after its last message, then re-initiation with backoff for ever', () => {
    const pair = new Pair('ikev1', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    pair.run(5_000);
    pair.net.setDown(AWS_IP, true);
    const lastHeard = Math.max(...pair.net.delivered.filter((w) => w.from.address === AWS_IP).map((w) => w.sentAt));
    pair.run(60_000);
    const down = pair.cgw.last('ike-down');
    expect(down?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE', established: true });
    const after = (down?.at ?? Infinity) - lastHeard;
    expect(after).toBeGreaterThanOrEqual(30_000 - 100);
    expect(after).toBeLessThanOrEqual(30_000 + 100);
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.cgw.count('child-down')).toBe(1);
    // Main Mode retransmitted, then again after a capped, jittered exponential backoff, for ever.
    pair.run(1_800_000);
    const status = pair.cgw.connection.status();
    expect(status.counters.reconnects).toBeGreaterThanOrEqual(10);
    expect(['backoff', 'connecting']).toContain(status.state);
    pair.net.setDown(AWS_IP, false);
    pair.run(180_000);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
  });

  it('each tunnel recovers on its own: the other connection is untouched', () => {
    const a = new Pair('ikev1', { seed: 3 }).establish();
    const b = new Pair('ikev1', { seed: 4 }).establish();
    a.net.setDown(AWS_IP, true);
    a.run(60_000);
    b.run(60_000);
    expect(a.cgw.connection.state).not.toBe('established');
    expect(b.cgw.connection.state).toBe('established');
    expect(b.cgw.count('ike-down')).toBe(0);
  });

  it('a restarted peer (state lost) is noticed by DPD and the tunnel comes back with INITIAL-CONTACT', () => {
    const pair = new Pair('ikev1', { timing: { dpdIntervalSeconds: 10, dpdRetries: 3 } }).establish();
    pair.run(5_000);
    pair.aws.restart();
    pair.run(120_000);
    expect(pair.cgw.last('ike-down')?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE' });
    expect(pair.aws.connection.status().counters.drops['unknown-spi']).toBeGreaterThan(0);
    settle(pair);
    expectMirrored(pair);
    expectSameIkeKeys(pair);
  });

  it('INITIAL-CONTACT from a restarted customer gateway makes the responder drop the old SAs at once', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(5_000);
    const oldAws = pair.aws.sink.only();
    pair.cgw.restart();
    pair.run(5_000);
    settle(pair);
    const fresh = expectMirrored(pair);
    expect(fresh.aws.id).not.toBe(oldAws.id);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
    expect(pair.aws.sink.events.find((e) => e.kind === 'remove' && e.id === oldAws.id)).toMatchObject({ reason: expect.stringContaining('INITIAL-CONTACT') });
  });
});

describe('authentication', () => {
  it('a wrong PSK fails clearly (IKE_AUTHENTICATION_FAILED), is retried with backoff, and never installs anything', () => {
    const pair = new Pair('ikev1', { aws: { tunnel: tunnelConfig('ikev1', { psk: 'a.different_psk_value' }) } });
    pair.start().run(120_000);
    const downs = pair.cgw.events.filter((e) => e.name === 'ike-down');
    expect(downs.length).toBeGreaterThanOrEqual(3);
    for (const d of downs) expect(d.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED', established: false });
    expect(pair.cgw.connection.status().lastError?.reason).toMatch(/pre-shared key/);
    expect(pair.aws.connection.status().lastError?.code).toBe('IKE_AUTHENTICATION_FAILED');
    expect(pair.cgw.sink.history).toHaveLength(0);
    expect(pair.aws.sink.history).toHaveLength(0);
    // Backoff: attempts spread out (not one per retransmission timeout).
    const gaps = downs.slice(1).map((d, i) => d.at - (downs[i]?.at ?? 0));
    expect(Math.max(...gaps)).toBeGreaterThan(Math.min(...gaps));
    // Nothing leaks the PSK.
    expect(JSON.stringify(pair.cgw.connection.status())).not.toContain('psk_value');
  });

  it('a peer presenting another identity is refused', () => {
    const pair = new Pair('ikev1', { cgw: { remoteId: '192.0.2.99' } });
    pair.start().run(10_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
    expect(pair.cgw.connection.status().lastError?.reason).toMatch(/203\.0\.113\.20 is not 192\.0\.2\.99/);
  });

  it('mismatched proposals fail with IKE_NO_PROPOSAL_CHOSEN in phase 1', () => {
    const pair = new Pair('ikev1', { aws: { tunnel: tunnelConfig('ikev1', { ikeIntegrity: ['hmac-sha512-256'] }) } });
    pair.start().run(5_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_NO_PROPOSAL_CHOSEN' });
  });

  it('mismatched ESP proposals fail the quick mode only, and are retried', () => {
    const pair = new Pair('ikev1', { aws: { tunnel: tunnelConfig('ikev1', { espEncryption: ['aes256-gcm16'] }) } });
    pair.start().run(30_000);
    expect(pair.cgw.connection.state).toBe('established');
    expect(pair.cgw.sink.history).toHaveLength(0);
    expect(pair.cgw.connection.status().lastError?.code).toBe('IKE_NO_PROPOSAL_CHOSEN');
    expect(ofExchange(pair.cgw.transport.sent, ExchangeType.QUICK_MODE).length).toBeGreaterThanOrEqual(2);
  });
});

describe('an unreliable network', () => {
  it('converges despite 20 % loss, 10 % duplication and reordering, and keeps converging through rekeys', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const pair = new Pair('ikev1', { seed, network: { dropRate: 0.2, duplicateRate: 0.1, jitterMs: 40 } });
      pair.start().run(60_000);
      settle(pair, 300_000);
      expectMirrored(pair);
      expectSameIkeKeys(pair);
      pair.run(30_000);
      pair.cgw.connection.rekeyChild();
      pair.run(120_000);
      settle(pair, 300_000);
      expectMirrored(pair);
      expect(pair.cgw.connection.status().counters.drops['internal-error']).toBeUndefined();
      expect(pair.aws.connection.status().counters.drops['internal-error']).toBeUndefined();
    }
  });

  it('a lost MM2 is recovered by the initiator retransmitting MM1 and the responder resending its cached MM2', () => {
    const pair = new Pair('ikev1');
    let dropped = 0;
    pair.net.dropIf = (w) => w.from.address === AWS_IP && exchangeOf(w) === ExchangeType.IDENTITY_PROTECTION && dropped++ === 0;
    pair.establish(10_000);
    expect(pair.cgw.connection.status().counters.retransmittedRequests).toBe(1);
    expect(pair.aws.connection.status().counters.cachedResponsesResent).toBe(1);
    // The responder never retransmits Main Mode on its own (no amplification towards a spoofed MM1).
    expect(ofExchange(pair.aws.transport.sent, ExchangeType.IDENTITY_PROTECTION)).toHaveLength(4);
  });

  it('a lost QM3 is recovered: the responder repeats QM2 and the initiator answers with its cached QM3', () => {
    const pair = new Pair('ikev1');
    let dropped = false;
    pair.net.dropIf = (w) => {
      const qm3 = w.from.address === CGW_IP && exchangeOf(w) === ExchangeType.QUICK_MODE && w.data.length < 100;
      if (qm3 && !dropped) {
        dropped = true;
        return true;
      }
      return false;
    };
    pair.start().run(5_000);
    expectMirrored(pair);
    expect(pair.aws.connection.status().counters.retransmittedRequests).toBeGreaterThanOrEqual(1);
    expect(pair.cgw.connection.status().counters.cachedResponsesResent).toBeGreaterThanOrEqual(1);
  });

  it('a lost MM6 is recovered: the retransmitted MM5 gets the cached MM6 even though the responder is established', () => {
    const pair = new Pair('ikev1');
    let dropped = false;
    pair.net.dropIf = (w) => {
      const mm6 = w.from.address === AWS_IP && exchangeOf(w) === ExchangeType.IDENTITY_PROTECTION && encrypted(w);
      if (mm6 && !dropped) {
        dropped = true;
        return true;
      }
      return false;
    };
    pair.establish(10_000);
    expectMirrored(pair);
    expect(pair.aws.connection.status().counters.cachedResponsesResent).toBe(1);
  });

  it('an unanswered quick mode declares the peer unreachable after the retransmission schedule', () => {
    const pair = new Pair('ikev1');
    pair.net.dropIf = (w) => w.from.address === AWS_IP && exchangeOf(w) === ExchangeType.QUICK_MODE;
    pair.start();
    const schedule = retransmitTimeouts(resolveTiming(tunnelConfig('ikev1')));
    pair.run(schedule.reduce((a, b) => a + b, 0) + 2_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_UNREACHABLE', established: true });
  });
});

describe('the Commit bit (RFC 2408 §3.1, §4.8)', () => {
  it('a responder that sets it in QM2: the initiator waits for CONNECTED, and installs anyway when none comes', () => {
    const pair = new Pair('ikev1');
    pair.net.mutate = (w) => (w.from.address === AWS_IP && exchangeOf(w) === ExchangeType.QUICK_MODE ? withCommit(w) : w);
    pair.start().run(2_000);
    expect(pair.aws.sink.installed.size).toBe(1);
    expect(pair.cgw.sink.installed.size).toBe(0);
    pair.run(COMMIT_WAIT_MS);
    expectMirrored(pair);
  });

  it('an initiator that sets it in QM1 gets N(CONNECTED); with Commit in QM2 it installs on that notify', () => {
    const pair = new Pair('ikev1');
    pair.net.mutate = (w) => (exchangeOf(w) === ExchangeType.QUICK_MODE ? withCommit(w) : w);
    pair.start().run(2_000);
    expectMirrored(pair);
    const connected = ofExchange(pair.aws.transport.sent, ExchangeType.INFORMATIONAL);
    expect(connected.length).toBe(1);
    void NotifyType.CONNECTED;
  });
});

describe('half-open SAs and stop()', () => {
  it('a responder Main Mode that never completes is dropped after the half-open timeout', () => {
    const pair = new Pair('ikev1');
    pair.net.dropIf = (w) => w.from.address === CGW_IP && exchangeOf(w) === ExchangeType.IDENTITY_PROTECTION && encrypted(w);
    pair.start().run(2_000);
    const halfOpen = pair.aws.connection.status().ikeSas;
    expect(halfOpen).toHaveLength(1);
    expect(halfOpen[0]?.state).toBe('connecting');
    pair.run(resolveTiming(tunnelConfig('ikev1')).halfOpenTimeoutMs);
    expect(pair.aws.connection.status().ikeSas.find((s) => s.spiI === halfOpen[0]?.spiI)).toBeUndefined();
    expect(pair.aws.connection.status().lastError?.code).toBe('IKE_HALF_OPEN_TIMEOUT');
  });

  it('stop() deletes the IPsec SA and then the ISAKMP SA at the peer, removes everything and stays down', async () => {
    const pair = new Pair('ikev1').establish();
    const stopped = pair.cgw.connection.stop();
    pair.run(1_000);
    await stopped;
    expect(pair.cgw.connection.state).toBe('stopped');
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.aws.sink.installed.size).toBe(0);
    expect(pair.aws.last('child-down')?.data).toMatchObject({ reason: 'deleted by the peer' });
    expect(pair.aws.last('ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
    const sent = informationals(pair, 'cgw');
    expect(sent.length).toBe(2);
    expect((sent[1]?.sentAt ?? 0) - (sent[0]?.sentAt ?? 0)).toBeGreaterThanOrEqual(200);
    pair.run(600_000);
    expect(pair.cgw.transport.sent.at(-1)).toBe(sent.at(-1));
  });
});
