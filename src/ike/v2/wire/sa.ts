/**
 * Security Association payload body (RFC 7296 §3.3):
 *
 *   SA body   = Proposal+                        (at least one)
 *   Proposal  = Last(1: 0|2) RESERVED(1) Length(2) Num(1) ProtocolID(1) SPISize(1) NumTransforms(1) SPI Transform+
 *   Transform = Last(1: 0|3) RESERVED(1) Length(2) Type(1) RESERVED(1) ID(2) Attribute*
 *   Attribute = AF|Type(2) then Value(2) when AF=1 (TV), else Length(2) Value (TLV)
 *
 * Every declared length is checked against its container through bounded sub-readers; the
 * last-substructure bits must agree with the bytes actually present, counts must agree with
 * what was parsed, and SPI sizes must fit the protocol. Transform types and IDs are carried as
 * numbers: choosing among them is the proposal-selection layer's job, through the allow-list in
 * src/crypto/transforms.ts.
 */
import { Reader, Writer } from '../../../wire/buffer.js';
import {
  ATTRIBUTE_FORMAT_TV,
  MAX_ATTRIBUTES_PER_TRANSFORM,
  MAX_PROPOSALS,
  MAX_TRANSFORMS_PER_PROPOSAL,
  PROPOSAL_LAST,
  PROPOSAL_MORE,
  ProtocolId,
  SPI_SIZE,
  TRANSFORM_LAST,
  TRANSFORM_MORE,
  TransformAttributeType,
} from './constants.js';
import { IkeWireErrorCode as E, wireError } from './errors.js';

export type SaProtocolId = typeof ProtocolId.IKE | typeof ProtocolId.AH | typeof ProtocolId.ESP;

export type TransformAttribute =
  | { readonly format: 'TV'; readonly type: number; readonly value: number }
  | { readonly format: 'TLV'; readonly type: number; readonly value: Buffer };

export interface Transform {
  /** Transform type (ENCR 1, PRF 2, INTEG 3, DH 4, ESN 5; RFC 7296 §3.3.2), unvalidated. */
  readonly type: number;
  /** Transform ID within the type, unvalidated: look it up in src/crypto/transforms.ts. */
  readonly id: number;
  readonly attributes: readonly TransformAttribute[];
}

export interface Proposal {
  /** Proposal Num (RFC 7296 §3.3.1): 1, 2, … in an offer; the accepted number in an answer. */
  readonly number: number;
  readonly protocolId: SaProtocolId;
  /** Empty for the initial IKE SA, 8 bytes for an IKE rekey, 4 bytes for AH/ESP. */
  readonly spi: Buffer;
  readonly transforms: readonly Transform[];
}

const SA_PROTOCOLS: ReadonlySet<number> = new Set([ProtocolId.IKE, ProtocolId.AH, ProtocolId.ESP]);

export function isSaProtocolId(value: number): value is SaProtocolId {
  return SA_PROTOCOLS.has(value);
}

/** SPI sizes allowed per protocol in a proposal (RFC 7296 §3.3.1). */
export function isValidProposalSpiSize(protocolId: SaProtocolId, spiSize: number): boolean {
  if (protocolId === ProtocolId.IKE) return spiSize === SPI_SIZE.IKE_INITIAL || spiSize === SPI_SIZE.IKE;
  return spiSize === SPI_SIZE.CHILD;
}

/** The Key Length attribute value (bits), if present (RFC 7296 §3.3.5). */
export function keyLengthOf(transform: Transform): number | undefined {
  for (const attribute of transform.attributes) {
    if (attribute.format === 'TV' && attribute.type === TransformAttributeType.KEY_LENGTH) return attribute.value;
  }
  return undefined;
}

