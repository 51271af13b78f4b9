/**
 * IKEv2 payload models and codecs (RFC 7296 §3.2–§3.16, RFC 7383 §2.5).
 *
 * A payload chain is a run of generic payload headers (§3.2), each naming the type of the
 * payload after it:
 *
 *   Next(1) C|RESERVED(1) Length(2, ≥ 4, includes this header) Body(Length − 4)
 *
 * The chain ends at Next = 0, or at SK/SKF, whose Next field names the first payload *inside*
 * the encryption instead (§3.14), so SK/SKF is always last. Each body is decoded through a reader
 * confined to its declared length. Unknown payload types are kept raw; an unknown type with the
 * critical bit set rejects the whole message (UnsupportedCriticalPayloadError, §3.2).
 *
 * Wire values that decide the layout (protocol IDs → SPI sizes, TS types → address lengths, CFG
 * types) go through allow-lists and unknown values are rejected. Values that are semantic choices
 * (transform IDs, DH group, auth method, notify type, ID type, cert encoding) are carried as
 * numbers for the layer that decides, each of which uses an allow-list of its own.
 */
import { Reader, Writer } from '../../../wire/buffer.js';
import {
  CfgType,
  COOKIE_MAX_LENGTH,
  COOKIE_MIN_LENGTH,
  CRITICAL_BIT,
  GENERIC_PAYLOAD_HEADER_LENGTH,
  IdType,
  AuthMethod,
  MAX_CP_ATTRIBUTES,
  MAX_IKE_FRAGMENTS,
  MAX_PAYLOADS_PER_CHAIN,
  NAT_DETECTION_DIGEST_LENGTH,
  NONCE_MAX_LENGTH,
  NONCE_MIN_LENGTH,
  NotifyType,
  PayloadType,
  ProtocolId,
  SPI_SIZE,
  isKnownPayloadType,
  payloadTypeName,
} from './constants.js';
import { IkeWireErrorCode as E, UnsupportedCriticalPayloadError, wireError } from './errors.js';
import { type Proposal, decodeSaBody, encodeSaBody } from './sa.js';
import { type TrafficSelector, decodeTsBody, encodeTsBody } from './traffic-selectors.js';

export interface SaPayload {
  readonly kind: 'SA';
  readonly proposals: readonly Proposal[];
}
export interface KePayload {
  readonly kind: 'KE';
  /** Diffie-Hellman Group Num (§3.4), unvalidated: the KE layer checks it against the proposal. */
  readonly group: number;
  readonly data: Buffer;
}
export interface IdPayload {
  readonly kind: 'IDi' | 'IDr';
  readonly idType: number;
  readonly data: Buffer;
}
export interface CertPayload {
  readonly kind: 'CERT';
  readonly encoding: number;
  readonly data: Buffer;
}
export interface CertReqPayload {
  readonly kind: 'CERTREQ';
  readonly encoding: number;
  readonly data: Buffer;
}
export interface AuthPayload {
  readonly kind: 'AUTH';
  readonly method: number;
  readonly data: Buffer;
}
export interface NoncePayload {
  readonly kind: 'Nonce';
  readonly nonce: Buffer;
}
export interface NotifyPayload {
  readonly kind: 'N';
  /** 0 when the SPI is empty (then ignored on receipt, §3.10), else IKE/AH/ESP. */
  readonly protocolId: number;
  readonly spi: Buffer;
  readonly notifyType: number;
  readonly data: Buffer;
}
export interface DeletePayload {
  readonly kind: 'D';
  readonly protocolId: typeof ProtocolId.IKE | typeof ProtocolId.AH | typeof ProtocolId.ESP;
  /** Empty for IKE (the SA is the one in the header); 4-byte SPIs for AH/ESP (§3.11). */
  readonly spis: readonly Buffer[];
}
export interface VendorIdPayload {
  readonly kind: 'V';
  readonly data: Buffer;
}
export interface TsPayload {
  readonly kind: 'TSi' | 'TSr';
  readonly selectors: readonly TrafficSelector[];
}
export interface CpAttribute {
  readonly type: number;
  readonly value: Buffer;
}
export interface CpPayload {
  readonly kind: 'CP';
  readonly cfgType: CfgType;
  readonly attributes: readonly CpAttribute[];
}
export interface EapPayload {
  readonly kind: 'EAP';
  readonly data: Buffer;
}
/** The Encrypted payload as found on the wire: the wire layer does no crypto (§3.14). */
export interface SkPayload {
  readonly kind: 'SK';
  /** Type of the first payload inside the encryption (the SK header's Next Payload). */
  readonly firstInnerType: number;
  /** IV | ciphertext (payloads, padding, pad length) | ICV. */
  readonly body: Buffer;
}
/** Encrypted Fragment payload (RFC 7383 §2.5). */
export interface SkfPayload {
  readonly kind: 'SKF';
  readonly fragmentNumber: number;
  readonly totalFragments: number;
  /** First inner payload type in fragment 1; 0 in the others (ignored there on receipt). */
  readonly firstInnerType: number;
  readonly body: Buffer;
}
/** A payload type this codec does not know, kept raw. Only non-critical ones get this far. */
export interface UnknownPayload {
  readonly kind: 'unknown';
  readonly type: number;
  readonly critical: boolean;
  readonly body: Buffer;
}

