/**
 * Hostile inputs (the lessons of other IKE daemons' CVEs, e.g. CVE-2015-3991): each a typed error or a counted drop, never a crash, never
 * state changed by something unauthenticated.
 */
import { describe, expect, it } from 'vitest';
import { DOI_IPSEC, ExchangeType, IpsecAttribute, KEY_IKE, NotifyType, Phase1Attribute, PayloadType, ProtocolId, VendorId } from '../../../../src/ike/v1/constants.js';
import { InvalidPayloadTypeError, IsakmpVersionError, V1WireErrorCode } from '../../../../src/ike/v1/wire/errors.js';
import { decodeMessage } from '../../../../src/ike/v1/wire/message.js';
import { encodeChain, encodePayload, type V1Payload } from '../../../../src/ike/v1/wire/payloads.js';
import { tv, type DataAttribute } from '../../../../src/ike/v1/wire/attributes.js';
import { WireError } from '../../../../src/wire/buffer.js';
import { Forger, inject, rawMessage, rawPayload } from './harness/forge.js';
import { exchangeOf, ofExchange } from './harness/messages.js';
import { AWS_IP, CGW_IP, Pair, expectMirrored } from '../harness/pair.js';
import { createLogger } from '../../../../src/log/index.js';

const COOKIE = Buffer.from('0102030405060708', 'hex');

function phase1Transform(attributes: DataAttribute[], number = 1) {
  return { number, transformId: KEY_IKE, attributes };
}

const GOOD: DataAttribute[] = [
  tv(Phase1Attribute.ENCRYPTION_ALGORITHM, 7),
  tv(Phase1Attribute.KEY_LENGTH, 128),
  tv(Phase1Attribute.HASH_ALGORITHM, 2),
  tv(Phase1Attribute.AUTHENTICATION_METHOD, 1),
  tv(Phase1Attribute.GROUP_DESCRIPTION, 14),
  tv(Phase1Attribute.LIFE_TYPE, 1),
  tv(Phase1Attribute.LIFE_DURATION, 28_800 & 0xffff),
];

function mm1(transforms: ReturnType<typeof phase1Transform>[], cookieI = COOKIE): Buffer {
  const payloads: V1Payload[] = [
    { kind: 'SA', doi: DOI_IPSEC, situation: 1, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(0), transforms }] },
    { kind: 'VID', data: VendorId.NAT_T_RFC3947 },
  ];
  const { firstType, bytes } = encodeChain(payloads);
  return rawMessage({ cookieI, firstPayload: firstType }, bytes);
}

function responses(pair: Pair): { exchange: number; notify?: number }[] {
  return pair.aws.transport.sent.map((w) => {
    const d = decodeMessage(w.data);
    const n = !d.encrypted ? d.entries.find((e) => e.payload.kind === 'N')?.payload : undefined;
    return { exchange: exchangeOf(w), ...(n?.kind === 'N' ? { notify: n.notifyType } : {}) };
  });
}

describe('wrong IKE version (CVE-2015-3991)', () => {
  it('an IKEv2 header is a typed error and a counted drop, never an answer', () => {
    const v2 = rawMessage({ cookieI: COOKIE, firstPayload: 33, version: 0x20, exchange: 34, flags: 0x08 }, rawPayload(0, Buffer.alloc(8)));
    expect(() => decodeMessage(v2)).toThrow(IsakmpVersionError);
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    inject(pair, 'aws', v2, 500);
    expect(pair.aws.connection.status().counters.drops['invalid-major-version']).toBe(1);
    expect(pair.aws.transport.sent).toHaveLength(0);
  });

  it('IKEv2 payload types inside an IKEv1 message are unknown types here', () => {
    for (const type of [33, 34, 35, 40, 41, 46, 53]) {
      const msg = rawMessage({ cookieI: COOKIE, firstPayload: type }, rawPayload(0, Buffer.alloc(12)));
      let error: unknown;
      try {
        decodeMessage(msg);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidPayloadTypeError);
      expect((error as InvalidPayloadTypeError).payloadType).toBe(type);
    }
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    inject(pair, 'aws', rawMessage({ cookieI: COOKIE, firstPayload: 33 }, rawPayload(0, Buffer.alloc(12))), 500);
    expect(pair.aws.connection.status().counters.drops.malformed).toBe(1);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
  });

  it('an IKEv2 payload inside a protected Informational: dropped, INVALID-PAYLOAD-TYPE sent at most once per 10 s', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const before = ofExchange(pair.aws.transport.sent, ExchangeType.INFORMATIONAL).length;
    for (let i = 0; i < 5; i++) inject(pair, 'aws', forger.protectedRaw(41, rawPayload(0, Buffer.alloc(8))));
    expect(pair.aws.connection.status().counters.drops.malformed).toBe(5);
    expect(ofExchange(pair.aws.transport.sent, ExchangeType.INFORMATIONAL).length - before).toBe(1);
    pair.run(100);
    expect(pair.cgw.connection.state).toBe('established');
    expectMirrored(pair);
  });
});

