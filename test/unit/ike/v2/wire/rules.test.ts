import { describe, expect, it } from 'vitest';
import {
  ExchangeType,
  MESSAGE_RULES,
  MessageRuleError,
  NotifyType,
  PayloadType,
  ProtocolId,
  checkHeaderRules,
  checkMessageRules,
  checkPayloadRules,
  decodeMessage,
  findMessageRule,
  type Payload,
  type RuleResult,
} from '../../../../../src/ike/v2/wire/index.js';
import {
  espProposal,
  header,
  ikeAuthRequest,
  ikeAuthRequestInner,
  ikeProposal,
  ikeRekeyProposal,
  ikeSaInitRequest,
  ke,
  nonce,
  notify,
  tsAll,
} from './fixtures.js';

const SK: Payload = { kind: 'SK', firstInnerType: PayloadType.IDi, body: Buffer.alloc(32) };
const { IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL } = ExchangeType;

function violation(result: RuleResult): MessageRuleError {
  if (result.ok) throw new Error('expected a rule violation');
  expect(result.error).toBeInstanceOf(MessageRuleError);
  return result.error;
}

const initRequest: Payload[] = [{ kind: 'SA', proposals: [ikeProposal] }, ke(), nonce()];
const initResponse: Payload[] = [{ kind: 'SA', proposals: [ikeProposal] }, ke(), nonce(), { kind: 'CERTREQ', encoding: 4, data: Buffer.alloc(20) }];
const authResponse: Payload[] = [
  { kind: 'IDr', idType: 1, data: Buffer.from([198, 51, 100, 1]) },
  { kind: 'AUTH', method: 2, data: Buffer.alloc(32, 1) },
  { kind: 'SA', proposals: [espProposal(1)] },
  tsAll('TSi'),
  tsAll('TSr'),
];
const childRequest: Payload[] = [
  { kind: 'N', protocolId: ProtocolId.ESP, spi: Buffer.from('c0ffee02', 'hex'), notifyType: NotifyType.REKEY_SA, data: Buffer.alloc(0) },
  { kind: 'SA', proposals: [espProposal(1)] },
  nonce(),
  tsAll('TSi'),
  tsAll('TSr'),
];
const ikeRekey: Payload[] = [{ kind: 'SA', proposals: [ikeRekeyProposal] }, nonce(), ke()];

describe('rules table', () => {
  it('has exactly one rule per exchange and direction', () => {
    for (const exchange of [IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL]) {
      for (const response of [false, true]) {
        expect(MESSAGE_RULES.filter((r) => r.exchange === exchange && r.response === response)).toHaveLength(1);
      }
    }
    expect(findMessageRule(IKE_SA_INIT, false)?.encrypted).toBe(false);
    expect(MESSAGE_RULES.filter((r) => r.exchange !== IKE_SA_INIT).every((r) => r.encrypted)).toBe(true);
  });

  it('every rule cites the RFC and has sane bounds', () => {
    for (const rule of MESSAGE_RULES) {
      expect(rule.rfc).toMatch(/RFC 7296 §1\./);
      for (const p of rule.payloads) expect(p.min).toBeLessThanOrEqual(p.max);
    }
  });
});

