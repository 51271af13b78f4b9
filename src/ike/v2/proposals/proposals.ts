/**
 * SA payload proposals: building our offers, choosing from a peer's offers (responder), and
 * checking the peer's answer against what we offered (initiator).
 *
 *   offer   : proposals numbered 1, 2, … (RFC 7296 §3.3.1), each with every acceptable
 *             transform of each type (§3.3.6: the responder picks one per type)
 *   answer  : exactly one proposal, carrying the offer's Proposal Num, one transform per type
 *             (§2.7, §3.3.6)
 *
 * Responder selection walks the peer's proposals in the peer's order and, inside each, the
 * peer's transforms in the peer's order, taking the first one this side allows (for the DH
 * group it prefers the group of the KE payload that came with the offer, RFC 7296 §1.2/§1.3,
 * to avoid a needless INVALID_KE_PAYLOAD round). A proposal with a transform type or a
 * transform attribute this side does not understand is skipped (§3.3.6).
 */
import {
  TransformType,
  dhGroupByNumber,
  encryptionByIkev2,
  encryptionByName,
  integrityByIkev2,
  integrityByName,
  prfByIkev2,
  prfByName,
  type DhGroupNumber,
  type EncryptionName,
  type IntegrityName,
  type PrfName,
} from '../../../crypto/transforms.js';
import { ProtocolId, TransformAttributeType } from '../wire/constants.js';
import { keyLengthOf, type Proposal, type SaProtocolId, type Transform } from '../wire/sa.js';
import { InvalidResponseError } from '../../errors.js';
import type { ChildOffer, IkeOffer } from '../../proposals/policy.js';
import type { ChildSuite, IkeSuite } from '../../proposals/suites.js';

/** ESN transform IDs (RFC 7296 §3.3.2). cgwd never uses extended sequence numbers. */
export const ESN_NONE = 0;
/** INTEG/DH transform ID NONE (RFC 7296 §3.3.2). */
const TRANSFORM_NONE = 0;

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(TransformType));

export function encryptionTransform(name: EncryptionName): Transform {
  const t = encryptionByName(name);
  return { type: TransformType.ENCR, id: t.ikev2Id, attributes: [{ format: 'TV', type: TransformAttributeType.KEY_LENGTH, value: t.keyBits }] };
}
export function integrityTransform(name: IntegrityName): Transform {
  return { type: TransformType.INTEG, id: integrityByName(name).ikev2Id, attributes: [] };
}
export function prfTransform(name: PrfName): Transform {
  return { type: TransformType.PRF, id: prfByName(name).ikev2Id, attributes: [] };
}
export function dhTransform(group: DhGroupNumber): Transform {
  return { type: TransformType.DH, id: group, attributes: [] };
}
const ESN_NONE_TRANSFORM: Transform = { type: TransformType.ESN, id: ESN_NONE, attributes: [] };

/** Attributes other than Key Length make a transform one we do not understand (§3.3.6). */
function onlyKeyLength(transform: Transform): boolean {
  return transform.attributes.every((a) => a.format === 'TV' && a.type === TransformAttributeType.KEY_LENGTH);
}
function hasNoAttributes(transform: Transform): boolean {
  return transform.attributes.length === 0;
}

export function encryptionOf(transform: Transform): EncryptionName | undefined {
  if (transform.type !== TransformType.ENCR || !onlyKeyLength(transform)) return undefined;
  return encryptionByIkev2(transform.id, keyLengthOf(transform))?.name;
}
export function integrityOf(transform: Transform): IntegrityName | undefined {
  if (transform.type !== TransformType.INTEG || !hasNoAttributes(transform)) return undefined;
  return integrityByIkev2(transform.id)?.name;
}
export function prfOf(transform: Transform): PrfName | undefined {
  if (transform.type !== TransformType.PRF || !hasNoAttributes(transform)) return undefined;
  return prfByIkev2(transform.id)?.name;
}
export function dhGroupOf(transform: Transform): DhGroupNumber | undefined {
  if (transform.type !== TransformType.DH || !hasNoAttributes(transform)) return undefined;
  return dhGroupByNumber(transform.id)?.group;
}

// ---------------------------------------------------------------------------------------------
// Offers