export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertReqPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | TsPayload
  | CpPayload
  | EapPayload
  | SkPayload
  | SkfPayload
  | UnknownPayload;

export type PayloadKind = Payload['kind'];
export type EncryptedPayload = SkPayload | SkfPayload;

const TYPE_OF_KIND: Readonly<Record<Exclude<PayloadKind, 'unknown'>, PayloadType>> = {
  SA: PayloadType.SA,
  KE: PayloadType.KE,
  IDi: PayloadType.IDi,
  IDr: PayloadType.IDr,
  CERT: PayloadType.CERT,
  CERTREQ: PayloadType.CERTREQ,
  AUTH: PayloadType.AUTH,
  Nonce: PayloadType.NONCE,
  N: PayloadType.NOTIFY,
  D: PayloadType.DELETE,
  V: PayloadType.VENDOR_ID,
  TSi: PayloadType.TSi,
  TSr: PayloadType.TSr,
  SK: PayloadType.SK,
  CP: PayloadType.CP,
  EAP: PayloadType.EAP,
  SKF: PayloadType.SKF,
};

/** The wire payload type of a model. */
export function payloadTypeOf(payload: Payload): number {
  return payload.kind === 'unknown' ? payload.type : TYPE_OF_KIND[payload.kind];
}

export function isEncryptedPayload(payload: Payload): payload is EncryptedPayload {
  return payload.kind === 'SK' || payload.kind === 'SKF';
}

// ---------------------------------------------------------------------------------------------
// Field rules shared by decode and encode

const CP_TYPES: ReadonlySet<number> = new Set(Object.values(CfgType));

function isCfgType(value: number): value is CfgType {
  return CP_TYPES.has(value);
}

function checkNonce(nonce: Buffer, offset?: number): void {
  if (nonce.length < NONCE_MIN_LENGTH || nonce.length > NONCE_MAX_LENGTH) {
    throw wireError(E.BAD_NONCE_LENGTH, `nonce of ${nonce.length} bytes (RFC 7296 §3.9: 16..256)`, offset);
  }
}

function checkNotEmpty(data: Buffer, what: string, offset?: number): void {
  if (data.length === 0) throw wireError(E.EMPTY_DATA, `${what} is empty`, offset);
}

/** ID data: fixed sizes for address types, nothing for ID_NULL, something for the rest (§3.5). */
function checkIdData(idType: number, data: Buffer, offset?: number): void {
  const fixed: Readonly<Record<number, number>> = {
    [IdType.ID_IPV4_ADDR]: 4,
    [IdType.ID_IPV6_ADDR]: 16,
    [IdType.ID_NULL]: 0,
  };
  const want = fixed[idType];
  if (want !== undefined) {
    if (data.length !== want) throw wireError(E.BAD_LENGTH, `ID type ${idType} with ${data.length} bytes`, offset);
    return;
  }
  checkNotEmpty(data, `ID type ${idType} data`, offset);
}

