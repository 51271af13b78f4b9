/**
 * What cgwd offers and accepts, derived from one tunnel's configuration; the same policy for
 * IKEv2 (v2/proposals) and IKEv1 (v1/proposals.ts), each version encoding it its own way.
 *
 * An algorithm list whose origin is 'xml' is only the AWS file's minimum example ("The
 * configuration file is an example only … It specifies the minimum requirements", AWS
 * Site-to-Site VPN User Guide, Your customer gateway device): AWS accepts the stronger suites
 * too, so cgwd offers AWS's whole accepted set for that list, strongest first, and keeps the
 * file's minimum in it so a peer that insists on exactly that still matches. Lists from
 * TunnelOptions (or AWS's defaults) are offered as given, also strongest first: AWS ignores
 * the order anyway ("evaluate proposals … regardless of the proposal order", User Guide,
 * Tunnel options).
 *
 * AEAD and non-AEAD suites go in separate proposals (RFC 7296 §3.3: a proposal is a set of
 * combinations; AES-GCM has no integrity transform). The IKE SA always carries a PRF, the
 * one matching each integrity choice: an AES-GCM IKE SA proposal without a PRF transform is
 * invalid (RFC 7296 §3.3.3 requires a PRF for IKE), and AWS refuses it.
 */
import type { TunnelConfig } from '../../config/model.js';
import {
  encryptionByName,
  prfForIntegrity,
  type DhGroupNumber,
  type EncryptionName,
  type IntegrityName,
  type PrfName,
} from '../../crypto/transforms.js';
import { AWS_ACCEPTED, DH_PREFERENCE, ENCRYPTION_PREFERENCE, INTEGRITY_PREFERENCE, orderByPreference } from './suites.js';

/** One proposal's worth of algorithm choices for the IKE SA. */
export interface IkeOffer {
  readonly aead: boolean;
  readonly encryption: readonly EncryptionName[];
  /** Empty for AEAD. */
  readonly integrity: readonly IntegrityName[];
  readonly prf: readonly PrfName[];
  readonly dhGroups: readonly DhGroupNumber[];
}

/** One proposal's worth of algorithm choices for ESP. */
export interface ChildOffer {
  readonly aead: boolean;
  readonly encryption: readonly EncryptionName[];
  readonly integrity: readonly IntegrityName[];
  /** PFS groups for CREATE_CHILD_SA; empty = no PFS. Never sent in IKE_AUTH (RFC 7296 §1.2). */
  readonly dhGroups: readonly DhGroupNumber[];
}

export interface ProposalPolicy {
  readonly ike: readonly IkeOffer[];
  readonly child: readonly ChildOffer[];
  /** The DH group whose KE goes in the first IKE_SA_INIT (the first of the offered groups). */
  readonly ikeKeGroup: DhGroupNumber;
  /** The PFS group whose KE goes in a CHILD rekey; undefined when PFS is off. */
  readonly childKeGroup: DhGroupNumber | undefined;
}

function pick<T>(configured: readonly T[], origin: string, awsAccepted: readonly T[], preference: readonly T[]): T[] {
  const values = origin === 'xml' ? [...awsAccepted, ...configured] : configured;
  return orderByPreference(values, preference);
}

function splitByAead(encryption: readonly EncryptionName[]): { aead: EncryptionName[]; plain: EncryptionName[] } {
  return {
    aead: encryption.filter((name) => encryptionByName(name).aead),
    plain: encryption.filter((name) => !encryptionByName(name).aead),
  };
}

/** The offers for one tunnel. Throws if the configuration leaves nothing to propose. */
export function proposalPolicyFor(tunnel: TunnelConfig): ProposalPolicy {
  const x = tunnel.explicit;
  const ikeEncryption = pick(tunnel.ike.encryption, x['ike.encryption'], AWS_ACCEPTED.encryption, ENCRYPTION_PREFERENCE);
  const ikeIntegrity = pick(tunnel.ike.integrity, x['ike.integrity'], AWS_ACCEPTED.integrity, INTEGRITY_PREFERENCE);
  const ikeGroups = pick(tunnel.ike.dhGroups, x['ike.dhGroups'], AWS_ACCEPTED.ikeDhGroups, DH_PREFERENCE);
  const espEncryption = pick(tunnel.ipsec.encryption, x['ipsec.encryption'], AWS_ACCEPTED.encryption, ENCRYPTION_PREFERENCE);
  const espIntegrity = pick(tunnel.ipsec.integrity, x['ipsec.integrity'], AWS_ACCEPTED.integrity, INTEGRITY_PREFERENCE);
  const pfsGroups = pick(tunnel.ipsec.pfsGroups, x['ipsec.pfsGroups'], AWS_ACCEPTED.childDhGroups, DH_PREFERENCE);

  const ikePrf = orderByPreference(ikeIntegrity.map((name) => prfForIntegrity(name).name), INTEGRITY_PREFERENCE.map((name) => prfForIntegrity(name).name));
  const ike: IkeOffer[] = [];
  const ikeSplit = splitByAead(ikeEncryption);
  if (ikeSplit.aead.length > 0) {
    ike.push({ aead: true, encryption: ikeSplit.aead, integrity: [], prf: ikePrf, dhGroups: ikeGroups });
  }
  if (ikeSplit.plain.length > 0 && ikeIntegrity.length > 0) {
    ike.push({ aead: false, encryption: ikeSplit.plain, integrity: ikeIntegrity, prf: ikePrf, dhGroups: ikeGroups });
  }
  const child: ChildOffer[] = [];
  const espSplit = splitByAead(espEncryption);
  if (espSplit.aead.length > 0) child.push({ aead: true, encryption: espSplit.aead, integrity: [], dhGroups: pfsGroups });
  if (espSplit.plain.length > 0 && espIntegrity.length > 0) {
    child.push({ aead: false, encryption: espSplit.plain, integrity: espIntegrity, dhGroups: pfsGroups });
  }
  const ikeKeGroup = ikeGroups[0];
  if (ike.length === 0 || ikePrf.length === 0 || ikeKeGroup === undefined) {
    throw new Error(`tunnel ${tunnel.index}: no IKE proposal can be built from the configuration`);
  }
  if (child.length === 0) throw new Error(`tunnel ${tunnel.index}: no ESP proposal can be built from the configuration`);
  return { ike, child, ikeKeGroup, childKeGroup: pfsGroups[0] };
}

/** A policy whose offers are narrowed to exactly one suite each (tests, the lab's per-suite runs). */
export function singleSuitePolicy(ike: IkeOffer, child: ChildOffer): ProposalPolicy {
  const ikeKeGroup = ike.dhGroups[0];
  if (ikeKeGroup === undefined) throw new Error('IKE offer without a DH group');
  return { ike: [ike], child: [child], ikeKeGroup, childKeGroup: child.dhGroups[0] };
}
