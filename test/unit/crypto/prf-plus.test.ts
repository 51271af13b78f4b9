/**
 * prf+ (RFC 7296 §2.13) against a second implementation written straight from
 * the RFC text on @noble/hashes, plus its boundaries: 255 blocks at most.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { PrfPlusLengthError } from '../../../src/crypto/errors.js';
import { prf, prfPlus, prfPlusMaxLength } from '../../../src/crypto/prf.js';
import { PRF, type PrfTransform } from '../../../src/crypto/transforms.js';
import { ascii, SeededRandom } from './helpers.js';

const NOBLE_HASH = { sha1, sha256, sha384, sha512 } as const;

/** T1 = prf(K, S | 0x01); Tn = prf(K, Tn-1 | S | n); output T1 | T2 | … cut to `length`. */
function referencePrfPlus(t: PrfTransform, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const blocks: Uint8Array[] = [];
  let previous = new Uint8Array(0);
  for (let n = 1; blocks.length * t.outputBytes < length; n++) {
    previous = hmac(NOBLE_HASH[t.hash], key, Buffer.concat([previous, seed, Uint8Array.of(n)]));
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

describe('prfPlus', () => {
  const random = new SeededRandom();

  it.each(PRF.map((t) => [t.name, t] as const))('%s matches the reference on random inputs', (name, t) => {
    for (let i = 0; i < 200; i++) {
      const key = random.bytes(random.int(130));
      const seed = random.bytes(random.int(300));
      const length = random.int(10 * t.outputBytes + 1);
      expect(prfPlus(name, key, seed, length), `${random.label} iteration ${i}`).toEqual(
        referencePrfPlus(t, key, seed, length),
      );
    }
  });

  it.each(PRF.map((t) => [t.name, t] as const))('%s: the first two blocks follow the RFC 7296 §2.13 recurrence', (name, t) => {
    const key = ascii('SKEYSEED');
    const seed = ascii('Ni | Nr | SPIi | SPIr');
    const t1 = prf(name, key, [seed, Uint8Array.of(1)]);
    const t2 = prf(name, key, [t1, seed, Uint8Array.of(2)]);
    expect(prfPlus(name, key, seed, 2 * t.outputBytes)).toEqual(Buffer.concat([t1, t2]));
  });

  it.each(PRF.map((t) => [t.name, t] as const))('%s produces exactly 255 blocks, the last with n = 0xff', (name, t) => {
    const key = ascii('key');
    const seed = ascii('seed');
    const maximum = prfPlusMaxLength(name);
    expect(maximum).toBe(255 * t.outputBytes);
    const out = prfPlus(name, key, seed, maximum);
    expect(out.length).toBe(maximum);
    const t254 = out.subarray(253 * t.outputBytes, 254 * t.outputBytes);
    const t255 = Buffer.from(hmac(NOBLE_HASH[t.hash], key, Buffer.concat([t254, seed, Uint8Array.of(0xff)])));
    expect(out.subarray(254 * t.outputBytes)).toEqual(t255);
  });

  it.each(PRF.map((t) => [t.name] as const))('%s refuses 255 × output + 1 bytes with PRF_PLUS_TOO_LONG', (name) => {
    const maximum = prfPlusMaxLength(name);
    let caught: unknown;
    try {
      prfPlus(name, ascii('key'), ascii('seed'), maximum + 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PrfPlusLengthError);
    expect(caught).toMatchObject({ code: 'PRF_PLUS_TOO_LONG', requested: maximum + 1, maximum });
  });

  it('refuses negative, fractional and non-finite lengths', () => {
    for (const length of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => prfPlus('prf-hmac-sha256', ascii('k'), ascii('s'), length)).toThrow(PrfPlusLengthError);
    }
  });

  it('returns an empty buffer for length 0, and shorter outputs are prefixes of longer ones', () => {
    expect(prfPlus('prf-hmac-sha256', ascii('k'), ascii('s'), 0).length).toBe(0);
    const long = prfPlus('prf-hmac-sha384', ascii('k'), ascii('s'), 1000);
    for (const length of [1, 47, 48, 49, 97, 999]) {
      expect(prfPlus('prf-hmac-sha384', ascii('k'), ascii('s'), length)).toEqual(long.subarray(0, length));
    }
  });

  it('takes the seed as chunks, as IKE builds it (Ni | Nr | SPIi | SPIr)', () => {
    const ni = random.bytes(32);
    const nr = random.bytes(32);
    const spis = random.bytes(16);
    expect(prfPlus('prf-hmac-sha256', ascii('k'), [ni, nr, spis], 200)).toEqual(
      prfPlus('prf-hmac-sha256', ascii('k'), Buffer.concat([ni, nr, spis]), 200),
    );
  });
});
