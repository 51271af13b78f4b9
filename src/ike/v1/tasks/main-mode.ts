/**
 * Main Mode with pre-shared keys (RFC 2409 §5, §5.4), NAT traversal (RFC 3947) and DPD
 * announcement (RFC 3706):
 *
 *   Initiator                                  Responder
 *   MM1 HDR, SA, VID(NAT-T), VID(DPD)     ─►
 *                                         ◄─   MM2 HDR, SA (one transform), VID…
 *   MM3 HDR, KE, Ni, NAT-D, NAT-D         ─►
 *                                         ◄─   MM4 HDR, KE, Nr, NAT-D, NAT-D
 *       (a NAT either side, or claimed: both move to UDP 4500, RFC 3947 §4)
 *   MM5 HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)] ─►
 *                                         ◄─   MM6 HDR*, IDir, HASH_R
 *
 * The initiator retransmits MM1/MM3/MM5 until answered; the responder never retransmits on its
 * own (no amplification towards a spoofed MM1, CVE-2016-5361) and answers a retransmitted
 * message with its cached answer (exchange.ts). With a wrong PSK the keys differ, MM5 decrypts
 * to garbage at the responder, which says AUTHENTICATION-FAILED in the clear; the initiator
 * fails with IKE_AUTHENTICATION_FAILED and the connection retries with backoff.
 */
import { DhKeyPair } from '../../../crypto/dh.js';
import { DhInvalidPublicError } from '../../../crypto/errors.js';
import { encryptionByName } from '../../../crypto/transforms.js';
import type { Endpoint } from '../../runtime.js';
import { DropReason } from '../../drop-reasons.js';
import {
  AuthenticationFailedError,
  InvalidKeyInformationError,
  InvalidResponseError,
  NatTraversalUnsupportedError,
  NoProposalChosenError,
  PeerErrorNotifyError,
  PeerUnreachableError,
  type IkeError,
} from '../../errors.js';
import { describeIdentity, sameIdentity } from '../../identity.js';
import { addressBytes } from '../../ip-address.js';
import { ExchangeType, NONCE_LENGTH, NOTIFY_ERROR_MAX, NotifyType, NAT_T_PORT, VendorId, notifyTypeName } from '../constants.js';
import { derivePhase1Keys, initialIv, natDetectionHash, phase1Hash, type AuthHashInputs } from '../crypto/keys.js';
import { IvChains, MessageProtection } from '../crypto/protection.js';
import { checkPhase1Answer, describePhase1, phase1Offer, selectPhase1 } from '../proposals.js';
import { phase1IdPayload } from '../sa/context.js';
import type { Flight, IsakmpSa } from '../sa/isakmp-sa.js';
import { encodeChain, encodePayloadBody, type ChainEntry, type V1Payload } from '../wire/payloads.js';
import { checkMessageRules } from '../wire/rules.js';
import { ExchangeMemory, allOf, entriesOf, equalHash, firstOf, type Exchange, type Received } from './exchange.js';

type InitiatorState = 'start' | 'sa-sent' | 'ke-sent' | 'auth-sent' | 'done' | 'failed';
type ResponderState = 'start' | 'sa-sent' | 'ke-sent' | 'done' | 'failed';

/** Errors the responder reports for MM5 that mean "your HASH_I / keys are wrong" (a PSK mismatch). */
const AUTH_ERRORS: ReadonlySet<number> = new Set([
  NotifyType.AUTHENTICATION_FAILED,
  NotifyType.INVALID_HASH_INFORMATION,
  NotifyType.INVALID_PAYLOAD_TYPE,
  NotifyType.PAYLOAD_MALFORMED,
  NotifyType.INVALID_ID_INFORMATION,
]);

function vendorIds(entries: readonly ChainEntry[]): { natT: boolean; dpd: boolean } {
  const vids = allOf(entries, 'VID');
  return { natT: vids.some((v) => v.data.equals(VendorId.NAT_T_RFC3947)), dpd: vids.some((v) => v.data.equals(VendorId.DPD)) };
}

