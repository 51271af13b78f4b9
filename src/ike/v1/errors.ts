/**
 * Errors of the IKEv1 core. Each class has one stable `code`; messages name exchanges, notify
 * types, cookies and algorithms, never keys, nonces, DH values or the PSK.
 *
 *   wire errors        a datagram the codec refuses (WireError with an IKEv1 code): a counted
 *                      drop, or for an established SA a protected notify (RFC 2408 §5)
 *   negotiation errors end an ISAKMP SA attempt, a quick mode or an SA; carried by events and
 *                      status. The codes are the ones IKEv2 uses for the same situations, so the
 *                      daemon reads both versions the same way.
 */
import { CgwdError } from '../../errors.js';
import { WireError, WireErrorCode } from '../../wire/buffer.js';
import { notifyTypeName, payloadTypeName } from './constants.js';

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

export class IkeV1Error extends CgwdError {}

/** The peer answered with an error notify (RFC 2408 §3.14.1), e.g. NO-PROPOSAL-CHOSEN. */
export class PeerErrorNotifyError extends IkeV1Error {
  constructor(
    readonly exchange: string,
    readonly notifyType: number,
  ) {
    super(`IKE_PEER_${notifyTypeName(notifyType)}`, `peer answered ${exchange} with ${notifyTypeName(notifyType)}`);
  }
}

/** The peer's message is not one we can accept (a proposal we never offered, missing payloads). */
export class InvalidResponseError extends IkeV1Error {
  constructor(exchange: string, detail: string) {
    super('IKE_INVALID_RESPONSE', `${exchange} rejected: ${detail}`);
  }
}

/** HASH_I/HASH_R did not verify, the peer could not verify ours, or its identity is not the expected one. */
export class AuthenticationFailedError extends IkeV1Error {
  constructor(detail: string) {
    super('IKE_AUTHENTICATION_FAILED', `authentication failed: ${detail}`);
  }
}

/** No proposal of the peer was acceptable, or the peer accepted none of ours. */
export class NoProposalChosenError extends IkeV1Error {
  constructor(detail: string) {
    super('IKE_NO_PROPOSAL_CHOSEN', `no acceptable proposal: ${detail}`);
  }
}

/** cgwd always encapsulates ESP in UDP (design.md); a peer without RFC 3947 cannot do that. */
export class NatTraversalUnsupportedError extends IkeV1Error {
  constructor() {
    super('IKE_NAT_T_UNSUPPORTED', 'peer did not announce NAT traversal (RFC 3947); ESP-in-UDP is required');
  }
}

/** A message was retransmitted the configured number of times without an answer, or DPD found the peer dead. */
export class PeerUnreachableError extends IkeV1Error {
  constructor(exchange: string, tries: number) {
    super('IKE_PEER_UNREACHABLE', `no answer to ${exchange} after ${tries} transmissions`);
  }
}

/** The peer deleted the ISAKMP SA (Informational Delete, RFC 2408 §3.15). */
export class PeerDeletedError extends IkeV1Error {
  constructor() {
    super('IKE_PEER_DELETED', 'peer deleted the ISAKMP SA');
  }
}

/** The SA reached its lifetime without being re-established. */
export class LifetimeExpiredError extends IkeV1Error {
  constructor(what: string) {
    super('IKE_LIFETIME_EXPIRED', `${what} reached its lifetime`);
  }
}

/** A responder's main mode never completed. */
export class HalfOpenTimeoutError extends IkeV1Error {
  constructor() {
    super('IKE_HALF_OPEN_TIMEOUT', 'main mode did not complete in time');
  }
}

/** The connection was stopped locally. */
export class LocalCloseError extends IkeV1Error {
  constructor(reason: string) {
    super('IKE_LOCAL_CLOSE', reason);
  }
}

/** A newer ISAKMP SA replaced this one (phase 1 re-established, or the peer restarted). */
export class ReplacedError extends IkeV1Error {
  constructor(detail: string) {
    super('IKE_REPLACED', detail);
  }
}

/** A key exchange value the peer sent is unusable (RFC 2408 §5: INVALID-KEY-INFORMATION). */
export class InvalidKeyInformationError extends IkeV1Error {
  constructor(detail: string) {
    super('IKE_INVALID_KEY_INFORMATION', detail);
  }
}