describe('Delete followed by notifies for the deleted SA (GHSA-65xr-g9j5-jv8g)', () => {
  it('Delete(ISAKMP) then R-U-THERE and errors for it: the SA ends, nothing acts on it afterwards', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const spi = Buffer.concat([forger.cookieI, forger.cookieR]);
    const seq = Buffer.from([0, 0, 0, 7]);
    const before = pair.aws.transport.sent.length;
    inject(pair, 'aws', forger.informational([
      { kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spis: [spi] },
      { kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spi, notifyType: NotifyType.R_U_THERE, data: seq },
      { kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spi, notifyType: NotifyType.INVALID_SPI, data: Buffer.alloc(0) },
      { kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spis: [spi] },
    ]));
    // No R-U-THERE-ACK from a deleted SA, no crash, the IPsec SA kept (IKEv1: it outlives the ISAKMP SA).
    expect(pair.aws.transport.sent.length).toBe(before);
    expect(pair.aws.connection.status().counters.drops['internal-error']).toBeUndefined();
    expect(pair.aws.last('ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    expect(pair.aws.sink.installed.size).toBe(1);
    // And the same datagram again: the SA is gone, a counted drop.
    pair.run(10);
  });

  it('Delete(ESP) then notifies naming the deleted SPI: removed once, notifies ignored', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(1_000);
    const forger = new Forger(pair, 'cgw');
    const cgwIn = pair.cgw.sink.only().spiIn;
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(cgwIn);
    inject(pair, 'aws', forger.informational([
      { kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis: [spi, spi] },
      { kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spi, notifyType: NotifyType.INVALID_SPI, data: Buffer.alloc(0) },
      { kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spi, notifyType: NotifyType.CONNECTED, data: Buffer.alloc(0) },
      { kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis: [spi] },
    ]));
    expect(pair.aws.sink.installed.size).toBe(0);
    expect(pair.aws.sink.events.filter((e) => e.kind === 'remove')).toHaveLength(1);
    expect(pair.aws.connection.status().counters.drops['internal-error']).toBeUndefined();
  });

  it('the peer deleting only the ISAKMP SA leaves the IPsec SA up while phase 1 is re-established', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(1_000);
    const child = pair.cgw.sink.only();
    const forger = new Forger(pair, 'aws');
    inject(pair, 'cgw', forger.informational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spis: [Buffer.concat([forger.cookieI, forger.cookieR])] }]));
    pair.run(10_000);
    expect(pair.cgw.last('ike-down')?.data).toMatchObject({ code: 'IKE_PEER_DELETED' });
    expect(pair.cgw.last('ike-up')).toBeDefined();
    expect(pair.cgw.sink.only().id).toBe(child.id);
    expect(pair.cgw.count('child-down')).toBe(0);
  });
});

