/**
 * Which payloads each IKEv2 message may carry, declared as tables in the manner of strongSwan's
 * encoding/message.c and checked before any task sees a message (CVE-2013-6467: a missing
 * mandatory payload must be a clean rejection, not a NULL dereference further in).
 *
 * One rule per (exchange, request|response). For IKE_SA_INIT and IKE_AUTH the request always
 * comes from the original initiator (I flag set) and the response from the original responder
 * (I flag clear); CREATE_CHILD_SA and INFORMATIONAL requests may come from either side
 * (RFC 7296 §1.2–§1.4, §3.1). Counts ignore unknown non-critical payloads, which the decoder
 * kept raw (RFC 7296 §2.5: skip them); payload order is not checked (RFC 7296 §2.5: "MUST NOT
 * reject as invalid a message with those payloads in any other order").
 *
 * A violation is returned as a MessageRuleError naming the rule; the caller answers a request
 * with N(INVALID_SYNTAX) once the message is authenticated, and drops anything else.
 */
import { CgwdError } from '../../../errors.js';
import {
  ExchangeType,
  NotifyType,
  PayloadType,
  ProtocolId,
  SPI_SIZE,
  isErrorNotify,
  payloadTypeName,
} from './constants.js';
import type { IkeHeader } from './header.js';
import { type Payload, type SaPayload, payloadTypeOf } from './payloads.js';

/** Bounds on repeatable payloads (strongSwan uses 20 notifies/VIDs/deletes and 8 certificates). */
export const MAX_NOTIFY_PAYLOADS = 24;
export const MAX_VENDOR_ID_PAYLOADS = 16;
export const MAX_DELETE_PAYLOADS = 16;
export const MAX_CERT_PAYLOADS = 8;
export const MAX_CERTREQ_PAYLOADS = 8;

export interface PayloadRule {
  readonly type: PayloadType;
  readonly min: number;
  readonly max: number;
}

export interface MessageRule {
  readonly exchange: ExchangeType;
  readonly response: boolean;
  /** All payloads must be inside SK (or SKF); none may be outside it. */
  readonly encrypted: boolean;
  /** Required state of the I header flag. */
  readonly initiatorFlag: 'set' | 'clear' | 'either';
  readonly payloads: readonly PayloadRule[];
  /** An error notification stands in for the required payloads (RFC 7296 §2.21). */
  readonly errorNotifySuffices: boolean;
  /** Status notifications that also stand alone (COOKIE, RFC 7296 §2.6). */
  readonly standaloneNotifies: readonly number[];
  /** Payload types that appear all together or not at all. */
  readonly together: readonly (readonly PayloadType[])[];
  readonly rfc: string;
}

const P = PayloadType;
const once = (type: PayloadType): PayloadRule => ({ type, min: 1, max: 1 });
const optional = (type: PayloadType, max = 1): PayloadRule => ({ type, min: 0, max });
const notifies = optional(P.NOTIFY, MAX_NOTIFY_PAYLOADS);
const vendorIds = optional(P.VENDOR_ID, MAX_VENDOR_ID_PAYLOADS);

