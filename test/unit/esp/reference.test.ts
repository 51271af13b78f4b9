/**
 * The TypeScript reference ESP codec against published packets: RFC 3602 §4
 * cases #5 (transport mode, ICMP) and #7 (tunnel mode, next header 4), both
 * encryption-only AES-128-CBC; and the AES-GCM ESP packets of
 * draft-mcgrew-gcm-test-01 (128- and 256-bit keys, salt appended to the key as
 * RFC 4106 §8.1 lays out key material). Then round trips, tampering and
 * padding checks for every transform cgwd negotiates.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENCRYPTION, INTEGRITY, type EncryptionName, type IntegrityName } from '../../../src/crypto/transforms.js';
import { espDecap, espEncap, EspReferenceError, padLengthFor, type ReferenceSa } from '../../../src/esp/reference.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof EspReferenceError) return error.reason;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('RFC 3602 §4 ESP packets (AES-128-CBC, no integrity)', () => {
  it('case #5: transport-mode ICMP echo, SPI 0x4321, sequence 1', () => {
    const sa: ReferenceSa = { spi: 0x4321, encryption: 'aes128-cbc', encKey: hex('90d382b4 10eeba7a d938c46c ec1a82bf') };
    const icmp = hex(`08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
                      18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637`);
    const esp = hex(`00004321 00000001
                     e96e8c08 ab465763 fd098d45 dd3ff893
                     f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856
                     a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a
                     a269add0 47ad2d59 13ac19b7 cfbad4a6`);
    const iv = hex('e96e8c08 ab465763 fd098d45 dd3ff893');
    expect(espEncap(sa, icmp, { seq: 1, iv, nextHeader: 1 })).toEqual(esp);
    const out = espDecap(sa, esp);
    expect(out).toMatchObject({ spi: 0x4321, seq: 1, nextHeader: 1 });
    expect(out.payload).toEqual(icmp);
    expect(out.padding).toEqual(hex('01020304 05060708 090a0b0c 0d0e'));
  });

  it('case #7: tunnel-mode packet (inner IPv4, next header 4), SPI 0x8765, sequence 2', () => {
    const sa: ReferenceSa = { spi: 0x8765, encryption: 'aes128-cbc', encKey: hex('01234567 89abcdef 01234567 89abcdef') };
    const inner = hex(`45000054 09040000 4001f988 c0a87b03 c0a87bc8 08009f76 a90a0100 b49c083d
                       02a20400 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f 20212223
                       24252627 28292a2b 2c2d2e2f 30313233 34353637`);
    const esp = hex(`00008765 00000002
                     f4e76524 4f6407ad f13dc138 0f673f37
                     773b5241 a4c44922 5e4f3ce5 ed611b0c 237ca96c f74a9301 3c1b0ea1 a0cf70f8
                     e4ecaec7 8ac53aad 7a0f022b 859243c6 47752e94 a859352b 8a4d4d2d ecd136e5
                     c177f132 ad3fbfb2 201ac990 4c74ee0a 109e0ca1 e4dfe9d5 a100b842 f1c22f0d`);
    expect(espEncap(sa, inner, { seq: 2, iv: hex('f4e76524 4f6407ad f13dc138 0f673f37') })).toEqual(esp);
    const out = espDecap(sa, esp);
    expect(out).toMatchObject({ spi: 0x8765, seq: 2, nextHeader: 4 });
    expect(out.payload).toEqual(inner);
  });
});

describe('draft-mcgrew-gcm-test-01 ESP packets (AES-GCM-16)', () => {
  it('128-bit key, salt cafebabe: SPI 0xa5f8, sequence 10, UDP/DNS inner packet', () => {
    const sa: ReferenceSa = { spi: 0xa5f8, encryption: 'aes128-gcm16', encKey: hex('feffe992 8665731c 6d6a8f94 67308308 cafebabe') };
    const esp = hex(`0000a5f8 0000000a facedbad decaf888
                     deb22cd9 b07c72c1 6e3a65be eb8df304 a5a5897d 33ae530f 1ba76d5d 114d2a5c
                     3de81827 c10e9a4f 51330d0e ec416642 cfbb85a5 b47e48a4 ec3b9ba9 5d918bd1
                     83b70d3a a8bc6ee4 c309e9d8 5a41ad4a`);
    const plaintext = hex(`4500003e 698f0000 80114dcc c0a80102 c0a80101 0a980035 002a2343 b2d00100
                           00010000 00000000 03736970 09637962 65726369 74790264 6b000001 00010001`);
    const out = espDecap(sa, esp);
    expect(out).toMatchObject({ spi: 0xa5f8, seq: 10 });
    expect(Buffer.concat([out.payload, out.padding, Uint8Array.of(out.padding.length, out.nextHeader)])).toEqual(plaintext);
    expect(out.payload.readUInt16BE(2)).toBe(out.payload.length); // the inner IPv4 packet, whole
    // Re-encrypting with the same explicit IV and trailer reproduces the packet bit for bit.
    expect(espEncap(sa, out.payload, { seq: 10, iv: out.iv, nextHeader: out.nextHeader })).toEqual(esp);
  });

  it('256-bit key, salt 11223344: SPI 0x4a2cbfe3, sequence 2, TCP SYN inner packet', () => {
    const sa: ReferenceSa = {
      spi: 0x4a2cbfe3,
      encryption: 'aes256-gcm16',
      encKey: hex('abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab 11223344'),
    };
    const esp = hex(`4a2cbfe3 00000002 01020304 05060708
                     ff425c9b 724599df 7a3bcd51 0194e00d 6a78107f 1b0b1cbf 06efae9d 65a5d763
                     748a6379 85771d34 7f054565 9f14e99d ef842d8e b335f4ee cfdbf831 824b4c49
                     15956c96`);
    const plaintext = hex(`45000030 69a64000 80062690 c0a80102 9389155e 0a9e008b 2dc57ee0 00000000
                           70024000 20bf0000 020405b4 01010402 01020201`);
    const out = espDecap(sa, esp);
    expect(out).toMatchObject({ spi: 0x4a2cbfe3, seq: 2 });
    expect(Buffer.concat([out.payload, out.padding, Uint8Array.of(out.padding.length, out.nextHeader)])).toEqual(plaintext);
    expect(espEncap(sa, out.payload, { seq: 2, iv: out.iv, nextHeader: out.nextHeader })).toEqual(esp);
    const tampered = Buffer.from(esp);
    tampered[20] = (tampered[20] as number) ^ 1;
    expect(failure(() => espDecap(sa, tampered))).toBe('icv');
  });
});

type SuiteRow = [EncryptionName, IntegrityName | undefined];
const suites: SuiteRow[] = ENCRYPTION.flatMap((e): SuiteRow[] =>
  e.aead ? [[e.name, undefined]] : INTEGRITY.map((i): SuiteRow => [e.name, i.name]),
);

function randomSa(encryption: EncryptionName, integrity: IntegrityName | undefined): ReferenceSa {
  const enc = ENCRYPTION.find((e) => e.name === encryption)!;
  const integ = INTEGRITY.find((i) => i.name === integrity);
  return {
    spi: randomBytes(4).readUInt32BE(0) | 1,
    encryption,
    integrity,
    encKey: randomBytes(enc.keyBits / 8 + enc.saltBytes),
    integKey: integ ? randomBytes(integ.keyBytes) : undefined,
  };
}

describe.each(suites)('reference codec %s %s', (encryption, integrity) => {
  const sa = randomSa(encryption, integrity);
  const align = encryption.includes('gcm') ? 4 : 16;

  it('round-trips payloads of every length from 0 to 64 and some large ones', () => {
    for (const length of [...Array.from({ length: 65 }, (_, i) => i), 1399, 1400, 1438, 9000]) {
      const payload = randomBytes(length);
      const esp = espEncap(sa, payload, { seq: length + 1 });
      const ciphertextLength = esp.length - 8 - (align === 16 ? 16 : 8) - (integrity ? INTEGRITY.find((i) => i.name === integrity)!.icvBytes : 16);
      expect(ciphertextLength % align).toBe(0);
      expect(ciphertextLength).toBe(length + 2 + padLengthFor(length, align));
      const out = espDecap(sa, esp);
      expect(out.payload).toEqual(payload);
      expect(out.seq).toBe(length + 1);
      expect(out.nextHeader).toBe(4);
    }
  });

  it('GCM uses the sequence number as its explicit IV; CBC a fresh random IV each packet', () => {
    const a = espEncap(sa, Buffer.alloc(10), { seq: 7 });
    const b = espEncap(sa, Buffer.alloc(10), { seq: 7 });
    if (align === 4) {
      expect(a.subarray(8, 16)).toEqual(hex('0000000000000007'));
      expect(a).toEqual(b);
    } else {
      expect(a.subarray(8, 24)).not.toEqual(b.subarray(8, 24));
    }
  });

  it('rejects any flipped bit as an ICV failure, and short packets as malformed', () => {
    const esp = espEncap(sa, randomBytes(100), { seq: 1 });
    for (let i = 0; i < esp.length; i += 7) {
      const bad = Buffer.from(esp);
      bad[i] = (bad[i] as number) ^ 0x80;
      expect(failure(() => espDecap(sa, bad))).toBe('icv');
    }
    expect(failure(() => espDecap(sa, esp.subarray(0, 12)))).toBe('malformed');
  });

  it('checks padding bytes and the pad length', () => {
    const payload = randomBytes(31);
    const padLength = padLengthFor(31, align) + align;
    const wrong = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
    wrong[padLength - 1] = 0;
    expect(failure(() => espDecap(sa, espEncap(sa, payload, { seq: 1, extraPadBlocks: 1, padding: wrong })))).toBe('bad_padding');
    expect(failure(() => espDecap(sa, espEncap(sa, payload, { seq: 1, padLengthByte: 250 })))).toBe('bad_padding');
    expect(espDecap(sa, espEncap(sa, payload, { seq: 1, extraPadBlocks: 2 })).payload).toEqual(payload);
  });
});
