/**
 * Diffie-Hellman: RFC 5903 §8 known answers, differential checks (ECP against
 * @noble/curves, MODP against BigInt modpow), one test per RFC 6989 rejection
 * rule, fixed-width padding, a round trip for every group, and redaction.
 */
import { createDiffieHellman } from 'node:crypto';
import { format, inspect } from 'node:util';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { describe, expect, it, vi } from 'vitest';
import { DH_PARAMETERS, type EcpParameters, type ModpParameters } from '../../../src/crypto/dh-params.js';
import { computeSharedSecret, dhBackend, DhKeyPair, generateKeyPair, validatePublicValue } from '../../../src/crypto/dh.js';
import { DhInvalidPublicError, DhParameterError, type DhInvalidPublicReason } from '../../../src/crypto/errors.js';
import { DH_GROUPS, type DhGroupNumber } from '../../../src/crypto/transforms.js';
import { CgwdError } from '../../../src/errors.js';
import { hex, modPow, SeededRandom, toBigInt, toFixedBytes } from './helpers.js';

const MODP_GROUPS = DH_GROUPS.filter((g) => g.kind === 'modp').map((g) => g.group);
const SAFE_PRIME_GROUPS = [2, 5, 14, 15, 16, 17, 18] as const;
const SUBGROUP_GROUPS = [22, 23, 24] as const;
const ECP_GROUPS = [19, 20, 21] as const;
const NOBLE_CURVE = { 19: p256, 20: p384, 21: p521 } as const;

function modp(group: DhGroupNumber): ModpParameters {
  const params = DH_PARAMETERS[group];
  if (params.kind !== 'modp') throw new Error(`group ${group} is not MODP`);
  return params;
}

function ecp(group: DhGroupNumber): EcpParameters {
  const params = DH_PARAMETERS[group];
  if (params.kind !== 'ecp') throw new Error(`group ${group} is not ECP`);
  return params;
}

function rejection(fn: () => unknown): DhInvalidPublicError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DhInvalidPublicError) return error;
    throw error;
  }
  throw new Error('expected DhInvalidPublicError, nothing was thrown');
}

function expectRejected(group: DhGroupNumber, value: Uint8Array, reason: DhInvalidPublicReason): void {
  const error = rejection(() => validatePublicValue(group, value));
  expect(error).toBeInstanceOf(CgwdError);
  expect(error).toMatchObject({ code: 'DH_INVALID_PUBLIC', group, reason });
}

describe('RFC 5903 §8 known answers (ECP groups 19, 20, 21)', () => {
  const vectors = [
    {
      group: 19,
      i: 'C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433',
      gix: 'DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180',
      giy: '5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3',
      r: 'C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53',
      grx: 'D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63',
      gry: '56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB',
      girx: 'D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE',
    },
    {
      group: 20,
      i: `099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655
          E35B5380 41E649EE 3FAEF896 783AB194`,
      gix: `667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6
            DE3AC808 ACB4BDB4 C88732AE E95F41AA`,
      giy: `9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E
            EB9FCFF3 C2C947DA E69B4C63 4573A81C`,
      r: `41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942
          E0308312 916B8ED2 960E4BD5 5A7448FC`,
      grx: `E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D
            0D1AC43A 0336DEF9 6FDA41D0 774A3571`,
      gry: `DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF
            F83FA401 42209DFF 5EAAD96D B9E6386C`,
      girx: `11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4
             D6031355 69B9E9D0 9CF5D4A2 70F59746`,
    },
    {
      group: 21,
      i: `0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0
          95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D
          4A52`,
      gix: `0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE
            E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C
            ED3E`,
      giy: `017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A
            D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F
            9582`,
      r: `0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E
          9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168
          5EB9`,
      grx: `00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21
            9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9
            460F`,
      gry: `015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87
            220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F
            C56A`,
      girx: `01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04
             D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3
             DDEA`,
    },
  ] as const;

  it.each(vectors.map((v) => [v.group, v] as const))('group %i: KE data is gx | gy and both sides derive x(g^ir)', (group, v) => {
    const initiator = DhKeyPair.fromPrivateValue(group, hex(v.i));
    const responder = DhKeyPair.fromPrivateValue(group, hex(v.r));
    expect(initiator.publicValue).toEqual(Buffer.concat([hex(v.gix), hex(v.giy)]));
    expect(responder.publicValue).toEqual(Buffer.concat([hex(v.grx), hex(v.gry)]));
    expect(initiator.computeSharedSecret(responder.publicValue)).toEqual(hex(v.girx));
    expect(responder.computeSharedSecret(initiator.publicValue)).toEqual(hex(v.girx));
  });

  it('group 19: the KEi payload of RFC 5903 §8.1 is the generic header, group, and publicValue', () => {
    const [v] = vectors;
    const initiator = DhKeyPair.fromPrivateValue(19, hex(v.i));
    const kei = hex(`00000048 00130000 DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF
                     945D0C37 72581180 5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58
                     389E0577 B8990BB3`);
    expect(kei.subarray(8)).toEqual(initiator.publicValue);
  });
});