describe('IKE_SA_INIT (unencrypted)', () => {
  it('accepts the standard request and response', () => {
    expect(checkPayloadRules(IKE_SA_INIT, false, initRequest)).toEqual({ ok: true });
    expect(checkPayloadRules(IKE_SA_INIT, true, initResponse)).toEqual({ ok: true });
    expect(checkMessageRules(decodeMessage(ikeSaInitRequest()))).toEqual({ ok: true });
  });

  it('two KE payloads → TOO_MANY', () => {
    const error = violation(checkPayloadRules(IKE_SA_INIT, false, [...initRequest, ke()]));
    expect(error.code).toBe('RULE_TOO_MANY');
    expect(error.payloadType).toBe(PayloadType.KE);
  });

  it('missing Nonce → MISSING; AUTH → NOT_ALLOWED; CERTREQ only in the response', () => {
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, initRequest.slice(0, 2))).rule).toBe('MISSING');
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [...initRequest, { kind: 'AUTH', method: 2, data: Buffer.alloc(1) }])).rule).toBe('NOT_ALLOWED');
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [...initRequest, { kind: 'CERTREQ', encoding: 4, data: Buffer.alloc(0) }])).rule).toBe('NOT_ALLOWED');
  });

  it('SK in IKE_SA_INIT → MUST_NOT_BE_ENCRYPTED', () => {
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [...initRequest, SK])).rule).toBe('MUST_NOT_BE_ENCRYPTED');
  });

  it('a response may be a lone error notification or a lone COOKIE (RFC 7296 §2.6)', () => {
    expect(checkPayloadRules(IKE_SA_INIT, true, [notify(NotifyType.NO_PROPOSAL_CHOSEN)])).toEqual({ ok: true });
    expect(checkPayloadRules(IKE_SA_INIT, true, [notify(NotifyType.INVALID_KE_PAYLOAD, Buffer.from([0, 14]))])).toEqual({ ok: true });
    expect(checkPayloadRules(IKE_SA_INIT, true, [notify(NotifyType.COOKIE, Buffer.alloc(8))])).toEqual({ ok: true });
    expect(violation(checkPayloadRules(IKE_SA_INIT, true, [notify(NotifyType.NAT_DETECTION_SOURCE_IP, Buffer.alloc(20))])).rule).toBe('MISSING');
    // A request is never satisfied by a notification alone.
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [notify(NotifyType.COOKIE, Buffer.alloc(8))])).rule).toBe('MISSING');
  });

  it('proposals must be IKE with no SPI; an answer has exactly one proposal', () => {
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [{ kind: 'SA', proposals: [espProposal(1)] }, ke(), nonce()])).rule).toBe('SA_PROTOCOL');
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [{ kind: 'SA', proposals: [ikeRekeyProposal] }, ke(), nonce()])).rule).toBe('SA_SPI_SIZE');
    const two = { kind: 'SA', proposals: [ikeProposal, { ...ikeProposal, number: 2 }] } as const;
    expect(checkPayloadRules(IKE_SA_INIT, false, [two, ke(), nonce()])).toEqual({ ok: true });
    expect(violation(checkPayloadRules(IKE_SA_INIT, true, [two, ke(), nonce()])).rule).toBe('ANSWER_NOT_SINGLE');
    const repeated = { kind: 'SA', proposals: [{ ...ikeProposal, transforms: [...ikeProposal.transforms, ikeProposal.transforms[0]!] }] } as const;
    expect(violation(checkPayloadRules(IKE_SA_INIT, true, [repeated, ke(), nonce()])).rule).toBe('ANSWER_NOT_SINGLE');
    const startsAtTwo = { kind: 'SA', proposals: [{ ...ikeProposal, number: 2 }] } as const;
    expect(violation(checkPayloadRules(IKE_SA_INIT, false, [startsAtTwo, ke(), nonce()])).rule).toBe('PROPOSAL_NUMBERING');
  });
});

