/**
 * Bringing a tunnel up: our initiator against our responder for every suite AWS accepts, the
 * IKE_SA_INIT detours (COOKIE, INVALID_KE_PAYLOAD), refusals (NO_PROPOSAL_CHOSEN, wrong PSK,
 * wrong identity, CHILD SA refused) and what the connection does after them (reconnect with
 * backoff), NAT detection and the float to 4500, and AWS initiating (StartupAction=start).
 */
import { describe, expect, it } from 'vitest';
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../../src/crypto/transforms.js';
import { AuthMethod, ExchangeType, IdType, NotifyType } from '../../../../src/ike/v2/wire/constants.js';
import { decodeMessage } from '../../../../src/ike/v2/wire/message.js';
import type { IdPayload, NoncePayload, Payload } from '../../../../src/ike/v2/wire/payloads.js';
import type { Proposal } from '../../../../src/ike/v2/wire/sa.js';
import type { TrafficSelector } from '../../../../src/ike/v2/wire/traffic-selectors.js';
import { idPayloadBody, pskAuthData } from '../../../../src/ike/v2/crypto/auth.js';
import type { KeylogEntry } from '../../../../src/ike/index.js';
import { proposalPolicyFor } from '../../../../src/ike/proposals/policy.js';
import { buildChildProposals } from '../../../../src/ike/v2/proposals/proposals.js';
import { ALL_IPV4 } from '../../../../src/ike/v2/sa/traffic-selectors.js';
import { PSK, tunnelConfig, type TunnelOverrides } from '../harness/config.js';
import { forgerFor, inject } from './harness/craft.js';
import { sentBy } from './harness/messages.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored, expectSameIkeKeys } from '../harness/pair.js';

function bothWith(overrides: TunnelOverrides): Pair<'ikev2'> {
  return new Pair('ikev2', { tunnel: tunnelConfig('ikev2', overrides) });
}

function ikeSuiteOf(pair: Pair<'ikev2'>): string | undefined {
  return pair.cgw.connection.status().ikeSas.find((s) => s.current)?.suite;
}

describe('every IKE suite AWS accepts', () => {
  const cbc: [EncryptionName, IntegrityName][] = (['aes128-cbc', 'aes256-cbc'] as const).flatMap((e) =>
    (['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256'] as const).map((i): [EncryptionName, IntegrityName] => [e, i]),
  );
  it.each(cbc)('%s with %s', (encryption, integrity) => {
    const pair = bothWith({ ikeEncryption: [encryption], ikeIntegrity: [integrity] }).establish();
    expectSameIkeKeys(pair);
    expectMirrored(pair);
    expect(ikeSuiteOf(pair)).toBe(`${encryption}/${integrity}/${integrity.replace(/^hmac-(sha\d+)-\d+$/, 'prf-hmac-$1')}/dh19`);
  });

  it.each([
    ['aes128-gcm16', 'hmac-sha256-128'],
    ['aes256-gcm16', 'hmac-sha512-256'],
    ['aes256-gcm16', 'hmac-sha1-96'],
  ] as const)('%s with the PRF of %s', (encryption, integrity) => {
    const pair = bothWith({ ikeEncryption: [encryption], ikeIntegrity: [integrity] }).establish();
    expectSameIkeKeys(pair);
    expectMirrored(pair);
    expect(ikeSuiteOf(pair)).toMatch(new RegExp(`^${encryption}/prf-hmac-`));
  });
});

