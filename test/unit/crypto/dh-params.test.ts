/**
 * The transcribed group constants, checked against sources that share no text
 * with src/crypto/dh-params.ts: node's built-in RFC 2409/3526 groups, the
 * algebra the RFCs state (bit lengths, subgroup order), and @noble/curves.
 */
import { checkPrimeSync, getDiffieHellman } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { DH_PARAMETERS, type EcpParameters, type ModpParameters } from '../../../src/crypto/dh-params.js';
import { DH_GROUPS, type DhGroupNumber } from '../../../src/crypto/transforms.js';
import { bitLength, modPow } from './helpers.js';

function modpOf(group: DhGroupNumber): ModpParameters {
  const params = DH_PARAMETERS[group];
  if (params.kind !== 'modp') throw new Error(`group ${group} is not MODP`);
  return params;
}

function ecpOf(group: DhGroupNumber): EcpParameters {
  const params = DH_PARAMETERS[group];
  if (params.kind !== 'ecp') throw new Error(`group ${group} is not ECP`);
  return params;
}

describe('DH parameter table', () => {
  it('has parameters for every group in DH_GROUPS, of the same kind and size', () => {
    for (const g of DH_GROUPS) {
      const params = DH_PARAMETERS[g.group];
      expect(params.kind).toBe(g.kind);
      if (params.kind === 'modp') expect(params.prime.length).toBe(g.publicBytes);
      else expect(2 * params.coordinateBytes).toBe(g.publicBytes);
    }
  });
});

describe('RFC 2409 / RFC 3526 MODP primes', () => {
  const nodeNames = [
    [2, 'modp2', 1024],
    [5, 'modp5', 1536],
    [14, 'modp14', 2048],
    [15, 'modp15', 3072],
    [16, 'modp16', 4096],
    [17, 'modp17', 6144],
    [18, 'modp18', 8192],
  ] as const;

  it.each(nodeNames)('group %i equals node getDiffieHellman(%s) and has %i bits', (group, nodeName, bits) => {
    const params = modpOf(group);
    const reference = getDiffieHellman(nodeName);
    expect(params.prime.equals(reference.getPrime())).toBe(true);
    expect(params.generator.equals(reference.getGenerator())).toBe(true);
    expect(params.g).toBe(2n);
    expect(bitLength(params.p)).toBe(bits);
    expect(params.q).toBeUndefined();
  });

  it.each(nodeNames)('group %i has the Oakley form: top and bottom 64 bits all ones', (group, _name, bits) => {
    const { p } = modpOf(group);
    const ones64 = (1n << 64n) - 1n;
    expect(p >> BigInt(bits - 64)).toBe(ones64);
    expect(p & ones64).toBe(ones64);
  });
});

describe('RFC 5114 MODP groups with prime-order subgroups', () => {
  const cases = [
    [22, 1024, 160],
    [23, 2048, 224],
    [24, 2048, 256],
  ] as const;

  it.each(cases)('group %i: p has %i bits, q has %i bits, both prime', (group, pBits, qBits) => {
    const { p, q } = modpOf(group);
    if (q === undefined) throw new Error('q missing');
    expect(bitLength(p)).toBe(pBits);
    expect(bitLength(q)).toBe(qBits);
    expect(checkPrimeSync(p, { checks: 16 })).toBe(true);
    expect(checkPrimeSync(q, { checks: 32 })).toBe(true);
  });

  it.each(cases)('group %i: q divides p − 1 and g generates the order-q subgroup', (group) => {
    const { p, q, g } = modpOf(group);
    if (q === undefined) throw new Error('q missing');
    expect((p - 1n) % q).toBe(0n);
    expect(g > 1n && g < p - 1n).toBe(true);
    expect(modPow(g, q, p)).toBe(1n);
  });
});

describe('RFC 5903 ECP curve constants', () => {
  const cases = [
    [19, p256, 256],
    [20, p384, 384],
    [21, p521, 521],
  ] as const;

  it.each(cases)('group %i: p and b equal @noble/curves, a = −3, field of %i bits', (group, curve, bits) => {
    const params = ecpOf(group);
    const reference = curve.Point.CURVE();
    expect(params.p).toBe(reference.p);
    expect(params.b).toBe(reference.b);
    expect(reference.a).toBe(params.p - 3n);
    expect(bitLength(params.p)).toBe(bits);
    expect(params.coordinateBytes).toBe(Math.ceil(bits / 8));
  });

  it.each(cases)('group %i: the generator satisfies y² = x³ − 3x + b with our p and b', (group, curve) => {
    const { p, b } = ecpOf(group);
    const { Gx, Gy } = curve.Point.CURVE();
    expect((Gy * Gy) % p).toBe((((Gx * Gx * Gx - 3n * Gx + b) % p) + p) % p);
  });

  it('P-256, P-384 and P-521 primes have their FIPS 186 closed forms', () => {
    expect(ecpOf(19).p).toBe(2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n);
    expect(ecpOf(20).p).toBe(2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n);
    expect(ecpOf(21).p).toBe(2n ** 521n - 1n);
  });
});
