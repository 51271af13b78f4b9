/**
 * IKEv2 pseudorandom functions (RFC 7296 §2.13): HMAC with the PRF's hash, and
 * prf+ which stretches one PRF into as many bytes as the key schedule needs:
 *
 *   prf+ (K, S) = T1 | T2 | T3 | …   where
 *   T1 = prf (K, S | 0x01),  Tn = prf (K, Tn-1 | S | n)   for n = 2 … 255
 */
import { createHmac } from 'node:crypto';
import { chunksOf, type ByteInput } from './bytes.js';
import { PrfPlusLengthError } from './errors.js';
import { prfByName, type PrfName } from './transforms.js';

/** The RFC counts n in one octet, so prf+ stops after 255 blocks. */
const PRF_PLUS_MAX_BLOCKS = 255;

export function prf(name: PrfName, key: Uint8Array, data: ByteInput): Buffer {
  const mac = createHmac(prfByName(name).hash, key);
  for (const chunk of chunksOf(data)) mac.update(chunk);
  return mac.digest();
}

export function prfPlusMaxLength(name: PrfName): number {
  return PRF_PLUS_MAX_BLOCKS * prfByName(name).outputBytes;
}

export function prfPlus(name: PrfName, key: Uint8Array, seed: ByteInput, length: number): Buffer {
  const { hash, outputBytes } = prfByName(name);
  const maximum = PRF_PLUS_MAX_BLOCKS * outputBytes;
  if (!Number.isSafeInteger(length) || length < 0 || length > maximum) {
    throw new PrfPlusLengthError(length, maximum);
  }
  const seedChunks = chunksOf(seed);
  const blocks: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(0);
  for (let n = 1, produced = 0; produced < length; n++) {
    const mac = createHmac(hash, key).update(previous);
    for (const chunk of seedChunks) mac.update(chunk);
    previous = mac.update(Uint8Array.of(n)).digest();
    blocks.push(previous);
    produced += outputBytes;
  }
  return Buffer.concat(blocks, length);
}