describe('round trip, every group in DH_GROUPS', () => {
  it.each(DH_GROUPS.map((g) => [g.group, g] as const))('group %i', (group, g) => {
    const runs = group >= 17 ? 1 : 3;
    for (let i = 0; i < runs; i++) {
      const a = generateKeyPair(group);
      const b = generateKeyPair(group);
      expect(a.group).toBe(group);
      expect(a.publicValue.length).toBe(g.publicBytes);
      expect(b.publicValue.length).toBe(g.publicBytes);
      expect(a.publicValue.equals(b.publicValue)).toBe(false);
      validatePublicValue(group, a.publicValue);
      const secret = a.computeSharedSecret(b.publicValue);
      expect(secret).toEqual(computeSharedSecret(b, a.publicValue));
      const params = DH_PARAMETERS[group];
      expect(secret.length).toBe(params.kind === 'modp' ? params.prime.length : params.coordinateBytes);
    }
  });
});

describe('MODP shared secrets against BigInt modpow', () => {
  const random = new SeededRandom();

  it.each(MODP_GROUPS.map((group) => [group] as const))('group %i', (group) => {
    const { p, g, q, prime } = modp(group);
    const bits = prime.length * 8;
    // Full-range exponents where BigInt is quick enough; 512-bit ones for the big primes.
    const upper = q ?? (bits <= 2048 ? p - 2n : 1n << 512n);
    const runs = bits <= 2048 ? 6 : bits <= 4096 ? 3 : 1;
    for (let i = 0; i < runs; i++) {
      const x = random.bigint(2n, upper);
      const ours = DhKeyPair.fromPrivateValue(group, toFixedBytes(x, prime.length));
      const label = `${random.label} group ${group} iteration ${i}`;
      expect(ours.publicValue, label).toEqual(toFixedBytes(modPow(g, x, p), prime.length));
      const peer = generateKeyPair(group);
      const expected = toFixedBytes(modPow(toBigInt(peer.publicValue), x, p), prime.length);
      expect(ours.computeSharedSecret(peer.publicValue), label).toEqual(expected);
    }
  });

  it('left-pads a public value with leading zero bytes (x = 100 gives 2^100)', () => {
    const ours = DhKeyPair.fromPrivateValue(14, Uint8Array.of(100));
    expect(ours.publicValue.length).toBe(256);
    expect(toBigInt(ours.publicValue)).toBe(1n << 100n);
    expect(ours.publicValue.subarray(0, 243).every((byte) => byte === 0)).toBe(true);
  });

  it('left-pads a shared secret whose top byte is zero (RFC 7296 §2.14)', () => {
    const { p, prime } = modp(14);
    const peer = generateKeyPair(14);
    const y = toBigInt(peer.publicValue);
    let x = 2n;
    while (modPow(y, x, p) >> BigInt(8 * (prime.length - 1)) !== 0n) x++;
    const secret = DhKeyPair.fromPrivateValue(14, toFixedBytes(x, 8)).computeSharedSecret(peer.publicValue);
    expect(secret.length).toBe(256);
    expect(secret[0]).toBe(0);
    expect(secret).toEqual(toFixedBytes(modPow(y, x, p), 256));
  });
});

