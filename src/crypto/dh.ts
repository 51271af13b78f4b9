/**
 * Diffie-Hellman for the IKE KE payload, on OpenSSL (node:crypto).
 *
 *   MODP (groups 2, 5, 14–18, 22–24)
 *     public value  g^x mod p, big-endian, left-padded to the prime's length (RFC 7296 §3.4)
 *     shared secret g^xy mod p, left-padded to the prime's length (RFC 7296 §2.14)
 *   ECP (groups 19–21)
 *     public value  x | y, each coordinate fixed-width, no 0x04 prefix (RFC 5903 §7)
 *     shared secret the x coordinate of the product point, fixed-width (RFC 5903 §9)
 *
 * A peer's public value is checked before it touches a private key (RFC 6989 §2,
 * all groups, though §2 requires it only when private values are reused):
 *   §2.1 safe-prime MODP  exact length, 1 < y < p − 1
 *   §2.2 RFC 5114 MODP    the same, and y^q mod p = 1
 *   §2.3 ECP              exact length, not (0, 0), x and y < p, y² = x³ − 3x + b (mod p);
 *                         the curves have cofactor 1, so every such point has prime order
 * Failures throw DhInvalidPublicError; RFC 6989 §2.5 says what the IKE layer does next.
 *
 * Private values are chosen by OpenSSL: for the groups it recognises (RFC 3526,
 * RFC 5114) it draws 2 × security-strength bits, or from [1, q − 1]; for group 2
 * the full prime length. They live only inside the OpenSSL object held in a
 * private field; DhKeyPair prints, serialises and inspects as a placeholder.
 *
 * Cost. A DiffieHellman object made from an explicit prime (createDiffieHellman,
 * and getDiffieHellman too) runs OpenSSL's DH_check, a primality test of p and
 * (p − 1)/2: about 30 ms for group 2 on a small VM, paid per IKE_SA_INIT and so
 * payable by anyone who can spoof one. The safe-prime groups therefore use
 * OpenSSL's built-in copy of the RFC 2409/3526 parameters through the KeyObject
 * API (generateKeyPairSync('dh', { group }), crypto.diffieHellman): no prime
 * check, ~0.3 ms. The peer's value travels to OpenSSL as a SubjectPublicKeyInfo
 * (RFC 3279 §2.3.3: dhpublicnumber-style parameters SEQUENCE { p, g }, key INTEGER y).
 * The RFC 5114 groups (non-safe primes) keep createDiffieHellman, which is cheap
 * for them (no safe-prime test; measured ~0.1–0.3 ms). `respond()` validates the
 * peer's value before any key pair exists, so an invalid KE costs one range check.
 */
