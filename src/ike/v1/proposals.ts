/**
 * IKEv1 proposals from the tunnel's ProposalPolicy (the same policy IKEv2 uses: 'xml' lists mean
 * "AWS's minimum example, stronger suites are fine", see src/ike/proposals/policy.ts).
 *
 * Phase 1 (RFC 2409 §5, App. A): one proposal (PROTO_ISAKMP) whose transforms (KEY_IKE) are the
 * suites in preference order, each a full set: AES-CBC + KEY_LENGTH, hash, PSK, group, lifetime.
 * IKEv1 defines no AEAD for the ISAKMP SA (RFC 2409 App. A: CBC ciphers with a separate hash),
 * so GCM offers are skipped here.
 *
 * Phase 2 (RFC 2409 §5.5, RFC 2407 §4.5): one ESP proposal; every transform carries the same
 * Group Description when PFS is on ("if a KE payload is sent, the attribute describing the
 * Diffie-Hellman group MUST be included in every transform of every proposal"), AES-GCM-16 has
 * no authentication attribute (RFC 4106 §8.4), encapsulation is UDP-Encapsulated-Tunnel when
 * NAT traversal is in use (RFC 3947 §5) and Tunnel otherwise.
 *
 * Interpreting a transform never throws: an attribute outside its allow-list, a basic-only
 * attribute sent as TLV, a KEY_LENGTH other than 128/256 (CVE-2011-3380) make the transform
 * unacceptable, with a reason for the log.
 */
import type { TunnelConfig } from '../../config/model.js';
import {
  ENCRYPTION,
  INTEGRITY,
  dhGroupByNumber,
  encryptionByName,
  integrityByName,
  type DhGroupNumber,
  type EncryptionName,
  type IntegrityName,
} from '../../crypto/transforms.js';
import type { ProposalPolicy } from '../proposals/policy.js';
import type { ChildSuite, IkeSuite } from '../proposals/suites.js';
import {
  AuthMethod,
  DOI_IPSEC,
  EncapsulationMode,
  EspTransformId,
  IpsecAttribute,
  KEY_IKE,
  LifeType,
  PHASE1_AES_CBC,
  Phase1Attribute,
  ProtocolId,
  SIT_IDENTITY_ONLY,
} from './constants.js';
import { Reader } from '../../wire/buffer.js';
import { attributeNumber, decodeAttributes, numberAttribute, tv, type DataAttribute } from './wire/attributes.js';
import type { Proposal, SaBody, Transform } from './wire/sa.js';
import type { SaPayload } from './wire/payloads.js';

/** Bound on the phase 1 transforms cgwd offers (a full AWS cross product would make MM1 ~4 KB). */
export const PHASE1_MAX_TRANSFORMS = 48;
/**
 * Lifetimes shorter than this are refused (they would rekey in a loop); the same floor as
 * cgwd's own --child-lifetime/--ike-lifetime, so our own short lab lifetimes are accepted back.
 */
export const MIN_LIFETIME_SECONDS = 10;
/**
 * Longer lifetimes are taken as this (a day; AWS's longest is 8 h): a variable-length duration
 * may say anything up to 2^53, and a timer beyond 2^31 ms would fire at once in Node.
 */
export const MAX_LIFETIME_SECONDS = 86_400;

export interface Phase1Suite {
  readonly encryption: EncryptionName;
  /** Names the hash algorithm (its HMAC is the prf). */
  readonly integrity: IntegrityName;
  readonly dhGroup: DhGroupNumber;
  readonly lifetimeSeconds: number;
}

export interface Phase2Suite {
  readonly encryption: EncryptionName;
  readonly integrity?: IntegrityName;
  readonly dhGroup?: DhGroupNumber;
  readonly lifetimeSeconds: number;
  readonly lifetimeKilobytes?: number;
  readonly encapsulation: number;
}

type Parsed<T> = { readonly ok: true; readonly suite: T } | { readonly ok: false; readonly reason: string };

export function describePhase1(s: Phase1Suite): string {
  return `${s.encryption}/${s.integrity}/dh${s.dhGroup}`;
}

export function asIkeSuite(s: Phase1Suite): IkeSuite {
  return { encryption: s.encryption, integrity: s.integrity, prf: prfNameFor(s.integrity), dhGroup: s.dhGroup };
}