export const MESSAGE_RULES: readonly MessageRule[] = [
  {
    exchange: ExchangeType.IKE_SA_INIT,
    response: false,
    encrypted: false,
    initiatorFlag: 'set',
    payloads: [once(P.SA), once(P.KE), once(P.NONCE), notifies, vendorIds],
    errorNotifySuffices: false,
    standaloneNotifies: [],
    together: [],
    rfc: 'RFC 7296 §1.2 (HDR, SAi1, KEi, Ni), §2.6 N(COOKIE), §2.23 NAT_DETECTION_*',
  },
  {
    exchange: ExchangeType.IKE_SA_INIT,
    response: true,
    encrypted: false,
    initiatorFlag: 'clear',
    payloads: [once(P.SA), once(P.KE), once(P.NONCE), optional(P.CERTREQ, MAX_CERTREQ_PAYLOADS), notifies, vendorIds],
    errorNotifySuffices: true,
    standaloneNotifies: [NotifyType.COOKIE],
    together: [],
    rfc: 'RFC 7296 §1.2 (HDR, SAr1, KEr, Nr, [CERTREQ]); §2.6 HDR, N(COOKIE); §1.3 INVALID_KE_PAYLOAD',
  },
  {
    exchange: ExchangeType.IKE_AUTH,
    response: false,
    encrypted: true,
    initiatorFlag: 'set',
    payloads: [
      once(P.IDi),
      optional(P.CERT, MAX_CERT_PAYLOADS),
      optional(P.CERTREQ, MAX_CERTREQ_PAYLOADS),
      optional(P.IDr),
      once(P.AUTH), // no EAP (§2.16): cgwd authenticates with AUTH only
      once(P.SA),
      once(P.TSi),
      once(P.TSr),
      optional(P.CP),
      notifies,
      vendorIds,
    ],
    errorNotifySuffices: false,
    standaloneNotifies: [],
    together: [],
    rfc: 'RFC 7296 §1.2 (HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr}), §2.19 CP',
  },
  {
    exchange: ExchangeType.IKE_AUTH,
    response: true,
    encrypted: true,
    initiatorFlag: 'clear',
    payloads: [
      once(P.IDr),
      optional(P.CERT, MAX_CERT_PAYLOADS),
      once(P.AUTH),
      optional(P.SA),
      optional(P.TSi),
      optional(P.TSr),
      optional(P.CP),
      notifies,
      vendorIds,
    ],
    errorNotifySuffices: true,
    standaloneNotifies: [],
    together: [[P.SA, P.TSi, P.TSr]],
    rfc: 'RFC 7296 §1.2 (HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr}); Child SA failure omits SA/TS; §2.21.2',
  },
  ...([false, true] as const).map(
    (response): MessageRule => ({
      exchange: ExchangeType.CREATE_CHILD_SA,
      response,
      encrypted: true,
      initiatorFlag: 'either',
      payloads: [once(P.SA), once(P.NONCE), optional(P.KE), optional(P.TSi), optional(P.TSr), notifies, vendorIds],
      errorNotifySuffices: response,
      standaloneNotifies: [],
      together: [[P.TSi, P.TSr]],
      rfc: 'RFC 7296 §1.3.1 (SK {[N(REKEY_SA)], SA, N, [KE], TSi, TSr}), §1.3.2 (SK {SA, N, KE})',
    }),
  ),
  ...([false, true] as const).map(
    (response): MessageRule => ({
      exchange: ExchangeType.INFORMATIONAL,
      response,
      encrypted: true,
      initiatorFlag: 'either',
      payloads: [notifies, optional(P.DELETE, MAX_DELETE_PAYLOADS), optional(P.CP), vendorIds],
      errorNotifySuffices: false,
      standaloneNotifies: [],
      together: [],
      rfc: 'RFC 7296 §1.4 (HDR, SK {[N,] [D,] [CP,] ...}); empty SK = liveness check (§2.4)',
    }),
  ),
];

export function findMessageRule(exchange: number, isResponse: boolean): MessageRule | undefined {
  return MESSAGE_RULES.find((rule) => rule.exchange === exchange && rule.response === isResponse);
}

