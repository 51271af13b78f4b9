/**
 * Whole ISAKMP messages: HDR | payloads, or HDR* | ciphertext when the E flag is set (RFC 2408
 * §3.1). Decryption happens elsewhere (it needs the exchange's IV, crypto/protection.ts); this
 * module only frames: decodeMessage() returns either the plain chain or the encrypted body,
 * decodePlaintext() parses a decrypted body (trailing zero padding allowed).
 */
import { Writer } from '../../../wire/buffer.js';
import { ISAKMP_HEADER_LENGTH, LIMITS, PayloadType } from '../constants.js';
import { V1WireErrorCode, v1WireError } from './errors.js';
import { decodeHeader, writeHeader, type IsakmpHeader, type IsakmpHeaderFields } from './header.js';
import { decodeChain, encodeChain, encodePayload, type ChainEntry, type V1Payload } from './payloads.js';

export type DecodedMessage =
  | { readonly header: IsakmpHeader; readonly encrypted: false; readonly entries: ChainEntry[] }
  | { readonly header: IsakmpHeader; readonly encrypted: true; readonly body: Buffer };

export function decodeMessage(data: Buffer): DecodedMessage {
  const header = decodeHeader(data);
  if (header.flags.encryption) {
    const body = Buffer.from(data.subarray(ISAKMP_HEADER_LENGTH));
    if (body.length === 0) throw v1WireError(V1WireErrorCode.BAD_ENCRYPTED_LENGTH, 'encrypted message without a body', ISAKMP_HEADER_LENGTH);
    return { header, encrypted: true, body };
  }
  const { entries } = decodeChain(data, ISAKMP_HEADER_LENGTH, data.length, header.nextPayload, false);
  return { header, encrypted: false, entries };
}

/** Parses a decrypted body; the zero padding after the last payload is ignored (RFC 2408 §3.1). */
export function decodePlaintext(header: IsakmpHeader, plaintext: Buffer): ChainEntry[] {
  return decodeChain(plaintext, 0, plaintext.length, header.nextPayload, true).entries;
}

/** HDR | body for a body already encoded (plain chain or ciphertext). */
export function frameMessage(header: IsakmpHeaderFields, firstPayload: number, body: Buffer): Buffer {
  const length = ISAKMP_HEADER_LENGTH + body.length;
  if (length > LIMITS.messageLength) throw v1WireError(V1WireErrorCode.TOO_LARGE, `message of ${length} bytes`);
  const w = new Writer(length, LIMITS.messageLength);
  writeHeader(w, header, firstPayload, length);
  w.bytes(body);
  return w.finish();
}

/** An unencrypted message (Main Mode 1–4, plain Informational). */
export function encodePlainMessage(header: IsakmpHeaderFields, payloads: readonly V1Payload[]): Buffer {
  const { firstType, bytes } = encodeChain(payloads);
  return frameMessage({ ...header, flags: { ...header.flags, encryption: false } }, firstType, bytes);
}

/**
 * The plaintext of a protected phase 2 message, HASH payload first (RFC 2409 §5.5, §5.7):
 * `hashOf` receives the encoded payloads that follow the HASH (generic headers included).
 */
export function plaintextWithHash(rest: readonly V1Payload[], hashOf: (restBytes: Buffer) => Buffer): { firstType: number; bytes: Buffer } {
  const { firstType, bytes } = encodeChain(rest);
  const hash = encodePayload({ kind: 'HASH', data: hashOf(bytes) }, firstType);
  return { firstType: PayloadType.HASH, bytes: Buffer.concat([hash, bytes]) };
}

/** The bytes after the first payload of a received chain (what HASH(1)/HASH(2) cover). */
export function bytesAfterFirst(entries: readonly ChainEntry[]): Buffer {
  return Buffer.concat(entries.slice(1).map((e) => e.raw));
}