function checkAuthData(method: number, data: Buffer, offset?: number): void {
  if (method !== AuthMethod.NULL_AUTH) checkNotEmpty(data, 'AUTH data', offset);
}

/**
 * Notify SPI (§3.10): empty (protocol then ignored), or 4 bytes for AH/ESP; an 8-byte IKE SPI
 * is tolerated. REKEY_SA must name a Child SA (§1.3.3).
 */
function checkNotifySpi(protocolId: number, spi: Buffer, notifyType: number, offset?: number): void {
  const ok =
    spi.length === 0 ||
    (spi.length === SPI_SIZE.CHILD && (protocolId === ProtocolId.AH || protocolId === ProtocolId.ESP)) ||
    (spi.length === SPI_SIZE.IKE && protocolId === ProtocolId.IKE);
  if (!ok) throw wireError(E.BAD_SPI_SIZE, `notify SPI of ${spi.length} bytes for protocol ${protocolId}`, offset);
  if (notifyType === NotifyType.REKEY_SA && spi.length !== SPI_SIZE.CHILD) {
    throw wireError(E.BAD_SPI_SIZE, 'REKEY_SA without a Child SA SPI', offset);
  }
}

const SHA1_DIGEST = { min: NAT_DETECTION_DIGEST_LENGTH, max: NAT_DETECTION_DIGEST_LENGTH };

/** Data sizes fixed by the RFCs for the notifications whose data we parse. */
const NOTIFY_DATA_LENGTH: ReadonlyMap<number, { min: number; max: number; even?: boolean }> = new Map([
  [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, { min: 1, max: 1 }], // §3.10.1: the one-octet payload type
  [NotifyType.INVALID_KE_PAYLOAD, { min: 2, max: 2 }], // §3.10.1: the accepted DH group
  [NotifyType.COOKIE, { min: COOKIE_MIN_LENGTH, max: COOKIE_MAX_LENGTH }], // §2.6
  [NotifyType.NAT_DETECTION_SOURCE_IP, SHA1_DIGEST], // §2.23
  [NotifyType.NAT_DETECTION_DESTINATION_IP, SHA1_DIGEST],
  [NotifyType.SIGNATURE_HASH_ALGORITHMS, { min: 0, max: 0xffff, even: true }], // RFC 7427 §4: 2-octet IDs
]);

function checkNotifyData(notifyType: number, data: Buffer, offset?: number): void {
  const rule = NOTIFY_DATA_LENGTH.get(notifyType);
  if (!rule) return;
  if (data.length < rule.min || data.length > rule.max || (rule.even === true && data.length % 2 !== 0)) {
    throw wireError(E.BAD_NOTIFY_DATA, `notify ${notifyType} with ${data.length} bytes of data`, offset);
  }
}

function deleteSpiSize(protocolId: number): number {
  return protocolId === ProtocolId.IKE ? 0 : SPI_SIZE.CHILD;
}

function isDeleteProtocol(value: number): value is DeletePayload['protocolId'] {
  return value === ProtocolId.IKE || value === ProtocolId.AH || value === ProtocolId.ESP;
}

/** RFC 7383 §2.5: 1 ≤ Fragment Number ≤ Total Fragments, and the total is bounded here. */
export function isValidFragmentNumbering(fragmentNumber: number, totalFragments: number): boolean {
  return fragmentNumber >= 1 && fragmentNumber <= totalFragments && totalFragments <= MAX_IKE_FRAGMENTS;
}

function checkFragment(fragmentNumber: number, totalFragments: number, offset?: number): void {
  if (!isValidFragmentNumbering(fragmentNumber, totalFragments)) {
    throw wireError(E.BAD_FRAGMENT, `fragment ${fragmentNumber} of ${totalFragments}`, offset);
  }
}

// ---------------------------------------------------------------------------------------------
// Bodies

