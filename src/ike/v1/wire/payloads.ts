/**
 * IKEv1 payloads (RFC 2408 §3.4–§3.16, RFC 2407 §4.6, RFC 3947 §3.2 and §5.2) and the payload
 * chain. Every payload starts with the generic header Next Payload(1) RESERVED(1) Length(2).
 *
 * A decoded chain keeps, for each payload, the exact bytes it arrived as (`raw`, generic header
 * included): Quick Mode and Informational HASHes cover "the message after the HASH payload"
 * (RFC 2409 §5.5, §5.7) and HASH_I covers the SA payload body as the initiator sent it (§5).
 *
 * The type allow-list is IKEv1's alone: an IKEv2 type number (33..53) is an unknown type here
 * (CVE-2015-3991). Proposal/Transform outside an SA are as unknown as any other.
 */
import { isIPv4 } from 'node:net';
import { Reader, Writer } from '../../../wire/buffer.js';
import {
  DOI_IPSEC,
  DOI_ISAKMP,
  ESP_SPI_LENGTH,
  GENERIC_PAYLOAD_HEADER_LENGTH,
  IdType,
  ISAKMP_SPI_LENGTH,
  LIMITS,
  NONCE_MAX_LENGTH,
  NONCE_MIN_LENGTH,
  PayloadType,
  ProtocolId,
} from '../constants.js';
import { InvalidPayloadTypeError, V1WireErrorCode, v1WireError } from './errors.js';
import { decodeSaBody, encodeSaBody, type SaBody } from './sa.js';

export interface SaPayload extends SaBody {
  readonly kind: 'SA';
}
export interface KePayload {
  readonly kind: 'KE';
  readonly data: Buffer;
}
/** ID (RFC 2408 §3.8, RFC 2407 §4.6.2): Protocol/Port are zero (or UDP 500) in phase 1. */
export interface IdPayload {
  readonly kind: 'ID';
  readonly idType: number;
  readonly protocolId: number;
  readonly port: number;
  readonly data: Buffer;
}
export interface HashPayload {
  readonly kind: 'HASH';
  readonly data: Buffer;
}
export interface NoncePayload {
  readonly kind: 'NONCE';
  readonly data: Buffer;
}
/** Notification (RFC 2408 §3.14). */
export interface NotifyPayload {
  readonly kind: 'N';
  readonly doi: number;
  readonly protocolId: number;
  readonly spi: Buffer;
  readonly notifyType: number;
  readonly data: Buffer;
}
/** Delete (RFC 2408 §3.15): SPIs of one protocol. */
export interface DeletePayload {
  readonly kind: 'D';
  readonly doi: number;
  readonly protocolId: number;
  readonly spis: readonly Buffer[];
}
export interface VendorIdPayload {
  readonly kind: 'VID';
  readonly data: Buffer;
}
/** NAT-D (RFC 3947 §3.2): HASH(CKY-I | CKY-R | IP | Port). */
export interface NatDPayload {
  readonly kind: 'NAT-D';
  readonly data: Buffer;
}
/** NAT-OA (RFC 3947 §5.2): ID Type (IPv4/IPv6 address), RESERVED(3), address. */
export interface NatOaPayload {
  readonly kind: 'NAT-OA';
  readonly idType: number;
  readonly address: Buffer;
}
/** CERT, CR, SIG: known to IKEv1, unused with pre-shared keys; the payload rules refuse them. */
export interface UnsupportedPayload {
  readonly kind: 'UNSUPPORTED';
  readonly type: number;
  readonly body: Buffer;
}

export type V1Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | HashPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | NatDPayload
  | NatOaPayload
  | UnsupportedPayload;

export interface ChainEntry {
  readonly type: number;
  readonly payload: V1Payload;
  /** The payload's bytes as received, generic header included. */
  readonly raw: Buffer;
}

export function payloadTypeOf(p: V1Payload): number {
  switch (p.kind) {
    case 'SA':
      return PayloadType.SA;
    case 'KE':
      return PayloadType.KE;
    case 'ID':
      return PayloadType.ID;
    case 'HASH':
      return PayloadType.HASH;
    case 'NONCE':
      return PayloadType.NONCE;
    case 'N':
      return PayloadType.NOTIFICATION;
    case 'D':
      return PayloadType.DELETE;
    case 'VID':
      return PayloadType.VENDOR_ID;
    case 'NAT-D':
      return PayloadType.NAT_D;
    case 'NAT-OA':
      return PayloadType.NAT_OA;
    case 'UNSUPPORTED':
      return p.type;
  }
}

