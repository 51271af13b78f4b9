/**
 * Typed decode errors of the IKEv1 wire layer: every one is a {@link WireError} with a stable
 * `code`. The caller turns them into a counted drop or, for an established SA, a protected
 * notify (RFC 2408 §5). Negotiation errors are shared with IKEv2 (src/ike/errors.ts).
 */
import { WireError, WireErrorCode } from '../../../wire/buffer.js';
import { payloadTypeName } from '../constants.js';

export { WireError, WireErrorCode };

export const V1WireErrorCode = {
  ...WireErrorCode,
  /** Header Length differs from the datagram length (RFC 2408 §3.1). */
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  /** MjVer is not 1: an IKEv2 (or unknown) message reached the IKEv1 codec (RFC 2408 §5.1). */
  INVALID_MAJOR_VERSION: 'INVALID_MAJOR_VERSION',
  /** A Next Payload value outside the IKEv1 allow-list, e.g. an IKEv2 payload type (RFC 2408 §5.2, CVE-2015-3991). */
  INVALID_PAYLOAD_TYPE: 'INVALID_PAYLOAD_TYPE',
  /** DOI other than IPsec (RFC 2408 §5.3 DOI-NOT-SUPPORTED). */
  BAD_DOI: 'BAD_DOI',
  /** Situation other than SIT_IDENTITY_ONLY (RFC 2407 §4.2). */
  BAD_SITUATION: 'BAD_SITUATION',
  /** Protocol-Id outside the IPsec DOI list (RFC 2407 §4.4.1). */
  BAD_PROTOCOL_ID: 'BAD_PROTOCOL_ID',
  /** SPI Size not allowed for the protocol (RFC 2408 §3.5, §3.14, §3.15). */
  BAD_SPI_SIZE: 'BAD_SPI_SIZE',
  /** Proposal/Transform chains inconsistent: next-payload values, counts (RFC 2408 §3.5, §3.6). */
  BAD_SUBSTRUCTURE: 'BAD_SUBSTRUCTURE',
  /** Data attribute malformed or over a bound (RFC 2408 §3.3). */
  BAD_ATTRIBUTE: 'BAD_ATTRIBUTE',
  /** Nonce Data outside 8..256 octets (RFC 2409 §5). */
  BAD_NONCE_LENGTH: 'BAD_NONCE_LENGTH',
  /** A field that must carry data is empty (KE, HASH, VID, ID data). */
  EMPTY_DATA: 'EMPTY_DATA',
  /** Encrypted body not a whole number of cipher blocks (RFC 2408 §3.1, E flag). */
  BAD_ENCRYPTED_LENGTH: 'BAD_ENCRYPTED_LENGTH',
} as const;
export type V1WireErrorCode = (typeof V1WireErrorCode)[keyof typeof V1WireErrorCode];

export function v1WireError(code: V1WireErrorCode, message: string, offset?: number): WireError {
  return new WireError(code, message, offset === undefined ? {} : { offset });
}

/** MjVer ≠ 1: IKEv2 and later belong elsewhere; never answered from here. */
export class IsakmpVersionError extends WireError {
  constructor(
    readonly majorVersion: number,
    readonly minorVersion: number,
  ) {
    super(V1WireErrorCode.INVALID_MAJOR_VERSION, `ISAKMP major version ${majorVersion} is not 1`, { offset: 17 });
  }
}

/** A payload type this version does not define (RFC 2408 §5.2: INVALID-PAYLOAD-TYPE). */
export class InvalidPayloadTypeError extends WireError {
  constructor(
    readonly payloadType: number,
    offset: number,
  ) {
    super(V1WireErrorCode.INVALID_PAYLOAD_TYPE, `payload type ${payloadType} (${payloadTypeName(payloadType)}) is not an IKEv1 payload here`, { offset });
  }
}