describe('bad KEY_LENGTH and other attributes (CVE-2011-3380)', () => {
  const variants: [string, DataAttribute[]][] = [
    ['KEY_LENGTH 0', GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? tv(a.type, 0) : a))],
    ['KEY_LENGTH 1', GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? tv(a.type, 1) : a))],
    ['KEY_LENGTH 192', GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? tv(a.type, 192) : a))],
    ['KEY_LENGTH 65535', GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? tv(a.type, 0xffff) : a))],
    ['KEY_LENGTH as a variable attribute', GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? { type: a.type, format: 'tlv' as const, value: Buffer.alloc(1000, 0xff) } : a))],
    ['KEY_LENGTH missing', GOOD.filter((a) => a.type !== Phase1Attribute.KEY_LENGTH)],
    ['KEY_LENGTH twice', [...GOOD, tv(Phase1Attribute.KEY_LENGTH, 256)]],
    ['unknown group 1025 (CVE-2014-9221)', GOOD.map((a) => (a.type === Phase1Attribute.GROUP_DESCRIPTION ? tv(a.type, 1025) : a))],
    ['group 1 (not offered)', GOOD.map((a) => (a.type === Phase1Attribute.GROUP_DESCRIPTION ? tv(a.type, 1) : a))],
    ['authentication RSA', GOOD.map((a) => (a.type === Phase1Attribute.AUTHENTICATION_METHOD ? tv(a.type, 3) : a))],
    ['XAUTH PSK', GOOD.map((a) => (a.type === Phase1Attribute.AUTHENTICATION_METHOD ? tv(a.type, 65001) : a))],
    ['hash MD5', GOOD.map((a) => (a.type === Phase1Attribute.HASH_ALGORITHM ? tv(a.type, 1) : a))],
    ['3DES', GOOD.map((a) => (a.type === Phase1Attribute.ENCRYPTION_ALGORITHM ? tv(a.type, 5) : a))],
    ['a PRF attribute', [...GOOD, tv(Phase1Attribute.PRF, 1)]],
    ['life duration without type', GOOD.filter((a) => a.type !== Phase1Attribute.LIFE_TYPE)],
    ['lifetime 1 s', GOOD.map((a) => (a.type === Phase1Attribute.LIFE_DURATION ? tv(a.type, 1) : a))],
  ];
  for (const [name, attributes] of variants) {
    it(`${name}: NO-PROPOSAL-CHOSEN in the clear, no state kept`, () => {
      const pair = new Pair('ikev1');
      pair.aws.connection.start();
      inject(pair, 'aws', mm1([phase1Transform(attributes)]), 500);
      expect(responses(pair)).toEqual([{ exchange: ExchangeType.INFORMATIONAL, notify: NotifyType.NO_PROPOSAL_CHOSEN }]);
      expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
      expect(pair.aws.connection.status().counters.drops['internal-error']).toBeUndefined();
    });
  }

  it('a life duration of 40 octets is bounded: accepted, and our timers use at most a day', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    const huge = GOOD.map((a) => (a.type === Phase1Attribute.LIFE_DURATION ? { type: a.type, format: 'tlv' as const, value: Buffer.alloc(40, 0xff) } : a));
    inject(pair, 'aws', mm1([phase1Transform(huge)]), 500);
    expect(responses(pair)).toEqual([{ exchange: ExchangeType.IDENTITY_PROTECTION }]);
  });

  it('a good transform after bad ones is the one chosen', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    const bad = GOOD.map((a) => (a.type === Phase1Attribute.KEY_LENGTH ? tv(a.type, 0) : a));
    inject(pair, 'aws', mm1([phase1Transform(bad, 1), phase1Transform(bad, 2), phase1Transform(GOOD, 3)]), 500);
    const answer = decodeMessage(pair.aws.transport.sent[0]?.data ?? Buffer.alloc(0));
    if (answer.encrypted) throw new Error('encrypted');
    const sa = answer.entries[0]?.payload;
    expect(sa?.kind === 'SA' && sa.proposals[0]?.transforms.map((t) => t.number)).toEqual([3]);
  });

  it('an attribute length running past its transform is a typed error and a drop', () => {
    const transform = Buffer.concat([Buffer.from([1, KEY_IKE, 0, 0]), Buffer.from([0x00, 0x0c, 0xff, 0xff]), Buffer.alloc(4)]);
    const proposal = Buffer.concat([Buffer.from([1, ProtocolId.ISAKMP, 0, 1]), rawPayload(0, transform)]);
    const sa = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), rawPayload(0, proposal)]);
    const msg = rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.SA }, rawPayload(0, sa));
    let error: unknown;
    try {
      decodeMessage(msg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WireError);
    expect([V1WireErrorCode.TRUNCATED, V1WireErrorCode.BAD_ATTRIBUTE]).toContain((error as WireError).code);
    // Within the bound but past the transform: TRUNCATED.
    const shorter = Buffer.from(msg);
    shorter.writeUInt16BE(0x0100, msg.length - 6);
    expect(() => decodeMessage(shorter)).toThrow(expect.objectContaining({ code: V1WireErrorCode.TRUNCATED }));
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    inject(pair, 'aws', msg, 500);
    expect(pair.aws.connection.status().counters.drops.malformed).toBe(1);
    expect(pair.aws.transport.sent).toHaveLength(0);
  });

  it('bad quick mode attributes (ESP KEY_LENGTH 0, GCM with an authentication algorithm): NO-PROPOSAL-CHOSEN, the ISAKMP SA unharmed', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(1_000);
    const forger = new Forger(pair, 'cgw');
    for (const attributes of [
      [tv(IpsecAttribute.SA_LIFE_TYPE, 1), tv(IpsecAttribute.SA_LIFE_DURATION, 3600), tv(IpsecAttribute.ENCAPSULATION_MODE, 3), tv(IpsecAttribute.AUTHENTICATION_ALGORITHM, 2), tv(IpsecAttribute.KEY_LENGTH, 0)],
      [tv(IpsecAttribute.SA_LIFE_TYPE, 1), tv(IpsecAttribute.SA_LIFE_DURATION, 3600), tv(IpsecAttribute.ENCAPSULATION_MODE, 3), tv(IpsecAttribute.AUTHENTICATION_ALGORITHM, 2), tv(IpsecAttribute.KEY_LENGTH, 0xffff)],
    ]) {
      const nonce = Buffer.alloc(32, 1);
      const spi = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
      const sa: V1Payload = { kind: 'SA', doi: DOI_IPSEC, situation: 1, proposals: [{ number: 1, protocolId: ProtocolId.IPSEC_ESP, spi, transforms: [{ number: 1, transformId: 12, attributes }] }] };
      const id: V1Payload = { kind: 'ID', idType: 4, protocolId: 0, port: 0, data: Buffer.alloc(8) };
      const before = ofExchange(pair.aws.transport.sent, ExchangeType.INFORMATIONAL).length;
      inject(pair, 'aws', forger.informational([sa, { kind: 'NONCE', data: nonce }, id, id], { exchange: ExchangeType.QUICK_MODE }));
      expect(ofExchange(pair.aws.transport.sent, ExchangeType.INFORMATIONAL).length - before).toBe(1);
    }
    expect(pair.aws.connection.state).toBe('established');
    expect(pair.aws.sink.installed.size).toBe(1);
  });
});

