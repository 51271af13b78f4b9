/**
 * IKE_AUTH with a pre-shared key, creating the first CHILD SA (RFC 7296 §1.2, §2.15, §2.21.2):
 *
 *   Initiator                                          Responder
 *   HDR, SK { IDi, [IDr,] AUTH, N(INITIAL_CONTACT),
 *             SAi2, TSi, TSr }                    -->
 *                                                 <--  HDR, SK { IDr, AUTH, SAr2, TSi, TSr }
 *
 *   AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce(peer) | prf(SK_p, ID body))
 *
 * The ESP proposals carry no DH transforms (§1.2: IKE_AUTH has no KE). The first CHILD SA's
 * keys come from the IKE_SA_INIT nonces: KEYMAT = prf+(SK_d, Ni | Nr) (§2.17).
 *
 * Outcomes for the initiator:
 *   - N(AUTHENTICATION_FAILED) or an AUTH that does not verify → the IKE SA fails (for the latter
 *     we tell the peer with an INFORMATIONAL N(AUTHENTICATION_FAILED), §2.21.2);
 *   - authenticated, but the CHILD SA refused (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, …): an IKE SA
 *     without its one CHILD SA is useless to a route-based tunnel, so cgwd deletes it and fails.
 * The responder answers a PSK mismatch with N(AUTHENTICATION_FAILED) and drops the SA; a CHILD
 * SA problem is answered with the error notify in place of SAr2/TSi/TSr, the IKE SA stays up.
 */
import { AuthMethod, ExchangeType, NotifyType, ProtocolId, notifyTypeName } from '../wire/constants.js';
import type { IdPayload, Payload } from '../wire/payloads.js';
import type { Proposal } from '../wire/sa.js';
import { authMatches, idPayloadBody, pskAuthData } from '../crypto/auth.js';
import { deriveChildKeys } from '../crypto/keys.js';
import {
  AuthenticationFailedError,
  ChildSaFailedError,
  InvalidResponseError,
  PeerErrorNotifyError,
  type IkeError,
} from '../../errors.js';
import { answerProposal, buildChildProposals, selectChildProposal, verifyChildAnswer } from '../proposals/proposals.js';
import type { ChildSuite } from '../../proposals/suites.js';
import { ChildSa } from '../sa/child-sa.js';
import { describeIdentity, sameIdentity } from '../../identity.js';
import { idPayload } from '../sa/identity.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { findNotify, firstErrorNotify, firstOf, notify, type InboundMessage } from '../sa/payload-helpers.js';
import { allTrafficPayloads, answerIsAll, offerCoversAll } from '../sa/traffic-selectors.js';
import { DONE, type InitiatorTask, type ResponderTask, type TaskResult } from './task.js';
import { newChildSpi } from './child-spi.js';

function pskBytes(sa: IkeSa): Buffer {
  return Buffer.from(sa.ctx.psk.reveal(), 'utf8');
}

function keysOf(sa: IkeSa): NonNullable<IkeSa['keys']> {
  const keys = sa.keys;
  if (!keys || !sa.suite || !sa.nonceI || !sa.nonceR || !sa.initRequest || !sa.initResponse) {
    throw new InvalidResponseError('IKE_AUTH', 'IKE_SA_INIT state incomplete');
  }
  return keys;
}

/** AUTH this side sends, or expects from the peer (`ofInitiator` says whose). */
function authFor(sa: IkeSa, ofInitiator: boolean, id: IdPayload): Buffer {
  const keys = keysOf(sa);
  const prf = sa.suite?.prf ?? 'prf-hmac-sha256';
  return pskAuthData(prf, pskBytes(sa), {
    realMessage: (ofInitiator ? sa.initRequest : sa.initResponse) as Buffer,
    peerNonce: (ofInitiator ? sa.nonceR : sa.nonceI) as Buffer,
    skP: ofInitiator ? keys.skPi : keys.skPr,
    idPayloadBody: idPayloadBody(id.idType, id.data),
  });
}

export class IkeAuthInitiator implements InitiatorTask {
  readonly name = 'IKE_AUTH' as const;
  readonly exchange = ExchangeType.IKE_AUTH;
  readonly #sa: IkeSa;
  readonly #spiIn: Buffer;
  #proposals: Proposal[] = [];