describe('every DH group', () => {
  it.each([2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as const)('IKE SA with group %i', (group) => {
    const pair = bothWith({ ikeDhGroups: [group] }).establish();
    expectSameIkeKeys(pair);
    expect(ikeSuiteOf(pair)).toMatch(new RegExp(`/dh${group}$`));
  });

  it.each([5, 14, 19] as const)('ESP PFS group %i at the first CHILD rekey', (group: DhGroupNumber) => {
    const pair = bothWith({ pfsGroups: [group] }).establish();
    pair.cgw.connection.rekeyChild();
    pair.run(15_000);
    const { cgw } = expectMirrored(pair);
    expect(cgw.pfsGroup).toBe(group);
  });
});

describe('every ESP suite', () => {
  const suites: [EncryptionName, IntegrityName | undefined][] = [
    ...(['aes128-cbc', 'aes256-cbc'] as const).flatMap((e) =>
      (['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256'] as const).map((i): [EncryptionName, IntegrityName] => [e, i]),
    ),
    ['aes128-gcm16', undefined],
    ['aes256-gcm16', undefined],
  ];
  it.each(suites)('%s %s', (encryption, integrity) => {
    const pair = bothWith({ espEncryption: [encryption], espIntegrity: integrity ? [integrity] : ['hmac-sha256-128'] }).establish();
    const { cgw } = expectMirrored(pair);
    expect(cgw.encryption).toBe(encryption);
    expect(cgw.integrity).toBe(integrity);
    // Key material: AES key, plus the 4-byte salt for GCM (RFC 4106 §8.1).
    const keyBytes = (encryption.startsWith('aes128') ? 16 : 32) + (encryption.endsWith('gcm16') ? 4 : 0);
    expect(cgw.encKeyIn).toHaveLength(keyBytes);
  });
});

it("both sides on the XML's minimum negotiate AWS's strongest suite", () => {
  const xml = { 'ike.encryption': 'xml', 'ike.integrity': 'xml', 'ike.dhGroups': 'xml', 'ipsec.encryption': 'xml', 'ipsec.integrity': 'xml', 'ipsec.pfsGroups': 'xml' } as const;
  const pair = bothWith({ ikeEncryption: ['aes128-cbc'], ikeIntegrity: ['hmac-sha1-96'], ikeDhGroups: [2], espEncryption: ['aes128-cbc'], espIntegrity: ['hmac-sha1-96'], pfsGroups: [2], origins: xml }).establish();
  expect(ikeSuiteOf(pair)).toBe('aes256-gcm16/prf-hmac-sha512/dh21');
  expect(expectMirrored(pair).cgw.encryption).toBe('aes256-gcm16');
});

it("a strict peer that accepts only the XML's minimum still matches our widened offer", () => {
  const xml = { 'ike.encryption': 'xml', 'ike.integrity': 'xml', 'ike.dhGroups': 'xml', 'ipsec.encryption': 'xml', 'ipsec.integrity': 'xml', 'ipsec.pfsGroups': 'xml' } as const;
  const minimum = { ikeEncryption: ['aes128-cbc'], ikeIntegrity: ['hmac-sha1-96'], ikeDhGroups: [2], espEncryption: ['aes128-cbc'], espIntegrity: ['hmac-sha1-96'], pfsGroups: [2] } satisfies TunnelOverrides;
  const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { ...minimum, origins: xml }) }, aws: { tunnel: tunnelConfig('ikev2', minimum) } }).establish();
  expect(ikeSuiteOf(pair)).toBe('aes128-cbc/hmac-sha1-96/prf-hmac-sha1/dh2');
  // Our first KE was for group 21: the peer asked for group 2 (INVALID_KE_PAYLOAD) and we retried.
  expect(sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_SA_INIT, response: false })).toHaveLength(2);
  pair.cgw.connection.rekeyChild();
  pair.run(15_000);
  expect(expectMirrored(pair).cgw.pfsGroup).toBe(2);
});

describe('IKE_SA_INIT detours', () => {
  it('COOKIE: the responder demands one and the initiator repeats IKE_SA_INIT with it first', () => {
    const pair = new Pair('ikev2', { aws: { timing: { cookieThreshold: 0 } } }).establish();
    const answers = sentBy(pair.aws.transport, { exchange: ExchangeType.IKE_SA_INIT, response: true });
    expect(answers[0]?.notifies).toEqual([NotifyType.COOKIE]);
    const requests = sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_SA_INIT, response: false });
    expect(requests).toHaveLength(2);
    expect(requests[1]?.notifies[0]).toBe(NotifyType.COOKIE);
    expectMirrored(pair);
  });

  it('INVALID_KE_PAYLOAD: retried with the group the responder names', () => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { ikeDhGroups: [19, 14] }) }, aws: { tunnel: tunnelConfig('ikev2', { ikeDhGroups: [14] }) } }).establish();
    const answers = sentBy(pair.aws.transport, { exchange: ExchangeType.IKE_SA_INIT, response: true });
    expect(answers[0]?.notifies).toEqual([NotifyType.INVALID_KE_PAYLOAD]);
    expect(ikeSuiteOf(pair)).toMatch(/dh14$/);
  });

  it('NO_PROPOSAL_CHOSEN: the attempt fails with a clear code and is retried later', () => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { ikeEncryption: ['aes128-cbc'] }) }, aws: { tunnel: tunnelConfig('ikev2', { ikeEncryption: ['aes256-cbc'] }) } }).start();
    pair.run(500);
    const down = pair.cgw.events.find((e) => e.name === 'ike-down')?.data as { code: string; established: boolean };
    expect(down).toMatchObject({ code: 'IKE_PEER_NO_PROPOSAL_CHOSEN', established: false });
    expect(pair.cgw.connection.state).toBe('backoff');
    expect(pair.cgw.connection.status().lastError?.code).toBe('IKE_PEER_NO_PROPOSAL_CHOSEN');
    // The responder kept no state for the refusal.
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
  });
});

