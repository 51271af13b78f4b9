/**
 * IKEv1 wire constants, in one place, with the section that defines each: ISAKMP (RFC 2408),
 * IKE (RFC 2409), the IPsec DOI (RFC 2407), NAT traversal (RFC 3947) and dead peer detection
 * (RFC 3706); numbers checked against the IANA "ISAKMP" and "IPsec DOI" registries.
 *
 * IKEv1 payload types are a namespace of their own, separate from IKEv2's (CVE-2015-3991: a
 * payload of the other version must never reach this version's code). Everything here is an
 * allow-list: decoders look wire values up and never use one as an index. Algorithm numbers
 * live in src/crypto/transforms.ts (ikev1Phase1Id, ikev1HashId, ikev1EspId, ikev1AuthId).
 */

type ValueOf<T> = T[keyof T];

/** ISAKMP header MjVer/MnVer (RFC 2408 §3.1; RFC 2409 §5: major 1, minor 0). */
export const ISAKMP_MAJOR_VERSION = 1;
export const ISAKMP_MINOR_VERSION = 0;

/** Initiator Cookie(8) Responder Cookie(8) Next(1) Version(1) Exchange(1) Flags(1) Message ID(4) Length(4) (RFC 2408 §3.1). */
export const ISAKMP_HEADER_LENGTH = 28;
/** Next Payload(1) RESERVED(1) Payload Length(2) (RFC 2408 §3.2). */
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;
export const COOKIE_LENGTH = 8;

/** Bounds this implementation enforces on what it accepts (the wire allows more). */
export const LIMITS = {
  /** About UDP's limit; the 32-bit Length field is bounded here, never trusted. */
  messageLength: 65_535,
  payloadsPerMessage: 64,
  proposalsPerSa: 16,
  /** Transform # is one octet (RFC 2408 §3.6); cgwd offers at most PHASE1_MAX_TRANSFORMS. */
  transformsPerProposal: 128,
  attributesPerTransform: 32,
  /** Variable-length attribute values (RFC 2408 §3.3): life durations are a few octets; group primes up to 1024. */
  variableAttributeBytes: 1024,
  spisPerDelete: 64,
  /** A KE payload holds at most a MODP-8192 public value (1024 octets). */
  keBytes: 1024,
  hashBytes: 64,
  vendorIdBytes: 256,
} as const;

/** Nonce Data: "between 8 and 256 bytes inclusive" (RFC 2409 §5). */
export const NONCE_MIN_LENGTH = 8;
export const NONCE_MAX_LENGTH = 256;
/** The nonce length cgwd sends. */
export const NONCE_LENGTH = 32;