describe('ECP shared secrets against @noble/curves', () => {
  const random = new SeededRandom();
  const runs = { 19: 150, 20: 80, 21: 40 } as const;

  it.each(ECP_GROUPS.map((group) => [group] as const))('group %i', (group) => {
    const curve = NOBLE_CURVE[group];
    const { coordinateBytes } = ecp(group);
    const { n } = curve.Point.CURVE();
    for (let i = 0; i < runs[group]; i++) {
      const label = `${random.label} group ${group} iteration ${i}`;
      const nobleSecret = toFixedBytes(random.bigint(1n, n), coordinateBytes);
      const noblePublic = curve.getPublicKey(nobleSecret, false).subarray(1);
      expect(DhKeyPair.fromPrivateValue(group, nobleSecret).publicValue, label).toEqual(Buffer.from(noblePublic));
      const ours = generateKeyPair(group);
      const expected = curve.getSharedSecret(nobleSecret, Buffer.concat([Uint8Array.of(4), ours.publicValue]), true).subarray(1);
      expect(ours.computeSharedSecret(noblePublic), label).toEqual(Buffer.from(expected));
      expect(expected.length).toBe(coordinateBytes);
    }
  });
});

describe('MODP public value validation (RFC 6989 §2.1, §2.2)', () => {
  it.each(MODP_GROUPS.map((group) => [group] as const))('group %i: wrong length', (group) => {
    const length = modp(group).prime.length;
    const valid = toFixedBytes(modp(group).g, length);
    validatePublicValue(group, valid);
    expectRejected(group, valid.subarray(1), 'length');
    expectRejected(group, Buffer.concat([Uint8Array.of(0), valid]), 'length');
    expectRejected(group, Buffer.alloc(0), 'length');
  });

  it.each(MODP_GROUPS.map((group) => [group] as const))('group %i: 0, 1, p − 1, p, 2^n − 1 are out of range', (group) => {
    const { p, prime } = modp(group);
    const length = prime.length;
    for (const y of [0n, 1n, p - 1n, p, p + 1n, (1n << BigInt(8 * length)) - 1n]) {
      expectRejected(group, toFixedBytes(y, length), 'range');
    }
  });

  it.each(SAFE_PRIME_GROUPS.map((group) => [group] as const))('group %i: 2 and p − 2 are accepted', (group) => {
    const { p, prime } = modp(group);
    validatePublicValue(group, toFixedBytes(2n, prime.length));
    validatePublicValue(group, toFixedBytes(p - 2n, prime.length));
  });

  it.each(SUBGROUP_GROUPS.map((group) => [group] as const))('group %i: elements outside the order-q subgroup', (group) => {
    const { p, g, q, prime } = modp(group);
    if (q === undefined) throw new Error('q missing');
    // p − g = g · (p − 1) has order 2q, since q is odd: (p − g)^q = −1.
    expect(modPow(p - g, q, p)).toBe(p - 1n);
    expectRejected(group, toFixedBytes(p - g, prime.length), 'subgroup');
    expect(modPow(2n, q, p)).not.toBe(1n);
    expectRejected(group, toFixedBytes(2n, prime.length), 'subgroup');
    validatePublicValue(group, toFixedBytes(modPow(g, 12345n, p), prime.length));
  });

  it.each(MODP_GROUPS.map((group) => [group] as const))('group %i: computeSharedSecret validates before OpenSSL sees the value', (group) => {
    const { p, prime } = modp(group);
    const ours = generateKeyPair(group);
    expect(rejection(() => ours.computeSharedSecret(toFixedBytes(1n, prime.length))).reason).toBe('range');
    expect(rejection(() => ours.computeSharedSecret(toFixedBytes(p - 1n, prime.length))).reason).toBe('range');
    expect(rejection(() => ours.computeSharedSecret(Buffer.alloc(prime.length - 1, 7))).reason).toBe('length');
    if (modp(group).q !== undefined) {
      expect(rejection(() => ours.computeSharedSecret(toFixedBytes(2n, prime.length))).reason).toBe('subgroup');
    }
  });
});