function decodeDelete(r: Reader): DeletePayload {
  const start = r.absoluteOffset;
  const protocolId = r.u8('delete protocol id');
  const spiSize = r.u8('delete spi size');
  const count = r.u16('num of spis');
  if (!isDeleteProtocol(protocolId)) throw wireError(E.BAD_PROTOCOL_ID, `Delete protocol ${protocolId}`, start);
  if (spiSize !== deleteSpiSize(protocolId)) {
    throw wireError(E.BAD_SPI_SIZE, `Delete SPI size ${spiSize} for protocol ${protocolId}`, start + 1);
  }
  if (protocolId === ProtocolId.IKE ? count !== 0 : count === 0) {
    throw wireError(E.BAD_VALUE, `Delete for protocol ${protocolId} with ${count} SPIs`, start + 2);
  }
  if (count * spiSize !== r.remaining) {
    throw wireError(E.BAD_LENGTH, `Delete declares ${count} SPIs, ${r.remaining} bytes present`, start + 2);
  }
  const spis: Buffer[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, 'delete spi'));
  return { kind: 'D', protocolId, spis };
}

function decodeNotify(r: Reader): NotifyPayload {
  const start = r.absoluteOffset;
  const protocolId = r.u8('notify protocol id');
  const spiSize = r.u8('notify spi size');
  const notifyType = r.u16('notify type');
  const spi = r.bytes(spiSize, 'notify spi');
  checkNotifySpi(protocolId, spi, notifyType, start);
  const data = r.rest();
  checkNotifyData(notifyType, data, start);
  // §3.10: with an empty SPI the Protocol ID "MUST be ignored on receipt"; normalise it to 0.
  return { kind: 'N', protocolId: spi.length === 0 ? ProtocolId.NONE : protocolId, spi, notifyType, data };
}

function decodeCp(r: Reader): CpPayload {
  const start = r.absoluteOffset;
  const cfgType = r.u8('cfg type');
  r.skip(3);
  if (!isCfgType(cfgType)) throw wireError(E.BAD_VALUE, `CFG type ${cfgType}`, start);
  const attributes: CpAttribute[] = [];
  while (!r.atEnd) {
    if (attributes.length >= MAX_CP_ATTRIBUTES) {
      throw wireError(E.TOO_LARGE, `more than ${MAX_CP_ATTRIBUTES} CP attributes`, r.absoluteOffset);
    }
    const type = r.u16('cp attribute type') & 0x7fff; // the R bit is reserved (§3.15.1)
    const length = r.u16('cp attribute length');
    attributes.push({ type, value: r.bytes(length, 'cp attribute value') });
  }
  return { kind: 'CP', cfgType, attributes };
}

function decodeKnownBody(type: PayloadType, next: number, r: Reader): Payload {
  const at = r.absoluteOffset;
  switch (type) {
    case PayloadType.SA:
      return { kind: 'SA', proposals: decodeSaBody(r) };
    case PayloadType.KE: {
      const group = r.u16('dh group');
      r.skip(2);
      const data = r.rest();
      checkNotEmpty(data, 'Key Exchange Data', at);
      return { kind: 'KE', group, data };
    }
    case PayloadType.IDi:
    case PayloadType.IDr: {
      const idType = r.u8('id type');
      r.skip(3);
      const data = r.rest();
      checkIdData(idType, data, at);
      return { kind: type === PayloadType.IDi ? 'IDi' : 'IDr', idType, data };
    }
    case PayloadType.CERT:
      return { kind: 'CERT', encoding: r.u8('cert encoding'), data: r.rest() };
    case PayloadType.CERTREQ:
      return { kind: 'CERTREQ', encoding: r.u8('cert encoding'), data: r.rest() };
    case PayloadType.AUTH: {
      const method = r.u8('auth method');
      r.skip(3);
      const data = r.rest();
      checkAuthData(method, data, at);
      return { kind: 'AUTH', method, data };
    }
    case PayloadType.NONCE: {
      const nonce = r.rest();
      checkNonce(nonce, at);
      return { kind: 'Nonce', nonce };
    }
    case PayloadType.NOTIFY:
      return decodeNotify(r);
    case PayloadType.DELETE:
      return decodeDelete(r);
    case PayloadType.VENDOR_ID:
      return { kind: 'V', data: r.rest() };
    case PayloadType.TSi:
    case PayloadType.TSr:
      return { kind: type === PayloadType.TSi ? 'TSi' : 'TSr', selectors: decodeTsBody(r) };
    case PayloadType.CP:
      return decodeCp(r);
    case PayloadType.EAP:
      return { kind: 'EAP', data: r.rest() };
    case PayloadType.SK:
      return { kind: 'SK', firstInnerType: next, body: r.rest() };
    case PayloadType.SKF: {
      const fragmentNumber = r.u16('fragment number');
      const totalFragments = r.u16('total fragments');
      checkFragment(fragmentNumber, totalFragments, at);
      // RFC 7383 §2.5: Next Payload is the first inner type in fragment 1 and zero elsewhere.
      const firstInnerType = fragmentNumber === 1 ? next : PayloadType.NONE;
      return { kind: 'SKF', fragmentNumber, totalFragments, firstInnerType, body: r.rest() };
    }
    case PayloadType.NONE:
      throw wireError(E.BAD_VALUE, 'payload type 0', at);
  }
}