const ID_DATA_LENGTH: Readonly<Record<number, number | 'any'>> = {
  [IdType.ID_IPV4_ADDR]: 4,
  [IdType.ID_FQDN]: 'any',
  [IdType.ID_USER_FQDN]: 'any',
  [IdType.ID_IPV4_ADDR_SUBNET]: 8,
  [IdType.ID_IPV6_ADDR]: 16,
  [IdType.ID_IPV6_ADDR_SUBNET]: 32,
  [IdType.ID_IPV4_ADDR_RANGE]: 8,
  [IdType.ID_IPV6_ADDR_RANGE]: 32,
  [IdType.ID_DER_ASN1_DN]: 'any',
  [IdType.ID_DER_ASN1_GN]: 'any',
  [IdType.ID_KEY_ID]: 'any',
};

function nonEmpty(r: Reader, what: string, max: number): Buffer {
  if (r.remaining === 0) throw v1WireError(V1WireErrorCode.EMPTY_DATA, `${what} without data`, r.absoluteOffset);
  if (r.remaining > max) throw v1WireError(V1WireErrorCode.TOO_LARGE, `${what} of ${r.remaining} bytes`, r.absoluteOffset);
  return r.rest();
}

function checkSpiSize(protocolId: number, spiSize: number, offset: number, what: string): void {
  const ok =
    protocolId === ProtocolId.ISAKMP ? spiSize === 0 || spiSize === ISAKMP_SPI_LENGTH
    : protocolId === ProtocolId.IPSEC_ESP || protocolId === ProtocolId.IPSEC_AH ? spiSize === ESP_SPI_LENGTH || spiSize === 0
    : protocolId === ProtocolId.IPCOMP ? spiSize === 2 || spiSize === 4 || spiSize === 0
    : protocolId === 0 ? spiSize === 0
    : false;
  if (!ok) {
    if (protocolId > ProtocolId.IPCOMP) throw v1WireError(V1WireErrorCode.BAD_PROTOCOL_ID, `${what} protocol ${protocolId}`, offset);
    throw v1WireError(V1WireErrorCode.BAD_SPI_SIZE, `${what} SPI size ${spiSize} for protocol ${protocolId}`, offset);
  }
}

function checkDoi(doi: number, offset: number, what: string): void {
  if (doi !== DOI_IPSEC && doi !== DOI_ISAKMP) throw v1WireError(V1WireErrorCode.BAD_DOI, `${what} DOI ${doi}`, offset);
}