describe('ECP public value validation (RFC 6989 §2.3)', () => {
  const random = new SeededRandom();

  it.each(ECP_GROUPS.map((group) => [group] as const))('group %i: wrong length, infinity, off-curve', (group) => {
    const { coordinateBytes } = ecp(group);
    const valid = generateKeyPair(group).publicValue;
    validatePublicValue(group, valid);
    expectRejected(group, valid.subarray(1), 'length');
    expectRejected(group, Buffer.concat([Uint8Array.of(4), valid]), 'length'); // SEC 1 prefix is not IKE encoding
    expectRejected(group, Buffer.alloc(0), 'length');
    expectRejected(group, Buffer.alloc(2 * coordinateBytes), 'infinity');
    for (let i = 0; i < 20; i++) {
      const tampered = Buffer.from(valid);
      const index = coordinateBytes + 1 + random.int(coordinateBytes - 1); // below y's top byte, so y stays < p
      tampered[index] = (tampered[index] ?? 0) ^ (1 << random.int(8));
      expectRejected(group, tampered, 'not-on-curve');
    }
    const ours = generateKeyPair(group);
    const offCurve = Buffer.from(valid);
    offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] ?? 0) ^ 1;
    expect(rejection(() => ours.computeSharedSecret(offCurve)).reason).toBe('not-on-curve');
    expect(rejection(() => ours.computeSharedSecret(Buffer.alloc(2 * coordinateBytes))).reason).toBe('infinity');
  });

  it.each(ECP_GROUPS.map((group) => [group] as const))('group %i: a coordinate equal to p is out of range', (group) => {
    const { p, coordinateBytes } = ecp(group);
    const valid = generateKeyPair(group).publicValue;
    expectRejected(group, Buffer.concat([toFixedBytes(p, coordinateBytes), valid.subarray(coordinateBytes)]), 'range');
    expectRejected(group, Buffer.concat([valid.subarray(0, coordinateBytes), toFixedBytes(p, coordinateBytes)]), 'range');
  });

  it('group 21: x + p and y + p satisfy the equation mod p but are refused as out of range', () => {
    const { p, b, coordinateBytes } = ecp(21);
    const valid = generateKeyPair(21).publicValue;
    const x = toBigInt(valid.subarray(0, coordinateBytes));
    const y = toBigInt(valid.subarray(coordinateBytes));
    // 2^528 > 2p, so the unreduced coordinates fit the 66-byte field encoding.
    for (const [xx, yy] of [
      [x + p, y],
      [x, y + p],
    ] as const) {
      expect((yy * yy - (xx * xx * xx - 3n * xx + b)) % p).toBe(0n);
      expectRejected(21, Buffer.concat([toFixedBytes(xx, coordinateBytes), toFixedBytes(yy, coordinateBytes)]), 'range');
    }
  });
});

