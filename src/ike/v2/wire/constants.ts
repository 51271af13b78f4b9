/**
 * IKEv2 wire constants, in one place, with the section that defines each.
 * Values come from RFC 7296 (IKEv2) and the IANA "Internet Key Exchange
 * Version 2 (IKEv2) Parameters" registry; extensions name their RFC.
 *
 * These are allow-lists: decoders look wire values up here and never use a
 * wire value as an index. Transform IDs (ENCR/PRF/INTEG/DH numbers) live in
 * src/crypto/transforms.ts, the one table that maps them to algorithms.
 */
export { TransformType } from '../../../crypto/transforms.js';

type ValueOf<T> = T[keyof T];

/** IKE header major version this codec speaks (RFC 7296 §3.1). */
export const IKE_MAJOR_VERSION = 2;
/** Minor version sent; received minor versions are ignored (RFC 7296 §3.1). */
export const IKE_MINOR_VERSION = 0;

/** IKE header: SPIi(8) SPIr(8) Next(1) Version(1) Exchange(1) Flags(1) MessageID(4) Length(4) (RFC 7296 §3.1). */
export const IKE_HEADER_LENGTH = 28;
/** Generic payload header: Next(1) C|RESERVED(1) Length(2) (RFC 7296 §3.2). */
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;
/** Encrypted Fragment payload header: generic header + Fragment Number(2) + Total Fragments(2) (RFC 7383 §2.5). */
export const SKF_HEADER_LENGTH = 8;
export const IKE_SPI_LENGTH = 8;

/**
 * Largest IKE message accepted or produced (64 KiB - 1, about UDP's limit). RFC 7296 §2 requires
 * 1280 octets and recommends 3000; the 32-bit Length field (§3.1) is bounded here, not trusted.
 */
export const MAX_IKE_MESSAGE_LENGTH = 65_535;
/** Bound on payloads in one chain (outer or inner); strongSwan caps notifies and VIDs at 20 each. */
export const MAX_PAYLOADS_PER_CHAIN = 64;
/** Bound on SKF Total Fragments (RFC 7383 §2.5 leaves it open; CVE-2013-6076 shows why to bound it). */
export const MAX_IKE_FRAGMENTS = 64;
/** Bound on proposals in one SA payload (Proposal Num is one octet, RFC 7296 §3.3.1). */
export const MAX_PROPOSALS = 64;
/** Bound on transforms in one proposal (Num Transforms is one octet, RFC 7296 §3.3.1). */
export const MAX_TRANSFORMS_PER_PROPOSAL = 64;
/** Bound on attributes in one transform (RFC 7296 §3.3.5 defines only Key Length). */
export const MAX_ATTRIBUTES_PER_TRANSFORM = 8;
/** Bound on CP attributes (RFC 7296 §3.15.1). */
export const MAX_CP_ATTRIBUTES = 64;

/** Exchange types (RFC 7296 §3.1). */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;

/** IKE header flags: |X|X|R|V|I|X|X|X| (RFC 7296 §3.1). X bits are sent as zero and ignored on receipt. */
export const HeaderFlag = {
  /** I: set by the original initiator of the IKE SA. */
  INITIATOR: 0x08,
  /** V: sender can speak a higher major version. */
  VERSION: 0x10,
  /** R: this message is a response. */
  RESPONSE: 0x20,
} as const;

/** Payload types (RFC 7296 §3.2; SKF: RFC 7383 §2.5). 0 ends a chain. */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR_ID: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  SKF: 53,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;

const KNOWN_PAYLOAD_TYPES: ReadonlySet<number> = new Set(
  Object.values(PayloadType).filter((t) => t !== PayloadType.NONE),
);

/** True for the IKEv2 payload types this codec decodes (IKEv1 types 1–13 are NOT IKEv2 payloads: CVE-2015-3991). */
export function isKnownPayloadType(type: number): type is PayloadType {
  return KNOWN_PAYLOAD_TYPES.has(type);
}

/** Names for logs (RFC 7296 notation). */
export const PAYLOAD_TYPE_NAMES: Readonly<Record<number, string>> = {
  33: 'SA',
  34: 'KE',
  35: 'IDi',
  36: 'IDr',
  37: 'CERT',
  38: 'CERTREQ',
  39: 'AUTH',
  40: 'Nonce',
  41: 'N',
  42: 'D',
  43: 'V',
  44: 'TSi',
  45: 'TSr',
  46: 'SK',
  47: 'CP',
  48: 'EAP',
  53: 'SKF',
};

export function payloadTypeName(type: number): string {
  return PAYLOAD_TYPE_NAMES[type] ?? `payload(${type})`;
}