function decodeAttribute(r: Reader): TransformAttribute {
  const typeField = r.u16('attribute type');
  const type = typeField & 0x7fff;
  if (typeField & ATTRIBUTE_FORMAT_TV) {
    return { format: 'TV', type, value: r.u16('attribute value') };
  }
  if (type === TransformAttributeType.KEY_LENGTH) {
    throw wireError(E.BAD_VALUE, 'Key Length attribute must use TV format (RFC 7296 §3.3.5)', r.absoluteOffset - 2);
  }
  const length = r.u16('attribute length');
  return { format: 'TLV', type, value: r.bytes(length, 'attribute value') };
}

function decodeTransform(r: Reader, expectLast: boolean): Transform {
  const start = r.absoluteOffset;
  const last = r.u8('transform last substruc');
  r.skip(1);
  const length = r.u16('transform length');
  if (last !== TRANSFORM_LAST && last !== TRANSFORM_MORE) {
    throw wireError(E.BAD_SUBSTRUCTURE, `transform Last Substruc ${last} is neither 0 nor 3`, start);
  }
  if ((last === TRANSFORM_LAST) !== expectLast) {
    throw wireError(E.BAD_SUBSTRUCTURE, 'transform Last Substruc disagrees with Num Transforms', start);
  }
  if (length < 8) throw wireError(E.BAD_LENGTH, `transform length ${length} < 8`, start);
  const body = r.sub(length - 4, 'transform');
  const type = body.u8('transform type');
  body.skip(1);
  const id = body.u16('transform id');
  const attributes: TransformAttribute[] = [];
  while (!body.atEnd) {
    if (attributes.length >= MAX_ATTRIBUTES_PER_TRANSFORM) {
      const limit = MAX_ATTRIBUTES_PER_TRANSFORM;
      throw wireError(E.TOO_LARGE, `more than ${limit} transform attributes`, body.absoluteOffset);
    }
    attributes.push(decodeAttribute(body));
  }
  return { type, id, attributes };
}

function decodeProposal(r: Reader): { proposal: Proposal; isLast: boolean } {
  const start = r.absoluteOffset;
  const last = r.u8('proposal last substruc');
  r.skip(1);
  const length = r.u16('proposal length');
  if (last !== PROPOSAL_LAST && last !== PROPOSAL_MORE) {
    throw wireError(E.BAD_SUBSTRUCTURE, `proposal Last Substruc ${last} is neither 0 nor 2`, start);
  }
  if (length < 8) throw wireError(E.BAD_LENGTH, `proposal length ${length} < 8`, start);
  const body = r.sub(length - 4, 'proposal');
  const number = body.u8('proposal num');
  const protocolId = body.u8('protocol id');
  const spiSize = body.u8('spi size');
  const transformCount = body.u8('num transforms');
  if (number === 0) throw wireError(E.BAD_SUBSTRUCTURE, 'Proposal Num 0', start + 4);
  if (!isSaProtocolId(protocolId)) {
    throw wireError(E.BAD_PROTOCOL_ID, `proposal protocol ID ${protocolId}`, start + 5);
  }
  if (!isValidProposalSpiSize(protocolId, spiSize)) {
    throw wireError(E.BAD_SPI_SIZE, `SPI size ${spiSize} for protocol ${protocolId}`, start + 6);
  }
  if (transformCount === 0 || transformCount > MAX_TRANSFORMS_PER_PROPOSAL) {
    throw wireError(E.BAD_SUBSTRUCTURE, `Num Transforms ${transformCount}`, start + 7);
  }
  const spi = body.bytes(spiSize, 'proposal spi');
  const transforms: Transform[] = [];
  for (let i = 0; i < transformCount; i++) {
    transforms.push(decodeTransform(body, i === transformCount - 1));
  }
  body.expectEnd('proposal (bytes after the last transform)');
  return { proposal: { number, protocolId, spi, transforms }, isLast: last === PROPOSAL_LAST };
}