describe('missing and unknown payloads', () => {
  it('MM1 without an SA creates no state and gets no answer', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    inject(pair, 'aws', rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.VENDOR_ID }, encodePayload({ kind: 'VID', data: VendorId.DPD }, 0)), 500);
    expect(pair.aws.connection.status().counters.drops['payload-rule']).toBe(1);
    expect(pair.aws.transport.sent).toHaveLength(0);
  });

  it('unknown payload types (private use, unassigned) are typed errors', () => {
    for (const type of [14, 19, 22, 99, 128, 130, 132, 255]) {
      expect(() => decodeMessage(rawMessage({ cookieI: COOKIE, firstPayload: type }, rawPayload(0, Buffer.alloc(4))))).toThrow(InvalidPayloadTypeError);
    }
  });

  it('protected messages lacking what their exchange needs are dropped and change nothing', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(1_000);
    const forger = new Forger(pair, 'cgw');
    const id: V1Payload = { kind: 'ID', idType: 4, protocolId: 0, port: 0, data: Buffer.alloc(8) };
    // Quick Mode without SA / without nonce / with one ID; an Informational with only its HASH.
    inject(pair, 'aws', forger.informational([{ kind: 'NONCE', data: Buffer.alloc(16, 2) }, id, id], { exchange: ExchangeType.QUICK_MODE }));
    inject(pair, 'aws', forger.informational([id], { exchange: ExchangeType.QUICK_MODE }));
    inject(pair, 'aws', forger.protectedRaw(0, Buffer.alloc(0)));
    expect(pair.aws.connection.status().counters.drops['payload-rule']).toBe(3);
    expect(pair.aws.connection.state).toBe('established');
    expectMirrored(pair);
  });

  it('CERT, CR and SIG payloads are known but refused with pre-shared keys', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    const sa = encodeChain([{ kind: 'SA', doi: DOI_IPSEC, situation: 1, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(0), transforms: [phase1Transform(GOOD)] }] }]).bytes;
    sa.writeUInt8(PayloadType.CERT, 0);
    const msg = rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.SA }, Buffer.concat([sa, rawPayload(0, Buffer.alloc(20, 3))]));
    inject(pair, 'aws', msg, 500);
    expect(pair.aws.connection.status().counters.drops['payload-rule']).toBe(1);
  });
});

