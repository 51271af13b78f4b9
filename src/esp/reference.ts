/**
 * A reference ESP codec in TypeScript over node:crypto — the independent
 * second implementation the native data plane is checked against. Tests only:
 * it is slow (a cipher object per packet) and keeps no state (no replay window,
 * no next-header policy; those are the data plane's job and are tested there).
 *
 * Packet (RFC 4303 §2), as produced and accepted here:
 *
 *   SPI (4) | sequence number (4) | IV | encrypted { payload | padding | pad length | next header } | ICV
 *
 *   AES-CBC (RFC 3602): IV 16 random bytes; padding to 16; ICV = HMAC over
 *     SPI .. ciphertext truncated (RFC 2404, RFC 4868).
 *   AES-GCM-16 (RFC 4106): key material = key | 4-byte salt; nonce = salt | 8-byte
 *     explicit IV; AAD = SPI | sequence number (§5, no ESN); padding to 4; ICV = 16-byte tag.
 *   Padding bytes are 1, 2, 3, … (RFC 4303 §2.4).
 */
import { randomBytes } from 'node:crypto';
import { decrypt, encrypt } from '../crypto/cipher.js';
import { DecryptError } from '../crypto/errors.js';
import { computeIcv, verifyIcv } from '../crypto/integrity.js';
import { encryptionByName, integrityByName, type EncryptionName, type IntegrityName } from '../crypto/transforms.js';
import { CgwdError } from '../errors.js';

export interface ReferenceSa {
  readonly spi: number;
  readonly encryption: EncryptionName;
  readonly integrity?: IntegrityName | undefined;
  /** GCM: key followed by the 4-byte salt. */
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array | undefined;
}

export interface EncapOptions {
  readonly seq: number;
  /** Default 4 (IPv4, tunnel mode). */
  readonly nextHeader?: number;
  /** CBC: 16 bytes (default random); GCM: 8 bytes (default the sequence number as a 64-bit counter). */
  readonly iv?: Uint8Array;
  /** Extra padding blocks beyond the minimum (RFC 4303 allows up to 255 bytes of padding). */
  readonly extraPadBlocks?: number;
  /** Replaces the padding bytes (same length) — to craft packets with bad padding. */
  readonly padding?: Uint8Array;
  /** Overrides the pad-length byte — to craft malformed trailers. */
  readonly padLengthByte?: number;
}

export interface Decapsulated {
  readonly spi: number;
  readonly seq: number;
  readonly iv: Buffer;
  readonly payload: Buffer;
  readonly padding: Buffer;
  readonly nextHeader: number;
}

export type EspReferenceFailure = 'malformed' | 'icv' | 'bad_padding';

export class EspReferenceError extends CgwdError {
  readonly reason: EspReferenceFailure;
  constructor(reason: EspReferenceFailure, message: string) {
    super('ESP_REFERENCE', message);
    this.reason = reason;
  }
}

interface Shape {
  ivBytes: number;
  align: number;
  icvBytes: number;
  aead: boolean;
}

function shapeOf(sa: ReferenceSa): Shape {
  const enc = encryptionByName(sa.encryption);
  if (enc.aead) return { ivBytes: enc.ivBytes, align: 4, icvBytes: enc.icvBytes, aead: true };
  // CBC without integrity is encryption-only ESP (RFC 4303 §3.2): RFC 3602's test packets use it; cgwd never does.
  const icvBytes = sa.integrity ? integrityByName(sa.integrity).icvBytes : 0;
  return { ivBytes: enc.ivBytes, align: Math.max(enc.blockBytes, 4), icvBytes, aead: false };
}

function header(spi: number, seq: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(spi >>> 0, 0);
  h.writeUInt32BE(seq >>> 0, 4);
  return h;
}

/** The minimal padding length for `payloadLength` bytes under `align`. */
export function padLengthFor(payloadLength: number, align: number): number {
  return (align - ((payloadLength + 2) % align)) % align;
}