/** Critical bit in the generic payload header's second octet (RFC 7296 §3.2). */
export const CRITICAL_BIT = 0x80;

/** Security protocol IDs in SA proposals, Notify and Delete (RFC 7296 §3.3.1). */
export const ProtocolId = {
  /** Notify only: "no SPI / not about an SA" (RFC 7296 §3.10). */
  NONE: 0,
  IKE: 1,
  AH: 2,
  ESP: 3,
} as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;

/** SPI sizes (RFC 7296 §3.3.1): IKE 0 in IKE_SA_INIT and 8 when rekeying; AH/ESP 4. */
export const SPI_SIZE = {
  IKE_INITIAL: 0,
  IKE: 8,
  CHILD: 4,
} as const;

/** Transform substructure Last Substruc values (RFC 7296 §3.3.2): 0 = last, 3 = more follow. */
export const TRANSFORM_LAST = 0;
export const TRANSFORM_MORE = 3;
/** Proposal substructure Last Substruc values (RFC 7296 §3.3.1): 0 = last, 2 = more follow. */
export const PROPOSAL_LAST = 0;
export const PROPOSAL_MORE = 2;

/** Attribute Format bit: 1 = TV (2-byte value in the length field), 0 = TLV (RFC 7296 §3.3.5). */
export const ATTRIBUTE_FORMAT_TV = 0x8000;
/** Transform attribute types (RFC 7296 §3.3.5). Key Length MUST use TV format. */
export const TransformAttributeType = {
  KEY_LENGTH: 14,
} as const;

/** Identification types (RFC 7296 §3.5; ID_FC_NAME RFC 4595; ID_NULL RFC 7619). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
  ID_FC_NAME: 12,
  ID_NULL: 13,
} as const;
export type IdType = ValueOf<typeof IdType>;

/** Authentication methods (RFC 7296 §3.8; ECDSA RFC 4754; NULL RFC 7619; Digital Signature RFC 7427). */
export const AuthMethod = {
  RSA_DIGITAL_SIGNATURE: 1,
  SHARED_KEY_MIC: 2,
  DSS_DIGITAL_SIGNATURE: 3,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  GENERIC_SECURE_PASSWORD: 12,
  NULL_AUTH: 13,
  DIGITAL_SIGNATURE: 14,
} as const;
export type AuthMethod = ValueOf<typeof AuthMethod>;

/** Traffic selector types (RFC 7296 §3.13.1) and their fixed selector lengths. */
export const TsType = {
  TS_IPV4_ADDR_RANGE: 7,
  TS_IPV6_ADDR_RANGE: 8,
} as const;
export type TsType = ValueOf<typeof TsType>;
export const TS_SELECTOR_LENGTH: Readonly<Record<TsType, number>> = { 7: 16, 8: 40 };
export const TS_ADDRESS_LENGTH: Readonly<Record<TsType, number>> = { 7: 4, 8: 16 };

/** Configuration payload CFG types (RFC 7296 §3.15). */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;
export type CfgType = ValueOf<typeof CfgType>;

/** Configuration attribute types used by a gateway (RFC 7296 §3.15.1). */
export const CfgAttributeType = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
} as const;

/** Notify message types below this value are errors, at or above it status (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

/** Error notify types (RFC 7296 §3.10.1). */
export const NotifyError = {
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
} as const;

/** Status notify types (RFC 7296 §3.10.1; MOBIKE RFC 4555; fragmentation RFC 7383; hash algorithms RFC 7427). */
export const NotifyStatus = {
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396,
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  SIGNATURE_HASH_ALGORITHMS: 16431,
} as const;

export const NotifyType = { ...NotifyError, ...NotifyStatus } as const;
export type NotifyType = ValueOf<typeof NotifyType>;

export function isErrorNotify(notifyType: number): boolean {
  return notifyType >= 1 && notifyType < NOTIFY_STATUS_MIN;
}

const NOTIFY_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(NotifyType).map(([name, value]) => [value, name] as const),
);

export function notifyTypeName(notifyType: number): string {
  return NOTIFY_NAMES.get(notifyType) ?? `notify(${notifyType})`;
}

/** Nonce Data length bounds in octets (RFC 7296 §3.9: "between 16 and 256 octets, inclusive"). */
export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 256;

/** COOKIE notification data is 1..64 octets (RFC 7296 §2.6). */
export const COOKIE_MIN_LENGTH = 1;
export const COOKIE_MAX_LENGTH = 64;
/** NAT_DETECTION_*_IP data is a SHA-1 digest (RFC 7296 §2.23). */
export const NAT_DETECTION_DIGEST_LENGTH = 20;