/** Stable names of the checks, used as the error code (prefixed `RULE_`). */
export const RuleName = {
  UNKNOWN_EXCHANGE: 'UNKNOWN_EXCHANGE',
  /** A payload outside SK in an exchange that must be encrypted. */
  MUST_BE_ENCRYPTED: 'MUST_BE_ENCRYPTED',
  /** An encrypted exchange without an SK/SKF payload. */
  MISSING_ENCRYPTED_PAYLOAD: 'MISSING_ENCRYPTED_PAYLOAD',
  /** SK/SKF in IKE_SA_INIT, which is never encrypted. */
  MUST_NOT_BE_ENCRYPTED: 'MUST_NOT_BE_ENCRYPTED',
  NOT_ALLOWED: 'NOT_ALLOWED',
  TOO_MANY: 'TOO_MANY',
  MISSING: 'MISSING',
  INCOMPLETE_GROUP: 'INCOMPLETE_GROUP',
  /** First proposal of an offer is not 1 (RFC 7296 §3.3.1). */
  PROPOSAL_NUMBERING: 'PROPOSAL_NUMBERING',
  /** An answer carries more than one proposal or more than one transform of a type (RFC 7296 §2.7, §3.3). */
  ANSWER_NOT_SINGLE: 'ANSWER_NOT_SINGLE',
  /** Proposal protocol not right for the exchange (IKE in IKE_SA_INIT, AH/ESP in IKE_AUTH). */
  SA_PROTOCOL: 'SA_PROTOCOL',
  /** IKE proposal SPI size wrong for the exchange (0 in IKE_SA_INIT, 8 when rekeying; RFC 7296 §3.3.1). */
  SA_SPI_SIZE: 'SA_SPI_SIZE',
  /** IKE SA rekey without KE or with traffic selectors (RFC 7296 §1.3.2). */
  IKE_REKEY_SHAPE: 'IKE_REKEY_SHAPE',
  /** Child SA creation without TSi/TSr (RFC 7296 §1.3.1). */
  CHILD_SA_NEEDS_TS: 'CHILD_SA_NEEDS_TS',
  /** IKE_SA_INIT with a non-zero Message ID (RFC 7296 §3.1). */
  MESSAGE_ID: 'MESSAGE_ID',
  /** Responder SPI zero/non-zero where the other is required (RFC 7296 §3.1). */
  RESPONDER_SPI: 'RESPONDER_SPI',
  /** I flag not matching the side that must send this message (RFC 7296 §3.1). */
  INITIATOR_FLAG: 'INITIATOR_FLAG',
} as const;
export type RuleName = (typeof RuleName)[keyof typeof RuleName];

/** A message that decodes but breaks an exchange rule. `code` is `RULE_<rule>`. */
export class MessageRuleError extends CgwdError {
  constructor(
    readonly rule: RuleName,
    readonly exchangeType: number,
    readonly isResponse: boolean,
    message: string,
    readonly payloadType?: number,
  ) {
    super(`RULE_${rule}`, message);
  }
}

export type RuleResult = { readonly ok: true } | { readonly ok: false; readonly error: MessageRuleError };

const OK: RuleResult = { ok: true };

function exchangeName(exchange: number): string {
  const entry = Object.entries(ExchangeType).find(([, value]) => value === exchange);
  return entry ? entry[0] : `exchange(${exchange})`;
}

class Violation {
  readonly #exchange: number;
  readonly #isResponse: boolean;

  constructor(exchange: number, isResponse: boolean) {
    this.#exchange = exchange;
    this.#isResponse = isResponse;
  }

