/**
 * prf (full HMAC) and the integrity transforms (truncated HMAC): known answers
 * from RFC 2202 (SHA-1), RFC 4231 (SHA-2) and RFC 4868 §2.7.2.1 (HMAC-SHA-256-128
 * with its 32-byte key), then a differential run against @noble/hashes.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { computeIcv, verifyIcv } from '../../../src/crypto/integrity.js';
import { prf } from '../../../src/crypto/prf.js';
import { INTEGRITY, PRF, type IntegrityName, type PrfName } from '../../../src/crypto/transforms.js';
import { ascii, hex, SeededRandom } from './helpers.js';

const NOBLE_HASH = { sha1, sha256, sha384, sha512 } as const;

/** RFC 2202 §3, test cases 1–7 (HMAC-SHA-1). */
const RFC2202 = [
  { key: hex('0b'.repeat(20)), data: ascii('Hi There'), digest: 'b617318655057264e28bc0b6fb378c8ef146be00' },
  { key: ascii('Jefe'), data: ascii('what do ya want for nothing?'), digest: 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79' },
  { key: hex('aa'.repeat(20)), data: hex('dd'.repeat(50)), digest: '125d7342b9ac11cd91a39af48aa17b4f63f175d3' },
  {
    key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: hex('cd'.repeat(50)),
    digest: '4c9007f4026250c6bc8414f9bf50c86c2d7235da',
  },
  { key: hex('0c'.repeat(20)), data: ascii('Test With Truncation'), digest: '4c1a03424b55e07fe7f27be1d58bb9324a9a5a04' },
  {
    key: hex('aa'.repeat(80)),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    digest: 'aa4ae5e15272d00e95705637ce8a3b55ed402112',
  },
  {
    key: hex('aa'.repeat(80)),
    data: ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
    digest: 'e8e99d0f45237d786d6bbaa7965c7808bbff1a91',
  },
];

interface Rfc4231Case {
  readonly name: string;
  readonly key: Buffer;
  readonly data: Buffer;
  readonly sha256: string;
  readonly sha384: string;
  readonly sha512: string;
}

/** RFC 4231 §4.2–4.8 (test case 5, truncation, is separate below). */
const RFC4231: readonly Rfc4231Case[] = [
  {
    name: 'test case 1',
    key: hex('0b'.repeat(20)),
    data: ascii('Hi There'),
    sha256: 'b0344c61d8db38535ca8afceaf0bf12b 881dc200c9833da726e9376c2e32cff7',
    sha384: `afd03944d84895626b0825f4ab46907f 15f9dadbe4101ec682aa034c7cebc59c
             faea9ea9076ede7f4af152e8b2fa9cb6`,
    sha512: `87aa7cdea5ef619d4ff0b4241a1d6cb0 2379f4e2ce4ec2787ad0b30545e17cde
             daa833b7d6b8a702038b274eaea3f4e4 be9d914eeb61f1702e696c203a126854`,
  },
  {
    name: 'test case 2',
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    sha256: '5bdcc146bf60754e6a042426089575c7 5a003f089d2739839dec58b964ec3843',
    sha384: `af45d2e376484031617f78d2b58a6b1b 9c7ef464f5a01b47e42ec3736322445e
             8e2240ca5e69e2c78b3239ecfab21649`,
    sha512: `164b7a7bfcf819e2e395fbe73b56e0a3 87bd64222e831fd610270cd7ea250554
             9758bf75c05a994a6d034f65f8f0e6fd caeab1a34d4a6b4b636e070a38bce737`,
  },
  {
    name: 'test case 3',
    key: hex('aa'.repeat(20)),
    data: hex('dd'.repeat(50)),
    sha256: '773ea91e36800e46854db8ebd09181a7 2959098b3ef8c122d9635514ced565fe',
    sha384: `88062608d3e6ad8a0aa2ace014c8a86f 0aa635d947ac9febe83ef4e55966144b
             2a5ab39dc13814b94e3ab6e101a34f27`,
    sha512: `fa73b0089d56a284efb0f0756c890be9 b1b5dbdd8ee81a3655f83e33b2279d39
             bf3e848279a722c806b485a47e67c807 b946a337bee8942674278859e13292fb`,
  },
  {
    name: 'test case 4',
    key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: hex('cd'.repeat(50)),
    sha256: '82558a389a443c0ea4cc819899f2083a 85f0faa3e578f8077a2e3ff46729665b',
    sha384: `3e8a69b7783c25851933ab6290af6ca7 7a9981480850009cc5577c6e1f573b4e
             6801dd23c4a7d679ccf8a386c674cffb`,
    sha512: `b0ba465637458c6990e5a8c5f61d4af7 e576d97ff94b872de76f8050361ee3db
             a91ca5c11aa25eb4d679275cc5788063 a5f19741120c4f2de2adebeb10a298dd`,
  },
  {
    name: 'test case 6',
    key: hex('aa'.repeat(131)),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f 8e0bc6213728c5140546040f0ee37f54',
    sha384: `4ece084485813e9088d2c63a041bc5b4 4f9ef1012a2b588f3cd11f05033ac4c6
             0c2ef6ab4030fe8296248df163f44952`,
    sha512: `80b24263c7c1a3ebb71493c1dd7be8b4 9b46d1f41b4aeec1121b013783f8f352
             6b56d037e05f2598bd0fd2215d6a1e52 95e64f73f63f0aec8b915a985d786598`,
  },
  {
    name: 'test case 7',
    key: hex('aa'.repeat(131)),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. ' +
        'The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    sha256: '9b09ffa71b942fcb27635fbcd5b0e944 bfdc63644f0713938a7f51535c3a35e2',
    sha384: `6617178e941f020d351e2f254e8fd32c 602420feb0b8fb9adccebb82461e99c5
             a678cc31e799176d3860e6110c46523e`,
    sha512: `e37b6a775dc87dbaa4dfa9f96e5e3ffd debd71f8867289865df5a32d20cdc944
             b6022cac3c4982b10d5eeb55c3e4de15 134676fb6de0446065c97440fa8c6a58`,
  },
];

describe('prf = HMAC, RFC 2202 (SHA-1)', () => {
  it.each(RFC2202.map((c, i) => [i + 1, c] as const))('test case %i', (_n, c) => {
    expect(prf('prf-hmac-sha1', c.key, c.data).toString('hex')).toBe(c.digest);
  });
});

describe('prf = HMAC, RFC 4231 (SHA-2)', () => {
  it.each(RFC4231.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(prf('prf-hmac-sha256', c.key, c.data)).toEqual(hex(c.sha256));
    expect(prf('prf-hmac-sha384', c.key, c.data)).toEqual(hex(c.sha384));
    expect(prf('prf-hmac-sha512', c.key, c.data)).toEqual(hex(c.sha512));
  });

  it('test case 5: output truncated to 128 bits', () => {
    const key = hex('0c'.repeat(20));
    const data = ascii('Test With Truncation');
    expect(prf('prf-hmac-sha256', key, data).subarray(0, 16)).toEqual(hex('a3b6167473100ee06e0c796c2955552b'));
    expect(prf('prf-hmac-sha384', key, data).subarray(0, 16)).toEqual(hex('3abf34c3503b2a23a46efc619baef897'));
    expect(prf('prf-hmac-sha512', key, data).subarray(0, 16)).toEqual(hex('415fad6271580a531d4179bc891d87a6'));
  });

  it('hashes a list of chunks as their concatenation', () => {
    const c = RFC4231[5];
    if (!c) throw new Error('missing vector');
    const pieces = [c.data.subarray(0, 1), c.data.subarray(1, 70), Buffer.alloc(0), c.data.subarray(70)];
    expect(prf('prf-hmac-sha256', c.key, pieces)).toEqual(hex(c.sha256));
  });
});

