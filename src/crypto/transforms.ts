/**
 * The one table of cryptographic transforms cgwd knows: IANA transform IDs
 * (RFC 7296 §3.3.2, IKEv2 registry), IKEv1 attribute values (RFC 2409 App. A,
 * IANA "IPSEC Authentication Algorithms"), and every spelling AWS uses for them,
 * in the XML (Junos tokens: aes-128-cbc, sha1, hmac-sha1-96, group2) and in the
 * JSON TunnelOptions (AES128, SHA2-256, 14). See the README's configuration reference.
 *
 * Config code maps names to these entries; IKE code maps wire IDs to them.
 * Everything is an allow-list: an unknown name or ID is "not found", never an index.
 */

/** IKEv2 transform type (RFC 7296 §3.3.2). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  DH: 4,
  ESN: 5,
} as const;
export type TransformType = (typeof TransformType)[keyof typeof TransformType];

export type EncryptionName = 'aes128-cbc' | 'aes256-cbc' | 'aes128-gcm16' | 'aes256-gcm16';
export type IntegrityName = 'hmac-sha1-96' | 'hmac-sha256-128' | 'hmac-sha384-192' | 'hmac-sha512-256';
export type PrfName = 'prf-hmac-sha1' | 'prf-hmac-sha256' | 'prf-hmac-sha384' | 'prf-hmac-sha512';
export type DhGroupNumber = 2 | 5 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21 | 22 | 23 | 24;

export interface EncryptionTransform {
  readonly name: EncryptionName;
  /** IKEv2 ENCR transform ID (ENCR_AES_CBC = 12, ENCR_AES_GCM_16 = 20). */
  readonly ikev2Id: number;
  /** Key length in bits, sent as the Key Length attribute (RFC 7296 §3.3.5). */
  readonly keyBits: 128 | 256;
  readonly aead: boolean;
  /** Bytes of salt appended to the key material for AEAD (RFC 4106 §8.1: 4). */
  readonly saltBytes: number;
  /** Explicit IV bytes in each packet/message. */
  readonly ivBytes: number;
  /** Block size for padding. */
  readonly blockBytes: number;
  /** AEAD ICV bytes (16 for GCM-16), 0 otherwise. */
  readonly icvBytes: number;
  /** node:crypto cipher name. */
  readonly nodeCipher: string;
  /** IKEv1 encryption algorithm attribute (RFC 2409 App. A: AES-CBC = 7); undefined when IKEv1 cannot use it for phase 1. */
  readonly ikev1Phase1Id?: number;
  /** IKEv1 IPsec transform ID for ESP (RFC 2407 §4.4.4: ESP_AES = 12; RFC 4106: ESP_AES_GCM_16 = 20). */
  readonly ikev1EspId: number;
  readonly awsXml: readonly string[];
  readonly awsJson: readonly string[];
}

export interface IntegrityTransform {
  readonly name: IntegrityName;
  /** IKEv2 INTEG transform ID (AUTH_HMAC_SHA1_96 = 2, AUTH_HMAC_SHA2_256_128 = 12, …). */
  readonly ikev2Id: number;
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  readonly keyBytes: number;
  readonly icvBytes: number;
  /** IKEv1 hash algorithm attribute for phase 1 (RFC 2409 App. A: SHA = 2, SHA2-256 = 4, 384 = 5, 512 = 6). */
  readonly ikev1HashId: number;
  /** IKEv1 ESP authentication algorithm attribute (HMAC-SHA = 2, HMAC-SHA2-256 = 5, 384 = 6, 512 = 7). */
  readonly ikev1AuthId: number;
  readonly awsXml: readonly string[];
  readonly awsJson: readonly string[];
}

export interface PrfTransform {
  readonly name: PrfName;
  /** IKEv2 PRF transform ID (PRF_HMAC_SHA1 = 2, PRF_HMAC_SHA2_256 = 5, 384 = 6, 512 = 7). */
  readonly ikev2Id: number;
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** Preferred key length = output length (RFC 7296 §2.13). */
  readonly outputBytes: number;
}

export type DhKind = 'modp' | 'ecp';

export interface DhGroup {
  readonly group: DhGroupNumber;
  readonly kind: DhKind;
  /** Bytes of the public value in the KE payload (MODP: prime length; ECP: x||y, RFC 5903 §7). */
  readonly publicBytes: number;
  /** Name of the source of its parameters. */
  readonly spec: string;
  readonly awsXml: readonly string[];
  /** AWS allows this group in phase 1 (group 5 is phase-2 only: User Guide, "Tunnel options"). */
  readonly awsPhase1: boolean;
}

