/** strongSwan's display names for our transforms, to compare `swanctl --list-sas` with what cgwd negotiated. */
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../../../src/crypto/transforms.js';

export const SWAN_ENCRYPTION: Record<EncryptionName, string> = {
  'aes128-cbc': 'AES_CBC-128',
  'aes256-cbc': 'AES_CBC-256',
  'aes128-gcm16': 'AES_GCM_16-128',
  'aes256-gcm16': 'AES_GCM_16-256',
};
export const SWAN_INTEGRITY: Record<IntegrityName, string> = {
  'hmac-sha1-96': 'HMAC_SHA1_96',
  'hmac-sha256-128': 'HMAC_SHA2_256_128',
  'hmac-sha384-192': 'HMAC_SHA2_384_192',
  'hmac-sha512-256': 'HMAC_SHA2_512_256',
};
export const SWAN_PRF: Record<IntegrityName, string> = {
  'hmac-sha1-96': 'PRF_HMAC_SHA1',
  'hmac-sha256-128': 'PRF_HMAC_SHA2_256',
  'hmac-sha384-192': 'PRF_HMAC_SHA2_384',
  'hmac-sha512-256': 'PRF_HMAC_SHA2_512',
};
export const SWAN_DH_DISPLAY: Record<DhGroupNumber, string> = {
  2: 'MODP_1024', 5: 'MODP_1536', 14: 'MODP_2048', 15: 'MODP_3072', 16: 'MODP_4096', 17: 'MODP_6144', 18: 'MODP_8192',
  19: 'ECP_256', 20: 'ECP_384', 21: 'ECP_521', 22: 'MODP_1024_160', 23: 'MODP_2048_224', 24: 'MODP_2048_256',
};

/** The IKE suite line strongSwan prints, e.g. "AES_CBC-128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024". */
export function swanIkeSuite(e: EncryptionName, i: IntegrityName, dh: DhGroupNumber): string {
  const parts = e.endsWith('gcm16') ? [SWAN_ENCRYPTION[e], SWAN_PRF[i], SWAN_DH_DISPLAY[dh]] : [SWAN_ENCRYPTION[e], SWAN_INTEGRITY[i], SWAN_PRF[i], SWAN_DH_DISPLAY[dh]];
  return parts.join('/');
}

/** The CHILD SA suite strongSwan prints after "ESP:", e.g. "AES_CBC-128/HMAC_SHA1_96" (+ "/MODP_1024" with PFS). */
export function swanEspSuite(e: EncryptionName, i: IntegrityName): string {
  return e.endsWith('gcm16') ? SWAN_ENCRYPTION[e] : `${SWAN_ENCRYPTION[e]}/${SWAN_INTEGRITY[i]}`;
}