export function asChildSuite(s: Phase2Suite): ChildSuite {
  return { encryption: s.encryption, ...(s.integrity ? { integrity: s.integrity } : {}), ...(s.dhGroup !== undefined ? { dhGroup: s.dhGroup } : {}) };
}

function prfNameFor(integrity: IntegrityName): IkeSuite['prf'] {
  const hash = integrityByName(integrity).hash;
  return hash === 'sha1' ? 'prf-hmac-sha1' : hash === 'sha256' ? 'prf-hmac-sha256' : hash === 'sha384' ? 'prf-hmac-sha384' : 'prf-hmac-sha512';
}

// ---------------------------------------------------------------------------------------------
// Phase 1

interface Phase1Choice {
  readonly encryption: EncryptionName;
  readonly integrity: IntegrityName;
  readonly dhGroup: DhGroupNumber;
}

/** The suites cgwd offers (initiator) and accepts (responder), strongest first. */
export function phase1Choices(policy: ProposalPolicy, tunnel?: TunnelConfig): Phase1Choice[] {
  const all: Phase1Choice[] = [];
  const seen = new Set<string>();
  for (const offer of policy.ike) {
    if (offer.aead) continue;
    for (const encryption of offer.encryption) {
      if (encryptionByName(encryption).ikev1Phase1Id === undefined) continue;
      for (const integrity of offer.integrity) {
        for (const dhGroup of offer.dhGroups) {
          const key = `${encryption}/${integrity}/${dhGroup}`;
          if (seen.has(key)) continue;
          seen.add(key);
          all.push({ encryption, integrity, dhGroup });
        }
      }
    }
  }
  if (all.length <= PHASE1_MAX_TRANSFORMS || !tunnel) return all.slice(0, PHASE1_MAX_TRANSFORMS);
  // Keep the file's own suites (what a peer insisting on exactly them needs), strongest others first.
  const own = all.filter((c) => tunnel.ike.encryption.includes(c.encryption) && tunnel.ike.integrity.includes(c.integrity) && tunnel.ike.dhGroups.includes(c.dhGroup));
  const others = all.filter((c) => !own.includes(c)).slice(0, Math.max(0, PHASE1_MAX_TRANSFORMS - own.length));
  return [...others, ...own].slice(0, PHASE1_MAX_TRANSFORMS);
}

function phase1Attributes(c: Phase1Choice, lifetimeSeconds: number): DataAttribute[] {
  const e = encryptionByName(c.encryption);
  return [
    tv(Phase1Attribute.ENCRYPTION_ALGORITHM, e.ikev1Phase1Id ?? PHASE1_AES_CBC),
    tv(Phase1Attribute.KEY_LENGTH, e.keyBits),
    tv(Phase1Attribute.HASH_ALGORITHM, integrityByName(c.integrity).ikev1HashId),
    tv(Phase1Attribute.AUTHENTICATION_METHOD, AuthMethod.PRE_SHARED_KEY),
    tv(Phase1Attribute.GROUP_DESCRIPTION, c.dhGroup),
    tv(Phase1Attribute.LIFE_TYPE, LifeType.SECONDS),
    numberAttribute(Phase1Attribute.LIFE_DURATION, lifetimeSeconds),
  ];
}

export function phase1Offer(choices: readonly Phase1Choice[], lifetimeSeconds: number): SaPayload {
  if (choices.length === 0) throw new Error('no IKEv1 phase 1 suite can be built from the configuration (IKEv1 cannot use AES-GCM for the ISAKMP SA)');
  const transforms: Transform[] = choices.map((c, i) => ({ number: i + 1, transformId: KEY_IKE, attributes: phase1Attributes(c, lifetimeSeconds) }));
  return { kind: 'SA', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: Buffer.alloc(0), transforms }] };
}

/** Lifetime pairs: LIFE_TYPE followed by LIFE_DURATION (RFC 2409 App. A, RFC 2407 §4.5). */
class LifeReader {
  seconds: number | undefined;
  kilobytes: number | undefined;
  #pending: number | undefined;

