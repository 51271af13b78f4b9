/**
 * Hostile inputs (the lessons of other IKE daemons' CVEs, e.g. CVE-2014-2338), each against
 * a half-open or established SA. For every input: no exception escapes handleDatagram, nothing
 * stalls the SA, and the outcome is the RFC's answer or a counted drop — never an answer an
 * unauthenticated sender could use to amplify.
 */
import { describe, expect, it } from 'vitest';
import { DhKeyPair } from '../../../../src/crypto/dh.js';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../../src/ike/v2/wire/constants.js';
import { decodeMessage } from '../../../../src/ike/v2/wire/message.js';
import type { NotifyPayload, Payload } from '../../../../src/ike/v2/wire/payloads.js';
import { proposalPolicyFor } from '../../../../src/ike/proposals/policy.js';
import { buildChildProposals, buildIkeProposals } from '../../../../src/ike/v2/proposals/proposals.js';
import { allTrafficPayloads } from '../../../../src/ike/v2/sa/traffic-selectors.js';
import { tunnelConfig } from '../harness/config.js';
import { forgerFor, inject, raw, rawMessage, sealRaw } from './harness/craft.js';
import type { Wire } from '../harness/network.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectWindowsInSync, settle } from '../harness/pair.js';
import { SeededRandom } from '../harness/seeded-random.js';

const policy = proposalPolicyFor(tunnelConfig('ikev2'));
const ATTACKER_SPI = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');

function established(): Pair<'ikev2'> {
  const pair = new Pair('ikev2', { timing: { dpdIntervalSeconds: 100_000 } }).establish();
  pair.net.setManual(true);
  return pair;
}

/** Removes and returns what `address` sent since the last call (manual network). */
function drain(pair: Pair<'ikev2'>, address: string): Wire[] {
  const out = pair.net.queue.filter((d) => d.from.address === address);
  pair.net.queue.splice(0, pair.net.queue.length, ...pair.net.queue.filter((d) => d.from.address !== address));
  return out;
}

function drops(pair: Pair<'ikev2'>, who: 'cgw' | 'aws'): Record<string, number | undefined> {
  return pair[who].connection.status().counters.drops;
}

function notifiesIn(payloads: readonly Payload[]): number[] {
  return payloads.filter((p): p is NotifyPayload => p.kind === 'N').map((n) => n.notifyType);
}

function plainNotifies(datagram: Buffer): number[] {
  return notifiesIn(decodeMessage(datagram).payloads);
}

/** A well-formed IKE_SA_INIT request's payloads, from an attacker's point of view. */
function initPayloads(overrides: { ke?: Payload; nonce?: Buffer } = {}): Payload[] {
  return [
    { kind: 'SA', proposals: buildIkeProposals(policy.ike, Buffer.alloc(0)) },
    overrides.ke ?? { kind: 'KE', group: 19, data: DhKeyPair.generate(19).publicValue },
    { kind: 'Nonce', nonce: overrides.nonce ?? Buffer.alloc(32, 0x42) },
  ];
}

/** The SA keeps working: a rekey of its CHILD SA goes through and windows stay in step. */
function expectStillWorks(pair: Pair<'ikev2'>): void {
  pair.net.setManual(false);
  pair.cgw.connection.rekeyChild();
  pair.run(30_000);
  settle(pair);
  expectMirrored(pair);
  expectWindowsInSync(pair);
  for (const who of ['cgw', 'aws'] as const) expect(drops(pair, who)['internal-error'] ?? 0).toBe(0);
}

