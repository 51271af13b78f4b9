/**
 * Errors of the IKE cores, one set for IKEv1 and IKEv2: each class has one stable `code`, the
 * same for the same situation in either version, so the daemon, status and an `instanceof`
 * check read both versions alike. Messages name exchanges, notify types, SPIs or cookies and
 * algorithms, never keys, nonces, DH values or the PSK.
 *
 * They are negotiation failures (the peer said no, or we refused the peer): they end an SA
 * attempt or one exchange and are carried by events and status (lastError). Problems with a
 * single datagram are not errors but counted drops (drop-reasons.ts) or the RFC's answer, and
 * what a codec refuses is each version's wire error (v2/wire/errors.ts, v1/wire/errors.ts).
 */
import { CgwdError } from '../errors.js';

export class IkeError extends CgwdError {}

/**
 * The peer answered with an error notify (RFC 7296 §3.10.1, RFC 2408 §3.14.1), e.g.
 * NO_PROPOSAL_CHOSEN; `notifyName` is the version's name for it (its code is part of ours).
 */
export class PeerErrorNotifyError extends IkeError {
  constructor(
    readonly exchange: string,
    readonly notifyType: number,
    notifyName: string,
  ) {
    super(`IKE_PEER_${notifyName}`, `peer answered ${exchange} with ${notifyName}`);
  }
}

/** The peer's answer is not one we can accept (a proposal we never offered, a bad AUTH, missing payloads). */
export class InvalidResponseError extends IkeError {
  constructor(exchange: string, detail: string) {
    super('IKE_INVALID_RESPONSE', `${exchange} response rejected: ${detail}`);
  }
}

/** The peer's AUTH (IKEv2) or HASH_I/HASH_R (IKEv1) did not verify, or its identity is not the expected one. */
export class AuthenticationFailedError extends IkeError {
  constructor(detail: string) {
    super('IKE_AUTHENTICATION_FAILED', `authentication failed: ${detail}`);
  }
}

/** No proposal of the peer was acceptable, or the peer accepted none of ours. */
export class NoProposalChosenError extends IkeError {
  constructor(detail: string) {
    super('IKE_NO_PROPOSAL_CHOSEN', `no acceptable proposal: ${detail}`);
  }
}

/**
 * A message was transmitted the configured number of times without an answer (RFC 7296 §2.1,
 * §2.4), or dead peer detection found the peer gone (RFC 3706).
 */
export class PeerUnreachableError extends IkeError {
  constructor(exchange: string, tries: number) {
    super('IKE_PEER_UNREACHABLE', `no response to ${exchange} after ${tries} transmissions`);
  }
}

/** The peer deleted the IKE SA (RFC 7296 §1.4.1) or the ISAKMP SA (RFC 2408 §3.15); `what` names it. */
export class PeerDeletedError extends IkeError {
  constructor(what: string) {
    super('IKE_PEER_DELETED', `peer deleted the ${what}`);
  }
}

/** The SA reached its hard lifetime without being rekeyed. */
export class LifetimeExpiredError extends IkeError {
  constructor(what: string) {
    super('IKE_LIFETIME_EXPIRED', `${what} reached its hard lifetime`);
  }
}

/** A responder's SA never completed its first exchanges (IKEv2 IKE_AUTH, IKEv1 Main Mode); `exchange` names them. */
export class HalfOpenTimeoutError extends IkeError {
  constructor(exchange: string) {
    super('IKE_HALF_OPEN_TIMEOUT', `${exchange} did not complete in time`);
  }
}

/** A responder's unverified half-open SA gave its slot to a newer first message (IKEv1 Main Mode). */
export class HalfOpenEvictedError extends IkeError {
  constructor(exchange: string) {
    super('IKE_HALF_OPEN_EVICTED', `${exchange} slot reused: the initiator never answered our first response`);
  }
}

/** A CHILD SA's keys were asked for after the data plane took them (a bug, never a peer's doing). */
export class KeysReleasedError extends IkeError {
  constructor(childId: number) {
    super('IKE_KEYS_RELEASED', `CHILD SA ${childId}: keys already handed to the data plane`);
  }
}

/** The connection was stopped locally. */
export class LocalCloseError extends IkeError {
  constructor(reason: string) {
    super('IKE_LOCAL_CLOSE', reason);
  }
}

/**
 * Something replaced this SA: a newer one with the same peer (RFC 7296 §2.4 INITIAL_CONTACT,
 * RFC 2407 §4.6.3.3 INITIAL-CONTACT), or an IKEv1 phase 1 re-established.
 */
export class ReplacedError extends IkeError {
  constructor(detail: string) {
    super('IKE_REPLACED', detail);
  }
}

/** The first CHILD SA could not be created although the IKE SA authenticated (RFC 7296 §2.21.2). */
export class ChildSaFailedError extends IkeError {
  constructor(
    readonly notifyType: number | undefined,
    detail: string,
  ) {
    super('IKE_CHILD_SA_FAILED', `CHILD SA not created: ${detail}`);
  }
}

/** The received message failed integrity/decryption: dropped, the SA unaffected (RFC 7296 §2.21). */
export class UnauthenticatedMessageError extends IkeError {
  constructor(detail: string) {
    super('IKE_UNAUTHENTICATED_MESSAGE', detail);
  }
}

/** A key exchange value the peer sent is unusable (RFC 2408 §5: INVALID-KEY-INFORMATION). */
export class InvalidKeyInformationError extends IkeError {
  constructor(detail: string) {
    super('IKE_INVALID_KEY_INFORMATION', detail);
  }
}

/**
 * cgwd always sends ESP in UDP on port 4500, one socket for IKE and ESP; an IKEv1 peer that
 * does not announce NAT traversal (RFC 3947) cannot do that.
 */
export class NatTraversalUnsupportedError extends IkeError {
  constructor() {
    super('IKE_NAT_T_UNSUPPORTED', 'peer did not announce NAT traversal (RFC 3947); ESP-in-UDP is required');
  }
}

/** For logs: what was thrown, by class and message (never a key: messages hold none). */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown';
}