  type(value: number): string | undefined {
    if (this.#pending !== undefined) return 'life type without a duration';
    if (value !== LifeType.SECONDS && value !== LifeType.KILOBYTES) return `life type ${value}`;
    this.#pending = value;
    return undefined;
  }

  duration(a: DataAttribute): string | undefined {
    if (this.#pending === undefined) return 'life duration without a type';
    const value = attributeNumber(a);
    if (this.#pending === LifeType.SECONDS) this.seconds = value;
    else this.kilobytes = value;
    this.#pending = undefined;
    return undefined;
  }
}

export function parsePhase1Transform(t: Transform): Parsed<Phase1Suite> {
  if (t.transformId !== KEY_IKE) return { ok: false, reason: `transform ID ${t.transformId}` };
  let encId: number | undefined;
  let keyBits: number | undefined;
  let integrity: IntegrityName | undefined;
  let auth: number | undefined;
  let group: DhGroupNumber | undefined;
  const life = new LifeReader();
  const once = new Set<number>();
  for (const a of t.attributes) {
    if (a.type !== Phase1Attribute.LIFE_TYPE && a.type !== Phase1Attribute.LIFE_DURATION) {
      if (once.has(a.type)) return { ok: false, reason: `attribute ${a.type} repeated` };
      once.add(a.type);
    }
    if (a.type === Phase1Attribute.LIFE_DURATION) {
      const problem = life.duration(a);
      if (problem) return { ok: false, reason: problem };
      continue;
    }
    if (a.format !== 'tv') return { ok: false, reason: `basic attribute ${a.type} sent as variable` };
    switch (a.type) {
      case Phase1Attribute.ENCRYPTION_ALGORITHM:
        encId = a.value;
        break;
      case Phase1Attribute.KEY_LENGTH:
        keyBits = a.value;
        break;
      case Phase1Attribute.HASH_ALGORITHM: {
        const found = INTEGRITY.find((i) => i.ikev1HashId === a.value);
        if (!found) return { ok: false, reason: `hash algorithm ${a.value}` };
        integrity = found.name;
        break;
      }
      case Phase1Attribute.AUTHENTICATION_METHOD:
        auth = a.value;
        break;
      case Phase1Attribute.GROUP_DESCRIPTION: {
        const g = dhGroupByNumber(a.value);
        if (!g) return { ok: false, reason: `DH group ${a.value}` };
        group = g.group;
        break;
      }
      case Phase1Attribute.LIFE_TYPE: {
        const problem = life.type(a.value);
        if (problem) return { ok: false, reason: problem };
        break;
      }
      default:
        return { ok: false, reason: `attribute ${a.type} not supported` };
    }
  }
  if (encId !== PHASE1_AES_CBC) return { ok: false, reason: `encryption algorithm ${encId ?? 'missing'}` };
  const encryption = ENCRYPTION.find((e) => !e.aead && e.ikev1Phase1Id === encId && e.keyBits === keyBits)?.name;
  if (!encryption) return { ok: false, reason: `AES key length ${keyBits ?? 'missing'}` };
  if (!integrity) return { ok: false, reason: 'hash algorithm missing' };
  if (auth !== AuthMethod.PRE_SHARED_KEY) return { ok: false, reason: `authentication method ${auth ?? 'missing'}` };
  if (group === undefined) return { ok: false, reason: 'group description missing' };
  const lifetimeSeconds = Math.min(life.seconds ?? 28_800, MAX_LIFETIME_SECONDS); // RFC 2407 §4.5 default: 28800 s
  if (lifetimeSeconds < MIN_LIFETIME_SECONDS) return { ok: false, reason: `lifetime ${lifetimeSeconds} s` };
  return { ok: true, suite: { encryption, integrity, dhGroup: group, lifetimeSeconds } };
}

function sameChoice(a: Phase1Choice, b: Phase1Choice): boolean {
  return a.encryption === b.encryption && a.integrity === b.integrity && a.dhGroup === b.dhGroup;
}

export interface Phase1Selection {
  readonly suite: Phase1Suite;
  /** The SA payload to answer with: the chosen proposal with only the chosen transform. */
  readonly answer: SaPayload;
}

/** Responder: the first of the peer's transforms (in its order) that we accept. */
export function selectPhase1(offer: SaBody, accepted: readonly Phase1Choice[]): Phase1Selection | { readonly reason: string } {
  const reasons: string[] = [];
  for (const proposal of offer.proposals) {
    if (proposal.protocolId !== ProtocolId.ISAKMP) continue;
    for (const t of proposal.transforms) {
      const parsed = parsePhase1Transform(t);
      if (!parsed.ok) {
        reasons.push(parsed.reason);
        continue;
      }
      if (!accepted.some((c) => sameChoice(c, parsed.suite))) {
        reasons.push(`${describePhase1(parsed.suite)} not configured`);
        continue;
      }
      const answer: SaPayload = { kind: 'SA', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ ...proposal, transforms: [t] }] };
      return { suite: parsed.suite, answer };
    }
  }
  return { reason: reasons.slice(0, 4).join('; ') || 'no ISAKMP proposal' };
}

/** Initiator: the responder must return one of our transforms, unchanged apart from a shorter lifetime. */
export function checkPhase1Answer(answer: SaBody, offered: readonly Phase1Choice[], offeredLifetime: number): Phase1Suite | string {
  const proposal = answer.proposals[0];
  if (answer.proposals.length !== 1 || !proposal || proposal.protocolId !== ProtocolId.ISAKMP) return 'answer must hold one ISAKMP proposal';
  const t = proposal.transforms[0];
  if (proposal.transforms.length !== 1 || !t) return 'answer must hold one transform';
  const parsed = parsePhase1Transform(t);
  if (!parsed.ok) return parsed.reason;
  if (!offered.some((c) => sameChoice(c, parsed.suite))) return `${describePhase1(parsed.suite)} was not offered`;
  return { ...parsed.suite, lifetimeSeconds: Math.min(parsed.suite.lifetimeSeconds, offeredLifetime) };
}

// ---------------------------------------------------------------------------------------------
// Phase 2

interface Phase2Choice {
  readonly encryption: EncryptionName;
  readonly integrity: IntegrityName | undefined;
}

export function phase2Choices(policy: ProposalPolicy): Phase2Choice[] {
  const out: Phase2Choice[] = [];
  for (const offer of policy.child) {
    for (const encryption of offer.encryption) {
      const aead = encryptionByName(encryption).aead;
      if (aead !== offer.aead) continue;
      if (aead) out.push({ encryption, integrity: undefined });
      else for (const integrity of offer.integrity) out.push({ encryption, integrity });
    }
  }
  return out;
}

/** Every PFS group the policy accepts (any child offer). */
export function pfsGroupsOf(policy: ProposalPolicy): DhGroupNumber[] {
  return [...new Set(policy.child.flatMap((o) => o.dhGroups))];
}

export function encapsulationMode(udp: boolean): number {
  return udp ? EncapsulationMode.UDP_TUNNEL : EncapsulationMode.TUNNEL;
}

export function phase2Offer(choices: readonly Phase2Choice[], spi: number, pfsGroup: DhGroupNumber | undefined, lifetimeSeconds: number, udp: boolean): SaPayload {
  const transforms: Transform[] = choices.map((c, i) => {
    const e = encryptionByName(c.encryption);
    const attributes: DataAttribute[] = [
      tv(IpsecAttribute.SA_LIFE_TYPE, LifeType.SECONDS),
      numberAttribute(IpsecAttribute.SA_LIFE_DURATION, lifetimeSeconds),
      ...(pfsGroup !== undefined ? [tv(IpsecAttribute.GROUP_DESCRIPTION, pfsGroup)] : []),
      tv(IpsecAttribute.ENCAPSULATION_MODE, encapsulationMode(udp)),
      ...(c.integrity ? [tv(IpsecAttribute.AUTHENTICATION_ALGORITHM, integrityByName(c.integrity).ikev1AuthId)] : []),
      tv(IpsecAttribute.KEY_LENGTH, e.keyBits),
    ];
    return { number: i + 1, transformId: e.ikev1EspId, attributes };
  });
  const spiBytes = Buffer.alloc(4);
  spiBytes.writeUInt32BE(spi >>> 0);
  return { kind: 'SA', doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.IPSEC_ESP, spi: spiBytes, transforms }] };
}

