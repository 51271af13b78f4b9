/**
 * IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.7, §2.23):
 *
 *   Initiator                                   Responder
 *   HDR(SPIi,0), SAi1, KEi, Ni,
 *     N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP)  -->
 *                                  <--  HDR(SPIi,SPIr), SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST)
 *
 *   Detours the initiator follows (same SPIi, same Ni, Message ID 0 again):
 *                                  <--  HDR(SPIi,0), N(COOKIE)          → resend with N(COOKIE) first
 *                                  <--  HDR(SPIi,0), N(INVALID_KE_PAYLOAD, group)
 *                                                                       → resend with a KE of that group,
 *                                                                         if we offered it
 *                                  <--  HDR(SPIi,0), N(NO_PROPOSAL_CHOSEN) → fail
 *
 * Then both derive SKEYSEED and the SK_* keys (§2.14), and the initiator moves to UDP 4500 for
 * IKE_AUTH (§2.23). cgwd always claims a NAT on its side in NAT_DETECTION_SOURCE_IP (when
 * `forceEncapsulation` is set) so ESP is always UDP-encapsulated, on the one socket that also
 * carries IKE.
 *
 * The responder half is stateless until it accepts: a COOKIE demand, INVALID_KE_PAYLOAD and
 * NO_PROPOSAL_CHOSEN are answered with SPIr zero and no state kept (§2.6).
 */
import { wipe } from '../../../crypto/bytes.js';
import { DhKeyPair } from '../../../crypto/dh.js';
import { DhInvalidPublicError } from '../../../crypto/errors.js';
import { dhGroupByNumber, type DhGroupNumber } from '../../../crypto/transforms.js';
import { ExchangeType, NotifyType, ProtocolId, notifyTypeName } from '../wire/constants.js';
import type { NoncePayload, Payload } from '../wire/payloads.js';
import type { Proposal } from '../wire/sa.js';
import { expandIkeKeys, initialSkeyseed } from '../crypto/keys.js';
import { addressBytes } from '../../ip-address.js';
import { forcedEncapsulationHash, natDetectionHash } from '../crypto/nat-detection.js';
import { NONCE_LENGTH } from '../crypto/nonce.js';
import { InvalidResponseError, NoProposalChosenError, PeerErrorNotifyError } from '../../errors.js';
import { answerProposal, buildIkeProposals, offeredDhGroups, selectIkeProposal, verifyIkeAnswer } from '../proposals/proposals.js';
import type { IkeSuite } from '../../proposals/suites.js';
import { NAT_T_PORT, type IkeSa } from '../sa/ike-sa.js';
import { allOf, findNotify, firstErrorNotify, firstOf, notify, u16, type InboundMessage } from '../sa/payload-helpers.js';
import { IkeAuthInitiator } from './ike-auth.js';
import { DONE, RETRY, type InitiatorTask, type ResponderTask, type TaskResult } from './task.js';

const MAX_COOKIE_ROUNDS = 3;
const MAX_INVALID_KE_ROUNDS = 3;
const ZERO_SPI = Buffer.alloc(8);

function natDetectionPayloads(sa: IkeSa, spiR: Buffer, forSource: { address: string; port: number }, forDestination: { address: string; port: number }): Payload[] {
  const source = sa.ctx.forceEncapsulation ? forcedEncapsulationHash(sa.spiI, spiR) : natDetectionHash(sa.spiI, spiR, forSource);
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, source),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natDetectionHash(sa.spiI, spiR, forDestination)),
  ];
}

/** Evaluates the peer's NAT detection notifies; no notifies means no NAT-T support claimed (§2.23). */
function evaluateNatDetection(sa: IkeSa, message: InboundMessage): void {
  const { spiI, spiR } = message.header;
  const sources = allOf(message.payloads, 'N').filter((n) => n.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP);
  const destination = findNotify(message.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP);
  if (sources.length > 0) {
    const expected = natDetectionHash(spiI, spiR, message.remote);
    sa.natRemote = !sources.some((n) => n.data.equals(expected));
  }
  if (destination) sa.natLocal = !destination.data.equals(natDetectionHash(spiI, spiR, message.local));
}

function deriveInitialKeys(sa: IkeSa, suite: IkeSuite, sharedSecret: Buffer, ni: Buffer, nr: Buffer): void {
  const skeyseed = initialSkeyseed(suite.prf, ni, nr, sharedSecret);
  sa.nonceI = ni;
  sa.nonceR = nr;
  sa.installKeys(suite, expandIkeKeys(suite, skeyseed, ni, nr, sa.spiI, sa.spiR));
  wipe(skeyseed, sharedSecret); // g^ir and SKEYSEED are not needed once SK_* exist (§2.14)
}