describe('wrong HASH', () => {
  it('an Informational with a wrong HASH(1) is dropped: no R-U-THERE-ACK, no Delete acted on', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const spi = Buffer.concat([forger.cookieI, forger.cookieR]);
    const before = pair.aws.transport.sent.length;
    inject(pair, 'aws', forger.informational([{ kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spi, notifyType: NotifyType.R_U_THERE, data: Buffer.alloc(4, 1) }], { hash: Buffer.alloc(20, 0xaa) }));
    inject(pair, 'aws', forger.informational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spis: [spi] }], { hash: Buffer.alloc(20) }));
    expect(pair.aws.transport.sent.length).toBe(before);
    expect(pair.aws.connection.status().counters.drops['bad-icv']).toBe(2);
    expect(pair.aws.connection.state).toBe('established');
  });

  it('the same Informational with the right HASH is answered (the forger is right)', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const spi = Buffer.concat([forger.cookieI, forger.cookieR]);
    const before = pair.aws.transport.sent.length;
    inject(pair, 'aws', forger.informational([{ kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spi, notifyType: NotifyType.R_U_THERE, data: Buffer.alloc(4, 1) }]));
    expect(pair.aws.transport.sent.length).toBe(before + 1);
  });

  it('a Quick Mode message 1 with a wrong HASH gets no answer', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const before = pair.aws.transport.sent.length;
    inject(pair, 'aws', forger.informational([{ kind: 'NONCE', data: Buffer.alloc(16, 2) }], { exchange: ExchangeType.QUICK_MODE, hash: Buffer.alloc(20, 1) }));
    expect(pair.aws.transport.sent.length).toBe(before);
  });

  it('garbage under the right cookies (a forgery without keys) is dropped; the tunnel carries on', () => {
    const pair = new Pair('ikev1').establish();
    const forger = new Forger(pair, 'cgw');
    const garbage = forger.informational([{ kind: 'VID', data: Buffer.alloc(16) }]);
    for (let i = 28; i < garbage.length; i++) garbage[i] = (garbage[i] ?? 0) ^ 0x5a;
    inject(pair, 'aws', garbage);
    pair.run(60_000);
    expect(pair.aws.connection.state).toBe('established');
    expectMirrored(pair);
  });
});

