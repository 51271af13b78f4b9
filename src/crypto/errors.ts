import { CgwdError } from '../errors.js';

/**
 * Errors raised by src/crypto. Each class has one stable `code`; messages carry
 * names and lengths only, never key material, nonces or plaintext.
 */

/** prf+ asked for more than 255 × the PRF's output length (RFC 7296 §2.13). */
export class PrfPlusLengthError extends CgwdError {
  readonly requested: number;
  readonly maximum: number;
  constructor(requested: number, maximum: number) {
    super('PRF_PLUS_TOO_LONG', `prf+ can produce at most ${maximum} bytes, ${requested} requested`);
    this.requested = requested;
    this.maximum = maximum;
  }
}

/** A key (or key material) whose length does not fit the transform. */
export class KeyLengthError extends CgwdError {
  constructor(transform: string, expected: number, actual: number) {
    super('CRYPTO_KEY_LENGTH', `${transform} needs ${expected} bytes of key material, got ${actual}`);
  }
}

/** An IV, ciphertext, ICV or AAD that does not fit the transform (length, alignment). */
export class CipherInputError extends CgwdError {
  constructor(message: string) {
    super('CRYPTO_BAD_INPUT', message);
  }
}

/** AEAD decryption failed: the ICV does not match (tampered, wrong key, wrong AAD). */
export class DecryptError extends CgwdError {
  constructor(transform: string) {
    super('CRYPTO_DECRYPT_FAILED', `${transform} authentication failed`);
  }
}

export type DhInvalidPublicReason =
  | 'length' // not exactly the group's public value length
  | 'range' // MODP: y ≤ 1 or y ≥ p − 1; ECP: a coordinate ≥ p
  | 'subgroup' // MODP with prime-order subgroup: y^q mod p ≠ 1
  | 'infinity' // ECP: the all-zero encoding of the point at infinity
  | 'not-on-curve' // ECP: (x, y) does not satisfy the curve equation
  | 'rejected'; // OpenSSL refused it after our checks passed

/** A peer's Diffie-Hellman public value (KE payload data) that must not be used. */
export class DhInvalidPublicError extends CgwdError {
  readonly group: number;
  readonly reason: DhInvalidPublicReason;
  constructor(group: number, reason: DhInvalidPublicReason, detail: string) {
    super('DH_INVALID_PUBLIC', `DH group ${group} public value invalid (${reason}): ${detail}`);
    this.group = group;
    this.reason = reason;
  }
}

/** A DH group number outside the table, or a private value that does not fit its group. */
export class DhParameterError extends CgwdError {
  constructor(message: string) {
    super('DH_BAD_PARAMETER', message);
  }
}