describe('computeIcv / verifyIcv known answers', () => {
  it('HMAC-SHA1-96: RFC 2202 test case 5 digest-96, and cases 1 and 3 truncated', () => {
    const [case1, , case3, , case5] = RFC2202;
    if (!case1 || !case3 || !case5) throw new Error('missing vector');
    expect(computeIcv('hmac-sha1-96', case5.key, case5.data)).toEqual(hex('4c1a03424b55e07fe7f27be1'));
    for (const c of [case1, case3]) {
      expect(computeIcv('hmac-sha1-96', c.key, c.data)).toEqual(hex(c.digest.slice(0, 24)));
    }
  });

  /** RFC 4868 §2.7.2.1, test cases AUTH256-1 … AUTH256-4. */
  it.each([
    ['AUTH256-1', hex('0b'.repeat(32)), ascii('Hi There'), '198a607eb44bfbc69903a0f1cf2bbdc5'],
    ['AUTH256-2', ascii('Jefe'.repeat(8)), ascii('what do ya want for nothing?'), '167f928588c5cc2eef8e3093caa0e87c'],
    ['AUTH256-3', hex('aa'.repeat(32)), hex('dd'.repeat(50)), 'cdcb1220d1ecccea91e53aba3092f962'],
    [
      'AUTH256-4',
      hex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20'),
      hex('cd'.repeat(50)),
      '372efcf9b40b35c2115b1346903d2ef4',
    ],
  ] as const)('HMAC-SHA-256-128 %s', (_name, key, data, icv) => {
    expect(computeIcv('hmac-sha256-128', key, data)).toEqual(hex(icv));
    expect(verifyIcv('hmac-sha256-128', key, data, hex(icv))).toBe(true);
  });

  it('ICV lengths are 12, 16, 24 and 32 bytes', () => {
    const lengths = INTEGRITY.map((t) => computeIcv(t.name, Buffer.alloc(t.keyBytes, 7), ascii('x')).length);
    expect(lengths).toEqual([12, 16, 24, 32]);
  });
});