  constructor(sa: IkeSa) {
    this.#sa = sa;
    this.#spiIn = newChildSpi(sa);
  }

  build(): Payload[] {
    const sa = this.#sa;
    const idi = idPayload('IDi', sa.ctx.localIdentity);
    this.#proposals = buildChildProposals(sa.ctx.policy.child, this.#spiIn, undefined);
    const payloads: Payload[] = [idi];
    if (sa.ctx.remoteIdentity) payloads.push(idPayload('IDr', sa.ctx.remoteIdentity));
    payloads.push(
      { kind: 'AUTH', method: AuthMethod.SHARED_KEY_MIC, data: authFor(sa, true, idi) },
      notify(NotifyType.INITIAL_CONTACT),
      { kind: 'SA', proposals: this.#proposals },
      ...allTrafficPayloads(),
    );
    return payloads;
  }

  process(response: InboundMessage): TaskResult {
    const sa = this.#sa;
    const idr = firstOf(response.payloads, 'IDr');
    const auth = firstOf(response.payloads, 'AUTH');
    if (!idr || !auth) {
      const error = firstErrorNotify(response.payloads);
      if (error?.notifyType === NotifyType.AUTHENTICATION_FAILED) {
        return fatal(new AuthenticationFailedError('the peer rejected our AUTH (wrong PSK or identity)'));
      }
      return fatal(error ? new PeerErrorNotifyError('IKE_AUTH', error.notifyType, notifyTypeName(error.notifyType)) : new InvalidResponseError('IKE_AUTH', 'IDr or AUTH missing'));
    }
    const remoteId = sa.ctx.remoteIdentity;
    if (remoteId && !sameIdentity(remoteId, idr)) {
      return this.#rejectPeer(new AuthenticationFailedError(`peer identified as ${describeIdentity(idr)}`));
    }
    if (auth.method !== AuthMethod.SHARED_KEY_MIC || !authMatches(authFor(sa, false, idr), auth.data)) {
      return this.#rejectPeer(new AuthenticationFailedError("the peer's AUTH does not verify with our PSK"));
    }
    sa.markEstablished();

    const child = this.#childFrom(response);
    if (child instanceof ChildSaFailedError) {
      sa.closeWithNotice(child, [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }]);
      return DONE;
    }
    sa.host.childCreated(sa, child, { install: true });
    return DONE;
  }

  #childFrom(response: InboundMessage): ChildSa | ChildSaFailedError {
    const sa = this.#sa;
    const saPayload = firstOf(response.payloads, 'SA');
    if (!saPayload) {
      const error = firstErrorNotify(response.payloads);
      const name = error ? `peer answered ${notifyTypeName(error.notifyType)}` : 'no SA in the answer';
      return new ChildSaFailedError(error?.notifyType, name);
    }
    let suite: ChildSuite;
    let spiOut: Buffer;
    try {
      ({ suite, spi: spiOut } = verifyChildAnswer(saPayload.proposals, this.#proposals, 'IKE_AUTH'));
    } catch (error) {
      return new ChildSaFailedError(undefined, error instanceof Error ? error.message : 'bad answer');
    }
    if (suite.dhGroup !== undefined) return new ChildSaFailedError(undefined, 'DH group in an IKE_AUTH answer');
    if (findNotify(response.payloads, NotifyType.USE_TRANSPORT_MODE)) return new ChildSaFailedError(undefined, 'transport mode was not requested');
    if (!answerIsAll(firstOf(response.payloads, 'TSi'), firstOf(response.payloads, 'TSr'))) {
      return new ChildSaFailedError(NotifyType.TS_UNACCEPTABLE, 'the peer narrowed the traffic selectors');
    }
    const keys = keysOf(sa);
    const nonceI = sa.nonceI as Buffer;
    const nonceR = sa.nonceR as Buffer;
    return new ChildSa({
      id: sa.host.allocateChildId(),
      spiIn: this.#spiIn.readUInt32BE(0),
      spiOut: spiOut.readUInt32BE(0),
      suite,
      keys: deriveChildKeys(sa.suite?.prf ?? 'prf-hmac-sha256', keys.skD, suite, nonceI, nonceR),
      initiatedByUs: true,
      nonceI,
      nonceR,
      createdAt: sa.ctx.clock.now(),
    });
  }

  /** We do not accept the responder's authentication: tell it (§2.21.2) and end the SA. */
  #rejectPeer(error: AuthenticationFailedError): TaskResult {
    this.#sa.closeWithNotice(error, [notify(NotifyType.AUTHENTICATION_FAILED)]);
    return DONE;
  }
}

