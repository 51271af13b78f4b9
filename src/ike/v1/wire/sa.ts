/**
 * The Security Association payload body (RFC 2408 §3.4–§3.6, RFC 2407 §4.6.1):
 *
 *   DOI (4) | Situation (4) | Proposal payload …
 *   Proposal:  Next(1: 2 or 0) RESERVED(1) Length(2) | Proposal #(1) Protocol-Id(1) SPI Size(1)
 *              # of Transforms(1) | SPI | Transform payload …
 *   Transform: Next(1: 3 or 0) RESERVED(1) Length(2) | Transform #(1) Transform-Id(1)
 *              RESERVED2(2) | SA attributes
 *
 * Each nested structure is read through a reader confined to its declared length, so a lying
 * length can never reach the next structure's bytes.
 */
import { Reader, type Writer } from '../../../wire/buffer.js';
import { DOI_IPSEC, ESP_SPI_LENGTH, ISAKMP_SPI_LENGTH, LIMITS, PayloadType, ProtocolId, SIT_IDENTITY_ONLY } from '../constants.js';
import { V1WireErrorCode, v1WireError } from './errors.js';
import { decodeAttributes, encodeAttributes, type DataAttribute } from './attributes.js';

export interface Transform {
  readonly number: number;
  readonly transformId: number;
  readonly attributes: readonly DataAttribute[];
}

export interface Proposal {
  readonly number: number;
  readonly protocolId: number;
  readonly spi: Buffer;
  readonly transforms: readonly Transform[];
}

export interface SaBody {
  readonly doi: number;
  readonly situation: number;
  readonly proposals: readonly Proposal[];
}

const PROPOSAL_HEADER = 8;
const TRANSFORM_HEADER = 8;

function allowedSpiSizes(protocolId: number): readonly number[] | undefined {
  switch (protocolId) {
    case ProtocolId.ISAKMP:
      return [0, ISAKMP_SPI_LENGTH];
    case ProtocolId.IPSEC_AH:
    case ProtocolId.IPSEC_ESP:
      return [ESP_SPI_LENGTH];
    case ProtocolId.IPCOMP:
      return [2, 4];
    default:
      return undefined;
  }
}

export function decodeSaBody(r: Reader): SaBody {
  const doi = r.u32('DOI');
  if (doi !== DOI_IPSEC) throw v1WireError(V1WireErrorCode.BAD_DOI, `SA DOI ${doi}`, r.absoluteOffset - 4);
  const situation = r.u32('situation');
  if (situation !== SIT_IDENTITY_ONLY) throw v1WireError(V1WireErrorCode.BAD_SITUATION, `situation ${situation}`, r.absoluteOffset - 4);
  const proposals: Proposal[] = [];
  let next: number = PayloadType.PROPOSAL;
  while (next !== PayloadType.NONE) {
    if (next !== PayloadType.PROPOSAL) throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, `payload ${next} inside an SA payload`, r.absoluteOffset);
    if (proposals.length >= LIMITS.proposalsPerSa) throw v1WireError(V1WireErrorCode.TOO_LARGE, `more than ${LIMITS.proposalsPerSa} proposals`, r.absoluteOffset);
    const at = r.absoluteOffset;
    next = r.u8('proposal next payload');
    r.skip(1);
    const length = r.u16('proposal length');
    if (length < PROPOSAL_HEADER) throw v1WireError(V1WireErrorCode.BAD_LENGTH, `proposal length ${length}`, at + 2);
    proposals.push(decodeProposal(r.sub(length - 4, 'proposal')));
  }
  if (proposals.length === 0) throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, 'SA payload without proposals', r.absoluteOffset);
  r.expectEnd('SA payload');
  return { doi, situation, proposals };
}

function decodeProposal(r: Reader): Proposal {
  const number = r.u8('proposal number');
  const protocolId = r.u8('protocol ID');
  const spiSize = r.u8('SPI size');
  const count = r.u8('number of transforms');
  const sizes = allowedSpiSizes(protocolId);
  if (!sizes) throw v1WireError(V1WireErrorCode.BAD_PROTOCOL_ID, `proposal protocol ${protocolId}`, r.absoluteOffset - 3);
  if (!sizes.includes(spiSize)) throw v1WireError(V1WireErrorCode.BAD_SPI_SIZE, `SPI size ${spiSize} for protocol ${protocolId}`, r.absoluteOffset - 2);
  if (count === 0 || count > LIMITS.transformsPerProposal) {
    throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, `proposal with ${count} transforms`, r.absoluteOffset - 1);
  }
  const spi = r.bytes(spiSize, 'SPI');
  const transforms: Transform[] = [];
  let next: number = PayloadType.TRANSFORM;
  while (next !== PayloadType.NONE) {
    if (next !== PayloadType.TRANSFORM) throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, `payload ${next} inside a proposal`, r.absoluteOffset);
    if (transforms.length >= count) throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, `more transforms than the declared ${count}`, r.absoluteOffset);
    const at = r.absoluteOffset;
    next = r.u8('transform next payload');
    r.skip(1);
    const length = r.u16('transform length');
    if (length < TRANSFORM_HEADER) throw v1WireError(V1WireErrorCode.BAD_LENGTH, `transform length ${length}`, at + 2);
    const t = r.sub(length - 4, 'transform');
    const tNumber = t.u8('transform number');
    const transformId = t.u8('transform ID');
    t.skip(2);
    transforms.push({ number: tNumber, transformId, attributes: decodeAttributes(t) });
  }
  if (transforms.length !== count) throw v1WireError(V1WireErrorCode.BAD_SUBSTRUCTURE, `${transforms.length} transforms, ${count} declared`, r.absoluteOffset);
  r.expectEnd('proposal');
  return { number, protocolId, spi, transforms };
}

export function encodeSaBody(w: Writer, sa: SaBody): void {
  w.u32(sa.doi).u32(sa.situation);
  sa.proposals.forEach((p, pi) => {
    const start = w.length;
    w.u8(pi === sa.proposals.length - 1 ? PayloadType.NONE : PayloadType.PROPOSAL).u8(0);
    const length = w.reserve(2);
    w.u8(p.number).u8(p.protocolId).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi);
    p.transforms.forEach((t, ti) => {
      const tStart = w.length;
      w.u8(ti === p.transforms.length - 1 ? PayloadType.NONE : PayloadType.TRANSFORM).u8(0);
      const tLength = w.reserve(2);
      w.u8(t.number).u8(t.transformId).u16(0);
      encodeAttributes(w, t.attributes);
      w.patch(tLength, w.lengthSince(tStart));
    });
    w.patch(length, w.lengthSince(start));
  });
}

/** Decodes an SA body standing alone (tests, fuzzing). */
export function decodeSaBodyBytes(body: Buffer): SaBody {
  return decodeSaBody(new Reader(body, 0, body.length, 'SA payload'));
}