function decodeBody(type: number, r: Reader, typeOffset: number): V1Payload {
  switch (type) {
    case PayloadType.SA:
      return { kind: 'SA', ...decodeSaBody(r) };
    case PayloadType.KE:
      return { kind: 'KE', data: nonEmpty(r, 'KE', LIMITS.keBytes) };
    case PayloadType.ID: {
      const idType = r.u8('ID type');
      const protocolId = r.u8('ID protocol');
      const port = r.u16('ID port');
      const expected = Object.hasOwn(ID_DATA_LENGTH, idType) ? ID_DATA_LENGTH[idType] : undefined;
      if (expected === undefined) throw v1WireError(V1WireErrorCode.BAD_VALUE, `ID type ${idType}`, r.absoluteOffset - 4);
      const data = r.rest();
      if (expected === 'any' ? data.length === 0 || data.length > 255 : data.length !== expected) {
        throw v1WireError(V1WireErrorCode.BAD_LENGTH, `ID type ${idType} with ${data.length} bytes of data`, r.absoluteOffset - data.length);
      }
      return { kind: 'ID', idType, protocolId, port, data };
    }
    case PayloadType.HASH:
      return { kind: 'HASH', data: nonEmpty(r, 'HASH', LIMITS.hashBytes) };
    case PayloadType.NONCE: {
      const data = r.rest();
      if (data.length < NONCE_MIN_LENGTH || data.length > NONCE_MAX_LENGTH) {
        throw v1WireError(V1WireErrorCode.BAD_NONCE_LENGTH, `nonce of ${data.length} bytes`, typeOffset);
      }
      return { kind: 'NONCE', data };
    }
    case PayloadType.NOTIFICATION: {
      const doi = r.u32('notify DOI');
      checkDoi(doi, r.absoluteOffset - 4, 'notify');
      const protocolId = r.u8('notify protocol');
      const spiSize = r.u8('notify SPI size');
      checkSpiSize(protocolId, spiSize, r.absoluteOffset - 1, 'notify');
      const notifyType = r.u16('notify type');
      const spi = r.bytes(spiSize, 'notify SPI');
      return { kind: 'N', doi, protocolId, spi, notifyType, data: r.rest() };
    }
    case PayloadType.DELETE: {
      const doi = r.u32('delete DOI');
      checkDoi(doi, r.absoluteOffset - 4, 'delete');
      const protocolId = r.u8('delete protocol');
      const spiSize = r.u8('delete SPI size');
      const count = r.u16('number of SPIs');
      if (spiSize === 0) throw v1WireError(V1WireErrorCode.BAD_SPI_SIZE, 'delete with zero SPI size', r.absoluteOffset - 3);
      checkSpiSize(protocolId, spiSize, r.absoluteOffset - 3, 'delete');
      if (count === 0 || count > LIMITS.spisPerDelete) throw v1WireError(V1WireErrorCode.BAD_VALUE, `delete of ${count} SPIs`, r.absoluteOffset - 2);
      if (r.remaining !== count * spiSize) {
        throw v1WireError(V1WireErrorCode.BAD_LENGTH, `${count} SPIs of ${spiSize} bytes in ${r.remaining} bytes`, r.absoluteOffset);
      }
      const spis: Buffer[] = [];
      for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, 'SPI'));
      return { kind: 'D', doi, protocolId, spis };
    }
    case PayloadType.VENDOR_ID:
      return { kind: 'VID', data: nonEmpty(r, 'vendor ID', LIMITS.vendorIdBytes) };
    case PayloadType.NAT_D:
      return { kind: 'NAT-D', data: nonEmpty(r, 'NAT-D', LIMITS.hashBytes) };
    case PayloadType.NAT_OA: {
      const idType = r.u8('NAT-OA ID type');
      r.skip(3);
      const expected = idType === IdType.ID_IPV4_ADDR ? 4 : idType === IdType.ID_IPV6_ADDR ? 16 : undefined;
      if (expected === undefined) throw v1WireError(V1WireErrorCode.BAD_VALUE, `NAT-OA ID type ${idType}`, r.absoluteOffset - 4);
      if (r.remaining !== expected) throw v1WireError(V1WireErrorCode.BAD_LENGTH, `NAT-OA address of ${r.remaining} bytes`, r.absoluteOffset);
      return { kind: 'NAT-OA', idType, address: r.rest() };
    }
    case PayloadType.CERT:
    case PayloadType.CR:
    case PayloadType.SIG:
      return { kind: 'UNSUPPORTED', type, body: r.rest() };
    default:
      throw new InvalidPayloadTypeError(type, typeOffset);
  }
}

export interface DecodedChain {
  readonly entries: ChainEntry[];
  /** Offset (in `buffer`) where the chain ended; the rest is padding inside an encrypted body. */
  readonly end: number;
}

/**
 * Decodes the chain starting at `start` with `firstType` (from the header) up to the payload
 * whose Next Payload is 0. Bytes after it are TRAILING_DATA unless `allowTrailing` (the zero
 * padding of an encrypted body, RFC 2408 §3.1).
 */
