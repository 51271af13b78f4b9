/**
 * Quick Mode (RFC 2409 §5.5) with PFS, one ESP SA pair with 0.0.0.0/0 ↔ 0.0.0.0/0 identities,
 * UDP-encapsulated tunnel mode under NAT traversal (RFC 3947 §5):
 *
 *   Initiator                                          Responder
 *   QM1 HDR*, HASH(1), SA, Ni [, KE] , IDci, IDcr  ─►
 *                                                 ◄─   QM2 HDR*, HASH(2), SA, Nr [, KE], IDci, IDcr
 *   QM3 HDR*, HASH(3)                              ─►
 *      (initiator installs after sending QM3;           (responder installs on QM3)
 *       with the Commit bit in QM2 it waits for
 *       N(CONNECTED) first, RFC 2408 §3.1/§4.8)
 *
 * Retransmission: the initiator repeats QM1 until QM2 comes, the responder repeats QM2 until
 * QM3 comes, and the initiator answers a repeated QM2 with its cached QM3 (a lost QM3 would
 * otherwise leave the responder without the SA the initiator already sends on).
 *
 * Keys (RFC 2409 §5.5): KEYMAT per direction with the SPI its receiver chose; our inbound SA
 * uses our SPI. A HASH that does not verify is a counted drop; the exchange is unaffected.
 */
import { keyMaterialBytes } from '../../../crypto/cipher.js';
import { DhKeyPair } from '../../../crypto/dh.js';
import { DhInvalidPublicError } from '../../../crypto/errors.js';
import { integrityByName, type DhGroupNumber } from '../../../crypto/transforms.js';
import { DropReason } from '../../drop-reasons.js';
import { InvalidKeyInformationError, InvalidResponseError, NoProposalChosenError, PeerErrorNotifyError, PeerUnreachableError, type IkeError } from '../../errors.js';
import { ANY_IPV4_SUBNET, ExchangeType, IdType, NONCE_LENGTH, NotifyType, PayloadType, ProtocolId, notifyTypeName } from '../constants.js';
import { deriveKeymat, quickModeHash1, quickModeHash2, quickModeHash3 } from '../crypto/keys.js';
import { checkPhase2Answer, phase2Answer, phase2Offer, responderLifetimeSeconds, selectPhase2, type Phase2Suite } from '../proposals.js';
import type { DirectionalKeys } from '../../connection/child-ledger.js';
import { IpsecSa } from '../sa/ipsec-sa.js';
import type { Flight, IsakmpSa } from '../sa/isakmp-sa.js';
import { bytesAfterFirst, plaintextWithHash } from '../wire/message.js';
import { encodePayload, ipv4SubnetId, type IdPayload, type V1Payload } from '../wire/payloads.js';
import { checkMessageRules } from '../wire/rules.js';
import { ExchangeMemory, FINISHED_EXCHANGE_LINGER_MS, allOf, equalHash, firstOf, type Exchange, type Received } from './exchange.js';

/** With the Commit bit set, install anyway if N(CONNECTED) never comes (the responder may simply not send it). */
export const COMMIT_WAIT_MS = 10_000;

function isAnyIpv4(id: IdPayload): boolean {
  return id.idType === IdType.ID_IPV4_ADDR_SUBNET && id.protocolId === 0 && id.port === 0 && id.data.equals(ANY_IPV4_SUBNET);
}

function phase1Material(sa: IsakmpSa): { integrity: NonNullable<IsakmpSa['suite']>['integrity']; skeyidA: Buffer; skeyidD: Buffer } {
  const suite = sa.suite;
  const keys = sa.keys;
  if (!suite || !keys) throw new Error('quick mode without phase 1 keys');
  return { integrity: suite.integrity, skeyidA: keys.skeyidA, skeyidD: keys.skeyidD };
}

/** ESP keys for both directions: encryption key then integrity key from each KEYMAT (RFC 2409 §5.5). */
export function childKeys(sa: IsakmpSa, suite: Phase2Suite, spiIn: number, spiOut: number, nonceI: Buffer, nonceR: Buffer, shared: Buffer | undefined): DirectionalKeys {
  const { integrity, skeyidD } = phase1Material(sa);
  const encBytes = keyMaterialBytes(suite.encryption);
  const integBytes = suite.integrity ? integrityByName(suite.integrity).keyBytes : 0;
  const keymat = (spi: number): Buffer =>
    deriveKeymat({ integrity, skeyidD, sharedSecret: shared, protocolId: ProtocolId.IPSEC_ESP, spi, nonceI, nonceR }, encBytes + integBytes);
  const inbound = keymat(spiIn);
  const outbound = keymat(spiOut);
  return {
    encIn: inbound.subarray(0, encBytes),
    encOut: outbound.subarray(0, encBytes),
    integIn: integBytes > 0 ? inbound.subarray(encBytes) : undefined,
    integOut: integBytes > 0 ? outbound.subarray(encBytes) : undefined,
  };
}