function encodeBody(w: Writer, payload: Payload): void {
  switch (payload.kind) {
    case 'SA':
      encodeSaBody(w, payload.proposals);
      return;
    case 'KE':
      checkNotEmpty(payload.data, 'Key Exchange Data');
      w.u16(payload.group).zeros(2).bytes(payload.data);
      return;
    case 'IDi':
    case 'IDr':
      checkIdData(payload.idType, payload.data);
      w.u8(payload.idType).zeros(3).bytes(payload.data);
      return;
    case 'CERT':
    case 'CERTREQ':
      w.u8(payload.encoding).bytes(payload.data);
      return;
    case 'AUTH':
      checkAuthData(payload.method, payload.data);
      w.u8(payload.method).zeros(3).bytes(payload.data);
      return;
    case 'Nonce':
      checkNonce(payload.nonce);
      w.bytes(payload.nonce);
      return;
    case 'N':
      checkNotifySpi(payload.protocolId, payload.spi, payload.notifyType);
      checkNotifyData(payload.notifyType, payload.data);
      w.u8(payload.spi.length === 0 ? ProtocolId.NONE : payload.protocolId);
      w.u8(payload.spi.length).u16(payload.notifyType).bytes(payload.spi).bytes(payload.data);
      return;
    case 'D': {
      const spiSize = deleteSpiSize(payload.protocolId);
      if (payload.spis.some((spi) => spi.length !== spiSize)) {
        throw wireError(E.BAD_SPI_SIZE, `Delete SPIs must be ${spiSize} bytes`);
      }
      if (payload.protocolId === ProtocolId.IKE ? payload.spis.length !== 0 : payload.spis.length === 0) {
        throw wireError(E.BAD_VALUE, `Delete for protocol ${payload.protocolId} with ${payload.spis.length} SPIs`);
      }
      w.u8(payload.protocolId).u8(spiSize).u16(payload.spis.length);
      for (const spi of payload.spis) w.bytes(spi);
      return;
    }
    case 'V':
    case 'EAP':
      w.bytes(payload.data);
      return;
    case 'TSi':
    case 'TSr':
      encodeTsBody(w, payload.selectors);
      return;
    case 'CP':
      if (!isCfgType(payload.cfgType)) throw wireError(E.BAD_VALUE, `CFG type ${payload.cfgType}`);
      if (payload.attributes.length > MAX_CP_ATTRIBUTES) throw wireError(E.TOO_LARGE, 'too many CP attributes');
      w.u8(payload.cfgType).zeros(3);
      for (const attribute of payload.attributes) {
        if (attribute.type > 0x7fff) throw wireError(E.BAD_VALUE, `CP attribute type ${attribute.type}`);
        w.u16(attribute.type).u16(attribute.value.length).bytes(attribute.value);
      }
      return;
    case 'SK':
      w.bytes(payload.body);
      return;
    case 'SKF':
      checkFragment(payload.fragmentNumber, payload.totalFragments);
      w.u16(payload.fragmentNumber).u16(payload.totalFragments).bytes(payload.body);
      return;
    case 'unknown':
      w.bytes(payload.body);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Chains

export interface ChainOptions {
  /** Outer chains may end in SK/SKF; chains decrypted from SK may not (§3.14). */
  readonly allowEncrypted: boolean;
}

/**
 * Decodes the payload chain starting with `firstType` from `r`, which must be exactly the
 * chain's bytes. Throws a WireError on any inconsistency; never reads outside `r`.
 */
export function decodePayloadChain(r: Reader, firstType: number, options: ChainOptions): Payload[] {
  const payloads: Payload[] = [];
  let type = firstType;
  while (type !== PayloadType.NONE) {
    if (payloads.length >= MAX_PAYLOADS_PER_CHAIN) {
      throw wireError(E.TOO_LARGE, `more than ${MAX_PAYLOADS_PER_CHAIN} payloads`, r.absoluteOffset);
    }
    const start = r.absoluteOffset;
    const next = r.u8(`${payloadTypeName(type)} next payload`);
    const critical = (r.u8('payload flags') & CRITICAL_BIT) !== 0;
    const length = r.u16(`${payloadTypeName(type)} payload length`);
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH) {
      throw wireError(E.BAD_LENGTH, `${payloadTypeName(type)} payload length ${length} < 4`, start);
    }
    if (length - GENERIC_PAYLOAD_HEADER_LENGTH > r.remaining) {
      throw wireError(
        E.BAD_LENGTH,
        `${payloadTypeName(type)} payload length ${length} runs past the end (${r.remaining + 4} left)`,
        start,
      );
    }
    const body = r.sub(length - GENERIC_PAYLOAD_HEADER_LENGTH, `${payloadTypeName(type)} payload`);
    if (!isKnownPayloadType(type)) {
      if (critical) throw new UnsupportedCriticalPayloadError(type, start);
      payloads.push({ kind: 'unknown', type, critical, body: body.rest() });
      type = next;
      continue;
    }
    const payload = decodeKnownBody(type, next, body);
    body.expectEnd(`${payloadTypeName(type)} payload`);
    payloads.push(payload);
    if (isEncryptedPayload(payload)) {
      if (!options.allowEncrypted) {
        throw wireError(E.BAD_ENCRYPTED_PLACEMENT, `${payload.kind} inside an encrypted payload`, start);
      }
      break; // its Next Payload field belongs to the inner chain
    }
    type = next;
  }
  if (!r.atEnd) {
    const last = payloads[payloads.length - 1];
    if (last && isEncryptedPayload(last)) {
      throw wireError(E.BAD_ENCRYPTED_PLACEMENT, `${last.kind} must be the last payload`, r.absoluteOffset);
    }
    throw wireError(E.TRAILING_DATA, 'bytes after the last payload', r.absoluteOffset);
  }
  return payloads;
}

/**
 * Encodes `payloads` as one chain into `w` and returns the type for the field that precedes it
 * (the IKE header's or the SK header's Next Payload). SK/SKF may only come last, and only in
 * outer chains.
 */
export function encodePayloadChain(w: Writer, payloads: readonly Payload[], options: ChainOptions): number {
  if (payloads.length > MAX_PAYLOADS_PER_CHAIN) {
    throw wireError(E.TOO_LARGE, `${payloads.length} payloads in one chain`);
  }
  payloads.forEach((payload, index) => {
    const isLast = index === payloads.length - 1;
    if (isEncryptedPayload(payload) && (!options.allowEncrypted || !isLast)) {
      throw wireError(E.BAD_ENCRYPTED_PLACEMENT, `${payload.kind} must be the last outer payload`);
    }
    if (payload.kind === 'unknown' && (isKnownPayloadType(payload.type) || payload.type === PayloadType.NONE)) {
      throw wireError(E.BAD_VALUE, `unknown payload with known type ${payload.type}`);
    }
    const following = payloads[index + 1];
    let next: number = following ? payloadTypeOf(following) : PayloadType.NONE;
    if (isEncryptedPayload(payload)) next = payload.firstInnerType;
    const start = w.length;
    w.u8(next).u8(payload.kind === 'unknown' && payload.critical ? CRITICAL_BIT : 0);
    const length = w.reserve(2);
    encodeBody(w, payload);
    w.patch(length, w.lengthSince(start));
  });
  const first = payloads[0];
  return first ? payloadTypeOf(first) : PayloadType.NONE;
}