/** IKE proposals; `spi` empty in IKE_SA_INIT, our new 8-byte SPI when rekeying (§3.3.1). */
export function buildIkeProposals(offers: readonly IkeOffer[], spi: Buffer): Proposal[] {
  return offers.map((offer, index) => ({
    number: index + 1,
    protocolId: ProtocolId.IKE,
    spi,
    transforms: [
      ...offer.encryption.map(encryptionTransform),
      ...offer.prf.map(prfTransform),
      ...(offer.aead ? [] : offer.integrity.map(integrityTransform)),
      ...offer.dhGroups.map(dhTransform),
    ],
  }));
}

/**
 * ESP proposals with our inbound SPI. `pfsGroup` puts DH transforms in (CREATE_CHILD_SA with
 * PFS), our KE group first; in IKE_AUTH there are none (RFC 7296 §1.2). ESN is always "no".
 */
export function buildChildProposals(offers: readonly ChildOffer[], spi: Buffer, pfsGroup: DhGroupNumber | undefined): Proposal[] {
  return offers.map((offer, index) => {
    const groups = pfsGroup === undefined ? [] : [pfsGroup, ...offer.dhGroups.filter((g) => g !== pfsGroup)];
    return {
      number: index + 1,
      protocolId: ProtocolId.ESP,
      spi,
      transforms: [
        ...offer.encryption.map(encryptionTransform),
        ...(offer.aead ? [] : offer.integrity.map(integrityTransform)),
        ...groups.map(dhTransform),
        ESN_NONE_TRANSFORM,
      ],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Responder selection

export interface Selection<S> {
  readonly suite: S;
  /** The peer's proposal the choice came from (its number and SPI). */
  readonly offered: Proposal;
  /** The transforms to put in the answer. */
  readonly transforms: readonly Transform[];
}

function firstAllowed<T>(transforms: readonly Transform[], type: number, map: (t: Transform) => T | undefined, allowed: readonly T[]): { value: T; transform: Transform } | undefined {
  for (const transform of transforms) {
    if (transform.type !== type) continue;
    const value = map(transform);
    if (value !== undefined && allowed.includes(value)) return { value, transform };
  }
  return undefined;
}

function ofType(proposal: Proposal, type: number): readonly Transform[] {
  return proposal.transforms.filter((t) => t.type === type);
}

function pickDh(proposal: Proposal, allowed: readonly DhGroupNumber[], keGroup: number | undefined): { value: DhGroupNumber; transform: Transform } | undefined {
  const dh = ofType(proposal, TransformType.DH);
  const preferred = dh.find((t) => t.id === keGroup && dhGroupOf(t) !== undefined && allowed.includes(t.id as DhGroupNumber));
  if (preferred) return { value: preferred.id as DhGroupNumber, transform: preferred };
  return firstAllowed(dh, TransformType.DH, dhGroupOf, allowed);
}

function understood(proposal: Proposal): boolean {
  return proposal.transforms.every((t) => KNOWN_TYPES.has(t.type));
}

/** Chooses an IKE suite from the peer's offer, or undefined (→ NO_PROPOSAL_CHOSEN). */
export function selectIkeProposal(peer: readonly Proposal[], offers: readonly IkeOffer[], keGroup: number | undefined): Selection<IkeSuite> | undefined {
  for (const proposal of peer) {
    if (proposal.protocolId !== ProtocolId.IKE || !understood(proposal)) continue;
    if (ofType(proposal, TransformType.ESN).length > 0) continue;
    for (const offer of offers) {
      const encr = firstAllowed(proposal.transforms, TransformType.ENCR, encryptionOf, offer.encryption);
      const prf = firstAllowed(proposal.transforms, TransformType.PRF, prfOf, offer.prf);
      const dh = pickDh(proposal, offer.dhGroups, keGroup);
      if (!encr || !prf || !dh || encryptionByName(encr.value).aead !== offer.aead) continue;
      const integs = ofType(proposal, TransformType.INTEG);
      if (offer.aead) {
        if (integs.some((t) => t.id !== TRANSFORM_NONE)) continue;
        const suite: IkeSuite = { encryption: encr.value, prf: prf.value, dhGroup: dh.value };
        return { suite, offered: proposal, transforms: [encr.transform, prf.transform, dh.transform] };
      }
      const integ = firstAllowed(integs, TransformType.INTEG, integrityOf, offer.integrity);
      if (!integ) continue;
      const suite: IkeSuite = { encryption: encr.value, integrity: integ.value, prf: prf.value, dhGroup: dh.value };
      return { suite, offered: proposal, transforms: [encr.transform, prf.transform, integ.transform, dh.transform] };
    }
  }
  return undefined;
}

/**
 * Chooses an ESP suite. `pfs` says whether this exchange carries a key exchange: in IKE_AUTH
 * (`pfs: false`, `ignoreDh: true`) DH transforms are ignored (RFC 7296 §1.2); in
 * CREATE_CHILD_SA a proposal must carry a DH group this side allows when PFS is configured,
 * and must not when it is not (unless it also offers NONE).
 */
export function selectChildProposal(
  peer: readonly Proposal[],
  offers: readonly ChildOffer[],
  options: { readonly ignoreDh: boolean; readonly keGroup: number | undefined },
): Selection<ChildSuite> | undefined {
  for (const proposal of peer) {
    if (proposal.protocolId !== ProtocolId.ESP || !understood(proposal)) continue;
    const esn = ofType(proposal, TransformType.ESN);
    if (esn.length > 0 && !esn.some((t) => t.id === ESN_NONE && hasNoAttributes(t))) continue;
    for (const offer of offers) {
      const encr = firstAllowed(proposal.transforms, TransformType.ENCR, encryptionOf, offer.encryption);
      if (!encr || encryptionByName(encr.value).aead !== offer.aead) continue;
      const integs = ofType(proposal, TransformType.INTEG);
      let integ: { value: IntegrityName; transform: Transform } | undefined;
      if (offer.aead) {
        if (integs.some((t) => t.id !== TRANSFORM_NONE)) continue;
      } else {
        integ = firstAllowed(integs, TransformType.INTEG, integrityOf, offer.integrity);
        if (!integ) continue;
      }
      let dh: { value: DhGroupNumber; transform: Transform } | undefined;
      if (!options.ignoreDh) {
        const groups = ofType(proposal, TransformType.DH).filter((t) => t.id !== TRANSFORM_NONE);
        const offersNone = ofType(proposal, TransformType.DH).some((t) => t.id === TRANSFORM_NONE);
        if (offer.dhGroups.length > 0) {
          dh = pickDh(proposal, offer.dhGroups, options.keGroup);
          if (!dh) continue;
        } else if (groups.length > 0 && !offersNone) {
          continue;
        }
      }
      const suite: ChildSuite = { encryption: encr.value, ...(integ ? { integrity: integ.value } : {}), ...(dh ? { dhGroup: dh.value } : {}) };
      const transforms = [encr.transform, ...(integ ? [integ.transform] : []), ...(dh ? [dh.transform] : []), ESN_NONE_TRANSFORM];
      return { suite, offered: proposal, transforms };
    }
  }
  return undefined;
}

/** The answer SA's single proposal (RFC 7296 §3.3.1: the accepted Proposal Num, our SPI). */
export function answerProposal(selection: Selection<unknown>, protocolId: SaProtocolId, spi: Buffer): Proposal {
  return { number: selection.offered.number, protocolId, spi, transforms: selection.transforms };
}

// ---------------------------------------------------------------------------------------------
// Initiator: check the answer

function sameTransform(a: Transform, b: Transform): boolean {
  return a.type === b.type && a.id === b.id && keyLengthOf(a) === keyLengthOf(b);
}

function single(answer: Proposal, type: number, exchange: string): Transform | undefined {
  const found = ofType(answer, type);
  if (found.length > 1) throw new InvalidResponseError(exchange, `answer carries ${found.length} transforms of type ${type}`);
  return found[0];
}

function answerFor(answer: readonly Proposal[], sent: readonly Proposal[], exchange: string): { chosen: Proposal; offered: Proposal } {
  const [chosen, ...extra] = answer;
  if (!chosen || extra.length > 0) throw new InvalidResponseError(exchange, `answer carries ${answer.length} proposals`);
  const offered = sent.find((p) => p.number === chosen.number && p.protocolId === chosen.protocolId);
  if (!offered) throw new InvalidResponseError(exchange, `answer names proposal ${chosen.number}, which was not offered`);
  const foreign = chosen.transforms.find((t) => !offered.transforms.some((o) => sameTransform(o, t)));
  if (foreign) throw new InvalidResponseError(exchange, `answer picked transform ${foreign.type}/${foreign.id}, which was not offered`);
  return { chosen, offered };
}

/** The IKE suite the responder chose; throws InvalidResponseError unless it is one we offered. */
export function verifyIkeAnswer(answer: readonly Proposal[], sent: readonly Proposal[], exchange: string): { suite: IkeSuite; spi: Buffer } {
  const { chosen } = answerFor(answer, sent, exchange);
  const encr = single(chosen, TransformType.ENCR, exchange);
  const prf = single(chosen, TransformType.PRF, exchange);
  const integ = single(chosen, TransformType.INTEG, exchange);
  const dh = single(chosen, TransformType.DH, exchange);
  const encryption = encr && encryptionOf(encr);
  const prfName = prf && prfOf(prf);
  const group = dh && dhGroupOf(dh);
  if (!encryption || !prfName || !group) throw new InvalidResponseError(exchange, 'answer lacks ENCR, PRF or DH');
  if (single(chosen, TransformType.ESN, exchange)) throw new InvalidResponseError(exchange, 'ESN in an IKE proposal');
  const aead = encryptionByName(encryption).aead;
  if (aead) {
    if (integ && integ.id !== TRANSFORM_NONE) throw new InvalidResponseError(exchange, 'integrity with an AEAD cipher');
    return { suite: { encryption, prf: prfName, dhGroup: group }, spi: chosen.spi };
  }
  const integrity = integ && integrityOf(integ);
  if (!integrity) throw new InvalidResponseError(exchange, 'answer lacks INTEG');
  return { suite: { encryption, integrity, prf: prfName, dhGroup: group }, spi: chosen.spi };
}

/** The ESP suite the responder chose; throws InvalidResponseError unless it is one we offered. */
export function verifyChildAnswer(answer: readonly Proposal[], sent: readonly Proposal[], exchange: string): { suite: ChildSuite; spi: Buffer } {
  const { chosen, offered } = answerFor(answer, sent, exchange);
  const encr = single(chosen, TransformType.ENCR, exchange);
  const integ = single(chosen, TransformType.INTEG, exchange);
  const dh = single(chosen, TransformType.DH, exchange);
  const esn = single(chosen, TransformType.ESN, exchange);
  if (single(chosen, TransformType.PRF, exchange)) throw new InvalidResponseError(exchange, 'PRF in an ESP proposal');
  const encryption = encr && encryptionOf(encr);
  if (!encryption) throw new InvalidResponseError(exchange, 'answer lacks ENCR');
  if (esn && esn.id !== ESN_NONE) throw new InvalidResponseError(exchange, 'extended sequence numbers were not offered');
  if (chosen.spi.length !== 4 || chosen.spi.readUInt32BE(0) === 0) throw new InvalidResponseError(exchange, 'ESP SPI must be 4 non-zero bytes');
  const offeredDh = ofType(offered, TransformType.DH).length > 0;
  const group = dh && dh.id !== TRANSFORM_NONE ? dhGroupOf(dh) : undefined;
  if (offeredDh && group === undefined) throw new InvalidResponseError(exchange, 'answer dropped the PFS group');
  const aead = encryptionByName(encryption).aead;
  let integrity: IntegrityName | undefined;
  if (aead) {
    if (integ && integ.id !== TRANSFORM_NONE) throw new InvalidResponseError(exchange, 'integrity with an AEAD cipher');
  } else {
    integrity = integ && integrityOf(integ);
    if (!integrity) throw new InvalidResponseError(exchange, 'answer lacks INTEG');
  }
  const suite: ChildSuite = { encryption, ...(integrity ? { integrity } : {}), ...(group !== undefined ? { dhGroup: group } : {}) };
  return { suite, spi: chosen.spi };
}

/** The DH groups a set of proposals offers, in order (to check an INVALID_KE_PAYLOAD request). */
export function offeredDhGroups(proposals: readonly Proposal[]): DhGroupNumber[] {
  const groups: DhGroupNumber[] = [];
  for (const p of proposals) for (const t of ofType(p, TransformType.DH)) {
    const g = dhGroupOf(t);
    if (g !== undefined && !groups.includes(g)) groups.push(g);
  }
  return groups;
}