function lingerThenForget(sa: IsakmpSa, exchange: Exchange): void {
  sa.setTimer(FINISHED_EXCHANGE_LINGER_MS, () => sa.forgetQuickMode(exchange));
}

function forgetNow(sa: IsakmpSa, exchange: Exchange): void {
  sa.forgetQuickMode(exchange);
}

// ---------------------------------------------------------------------------------------------

export interface QuickModeInitiatorOptions {
  /** The IPsec SA this quick mode rekeys (undefined: the tunnel's first SA). */
  readonly replaces: IpsecSa | undefined;
  readonly pfsGroup: DhGroupNumber | undefined;
}

type InitiatorState = 'start' | 'sent' | 'awaiting-connected' | 'done' | 'failed';

export class QuickModeInitiator extends ExchangeMemory implements Exchange {
  readonly name = 'QUICK_MODE' as const;
  readonly role = 'initiator' as const;
  messageId = 0;
  readonly replaces: IpsecSa | undefined;
  readonly pfsGroup: DhGroupNumber | undefined;
  #state: InitiatorState = 'start';
  #flight: Flight | undefined;
  #spiIn = 0;
  #nonceI: Buffer = Buffer.alloc(0);
  #dh: DhKeyPair | undefined;
  #pending: IpsecSa | undefined;
  readonly #offeredLifetime: number;
  readonly #sa: IsakmpSa;

  constructor(sa: IsakmpSa, options: QuickModeInitiatorOptions) {
    super((bytes) => sa.transmit(bytes));
    this.#sa = sa;
    this.replaces = options.replaces;
    this.pfsGroup = options.pfsGroup;
    this.#offeredLifetime = sa.ctx.timing.childLifetimeSeconds;
  }

  get state(): InitiatorState {
    return this.#state;
  }

  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  /** Our SPI (the inbound one) offered in QM1. */
  get spiIn(): number {
    return this.#spiIn;
  }

