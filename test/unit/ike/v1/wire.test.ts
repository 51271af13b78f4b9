/** The IKEv1 codecs (RFC 2408 §3, RFC 2407 §4.6, RFC 3947) and the per-message payload rules. */
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../../../src/wire/buffer.js';
import { DOI_IPSEC, ExchangeType, IdType, LIMITS, NotifyType, PayloadType, ProtocolId } from '../../../../src/ike/v1/constants.js';
import { IsakmpVersionError, V1WireErrorCode } from '../../../../src/ike/v1/wire/errors.js';
import {
  attributeNumber,
  checkMessageRules,
  decodeAttributes,
  decodeChain,
  decodeHeader,
  decodeMessage,
  decodePlaintext,
  decodeSaBodyBytes,
  encodeAttributes,
  encodeChain,
  encodePlainMessage,
  encodeSaBody,
  ipv4SubnetId,
  numberAttribute,
  tv,
  type ChainEntry,
  type DataAttribute,
  type MessageKind,
  type SaBody,
  type V1Payload,
} from '../../../../src/ike/v1/wire/index.js';
import { rawMessage, rawPayload } from './harness/forge.js';

const COOKIE = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

const SA: SaBody = {
  doi: DOI_IPSEC,
  situation: 1,
  proposals: [
    {
      number: 1,
      protocolId: ProtocolId.IPSEC_ESP,
      spi: Buffer.from([1, 2, 3, 4]),
      transforms: [
        { number: 1, transformId: 12, attributes: [tv(1, 1), numberAttribute(2, 100_000), tv(4, 3), tv(5, 2), tv(6, 128)] },
        { number: 2, transformId: 20, attributes: [tv(6, 256)] },
      ],
    },
  ],
};

const EVERY: V1Payload[] = [
  { kind: 'SA', ...SA },
  { kind: 'KE', data: Buffer.alloc(256, 1) },
  { kind: 'ID', idType: IdType.ID_IPV4_ADDR, protocolId: 17, port: 500, data: Buffer.from([192, 0, 2, 1]) },
  { kind: 'HASH', data: Buffer.alloc(20, 2) },
  { kind: 'NONCE', data: Buffer.alloc(32, 3) },
  { kind: 'N', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(16, 4), notifyType: NotifyType.R_U_THERE, data: Buffer.from([0, 0, 0, 1]) },
  { kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis: [Buffer.alloc(4, 5), Buffer.alloc(4, 6)] },
  { kind: 'VID', data: Buffer.alloc(16, 7) },
  { kind: 'NAT-D', data: Buffer.alloc(20, 8) },
  { kind: 'NAT-OA', idType: IdType.ID_IPV4_ADDR, address: Buffer.from([10, 0, 0, 1]) },
];

describe('header (RFC 2408 §3.1)', () => {
  it('round-trips and reads the flags', () => {
    const msg = encodePlainMessage({ cookieI: COOKIE, cookieR: Buffer.alloc(8), exchangeType: ExchangeType.INFORMATIONAL, flags: { encryption: false, commit: true, authenticationOnly: false }, messageId: 0xfeedface }, [{ kind: 'VID', data: Buffer.alloc(16) }]);
    const h = decodeHeader(msg);
    expect(h).toMatchObject({ majorVersion: 1, minorVersion: 0, exchangeType: 5, messageId: 0xfeedface, length: msg.length, nextPayload: PayloadType.VENDOR_ID });
    expect(h.flags).toEqual({ encryption: false, commit: true, authenticationOnly: false });
  });

  it('refuses other major versions, short headers, lying lengths', () => {
    const msg = rawMessage({ cookieI: COOKIE, firstPayload: 0 }, Buffer.alloc(0));
    for (const version of [0x00, 0x20, 0x21, 0xf0]) {
      const v = Buffer.from(msg);
      v[17] = version;
      expect(() => decodeHeader(v)).toThrow(IsakmpVersionError);
    }
    expect(code(() => decodeHeader(msg.subarray(0, 27)))).toBe(V1WireErrorCode.TRUNCATED);
    const long = Buffer.from(msg);
    long.writeUInt32BE(29, 24);
    expect(code(() => decodeHeader(long))).toBe(V1WireErrorCode.LENGTH_MISMATCH);
    expect(decodeHeader(msg).minorVersion).toBe(0);
  });

  it('an encrypted message is framed, its body handed over undecoded', () => {
    const enc = rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.HASH, flags: 1, exchange: 5, messageId: 3 }, Buffer.alloc(32));
    const d = decodeMessage(enc);
    expect(d.encrypted && d.body.length).toBe(32);
    expect(code(() => decodeMessage(rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.HASH, flags: 1 }, Buffer.alloc(0))))).toBe(V1WireErrorCode.BAD_ENCRYPTED_LENGTH);
  });
});