export const ENCRYPTION: readonly EncryptionTransform[] = [
  {
    name: 'aes128-cbc', ikev2Id: 12, keyBits: 128, aead: false, saltBytes: 0, ivBytes: 16, blockBytes: 16, icvBytes: 0,
    nodeCipher: 'aes-128-cbc', ikev1Phase1Id: 7, ikev1EspId: 12,
    awsXml: ['aes-128-cbc', 'aes128', 'aes-128'], awsJson: ['AES128'],
  },
  {
    name: 'aes256-cbc', ikev2Id: 12, keyBits: 256, aead: false, saltBytes: 0, ivBytes: 16, blockBytes: 16, icvBytes: 0,
    nodeCipher: 'aes-256-cbc', ikev1Phase1Id: 7, ikev1EspId: 12,
    awsXml: ['aes-256-cbc', 'aes256', 'aes-256'], awsJson: ['AES256'],
  },
  {
    name: 'aes128-gcm16', ikev2Id: 20, keyBits: 128, aead: true, saltBytes: 4, ivBytes: 8, blockBytes: 4, icvBytes: 16,
    nodeCipher: 'aes-128-gcm', ikev1EspId: 20,
    awsXml: ['aes-128-gcm-16', 'aes128-gcm16', 'aes-gcm-128'], awsJson: ['AES128-GCM-16'],
  },
  {
    name: 'aes256-gcm16', ikev2Id: 20, keyBits: 256, aead: true, saltBytes: 4, ivBytes: 8, blockBytes: 4, icvBytes: 16,
    nodeCipher: 'aes-256-gcm', ikev1EspId: 20,
    awsXml: ['aes-256-gcm-16', 'aes256-gcm16', 'aes-gcm-256'], awsJson: ['AES256-GCM-16'],
  },
];

export const INTEGRITY: readonly IntegrityTransform[] = [
  {
    name: 'hmac-sha1-96', ikev2Id: 2, hash: 'sha1', keyBytes: 20, icvBytes: 12, ikev1HashId: 2, ikev1AuthId: 2,
    awsXml: ['sha1', 'hmac-sha1-96', 'hmac-sha1'], awsJson: ['SHA1'],
  },
  {
    name: 'hmac-sha256-128', ikev2Id: 12, hash: 'sha256', keyBytes: 32, icvBytes: 16, ikev1HashId: 4, ikev1AuthId: 5,
    awsXml: ['sha256', 'sha2-256', 'hmac-sha256-128', 'hmac-sha-256-128', 'hmac-sha256'], awsJson: ['SHA2-256'],
  },
  {
    name: 'hmac-sha384-192', ikev2Id: 13, hash: 'sha384', keyBytes: 48, icvBytes: 24, ikev1HashId: 5, ikev1AuthId: 6,
    awsXml: ['sha384', 'sha2-384', 'hmac-sha384-192', 'hmac-sha-384-192', 'hmac-sha384'], awsJson: ['SHA2-384'],
  },
  {
    name: 'hmac-sha512-256', ikev2Id: 14, hash: 'sha512', keyBytes: 64, icvBytes: 32, ikev1HashId: 6, ikev1AuthId: 7,
    awsXml: ['sha512', 'sha2-512', 'hmac-sha512-256', 'hmac-sha-512-256', 'hmac-sha512'], awsJson: ['SHA2-512'],
  },
];

export const PRF: readonly PrfTransform[] = [
  { name: 'prf-hmac-sha1', ikev2Id: 2, hash: 'sha1', outputBytes: 20 },
  { name: 'prf-hmac-sha256', ikev2Id: 5, hash: 'sha256', outputBytes: 32 },
  { name: 'prf-hmac-sha384', ikev2Id: 6, hash: 'sha384', outputBytes: 48 },
  { name: 'prf-hmac-sha512', ikev2Id: 7, hash: 'sha512', outputBytes: 64 },
];