  start(): void {
    const sa = this.#sa;
    const { integrity, skeyidA } = phase1Material(sa);
    this.messageId = sa.newMessageId();
    sa.quickModes.set(this.messageId, this);
    this.#spiIn = sa.host.allocateSpi();
    this.#nonceI = sa.ctx.random.bytes(NONCE_LENGTH);
    this.#dh = this.pfsGroup === undefined ? undefined : DhKeyPair.generate(this.pfsGroup);
    const rest: V1Payload[] = [
      phase2Offer(sa.ctx.phase2, this.#spiIn, this.pfsGroup, this.#offeredLifetime, sa.udp),
      { kind: 'NONCE', data: this.#nonceI },
      ...(this.#dh ? [{ kind: 'KE', data: this.#dh.publicValue } as V1Payload] : []),
      ipv4SubnetId('0.0.0.0', 0),
      ipv4SubnetId('0.0.0.0', 0),
    ];
    const mid = this.messageId;
    const plaintext = plaintextWithHash(rest, (bytes) => quickModeHash1(integrity, skeyidA, mid, bytes));
    const bytes = sa.seal(ExchangeType.QUICK_MODE, mid, plaintext);
    this.#state = 'sent';
    this.#flight = sa.startFlight(bytes, () => this.#fail(new PeerUnreachableError('quick mode message 1', this.#flight?.transmissions ?? 0), false));
  }

  receive(m: Received): void {
    if (this.#state !== 'sent') {
      this.#sa.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    this.#qm2(m);
  }

  /** N(CONNECTED) for this SA (RFC 2408 §4.8): the responder installed it; so do we. */
  connected(): void {
    if (this.#state === 'awaiting-connected') this.#install();
  }

  /** An error notify naming our SPI while QM1 is outstanding. */
  peerError(notifyType: number): void {
    if (this.#state !== 'sent') return;
    this.#fail(notifyType === NotifyType.NO_PROPOSAL_CHOSEN ? new NoProposalChosenError('the peer accepted none of our quick mode proposals') : new PeerErrorNotifyError('quick mode', notifyType, notifyTypeName(notifyType)), false);
  }

  abort(): void {
    this.#flight?.cancel();
    if (!this.finished) this.#state = 'failed';
  }

  #qm2(m: Received): void {
    const sa = this.#sa;
    const { integrity, skeyidA } = phase1Material(sa);
    if (!checkMessageRules('QM2', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const hash = m.entries[0]?.payload;
    const expected = quickModeHash2(integrity, skeyidA, this.messageId, this.#nonceI, bytesAfterFirst(m.entries));
    if (hash?.kind !== 'HASH' || !equalHash(hash.data, expected)) {
      sa.host.countDrop(DropReason.BAD_ICV);
      return;
    }
    m.commit();
    this.accepted(m.data);
    this.#flight?.cancel();
    sa.noteAuthenticated(m);

    const answerSa = firstOf(m.entries, 'SA');
    const nonce = firstOf(m.entries, 'NONCE');
    const ke = firstOf(m.entries, 'KE');
    if (!answerSa || !nonce) return;
    const checked = checkPhase2Answer(
      answerSa,
      { choices: sa.ctx.phase2, pfsGroups: this.pfsGroup === undefined ? [] : [this.pfsGroup], kePresent: ke !== undefined, udp: sa.udp },
      this.#offeredLifetime,
    );
    if (typeof checked === 'string') {
      this.#refuse(NotifyType.NO_PROPOSAL_CHOSEN, new NoProposalChosenError(`quick mode answer refused: ${checked}`));
      return;
    }
    const ids = allOf(m.entries, 'ID');
    if (ids.length !== 2 || !ids.every(isAnyIpv4)) {
      this.#refuse(NotifyType.INVALID_ID_INFORMATION, new InvalidResponseError('quick mode', 'message 2 identities are not 0.0.0.0/0 ↔ 0.0.0.0/0'));
      return;
    }
    let shared: Buffer | undefined;
    if (this.#dh) {
      try {
        shared = this.#dh.computeSharedSecret(ke?.data ?? Buffer.alloc(0));
      } catch (error) {
        if (!(error instanceof DhInvalidPublicError)) throw error;
        this.#refuse(NotifyType.INVALID_KEY_INFORMATION, new InvalidKeyInformationError(`quick mode KE refused: ${error.reason}`));
        return;
      }
    }
    let suite = checked.suite;
    const lifetimeNotify = allOf(m.entries, 'N').find((n) => n.notifyType === NotifyType.RESPONDER_LIFETIME);
    const responderLifetime = lifetimeNotify ? responderLifetimeSeconds(lifetimeNotify.data) : undefined;
    if (responderLifetime !== undefined && responderLifetime >= 60 && responderLifetime < suite.lifetimeSeconds) {
      suite = { ...suite, lifetimeSeconds: responderLifetime };
    }
    const keys = childKeys(sa, suite, this.#spiIn, checked.peerSpi, this.#nonceI, nonce.data, shared);
    shared?.fill(0);
    const mid = this.messageId;
    const hash3 = quickModeHash3(integrity, skeyidA, mid, this.#nonceI, nonce.data);
    const qm3 = sa.seal(ExchangeType.QUICK_MODE, mid, { firstType: PayloadType.HASH, bytes: encodePayload({ kind: 'HASH', data: hash3 }, PayloadType.NONE) });
    this.answered(qm3);
    sa.transmit(qm3);
    this.#pending = new IpsecSa({
      id: sa.host.allocateChildId(),
      spiIn: this.#spiIn,
      spiOut: checked.peerSpi,
      suite,
      keys,
      initiatedByUs: true,
      nonceI: this.#nonceI,
      nonceR: nonce.data,
      createdAt: sa.ctx.clock.now(),
      local: { ...sa.local },
      remote: { ...sa.remote },
      replaces: this.replaces,
    });
    if (m.header.flags.commit) {
      this.#state = 'awaiting-connected';
      sa.log.debug({ mid }, 'quick mode: commit bit set, waiting for CONNECTED');
      sa.setTimer(COMMIT_WAIT_MS, () => {
        if (this.#state !== 'awaiting-connected') return;
        sa.log.warn({ mid }, 'no CONNECTED after the commit bit: installing anyway');
        this.#install();
      });
      return;
    }
    this.#install();
  }

  #install(): void {
    const child = this.#pending;
    if (!child) return;
    this.#pending = undefined;
    this.#state = 'done';
    lingerThenForget(this.#sa, this);
    this.#sa.host.childNegotiated(this.#sa, child);
  }

  /** Our answer to a QM2 we cannot accept: a protected notify naming our SPI (as strongSwan does). */
  #refuse(notifyType: number, error: IkeError): void {
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(this.#spiIn);
    this.#sa.sendInformational([this.#sa.notifyPayload(notifyType, ProtocolId.IPSEC_ESP, spi)]);
    this.#fail(error, true);
  }

  #fail(error: IkeError, lingering: boolean): void {
    if (this.finished) return;
    this.#state = 'failed';
    this.#flight?.cancel();
    if (lingering) lingerThenForget(this.#sa, this);
    else forgetNow(this.#sa, this);
    this.#sa.host.quickModeFailed(this.#sa, this, error);
  }
}

// ---------------------------------------------------------------------------------------------

type ResponderState = 'start' | 'sent' | 'done' | 'failed';

export class QuickModeResponder extends ExchangeMemory implements Exchange {
  readonly name = 'QUICK_MODE' as const;
  readonly role = 'responder' as const;
  #state: ResponderState = 'start';
  #flight: Flight | undefined;
  #commitRequested = false;
  #spiIn = 0;
  #peerSpi = 0;
  #nonceI: Buffer = Buffer.alloc(0);
  #nonceR: Buffer = Buffer.alloc(0);
  #shared: Buffer | undefined;
  #replaces: IpsecSa | undefined;
  /** Prepared (decrypting) after QM2, negotiated on QM3. */
  #child: IpsecSa | undefined;
  readonly #sa: IsakmpSa;

  constructor(
    sa: IsakmpSa,
    readonly messageId: number,
  ) {
    super((bytes) => sa.transmit(bytes));
    this.#sa = sa;
  }

  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed';
  }

  receive(m: Received): void {
    if (this.#state === 'start') this.#qm1(m);
    else if (this.#state === 'sent') this.#qm3(m);
    else this.#sa.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
  }

  abort(): void {
    this.#flight?.cancel();
    this.#shared?.fill(0);
    if (!this.finished) {
      this.#state = 'failed';
      if (this.#child) this.#sa.host.childAbandoned(this.#child, 'ISAKMP SA gone before quick mode message 3');
    }
  }

  #qm1(m: Received): void {
    const sa = this.#sa;
    const { integrity, skeyidA } = phase1Material(sa);
    if (!checkMessageRules('QM1', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const hash = m.entries[0]?.payload;
    const expected = quickModeHash1(integrity, skeyidA, this.messageId, bytesAfterFirst(m.entries));
    if (hash?.kind !== 'HASH' || !equalHash(hash.data, expected)) {
      sa.host.countDrop(DropReason.BAD_ICV);
      return;
    }
    m.commit();
    sa.quickModes.set(this.messageId, this);
    this.accepted(m.data);
    sa.noteAuthenticated(m);
    this.#commitRequested = m.header.flags.commit;

    const offer = firstOf(m.entries, 'SA');
    const nonce = firstOf(m.entries, 'NONCE');
    const ke = firstOf(m.entries, 'KE');
    if (!offer || !nonce) return;
    const firstEsp = offer.proposals.find((p) => p.protocolId === ProtocolId.IPSEC_ESP && p.spi.length === 4);
    const peerSpiBytes = firstEsp?.spi ?? Buffer.alloc(4);
    const ids = allOf(m.entries, 'ID');
    if (ids.length !== 2 || !ids.every(isAnyIpv4)) {
      this.#refuse(NotifyType.INVALID_ID_INFORMATION, peerSpiBytes, 'identities are not 0.0.0.0/0 ↔ 0.0.0.0/0');
      return;
    }
    const selection = selectPhase2(offer, { choices: sa.ctx.phase2, pfsGroups: sa.ctx.pfsGroups, kePresent: ke !== undefined, udp: sa.udp });
    if ('reason' in selection) {
      this.#refuse(NotifyType.NO_PROPOSAL_CHOSEN, peerSpiBytes, selection.reason);
      return;
    }
    let dh: DhKeyPair | undefined;
    if (selection.suite.dhGroup !== undefined) {
      try {
        const response = DhKeyPair.respond(selection.suite.dhGroup, ke?.data ?? Buffer.alloc(0)); // validates before generating
        dh = response.keyPair;
        this.#shared = response.sharedSecret;
      } catch (error) {
        if (!(error instanceof DhInvalidPublicError)) throw error;
        this.#refuse(NotifyType.INVALID_KEY_INFORMATION, peerSpiBytes, `KE refused: ${error.reason}`);
        return;
      }
    }
    const suite: Phase2Suite = { ...selection.suite, lifetimeSeconds: selection.suite.lifetimeSeconds };
    this.#peerSpi = selection.peerSpi;
    this.#spiIn = sa.host.allocateSpi();
    this.#nonceI = nonce.data;
    this.#nonceR = sa.ctx.random.bytes(NONCE_LENGTH);
    this.#replaces = sa.host.liveChild();
    // The keys are known now: the SA decrypts before QM2 leaves, so nothing the initiator sends
    // right after its QM3 finds no SA here (RFC 2409 §5.5 leaves the timing to us).
    const child = new IpsecSa({
      id: sa.host.allocateChildId(),
      spiIn: this.#spiIn,
      spiOut: this.#peerSpi,
      suite,
      keys: childKeys(sa, suite, this.#spiIn, this.#peerSpi, this.#nonceI, this.#nonceR, this.#shared),
      initiatedByUs: false,
      nonceI: this.#nonceI,
      nonceR: this.#nonceR,
      createdAt: sa.ctx.clock.now(),
      local: { ...sa.local },
      remote: { ...sa.remote },
      replaces: this.#replaces,
    });
    this.#shared?.fill(0);
    this.#child = child;
    sa.host.childPrepared(sa, child);
    const rest: V1Payload[] = [
      phase2Answer(selection, this.#spiIn),
      { kind: 'NONCE', data: this.#nonceR },
      ...(dh ? [{ kind: 'KE', data: dh.publicValue } as V1Payload] : []),
      ...ids,
    ];
    const mid = this.messageId;
    const nonceI = this.#nonceI;
    const plaintext = plaintextWithHash(rest, (bytes) => quickModeHash2(integrity, skeyidA, mid, nonceI, bytes));
    const bytes = sa.seal(ExchangeType.QUICK_MODE, mid, plaintext);
    this.answered(bytes);
    this.#state = 'sent';
    this.#flight = sa.startFlight(bytes, () => {
      // QM3 never came: no SA (the initiator's own retransmissions will tell it).
      sa.log.warn({ mid }, 'quick mode abandoned: no message 3');
      this.#state = 'failed';
      sa.host.childAbandoned(child, 'no quick mode message 3');
      forgetNow(sa, this);
    });
  }

  #qm3(m: Received): void {
    const sa = this.#sa;
    const { integrity, skeyidA } = phase1Material(sa);
    const child = this.#child;
    if (!child) return;
    if (!checkMessageRules('QM3', m.entries).ok) {
      sa.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const hash = m.entries[0]?.payload;
    const expected = quickModeHash3(integrity, skeyidA, this.messageId, this.#nonceI, this.#nonceR);
    if (hash?.kind !== 'HASH' || !equalHash(hash.data, expected)) {
      sa.host.countDrop(DropReason.BAD_ICV);
      return;
    }
    m.commit();
    this.accepted(m.data);
    this.#flight?.cancel();
    sa.noteAuthenticated(m);
    this.#state = 'done';
    lingerThenForget(sa, this);
    sa.host.childNegotiated(sa, child);
    if (this.#commitRequested) {
      // The initiator asked for key synchronisation (Commit bit): tell it the SA is in place.
      const spi = Buffer.alloc(4);
      spi.writeUInt32BE(this.#spiIn);
      sa.sendInformational([sa.notifyPayload(NotifyType.CONNECTED, ProtocolId.IPSEC_ESP, spi)]);
    }
  }

  #refuse(notifyType: number, peerSpi: Buffer, reason: string): void {
    const sa = this.#sa;
    sa.log.warn({ mid: this.messageId, reason }, 'quick mode refused');
    sa.sendInformational([sa.notifyPayload(notifyType, ProtocolId.IPSEC_ESP, peerSpi)]);
    this.#state = 'failed';
    this.#shared?.fill(0);
    lingerThenForget(sa, this);
  }
}