describe('IKE_AUTH (encrypted)', () => {
  it('accepts the standard request (outer SK, inner payloads) and response', () => {
    const { datagram } = ikeAuthRequest();
    const decoded = decodeMessage(datagram);
    expect(checkMessageRules(decoded)).toEqual({ ok: true }); // outer gate, before decryption
    expect(checkMessageRules(decoded, ikeAuthRequestInner)).toEqual({ ok: true });
    expect(checkPayloadRules(IKE_AUTH, true, [SK], authResponse)).toEqual({ ok: true });
  });

  it('request without AUTH → MISSING naming AUTH', () => {
    const error = violation(checkPayloadRules(IKE_AUTH, false, [SK], ikeAuthRequestInner.filter((p) => p.kind !== 'AUTH')));
    expect(error.code).toBe('RULE_MISSING');
    expect(error.payloadType).toBe(PayloadType.AUTH);
    expect(error.message).toContain('IKE_AUTH request');
  });

  it('SA outside SK → MUST_BE_ENCRYPTED; no SK at all → MISSING_ENCRYPTED_PAYLOAD', () => {
    const error = violation(checkPayloadRules(IKE_AUTH, false, [{ kind: 'SA', proposals: [espProposal(1)] }, SK], ikeAuthRequestInner));
    expect(error.rule).toBe('MUST_BE_ENCRYPTED');
    expect(error.payloadType).toBe(PayloadType.SA);
    expect(violation(checkPayloadRules(IKE_AUTH, false, ikeAuthRequestInner)).rule).toBe('MUST_BE_ENCRYPTED');
    expect(violation(checkPayloadRules(IKE_AUTH, false, [])).rule).toBe('MISSING_ENCRYPTED_PAYLOAD');
  });

  it('EAP is not accepted (no EAP in cgwd); KE is not an IKE_AUTH payload', () => {
    expect(violation(checkPayloadRules(IKE_AUTH, false, [SK], [...ikeAuthRequestInner, { kind: 'EAP', data: Buffer.alloc(4) }])).rule).toBe('NOT_ALLOWED');
    expect(violation(checkPayloadRules(IKE_AUTH, false, [SK], [...ikeAuthRequestInner, ke()])).rule).toBe('NOT_ALLOWED');
  });

  it('IKE proposals in IKE_AUTH → SA_PROTOCOL', () => {
    const inner = ikeAuthRequestInner.map((p) => (p.kind === 'SA' ? { kind: 'SA' as const, proposals: [ikeProposal] } : p));
    expect(violation(checkPayloadRules(IKE_AUTH, false, [SK], inner)).rule).toBe('SA_PROTOCOL');
  });

  it('response: Child SA failure may omit SA/TS, but not just some of them', () => {
    const noChild = [...authResponse.slice(0, 2), notify(NotifyType.TS_UNACCEPTABLE)];
    expect(checkPayloadRules(IKE_AUTH, true, [SK], noChild)).toEqual({ ok: true });
    const partial = authResponse.filter((p) => p.kind !== 'TSr');
    expect(violation(checkPayloadRules(IKE_AUTH, true, [SK], partial)).rule).toBe('INCOMPLETE_GROUP');
    expect(checkPayloadRules(IKE_AUTH, true, [SK], [notify(NotifyType.AUTHENTICATION_FAILED)])).toEqual({ ok: true });
    expect(violation(checkPayloadRules(IKE_AUTH, true, [SK], [notify(NotifyType.INITIAL_CONTACT)])).rule).toBe('MISSING');
  });

  it('notification and vendor ID counts are bounded', () => {
    const many = Array.from({ length: 25 }, () => notify(NotifyType.INITIAL_CONTACT));
    expect(violation(checkPayloadRules(IKE_AUTH, false, [SK], [...ikeAuthRequestInner, ...many])).rule).toBe('TOO_MANY');
  });
});