describe('IKE_AUTH refusals', () => {
  it('wrong PSK: AUTHENTICATION_FAILED on both sides, then reconnects with growing delays up to the cap', () => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { psk: 'not.the_right_key' }) } }).start();
    pair.run(1_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
    expect(pair.aws.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
    pair.run(600_000);
    const starts = sentBy(pair.cgw.transport, { exchange: ExchangeType.IKE_SA_INIT, response: false }).map((m) => m.datagram.sentAt);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    expect(gaps[0]).toBeLessThanOrEqual(1_100); // base 1 s (with 50–100 % jitter)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_100); // capped at 60 s
    expect(gaps.slice(-3).every((g) => g >= 30_000)).toBe(true); // at the cap
    expect(pair.cgw.sink.installed.size).toBe(0);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0); // no half-open state left behind
  });

  it('the responder refuses an unexpected initiator identity (AUTHENTICATION_FAILED)', () => {
    const pair = new Pair('ikev2', { aws: { remoteId: '192.0.2.99' } }).start();
    pair.run(1_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
  });

  it('the initiator refuses a responder with the wrong identity and tells it', () => {
    const pair = new Pair('ikev2', { cgw: { remoteId: '192.0.2.77' } }).start();
    pair.run(1_000);
    expect(pair.cgw.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
    // The responder had already established; our INFORMATIONAL N(AUTHENTICATION_FAILED) ends its SA.
    expect(pair.aws.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_AUTHENTICATION_FAILED' });
    expect(pair.aws.sink.installed.size).toBe(0);
  });

  it('IDr naming the AWS endpoint is accepted', () => {
    const pair = new Pair('ikev2', { cgw: { remoteId: AWS_IP } }).establish();
    expectMirrored(pair);
  });

  it.each([
    ['ESP proposal mismatch', { espEncryption: ['aes256-cbc'] as EncryptionName[] }, 'NO_PROPOSAL_CHOSEN'],
  ])('%s: the IKE SA is deleted and the attempt counts as failed', (_name, awsOverrides, notify) => {
    const pair = new Pair('ikev2', { cgw: { tunnel: tunnelConfig('ikev2', { espEncryption: ['aes128-cbc'] }) }, aws: { tunnel: tunnelConfig('ikev2', awsOverrides) } }).start();
    pair.run(1_000);
    const down = pair.cgw.events.find((e) => e.name === 'ike-down')?.data as { code: string; reason: string };
    expect(down.code).toBe('IKE_CHILD_SA_FAILED');
    expect(down.reason).toContain(notify);
    expect(pair.aws.events.find((e) => e.name === 'ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    expect(pair.cgw.connection.state).toBe('backoff');
  });
});

describe('NAT traversal (RFC 7296 §2.23)', () => {
  it('forced encapsulation: each side sees a NAT at the other, both move to 4500, no keepalives', () => {
    const pair = new Pair('ikev2').establish();
    const cgw = pair.cgw.connection.status().ikeSas[0];
    expect(cgw).toMatchObject({ natLocal: false, natRemote: true, local: `${CGW_IP}:4500`, remote: `${AWS_IP}:4500` });
    expect(pair.aws.connection.status().ikeSas[0]).toMatchObject({ natRemote: true, local: `${AWS_IP}:4500` });
    expect(expectMirrored(pair).cgw.local).toEqual({ address: CGW_IP, port: 4500 });
    pair.run(60_000);
    expect(pair.cgw.transport.keepalives).toBe(0);
  });

  it('without forcing, no NAT is seen; IKE still moves to 4500', () => {
    const pair = new Pair('ikev2', { cgw: { extra: { forceEncapsulation: false } }, aws: { extra: { forceEncapsulation: false } } }).establish();
    expect(pair.cgw.connection.status().ikeSas[0]).toMatchObject({ natLocal: false, natRemote: false, local: `${CGW_IP}:4500` });
  });

  it('behind a real NAT: detected locally, keepalives sent, the responder follows the mapped port', () => {
    const pair = new Pair('ikev2', { cgw: { address: '10.0.0.5' } });
    pair.net.addNat('10.0.0.5', CGW_IP, 10_000);
    pair.establish();
    expect(pair.cgw.connection.status().ikeSas[0]).toMatchObject({ natLocal: true, local: '10.0.0.5:4500' });
    const { aws } = { aws: pair.aws.sink.only() };
    expect(aws.remote).toEqual({ address: CGW_IP, port: 14_500 });
    pair.run(61_000);
    expect(pair.cgw.transport.keepalives).toBeGreaterThanOrEqual(3);
  });
});

it('AWS initiates (StartupAction=start): cgw as responder', () => {
  const pair = new Pair('ikev2', { cgw: { role: 'responder', remoteId: AWS_IP }, aws: { role: 'initiator', remoteId: CGW_IP } }).establish();
  expectSameIkeKeys(pair);
  expectMirrored(pair);
  expect(pair.cgw.events.find((e) => e.name === 'ike-up')?.data).toMatchObject({ initiatedByUs: false });
});

describe('the peer refuses or narrows the traffic selectors', () => {
  /** Replaces aws's IKE_AUTH answer with a forged one (aws's real keys and a valid AUTH). */
  function forgeAuthAnswer(childPart: (payloads: Payload[]) => Payload[]): Pair<'ikev2'> {
    const pair = new Pair('ikev2');
    pair.net.setManual(true);
    pair.start();
    const initRequest = pair.net.deliverFrom(CGW_IP);
    const initResponse = pair.net.deliverFrom(AWS_IP);
    pair.net.deliverFrom(CGW_IP); // IKE_AUTH request: aws answers (and installs its CHILD SA)
    pair.net.take(AWS_IP); //        … but that answer is lost; ours goes instead
    const entry = [...pair.aws.keylog].reverse().find((e): e is Extract<KeylogEntry, { kind: 'ike' }> => e.kind === 'ike');
    if (!entry) throw new Error('no keys');
    const ni = (decodeMessage(initRequest.data).payloads.find((p) => p.kind === 'Nonce') as NoncePayload).nonce;
    const idr: Payload = { kind: 'IDr', idType: IdType.ID_IPV4_ADDR, data: Buffer.from(AWS_IP.split('.').map(Number)) };
    const auth = pskAuthData(entry.suite.prf, Buffer.from(PSK), {
      realMessage: initResponse.data,
      peerNonce: ni,
      skP: entry.keys.skPr,
      idPayloadBody: idPayloadBody(IdType.ID_IPV4_ADDR, (idr as IdPayload).data),
    });
    const answer = forgerFor(pair, 'aws').seal(ExchangeType.IKE_AUTH, 1, [idr, { kind: 'AUTH', method: AuthMethod.SHARED_KEY_MIC, data: auth }, ...childPart([])], { response: true });
    inject(pair, 'cgw', answer);
    pair.net.setManual(false);
    pair.run(1_000);
    return pair;
  }

  it('TS_UNACCEPTABLE: authenticated, but without its CHILD SA the IKE SA is deleted and the attempt fails', () => {
    const pair = forgeAuthAnswer(() => [{ kind: 'N', protocolId: 0, spi: Buffer.alloc(0), notifyType: NotifyType.TS_UNACCEPTABLE, data: Buffer.alloc(0) }]);
    const down = pair.cgw.events.find((e) => e.name === 'ike-down')?.data as { code: string; reason: string };
    expect(down.code).toBe('IKE_CHILD_SA_FAILED');
    expect(down.reason).toContain('TS_UNACCEPTABLE');
    expect(pair.cgw.sink.installed.size).toBe(0);
    // The Delete reached aws; the retry after the backoff meets the honest aws and succeeds.
    pair.run(5_000);
    expectMirrored(pair);
  });

  it('narrowed selectors in the answer are refused the same way', () => {
    const narrowed: TrafficSelector = { ...ALL_IPV4, startAddress: Buffer.from([10, 0, 0, 0]), endAddress: Buffer.from([10, 255, 255, 255]) };
    const pair = forgeAuthAnswer(() => {
      const proposals = buildChildProposals(proposalPolicyFor(tunnelConfig('ikev2')).child, Buffer.from([0, 0, 7, 7]), undefined);
      const first = proposals[0] as Proposal;
      return [
        { kind: 'SA', proposals: [{ ...first, transforms: first.transforms.filter((t, i, all) => all.findIndex((u) => u.type === t.type) === i) }] },
        { kind: 'TSi', selectors: [narrowed] },
        { kind: 'TSr', selectors: [ALL_IPV4] },
      ];
    });
    const down = pair.cgw.events.find((e) => e.name === 'ike-down')?.data as { code: string; reason: string };
    expect(down.code).toBe('IKE_CHILD_SA_FAILED');
    expect(down.reason).toContain('narrowed');
  });
});
