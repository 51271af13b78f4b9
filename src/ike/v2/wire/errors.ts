/**
 * Typed decode errors of the IKEv2 wire layer. Every one is a {@link WireError}
 * with a stable `code`; the caller maps them to the protocol answer:
 *
 *   INVALID_MAJOR_VERSION         → INFORMATIONAL N(INVALID_MAJOR_VERSION) (RFC 7296 §2.5), or drop
 *   UNSUPPORTED_CRITICAL_PAYLOAD  → N(UNSUPPORTED_CRITICAL_PAYLOAD, payload type) (RFC 7296 §2.5, §3.2)
 *   anything else                 → N(INVALID_SYNTAX) for an authenticated request, else a counted drop
 */
import { WireError, WireErrorCode } from '../../../wire/buffer.js';

export { WireError, WireErrorCode };

export const IkeWireErrorCode = {
  ...WireErrorCode,
  /** IKE header Length differs from the datagram length (RFC 7296 §3.1). */
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  /** Major version is not 2 (RFC 7296 §3.1, §2.5). */
  INVALID_MAJOR_VERSION: 'INVALID_MAJOR_VERSION',
  /** A payload type we do not know, with the critical bit set (RFC 7296 §3.2). */
  UNSUPPORTED_CRITICAL_PAYLOAD: 'UNSUPPORTED_CRITICAL_PAYLOAD',
  /** SPI Size not allowed for the protocol (RFC 7296 §3.3.1, §3.10, §3.11). */
  BAD_SPI_SIZE: 'BAD_SPI_SIZE',
  /** Security protocol ID outside IKE/AH/ESP (RFC 7296 §3.3.1). */
  BAD_PROTOCOL_ID: 'BAD_PROTOCOL_ID',
  /** Proposal/transform last-substructure bits, counts or numbering inconsistent (RFC 7296 §3.3.1–§3.3.2). */
  BAD_SUBSTRUCTURE: 'BAD_SUBSTRUCTURE',
  /** Nonce Data outside 16..256 octets (RFC 7296 §3.9). */
  BAD_NONCE_LENGTH: 'BAD_NONCE_LENGTH',
  /** Traffic selector type not IPv4/IPv6 range (RFC 7296 §3.13.1). */
  BAD_TS_TYPE: 'BAD_TS_TYPE',
  /** Traffic selector start above end (address or port) (RFC 7296 §3.13.1). */
  BAD_TS_RANGE: 'BAD_TS_RANGE',
  /** A field that must carry data is empty (KE data, AUTH data, IDs). */
  EMPTY_DATA: 'EMPTY_DATA',
  /** Notification data of the wrong size for its type (RFC 7296 §2.6, §2.23, §3.10.1). */
  BAD_NOTIFY_DATA: 'BAD_NOTIFY_DATA',
  /** SK/SKF inside SK, or SK/SKF not the last payload (RFC 7296 §3.14). */
  BAD_ENCRYPTED_PLACEMENT: 'BAD_ENCRYPTED_PLACEMENT',
  /** Pad Length larger than the decrypted data (RFC 7296 §3.14). */
  BAD_PADDING: 'BAD_PADDING',
  /** SKF fragment number/total invalid (RFC 7383 §2.5). */
  BAD_FRAGMENT: 'BAD_FRAGMENT',
} as const;
export type IkeWireErrorCode = (typeof IkeWireErrorCode)[keyof typeof IkeWireErrorCode];

/** The fields needed to answer a message whose version we do not speak. */
export interface VersionErrorContext {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly exchangeType: number;
  readonly messageId: number;
  readonly flags: number;
}

/**
 * Major version ≠ 2. RFC 7296 §3.1: versions greater than 2 are rejected or ignored with
 * INVALID_MAJOR_VERSION; a major version of 1 is IKEv1 and belongs to the IKEv1 codec.
 */
export class InvalidMajorVersionError extends WireError {
  constructor(
    readonly majorVersion: number,
    readonly minorVersion: number,
    readonly context: VersionErrorContext,
  ) {
    super(IkeWireErrorCode.INVALID_MAJOR_VERSION, `IKE major version ${majorVersion} is not 2`, { offset: 17 });
  }
}

/** An unknown payload type with the critical bit set: the whole message is rejected (RFC 7296 §3.2). */
export class UnsupportedCriticalPayloadError extends WireError {
  constructor(
    /** The one-octet payload type to put in the UNSUPPORTED_CRITICAL_PAYLOAD notification data. */
    readonly payloadType: number,
    offset: number,
  ) {
    super(IkeWireErrorCode.UNSUPPORTED_CRITICAL_PAYLOAD, `unknown critical payload type ${payloadType}`, { offset });
  }
}

export function wireError(code: IkeWireErrorCode, message: string, offset?: number): WireError {
  return new WireError(code, message, offset === undefined ? {} : { offset });
}