describe('private values', () => {
  it('fromPrivateValue refuses MODP values outside 1 < x < p − 1 (x < q for RFC 5114 groups)', () => {
    const { p, prime } = modp(14);
    for (const x of [0n, 1n, p - 1n, p]) {
      expect(() => DhKeyPair.fromPrivateValue(14, toFixedBytes(x, prime.length))).toThrow(DhParameterError);
    }
    const { q } = modp(24);
    if (q === undefined) throw new Error('q missing');
    expect(() => DhKeyPair.fromPrivateValue(24, toFixedBytes(q, 32))).toThrow(DhParameterError);
    DhKeyPair.fromPrivateValue(24, toFixedBytes(q - 1n, 32));
  });

  it('fromPrivateValue refuses ECP scalars 0 and n', () => {
    const { n } = p256.Point.CURVE();
    for (const x of [0n, n]) {
      expect(() => DhKeyPair.fromPrivateValue(19, toFixedBytes(x, 32))).toThrow(
        expect.objectContaining({ code: 'DH_BAD_PARAMETER' }),
      );
    }
  });

  it('unknown group numbers are refused, not indexed', () => {
    for (const group of [0, 1, 3, 25, 31, 1024]) {
      const unknown = group as unknown as DhGroupNumber;
      expect(() => generateKeyPair(unknown)).toThrow(expect.objectContaining({ code: 'DH_BAD_PARAMETER' }));
      expect(() => validatePublicValue(unknown, Buffer.alloc(32))).toThrow(DhParameterError);
    }
    expect(() => generateKeyPair('toString' as unknown as DhGroupNumber)).toThrow(DhParameterError);
  });

  it.each([14, 19] as const)('group %i: the private value never shows in JSON, strings or inspection', (group) => {
    const privateValue = group === 14 ? hex('c0ffee'.repeat(10)) : hex('c0ffee'.repeat(10) + '0123');
    const secretHex = privateValue.toString('hex');
    const keyPair = DhKeyPair.fromPrivateValue(group, privateValue);
    const renderings = [
      JSON.stringify(keyPair),
      JSON.stringify({ nested: { keyPair } }),
      String(keyPair),
      `${keyPair}`,
      inspect(keyPair),
      inspect(keyPair, { showHidden: true, depth: Infinity, customInspect: false }),
      format('%o %O %j %s', keyPair, keyPair, keyPair, keyPair),
      Object.keys(keyPair).join(','),
      JSON.stringify(Object.entries(keyPair)),
    ];
    for (const text of renderings) {
      expect(text.toLowerCase()).not.toContain(secretHex.slice(0, 12));
    }
    expect(JSON.parse(JSON.stringify(keyPair))).toEqual({ group, privateKey: '[redacted]' });
  });
});

describe('cost of an unauthenticated key exchange (issue 13, finding 1)', () => {
  it.each(SAFE_PRIME_GROUPS)('group %i uses OpenSSL’s built-in parameters: no prime check per key pair', (group) => {
    expect(dhBackend(group)).toBe('named-group');
  });

  it.each(SAFE_PRIME_GROUPS)('group %i: the built-in parameters are the RFC’s and agree with the explicit-parameter path', (group) => {
    const params = modp(group);
    const ours = DhKeyPair.generate(group);
    expect(ours.publicValue.length).toBe(params.prime.length);
    const legacy = createDiffieHellman(params.prime, params.generator);
    legacy.generateKeys();
    const theirs = leftPadded(legacy.getPublicKey(), params.prime.length);
    const viaLegacy = leftPadded(legacy.computeSecret(ours.publicValue), params.prime.length);
    expect(b2h(ours.computeSharedSecret(theirs))).toBe(b2h(viaLegacy));
    // The public value is g^x mod p in the RFC's group: y^((p-1)/2) = 1 (a quadratic residue, as 2 is for these primes).
    expect(modPow(toBigInt(ours.publicValue), (params.p - 1n) / 2n, params.p)).toBe(1n);
  });

  it('respond() refuses an invalid peer value before making a key pair', () => {
    const generate = vi.spyOn(DhKeyPair, 'generate');
    try {
      const bogus = Buffer.alloc(modp(2).prime.length);
      expect(() => DhKeyPair.respond(2, bogus)).toThrow(DhInvalidPublicError);
      expect(generate).not.toHaveBeenCalled();
      const peer = DhKeyPair.generate(2);
      generate.mockClear();
      const { keyPair, sharedSecret } = DhKeyPair.respond(2, peer.publicValue);
      expect(generate).toHaveBeenCalledTimes(1);
      expect(b2h(peer.computeSharedSecret(keyPair.publicValue))).toBe(b2h(sharedSecret));
    } finally {
      generate.mockRestore();
    }
  });
});

function leftPadded(bytes: Buffer, length: number): Buffer {
  return Buffer.concat([Buffer.alloc(Math.max(0, length - bytes.length)), bytes]);
}

const b2h = (b: Buffer): string => b.toString('hex');