export function parsePhase2Transform(t: Transform): Parsed<Phase2Suite> {
  if (t.transformId !== EspTransformId.AES_CBC && t.transformId !== EspTransformId.AES_GCM_16) return { ok: false, reason: `ESP transform ${t.transformId}` };
  let keyBits: number | undefined;
  let integrity: IntegrityName | undefined;
  let group: DhGroupNumber | undefined;
  let encapsulation: number = EncapsulationMode.TUNNEL;
  const life = new LifeReader();
  const once = new Set<number>();
  for (const a of t.attributes) {
    if (a.type !== IpsecAttribute.SA_LIFE_TYPE && a.type !== IpsecAttribute.SA_LIFE_DURATION) {
      if (once.has(a.type)) return { ok: false, reason: `attribute ${a.type} repeated` };
      once.add(a.type);
    }
    if (a.type === IpsecAttribute.SA_LIFE_DURATION) {
      const problem = life.duration(a);
      if (problem) return { ok: false, reason: problem };
      continue;
    }
    if (a.format !== 'tv') return { ok: false, reason: `basic attribute ${a.type} sent as variable` };
    switch (a.type) {
      case IpsecAttribute.SA_LIFE_TYPE: {
        const problem = life.type(a.value);
        if (problem) return { ok: false, reason: problem };
        break;
      }
      case IpsecAttribute.GROUP_DESCRIPTION: {
        const g = dhGroupByNumber(a.value);
        if (!g) return { ok: false, reason: `PFS group ${a.value}` };
        group = g.group;
        break;
      }
      case IpsecAttribute.ENCAPSULATION_MODE:
        if (a.value < EncapsulationMode.TUNNEL || a.value > EncapsulationMode.UDP_TRANSPORT) return { ok: false, reason: `encapsulation mode ${a.value}` };
        encapsulation = a.value;
        break;
      case IpsecAttribute.AUTHENTICATION_ALGORITHM: {
        const found = INTEGRITY.find((i) => i.ikev1AuthId === a.value);
        if (!found) return { ok: false, reason: `authentication algorithm ${a.value}` };
        integrity = found.name;
        break;
      }
      case IpsecAttribute.KEY_LENGTH:
        keyBits = a.value;
        break;
      case IpsecAttribute.ECN_TUNNEL:
        break;
      case IpsecAttribute.EXTENDED_SEQUENCE_NUMBER:
        if (a.value !== 0) return { ok: false, reason: 'extended sequence numbers' };
        break;
      default:
        return { ok: false, reason: `attribute ${a.type} not supported` };
    }
  }
  const encryption = ENCRYPTION.find((e) => e.ikev1EspId === t.transformId && e.keyBits === keyBits)?.name;
  if (!encryption) return { ok: false, reason: `AES key length ${keyBits ?? 'missing'}` };
  const aead = encryptionByName(encryption).aead;
  if (aead && integrity) return { ok: false, reason: 'AES-GCM with an authentication algorithm' };
  if (!aead && !integrity) return { ok: false, reason: 'AES-CBC without an authentication algorithm' };
  if (encapsulation !== EncapsulationMode.TUNNEL && encapsulation !== EncapsulationMode.UDP_TUNNEL) return { ok: false, reason: `encapsulation mode ${encapsulation} (tunnel only)` };
  const lifetimeSeconds = Math.min(life.seconds ?? 28_800, MAX_LIFETIME_SECONDS);
  if (lifetimeSeconds < MIN_LIFETIME_SECONDS) return { ok: false, reason: `lifetime ${lifetimeSeconds} s` };
  return {
    ok: true,
    suite: {
      encryption,
      ...(integrity ? { integrity } : {}),
      ...(group !== undefined ? { dhGroup: group } : {}),
      lifetimeSeconds,
      ...(life.kilobytes !== undefined ? { lifetimeKilobytes: life.kilobytes } : {}),
      encapsulation,
    },
  };
}

