/**
 * BGP-4 wire and timer constants, in one place, each with the section that
 * defines it. RFC 4271 is the base; extensions name their RFC.
 *
 * These are allow-lists: decoders look wire values up here and never use a
 * wire value as an index.
 */

type ValueOf<T> = T[keyof T];

/** TCP port a BGP speaker listens on (RFC 4271 §2). */
export const BGP_PORT = 179;
/** The only protocol version spoken (RFC 4271 §4.2). */
export const BGP_VERSION = 4;

/** Marker: 16 octets, all ones (RFC 4271 §4.1). */
export const MARKER_LENGTH = 16;
/** Header: Marker(16) Length(2) Type(1) (RFC 4271 §4.1). */
export const HEADER_LENGTH = 19;
/** Largest message without the Extended Message capability (RFC 4271 §4.1). */
export const MAX_MESSAGE_LENGTH = 4096;

/** Message types (RFC 4271 §4.1; ROUTE-REFRESH RFC 2918 §3). */
export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;
export type MessageType = ValueOf<typeof MessageType>;

/** Smallest total length (header included) of each message type (RFC 4271 §4.2–§4.5, §6.1; RFC 2918 §3). */
export const MIN_MESSAGE_LENGTH: Readonly<Record<MessageType, number>> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

/** NOTIFICATION Error Codes (RFC 4271 §4.5; ROUTE-REFRESH error RFC 7313 §5). */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH_MESSAGE: 7,
} as const;
export type ErrorCode = ValueOf<typeof ErrorCode>;

/** Subcode 0 where a code has no subcodes or the error is unspecific (RFC 4271 §4.5, §6.2). */
export const UNSPECIFIC_SUBCODE = 0;

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const HeaderErrorSubcode = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

/** OPEN Message Error subcodes (RFC 4271 §6.2; 5 is deprecated; 7 from RFC 5492 §5). */
export const OpenErrorSubcode = {
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
} as const;

/** UPDATE Message Error subcodes (RFC 4271 §6.3; 7 is deprecated). */
export const UpdateErrorSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** Finite State Machine Error subcodes (RFC 6608 §3). */
export const FsmErrorSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_MESSAGE_IN_OPENSENT: 1,
  UNEXPECTED_MESSAGE_IN_OPENCONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** Cease subcodes (RFC 4486 §4). */
export const CeaseSubcode = {
  MAXIMUM_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
} as const;

/** ROUTE-REFRESH Message Error subcodes (RFC 7313 §5). */
export const RouteRefreshErrorSubcode = {
  INVALID_MESSAGE_LENGTH: 1,
} as const;

/** OPEN Optional Parameter types (RFC 5492 §4; others are unsupported, RFC 4271 §6.2). */
export const OptionalParameterType = {
  CAPABILITIES: 2,
} as const;

/** Capability codes (IANA "Capability Codes"; each defined in the RFC named). */
export const CapabilityCode = {
  /** Multiprotocol Extensions, value AFI(2) Reserved(1) SAFI(1) (RFC 4760 §8). */
  MULTIPROTOCOL: 1,
  /** Route Refresh, empty value (RFC 2918 §2). */
  ROUTE_REFRESH: 2,
  /** Graceful Restart, flags/time then AFI/SAFI/flags tuples (RFC 4724 §3). */
  GRACEFUL_RESTART: 64,
  /** Support for 4-octet AS numbers, value the speaker's AS (RFC 6793 §3). */
  FOUR_OCTET_AS: 65,
} as const;

/** Address Family Identifier for IPv4 (IANA "Address Family Numbers"; used by RFC 4760 §3). */
export const AFI_IPV4 = 1;
/** Subsequent AFI for unicast forwarding (RFC 4760 §6). */
export const SAFI_UNICAST = 1;

