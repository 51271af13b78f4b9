/**
 * Errors of the IKEv2 protocol core. Each class has one stable `code`; messages name
 * exchanges, notify types, SPIs and algorithms, never keys, nonces, DH values or the PSK.
 *
 * Two families:
 *   - negotiation failures (the peer said no, or we refused the peer): carried by events and
 *     status, they end an IKE SA attempt or a CHILD SA exchange;
 *   - message handling problems (a datagram we drop or answer): never thrown out of the
 *     datagram handler, turned into a counted drop or the RFC's answer.
 */
import { CgwdError } from '../../errors.js';
import { notifyTypeName } from './wire/constants.js';

export class IkeV2Error extends CgwdError {}

/** The peer answered with an error notify (RFC 7296 §3.10.1), e.g. NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE. */
export class PeerErrorNotifyError extends IkeV2Error {
  constructor(
    readonly exchange: string,
    readonly notifyType: number,
  ) {
    super(`IKE_PEER_${notifyTypeName(notifyType)}`, `peer answered ${exchange} with ${notifyTypeName(notifyType)}`);
  }
}

/** The peer's answer is not one we can accept (a proposal we never offered, a bad AUTH, missing payloads). */
export class InvalidResponseError extends IkeV2Error {
  constructor(exchange: string, detail: string) {
    super('IKE_INVALID_RESPONSE', `${exchange} response rejected: ${detail}`);
  }
}

/** The peer's AUTH payload did not verify with the configured PSK (RFC 7296 §2.15). */
export class AuthenticationFailedError extends IkeV2Error {
  constructor(detail: string) {
    super('IKE_AUTHENTICATION_FAILED', `authentication failed: ${detail}`);
  }
}

/** No proposal of the peer was acceptable, or the peer accepted none of ours. */
export class NoProposalChosenError extends IkeV2Error {
  constructor(detail: string) {
    super('IKE_NO_PROPOSAL_CHOSEN', `no acceptable proposal: ${detail}`);
  }
}

/** A request was retransmitted the configured number of times without an answer (RFC 7296 §2.1, §2.4). */
export class PeerUnreachableError extends IkeV2Error {
  constructor(exchange: string, tries: number) {
    super('IKE_PEER_UNREACHABLE', `no response to ${exchange} after ${tries} transmissions`);
  }
}

/** The peer deleted the IKE SA (INFORMATIONAL Delete, RFC 7296 §1.4.1). */
export class PeerDeletedError extends IkeV2Error {
  constructor() {
    super('IKE_PEER_DELETED', 'peer deleted the IKE SA');
  }
}

/** The IKE SA reached its hard lifetime without being rekeyed. */
export class LifetimeExpiredError extends IkeV2Error {
  constructor(what: string) {
    super('IKE_LIFETIME_EXPIRED', `${what} reached its hard lifetime`);
  }
}

/** A half-open SA (IKE_SA_INIT done, IKE_AUTH never completed) timed out. */
export class HalfOpenTimeoutError extends IkeV2Error {
  constructor() {
    super('IKE_HALF_OPEN_TIMEOUT', 'IKE_AUTH did not complete in time');
  }
}

/** The connection was stopped locally. */
export class LocalCloseError extends IkeV2Error {
  constructor(reason: string) {
    super('IKE_LOCAL_CLOSE', reason);
  }
}

/** Something replaced this IKE SA (a newer IKE SA with the same peer, RFC 7296 §2.4 INITIAL_CONTACT). */
export class ReplacedError extends IkeV2Error {
  constructor(detail: string) {
    super('IKE_REPLACED', detail);
  }
}

/** The first CHILD SA could not be created although the IKE SA authenticated (RFC 7296 §2.21.2). */
export class ChildSaFailedError extends IkeV2Error {
  constructor(
    readonly notifyType: number | undefined,
    detail: string,
  ) {
    super('IKE_CHILD_SA_FAILED', `CHILD SA not created: ${detail}`);
  }
}

/** The received message failed integrity/decryption: dropped, the SA unaffected (RFC 7296 §2.21). */
export class UnauthenticatedMessageError extends IkeV2Error {
  constructor(detail: string) {
    super('IKE_UNAUTHENTICATED_MESSAGE', detail);
  }
}

/** Why a datagram was dropped. Counted per connection; never an answer that could amplify. */
export const DropReason = {
  TRUNCATED: 'truncated',
  MALFORMED: 'malformed',
  INVALID_MAJOR_VERSION: 'invalid-major-version',
  HEADER_RULE: 'header-rule',
  PAYLOAD_RULE: 'payload-rule',
  UNKNOWN_SPI: 'unknown-spi',
  MESSAGE_ID_OUT_OF_WINDOW: 'message-id-out-of-window',
  UNEXPECTED_RESPONSE: 'unexpected-response',
  BAD_ICV: 'bad-icv',
  EXCHANGE_NOT_ALLOWED: 'exchange-not-allowed',
  UNSUPPORTED: 'unsupported',
  COOKIE_REQUIRED: 'cookie-required',
  STALE_RETRANSMISSION: 'stale-retransmission',
  SA_CLOSED: 'sa-closed',
  INTERNAL_ERROR: 'internal-error',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];