export interface Phase2Requirements {
  readonly choices: readonly Phase2Choice[];
  /** PFS groups we accept; empty = no PFS. */
  readonly pfsGroups: readonly DhGroupNumber[];
  /** The message carries a KE payload (PFS, RFC 2409 §5.5). */
  readonly kePresent: boolean;
  readonly udp: boolean;
}

export interface Phase2Selection {
  readonly suite: Phase2Suite;
  readonly proposal: Proposal;
  readonly transform: Transform;
  readonly peerSpi: number;
}

function acceptable(s: Phase2Suite, req: Phase2Requirements): string | undefined {
  if (!req.choices.some((c) => c.encryption === s.encryption && c.integrity === s.integrity)) return `${s.encryption}/${s.integrity ?? 'aead'} not configured`;
  if (s.encapsulation !== encapsulationMode(req.udp)) return `encapsulation mode ${s.encapsulation}, expected ${encapsulationMode(req.udp)}`;
  if (s.dhGroup === undefined) {
    if (req.kePresent) return 'KE without a PFS group';
    return req.pfsGroups.length > 0 ? 'no PFS group' : undefined;
  }
  if (!req.pfsGroups.includes(s.dhGroup)) return `PFS group ${s.dhGroup} not configured`;
  if (!req.kePresent) return `PFS group ${s.dhGroup} without a KE payload`;
  return undefined;
}

