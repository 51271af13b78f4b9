/**
 * Why a datagram was dropped, in either IKE version. Counted per connection
 * (status().counters.drops); a drop is never answered, so it cannot amplify.
 */
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
  /** IKEv1: an unverified half-open Main Mode dropped to make room for a newer MM1 (not a datagram). */
  HALF_OPEN_EVICTED: 'half-open-evicted',
  STALE_RETRANSMISSION: 'stale-retransmission',
  SA_CLOSED: 'sa-closed',
  INTERNAL_ERROR: 'internal-error',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];