function fatal(error: IkeError): TaskResult {
  return { status: 'failed', error, fatal: true };
}

export class IkeAuthResponder implements ResponderTask {
  readonly name = 'IKE_AUTH' as const;
  readonly #sa: IkeSa;
  #answer: Payload[] = [];
  #authFailure: AuthenticationFailedError | undefined;
  #child: ChildSa | undefined;

  constructor(sa: IkeSa) {
    this.#sa = sa;
  }

  process(request: InboundMessage): void {
    const sa = this.#sa;
    const idi = firstOf(request.payloads, 'IDi');
    const idrWanted = firstOf(request.payloads, 'IDr');
    const auth = firstOf(request.payloads, 'AUTH');
    if (!idi || !auth) return this.#fail(new AuthenticationFailedError('IDi or AUTH missing'));
    const remoteId = sa.ctx.remoteIdentity;
    if (remoteId && !sameIdentity(remoteId, idi)) {
      return this.#fail(new AuthenticationFailedError(`peer identified as ${describeIdentity(idi)}`));
    }
    if (idrWanted && !sameIdentity(sa.ctx.localIdentity, idrWanted)) {
      return this.#fail(new AuthenticationFailedError(`peer asked for identity ${describeIdentity(idrWanted)}`));
    }
    if (auth.method !== AuthMethod.SHARED_KEY_MIC || !authMatches(authFor(sa, true, idi), auth.data)) {
      return this.#fail(new AuthenticationFailedError("the peer's AUTH does not verify with our PSK"));
    }
    const idr = idPayload('IDr', sa.ctx.localIdentity);
    this.#answer = [idr, { kind: 'AUTH', method: AuthMethod.SHARED_KEY_MIC, data: authFor(sa, false, idr) }];
    this.#answer.push(...this.#childAnswer(request));
  }

  #childAnswer(request: InboundMessage): Payload[] {
    const sa = this.#sa;
    const saPayload = firstOf(request.payloads, 'SA');
    if (!saPayload) return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    const selection = selectChildProposal(saPayload.proposals, sa.ctx.policy.child, { ignoreDh: true, keGroup: undefined });
    if (!selection) return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    if (!offerCoversAll(firstOf(request.payloads, 'TSi'), firstOf(request.payloads, 'TSr'))) {
      return [notify(NotifyType.TS_UNACCEPTABLE)];
    }
    const spiIn = newChildSpi(sa);
    const keys = keysOf(sa);
    const nonceI = sa.nonceI as Buffer;
    const nonceR = sa.nonceR as Buffer;
    this.#child = new ChildSa({
      id: sa.host.allocateChildId(),
      spiIn: spiIn.readUInt32BE(0),
      spiOut: selection.offered.spi.readUInt32BE(0),
      suite: selection.suite,
      keys: deriveChildKeys(sa.suite?.prf ?? 'prf-hmac-sha256', keys.skD, selection.suite, nonceI, nonceR),
      initiatedByUs: false,
      nonceI,
      nonceR,
      createdAt: sa.ctx.clock.now(),
    });
    return [{ kind: 'SA', proposals: [answerProposal(selection, ProtocolId.ESP, spiIn)] }, ...allTrafficPayloads()];
  }

  #fail(error: AuthenticationFailedError): void {
    this.#authFailure = error;
    this.#answer = [notify(NotifyType.AUTHENTICATION_FAILED)];
  }

  build(): Payload[] {
    return this.#answer;
  }

  afterResponse(): void {
    const sa = this.#sa;
    if (this.#authFailure) {
      sa.die(this.#authFailure);
      return;
    }
    sa.markEstablished();
    if (this.#child) sa.host.childCreated(sa, this.#child, { install: true });
  }
}