export function decodeChain(buffer: Buffer, start: number, end: number, firstType: number, allowTrailing: boolean): DecodedChain {
  const r = new Reader(buffer, start, end, 'payload chain');
  const entries: ChainEntry[] = [];
  let type = firstType;
  let typeOffset = start;
  while (type !== PayloadType.NONE) {
    if (entries.length >= LIMITS.payloadsPerMessage) {
      throw v1WireError(V1WireErrorCode.TOO_LARGE, `more than ${LIMITS.payloadsPerMessage} payloads`, r.absoluteOffset);
    }
    if (!isKnownTopLevelType(type)) throw new InvalidPayloadTypeError(type, typeOffset);
    const at = r.absoluteOffset;
    const next = r.u8('next payload');
    r.skip(1);
    const length = r.u16('payload length');
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH) {
      throw v1WireError(V1WireErrorCode.BAD_LENGTH, `payload length ${length}`, at + 2);
    }
    const body = r.sub(length - GENERIC_PAYLOAD_HEADER_LENGTH, `payload ${type}`);
    const payload = decodeBody(type, body, typeOffset);
    body.expectEnd();
    entries.push({ type, payload, raw: Buffer.from(buffer.subarray(at, at + length)) });
    type = next;
    typeOffset = at;
  }
  if (!allowTrailing) r.expectEnd('message');
  return { entries, end: r.absoluteOffset };
}

function isKnownTopLevelType(type: number): boolean {
  switch (type) {
    case PayloadType.SA:
    case PayloadType.KE:
    case PayloadType.ID:
    case PayloadType.CERT:
    case PayloadType.CR:
    case PayloadType.HASH:
    case PayloadType.SIG:
    case PayloadType.NONCE:
    case PayloadType.NOTIFICATION:
    case PayloadType.DELETE:
    case PayloadType.VENDOR_ID:
    case PayloadType.NAT_D:
    case PayloadType.NAT_OA:
      return true;
    default:
      return false;
  }
}

function encodeBody(w: Writer, p: V1Payload): void {
  switch (p.kind) {
    case 'SA':
      encodeSaBody(w, p);
      return;
    case 'KE':
    case 'HASH':
    case 'NONCE':
    case 'VID':
    case 'NAT-D':
      w.bytes(p.data);
      return;
    case 'ID':
      w.u8(p.idType).u8(p.protocolId).u16(p.port).bytes(p.data);
      return;
    case 'N':
      w.u32(p.doi).u8(p.protocolId).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data);
      return;
    case 'D': {
      const size = p.spis[0]?.length ?? 0;
      if (p.spis.some((s) => s.length !== size)) throw v1WireError(V1WireErrorCode.BAD_LENGTH, 'delete SPIs of different sizes');
      w.u32(p.doi).u8(p.protocolId).u8(size).u16(p.spis.length);
      for (const spi of p.spis) w.bytes(spi);
      return;
    }
    case 'NAT-OA':
      w.u8(p.idType).zeros(3).bytes(p.address);
      return;
    case 'UNSUPPORTED':
      w.bytes(p.body);
      return;
  }
}

/** One payload with its generic header; `next` is the following payload's type. */
export function encodePayload(p: V1Payload, next: number): Buffer {
  const w = new Writer(64, LIMITS.messageLength);
  w.u8(next).u8(0);
  const length = w.reserve(2);
  encodeBody(w, p);
  w.patch(length, w.length);
  return w.finish();
}

/** The body of a payload without its generic header (SAi_b, IDii_b, Ni_b: RFC 2409 §5). */
export function encodePayloadBody(p: V1Payload): Buffer {
  return encodePayload(p, 0).subarray(GENERIC_PAYLOAD_HEADER_LENGTH);
}

export function encodeChain(payloads: readonly V1Payload[]): { firstType: number; bytes: Buffer } {
  const parts = payloads.map((p, i) => {
    const following = payloads[i + 1];
    return encodePayload(p, following ? payloadTypeOf(following) : PayloadType.NONE);
  });
  const first = payloads[0];
  return { firstType: first ? payloadTypeOf(first) : PayloadType.NONE, bytes: Buffer.concat(parts) };
}

/** ID payload data for an IPv4 subnet (RFC 2407 §4.6.2.1 ID_IPV4_ADDR_SUBNET): address | mask. */
export function ipv4SubnetId(address: string, prefix: number): IdPayload {
  if (!isIPv4(address) || prefix < 0 || prefix > 32) throw v1WireError(V1WireErrorCode.BAD_VALUE, 'IPv4 subnet');
  const addr = Buffer.from(address.split('.').map(Number));
  const mask = Buffer.alloc(4);
  if (prefix > 0) mask.writeUInt32BE((0xffffffff << (32 - prefix)) >>> 0);
  return { kind: 'ID', idType: IdType.ID_IPV4_ADDR_SUBNET, protocolId: 0, port: 0, data: Buffer.concat([addr, mask]) };
}