describe('IKE header', () => {
  it.each([0, 1, 20, 27])('a %i-byte datagram is a counted drop with no answer', (length) => {
    const pair = established();
    inject(pair, 'aws', Buffer.alloc(length, 0x11), 500);
    expect(drops(pair, 'aws').truncated).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    expectStillWorks(pair);
  });

  it.each([
    ['0', 0],
    ['< 28', 20],
    ['> the datagram', 4000],
  ])('Length field %s: dropped', (_name, length) => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI, lengthOverride: length }, initPayloads().map((p) => raw(p))), 500);
    expect(drops(pair, 'aws').truncated).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it('payload length < 4: dropped', () => {
    const pair = established();
    const payloads = initPayloads().map((p) => raw(p));
    payloads[1] = { ...(payloads[1] as ReturnType<typeof raw>), lengthOverride: 3 };
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, payloads), 500);
    expect(drops(pair, 'aws').malformed).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it('IKEv1 (major version 1): dropped, left to the IKEv1 side; no answer', () => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI, version: 0x10, exchange: 2, flags: 0 }, [{ type: 1, body: Buffer.alloc(40) }]), 500);
    expect(drops(pair, 'aws')['invalid-major-version']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it('major version 3: INVALID_MAJOR_VERSION, answered statelessly (RFC 7296 §2.5)', () => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI, version: 0x30 }, initPayloads().map((p) => raw(p))), 500);
    const [answer] = drain(pair, AWS_IP);
    expect(answer && plainNotifies(answer.data)).toEqual([NotifyType.INVALID_MAJOR_VERSION]);
    expect(answer?.data.length).toBeLessThanOrEqual(40);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
  });
});

describe('payloads', () => {
  it('unknown critical payload in IKE_SA_INIT: UNSUPPORTED_CRITICAL_PAYLOAD, no state kept', () => {
    const pair = established();
    const payloads = [...initPayloads().map((p) => raw(p)), { type: 200, body: Buffer.alloc(4), critical: true }];
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, payloads), 500);
    const [answer] = drain(pair, AWS_IP);
    expect(answer && plainNotifies(answer.data)).toEqual([NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD]);
    const notify = answer && (decodeMessage(answer.data).payloads[0] as NotifyPayload);
    expect(notify?.data).toEqual(Buffer.from([200]));
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
  });

  it('unknown critical payload inside SK: the encrypted answer says so and the window moves on', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const id = forger.receiverExpects;
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, id, [{ kind: 'unknown', type: 201, critical: true, body: Buffer.alloc(2) }]));
    const [answer] = drain(pair, AWS_IP);
    expect(answer).toBeDefined();
    const payloads = forger.open(answer?.data as Buffer);
    expect(payloads).toEqual([{ kind: 'N', protocolId: 0, spi: Buffer.alloc(0), notifyType: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data: Buffer.from([201]) }]);
    expect(forger.receiverExpects).toBe(id + 1);
  });

  it('unknown non-critical payloads are skipped (RFC 7296 §2.5)', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, [{ kind: 'unknown', type: 202, critical: false, body: Buffer.alloc(8) }]));
    const [answer] = drain(pair, AWS_IP);
    expect(forger.open(answer?.data as Buffer)).toEqual([]);
  });

  it('IKEv1 payload types in an IKEv2 message are unknown payloads: an IKE_SA_INIT of them lacks SA/KE/Nonce and is dropped', () => {
    const pair = established();
    const v1 = [1, 4, 10, 5].map((type) => ({ type, body: Buffer.alloc(12, 1) }));
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, v1), 500);
    expect(drops(pair, 'aws')['payload-rule']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it.each([
    ['without a Nonce', initPayloads().filter((p) => p.kind !== 'Nonce')],
    ['with two KE payloads', [...initPayloads(), { kind: 'KE', group: 19, data: DhKeyPair.generate(19).publicValue } as Payload]],
  ])('IKE_SA_INIT %s: dropped without an answer', (_name, payloads) => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, payloads.map((p) => raw(p))), 500);
    expect(drops(pair, 'aws')['payload-rule']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it.each([
    ['without a Nonce', (sa: Payload) => [sa, ...allTrafficPayloads()]],
    ['with two SA payloads', (sa: Payload) => [sa, sa, { kind: 'Nonce', nonce: Buffer.alloc(32, 1) } as Payload, ...allTrafficPayloads()]],
  ])('CREATE_CHILD_SA %s: INVALID_SYNTAX inside SK, SA unaffected', (_name, build) => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const sa: Payload = { kind: 'SA', proposals: buildChildProposals(policy.child, Buffer.from([0, 0, 9, 9]), 19) };
    inject(pair, 'aws', forger.seal(ExchangeType.CREATE_CHILD_SA, forger.receiverExpects, build(sa)));
    const [answer] = drain(pair, AWS_IP);
    expect(notifiesIn(forger.open(answer?.data as Buffer))).toEqual([NotifyType.INVALID_SYNTAX]);
    expect(pair.aws.sink.installed.size).toBe(1);
    expectStillWorks(pair);
  });
});

