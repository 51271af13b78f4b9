/**
 * The IKEv1 key schedule (RFC 2409 §5, §5.5, Appendix B) against a second implementation of the
 * formulas written from the RFC text with @noble/hashes, over seeded random inputs.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import type { EncryptionName, IntegrityName } from '../../../../src/crypto/transforms.js';
import {
  derivePhase1Keys,
  deriveKeymat,
  exchangeIv,
  expandEncryptionKey,
  initialIv,
  natDetectionHash,
  phase1Hash,
  quickModeHash1,
  quickModeHash2,
  quickModeHash3,
} from '../../../../src/ike/v1/crypto/keys.js';
import { IvChains, MessageProtection } from '../../../../src/ike/v1/crypto/protection.js';
import { SeededRandom } from '../harness/seeded-random.js';

const HASH = { 'hmac-sha1-96': sha1, 'hmac-sha256-128': sha256, 'hmac-sha384-192': sha384, 'hmac-sha512-256': sha512 } as const;
const INTEGRITY = Object.keys(HASH) as IntegrityName[];
const ENCRYPTION: EncryptionName[] = ['aes128-cbc', 'aes256-cbc'];
const cat = (...p: Uint8Array[]): Buffer => Buffer.concat(p);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('phase 1 keys', () => {
  it('SKEYID, SKEYID_d/a/e and Ka, with Appendix B expansion where SKEYID_e is short', () => {
    const rnd = new SeededRandom(11);
    for (const integrity of INTEGRITY) {
      for (const encryption of ENCRYPTION) {
        for (let i = 0; i < 5; i++) {
          const h = HASH[integrity];
          const prf = (k: Uint8Array, ...d: Uint8Array[]) => Buffer.from(hmac(h, k, cat(...d)));
          const input = {
            integrity,
            encryption,
            psk: rnd.bytes(8 + rnd.below(40)),
            nonceI: rnd.bytes(8 + rnd.below(249)),
            nonceR: rnd.bytes(8 + rnd.below(249)),
            sharedSecret: rnd.bytes(128 + rnd.below(900)),
            cookieI: rnd.bytes(8),
            cookieR: rnd.bytes(8),
          };
          const keys = derivePhase1Keys(input);
          const skeyid = prf(input.psk, input.nonceI, input.nonceR);
          const d = prf(skeyid, input.sharedSecret, input.cookieI, input.cookieR, Uint8Array.of(0));
          const a = prf(skeyid, d, input.sharedSecret, input.cookieI, input.cookieR, Uint8Array.of(1));
          const e = prf(skeyid, a, input.sharedSecret, input.cookieI, input.cookieR, Uint8Array.of(2));
          const need = encryption === 'aes256-cbc' ? 32 : 16;
          let ka: Buffer = e;
          if (e.length < need) {
            const k1 = prf(e, Uint8Array.of(0));
            const k2 = prf(e, k1);
            ka = cat(k1, k2);
          }
          expect(keys.skeyid.equals(skeyid)).toBe(true);
          expect(keys.skeyidD.equals(d)).toBe(true);
          expect(keys.skeyidA.equals(a)).toBe(true);
          expect(keys.encKey.equals(ka.subarray(0, need)), `${integrity} ${encryption}`).toBe(true);
        }
      }
    }
  });

  it('Appendix B: K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1), …', () => {
    const e = Buffer.alloc(20, 7);
    const out = expandEncryptionKey('prf-hmac-sha1', e, 60);
    const k1 = Buffer.from(hmac(sha1, e, Uint8Array.of(0)));
    const k2 = Buffer.from(hmac(sha1, e, k1));
    const k3 = Buffer.from(hmac(sha1, e, k2));
    expect(out.equals(cat(k1, k2, k3).subarray(0, 60))).toBe(true);
    expect(expandEncryptionKey('prf-hmac-sha256', Buffer.alloc(32, 1), 16).equals(Buffer.alloc(16, 1))).toBe(true);
  });

  it('HASH_I and HASH_R (RFC 2409 §5)', () => {
    const rnd = new SeededRandom(12);
    for (const integrity of INTEGRITY) {
      const h = HASH[integrity];
      const k = { integrity, skeyid: rnd.bytes(32), gxi: rnd.bytes(64), gxr: rnd.bytes(64), cookieI: rnd.bytes(8), cookieR: rnd.bytes(8), saiBody: rnd.bytes(56) };
      const idii = rnd.bytes(8);
      const idir = rnd.bytes(8);
      expect(phase1Hash(k, 'initiator', idii).equals(Buffer.from(hmac(h, k.skeyid, cat(k.gxi, k.gxr, k.cookieI, k.cookieR, k.saiBody, idii))))).toBe(true);
      expect(phase1Hash(k, 'responder', idir).equals(Buffer.from(hmac(h, k.skeyid, cat(k.gxr, k.gxi, k.cookieR, k.cookieI, k.saiBody, idir))))).toBe(true);
    }
  });

  it('IVs: hash(g^xi | g^xr) and hash(last phase 1 block | M-ID), cut to the block', () => {
    const gxi = Buffer.alloc(256, 1);
    const gxr = Buffer.alloc(256, 2);
    expect(initialIv('hmac-sha256-128', gxi, gxr, 16).equals(Buffer.from(sha256(cat(gxi, gxr))).subarray(0, 16))).toBe(true);
    const last = Buffer.alloc(16, 3);
    expect(exchangeIv('hmac-sha1-96', last, 0xdeadbeef, 16).equals(Buffer.from(sha1(cat(last, u32(0xdeadbeef)))).subarray(0, 16))).toBe(true);
  });

  it('NAT-D: HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 §3.2)', () => {
    const ci = Buffer.alloc(8, 1);
    const cr = Buffer.alloc(8, 2);
    const ip = Buffer.from([192, 0, 2, 1]);
    expect(natDetectionHash('hmac-sha384-192', ci, cr, ip, 4500).equals(Buffer.from(sha384(cat(ci, cr, ip, Buffer.from([0x11, 0x94])))))).toBe(true);
  });
});

describe('phase 2 keys and hashes', () => {
  it('HASH(1), HASH(2), HASH(3) (RFC 2409 §5.5)', () => {
    const a = Buffer.alloc(20, 9);
    const ni = Buffer.alloc(32, 4);
    const nr = Buffer.alloc(32, 5);
    const rest = Buffer.alloc(100, 6);
    expect(quickModeHash1('hmac-sha1-96', a, 77, rest).equals(Buffer.from(hmac(sha1, a, cat(u32(77), rest))))).toBe(true);
    expect(quickModeHash2('hmac-sha1-96', a, 77, ni, rest).equals(Buffer.from(hmac(sha1, a, cat(u32(77), ni, rest))))).toBe(true);
    expect(quickModeHash3('hmac-sha1-96', a, 77, ni, nr).equals(Buffer.from(hmac(sha1, a, cat(Uint8Array.of(0), u32(77), ni, nr))))).toBe(true);
  });

  it('KEYMAT = K1 | K2 | …, with and without g(qm)^xy', () => {
    const rnd = new SeededRandom(13);
    for (const integrity of INTEGRITY) {
      for (const pfs of [false, true]) {
        const h = HASH[integrity];
        const d = rnd.bytes(h.outputLen);
        const shared = pfs ? rnd.bytes(256) : undefined;
        const ni = rnd.bytes(32);
        const nr = rnd.bytes(24);
        const spi = 0x12345678;
        const seed = cat(...(shared ? [shared] : []), Uint8Array.of(3), u32(spi), ni, nr);
        let k: Buffer = Buffer.from(hmac(h, d, seed));
        let expected: Buffer = k;
        while (expected.length < 100) {
          k = Buffer.from(hmac(h, d, cat(k, seed)));
          expected = cat(expected, k);
        }
        const got = deriveKeymat({ integrity, skeyidD: d, sharedSecret: shared, protocolId: 3, spi, nonceI: ni, nonceR: nr }, 100);
        expect(got.equals(expected.subarray(0, 100))).toBe(true);
      }
    }
  });
});

describe('message protection', () => {
  it('CBC chaining per exchange, zero padding, nothing committed before authentication', () => {
    const key = Buffer.alloc(16, 1);
    const a = new MessageProtection('aes128-cbc', key, new IvChains('hmac-sha1-96', Buffer.alloc(16, 2)));
    const b = new MessageProtection('aes128-cbc', key, new IvChains('hmac-sha1-96', Buffer.alloc(16, 2)));
    const c1 = a.seal(0, Buffer.from('hello'));
    expect(c1.length).toBe(16);
    const o1 = b.open(0, c1);
    expect(o1.plaintext.subarray(0, 5).toString()).toBe('hello');
    expect(o1.plaintext.subarray(5).equals(Buffer.alloc(11))).toBe(true);
    // Not committed yet: opening again with the same IV works; a second message needs the commit.
    expect(b.open(0, c1).plaintext.subarray(0, 5).toString()).toBe('hello');
    o1.commit();
    const c2 = a.seal(0, Buffer.alloc(32, 7));
    const o2 = b.open(0, c2);
    expect(o2.plaintext.equals(Buffer.alloc(32, 7))).toBe(true);
    o2.commit();
    // Exchange IVs derive from the last phase 1 block and chain on their own.
    const c3 = a.seal(99, Buffer.alloc(16, 8));
    const o3 = b.open(99, c3);
    expect(o3.plaintext.equals(Buffer.alloc(16, 8))).toBe(true);
    expect(() => b.open(5, Buffer.alloc(15))).toThrow(expect.objectContaining({ code: 'BAD_ENCRYPTED_LENGTH' }));
  });
});