  fail(rule: RuleName, detail: string, payloadType?: number): RuleResult {
    const what = `${exchangeName(this.#exchange)} ${this.#isResponse ? 'response' : 'request'}`;
    const error = new MessageRuleError(rule, this.#exchange, this.#isResponse, `${what}: ${detail}`, payloadType);
    return { ok: false, error };
  }
}

function countByType(payloads: readonly Payload[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const payload of payloads) {
    if (payload.kind === 'unknown') continue; // skipped per RFC 7296 §2.5
    const type = payloadTypeOf(payload);
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

function standsAlone(rule: MessageRule, payloads: readonly Payload[]): boolean {
  return payloads.some(
    (p) =>
      p.kind === 'N' &&
      ((rule.errorNotifySuffices && isErrorNotify(p.notifyType)) || rule.standaloneNotifies.includes(p.notifyType)),
  );
}

function checkCounts(rule: MessageRule, payloads: readonly Payload[], v: Violation): RuleResult {
  const counts = countByType(payloads);
  for (const [type, count] of counts) {
    const allowed = rule.payloads.find((r) => r.type === type);
    if (!allowed) return v.fail(RuleName.NOT_ALLOWED, `${payloadTypeName(type)} not allowed`, type);
    if (count > allowed.max) {
      return v.fail(RuleName.TOO_MANY, `${count} ${payloadTypeName(type)} payloads (max ${allowed.max})`, type);
    }
  }
  if (!standsAlone(rule, payloads)) {
    for (const required of rule.payloads) {
      if ((counts.get(required.type) ?? 0) < required.min) {
        return v.fail(RuleName.MISSING, `${payloadTypeName(required.type)} missing`, required.type);
      }
    }
  }
  for (const group of rule.together) {
    const present = group.filter((type) => counts.has(type));
    if (present.length > 0 && present.length < group.length) {
      const missing = group.find((type) => !counts.has(type)) ?? group[0];
      return v.fail(
        RuleName.INCOMPLETE_GROUP,
        `${group.map(payloadTypeName).join('/')} must come together; ${payloadTypeName(missing ?? 0)} missing`,
        missing,
      );
    }
  }
  return OK;
}

function checkSaShape(sa: SaPayload, rule: MessageRule, v: Violation): RuleResult {
  if (rule.response) {
    const [proposal, ...others] = sa.proposals;
    if (!proposal || others.length > 0) {
      return v.fail(RuleName.ANSWER_NOT_SINGLE, `answer SA with ${sa.proposals.length} proposals`, P.SA);
    }
    const types = proposal.transforms.map((t) => t.type);
    if (new Set(types).size !== types.length) {
      return v.fail(RuleName.ANSWER_NOT_SINGLE, 'answer proposal repeats a transform type', P.SA);
    }
  } else if (sa.proposals[0]?.number !== 1) {
    return v.fail(RuleName.PROPOSAL_NUMBERING, 'offer does not start at Proposal Num 1', P.SA);
  }
  const protocols = new Set(sa.proposals.map((p) => p.protocolId));
  const isIke = protocols.has(ProtocolId.IKE);
  switch (rule.exchange) {
    case ExchangeType.IKE_SA_INIT:
      if (!isIke || protocols.size !== 1) {
        return v.fail(RuleName.SA_PROTOCOL, 'IKE_SA_INIT proposals must be IKE', P.SA);
      }
      if (sa.proposals.some((p) => p.spi.length !== SPI_SIZE.IKE_INITIAL)) {
        return v.fail(RuleName.SA_SPI_SIZE, 'initial IKE SA proposals carry no SPI', P.SA);
      }
      return OK;
    case ExchangeType.IKE_AUTH:
      if (isIke) return v.fail(RuleName.SA_PROTOCOL, 'IKE_AUTH proposals must be AH/ESP', P.SA);
      return OK;
    case ExchangeType.CREATE_CHILD_SA:
      if (isIke && protocols.size !== 1) return v.fail(RuleName.SA_PROTOCOL, 'IKE and Child SA proposals mixed', P.SA);
      if (isIke && sa.proposals.some((p) => p.spi.length !== SPI_SIZE.IKE)) {
        return v.fail(RuleName.SA_SPI_SIZE, 'IKE SA rekey proposals carry an 8-byte SPI', P.SA);
      }
      return OK;
    default:
      return OK;
  }
}

/** CREATE_CHILD_SA is an IKE SA rekey (SA, N, KE; §1.3.2) or a Child SA (SA, N, [KE], TSi, TSr; §1.3.1). */
function checkCreateChildShape(sa: SaPayload, payloads: readonly Payload[], v: Violation): RuleResult {
  const has = (kind: Payload['kind']): boolean => payloads.some((p) => p.kind === kind);
  if (sa.proposals.some((p) => p.protocolId === ProtocolId.IKE)) {
    if (!has('KE')) return v.fail(RuleName.IKE_REKEY_SHAPE, 'IKE SA rekey without KE', P.KE);
    if (has('TSi') || has('TSr')) return v.fail(RuleName.IKE_REKEY_SHAPE, 'IKE SA rekey with traffic selectors', P.TSi);
    return OK;
  }
  if (!has('TSi') || !has('TSr')) return v.fail(RuleName.CHILD_SA_NEEDS_TS, 'Child SA without TSi/TSr', P.TSi);
  return OK;
}

function checkSemantics(rule: MessageRule, payloads: readonly Payload[], v: Violation): RuleResult {
  for (const payload of payloads) {
    if (payload.kind !== 'SA') continue;
    const shape = checkSaShape(payload, rule, v);
    if (!shape.ok) return shape;
    if (rule.exchange === ExchangeType.CREATE_CHILD_SA) {
      const child = checkCreateChildShape(payload, payloads, v);
      if (!child.ok) return child;
    }
  }
  return OK;
}

/**
 * Checks the payload set of a message against its exchange's rule.
 *
 * `outer` is the decoded outer chain. For encrypted exchanges pass `inner` (the decrypted
 * payloads) to check the contents; called without `inner` it checks only that the outer chain
 * is a lone SK/SKF (a gate before spending effort on decryption).
 */
export function checkPayloadRules(
  exchange: number,
  isResponse: boolean,
  outer: readonly Payload[],
  inner?: readonly Payload[],
): RuleResult {
  const v = new Violation(exchange, isResponse);
  const rule = findMessageRule(exchange, isResponse);
  if (!rule) return v.fail(RuleName.UNKNOWN_EXCHANGE, 'no payload rules for this exchange');

  const known = outer.filter((p) => p.kind !== 'unknown');
  const encryptedPayload = known.find((p) => p.kind === 'SK' || p.kind === 'SKF');
  let contents: readonly Payload[];
  if (rule.encrypted) {
    const exposed = known.find((p) => p.kind !== 'SK' && p.kind !== 'SKF');
    if (exposed) {
      const type = payloadTypeOf(exposed);
      return v.fail(RuleName.MUST_BE_ENCRYPTED, `${payloadTypeName(type)} outside SK`, type);
    }
    if (!encryptedPayload) return v.fail(RuleName.MISSING_ENCRYPTED_PAYLOAD, 'no SK payload', P.SK);
    if (inner === undefined) return OK;
    contents = inner;
  } else {
    if (encryptedPayload || (inner !== undefined && inner.length > 0)) {
      return v.fail(RuleName.MUST_NOT_BE_ENCRYPTED, 'SK in an unencrypted exchange', P.SK);
    }
    contents = outer;
  }
  const counts = checkCounts(rule, contents, v);
  if (!counts.ok) return counts;
  return checkSemantics(rule, contents, v);
}

const isAllZero = (bytes: Buffer): boolean => bytes.every((b) => b === 0);

/** Header rules that depend on the exchange: Message ID, responder SPI, I flag (RFC 7296 §3.1). */
export function checkHeaderRules(header: IkeHeader): RuleResult {
  const isResponse = header.flags.response;
  const v = new Violation(header.exchangeType, isResponse);
  const rule = findMessageRule(header.exchangeType, isResponse);
  if (!rule) return v.fail(RuleName.UNKNOWN_EXCHANGE, 'no rules for this exchange');
  if (header.exchangeType === ExchangeType.IKE_SA_INIT) {
    if (header.messageId !== 0) return v.fail(RuleName.MESSAGE_ID, `IKE_SA_INIT with Message ID ${header.messageId}`);
    if (!isResponse && !isAllZero(header.spiR)) {
      return v.fail(RuleName.RESPONDER_SPI, 'IKE_SA_INIT request with a responder SPI');
    }
  } else if (isAllZero(header.spiR)) {
    return v.fail(RuleName.RESPONDER_SPI, 'responder SPI is zero after IKE_SA_INIT');
  }
  if (rule.initiatorFlag !== 'either' && header.flags.initiator !== (rule.initiatorFlag === 'set')) {
    return v.fail(RuleName.INITIATOR_FLAG, `I flag must be ${rule.initiatorFlag === 'set' ? 'set' : 'clear'}`);
  }
  return OK;
}

/** Header rules, then payload rules, with request/response taken from the R flag. */
export function checkMessageRules(
  message: { readonly header: IkeHeader; readonly payloads: readonly Payload[] },
  inner?: readonly Payload[],
): RuleResult {
  const header = checkHeaderRules(message.header);
  if (!header.ok) return header;
  return checkPayloadRules(message.header.exchangeType, message.header.flags.response, message.payloads, inner);
}