describe('KE payloads', () => {
  it('unknown group 1025 (CVE-2014-9221): INVALID_KE_PAYLOAD naming our group, no state', () => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, initPayloads({ ke: { kind: 'KE', group: 1025, data: Buffer.alloc(64, 3) } }).map((p) => raw(p))), 500);
    const [answer] = drain(pair, AWS_IP);
    const notify = answer && (decodeMessage(answer.data).payloads[0] as NotifyPayload);
    expect(notify?.notifyType).toBe(NotifyType.INVALID_KE_PAYLOAD);
    expect(notify?.data.readUInt16BE(0)).toBe(19);
    expect(decodeMessage(answer?.data as Buffer).header.spiR).toEqual(Buffer.alloc(8));
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
  });

  it.each([
    ['too short (CVE-2023-41913 shape)', Buffer.alloc(63, 3)],
    ['too long', Buffer.alloc(1024, 3)],
    ['all zero (CVE-2015-3240)', Buffer.alloc(64)],
    ['not on the curve', Buffer.alloc(64, 1)],
  ])('right group, value %s: refused (NO_PROPOSAL_CHOSEN), no state', (_name, data) => {
    const pair = established();
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, initPayloads({ ke: { kind: 'KE', group: 19, data } }).map((p) => raw(p))), 500);
    const [answer] = drain(pair, AWS_IP);
    expect(answer && plainNotifies(answer.data)).toEqual([NotifyType.NO_PROPOSAL_CHOSEN]);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(1);
  });

  it.each([
    ['of another group', { kind: 'KE', group: 14, data: DhKeyPair.generate(14).publicValue } as Payload, NotifyType.INVALID_KE_PAYLOAD],
    ['all zero', { kind: 'KE', group: 19, data: Buffer.alloc(64) } as Payload, NotifyType.NO_PROPOSAL_CHOSEN],
  ])('CREATE_CHILD_SA rekey with a KE %s: refused inside SK, the CHILD SA unchanged', (_name, ke, expected) => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const child = pair.cgw.sink.only();
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(child.spiIn);
    const request: Payload[] = [
      { kind: 'N', protocolId: ProtocolId.ESP, spi, notifyType: NotifyType.REKEY_SA, data: Buffer.alloc(0) },
      { kind: 'SA', proposals: buildChildProposals(policy.child, Buffer.from([0, 0, 9, 9]), 19) },
      { kind: 'Nonce', nonce: Buffer.alloc(32, 5) },
      ke,
      ...allTrafficPayloads(),
    ];
    inject(pair, 'aws', forger.seal(ExchangeType.CREATE_CHILD_SA, forger.receiverExpects, request));
    const [answer] = drain(pair, AWS_IP);
    expect(notifiesIn(forger.open(answer?.data as Buffer))).toEqual([expected]);
    expect(pair.aws.sink.only().spiOut).toBe(child.spiIn);
    expectStillWorks(pair);
  });
});

describe('Nonce payloads', () => {
  it.each([15, 257])('a %i-byte nonce in IKE_SA_INIT: dropped', (length) => {
    const pair = established();
    const payloads = initPayloads().map((p) => raw(p));
    payloads[2] = { type: PayloadType.NONCE, body: Buffer.alloc(length, 9) };
    inject(pair, 'aws', rawMessage({ spiI: ATTACKER_SPI }, payloads), 500);
    expect(drops(pair, 'aws').malformed).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });

  it.each([8, 300])('a %i-byte nonce inside SK: INVALID_SYNTAX', (length) => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const payloads = [
      raw({ kind: 'SA', proposals: buildChildProposals(policy.child, Buffer.from([0, 0, 9, 9]), 19) }),
      { type: PayloadType.NONCE, body: Buffer.alloc(length, 9) },
      ...allTrafficPayloads().map((p) => raw(p)),
    ];
    inject(pair, 'aws', sealRaw(pair, 'cgw', ExchangeType.CREATE_CHILD_SA, forger.receiverExpects, payloads));
    const [answer] = drain(pair, AWS_IP);
    expect(notifiesIn(forger.open(answer?.data as Buffer))).toEqual([NotifyType.INVALID_SYNTAX]);
    expectStillWorks(pair);
  });
});