import {
  createDiffieHellman,
  createECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type DiffieHellman,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { bigintFromBytes, leftPad } from './bytes.js';
import { DH_PARAMETERS, type DhParameters, type EcpParameters, type ModpParameters } from './dh-params.js';
import { DhInvalidPublicError, DhParameterError } from './errors.js';
import type { DhGroupNumber } from './transforms.js';
import { dhSubjectPublicKeyInfo, dhPublicValueFromSpki } from './dh-spki.js';

const UNCOMPRESSED_POINT = 0x04;

type Agreement =
  | { readonly kind: 'modp'; readonly params: ModpParameters; readonly dh: DiffieHellman }
  | { readonly kind: 'modp-named'; readonly params: ModpParameters; readonly privateKey: KeyObject; readonly publicValue: Buffer }
  | { readonly kind: 'ecp'; readonly params: EcpParameters; readonly ecdh: ECDH };

/**
 * OpenSSL's names for its built-in copies of the safe-prime groups (RFC 2409 §6.2, RFC 3526);
 * test/unit/crypto/dh.test.ts checks each against DH_PARAMETERS.
 */
const OPENSSL_GROUP_NAME: Partial<Record<DhGroupNumber, string>> = {
  2: 'modp2',
  5: 'modp5',
  14: 'modp14',
  15: 'modp15',
  16: 'modp16',
  17: 'modp17',
  18: 'modp18',
};

/** node:crypto's 'dh' key generation, which @types/node does not declare (Node ≥ 15 has it). */
type DhGroupKeyGeneration = (type: 'dh', options: { readonly group: string }) => { publicKey: KeyObject; privateKey: KeyObject };
const generateDhGroupKeyPair = generateKeyPairSync as unknown as DhGroupKeyGeneration;

/** How key pairs of `group` are made: 'named-group' pays no per-key prime check (see the module comment). */
export function dhBackend(group: DhGroupNumber): 'named-group' | 'explicit-parameters' | 'ecp' {
  const params = parametersOf(group);
  if (params.kind === 'ecp') return 'ecp';
  return OPENSSL_GROUP_NAME[group] === undefined ? 'explicit-parameters' : 'named-group';
}

/** A key pair and the shared secret with a peer's (validated) public value. */
export interface DhResponse {
  readonly keyPair: DhKeyPair;
  readonly sharedSecret: Buffer;
}

export class DhKeyPair {
  readonly group: DhGroupNumber;
  /** KE payload key exchange data, exactly the group's publicBytes long. */
  readonly publicValue: Buffer;
  readonly #agreement: Agreement;

  private constructor(group: DhGroupNumber, agreement: Agreement) {
    this.group = group;
    this.#agreement = agreement;
    this.publicValue =
      agreement.kind === 'modp'
        ? leftPad(agreement.dh.getPublicKey(), agreement.params.prime.length)
        : agreement.kind === 'modp-named'
          ? agreement.publicValue
          : agreement.ecdh.getPublicKey().subarray(1);
  }

  /** A fresh key pair; use one per exchange (RFC 7296 §2.12 allows reuse, cgwd does not). */
  static generate(group: DhGroupNumber): DhKeyPair {
    const params = parametersOf(group);
    if (params.kind === 'modp') {
      const name = OPENSSL_GROUP_NAME[group];
      if (name !== undefined) {
        const { privateKey, publicKey } = generateDhGroupKeyPair('dh', { group: name });
        const y = dhPublicValueFromSpki(publicKey.export({ type: 'spki', format: 'der' }));
        return new DhKeyPair(group, { kind: 'modp-named', params, privateKey, publicValue: leftPad(y, params.prime.length) });
      }
      const dh = createDiffieHellman(params.prime, params.generator);
      dh.generateKeys();
      return new DhKeyPair(group, { kind: 'modp', params, dh });
    }
    const ecdh = createECDH(params.curveName);
    ecdh.generateKeys();
    return new DhKeyPair(group, { kind: 'ecp', params, ecdh });
  }

  /**
   * A key pair from a known private value (big-endian): for known-answer tests
   * and interop fixtures. MODP needs 1 < x < p − 1 (x < q for RFC 5114 groups);
   * ECP needs 0 < x < n.
   */
  static fromPrivateValue(group: DhGroupNumber, privateValue: Uint8Array): DhKeyPair {
    const params = parametersOf(group);
    if (params.kind === 'modp') {
      const x = bigintFromBytes(privateValue);
      const limit = params.q ?? params.p - 1n;
      if (x <= 1n || x >= limit) throw new DhParameterError(`DH group ${group} private value out of range`);
      const dh = createDiffieHellman(params.prime, params.generator);
      dh.setPrivateKey(Buffer.from(privateValue));
      dh.generateKeys(); // keeps the private value set above, derives g^x
      return new DhKeyPair(group, { kind: 'modp', params, dh });
    }
    const ecdh = createECDH(params.curveName);
    try {
      ecdh.setPrivateKey(Buffer.from(privateValue));
    } catch {
      throw new DhParameterError(`DH group ${group} private value out of range`);
    }
    return new DhKeyPair(group, { kind: 'ecp', params, ecdh });
  }

  /**
   * The responder's side: validates the peer's value first (throws DhInvalidPublicError before
   * any key pair is made), then a fresh key pair and the shared secret.
   */
  static respond(group: DhGroupNumber, peerPublic: Uint8Array): DhResponse {
    validatePublicValue(group, peerPublic);
    const keyPair = DhKeyPair.generate(group);
    return { keyPair, sharedSecret: keyPair.computeSharedSecret(peerPublic) };
  }

  /** Validates `peerPublic` (throws DhInvalidPublicError) and returns the fixed-width shared secret. */
  computeSharedSecret(peerPublic: Uint8Array): Buffer {
    const agreement = this.#agreement;
    validatePublicValue(this.group, peerPublic);
    try {
      if (agreement.kind === 'modp') {
        return leftPad(agreement.dh.computeSecret(peerPublic), agreement.params.prime.length);
      }
      if (agreement.kind === 'modp-named') {
        const { prime, generator } = agreement.params;
        const publicKey = createPublicKey({ key: dhSubjectPublicKeyInfo(prime, generator, peerPublic), format: 'der', type: 'spki' });
        return leftPad(diffieHellman({ privateKey: agreement.privateKey, publicKey }), prime.length);
      }
      const point = Buffer.concat([Uint8Array.of(UNCOMPRESSED_POINT), peerPublic]);
      return leftPad(agreement.ecdh.computeSecret(point), agreement.params.coordinateBytes);
    } catch {
      throw new DhInvalidPublicError(this.group, 'rejected', 'refused by OpenSSL');
    }
  }

  toJSON(): { group: DhGroupNumber; privateKey: string } {
    return { group: this.group, privateKey: '[redacted]' };
  }

  toString(): string {
    return `DhKeyPair(group ${this.group}, private key redacted)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function generateKeyPair(group: DhGroupNumber): DhKeyPair {
  return DhKeyPair.generate(group);
}

export function computeSharedSecret(keyPair: DhKeyPair, peerPublic: Uint8Array): Buffer {
  return keyPair.computeSharedSecret(peerPublic);
}

/** Throws DhInvalidPublicError unless `value` is an acceptable KE public value for `group`. */
export function validatePublicValue(group: DhGroupNumber, value: Uint8Array): void {
  const params = parametersOf(group);
  if (params.kind === 'modp') validateModp(group, params, value);
  else validateEcp(group, params, value);
}

function validateModp(group: DhGroupNumber, { prime, p, q }: ModpParameters, value: Uint8Array): void {
  if (value.length !== prime.length) {
    throw new DhInvalidPublicError(group, 'length', `expected ${prime.length} bytes, got ${value.length}`);
  }
  const y = bigintFromBytes(value);
  if (y <= 1n || y >= p - 1n) throw new DhInvalidPublicError(group, 'range', 'not in 1 < y < p - 1');
  if (q !== undefined && modPow(y, q, p) !== 1n) {
    throw new DhInvalidPublicError(group, 'subgroup', 'y^q mod p is not 1');
  }
}

function validateEcp(group: DhGroupNumber, { coordinateBytes, p, b }: EcpParameters, value: Uint8Array): void {
  if (value.length !== 2 * coordinateBytes) {
    throw new DhInvalidPublicError(group, 'length', `expected ${2 * coordinateBytes} bytes, got ${value.length}`);
  }
  if (value.every((byte) => byte === 0)) throw new DhInvalidPublicError(group, 'infinity', 'point at infinity');
  const x = bigintFromBytes(value.subarray(0, coordinateBytes));
  const y = bigintFromBytes(value.subarray(coordinateBytes));
  if (x >= p || y >= p) throw new DhInvalidPublicError(group, 'range', 'coordinate not below the field prime');
  const left = (y * y) % p;
  const right = (((x * x * x - 3n * x + b) % p) + p) % p;
  if (left !== right) throw new DhInvalidPublicError(group, 'not-on-curve', 'point is not on the curve');
}

function parametersOf(group: DhGroupNumber): DhParameters {
  const params: DhParameters | undefined = Object.hasOwn(DH_PARAMETERS, group) ? DH_PARAMETERS[group] : undefined;
  if (!params) throw new DhParameterError(`unknown DH group ${String(group)}`);
  return params;
}

/** Square-and-multiply over public values only (validation), so timing leaks nothing secret. */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let square = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * square) % modulus;
    square = (square * square) % modulus;
  }
  return result;
}