export const DH_GROUPS: readonly DhGroup[] = [
  { group: 2, kind: 'modp', publicBytes: 128, spec: 'RFC 2409 §6.2 (MODP 1024)', awsXml: ['group2'], awsPhase1: true },
  { group: 5, kind: 'modp', publicBytes: 192, spec: 'RFC 3526 §2 (MODP 1536)', awsXml: ['group5'], awsPhase1: false },
  { group: 14, kind: 'modp', publicBytes: 256, spec: 'RFC 3526 §3 (MODP 2048)', awsXml: ['group14'], awsPhase1: true },
  { group: 15, kind: 'modp', publicBytes: 384, spec: 'RFC 3526 §4 (MODP 3072)', awsXml: ['group15'], awsPhase1: true },
  { group: 16, kind: 'modp', publicBytes: 512, spec: 'RFC 3526 §5 (MODP 4096)', awsXml: ['group16'], awsPhase1: true },
  { group: 17, kind: 'modp', publicBytes: 768, spec: 'RFC 3526 §6 (MODP 6144)', awsXml: ['group17'], awsPhase1: true },
  { group: 18, kind: 'modp', publicBytes: 1024, spec: 'RFC 3526 §7 (MODP 8192)', awsXml: ['group18'], awsPhase1: true },
  { group: 19, kind: 'ecp', publicBytes: 64, spec: 'RFC 5903 (ECP 256)', awsXml: ['group19'], awsPhase1: true },
  { group: 20, kind: 'ecp', publicBytes: 96, spec: 'RFC 5903 (ECP 384)', awsXml: ['group20'], awsPhase1: true },
  { group: 21, kind: 'ecp', publicBytes: 132, spec: 'RFC 5903 (ECP 521)', awsXml: ['group21'], awsPhase1: true },
  { group: 22, kind: 'modp', publicBytes: 128, spec: 'RFC 5114 §2.1 (MODP 1024, 160-bit subgroup)', awsXml: ['group22'], awsPhase1: true },
  { group: 23, kind: 'modp', publicBytes: 256, spec: 'RFC 5114 §2.2 (MODP 2048, 224-bit subgroup)', awsXml: ['group23'], awsPhase1: true },
  { group: 24, kind: 'modp', publicBytes: 256, spec: 'RFC 5114 §2.3 (MODP 2048, 256-bit subgroup)', awsXml: ['group24'], awsPhase1: true },
];

/** PRF that goes with an integrity algorithm when a suite names only "SHA2-256" etc. (IKEv2 needs both). */
export function prfForIntegrity(integ: IntegrityName): PrfTransform {
  const hash = integrityByName(integ).hash;
  const prf = PRF.find((p) => p.hash === hash);
  if (!prf) throw new Error(`no PRF for ${integ}`);
  return prf;
}

const norm = (s: string): string => s.trim().toLowerCase();

export function encryptionByName(name: EncryptionName): EncryptionTransform {
  const t = ENCRYPTION.find((e) => e.name === name);
  if (!t) throw new Error(`unknown encryption ${name}`);
  return t;
}

export function integrityByName(name: IntegrityName): IntegrityTransform {
  const t = INTEGRITY.find((e) => e.name === name);
  if (!t) throw new Error(`unknown integrity ${name}`);
  return t;
}

export function prfByName(name: PrfName): PrfTransform {
  const t = PRF.find((e) => e.name === name);
  if (!t) throw new Error(`unknown prf ${name}`);
  return t;
}

export function dhGroup(group: DhGroupNumber): DhGroup {
  const g = DH_GROUPS.find((e) => e.group === group);
  if (!g) throw new Error(`unknown DH group ${group}`);
  return g;
}

/** XML spelling (e.g. "aes-128-cbc") → transform, or undefined when unknown. */
export function encryptionFromAwsXml(value: string): EncryptionTransform | undefined {
  return ENCRYPTION.find((e) => e.awsXml.includes(norm(value)));
}
/** JSON spelling (e.g. "AES128-GCM-16") → transform, or undefined when unknown. */
export function encryptionFromAwsJson(value: string): EncryptionTransform | undefined {
  return ENCRYPTION.find((e) => e.awsJson.includes(value.trim().toUpperCase()));
}
export function integrityFromAwsXml(value: string): IntegrityTransform | undefined {
  return INTEGRITY.find((e) => e.awsXml.includes(norm(value)));
}
export function integrityFromAwsJson(value: string): IntegrityTransform | undefined {
  return INTEGRITY.find((e) => e.awsJson.includes(value.trim().toUpperCase()));
}
/** "group14" → 14 (XML). */
export function dhGroupFromAwsXml(value: string): DhGroup | undefined {
  return DH_GROUPS.find((g) => g.awsXml.includes(norm(value)));
}
/** 14 or "14" → group (JSON Phase*DHGroupNumbers[].Value). */
export function dhGroupFromAwsJson(value: number | string): DhGroup | undefined {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return DH_GROUPS.find((g) => g.group === n);
}

export function encryptionByIkev2(id: number, keyBits: number | undefined): EncryptionTransform | undefined {
  return ENCRYPTION.find((e) => e.ikev2Id === id && e.keyBits === keyBits);
}
export function integrityByIkev2(id: number): IntegrityTransform | undefined {
  return INTEGRITY.find((e) => e.ikev2Id === id);
}
export function prfByIkev2(id: number): PrfTransform | undefined {
  return PRF.find((e) => e.ikev2Id === id);
}
export function dhGroupByNumber(id: number): DhGroup | undefined {
  return DH_GROUPS.find((g) => g.group === id);
}
