/**
 * The DER SubjectPublicKeyInfo of a MODP Diffie-Hellman public value, the only form in which
 * OpenSSL's KeyObject API takes a peer's raw KE value (dh.ts). RFC 3279 §2.3.3 names the key
 * INTEGER y; OpenSSL's PKCS #3 form (OID dhKeyAgreement, 1.2.840.113549.1.3.1) has parameters
 * SEQUENCE { prime INTEGER, base INTEGER }:
 *
 *   SEQUENCE { SEQUENCE { OID dhKeyAgreement, SEQUENCE { INTEGER p, INTEGER g } },
 *              BIT STRING { 0 unused bits, INTEGER y } }
 *
 * The reader parses only what OpenSSL exports for our own keys, bounds-checked.
 */
import { DhParameterError } from './errors.js';

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
/** 1.2.840.113549.1.3.1 (PKCS #3 dhKeyAgreement), DER-encoded contents. */
const DH_KEY_AGREEMENT_OID = Buffer.from('2a864886f70d010301', 'hex');

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(contents.length), contents]);
}

/** A non-negative INTEGER from big-endian bytes: minimal, with a 0x00 when the top bit is set. */
function integer(value: Uint8Array): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const body = Buffer.from(value.subarray(start));
  const needsZero = body.length === 0 || (body[0] ?? 0) & 0x80;
  return tlv(TAG_INTEGER, needsZero ? Buffer.concat([Buffer.from([0]), body]) : body);
}

export function dhSubjectPublicKeyInfo(prime: Uint8Array, generator: Uint8Array, y: Uint8Array): Buffer {
  const algorithm = tlv(TAG_SEQUENCE, Buffer.concat([tlv(TAG_OID, DH_KEY_AGREEMENT_OID), tlv(TAG_SEQUENCE, Buffer.concat([integer(prime), integer(generator)]))]));
  const key = tlv(TAG_BIT_STRING, Buffer.concat([Buffer.from([0]), integer(y)]));
  return tlv(TAG_SEQUENCE, Buffer.concat([algorithm, key]));
}

interface Element {
  readonly tag: number;
  readonly contents: Buffer;
  readonly end: number;
}

function readElement(der: Buffer, offset: number): Element {
  const fail = (): never => {
    throw new DhParameterError('malformed DH SubjectPublicKeyInfo');
  };
  if (offset + 2 > der.length) fail();
  const tag = der[offset] ?? fail();
  let length = der[offset + 1] ?? fail();
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > der.length) fail();
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? fail());
    start += count;
  }
  if (start + length > der.length) fail();
  return { tag, contents: der.subarray(start, start + length), end: start + length };
}

/** y (big-endian, minimal) out of a DH SubjectPublicKeyInfo. */
export function dhPublicValueFromSpki(der: Buffer): Buffer {
  const outer = readElement(der, 0);
  if (outer.tag !== TAG_SEQUENCE) throw new DhParameterError('DH SubjectPublicKeyInfo is not a SEQUENCE');
  const algorithm = readElement(outer.contents, 0);
  const bitString = readElement(outer.contents, algorithm.end);
  if (algorithm.tag !== TAG_SEQUENCE || bitString.tag !== TAG_BIT_STRING || bitString.contents[0] !== 0) {
    throw new DhParameterError('unexpected DH SubjectPublicKeyInfo layout');
  }
  const y = readElement(bitString.contents, 1);
  if (y.tag !== TAG_INTEGER) throw new DhParameterError('DH public key is not an INTEGER');
  let start = 0;
  while (start < y.contents.length - 1 && y.contents[start] === 0) start++;
  return Buffer.from(y.contents.subarray(start));
}
