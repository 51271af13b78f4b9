/**
 * IKEv1 key schedule with pre-shared keys (RFC 2409 §5, §5.4, §5.5, Appendix B). Pure functions;
 * callers hold the results and never log them.
 *
 *   SKEYID   = prf(pre-shared-key, Ni_b | Nr_b)
 *   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 *   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 *   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 *   Ka       = SKEYID_e truncated, or when too short (App. B):
 *              K1 | K2 | …,  K1 = prf(SKEYID_e, 0),  Kn = prf(SKEYID_e, Kn-1)
 *   HASH_I   = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
 *   HASH_R   = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
 *
 *   Quick Mode (§5.5), M-ID as four octets, Ni_b/Nr_b the nonce bodies:
 *   HASH(1) = prf(SKEYID_a, M-ID | message after HASH)
 *   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | message after HASH)
 *   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
 *   KEYMAT  = K1 | K2 | …,  K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
 *             Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
 *             — one KEYMAT per direction, with the SPI its receiver chose; encryption key first,
 *             then the integrity key (AES-GCM: key | 4-octet salt, RFC 4106 §8.1)
 *   Informational (§5.7): HASH(1) = prf(SKEYID_a, M-ID | N/D payloads)
 *
 * The prf is the HMAC of the negotiated hash (no PRF attribute is negotiated, App. A), so any
 * key length works and the PSK is used whole.
 */
import { createHash } from 'node:crypto';
import { keyMaterialBytes } from '../../../crypto/cipher.js';
import { prf } from '../../../crypto/prf.js';
import { integrityByName, prfForIntegrity, type EncryptionName, type IntegrityName, type PrfName } from '../../../crypto/transforms.js';

export interface Phase1Keys {
  readonly skeyid: Buffer;
  readonly skeyidD: Buffer;
  readonly skeyidA: Buffer;
  /** Ka: the ISAKMP SA's encryption key, derived from SKEYID_e. */
  readonly encKey: Buffer;
}

export interface Phase1KeyInputs {
  readonly integrity: IntegrityName;
  readonly encryption: EncryptionName;
  readonly psk: Buffer;
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly sharedSecret: Buffer;
  readonly cookieI: Buffer;
  readonly cookieR: Buffer;
}

const OCTET = [Uint8Array.of(0), Uint8Array.of(1), Uint8Array.of(2)] as const;

export function prfNameOf(integrity: IntegrityName): PrfName {
  return prfForIntegrity(integrity).name;
}

export function hashNameOf(integrity: IntegrityName): 'sha1' | 'sha256' | 'sha384' | 'sha512' {
  return integrityByName(integrity).hash;
}

export function derivePhase1Keys(k: Phase1KeyInputs): Phase1Keys {
  const p = prfNameOf(k.integrity);
  const skeyid = prf(p, k.psk, [k.nonceI, k.nonceR]);
  const skeyidD = prf(p, skeyid, [k.sharedSecret, k.cookieI, k.cookieR, OCTET[0]]);
  const skeyidA = prf(p, skeyid, [skeyidD, k.sharedSecret, k.cookieI, k.cookieR, OCTET[1]]);
  const skeyidE = prf(p, skeyid, [skeyidA, k.sharedSecret, k.cookieI, k.cookieR, OCTET[2]]);
  return { skeyid, skeyidD, skeyidA, encKey: expandEncryptionKey(p, skeyidE, keyMaterialBytes(k.encryption)) };
}