/** Exchange types (RFC 2408 §3.1 and §4; Quick Mode and New Group Mode: RFC 2409 §5.5, §5.6). */
export const ExchangeType = {
  BASE: 1,
  /** Main Mode (RFC 2409 §5). */
  IDENTITY_PROTECTION: 2,
  AUTHENTICATION_ONLY: 3,
  /** Aggressive Mode: refused ("We support Main mode only with IKEv1", AWS Site-to-Site VPN User Guide, Customer gateway device requirements). */
  AGGRESSIVE: 4,
  INFORMATIONAL: 5,
  QUICK_MODE: 32,
  NEW_GROUP_MODE: 33,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;

/** Header flags (RFC 2408 §3.1). Other bits are ignored on receipt and sent as zero. */
export const HeaderFlag = {
  /** E: everything after the header is encrypted (RFC 2408 §3.1). */
  ENCRYPTION: 0x01,
  /** C: key exchange synchronisation; the side that did not set it waits for CONNECTED (RFC 2408 §3.1, §4.8). */
  COMMIT: 0x02,
  /** A: authentication only, no encryption; never used by IKE. */
  AUTHENTICATION_ONLY: 0x04,
} as const;

/** Next Payload types (RFC 2408 §3.1; NAT-D/NAT-OA: RFC 3947 §3.1, §5.1). 0 ends a chain. */
export const PayloadType = {
  NONE: 0,
  SA: 1,
  PROPOSAL: 2,
  TRANSFORM: 3,
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  NOTIFICATION: 11,
  DELETE: 12,
  VENDOR_ID: 13,
  NAT_D: 20,
  NAT_OA: 21,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;

const PAYLOAD_NAMES: Readonly<Record<number, string>> = {
  1: 'SA', 2: 'PROPOSAL', 3: 'TRANSFORM', 4: 'KE', 5: 'ID', 6: 'CERT', 7: 'CR', 8: 'HASH', 9: 'SIG',
  10: 'NONCE', 11: 'N', 12: 'D', 13: 'VID', 20: 'NAT-D', 21: 'NAT-OA',
};

export function payloadTypeName(type: number): string {
  return Object.hasOwn(PAYLOAD_NAMES, type) ? (PAYLOAD_NAMES[type] as string) : `payload-${type}`;
}

/** IPsec DOI (RFC 2407 §4.2); Situation SIT_IDENTITY_ONLY (RFC 2407 §4.2.1). */
export const DOI_IPSEC = 1;
/** Notification/Delete payloads from some implementations carry DOI 0 ("ISAKMP", RFC 2408 §3.14). */
export const DOI_ISAKMP = 0;
export const SIT_IDENTITY_ONLY = 1;

/** Protocol IDs (RFC 2407 §4.4.1). */
export const ProtocolId = {
  ISAKMP: 1,
  IPSEC_AH: 2,
  IPSEC_ESP: 3,
  IPCOMP: 4,
} as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;

/** Phase 1 transform ID KEY_IKE (RFC 2407 §4.4.2). */
export const KEY_IKE = 1;
/** ISAKMP SA SPI in Notify/Delete: CKY-I | CKY-R (RFC 2408 §3.14, §3.15). */
export const ISAKMP_SPI_LENGTH = 16;
/** ESP SPI length (RFC 2407 §4.4.1); values 1..255 are reserved (RFC 4303 §2.1). */
export const ESP_SPI_LENGTH = 4;
export const MIN_ESP_SPI = 0x100;

/** Phase 1 (Oakley) attribute classes (RFC 2409 Appendix A). B = basic (TV), V = variable (TLV). */
export const Phase1Attribute = {
  ENCRYPTION_ALGORITHM: 1, // B
  HASH_ALGORITHM: 2, // B
  AUTHENTICATION_METHOD: 3, // B
  GROUP_DESCRIPTION: 4, // B
  GROUP_TYPE: 5, // B
  GROUP_PRIME: 6, // V
  GROUP_GENERATOR_ONE: 7, // V
  GROUP_GENERATOR_TWO: 8, // V
  GROUP_CURVE_A: 9, // V
  GROUP_CURVE_B: 10, // V
  LIFE_TYPE: 11, // B
  LIFE_DURATION: 12, // V
  PRF: 13, // B
  KEY_LENGTH: 14, // B
  FIELD_SIZE: 15, // B
  GROUP_ORDER: 16, // V
} as const;

/** IPsec DOI SA attributes for Quick Mode (RFC 2407 §4.5). */
export const IpsecAttribute = {
  SA_LIFE_TYPE: 1, // B
  SA_LIFE_DURATION: 2, // V
  GROUP_DESCRIPTION: 3, // B
  ENCAPSULATION_MODE: 4, // B
  AUTHENTICATION_ALGORITHM: 5, // B
  KEY_LENGTH: 6, // B
  KEY_ROUNDS: 7, // B
  COMPRESS_DICTIONARY_SIZE: 8, // B
  COMPRESS_PRIVATE_ALGORITHM: 9, // V
  ECN_TUNNEL: 10, // B (RFC 3168)
  EXTENDED_SEQUENCE_NUMBER: 11, // B (RFC 4304)
} as const;

/** Life Type values, phase 1 (RFC 2409 App. A) and phase 2 (RFC 2407 §4.5) alike. */
export const LifeType = {
  SECONDS: 1,
  KILOBYTES: 2,
} as const;

/** Encapsulation Mode (RFC 2407 §4.5; UDP-encapsulated modes: RFC 3947 §5). */
export const EncapsulationMode = {
  TUNNEL: 1,
  TRANSPORT: 2,
  UDP_TUNNEL: 3,
  UDP_TRANSPORT: 4,
} as const;

/** Authentication Method (RFC 2409 App. A): cgwd speaks pre-shared keys only. */
export const AuthMethod = {
  PRE_SHARED_KEY: 1,
} as const;

/** Group Type (RFC 2409 App. A); only MODP/ECP groups by Group Description are accepted. */
export const GroupType = {
  MODP: 1,
} as const;

/** Phase 1 encryption algorithm AES-CBC (RFC 3602 §5.1 / RFC 2409 App. A registry): needs KEY_LENGTH. */
export const PHASE1_AES_CBC = 7;

/** ESP transform IDs (RFC 2407 §4.4.4; AES-CBC: RFC 3602 §5.1; AES-GCM 16-octet ICV: RFC 4106 §8.4). */
export const EspTransformId = {
  AES_CBC: 12,
  AES_GCM_16: 20,
} as const;

/** Identification types (RFC 2407 §4.6.2.1). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_USER_FQDN: 3,
  ID_IPV4_ADDR_SUBNET: 4,
  ID_IPV6_ADDR: 5,
  ID_IPV6_ADDR_SUBNET: 6,
  ID_IPV4_ADDR_RANGE: 7,
  ID_IPV6_ADDR_RANGE: 8,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
} as const;

/** Notify Message Types: errors 1–16383 (RFC 2408 §3.14.1), status (RFC 2408, RFC 2407 §4.6.3, RFC 3706 §5). */
export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1,
  DOI_NOT_SUPPORTED: 2,
  SITUATION_NOT_SUPPORTED: 3,
  INVALID_COOKIE: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6,
  INVALID_EXCHANGE_TYPE: 7,
  INVALID_FLAGS: 8,
  INVALID_MESSAGE_ID: 9,
  INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12,
  ATTRIBUTES_NOT_SUPPORTED: 13,
  NO_PROPOSAL_CHOSEN: 14,
  BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16,
  INVALID_KEY_INFORMATION: 17,
  INVALID_ID_INFORMATION: 18,
  INVALID_CERT_ENCODING: 19,
  INVALID_CERTIFICATE: 20,
  CERT_TYPE_UNSUPPORTED: 21,
  INVALID_CERT_AUTHORITY: 22,
  INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24,
  INVALID_SIGNATURE: 25,
  ADDRESS_NOTIFICATION: 26,
  NOTIFY_SA_LIFETIME: 27,
  CERTIFICATE_UNAVAILABLE: 28,
  UNSUPPORTED_EXCHANGE_TYPE: 29,
  UNEQUAL_PAYLOAD_LENGTHS: 30,
  /** Status: the Commit-bit acknowledgement (RFC 2408 §3.14.1, §4.8). */
  CONNECTED: 16384,
  /** IPsec DOI status types (RFC 2407 §4.6.3). */
  RESPONDER_LIFETIME: 24576,
  REPLAY_STATUS: 24577,
  INITIAL_CONTACT: 24578,
  /** Dead peer detection (RFC 3706 §5). */
  R_U_THERE: 36136,
  R_U_THERE_ACK: 36137,
} as const;
export type NotifyType = ValueOf<typeof NotifyType>;

/** Error notify types are below 16384 (RFC 2408 §3.14.1). */
export const NOTIFY_ERROR_MAX = 16383;

const NOTIFY_NAMES = new Map<number, string>(Object.entries(NotifyType).map(([name, value]) => [value, name]));

export function notifyTypeName(type: number): string {
  return NOTIFY_NAMES.get(type) ?? `NOTIFY_${type}`;
}

/** Vendor IDs cgwd sends and recognises. */
export const VendorId = {
  /** MD5("RFC 3947") (RFC 3947 §3.1). */
  NAT_T_RFC3947: Buffer.from('4a131c81070358455c5728f20e95452f', 'hex'),
  /** RFC 3706 §4: the 16-octet DPD vendor ID (major 1, minor 0). */
  DPD: Buffer.from('afcad71368a1f1c96b8696fc77570100', 'hex'),
} as const;

/**
 * The quick-mode identities cgwd uses on every tunnel: 0.0.0.0/0, one SA pair for everything
 * (AWS Site-to-Site VPN is route-based, one SA pair per tunnel; routing picks the tunnel).
 */
export const ANY_IPV4_SUBNET = Buffer.alloc(8);

/** UDP ports: IKE, and NAT-T after the float (RFC 3947 §4). */
export const IKE_PORT = 500;
export const NAT_T_PORT = 4500;
