import { describe, expect, it } from 'vitest';
import {
  ExchangeType,
  InvalidMajorVersionError,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
  WireError,
  decodeHeader,
  decodeInnerPayloads,
  decodeMessage,
  encodeMessage,
  frameEncryptedMessage,
  integrityParts,
  keyLengthOf,
  padPlaintext,
  splitSkBody,
  unpadPlaintext,
} from '../../../../../src/ike/v2/wire/index.js';
import { header, hex, ikeAuthRequest, ikeAuthRequestInner } from './fixtures.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return (error as WireError).code;
  }
  throw new Error('expected a WireError');
}

/**
 * An IKE_SA_INIT request laid out by hand from RFC 7296 §3.1–§3.12, the way a capture shows it:
 * HDR, SA{1 IKE proposal, 4 transforms}, KE(group 19), Ni, N(NAT_D src), N(NAT_D dst),
 * N(IKEV2_FRAGMENTATION_SUPPORTED), V.
 */
const CAPTURED_IKE_SA_INIT = hex(`
  1122334455667788            # Initiator SPI
  0000000000000000            # Responder SPI (zero in the first message)
  21                          # Next Payload: SA (33)
  20                          # Version 2.0
  22                          # Exchange: IKE_SA_INIT (34)
  08                          # Flags: I
  00000000                    # Message ID 0
  0000010c                    # Length 268

  22 00 0030                  # SA: next KE, length 48
    00 00 002c                #   Proposal: last, length 44
    01 01 00 04               #   #1, IKE, SPI size 0, 4 transforms
    03 00 000c 01 00 000c     #   ENCR_AES_CBC (12), more
      800e 0080               #     Key Length (TV) = 128
    03 00 0008 02 00 0005     #   PRF_HMAC_SHA2_256
    03 00 0008 03 00 000c     #   AUTH_HMAC_SHA2_256_128
    00 00 0008 04 00 0013     #   DH group 19, last

  28 00 0048                  # KE: next Nonce, length 72
    0013 0000                 #   group 19, reserved
    ${'ab'.repeat(64)}        #   public value (64 bytes)

  29 00 0024                  # Nonce: next N, length 36
    ${'5e'.repeat(32)}

  29 00 001c 00 00 4004       # N(NAT_DETECTION_SOURCE_IP), no SPI
    ${'01'.repeat(20)}
  29 00 001c 00 00 4005       # N(NAT_DETECTION_DESTINATION_IP)
    ${'02'.repeat(20)}
  2b 00 0008 00 00 402e       # N(IKEV2_FRAGMENTATION_SUPPORTED), next V

  00 00 0014                  # V: last, length 20
    ${'76'.repeat(16)}
`);

describe('a hand-built IKE_SA_INIT request', () => {
  it('decodes field by field', () => {
    expect(CAPTURED_IKE_SA_INIT.length).toBe(268);
    const { header: hdr, payloads, encrypted } = decodeMessage(CAPTURED_IKE_SA_INIT);
    expect(hdr).toMatchObject({
      spiI: hex('1122334455667788'),
      spiR: Buffer.alloc(8),
      nextPayload: PayloadType.SA,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.IKE_SA_INIT,
      flags: { initiator: true, response: false, version: false },
      messageId: 0,
      length: 268,
    });
    expect(encrypted).toBeUndefined();
    expect(payloads.map((p) => p.kind)).toEqual(['SA', 'KE', 'Nonce', 'N', 'N', 'N', 'V']);

    const [sa, keP, nonceP, natSrc, natDst, frag, vid] = payloads;
    if (sa?.kind !== 'SA') throw new Error('SA expected');
    expect(sa.proposals).toHaveLength(1);
    const proposal = sa.proposals[0]!;
    expect(proposal).toMatchObject({ number: 1, protocolId: ProtocolId.IKE, spi: Buffer.alloc(0) });
    expect(proposal.transforms.map((t) => [t.type, t.id])).toEqual([
      [TransformType.ENCR, 12],
      [TransformType.PRF, 5],
      [TransformType.INTEG, 12],
      [TransformType.DH, 19],
    ]);
    expect(keyLengthOf(proposal.transforms[0]!)).toBe(128);
    expect(keP).toEqual({ kind: 'KE', group: 19, data: Buffer.alloc(64, 0xab) });
    expect(nonceP).toEqual({ kind: 'Nonce', nonce: Buffer.alloc(32, 0x5e) });
    expect(natSrc).toMatchObject({ kind: 'N', notifyType: NotifyType.NAT_DETECTION_SOURCE_IP, data: Buffer.alloc(20, 1) });
    expect(natDst).toMatchObject({ kind: 'N', notifyType: NotifyType.NAT_DETECTION_DESTINATION_IP, data: Buffer.alloc(20, 2) });
    expect(frag).toMatchObject({ kind: 'N', notifyType: NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, data: Buffer.alloc(0) });
    expect(vid).toEqual({ kind: 'V', data: Buffer.alloc(16, 0x76) });
  });

  it('re-encodes to the same bytes', () => {
    const decoded = decodeMessage(CAPTURED_IKE_SA_INIT);
    expect(encodeMessage({ header: decoded.header, payloads: decoded.payloads })).toEqual(CAPTURED_IKE_SA_INIT);
  });
});