describe('state machine', () => {
  it('CREATE_CHILD_SA or INFORMATIONAL before IKE_AUTH completed is refused (CVE-2014-2338)', () => {
    const pair = new Pair('ikev2');
    pair.net.setManual(true);
    pair.start();
    pair.net.deliverFrom(CGW_IP); //    IKE_SA_INIT request
    pair.net.deliverFrom(AWS_IP); //    IKE_SA_INIT response: cgw has keys, queues IKE_AUTH
    const auth = pair.net.take(CGW_IP);
    const forger = forgerFor(pair, 'cgw');
    expect(forger.receiverExpects).toBe(1);
    const rekey = forger.seal(ExchangeType.CREATE_CHILD_SA, 1, [
      { kind: 'SA', proposals: buildIkeProposals(policy.ike, Buffer.alloc(8, 1)) },
      { kind: 'Nonce', nonce: Buffer.alloc(32, 1) },
      { kind: 'KE', group: 19, data: DhKeyPair.generate(19).publicValue },
    ]);
    inject(pair, 'aws', rekey);
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, 1, []));
    expect(drops(pair, 'aws')['exchange-not-allowed']).toBe(2);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    expect(pair.aws.connection.status().ikeSas[0]?.state).toBe('connecting');
    // The same towards the initiator: a request from the responder before IKE_AUTH is answered.
    inject(pair, 'cgw', forgerFor(pair, 'aws').seal(ExchangeType.INFORMATIONAL, 0, []));
    expect(drops(pair, 'cgw')['exchange-not-allowed']).toBe(1);
    pair.net.deliver(auth);
    pair.net.deliverAll();
    expectMirrored(pair);
  });

  it('a second IKE_AUTH on an established SA is refused', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    inject(pair, 'aws', forger.seal(ExchangeType.IKE_AUTH, forger.receiverExpects, [{ kind: 'IDi', idType: 1, data: Buffer.from([1, 2, 3, 4]) }]));
    expect(drops(pair, 'aws')['exchange-not-allowed']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    expectStillWorks(pair);
  });

  it('Delete, then more notifies and Deletes for the deleted SA (GHSA-65xr-g9j5-jv8g)', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const child = pair.cgw.sink.only();
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(child.spiIn);
    const aboutIt: Payload = { kind: 'N', protocolId: ProtocolId.ESP, spi, notifyType: NotifyType.INVALID_SPI, data: Buffer.alloc(0) };
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, [{ kind: 'D', protocolId: ProtocolId.ESP, spis: [spi] }, aboutIt, aboutIt]));
    const [first] = drain(pair, AWS_IP);
    expect(forger.open(first?.data as Buffer).map((p) => p.kind)).toEqual(['D']);
    expect(pair.aws.sink.installed.size).toBe(0);
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, [aboutIt, { kind: 'D', protocolId: ProtocolId.ESP, spis: [spi, spi] }]));
    const [second] = drain(pair, AWS_IP);
    expect(forger.open(second?.data as Buffer)).toEqual([]); // nothing left to delete: no D
    expect(drops(pair, 'aws')['internal-error'] ?? 0).toBe(0);
    // Delete of the IKE SA followed by more payloads: the SA goes, nothing else is looked at.
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }, aboutIt, { kind: 'D', protocolId: ProtocolId.ESP, spis: [spi] }]));
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
    expect(drops(pair, 'aws')['internal-error'] ?? 0).toBe(0);
  });

  it('a retransmitted request gets the cached response, byte for byte; a different one with that ID gets nothing', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const id = forger.receiverExpects;
    const request = forger.seal(ExchangeType.INFORMATIONAL, id, []);
    inject(pair, 'aws', request);
    inject(pair, 'aws', request);
    const answers = drain(pair, AWS_IP);
    expect(answers).toHaveLength(2);
    expect(answers[1]?.data.equals(answers[0]?.data as Buffer)).toBe(true);
    expect(pair.aws.connection.status().counters.cachedResponsesResent).toBe(1);
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, id, [{ kind: 'N', protocolId: 0, spi: Buffer.alloc(0), notifyType: NotifyType.INITIAL_CONTACT, data: Buffer.alloc(0) }]));
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    expect(drops(pair, 'aws')['stale-retransmission']).toBe(1);
    expect(forger.receiverExpects).toBe(id + 1);
  });

  it('Message IDs outside the window are dropped and counted', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const id = forger.receiverExpects;
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, id + 1, []));
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, id + 1000, []));
    if (id >= 2) inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, id - 2, []));
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, 0xffffffff, []));
    expect(drops(pair, 'aws')['message-id-out-of-window']).toBe(id >= 2 ? 4 : 3);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    // A response nobody asked for.
    inject(pair, 'aws', forger.seal(ExchangeType.INFORMATIONAL, 7, [], { response: true }));
    expect(drops(pair, 'aws')['unexpected-response']).toBe(1);
    expect(forger.receiverExpects).toBe(id);
    expectStillWorks(pair);
  });

  it('a bad ICV is dropped and counted; the SA is unaffected', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const message = forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, []);
    message[message.length - 1] = (message[message.length - 1] ?? 0) ^ 0xff;
    inject(pair, 'aws', message);
    expect(drops(pair, 'aws')['bad-icv']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
    expectStillWorks(pair);
  });

  it('an unknown SPI is dropped without an answer', () => {
    const pair = established();
    const forger = forgerFor(pair, 'cgw');
    const message = forger.seal(ExchangeType.INFORMATIONAL, forger.receiverExpects, []);
    message[12] = (message[12] ?? 0) ^ 0x01; // responder SPI
    inject(pair, 'aws', message);
    expect(drops(pair, 'aws')['unknown-spi']).toBe(1);
    expect(drain(pair, AWS_IP)).toHaveLength(0);
  });
});