const OUR_VIDS: readonly V1Payload[] = [
  { kind: 'VID', data: VendorId.NAT_T_RFC3947 },
  { kind: 'VID', data: VendorId.DPD },
];

/** NAT-D payloads for a message from `from` to `to` (RFC 3947 §3.2: destination first, then source). */
function natDetectionPayloads(sa: IsakmpSa, from: Endpoint, to: Endpoint): V1Payload[] {
  const integrity = sa.suite?.integrity;
  if (!integrity) return [];
  const dst = natDetectionHash(integrity, sa.cookieI, sa.cookieR, addressBytes(to.address), to.port);
  // Forcing encapsulation: a source hash that matches no address claims a NAT here (strongSwan
  // `encap = yes`), so the peer sends ESP in UDP too: cgwd carries IKE and ESP on one socket.
  const src = sa.ctx.forceEncapsulation ? sa.ctx.random.bytes(dst.length) : natDetectionHash(integrity, sa.cookieI, sa.cookieR, addressBytes(from.address), from.port);
  return [
    { kind: 'NAT-D', data: dst },
    { kind: 'NAT-D', data: src },
  ];
}

/** Reads the peer's NAT-D payloads of a message that arrived at `local` from `remote`. */
function detectNat(sa: IsakmpSa, entries: readonly ChainEntry[], local: Endpoint, remote: Endpoint): void {
  const integrity = sa.suite?.integrity;
  const hashes = allOf(entries, 'NAT-D');
  if (!integrity || hashes.length < 2) {
    sa.natLocal = false;
    sa.natRemote = false;
  } else {
    const [dst, ...srcs] = hashes;
    const ours = natDetectionHash(integrity, sa.cookieI, sa.cookieR, addressBytes(local.address), local.port);
    const theirs = natDetectionHash(integrity, sa.cookieI, sa.cookieR, addressBytes(remote.address), remote.port);
    sa.natLocal = !dst?.data.equals(ours);
    sa.natRemote = !srcs.some((s) => s.data.equals(theirs));
  }
  sa.udp = sa.peerNatT && (sa.natLocal || sa.natRemote || sa.ctx.forceEncapsulation);
}

function installProtection(sa: IsakmpSa, gxi: Buffer, gxr: Buffer): void {
  const suite = sa.suite;
  const keys = sa.keys;
  if (!suite || !keys) throw new Error('keys before protection');
  const block = encryptionByName(suite.encryption).blockBytes;
  sa.protection = new MessageProtection(suite.encryption, keys.encKey, new IvChains(suite.integrity, initialIv(suite.integrity, gxi, gxr, block)));
}

function randomNonce(sa: IsakmpSa): Buffer {
  return sa.ctx.random.bytes(NONCE_LENGTH);
}

function psk(sa: IsakmpSa): Buffer {
  return Buffer.from(sa.ctx.psk.reveal(), 'utf8');
}

// ---------------------------------------------------------------------------------------------

export class MainModeInitiator extends ExchangeMemory implements Exchange {
  readonly name = 'MAIN_MODE' as const;
  readonly role = 'initiator' as const;
  readonly messageId = 0;
  #state: InitiatorState = 'start';
  #flight: Flight | undefined;
  #saiBody: Buffer = Buffer.alloc(0);
  #dh: DhKeyPair | undefined;
  #nonceI: Buffer = Buffer.alloc(0);
  #gxr: Buffer = Buffer.alloc(0);
  readonly #offeredLifetime: number;
  readonly #sa: IsakmpSa;

  constructor(sa: IsakmpSa) {
    super((bytes) => sa.transmit(bytes));
    this.#sa = sa;
    this.#offeredLifetime = sa.ctx.timing.ikeLifetimeSeconds;
  }