describe('verifyIcv rejections', () => {
  it.each(INTEGRITY.map((t) => [t.name, t] as const))('%s: a flipped bit, a truncated or extended ICV, other data', (name, t) => {
    const key = Buffer.alloc(t.keyBytes, 0x5a);
    const data = ascii('ESP header | IV | ciphertext');
    const icv = computeIcv(name, key, data);
    expect(verifyIcv(name, key, data, icv)).toBe(true);
    for (let bit = 0; bit < icv.length * 8; bit += 7) {
      const flipped = Buffer.from(icv);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(verifyIcv(name, key, data, flipped)).toBe(false);
    }
    expect(verifyIcv(name, key, data, icv.subarray(0, icv.length - 1))).toBe(false);
    expect(verifyIcv(name, key, data, Buffer.concat([icv, Buffer.alloc(1)]))).toBe(false);
    expect(verifyIcv(name, key, data, Buffer.alloc(0))).toBe(false);
    expect(verifyIcv(name, key, ascii('ESP header | IV | ciphertexT'), icv)).toBe(false);
  });

  it.each(INTEGRITY.map((t) => [t.name, t.keyBytes] as const))('%s refuses a key that is not %i bytes', (name, keyBytes) => {
    for (const length of [0, keyBytes - 1, keyBytes + 1]) {
      expect(() => computeIcv(name, Buffer.alloc(length, 0x11), ascii('x'))).toThrow(
        expect.objectContaining({ code: 'CRYPTO_KEY_LENGTH' }),
      );
    }
  });

  it('does not put key bytes in the key-length error message', () => {
    const key = Buffer.alloc(31, 0xab);
    try {
      computeIcv('hmac-sha256-128', key, ascii('x'));
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('abab');
    }
  });
});

describe('differential against @noble/hashes (random inputs)', () => {
  const random = new SeededRandom();

  it.each(PRF.map((t) => [t.name, t] as const))('prf %s', (name: PrfName, t) => {
    for (let i = 0; i < 300; i++) {
      const key = random.bytes(random.int(200));
      const data = random.bytes(random.int(600));
      const expected = Buffer.from(hmac(NOBLE_HASH[t.hash], key, data));
      expect(prf(name, key, data), `${random.label} iteration ${i}`).toEqual(expected);
    }
  });

  it.each(INTEGRITY.map((t) => [t.name, t] as const))('computeIcv %s', (name: IntegrityName, t) => {
    for (let i = 0; i < 300; i++) {
      const key = random.bytes(t.keyBytes);
      const data = random.bytes(random.int(1500));
      const expected = Buffer.from(hmac(NOBLE_HASH[t.hash], key, data)).subarray(0, t.icvBytes);
      expect(computeIcv(name, key, data), `${random.label} iteration ${i}`).toEqual(expected);
      expect(verifyIcv(name, key, data, expected)).toBe(true);
    }
  });
});