describe('state gates', () => {
  it('Quick Mode and protected Informationals before Main Mode completes are dropped', () => {
    const pair = new Pair('ikev1');
    pair.net.dropIf = (w) => w.from.address === CGW_IP && exchangeOf(w) === ExchangeType.IDENTITY_PROTECTION && ((w.data[19] ?? 0) & 1) === 1;
    pair.start().run(500);
    const sa = pair.aws.connection.status().ikeSas[0];
    expect(sa?.state).toBe('connecting');
    const cookieI = Buffer.from(sa?.spiI ?? '', 'hex');
    const cookieR = Buffer.from(sa?.spiR ?? '', 'hex');
    const body = Buffer.alloc(32);
    inject(pair, 'aws', rawMessage({ cookieI, cookieR, firstPayload: PayloadType.HASH, exchange: ExchangeType.QUICK_MODE, flags: 1, messageId: 5 }, body));
    expect(pair.aws.connection.status().counters.drops['exchange-not-allowed']).toBe(1);
    // Aggressive Mode (AWS refuses it; so do we).
    const saChain = encodeChain([{ kind: 'SA', doi: DOI_IPSEC, situation: 1, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(0), transforms: [phase1Transform(GOOD)] }] }]).bytes;
    inject(pair, 'aws', rawMessage({ cookieI, cookieR, firstPayload: PayloadType.SA, exchange: ExchangeType.AGGRESSIVE }, saChain), 500);
    expect(pair.aws.connection.status().counters.drops['exchange-not-allowed']).toBe(2);
  });

  it('a spoofed MM1 gets exactly one answer (no retransmission towards the spoofed source)', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    inject(pair, 'aws', mm1([phase1Transform(GOOD)]), 500);
    pair.run(120_000);
    expect(ofExchange(pair.aws.transport.sent, ExchangeType.IDENTITY_PROTECTION)).toHaveLength(1);
    expect(pair.aws.connection.status().ikeSas).toHaveLength(0);
  });

  it('many half-open Main Modes are bounded', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    for (let i = 0; i < 200; i++) {
      const cookie = Buffer.alloc(8);
      cookie.writeUInt32BE(i + 1, 4);
      inject(pair, 'aws', mm1([phase1Transform(GOOD)], cookie), 500);
    }
    expect(pair.aws.connection.status().ikeSas.length).toBeLessThanOrEqual(64);
    // From the configured peer's own address: the oldest unverified ones give up their slots.
    expect(pair.aws.connection.status().counters.drops['half-open-evicted']).toBeGreaterThan(0);
  });
});

describe('spoofed Main Mode floods (issue 13, finding 4)', () => {
  function spoofBurst(pair: Pair, burst: number, count: number, from: { address: string; port: number }): void {
    for (let i = 0; i < count; i++) {
      const cookie = Buffer.alloc(8);
      cookie.writeUInt32BE(burst * 1000 + i + 1, 4);
      pair.aws.connection.handleDatagram({ local: { address: AWS_IP, port: 500 }, remote: from, data: mm1([phase1Transform(GOOD)], cookie) });
    }
  }

  it('64 spoofed MM1s from the peer’s address every 30 s do not keep the real peer out', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    for (let burst = 0; burst < 5; burst++) {
      pair.clock.setTimer(burst * 29_900, () => spoofBurst(pair, burst, 64, { address: CGW_IP, port: 500 }));
    }
    pair.run(1_000);
    pair.cgw.connection.start();
    pair.run(10_000);
    expect(pair.cgw.connection.state).toBe('established');
    expectMirrored(pair);
    expect(pair.aws.connection.status().ikeSas.length).toBeLessThanOrEqual(65);
  });

  it('the real peer gets in while the spoofed bursts keep coming (a burst right after its MM1)', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    spoofBurst(pair, 0, 64, { address: CGW_IP, port: 500 });
    pair.cgw.connection.start();
    spoofBurst(pair, 1, 64, { address: CGW_IP, port: 4500 }); // another source endpoint: capped on its own
    pair.run(10_000);
    expect(pair.cgw.connection.state).toBe('established');
    expectMirrored(pair);
  });

  it('unanswered MM1s are summarised in the log, not logged one by one, and are no tunnel event', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', output: { write: (line: string) => void lines.push(line) } });
    const pair = new Pair('ikev1', { aws: { extra: { logger } } });
    pair.aws.connection.start();
    for (let burst = 0; burst < 10; burst++) pair.clock.setTimer(burst * 30_000, () => spoofBurst(pair, burst, 64, { address: CGW_IP, port: 500 }));
    pair.run(330_000);
    expect(pair.aws.events.filter((e) => e.name === 'ike-down')).toHaveLength(0);
    expect(lines.filter((l) => l.includes('ISAKMP SA gone'))).toHaveLength(0);
    const summaries = lines.filter((l) => l.includes('Main Mode (unanswered MM1s)'));
    expect(summaries.length).toBeLessThanOrEqual(330_000 / 10_000 + 2);
    const counted = summaries.map((l) => JSON.parse(l) as { refused?: number }).reduce((n, l) => n + (l.refused ?? 1), 0);
    expect(counted).toBeGreaterThanOrEqual(600);
  });

  it('sources other than the configured peer share a small quota and are refused beyond it', () => {
    const pair = new Pair('ikev1');
    pair.aws.connection.start();
    for (let n = 0; n < 8; n++) spoofBurst(pair, n, 16, { address: `192.0.2.${10 + n}`, port: 500 });
    const sas = pair.aws.connection.status().ikeSas;
    expect(sas.length).toBeLessThanOrEqual(16);
    expect(pair.aws.connection.status().counters.drops['cookie-required']).toBeGreaterThanOrEqual(128 - 16);
    pair.cgw.connection.start();
    pair.run(10_000);
    expect(pair.cgw.connection.state).toBe('established');
  });
});