describe('data attributes (RFC 2408 §3.3)', () => {
  it('TV and TLV round trip; numbers of any length', () => {
    const attrs: DataAttribute[] = [tv(1, 7), numberAttribute(12, 28_800), numberAttribute(12, 100_000), { type: 6, format: 'tlv', value: Buffer.alloc(300, 1) }];
    const w = new Writer();
    encodeAttributes(w, attrs);
    const bytes = w.finish();
    const back = decodeAttributes(new Reader(bytes));
    expect(back).toEqual(attrs);
    expect(back.map(attributeNumber).slice(0, 3)).toEqual([7, 28_800, 100_000]);
    expect(attributeNumber({ type: 12, format: 'tlv', value: Buffer.concat([Buffer.alloc(30), Buffer.from([1, 0])]) })).toBe(256);
    expect(attributeNumber({ type: 12, format: 'tlv', value: Buffer.alloc(40, 0xff) })).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('bounds: empty and oversized variable values, too many attributes, truncation', () => {
    expect(code(() => decodeAttributes(new Reader(Buffer.from([0x00, 0x0c, 0x00, 0x00]))))).toBe(V1WireErrorCode.BAD_ATTRIBUTE);
    expect(code(() => decodeAttributes(new Reader(Buffer.from([0x00, 0x0c, 0x04, 0x01]))))).toBe(V1WireErrorCode.BAD_ATTRIBUTE);
    expect(code(() => decodeAttributes(new Reader(Buffer.from([0x00, 0x0c, 0x00, 0x08, 1, 2]))))).toBe(V1WireErrorCode.TRUNCATED);
    expect(code(() => decodeAttributes(new Reader(Buffer.from([0x80, 0x01, 0x00]))))).toBe(V1WireErrorCode.TRUNCATED);
    const many = Buffer.alloc(4 * (LIMITS.attributesPerTransform + 1));
    for (let i = 0; i < many.length; i += 4) many.writeUInt16BE(0x8001, i);
    expect(code(() => decodeAttributes(new Reader(many)))).toBe(V1WireErrorCode.TOO_LARGE);
  });
});

describe('SA payload (RFC 2408 §3.4–3.6)', () => {
  it('round-trips proposals and transforms', () => {
    const w = new Writer();
    encodeSaBody(w, SA);
    expect(decodeSaBodyBytes(w.finish())).toEqual(SA);
  });

  it('refuses malformed structures', () => {
    const w = new Writer();
    encodeSaBody(w, SA);
    const good = w.finish();
    const mutate = (at: number, value: number) => {
      const b = Buffer.from(good);
      b.writeUInt8(value, at);
      return b;
    };
    expect(code(() => decodeSaBodyBytes(mutate(3, 2)))).toBe(V1WireErrorCode.BAD_DOI);
    expect(code(() => decodeSaBodyBytes(mutate(7, 2)))).toBe(V1WireErrorCode.BAD_SITUATION);
    expect(code(() => decodeSaBodyBytes(mutate(8, 3)))).toBe(V1WireErrorCode.BAD_SUBSTRUCTURE); // proposal's next = transform
    expect(code(() => decodeSaBodyBytes(mutate(13, 9)))).toBe(V1WireErrorCode.BAD_PROTOCOL_ID);
    expect(code(() => decodeSaBodyBytes(mutate(14, 2)))).toBe(V1WireErrorCode.BAD_SPI_SIZE);
    expect(code(() => decodeSaBodyBytes(mutate(15, 3)))).toBe(V1WireErrorCode.BAD_SUBSTRUCTURE); // 3 declared, 2 present
    expect(code(() => decodeSaBodyBytes(mutate(15, 0)))).toBe(V1WireErrorCode.BAD_SUBSTRUCTURE);
    expect(code(() => decodeSaBodyBytes(mutate(20, 1)))).toBe(V1WireErrorCode.BAD_SUBSTRUCTURE); // transform's next = SA
    expect(code(() => decodeSaBodyBytes(Buffer.concat([good, Buffer.alloc(3)])))).toBe(V1WireErrorCode.TRAILING_DATA);
    expect(code(() => decodeSaBodyBytes(good.subarray(0, 8)))).toBe(V1WireErrorCode.TRUNCATED);
  });
});

describe('payloads', () => {
  it('every payload kind round-trips through a chain, raw bytes kept', () => {
    const { firstType, bytes } = encodeChain(EVERY);
    const { entries } = decodeChain(bytes, 0, bytes.length, firstType, false);
    expect(entries.map((e) => e.payload)).toEqual(EVERY);
    expect(Buffer.concat(entries.map((e) => e.raw)).equals(bytes)).toBe(true);
  });

  it('length rules: nonce 8..256, ID data by type, delete SPIs, NAT-OA addresses, notify SPI sizes', () => {
    const one = (type: number, body: Buffer) => code(() => decodeChain(rawPayload(0, body), 0, body.length + 4, type, false));
    expect(one(PayloadType.NONCE, Buffer.alloc(7))).toBe(V1WireErrorCode.BAD_NONCE_LENGTH);
    expect(one(PayloadType.NONCE, Buffer.alloc(8))).toBeUndefined();
    expect(one(PayloadType.NONCE, Buffer.alloc(256))).toBeUndefined();
    expect(one(PayloadType.NONCE, Buffer.alloc(257))).toBe(V1WireErrorCode.BAD_NONCE_LENGTH);
    expect(one(PayloadType.KE, Buffer.alloc(0))).toBe(V1WireErrorCode.EMPTY_DATA);
    expect(one(PayloadType.KE, Buffer.alloc(1025))).toBe(V1WireErrorCode.TOO_LARGE);
    expect(one(PayloadType.HASH, Buffer.alloc(65))).toBe(V1WireErrorCode.TOO_LARGE);
    expect(one(PayloadType.ID, Buffer.from([IdType.ID_IPV4_ADDR, 0, 0, 0, 1, 2, 3]))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(one(PayloadType.ID, Buffer.from([IdType.ID_IPV4_ADDR_SUBNET, 0, 0, 0, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(one(PayloadType.ID, Buffer.from([99, 0, 0, 0, 1]))).toBe(V1WireErrorCode.BAD_VALUE);
    expect(one(PayloadType.ID, Buffer.from([IdType.ID_FQDN, 0, 0, 0]))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(one(PayloadType.DELETE, Buffer.from([0, 0, 0, 1, 3, 4, 0, 2, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(one(PayloadType.DELETE, Buffer.from([0, 0, 0, 1, 3, 4, 0, 0]))).toBe(V1WireErrorCode.BAD_VALUE);
    expect(one(PayloadType.DELETE, Buffer.from([0, 0, 0, 1, 1, 4, 0, 1, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_SPI_SIZE);
    expect(one(PayloadType.DELETE, Buffer.from([0, 0, 0, 7, 3, 4, 0, 1, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_DOI);
    expect(one(PayloadType.NOTIFICATION, Buffer.from([0, 0, 0, 1, 1, 4, 0x8d, 0x28, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_SPI_SIZE);
    expect(one(PayloadType.NOTIFICATION, Buffer.from([0, 0, 0, 1, 9, 0, 0x8d, 0x28]))).toBe(V1WireErrorCode.BAD_PROTOCOL_ID);
    expect(one(PayloadType.NAT_OA, Buffer.from([IdType.ID_IPV4_ADDR, 0, 0, 0, 1, 2, 3]))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(one(PayloadType.NAT_OA, Buffer.from([IdType.ID_FQDN, 0, 0, 0, 1, 2, 3, 4]))).toBe(V1WireErrorCode.BAD_VALUE);
  });

  it('chains: payload length below 4, past the end, trailing bytes only inside encrypted bodies', () => {
    expect(code(() => decodeChain(rawPayload(0, Buffer.alloc(4), 3), 0, 8, PayloadType.VENDOR_ID, false))).toBe(V1WireErrorCode.BAD_LENGTH);
    expect(code(() => decodeChain(rawPayload(0, Buffer.alloc(4), 40), 0, 8, PayloadType.VENDOR_ID, false))).toBe(V1WireErrorCode.TRUNCATED);
    const padded = Buffer.concat([rawPayload(0, Buffer.alloc(4)), Buffer.alloc(8)]);
    expect(code(() => decodeChain(padded, 0, padded.length, PayloadType.VENDOR_ID, false))).toBe(V1WireErrorCode.TRAILING_DATA);
    expect(decodeChain(padded, 0, padded.length, PayloadType.VENDOR_ID, true).entries).toHaveLength(1);
    const header = decodeHeader(rawMessage({ cookieI: COOKIE, firstPayload: PayloadType.VENDOR_ID, flags: 1 }, Buffer.alloc(16)));
    expect(decodePlaintext(header, padded)).toHaveLength(1);
    const loop = Buffer.alloc(4 * 70);
    for (let i = 0; i < loop.length; i += 4) {
      loop.writeUInt8(PayloadType.VENDOR_ID, i);
      loop.writeUInt16BE(4, i + 2);
    }
    expect(code(() => decodeChain(loop, 0, loop.length, PayloadType.VENDOR_ID, false))).toBeDefined();
  });

  it('the 0.0.0.0/0 identity of quick mode (RFC 2407 §4.6.2.1 ID_IPV4_ADDR_SUBNET)', () => {
    expect(ipv4SubnetId('0.0.0.0', 0)).toEqual({ kind: 'ID', idType: 4, protocolId: 0, port: 0, data: Buffer.alloc(8) });
    expect(ipv4SubnetId('10.1.0.0', 16).data.toString('hex')).toBe('0a010000ffff0000');
  });
});

describe('message rules', () => {
  const entries = (...payloads: V1Payload[]): ChainEntry[] => {
    const { firstType, bytes } = encodeChain(payloads);
    return decodeChain(bytes, 0, bytes.length, firstType, false).entries;
  };
  const p = Object.fromEntries(EVERY.map((x) => [x.kind, x])) as Record<V1Payload['kind'], V1Payload>;
  const hash = p.HASH;
  const cases: [MessageKind, V1Payload[], boolean][] = [
    ['MM1', [p.SA, p.VID], true],
    ['MM1', [p.VID, p.SA], false],
    ['MM1', [p.VID], false],
    ['MM1', [p.SA, p.SA], false],
    ['MM1', [p.SA, p.KE], false],
    ['MM3', [p.KE, p.NONCE, p['NAT-D'], p['NAT-D']], true],
    ['MM3', [p.KE, p['NAT-D']], false],
    ['MM5', [p.ID, hash, p.N], true],
    ['MM5', [p.ID], false],
    ['QM1', [hash, p.SA, p.NONCE, p.KE, p.ID, p.ID], true],
    ['QM1', [hash, p.SA, p.NONCE], true],
    ['QM1', [hash, p.SA, p.NONCE, p.ID], false],
    ['QM1', [p.SA, hash, p.NONCE], false],
    ['QM1', [hash, p.SA, p.NONCE, p.KE, p.KE], false],
    ['QM2', [hash, p.SA, p.NONCE, p['NAT-OA'], p['NAT-OA']], true],
    ['QM3', [hash], true],
    ['QM3', [hash, p.NONCE], false],
    ['INFO', [hash, p.D, p.N], true],
    ['INFO', [hash], false],
    ['INFO', [p.N], false],
    ['INFO_PLAIN', [p.N], true],
    ['INFO_PLAIN', [p.D], false],
  ];
  for (const [kind, payloads, ok] of cases) {
    it(`${kind} [${payloads.map((x) => x.kind).join(' ')}] ${ok ? 'passes' : 'is refused'}`, () => {
      expect(checkMessageRules(kind, entries(...payloads)).ok).toBe(ok);
    });
  }
});