/** Decodes an SA payload body; `r` is confined to the payload. */
export function decodeSaBody(r: Reader): Proposal[] {
  const proposals: Proposal[] = [];
  if (r.atEnd) throw wireError(E.EMPTY_DATA, 'SA payload without proposals', r.absoluteOffset);
  for (;;) {
    if (proposals.length >= MAX_PROPOSALS) {
      throw wireError(E.TOO_LARGE, `more than ${MAX_PROPOSALS} proposals`, r.absoluteOffset);
    }
    const start = r.absoluteOffset;
    const { proposal, isLast } = decodeProposal(r);
    proposals.push(proposal);
    if (isLast !== r.atEnd) {
      throw wireError(
        E.BAD_SUBSTRUCTURE,
        isLast ? 'bytes after the proposal marked last' : 'proposal marked "more" is the last one',
        start,
      );
    }
    if (isLast) break;
  }
  checkProposalNumbering(proposals, r.absoluteOffset);
  return proposals;
}

/** RFC 7296 §3.3.1: in an offer the first proposal is 1 and each next one is one more. */
function checkProposalNumbering(proposals: readonly Proposal[], offset: number): void {
  if (proposals.length < 2) return;
  proposals.forEach((proposal, index) => {
    if (proposal.number !== index + 1) {
      throw wireError(E.BAD_SUBSTRUCTURE, `proposal ${index + 1} is numbered ${proposal.number}`, offset);
    }
  });
}

function encodeAttribute(w: Writer, attribute: TransformAttribute): void {
  if (attribute.type > 0x7fff) throw wireError(E.BAD_VALUE, `attribute type ${attribute.type}`);
  if (attribute.format === 'TV') {
    w.u16(ATTRIBUTE_FORMAT_TV | attribute.type).u16(attribute.value);
  } else {
    if (attribute.type === TransformAttributeType.KEY_LENGTH) {
      throw wireError(E.BAD_VALUE, 'Key Length attribute must use TV format');
    }
    w.u16(attribute.type).u16(attribute.value.length).bytes(attribute.value);
  }
}

function encodeTransform(w: Writer, transform: Transform, isLast: boolean): void {
  const start = w.length;
  w.u8(isLast ? TRANSFORM_LAST : TRANSFORM_MORE).u8(0);
  const length = w.reserve(2);
  w.u8(transform.type).u8(0).u16(transform.id);
  for (const attribute of transform.attributes) encodeAttribute(w, attribute);
  w.patch(length, w.lengthSince(start));
}

function encodeProposal(w: Writer, proposal: Proposal, isLast: boolean): void {
  if (!isSaProtocolId(proposal.protocolId) || !isValidProposalSpiSize(proposal.protocolId, proposal.spi.length)) {
    throw wireError(E.BAD_SPI_SIZE, `SPI of ${proposal.spi.length} bytes for protocol ${proposal.protocolId}`);
  }
  const transformCount = proposal.transforms.length;
  if (proposal.number < 1 || transformCount === 0 || transformCount > MAX_TRANSFORMS_PER_PROPOSAL) {
    throw wireError(E.BAD_SUBSTRUCTURE, `proposal ${proposal.number} with ${proposal.transforms.length} transforms`);
  }
  const start = w.length;
  w.u8(isLast ? PROPOSAL_LAST : PROPOSAL_MORE).u8(0);
  const length = w.reserve(2);
  w.u8(proposal.number).u8(proposal.protocolId).u8(proposal.spi.length).u8(proposal.transforms.length);
  w.bytes(proposal.spi);
  proposal.transforms.forEach((t, i) => encodeTransform(w, t, i === proposal.transforms.length - 1));
  w.patch(length, w.lengthSince(start));
}

export function encodeSaBody(w: Writer, proposals: readonly Proposal[]): void {
  if (proposals.length === 0 || proposals.length > MAX_PROPOSALS) {
    throw wireError(E.BAD_SUBSTRUCTURE, `SA payload with ${proposals.length} proposals`);
  }
  checkProposalNumbering(proposals, 0);
  proposals.forEach((p, i) => encodeProposal(w, p, i === proposals.length - 1));
}