/** RFC 2409 Appendix B: Ka from SKEYID_e. */
export function expandEncryptionKey(p: PrfName, skeyidE: Buffer, length: number): Buffer {
  if (skeyidE.length >= length) return Buffer.from(skeyidE.subarray(0, length));
  const blocks: Buffer[] = [];
  let previous: Uint8Array = OCTET[0];
  let produced = 0;
  while (produced < length) {
    const block = prf(p, skeyidE, previous);
    blocks.push(block);
    produced += block.length;
    previous = block;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The initial phase 1 IV: hash(g^xi | g^xr), cut to the cipher block (RFC 2409 Appendix B). */
export function initialIv(integrity: IntegrityName, gxi: Buffer, gxr: Buffer, blockBytes: number): Buffer {
  return createHash(hashNameOf(integrity)).update(gxi).update(gxr).digest().subarray(0, blockBytes);
}

/** A phase 2 / informational exchange's first IV: hash(last phase 1 CBC block | M-ID) (Appendix B). */
export function exchangeIv(integrity: IntegrityName, phase1Iv: Buffer, messageId: number, blockBytes: number): Buffer {
  return createHash(hashNameOf(integrity)).update(phase1Iv).update(u32(messageId)).digest().subarray(0, blockBytes);
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

export interface AuthHashInputs {
  readonly integrity: IntegrityName;
  readonly skeyid: Buffer;
  readonly gxi: Buffer;
  readonly gxr: Buffer;
  readonly cookieI: Buffer;
  readonly cookieR: Buffer;
  /** SAi_b: the body of the SA payload the initiator sent. */
  readonly saiBody: Buffer;
}

/** HASH_I (from the initiator) or HASH_R (from the responder) over that side's ID payload body. */
export function phase1Hash(k: AuthHashInputs, from: 'initiator' | 'responder', idBody: Buffer): Buffer {
  const p = prfNameOf(k.integrity);
  return from === 'initiator'
    ? prf(p, k.skeyid, [k.gxi, k.gxr, k.cookieI, k.cookieR, k.saiBody, idBody])
    : prf(p, k.skeyid, [k.gxr, k.gxi, k.cookieR, k.cookieI, k.saiBody, idBody]);
}

export function quickModeHash1(integrity: IntegrityName, skeyidA: Buffer, messageId: number, afterHash: Buffer): Buffer {
  return prf(prfNameOf(integrity), skeyidA, [u32(messageId), afterHash]);
}

export function quickModeHash2(integrity: IntegrityName, skeyidA: Buffer, messageId: number, nonceI: Buffer, afterHash: Buffer): Buffer {
  return prf(prfNameOf(integrity), skeyidA, [u32(messageId), nonceI, afterHash]);
}

export function quickModeHash3(integrity: IntegrityName, skeyidA: Buffer, messageId: number, nonceI: Buffer, nonceR: Buffer): Buffer {
  return prf(prfNameOf(integrity), skeyidA, [OCTET[0], u32(messageId), nonceI, nonceR]);
}

/** Informational HASH(1) has the same shape as Quick Mode's (RFC 2409 §5.7). */
export const informationalHash = quickModeHash1;

export interface KeymatInputs {
  readonly integrity: IntegrityName;
  readonly skeyidD: Buffer;
  /** g(qm)^xy when the quick mode used PFS. */
  readonly sharedSecret: Buffer | undefined;
  readonly protocolId: number;
  /** The SPI of the SA this KEYMAT protects: the one its receiving side chose. */
  readonly spi: number;
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
}

export function deriveKeymat(k: KeymatInputs, length: number): Buffer {
  const p = prfNameOf(k.integrity);
  const seed: Uint8Array[] = [...(k.sharedSecret ? [k.sharedSecret] : []), Uint8Array.of(k.protocolId), u32(k.spi), k.nonceI, k.nonceR];
  const blocks: Buffer[] = [];
  let produced = 0;
  let previous: Buffer | undefined;
  while (produced < length) {
    const block = prf(p, k.skeyidD, previous ? [previous, ...seed] : seed);
    blocks.push(block);
    produced += block.length;
    previous = block;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 §3.2). */
export function natDetectionHash(integrity: IntegrityName, cookieI: Buffer, cookieR: Buffer, address: Buffer, port: number): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return createHash(hashNameOf(integrity)).update(cookieI).update(cookieR).update(address).update(portBytes).digest();
}