describe('CREATE_CHILD_SA', () => {
  it('accepts a Child SA rekey and an IKE SA rekey', () => {
    expect(checkPayloadRules(CREATE_CHILD_SA, false, [SK], childRequest)).toEqual({ ok: true });
    expect(checkPayloadRules(CREATE_CHILD_SA, false, [SK], ikeRekey)).toEqual({ ok: true });
    expect(checkPayloadRules(CREATE_CHILD_SA, true, [SK], ikeRekey)).toEqual({ ok: true });
    expect(checkPayloadRules(CREATE_CHILD_SA, true, [SK], [notify(NotifyType.TEMPORARY_FAILURE)])).toEqual({ ok: true });
  });

  it('IKE SA rekey without KE, or with TS → IKE_REKEY_SHAPE', () => {
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], ikeRekey.slice(0, 2))).rule).toBe('IKE_REKEY_SHAPE');
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], [...ikeRekey, tsAll('TSi'), tsAll('TSr')])).rule).toBe('IKE_REKEY_SHAPE');
    const initialStyle = [{ kind: 'SA' as const, proposals: [ikeProposal] }, nonce(), ke()];
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], initialStyle)).rule).toBe('SA_SPI_SIZE');
  });

  it('Child SA without TS → CHILD_SA_NEEDS_TS; TSi without TSr → INCOMPLETE_GROUP', () => {
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], childRequest.slice(0, 3))).rule).toBe('CHILD_SA_NEEDS_TS');
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], childRequest.slice(0, 4))).rule).toBe('INCOMPLETE_GROUP');
  });

  it('a request is never satisfied by an error notification alone', () => {
    expect(violation(checkPayloadRules(CREATE_CHILD_SA, false, [SK], [notify(NotifyType.TEMPORARY_FAILURE)])).rule).toBe('MISSING');
  });
});

describe('INFORMATIONAL', () => {
  it('accepts empty (liveness), Delete, Notify and CP; rejects SA', () => {
    expect(checkPayloadRules(INFORMATIONAL, false, [SK], [])).toEqual({ ok: true });
    expect(checkPayloadRules(INFORMATIONAL, true, [SK], [])).toEqual({ ok: true });
    expect(checkPayloadRules(INFORMATIONAL, false, [SK], [{ kind: 'D', protocolId: 3, spis: [Buffer.alloc(4, 1)] }, notify(16384)])).toEqual({ ok: true });
    expect(violation(checkPayloadRules(INFORMATIONAL, false, [SK], [{ kind: 'SA', proposals: [espProposal()] }])).rule).toBe('NOT_ALLOWED');
  });

  it('an unknown exchange has no rules', () => {
    expect(violation(checkPayloadRules(99, false, [SK], [])).rule).toBe('UNKNOWN_EXCHANGE');
  });
});

describe('header rules (RFC 7296 §3.1)', () => {
  const decodedHeader = (exchange: number, opts: Parameters<typeof header>[1] = {}) => ({
    ...header(exchange, opts),
    nextPayload: 0,
    majorVersion: 2,
    minorVersion: 0,
    length: 28,
  });

  it('IKE_SA_INIT: Message ID 0, responder SPI zero in the request', () => {
    expect(checkHeaderRules(decodedHeader(IKE_SA_INIT))).toEqual({ ok: true });
    expect(violation(checkHeaderRules(decodedHeader(IKE_SA_INIT, { messageId: 1 }))).rule).toBe('MESSAGE_ID');
    expect(violation(checkHeaderRules(decodedHeader(IKE_SA_INIT, { spiR: Buffer.alloc(8, 1) }))).rule).toBe('RESPONDER_SPI');
  });

  it('later exchanges need a responder SPI', () => {
    expect(violation(checkHeaderRules(decodedHeader(IKE_AUTH, { spiR: Buffer.alloc(8) }))).rule).toBe('RESPONDER_SPI');
  });

  it('I flag: set on IKE_SA_INIT/IKE_AUTH requests, clear on their responses, free afterwards', () => {
    expect(violation(checkHeaderRules(decodedHeader(IKE_AUTH, { flags: { initiator: false, response: false, version: false } }))).rule).toBe('INITIATOR_FLAG');
    expect(violation(checkHeaderRules(decodedHeader(IKE_SA_INIT, { flags: { initiator: true, response: true, version: false } }))).rule).toBe('INITIATOR_FLAG');
    expect(checkHeaderRules(decodedHeader(INFORMATIONAL, { flags: { initiator: false, response: false, version: false } }))).toEqual({ ok: true });
    expect(checkHeaderRules(decodedHeader(CREATE_CHILD_SA, { flags: { initiator: false, response: true, version: false } }))).toEqual({ ok: true });
  });
});
