/**
 * Integrity transforms for IKE and ESP: HMAC truncated to the ICV length
 * (RFC 2404 for HMAC-SHA1-96, RFC 4868 for the SHA-2 ones). Keys are exactly
 * the transform's key length; both RFCs fix it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { chunksOf, type ByteInput } from './bytes.js';
import { KeyLengthError } from './errors.js';
import { integrityByName, type IntegrityName } from './transforms.js';

export function computeIcv(name: IntegrityName, key: Uint8Array, data: ByteInput): Buffer {
  const { hash, keyBytes, icvBytes } = integrityByName(name);
  if (key.length !== keyBytes) throw new KeyLengthError(name, keyBytes, key.length);
  const mac = createHmac(hash, key);
  for (const chunk of chunksOf(data)) mac.update(chunk);
  return mac.digest().subarray(0, icvBytes);
}

/** True when `icv` is the ICV of `data`; compares in constant time. A wrong-length ICV is false. */
export function verifyIcv(name: IntegrityName, key: Uint8Array, data: ByteInput, icv: Uint8Array): boolean {
  const expected = computeIcv(name, key, data);
  if (icv.length !== expected.length) return false;
  return timingSafeEqual(expected, icv);
}