  get state(): InitiatorState {
    return this.#state;
  }

  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  start(): void {
    const offer = phase1Offer(this.#sa.ctx.phase1, this.#offeredLifetime);
    this.#saiBody = encodePayloadBody(offer);
    const bytes = this.#sa.encodePlain(ExchangeType.IDENTITY_PROTECTION, 0, [offer, ...OUR_VIDS]);
    this.#state = 'sa-sent';
    this.#flight = this.#sa.startFlight(bytes, () => this.#unanswered(1));
  }

  override resendAnswer(): boolean {
    return !this.finished && super.resendAnswer();
  }

  receive(m: Received): void {
    const expectEncrypted = this.#state === 'auth-sent';
    if (m.encrypted !== expectEncrypted || this.finished || this.#state === 'start') {
      this.#sa.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    if (this.#state === 'sa-sent') this.#mm2(m);
    else if (this.#state === 'ke-sent') this.#mm4(m);
    else this.#mm6(m);
  }

  undecodable(): void {
    if (this.#state !== 'auth-sent') return;
    this.#fail(new AuthenticationFailedError('main mode message 6 does not decrypt (pre-shared key mismatch?)'));
  }

  plainNotify(entries: readonly ChainEntry[]): void {
    const error = allOf(entries, 'N').find((n) => n.notifyType <= NOTIFY_ERROR_MAX);
    if (!error || this.finished) return;
    const name = notifyTypeName(error.notifyType);
    if (this.#state === 'sa-sent' && error.notifyType === NotifyType.NO_PROPOSAL_CHOSEN) {
      this.#fail(new NoProposalChosenError('the peer accepted none of our phase 1 proposals'));
    } else if (this.#state === 'auth-sent' && AUTH_ERRORS.has(error.notifyType)) {
      this.#fail(new AuthenticationFailedError(`peer answered main mode message 5 with ${name} (pre-shared key mismatch?)`));
    } else {
      this.#fail(new PeerErrorNotifyError('main mode', error.notifyType, notifyTypeName(error.notifyType)));
    }
  }

  abort(): void {
    this.#flight?.cancel();
    if (!this.finished) this.#state = 'failed';
  }

  #mm2(m: Received): void {
    const sa = this.#sa;
    if (!checkMessageRules('MM2', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const answer = firstOf(m.entries, 'SA');
    if (!answer) return;
    const suite = checkPhase1Answer(answer, sa.ctx.phase1, this.#offeredLifetime);
    if (typeof suite === 'string') {
      this.#fail(new NoProposalChosenError(`phase 1 answer refused: ${suite}`));
      return;
    }
    const vids = vendorIds(m.entries);
    sa.peerNatT = vids.natT;
    sa.peerDpd = vids.dpd;
    if (sa.ctx.forceEncapsulation && !sa.peerNatT) {
      this.#fail(new NatTraversalUnsupportedError());
      return;
    }
    this.accepted(m.data);
    this.#flight?.cancel();
    sa.suite = suite;
    sa.log.debug({ suite: describePhase1(suite), natT: sa.peerNatT, dpd: sa.peerDpd }, 'main mode: proposal chosen');
    this.#dh = DhKeyPair.generate(suite.dhGroup);
    this.#nonceI = randomNonce(sa);
    const payloads: V1Payload[] = [
      { kind: 'KE', data: this.#dh.publicValue },
      { kind: 'NONCE', data: this.#nonceI },
      ...(sa.peerNatT ? natDetectionPayloads(sa, sa.local, sa.remote) : []),
    ];
    const bytes = sa.encodePlain(ExchangeType.IDENTITY_PROTECTION, 0, payloads);
    this.answered(bytes);
    this.#state = 'ke-sent';
    this.#flight = sa.startFlight(bytes, () => this.#unanswered(3));
  }

  #mm4(m: Received): void {
    const sa = this.#sa;
    const suite = sa.suite;
    const dh = this.#dh;
    if (!suite || !dh) return;
    if (!checkMessageRules('MM4', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const ke = firstOf(m.entries, 'KE');
    const nonce = firstOf(m.entries, 'NONCE');
    if (!ke || !nonce) return;
    let shared: Buffer;
    try {
      shared = dh.computeSharedSecret(ke.data);
    } catch (error) {
      if (!(error instanceof DhInvalidPublicError)) throw error;
      this.#fail(new InvalidKeyInformationError(`responder KE refused: ${error.reason}`));
      return;
    }
    this.accepted(m.data);
    this.#flight?.cancel();
    this.#gxr = ke.data;
    sa.keys = derivePhase1Keys({
      integrity: suite.integrity,
      encryption: suite.encryption,
      psk: psk(sa),
      nonceI: this.#nonceI,
      nonceR: nonce.data,
      sharedSecret: shared,
      cookieI: sa.cookieI,
      cookieR: sa.cookieR,
    });
    shared.fill(0);
    installProtection(sa, dh.publicValue, this.#gxr);
    detectNat(sa, m.entries, m.local, m.remote);
    if (sa.udp) {
      // RFC 3947 §4: the initiator moves to port 4500 with MM5.
      sa.local = { address: sa.local.address, port: NAT_T_PORT };
      sa.remote = { address: sa.remote.address, port: NAT_T_PORT };
    }
    const id = phase1IdPayload(sa.ctx.localIdentity);
    const hashI = phase1Hash(this.#hashInputs(), 'initiator', encodePayloadBody(id));
    const payloads: V1Payload[] = [
      id,
      { kind: 'HASH', data: hashI },
      ...(sa.initialContact ? [sa.notifyPayload(NotifyType.INITIAL_CONTACT)] : []),
    ];
    const bytes = sa.seal(ExchangeType.IDENTITY_PROTECTION, 0, encodeChain(payloads));
    this.answered(bytes);
    this.#state = 'auth-sent';
    this.#flight = sa.startFlight(bytes, () => this.#unanswered(5));
  }

  #mm6(m: Received): void {
    const sa = this.#sa;
    if (!checkMessageRules('MM6', m.entries).ok) {
      this.#fail(new InvalidResponseError('main mode', 'message 6 payloads do not fit (pre-shared key mismatch?)'));
      return;
    }
    const idEntry = entriesOf(m.entries, 'ID')[0];
    const hash = firstOf(m.entries, 'HASH');
    if (!idEntry || !hash || idEntry.payload.kind !== 'ID') return;
    const expected = phase1Hash(this.#hashInputs(), 'responder', idEntry.raw.subarray(4));
    if (!equalHash(hash.data, expected)) {
      this.#fail(new AuthenticationFailedError('HASH_R does not verify (pre-shared key mismatch?)'));
      return;
    }
    const remoteId = sa.ctx.remoteIdentity;
    if (remoteId && !sameIdentity(remoteId, idEntry.payload)) {
      this.#fail(new AuthenticationFailedError(`peer identity ${describeIdentity(idEntry.payload)} is not ${describeIdentity(remoteId)}`));
      return;
    }
    m.commit();
    this.accepted(m.data);
    this.#flight?.cancel();
    this.#state = 'done';
    sa.noteAuthenticated(m);
    sa.host.established(sa, { initialContact: false });
  }

  #hashInputs(): AuthHashInputs {
    const sa = this.#sa;
    const suite = sa.suite;
    const keys = sa.keys;
    const dh = this.#dh;
    if (!suite || !keys || !dh) throw new Error('main mode keys missing');
    return { integrity: suite.integrity, skeyid: keys.skeyid, gxi: dh.publicValue, gxr: this.#gxr, cookieI: sa.cookieI, cookieR: sa.cookieR, saiBody: this.#saiBody };
  }

  #unanswered(message: 1 | 3 | 5): void {
    const hint = message === 5 ? ' (a pre-shared key the peer cannot verify looks the same)' : '';
    this.#fail(new PeerUnreachableError(`main mode message ${message}${hint}`, this.#flight?.transmissions ?? 0));
  }

  #fail(error: IkeError): void {
    if (this.finished) return;
    this.#state = 'failed';
    this.#flight?.cancel();
    this.#sa.die(error);
  }
}

// ---------------------------------------------------------------------------------------------

export class MainModeResponder extends ExchangeMemory implements Exchange {
  /** The initiator answered our MM2 (a valid MM3 with our cookie): not a spoofed source. */
  verified = false;
  readonly name = 'MAIN_MODE' as const;
  readonly role = 'responder' as const;
  readonly messageId = 0;
  #state: ResponderState = 'start';
  #saiBody: Buffer = Buffer.alloc(0);
  #gxi: Buffer = Buffer.alloc(0);
  #dh: DhKeyPair | undefined;
  readonly #sa: IsakmpSa;

  constructor(sa: IsakmpSa) {
    super((bytes) => sa.transmit(bytes));
    this.#sa = sa;
  }

  get state(): ResponderState {
    return this.#state;
  }

  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  receive(m: Received): void {
    const expectEncrypted = this.#state === 'ke-sent';
    if (m.encrypted !== expectEncrypted || this.finished) {
      this.#sa.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    if (this.#state === 'start') this.#mm1(m);
    else if (this.#state === 'sa-sent') this.#mm3(m);
    else this.#mm5(m);
  }

  undecodable(): void {
    if (this.#state !== 'ke-sent') return;
    this.#refuse(NotifyType.AUTHENTICATION_FAILED, new AuthenticationFailedError('main mode message 5 does not decrypt (pre-shared key mismatch?)'));
  }

  plainNotify(entries: readonly ChainEntry[]): void {
    const error = allOf(entries, 'N').find((n) => n.notifyType <= NOTIFY_ERROR_MAX);
    if (error && !this.finished && this.#state !== 'start') this.#fail(new PeerErrorNotifyError('main mode', error.notifyType, notifyTypeName(error.notifyType)));
  }

  abort(): void {
    if (!this.finished) this.#state = 'failed';
  }

  #mm1(m: Received): void {
    const sa = this.#sa;
    if (!checkMessageRules('MM1', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      this.#state = 'failed';
      return;
    }
    const saEntry = entriesOf(m.entries, 'SA')[0];
    if (!saEntry || saEntry.payload.kind !== 'SA') return;
    const vids = vendorIds(m.entries);
    sa.peerNatT = vids.natT;
    sa.peerDpd = vids.dpd;
    const selection = selectPhase1(saEntry.payload, sa.ctx.phase1);
    if ('reason' in selection) {
      this.#refuse(NotifyType.NO_PROPOSAL_CHOSEN, new NoProposalChosenError(`phase 1: ${selection.reason}`));
      return;
    }
    if (sa.ctx.forceEncapsulation && !sa.peerNatT) {
      this.#refuse(NotifyType.NO_PROPOSAL_CHOSEN, new NatTraversalUnsupportedError());
      return;
    }
    this.accepted(m.data);
    sa.suite = selection.suite;
    this.#saiBody = saEntry.raw.subarray(4);
    const payloads: V1Payload[] = [selection.answer, ...(sa.peerNatT ? [OUR_VIDS[0] as V1Payload] : []), OUR_VIDS[1] as V1Payload];
    const bytes = sa.encodePlain(ExchangeType.IDENTITY_PROTECTION, 0, payloads);
    this.answered(bytes);
    this.#state = 'sa-sent';
    sa.transmit(bytes);
  }

  #mm3(m: Received): void {
    const sa = this.#sa;
    const suite = sa.suite;
    if (!suite) return;
    if (!checkMessageRules('MM3', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const ke = firstOf(m.entries, 'KE');
    const nonce = firstOf(m.entries, 'NONCE');
    if (!ke || !nonce) return;
    let dh: DhKeyPair;
    let shared: Buffer;
    try {
      ({ keyPair: dh, sharedSecret: shared } = DhKeyPair.respond(suite.dhGroup, ke.data)); // validates before generating
    } catch (error) {
      if (!(error instanceof DhInvalidPublicError)) throw error;
      this.#refuse(NotifyType.INVALID_KEY_INFORMATION, new InvalidKeyInformationError(`initiator KE refused: ${error.reason}`));
      return;
    }
    this.accepted(m.data);
    this.#dh = dh;
    this.#gxi = ke.data;
    const nonceR = randomNonce(sa);
    sa.keys = derivePhase1Keys({
      integrity: suite.integrity,
      encryption: suite.encryption,
      psk: psk(sa),
      nonceI: nonce.data,
      nonceR,
      sharedSecret: shared,
      cookieI: sa.cookieI,
      cookieR: sa.cookieR,
    });
    shared.fill(0);
    installProtection(sa, this.#gxi, dh.publicValue);
    detectNat(sa, m.entries, m.local, m.remote);
    const payloads: V1Payload[] = [
      { kind: 'KE', data: dh.publicValue },
      { kind: 'NONCE', data: nonceR },
      ...(sa.peerNatT ? natDetectionPayloads(sa, m.local, m.remote) : []),
    ];
    const bytes = sa.encodePlain(ExchangeType.IDENTITY_PROTECTION, 0, payloads);
    this.answered(bytes);
    this.#state = 'ke-sent';
    this.verified = true; // MM3 came back with our cookie: the initiator receives at its address
    sa.transmit(bytes);
  }

  #mm5(m: Received): void {
    const sa = this.#sa;
    if (!checkMessageRules('MM5', m.entries).ok) {
      this.#refuse(NotifyType.PAYLOAD_MALFORMED, new AuthenticationFailedError('main mode message 5 payloads do not fit (pre-shared key mismatch?)'));
      return;
    }
    const idEntry = entriesOf(m.entries, 'ID')[0];
    const hash = firstOf(m.entries, 'HASH');
    if (!idEntry || !hash || idEntry.payload.kind !== 'ID') return;
    const expected = phase1Hash(this.#hashInputs(), 'initiator', idEntry.raw.subarray(4));
    if (!equalHash(hash.data, expected)) {
      this.#refuse(NotifyType.AUTHENTICATION_FAILED, new AuthenticationFailedError('HASH_I does not verify (pre-shared key mismatch?)'));
      return;
    }
    const remoteId = sa.ctx.remoteIdentity;
    if (remoteId && !sameIdentity(remoteId, idEntry.payload)) {
      this.#refuse(NotifyType.AUTHENTICATION_FAILED, new AuthenticationFailedError(`peer identity ${describeIdentity(idEntry.payload)} is not ${describeIdentity(remoteId)}`));
      return;
    }
    const initialContact = allOf(m.entries, 'N').some((n) => n.notifyType === NotifyType.INITIAL_CONTACT);
    m.commit();
    this.accepted(m.data);
    // The initiator floated to 4500 (RFC 3947 §4): answer where MM5 came from.
    sa.local = { ...m.local };
    sa.remote = { ...m.remote };
    const id = phase1IdPayload(sa.ctx.localIdentity);
    const hashR = phase1Hash(this.#hashInputs(), 'responder', encodePayloadBody(id));
    const bytes = sa.seal(ExchangeType.IDENTITY_PROTECTION, 0, encodeChain([id, { kind: 'HASH', data: hashR }]));
    this.answered(bytes);
    this.#state = 'done';
    sa.transmit(bytes);
    sa.noteAuthenticated(m);
    sa.host.established(sa, { initialContact });
  }

  #hashInputs(): AuthHashInputs {
    const sa = this.#sa;
    const suite = sa.suite;
    const keys = sa.keys;
    const dh = this.#dh;
    if (!suite || !keys || !dh) throw new Error('main mode keys missing');
    return { integrity: suite.integrity, skeyid: keys.skeyid, gxi: this.#gxi, gxr: dh.publicValue, cookieI: sa.cookieI, cookieR: sa.cookieR, saiBody: this.#saiBody };
  }

  /** Tells the initiator in the clear (it may not share our keys) and ends the attempt. */
  #refuse(notifyType: number, error: IkeError): void {
    this.#sa.sendPlainNotify(notifyType);
    this.#fail(error);
  }

  #fail(error: IkeError): void {
    if (this.finished) return;
    this.#state = 'failed';
    this.#sa.die(error);
  }
}
