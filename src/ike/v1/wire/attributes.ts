/**
 * Data attributes (RFC 2408 §3.3): the transform parameters of both phases.
 *
 *   AF=1 (TV, "basic"):      |1| Attribute Type (15) | Attribute Value (16)       — 4 octets
 *   AF=0 (TLV, "variable"):  |0| Attribute Type (15) | Length (16) | Value (Length)
 *
 * The codec keeps the encoding it saw; meaning (basic-only classes such as KEY_LENGTH, values
 * in allow-lists) is judged where a transform is interpreted (proposals.ts), so a bad attribute
 * makes that transform unacceptable instead of crashing anything (CVE-2011-3380).
 */
import type { Reader, Writer } from '../../../wire/buffer.js';
import { LIMITS } from '../constants.js';
import { V1WireErrorCode, v1WireError } from './errors.js';

const AF_TV = 0x8000;

export type DataAttribute =
  | { readonly type: number; readonly format: 'tv'; readonly value: number }
  | { readonly type: number; readonly format: 'tlv'; readonly value: Buffer };

export function tv(type: number, value: number): DataAttribute {
  return { type, format: 'tv', value };
}

/** A number as the shortest big-endian TLV value (life durations above 65535). */
export function tlvNumber(type: number, value: number): DataAttribute {
  if (!Number.isSafeInteger(value) || value < 0) throw v1WireError(V1WireErrorCode.BAD_VALUE, `attribute value ${value}`);
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  while (bytes.length < 4) bytes.unshift(0);
  return { type, format: 'tlv', value: Buffer.from(bytes) };
}

/** Life duration and the like: TV when it fits, TLV otherwise (RFC 2409 App. A: class V). */
export function numberAttribute(type: number, value: number): DataAttribute {
  return value <= 0xffff ? tv(type, value) : tlvNumber(type, value);
}

/**
 * The numeric value of an attribute, either encoding. A variable value longer than 6 significant
 * octets saturates at Number.MAX_SAFE_INTEGER ("longer than anything we use"), never overflows.
 */
export function attributeNumber(attribute: DataAttribute): number {
  if (attribute.format === 'tv') return attribute.value;
  let start = 0;
  while (start < attribute.value.length && attribute.value[start] === 0) start++;
  const significant = attribute.value.length - start;
  if (significant === 0) return 0;
  if (significant > 6) return Number.MAX_SAFE_INTEGER;
  return attribute.value.readUIntBE(start, significant);
}

export function decodeAttributes(r: Reader): DataAttribute[] {
  const out: DataAttribute[] = [];
  while (!r.atEnd) {
    if (out.length >= LIMITS.attributesPerTransform) {
      throw v1WireError(V1WireErrorCode.TOO_LARGE, `more than ${LIMITS.attributesPerTransform} attributes`, r.absoluteOffset);
    }
    const head = r.u16('attribute type');
    const type = head & 0x7fff;
    if ((head & AF_TV) !== 0) {
      out.push({ type, format: 'tv', value: r.u16('attribute value') });
      continue;
    }
    const length = r.u16('attribute length');
    if (length === 0) throw v1WireError(V1WireErrorCode.BAD_ATTRIBUTE, `attribute ${type}: empty variable value`, r.absoluteOffset - 2);
    if (length > LIMITS.variableAttributeBytes) {
      throw v1WireError(V1WireErrorCode.BAD_ATTRIBUTE, `attribute ${type}: variable value of ${length} bytes`, r.absoluteOffset - 2);
    }
    out.push({ type, format: 'tlv', value: r.bytes(length, `attribute ${type} value`) });
  }
  return out;
}

export function encodeAttributes(w: Writer, attributes: readonly DataAttribute[]): void {
  for (const a of attributes) {
    if (a.type < 0 || a.type > 0x7fff) throw v1WireError(V1WireErrorCode.BAD_VALUE, `attribute type ${a.type}`);
    if (a.format === 'tv') {
      w.u16(AF_TV | a.type).u16(a.value);
    } else {
      if (a.value.length === 0 || a.value.length > 0xffff) throw v1WireError(V1WireErrorCode.BAD_LENGTH, `attribute ${a.type} value length`);
      w.u16(a.type).u16(a.value.length).bytes(a.value);
    }
  }
}
