/**
 * The IKEv2 crypto glue against the RFC formulas, recomputed here on @noble/hashes (an
 * implementation independent of node:crypto): key schedule (RFC 7296 §2.14, §2.17, §2.18),
 * PSK AUTH (§2.15), NAT detection (§2.23), the §2.8.1 nonce order, and SK payload protection
 * (§3.14, RFC 5282) including tampering and IV uniqueness.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import type { PrfName } from '../../../../src/crypto/transforms.js';
import { ExchangeType, PayloadType } from '../../../../src/ike/v2/wire/constants.js';
import { UnsupportedCriticalPayloadError } from '../../../../src/ike/v2/wire/errors.js';
import { decodeMessage, type IkeHeaderFields } from '../../../../src/ike/v2/wire/message.js';
import type { Payload } from '../../../../src/ike/v2/wire/payloads.js';
import { idPayloadBody, pskAuthData } from '../../../../src/ike/v2/crypto/auth.js';
import { deriveChildKeys, expandIkeKeys, initialSkeyseed, rekeySkeyseed } from '../../../../src/ike/v2/crypto/keys.js';
import { addressBytes } from '../../../../src/ike/ip-address.js';
import { forcedEncapsulationHash, natDetectionHash } from '../../../../src/ike/v2/crypto/nat-detection.js';
import { lowestNonce, ourExchangeLoses } from '../../../../src/ike/v2/crypto/nonce.js';
import { SkProtection } from '../../../../src/ike/v2/crypto/protection.js';
import { UnauthenticatedMessageError } from '../../../../src/ike/errors.js';
import type { IkeSuite } from '../../../../src/ike/proposals/suites.js';
import { SeededRandom } from '../harness/seeded-random.js';

const HASHES = { 'prf-hmac-sha1': sha1, 'prf-hmac-sha256': sha256, 'prf-hmac-sha384': sha384, 'prf-hmac-sha512': sha512 } as const;

function refPrf(name: PrfName, key: Uint8Array, ...data: Uint8Array[]): Buffer {
  return Buffer.from(hmac(HASHES[name], key, Buffer.concat(data)));
}

/** prf+ exactly as RFC 7296 §2.13 writes it. */
function refPrfPlus(name: PrfName, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let n = 1; Buffer.concat(out).length < length; n++) {
    t = refPrf(name, key, t, seed, Uint8Array.of(n));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
const NI = bytes(32, 0x11);
const NR = bytes(32, 0x22);
const SPI_I = bytes(8, 0xa1);
const SPI_R = bytes(8, 0xb2);
const GIR = bytes(256, 0x5c);

const SUITES: IkeSuite[] = [
  { encryption: 'aes128-cbc', integrity: 'hmac-sha1-96', prf: 'prf-hmac-sha1', dhGroup: 2 },
  { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128', prf: 'prf-hmac-sha256', dhGroup: 14 },
  { encryption: 'aes128-cbc', integrity: 'hmac-sha384-192', prf: 'prf-hmac-sha384', dhGroup: 20 },
  { encryption: 'aes256-cbc', integrity: 'hmac-sha512-256', prf: 'prf-hmac-sha512', dhGroup: 21 },
  { encryption: 'aes128-gcm16', prf: 'prf-hmac-sha256', dhGroup: 19 },
  { encryption: 'aes256-gcm16', prf: 'prf-hmac-sha512', dhGroup: 19 },
];

describe('IKE SA key schedule (RFC 7296 §2.14)', () => {
  it.each(SUITES)('SKEYSEED and the seven keys for %o', (suite) => {
    const skeyseed = initialSkeyseed(suite.prf, NI, NR, GIR);
    expect(skeyseed).toEqual(refPrf(suite.prf, Buffer.concat([NI, NR]), GIR));
    const keys = expandIkeKeys(suite, skeyseed, NI, NR, SPI_I, SPI_R);
    const prfLen = { 'prf-hmac-sha1': 20, 'prf-hmac-sha256': 32, 'prf-hmac-sha384': 48, 'prf-hmac-sha512': 64 }[suite.prf];
    const integLen = suite.integrity ? { 'hmac-sha1-96': 20, 'hmac-sha256-128': 32, 'hmac-sha384-192': 48, 'hmac-sha512-256': 64 }[suite.integrity] : 0;
    // AES-GCM keys carry the 4-byte salt (RFC 5282 §7.1).
    const encLen = { 'aes128-cbc': 16, 'aes256-cbc': 32, 'aes128-gcm16': 20, 'aes256-gcm16': 36 }[suite.encryption];
    const lengths = [prfLen, integLen, integLen, encLen, encLen, prfLen, prfLen];
    const stream = refPrfPlus(suite.prf, skeyseed, Buffer.concat([NI, NR, SPI_I, SPI_R]), lengths.reduce((a, b) => a + b));
    const expected: Buffer[] = [];
    let at = 0;
    for (const len of lengths) {
      expected.push(stream.subarray(at, at + len));
      at += len;
    }
    expect([keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr]).toEqual(expected);
  });

  it('IKE SA rekey: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) under the old PRF (§2.18)', () => {
    const oldSkD = bytes(20, 0x33);
    const skeyseed = rekeySkeyseed('prf-hmac-sha1', oldSkD, GIR, NI, NR);
    expect(skeyseed).toEqual(refPrf('prf-hmac-sha1', oldSkD, GIR, NI, NR));
    expect(skeyseed).toHaveLength(20);
  });
});

describe('CHILD SA keys (RFC 7296 §2.17)', () => {
  it('KEYMAT = prf+(SK_d, Ni | Nr) in the order encr-i, integ-i, encr-r, integ-r', () => {
    const skD = bytes(32, 0x44);
    const keys = deriveChildKeys('prf-hmac-sha256', skD, { encryption: 'aes256-cbc', integrity: 'hmac-sha256-128' }, NI, NR);
    const stream = refPrfPlus('prf-hmac-sha256', skD, Buffer.concat([NI, NR]), 2 * (32 + 32));
    expect(keys.encI).toEqual(stream.subarray(0, 32));
    expect(keys.integI).toEqual(stream.subarray(32, 64));
    expect(keys.encR).toEqual(stream.subarray(64, 96));
    expect(keys.integR).toEqual(stream.subarray(96, 128));
  });

  it('with PFS the new g^ir leads the seed; AES-GCM takes 4 salt bytes and no integrity key', () => {
    const skD = bytes(64, 0x45);
    const keys = deriveChildKeys('prf-hmac-sha512', skD, { encryption: 'aes128-gcm16', dhGroup: 19 }, NI, NR, GIR);
    const stream = refPrfPlus('prf-hmac-sha512', skD, Buffer.concat([GIR, NI, NR]), 40);
    expect(keys.encI).toEqual(stream.subarray(0, 20));
    expect(keys.encR).toEqual(stream.subarray(20, 40));
    expect(keys.integI).toBeUndefined();
    expect(keys.integR).toBeUndefined();
  });
});

describe('PSK AUTH (RFC 7296 §2.15)', () => {
  it('AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, ID body))', () => {
    const psk = Buffer.from('secret.psk_value');
    const realMessage = bytes(300, 0x66);
    const skP = bytes(32, 0x77);
    const idBody = idPayloadBody(1, Buffer.from([198, 51, 100, 10]));
    expect(idBody).toEqual(Buffer.from([1, 0, 0, 0, 198, 51, 100, 10]));
    const auth = pskAuthData('prf-hmac-sha256', psk, { realMessage, peerNonce: NR, skP, idPayloadBody: idBody });
    const padKey = refPrf('prf-hmac-sha256', psk, Buffer.from('Key Pad for IKEv2'));
    expect(auth).toEqual(refPrf('prf-hmac-sha256', padKey, realMessage, NR, refPrf('prf-hmac-sha256', skP, idBody)));
  });
});

describe('NAT detection (RFC 7296 §2.23)', () => {
  it('SHA-1(SPIi | SPIr | IP | port)', () => {
    const hash = natDetectionHash(SPI_I, SPI_R, { address: '198.51.100.10', port: 4500 });
    expect(hash).toEqual(Buffer.from(sha1(Buffer.concat([SPI_I, SPI_R, Buffer.from([198, 51, 100, 10]), Buffer.from([0x11, 0x94])]))));
  });

  it('IPv6 addresses are 16 octets, :: expanded', () => {
    expect(addressBytes('2001:db8::1').toString('hex')).toBe('20010db8000000000000000000000001');
    expect(addressBytes('::ffff:192.0.2.1').toString('hex')).toBe('00000000000000000000ffffc0000201');
  });

  it('the forced-encapsulation hash matches no address', () => {
    const fake = forcedEncapsulationHash(SPI_I, SPI_R);
    expect(fake).toHaveLength(20);
    expect(fake).not.toEqual(natDetectionHash(SPI_I, SPI_R, { address: '198.51.100.10', port: 500 }));
  });
});

describe('lowest nonce (RFC 7296 §2.8.1)', () => {
  it('compares octet by octet; a prefix is lower', () => {
    const a = Buffer.from([0x01, 0xff, 0xff]);
    const b = Buffer.from([0x02, 0x00]);
    const prefix = Buffer.from([0x01, 0xff]);
    expect(lowestNonce([b, a])).toBe(a);
    expect(lowestNonce([a, prefix, b])).toBe(prefix);
    // Not as integers: 0x02 00 is the larger integer-wise comparison loser only by length.
    expect(ourExchangeLoses([b, bytes(2, 0xff)], [a, bytes(3, 0xff)])).toBe(false);
    expect(ourExchangeLoses([a, bytes(2, 0xff)], [b, bytes(3, 0xff)])).toBe(true);
  });
});

describe('SK payload protection (RFC 7296 §3.14, RFC 5282)', () => {
  const header = (messageId: number, initiator: boolean): IkeHeaderFields => ({
    spiI: SPI_I,
    spiR: SPI_R,
    exchangeType: ExchangeType.INFORMATIONAL,
    flags: { initiator, response: false, version: false },
    messageId,
  });
  const payloads: Payload[] = [{ kind: 'N', protocolId: 0, spi: Buffer.alloc(0), notifyType: 16384, data: Buffer.alloc(0) }];

  function pairFor(suite: IkeSuite): { i: SkProtection; r: SkProtection } {
    const keys = expandIkeKeys(suite, initialSkeyseed(suite.prf, NI, NR, GIR), NI, NR, SPI_I, SPI_R);
    return { i: new SkProtection(suite, keys, true, new SeededRandom(1)), r: new SkProtection(suite, keys, false, new SeededRandom(2)) };
  }

  it.each(SUITES)('round trip both directions, %o', (suite) => {
    const { i, r } = pairFor(suite);
    const fromI = i.protect(header(1, true), payloads);
    expect(r.unprotect(fromI, decodeMessage(fromI))).toEqual(payloads);
    const fromR = r.protect(header(1, false), payloads);
    expect(i.unprotect(fromR, decodeMessage(fromR))).toEqual(payloads);
    // Our own message does not verify with the keys of our own receive direction.
    expect(() => i.unprotect(fromI, decodeMessage(fromI))).toThrow(UnauthenticatedMessageError);
  });

  it.each(SUITES)('any flipped bit (header, IV, ciphertext, ICV) is an unauthenticated drop, %o', (suite) => {
    const { i, r } = pairFor(suite);
    const message = i.protect(header(7, true), payloads);
    for (const offset of [0, 20, 28, 33, message.length - 20, message.length - 1]) {
      const tampered = Buffer.from(message);
      tampered[offset] = (tampered[offset] ?? 0) ^ 0x01;
      let decoded;
      try {
        decoded = decodeMessage(tampered);
      } catch {
        continue; // the header no longer parses: dropped even earlier
      }
      expect(() => r.unprotect(tampered, decoded), `offset ${offset}`).toThrow(UnauthenticatedMessageError);
    }
  });

  it('AES-GCM IVs are a counter: never repeated under one key', () => {
    const { i } = pairFor(SUITES[4] as IkeSuite);
    const ivs = new Set<string>();
    for (let n = 0; n < 50; n++) {
      const message = i.protect(header(n, true), payloads);
      ivs.add(message.subarray(32, 40).toString('hex'));
    }
    expect(ivs.size).toBe(50);
  });

  it('an unknown critical payload inside SK surfaces after authentication', () => {
    const suite = SUITES[1] as IkeSuite;
    const { i, r } = pairFor(suite);
    const critical: Payload[] = [{ kind: 'unknown', type: 200, critical: true, body: Buffer.alloc(3) }];
    const message = i.protect(header(3, true), critical);
    expect(() => r.unprotect(message, decodeMessage(message))).toThrow(UnsupportedCriticalPayloadError);
    expect(PayloadType.SK).toBe(46);
  });
});