describe('IKE header checks (RFC 7296 §3.1)', () => {
  const valid = (): Buffer => Buffer.from(CAPTURED_IKE_SA_INIT);

  it('header Length must equal the datagram length', () => {
    const longer = Buffer.concat([valid(), Buffer.alloc(1)]);
    expect(codeOf(() => decodeMessage(longer))).toBe('LENGTH_MISMATCH');
    const lying = valid();
    lying.writeUInt32BE(200, 24);
    expect(codeOf(() => decodeMessage(lying))).toBe('LENGTH_MISMATCH');
  });

  it('major version 3 → InvalidMajorVersionError carrying what the answer needs', () => {
    const v3 = valid();
    v3.writeUInt8(0x30, 17);
    let caught: unknown;
    try {
      decodeMessage(v3);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidMajorVersionError);
    const error = caught as InvalidMajorVersionError;
    expect(error.code).toBe('INVALID_MAJOR_VERSION');
    expect(error.majorVersion).toBe(3);
    expect(error.context.spiI).toEqual(hex('1122334455667788'));
    expect(error.context.exchangeType).toBe(ExchangeType.IKE_SA_INIT);
    expect(error.context.messageId).toBe(0);
  });

  it('major version 1 (IKEv1) is refused by this codec', () => {
    const v1 = valid();
    v1.writeUInt8(0x10, 17);
    expect(codeOf(() => decodeHeader(v1))).toBe('INVALID_MAJOR_VERSION');
  });

  it('the minor version is ignored on receipt', () => {
    const minor = valid();
    minor.writeUInt8(0x27, 17);
    expect(decodeMessage(minor).header.minorVersion).toBe(7);
  });

  it('reserved flag bits are ignored on receipt', () => {
    const flagged = valid();
    flagged.writeUInt8(0x08 | 0xc7, 19);
    expect(decodeMessage(flagged).header.flags).toEqual({ initiator: true, response: false, version: false });
  });

  it('shorter than a header → TRUNCATED; over 64 KiB → TOO_LARGE; zero SPIi → BAD_VALUE', () => {
    expect(codeOf(() => decodeMessage(Buffer.alloc(27)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeMessage(Buffer.alloc(65_536)))).toBe('TOO_LARGE');
    const zeroSpi = valid();
    zeroSpi.fill(0, 0, 8);
    expect(codeOf(() => decodeMessage(zeroSpi))).toBe('BAD_VALUE');
  });
});

describe('SK framing (RFC 7296 §3.14, RFC 5282 §5.1)', () => {
  it('decode gives the AAD range and the body the crypto layer needs', () => {
    const { datagram, plaintext, firstType } = ikeAuthRequest();
    const decoded = decodeMessage(datagram);
    expect(decoded.payloads).toHaveLength(1);
    const section = decoded.encrypted!;
    expect(section.payload.kind).toBe('SK');
    expect(section.payload.firstInnerType).toBe(firstType);
    expect(section.offset).toBe(28);
    expect(section.associatedData).toEqual(datagram.subarray(0, 32));
    expect(section.associatedData.readUInt16BE(30)).toBe(datagram.length - 28);

    const parts = splitSkBody(section.payload.body, 16, 16, 16);
    expect(parts.iv).toEqual(Buffer.alloc(16, 0x49));
    expect(parts.icv).toEqual(Buffer.alloc(16, 0x1c));
    const plain = unpadPlaintext(parts.ciphertext, 16);
    expect(plain).toEqual(plaintext);
    expect(decodeInnerPayloads(section.payload.firstInnerType, plain)).toEqual(ikeAuthRequestInner);

    const integrity = integrityParts(datagram, 16);
    expect(integrity.icv).toEqual(parts.icv);
    expect(integrity.covered.length).toBe(datagram.length - 16);
  });

  it('frameEncryptedMessage lays out slots as views with consistent lengths', () => {
    const frame = frameEncryptedMessage({
      header: header(ExchangeType.INFORMATIONAL),
      firstInnerType: PayloadType.DELETE,
      ivLength: 8,
      ciphertextLength: 5,
      icvLength: 16,
    });
    expect(frame.message.length).toBe(28 + 4 + 8 + 5 + 16);
    expect(frame.associatedData.length).toBe(32);
    expect(frame.message.readUInt8(16)).toBe(PayloadType.SK);
    expect(frame.message.readUInt8(28)).toBe(PayloadType.DELETE);
    expect(frame.message.readUInt16BE(30)).toBe(4 + 8 + 5 + 16);
    frame.ciphertext.fill(7);
    expect(frame.message.subarray(40, 45)).toEqual(Buffer.alloc(5, 7));
    expect(frame.integrityCovered.length).toBe(frame.message.length - 16);
    const decoded = decodeMessage(frame.message);
    expect(decoded.encrypted?.associatedData).toEqual(frame.associatedData);
  });

  it('SKF frames put Fragment Number/Total in the AAD and zero Next Payload after fragment 1', () => {
    const frame = frameEncryptedMessage({
      header: header(ExchangeType.IKE_AUTH),
      firstInnerType: PayloadType.IDi,
      ivLength: 8,
      ciphertextLength: 4,
      icvLength: 16,
      fragment: { number: 2, total: 2 },
    });
    expect(frame.associatedData.length).toBe(36);
    expect(frame.message.readUInt8(28)).toBe(0);
    const decoded = decodeMessage(frame.message);
    expect(decoded.encrypted?.payload).toMatchObject({ kind: 'SKF', fragmentNumber: 2, totalFragments: 2 });
    expect(codeOf(() =>
      frameEncryptedMessage({ header: header(35), firstInnerType: 35, ivLength: 8, ciphertextLength: 4, icvLength: 16, fragment: { number: 3, total: 2 } }),
    )).toBe('BAD_FRAGMENT');
  });

  it('splitSkBody rejects bodies too short for IV + ICV + pad length, and misaligned ciphertext', () => {
    expect(codeOf(() => splitSkBody(Buffer.alloc(32), 16, 16))).toBe('TRUNCATED');
    expect(codeOf(() => splitSkBody(Buffer.alloc(10), 16, 16))).toBe('TRUNCATED');
    expect(codeOf(() => splitSkBody(Buffer.alloc(33 + 4), 16, 16, 16))).toBe('BAD_LENGTH');
    expect(splitSkBody(Buffer.alloc(48), 16, 16, 16).ciphertext.length).toBe(16);
  });

  it('padPlaintext pads minimally; unpadPlaintext validates the Pad Length', () => {
    for (let length = 0; length < 40; length++) {
      for (const block of [1, 4, 8, 16]) {
        const padded = padPlaintext(Buffer.alloc(length, 0x33), block);
        expect(padded.length % block).toBe(0);
        expect(padded.length - length).toBeLessThanOrEqual(block);
        expect(unpadPlaintext(padded, block)).toEqual(Buffer.alloc(length, 0x33));
      }
    }
    expect(codeOf(() => unpadPlaintext(Buffer.from([0, 0, 0, 4])))).toBe('BAD_PADDING');
    expect(codeOf(() => unpadPlaintext(Buffer.from([0xff])))).toBe('BAD_PADDING');
    expect(codeOf(() => unpadPlaintext(Buffer.alloc(0)))).toBe('TRUNCATED');
    expect(codeOf(() => unpadPlaintext(Buffer.alloc(15), 16))).toBe('BAD_LENGTH');
    // Any pad length that fits is accepted (RFC 7296 §3.14), not only the minimum.
    expect(unpadPlaintext(Buffer.from([9, 0, 0, 0, 0, 0, 0, 6]), 8)).toEqual(Buffer.from([9]));
  });
});
