/**
 * Negotiated algorithm suites and the preference order cgwd uses when it proposes them.
 * "Strongest first" is by security strength (NIST SP 800-57 equivalents), ECP before MODP
 * at equal strength because it is cheaper; AEAD before CBC+HMAC at equal key size.
 */
import type { DhGroupNumber, EncryptionName, IntegrityName, PrfName } from '../../crypto/transforms.js';

export interface IkeSuite {
  readonly encryption: EncryptionName;
  /** Absent for AEAD (RFC 5282). */
  readonly integrity?: IntegrityName;
  readonly prf: PrfName;
  readonly dhGroup: DhGroupNumber;
}

export interface ChildSuite {
  readonly encryption: EncryptionName;
  /** Absent for AEAD (RFC 4106). */
  readonly integrity?: IntegrityName;
  /** The PFS group of the exchange that created the SA; absent when none was used. */
  readonly dhGroup?: DhGroupNumber;
}

export function describeIkeSuite(suite: IkeSuite): string {
  return [suite.encryption, suite.integrity, suite.prf, `dh${suite.dhGroup}`].filter(Boolean).join('/');
}

export function describeChildSuite(suite: ChildSuite): string {
  const dh = suite.dhGroup === undefined ? undefined : `dh${suite.dhGroup}`;
  return [suite.encryption, suite.integrity, dh].filter(Boolean).join('/');
}

/** Encryption, strongest first. */
export const ENCRYPTION_PREFERENCE: readonly EncryptionName[] = [
  'aes256-gcm16',
  'aes256-cbc',
  'aes128-gcm16',
  'aes128-cbc',
];

/** Integrity (and, for IKE, the matching PRF), strongest first. */
export const INTEGRITY_PREFERENCE: readonly IntegrityName[] = [
  'hmac-sha512-256',
  'hmac-sha384-192',
  'hmac-sha256-128',
  'hmac-sha1-96',
];

/**
 * DH groups, strongest first: ECP 521 (256-bit strength), MODP 8192 (~200), ECP 384 (192),
 * MODP 6144 (~176), MODP 4096 (~150), ECP 256 (128), MODP 3072 (128), MODP 2048 (112),
 * RFC 5114 2048/256 and 2048/224 (112), MODP 1536 (~90), RFC 5114 1024/160 (80), MODP 1024 (80).
 */
export const DH_PREFERENCE: readonly DhGroupNumber[] = [21, 18, 20, 17, 16, 19, 15, 14, 24, 23, 5, 22, 2];

/**
 * What AWS accepts for phase 1 and phase 2 (AWS Site-to-Site VPN User Guide, Tunnel options:
 * the Phase 1/Phase 2 encryption, integrity and DH group lists): used when the file only gave
 * its minimum.
 */
export const AWS_ACCEPTED = {
  encryption: ['aes128-cbc', 'aes256-cbc', 'aes128-gcm16', 'aes256-gcm16'] as readonly EncryptionName[],
  integrity: ['hmac-sha1-96', 'hmac-sha256-128', 'hmac-sha384-192', 'hmac-sha512-256'] as readonly IntegrityName[],
  ikeDhGroups: [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as readonly DhGroupNumber[],
  childDhGroups: [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as readonly DhGroupNumber[],
} as const;

/** `values` without duplicates, in the order of `preference` (values not in it keep their order, last). */
export function orderByPreference<T>(values: readonly T[], preference: readonly T[]): T[] {
  const unique = [...new Set(values)];
  const rank = (value: T): number => {
    const index = preference.indexOf(value);
    return index < 0 ? preference.length : index;
  };
  return unique
    .map((value, index) => ({ value, index }))
    .sort((a, b) => rank(a.value) - rank(b.value) || a.index - b.index)
    .map((entry) => entry.value);
}