describe('mutation fuzzing', () => {
  it('thousands of mutated real datagrams: nothing escapes, nothing breaks the established tunnel', () => {
    const source = new Pair('ikev2').establish();
    source.cgw.connection.rekeyChild();
    source.cgw.connection.rekeyIke();
    source.run(20_000);
    const corpus = [...source.cgw.transport.sent, ...source.aws.transport.sent].map((d) => d.data);
    const pair = established();
    const dice = new SeededRandom(4242);
    for (let i = 0; i < 3000; i++) {
      const base = Buffer.from(corpus[dice.below(corpus.length)] as Buffer);
      let mutated: Buffer = base;
      switch (dice.below(4)) {
        case 0:
          for (let n = 1 + dice.below(4); n > 0; n--) mutated[dice.below(mutated.length)] = dice.below(256);
          break;
        case 1:
          mutated = base.subarray(0, dice.below(base.length));
          break;
        case 2:
          mutated = Buffer.concat([base, dice.bytes(1 + dice.below(64))]);
          break;
        default:
          mutated.writeUInt32BE(dice.below(2 ** 32), 4 * dice.below(Math.floor(mutated.length / 4)));
      }
      for (const who of ['cgw', 'aws'] as const) {
        expect(() => inject(pair, who, mutated, dice.below(2) === 0 ? 500 : 4500)).not.toThrow();
      }
    }
    pair.net.queue.splice(0); // unauthenticated answers (INVALID_KE, COOKIE, …) go nowhere
    for (const who of ['cgw', 'aws'] as const) expect(drops(pair, who)['internal-error'] ?? 0).toBe(0);
    expectStillWorks(pair);
  });
});

it('PSK, keys and nonces never appear in log lines', () => {
  const lines: string[] = [];
  const original = console.log;
  process.env.CGWD_TEST_LOG = 'debug';
  console.log = (line: string) => lines.push(String(line));
  try {
    const pair = new Pair('ikev2').establish();
    pair.cgw.connection.rekeyChild();
    pair.aws.connection.rekeyIke();
    pair.run(30_000);
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(1000);
    const secrets: string[] = [pair.cgw.connection.ctx.psk.reveal()];
    for (const entry of [...pair.cgw.keylog, ...pair.aws.keylog]) {
      if (entry.kind === 'ike') secrets.push(...Object.values(entry.keys).map((k: Buffer) => k.toString('hex')));
      else secrets.push(entry.install.encKeyIn.toString('hex'), entry.install.encKeyOut.toString('hex'));
    }
    for (const secret of secrets) {
      expect(text.includes(secret), 'secret in logs').toBe(false);
      expect(text.includes(secret.slice(0, 16)), 'secret prefix in logs').toBe(false);
    }
    expect(JSON.stringify(pair.cgw.connection.status())).not.toContain(pair.cgw.connection.ctx.psk.reveal());
  } finally {
    console.log = original;
    delete process.env.CGWD_TEST_LOG;
  }
});