export class IkeInitInitiator implements InitiatorTask {
  readonly name = 'IKE_INIT' as const;
  readonly exchange = ExchangeType.IKE_SA_INIT;
  readonly #sa: IkeSa;
  readonly #nonce: Buffer;
  #group: DhGroupNumber;
  #dh: DhKeyPair | undefined;
  #cookie: Buffer | undefined;
  #proposals: Proposal[] = [];
  #cookieRounds = 0;
  #invalidKeRounds = 0;

  constructor(sa: IkeSa) {
    this.#sa = sa;
    this.#nonce = sa.ctx.random.bytes(NONCE_LENGTH);
    this.#group = sa.ctx.policy.ikeKeGroup;
  }

  build(): Payload[] {
    const sa = this.#sa;
    if (!this.#dh || this.#dh.group !== this.#group) this.#dh = DhKeyPair.generate(this.#group);
    this.#proposals = buildIkeProposals(sa.ctx.policy.ike, Buffer.alloc(0));
    const payloads: Payload[] = [];
    if (this.#cookie) payloads.push(notify(NotifyType.COOKIE, this.#cookie)); // §2.6: first payload
    payloads.push(
      { kind: 'SA', proposals: this.#proposals },
      { kind: 'KE', group: this.#group, data: this.#dh.publicValue },
      { kind: 'Nonce', nonce: this.#nonce },
      ...natDetectionPayloads(sa, ZERO_SPI, sa.local, sa.remote),
    );
    return payloads;
  }

  process(response: InboundMessage): TaskResult {
    const sa = this.#sa;
    const cookie = findNotify(response.payloads, NotifyType.COOKIE);
    if (cookie && !firstOf(response.payloads, 'SA')) {
      if (++this.#cookieRounds > MAX_COOKIE_ROUNDS) return fatal(new InvalidResponseError('IKE_SA_INIT', 'COOKIE demanded again and again'));
      this.#cookie = cookie.data;
      sa.log.info('responder demands a COOKIE; retrying IKE_SA_INIT');
      return RETRY;
    }
    const invalidKe = findNotify(response.payloads, NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe) {
      const wanted = invalidKe.data.readUInt16BE(0);
      const offered = offeredDhGroups(this.#proposals);
      if (++this.#invalidKeRounds > MAX_INVALID_KE_ROUNDS || wanted === this.#group || !offered.includes(wanted as DhGroupNumber)) {
        return fatal(new NoProposalChosenError(`responder wants DH group ${wanted}, which we do not offer`));
      }
      this.#group = wanted as DhGroupNumber;
      sa.log.info({ group: wanted }, 'INVALID_KE_PAYLOAD: retrying IKE_SA_INIT with the requested group');
      return RETRY;
    }
    const error = firstErrorNotify(response.payloads);
    if (error) return fatal(new PeerErrorNotifyError('IKE_SA_INIT', error.notifyType, notifyTypeName(error.notifyType)));

    const saPayload = firstOf(response.payloads, 'SA');
    const ke = firstOf(response.payloads, 'KE');
    const nonce = firstOf(response.payloads, 'Nonce');
    if (!saPayload || !ke || !nonce) return fatal(new InvalidResponseError('IKE_SA_INIT', 'SA, KE or Nonce missing'));
    if (response.header.spiR.equals(ZERO_SPI)) return fatal(new InvalidResponseError('IKE_SA_INIT', 'responder SPI is zero'));
    const { suite } = verifyIkeAnswer(saPayload.proposals, this.#proposals, 'IKE_SA_INIT');
    const dh = this.#dh;
    if (!dh || ke.group !== suite.dhGroup || suite.dhGroup !== dh.group) {
      return fatal(new InvalidResponseError('IKE_SA_INIT', `KE group ${ke.group} does not match the chosen DH group`));
    }
    let sharedSecret: Buffer;
    try {
      sharedSecret = dh.computeSharedSecret(ke.data);
    } catch (e) {
      if (e instanceof DhInvalidPublicError) return fatal(new InvalidResponseError('IKE_SA_INIT', e.message));
      throw e;
    }
    sa.spiR = Buffer.from(response.header.spiR);
    sa.initResponse = response.datagram;
    deriveInitialKeys(sa, suite, sharedSecret, this.#nonce, nonce.nonce);
    evaluateNatDetection(sa, response);
    sa.floatTo(NAT_T_PORT);
    sa.log.debug({ natLocal: sa.natLocal, natRemote: sa.natRemote }, 'IKE_SA_INIT done');
    sa.queueTask(new IkeAuthInitiator(sa), { front: true });
    return DONE;
  }
}

function fatal(error: InvalidResponseError | NoProposalChosenError | PeerErrorNotifyError): TaskResult {
  return { status: 'failed', error, fatal: true };
}

/** The responder's admission policy for IKE_SA_INIT (RFC 7296 §2.6), owned by the connection. */
export interface CookiePolicy {
  /** True when IKE_SA_INIT requests must prove their address with a cookie now. */
  required(): boolean;
  /** The cookie for this initiator: depends on Ni, IPi, SPIi and a local secret. */
  cookieFor(nonce: Buffer, address: string, spiI: Buffer): Buffer;
  /** Whether `offered` is a valid cookie for this initiator (constant-time). */
  accepts(offered: Buffer, nonce: Buffer, address: string, spiI: Buffer): boolean;
  /** A stateless refusal, for the rate-limited log (no per-request log line). */
  refused(reason: string, detail?: Record<string, unknown>): void;
}

export class IkeInitResponder implements ResponderTask {
  readonly name = 'IKE_INIT' as const;
  readonly #sa: IkeSa;
  readonly #cookies: CookiePolicy;
  #answer: Payload[] = [];
  /** Set when the SA goes ahead; otherwise the answer is a stateless refusal. */
  accepted = false;

  constructor(sa: IkeSa, cookies: CookiePolicy) {
    this.#sa = sa;
    this.#cookies = cookies;
  }

  process(request: InboundMessage): void {
    const sa = this.#sa;
    const nonce = firstOf(request.payloads, 'Nonce') as NoncePayload;
    const ke = firstOf(request.payloads, 'KE');
    const saPayload = firstOf(request.payloads, 'SA');
    if (!ke || !saPayload) return this.#refuse(notify(NotifyType.NO_PROPOSAL_CHOSEN)); // unreachable after the rules check

    if (this.#cookies.required()) {
      const offered = findNotify(request.payloads, NotifyType.COOKIE);
      if (!offered || !this.#cookies.accepts(offered.data, nonce.nonce, request.remote.address, request.header.spiI)) {
        this.#cookies.refused(offered ? 'bad-cookie' : 'cookie-demanded');
        return this.#refuse(notify(NotifyType.COOKIE, this.#cookies.cookieFor(nonce.nonce, request.remote.address, request.header.spiI)));
      }
    }
    const selection = selectIkeProposal(saPayload.proposals, sa.ctx.policy.ike, ke.group);
    if (!selection) {
      this.#cookies.refused('no-proposal-chosen');
      return this.#refuse(notify(NotifyType.NO_PROPOSAL_CHOSEN));
    }
    const suite = selection.suite;
    if (ke.group !== suite.dhGroup) {
      // Unknown, unsupported or simply different group: name the one we chose (§1.2, §3.10.1).
      this.#cookies.refused('invalid-ke-payload', { offered: dhGroupByNumber(ke.group)?.group ?? ke.group, wanted: suite.dhGroup });
      return this.#refuse(notify(NotifyType.INVALID_KE_PAYLOAD, u16(suite.dhGroup)));
    }
    let dh: DhKeyPair;
    let sharedSecret: Buffer;
    try {
      // The peer's value is checked before our key pair is made: a bogus KE costs a range check.
      ({ keyPair: dh, sharedSecret } = DhKeyPair.respond(suite.dhGroup, ke.data));
    } catch (e) {
      if (!(e instanceof DhInvalidPublicError)) throw e;
      // RFC 6989 §2.5: fail the exchange; INVALID_SYNTAX may only go in an encrypted message.
      this.#cookies.refused('peer-ke-rejected', { group: ke.group, why: e.reason });
      return this.#refuse(notify(NotifyType.NO_PROPOSAL_CHOSEN));
    }
    const nr = sa.ctx.random.bytes(NONCE_LENGTH);
    sa.spiR = sa.ctx.random.bytes(8);
    if (sa.spiR.equals(ZERO_SPI)) sa.spiR[7] = 1;
    deriveInitialKeys(sa, suite, sharedSecret, nonce.nonce, nr);
    evaluateNatDetection(sa, request);
    this.accepted = true;
    this.#answer = [
      { kind: 'SA', proposals: [answerProposal(selection, ProtocolId.IKE, Buffer.alloc(0))] },
      { kind: 'KE', group: suite.dhGroup, data: dh.publicValue },
      { kind: 'Nonce', nonce: nr },
      ...natDetectionPayloads(sa, sa.spiR, request.local, request.remote),
    ];
  }

  build(): Payload[] {
    return this.#answer;
  }

  #refuse(answer: Payload): void {
    this.#answer = [answer];
  }
}