function spiOf(p: Proposal): number | undefined {
  if (p.spi.length !== 4) return undefined;
  const spi = p.spi.readUInt32BE(0);
  return spi === 0 ? undefined : spi;
}

/** Responder: the first ESP transform of the peer (in its order) that we accept. */
export function selectPhase2(offer: SaBody, req: Phase2Requirements): Phase2Selection | { readonly reason: string } {
  const reasons: string[] = [];
  const numbers = offer.proposals.map((p) => p.number);
  for (const proposal of offer.proposals) {
    if (proposal.protocolId !== ProtocolId.IPSEC_ESP) continue;
    // Proposals sharing a number are ANDed (e.g. AH+ESP, RFC 2408 §3.5): not supported.
    if (numbers.filter((n) => n === proposal.number).length > 1) {
      reasons.push('combined proposals');
      continue;
    }
    const peerSpi = spiOf(proposal);
    if (peerSpi === undefined) {
      reasons.push('zero SPI');
      continue;
    }
    for (const t of proposal.transforms) {
      const parsed = parsePhase2Transform(t);
      if (!parsed.ok) {
        reasons.push(parsed.reason);
        continue;
      }
      const problem = acceptable(parsed.suite, req);
      if (problem) {
        reasons.push(problem);
        continue;
      }
      return { suite: parsed.suite, proposal, transform: t, peerSpi };
    }
  }
  return { reason: reasons.slice(0, 4).join('; ') || 'no ESP proposal' };
}

/** Initiator: one ESP proposal with the responder's SPI and one of our transforms. */
export function checkPhase2Answer(answer: SaBody, req: Phase2Requirements, offeredLifetime: number): { suite: Phase2Suite; peerSpi: number } | string {
  const proposal = answer.proposals[0];
  if (answer.proposals.length !== 1 || !proposal || proposal.protocolId !== ProtocolId.IPSEC_ESP) return 'answer must hold one ESP proposal';
  const t = proposal.transforms[0];
  if (proposal.transforms.length !== 1 || !t) return 'answer must hold one transform';
  const peerSpi = spiOf(proposal);
  if (peerSpi === undefined) return 'answer without an SPI';
  const parsed = parsePhase2Transform(t);
  if (!parsed.ok) return parsed.reason;
  const problem = acceptable(parsed.suite, req);
  if (problem) return problem;
  return { suite: { ...parsed.suite, lifetimeSeconds: Math.min(parsed.suite.lifetimeSeconds, offeredLifetime) }, peerSpi };
}

/** The answer SA payload: the chosen proposal, our SPI, the chosen transform (RFC 2408 §4.2). */
export function phase2Answer(selection: Phase2Selection, ourSpi: number): SaPayload {
  const spi = Buffer.alloc(4);
  spi.writeUInt32BE(ourSpi >>> 0);
  return {
    kind: 'SA',
    doi: DOI_IPSEC,
    situation: SIT_IDENTITY_ONLY,
    proposals: [{ number: selection.proposal.number, protocolId: ProtocolId.IPSEC_ESP, spi, transforms: [selection.transform] }],
  };
}

/** The lifetime a RESPONDER-LIFETIME notify carries (RFC 2407 §4.6.3.1): attributes as in the SA. */
export function responderLifetimeSeconds(data: Buffer): number | undefined {
  try {
    const t: Transform = { number: 0, transformId: EspTransformId.AES_CBC, attributes: decodeNotifyAttributes(data) };
    const life = new LifeReader();
    for (const a of t.attributes) {
      if (a.type === IpsecAttribute.SA_LIFE_TYPE && a.format === 'tv') life.type(a.value);
      else if (a.type === IpsecAttribute.SA_LIFE_DURATION) life.duration(a);
    }
    return life.seconds;
  } catch {
    return undefined;
  }
}

function decodeNotifyAttributes(data: Buffer): DataAttribute[] {
  return decodeAttributes(new Reader(data, 0, data.length, 'RESPONDER-LIFETIME'));
}