export function espEncap(sa: ReferenceSa, payload: Uint8Array, options: EncapOptions): Buffer {
  const shape = shapeOf(sa);
  const padLength = padLengthFor(payload.length, shape.align) + (options.extraPadBlocks ?? 0) * shape.align;
  if (padLength > 255) throw new EspReferenceError('malformed', 'padding longer than 255 bytes');
  const padding = options.padding ? Buffer.from(options.padding) : Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  if (padding.length !== padLength) throw new EspReferenceError('malformed', `padding must be ${padLength} bytes`);
  const plaintext = Buffer.concat([
    payload,
    padding,
    Uint8Array.of(options.padLengthByte ?? padLength, options.nextHeader ?? 4),
  ]);
  const head = header(sa.spi, options.seq);
  let iv: Buffer;
  if (options.iv) {
    iv = Buffer.from(options.iv);
  } else if (shape.aead) {
    iv = Buffer.alloc(8);
    iv.writeBigUInt64BE(BigInt(options.seq >>> 0));
  } else {
    iv = randomBytes(shape.ivBytes);
  }
  if (iv.length !== shape.ivBytes) throw new EspReferenceError('malformed', `IV must be ${shape.ivBytes} bytes`);
  if (shape.aead) {
    const sealed = encrypt(sa.encryption, sa.encKey, iv, plaintext, head);
    return Buffer.concat([head, iv, sealed]);
  }
  const ciphertext = encrypt(sa.encryption, sa.encKey, iv, plaintext);
  if (!sa.integrity) return Buffer.concat([head, iv, ciphertext]);
  const icv = computeIcv(sa.integrity, sa.integKey ?? Buffer.alloc(0), [head, iv, ciphertext]);
  return Buffer.concat([head, iv, ciphertext, icv]);
}

export function espDecap(sa: ReferenceSa, packet: Uint8Array): Decapsulated {
  const shape = shapeOf(sa);
  const p = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  if (p.length < 8 + shape.ivBytes + shape.icvBytes + 2) {
    throw new EspReferenceError('malformed', `ESP packet of ${p.length} bytes is too short`);
  }
  const spi = p.readUInt32BE(0);
  const seq = p.readUInt32BE(4);
  const iv = p.subarray(8, 8 + shape.ivBytes);
  const body = p.subarray(8 + shape.ivBytes);
  let plaintext: Buffer;
  if (shape.aead) {
    try {
      plaintext = decrypt(sa.encryption, sa.encKey, iv, body, p.subarray(0, 8));
    } catch (error) {
      if (error instanceof DecryptError) throw new EspReferenceError('icv', 'GCM tag mismatch');
      throw error;
    }
  } else {
    const ciphertext = body.subarray(0, body.length - shape.icvBytes);
    const icv = body.subarray(body.length - shape.icvBytes);
    if (ciphertext.length % shape.align !== 0) {
      throw new EspReferenceError('malformed', 'ciphertext is not a whole number of blocks');
    }
    if (sa.integrity && !verifyIcv(sa.integrity, sa.integKey ?? Buffer.alloc(0), p.subarray(0, p.length - shape.icvBytes), icv)) {
      throw new EspReferenceError('icv', 'ICV mismatch');
    }
    plaintext = decrypt(sa.encryption, sa.encKey, iv, ciphertext);
  }
  const padLength = plaintext[plaintext.length - 2] as number;
  const nextHeader = plaintext[plaintext.length - 1] as number;
  if (padLength + 2 > plaintext.length) throw new EspReferenceError('bad_padding', 'pad length exceeds the payload');
  const payloadEnd = plaintext.length - 2 - padLength;
  const padding = plaintext.subarray(payloadEnd, plaintext.length - 2);
  padding.forEach((byte, i) => {
    if (byte !== i + 1) throw new EspReferenceError('bad_padding', `padding byte ${i} is ${byte}, expected ${i + 1}`);
  });
  return { spi, seq, iv: Buffer.from(iv), payload: plaintext.subarray(0, payloadEnd), padding, nextHeader };
}