/** Graceful Restart capability: Restart State bit in the flags nibble, Restart Time is 12 bits (RFC 4724 §3). */
export const GR_RESTART_STATE_FLAG = 0x8;
export const GR_MAX_RESTART_TIME = 0xfff;
/** Graceful Restart per-family flags: Forwarding State bit (RFC 4724 §3). */
export const GR_FORWARDING_STATE_FLAG = 0x80;

/** Path attribute flag bits (RFC 4271 §4.3). The low four bits are unused. */
export const AttributeFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** Path attribute type codes (RFC 4271 §4.3, §5.1; COMMUNITIES RFC 1997; MP_* RFC 4760 §3–§4; AS4_* RFC 6793 §3). */
export const AttributeType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
} as const;
export type AttributeType = ValueOf<typeof AttributeType>;

/**
 * The Optional and Transitive bits each recognised attribute must carry
 * (RFC 4271 §5 and §6.3 "Attribute Flags Error"; RFC 1997; RFC 4760 §3–§4; RFC 6793 §3).
 */
export const EXPECTED_ATTRIBUTE_FLAGS: Readonly<Record<AttributeType, number>> = {
  [AttributeType.ORIGIN]: AttributeFlag.TRANSITIVE,
  [AttributeType.AS_PATH]: AttributeFlag.TRANSITIVE,
  [AttributeType.NEXT_HOP]: AttributeFlag.TRANSITIVE,
  [AttributeType.MULTI_EXIT_DISC]: AttributeFlag.OPTIONAL,
  [AttributeType.LOCAL_PREF]: AttributeFlag.TRANSITIVE,
  [AttributeType.ATOMIC_AGGREGATE]: AttributeFlag.TRANSITIVE,
  [AttributeType.AGGREGATOR]: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
  [AttributeType.COMMUNITIES]: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
  [AttributeType.MP_REACH_NLRI]: AttributeFlag.OPTIONAL,
  [AttributeType.MP_UNREACH_NLRI]: AttributeFlag.OPTIONAL,
  [AttributeType.AS4_PATH]: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
  [AttributeType.AS4_AGGREGATOR]: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE,
};

/** ORIGIN values (RFC 4271 §4.3, §5.1.1). */
export const Origin = {
  IGP: 0,
  EGP: 1,
  INCOMPLETE: 2,
} as const;
export type Origin = ValueOf<typeof Origin>;

/** AS_PATH segment types (RFC 4271 §4.3; confederation types RFC 5065, not accepted from an eBGP peer). */
export const AsPathSegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;
/** At most 255 ASes in one segment: Path Segment Length is one octet (RFC 4271 §4.3). */
export const MAX_ASNS_PER_SEGMENT = 255;

/** Placeholder in 2-octet AS fields for an AS that does not fit (RFC 6793 §3; value assigned in §9). */
export const AS_TRANS = 23_456;
export const MAX_TWO_OCTET_AS = 0xffff;
export const MAX_FOUR_OCTET_AS = 0xffff_ffff;

/** Hold Time: 0 (no keepalives) or at least 3 seconds; 1 and 2 MUST be rejected (RFC 4271 §4.2, §6.2). */
export const MIN_HOLD_TIME_SECONDS = 3;
export const MAX_HOLD_TIME_SECONDS = 0xffff;
/** Hold Timer while waiting for the peer's OPEN: "a large value", 4 minutes suggested (RFC 4271 §8.2.2). */
export const LARGE_HOLD_TIME_SECONDS = 240;
/** KeepaliveTime is one third of the Hold Time (RFC 4271 §4.4, §10). */
export const KEEPALIVE_FRACTION_OF_HOLD = 3;
/**
 * ConnectRetryTime. RFC 4271 §10 suggests 120 s; the session runs over a tunnel
 * cgwd itself brings up, so a short retry costs nothing and shortens recovery.
 */
export const DEFAULT_CONNECT_RETRY_SECONDS = 5;
/** Hold Time AWS puts in every configuration file (bgp/hold_time); RFC 4271 §10 suggests 90. */
export const DEFAULT_HOLD_TIME_SECONDS = 30;