describe('replays', () => {
  it('every datagram of an hour of traffic replayed afterwards changes nothing', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(25_000);
    pair.cgw.connection.rekeyChild();
    pair.run(90_000);
    const sa = pair.cgw.sink.only();
    const replay = pair.net.delivered.map((w) => ({ data: w.data, to: w.to.address === AWS_IP ? ('aws' as const) : ('cgw' as const), port: w.to.port }));
    const sentBefore = pair.aws.transport.sent.length + pair.cgw.transport.sent.length;
    for (const w of replay) inject(pair, w.to, w.data, w.port);
    pair.run(60_000);
    expect(pair.cgw.sink.only().id).toBe(sa.id);
    expectMirrored(pair);
    // At most the DPD traffic of the minute that passed, plus cached answers to replayed messages.
    expect(pair.aws.transport.sent.length + pair.cgw.transport.sent.length - sentBefore).toBeLessThan(40);
    expect(pair.cgw.connection.status().counters.drops['stale-retransmission'] ?? 0).toBeGreaterThan(0);
  });
});

describe('truncations at every offset', () => {
  it('every captured datagram cut at every length: only counted drops, the tunnel unaffected', () => {
    const pair = new Pair('ikev1').establish();
    pair.run(25_000);
    pair.cgw.connection.rekeyChild();
    pair.run(1_000);
    const captured = pair.net.delivered.map((w) => ({ data: w.data, to: w.to.address === AWS_IP ? ('aws' as const) : ('cgw' as const) }));
    expect(captured.length).toBeGreaterThan(10);
    for (const { data, to } of captured) {
      for (let length = 0; length < data.length; length++) inject(pair, to, data.subarray(0, length));
      // Length field claiming more than is there, and a lying payload length.
      const lying = Buffer.from(data);
      lying.writeUInt32BE(data.length + 100, 24);
      inject(pair, to, lying);
    }
    for (const peer of [pair.cgw, pair.aws]) {
      const drops = peer.connection.status().counters.drops;
      expect(drops['internal-error']).toBeUndefined();
      expect((drops.truncated ?? 0) + (drops.malformed ?? 0)).toBeGreaterThan(0);
    }
    pair.run(60_000);
    settle2(pair);
  });
});

function settle2(pair: Pair): void {
  pair.run(20_000);
  expect(pair.cgw.connection.state).toBe('established');
  expectMirrored(pair);
}
