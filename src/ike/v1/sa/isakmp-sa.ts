/**
 * One ISAKMP SA (phase 1): cookies, keys, endpoints, the exchanges running on it, and the
 * message plumbing they share.
 *
 * Receiving (every step may end in a counted drop; nothing throws to the caller):
 *
 *   1. exchange   Main Mode (ID 0) → the Main Mode task; Quick Mode → the exchange with that
 *                 Message ID, or a responder exchange the host builds for it (as IKEv2's
 *                 responderTaskFor: the SA knows no task class, so tasks may import the SA);
 *                 Informational → checked here, then handed to the host
 *   2. state gate no Quick Mode or protected Informational before phase 1 completed
 *                 (the IKEv1 analogue of CVE-2014-2338); plain notifies only during Main Mode
 *   3. duplicate  a datagram equal to the one the exchange last accepted is a retransmission:
 *                 the cached answer is sent again (RFC 2408 §4; no amplification: one for one)
 *   4. decrypt    with the exchange's IV, not committed until the message authenticated
 *   5. rules      per-message payload rules (wire/rules.ts), then the task (HASH first)
 *
 * Sending: a Flight retransmits a message on the exponential schedule of timing.ts until the
 * exchange moves on; when it runs out the exchange's owner decides (for our own Main Mode and
 * Quick Mode requests the SA is declared dead, as IKEv2 does).
 *
 * Liveness (RFC 3706): while the peer is silent for the DPD interval, R-U-THERE goes out every
 * interval with a fresh sequence number; any authenticated message resets the silence. The peer
 * is declared dead after interval × max(retries, 2) of silence (10 s × 3: 30 s, AWS's default
 * DPD timeout), having been probed at least once.
 */
import type { Logger } from 'pino';
import type { Endpoint, IkeDatagram, TimerHandle } from '../../runtime.js';
import { DropReason } from '../../drop-reasons.js';
import { PeerUnreachableError, describeError, type IkeError } from '../../errors.js';
import { retransmitTimeouts } from '../../timing.js';
import { ExchangeType, ISAKMP_SPI_LENGTH, NotifyType, ProtocolId, DOI_IPSEC } from '../constants.js';
import { InvalidPayloadTypeError } from '../wire/errors.js';
import { wipe } from '../../../crypto/bytes.js';
import { informationalHash, u32, type Phase1Keys } from '../crypto/keys.js';
import type { MessageProtection } from '../crypto/protection.js';
import type { Phase1Suite } from '../proposals.js';
import { equalHash, type Exchange, type Received } from '../tasks/exchange.js';
import type { QuickModeInitiator } from '../tasks/quick-mode.js';
import { NO_FLAGS, type HeaderFlags, type IsakmpHeaderFields } from '../wire/header.js';
import { bytesAfterFirst, decodePlaintext, encodePlainMessage, frameMessage, plaintextWithHash, type DecodedMessage } from '../wire/message.js';
import type { ChainEntry, V1Payload } from '../wire/payloads.js';
import { checkMessageRules } from '../wire/rules.js';
import type { IpsecSa } from './ipsec-sa.js';
import { hex, type V1Context } from './context.js';

export type IsakmpSaState =
  /** Main Mode in progress. */
  | 'connecting'
  | 'established'
  /** A newer ISAKMP SA took over; this one answers stragglers until it is deleted. */
  | 'replaced'
  | 'dead';

/** The SA's view of its owner (the connection). */
export interface IsakmpSaHost {
  readonly ctx: V1Context;
  established(sa: IsakmpSa, info: { readonly initialContact: boolean }): void;
  saDead(sa: IsakmpSa, error: IkeError): void;
  countDrop(reason: DropReason): void;
  countRetransmission(kind: 'request' | 'cached-response'): void;
  allocateChildId(): number;
  allocateSpi(): number;
  /** The IPsec SA a new quick mode replaces (the live one), if any. */
  liveChild(): IpsecSa | undefined;
  /**
   * As responder, after our QM2: the SA decrypts from now on (the initiator may send on it as
   * soon as it has sent QM3), it sends only once childNegotiated follows on QM3.
   */
  childPrepared(sa: IsakmpSa, child: IpsecSa): void;
  /** A prepared SA whose QM3 never came. */
  childAbandoned(child: IpsecSa, reason: string): void;
  childNegotiated(sa: IsakmpSa, child: IpsecSa): void;
  quickModeFailed(sa: IsakmpSa, task: QuickModeInitiator, error: IkeError): void;
  /** The peer deleted IPsec SAs: `spis` are its inbound SPIs, i.e. our outbound ones. */
  peerDeletedChildren(sa: IsakmpSa, spis: readonly number[]): void;
  peerDeletedIsakmp(sa: IsakmpSa): void;
  /** The responder exchange for the peer's new quick mode with `messageId`. */
  quickModeResponderFor(sa: IsakmpSa, messageId: number): Exchange;
  /** A protected Informational, its HASH(1) verified (RFC 2409 §5.7): the payloads after the HASH act. */
  informationalReceived(sa: IsakmpSa, entries: readonly ChainEntry[]): void;
}

export interface IsakmpSaParams {
  readonly originalInitiator: boolean;
  readonly cookieI: Buffer;
  readonly cookieR: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/** Bound on quick modes the peer may have open on one SA at once. */
const MAX_RESPONDER_QUICK_MODES = 8;
/** Informational and finished Quick Mode Message IDs remembered to drop duplicates and replays. */
const SEEN_INFORMATIONAL = 32;
const SEEN_QUICK_MODES = 64;
/** At most one INVALID-PAYLOAD-TYPE notify per SA in this period (RFC 2408 §5.2; no amplification). */
const INVALID_PAYLOAD_NOTIFY_INTERVAL_MS = 10_000;

let serialCounter = 0;

/** One message of ours, retransmitted on its schedule until cancelled or out of tries. */
export class Flight {
  #timer: TimerHandle | undefined;
  #attempt = 0;
  #done = false;
  readonly #sa: IsakmpSa;
  readonly #bytes: Buffer;
  readonly #timeouts: readonly number[];
  readonly #onExhausted: () => void;

  constructor(sa: IsakmpSa, bytes: Buffer, timeouts: readonly number[], onExhausted: () => void) {
    this.#sa = sa;
    this.#bytes = bytes;
    this.#timeouts = timeouts;
    this.#onExhausted = onExhausted;
  }

  start(): this {
    this.#sa.transmit(this.#bytes);
    this.#arm();
    return this;
  }

  #arm(): void {
    const timeout = this.#timeouts[this.#attempt];
    if (timeout === undefined) {
      this.#done = true;
      this.#onExhausted();
      return;
    }
    this.#timer = this.#sa.setTimer(timeout, () => {
      this.#timer = undefined;
      if (this.#done) return;
      this.#attempt += 1;
      if (this.#attempt >= this.#timeouts.length) {
        this.#done = true;
        this.#onExhausted();
        return;
      }
      this.#sa.retransmissions += 1;
      this.#sa.host.countRetransmission('request');
      this.#sa.transmit(this.#bytes);
      this.#arm();
    });
  }

  get transmissions(): number {
    return this.#attempt + 1;
  }

  cancel(): void {
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}

export class IsakmpSa {
  readonly serial = ++serialCounter;
  readonly host: IsakmpSaHost;
  readonly ctx: V1Context;
  readonly originalInitiator: boolean;
  readonly cookieI: Buffer;
  cookieR: Buffer;
  local: Endpoint;
  remote: Endpoint;
  state: IsakmpSaState = 'connecting';
  suite: Phase1Suite | undefined;
  keys: Phase1Keys | undefined;
  protection: MessageProtection | undefined;
  /** Vendor IDs the peer announced (RFC 3947 §3.1, RFC 3706 §4). */
  peerNatT = false;
  peerDpd = false;
  /** NAT detection (RFC 3947 §3.2): a NAT in front of us / in front of the peer (or its claim of one). */
  natLocal = false;
  natRemote = false;
  /** ESP goes in UDP (RFC 3947 §5): a NAT on either side, or we claimed one. */
  udp = false;
  establishedAt: number | undefined;
  rekeyAt: number | undefined;
  expiresAt: number | undefined;
  lastReceivedAt: number;
  retransmissions = 0;
  deathReason: IkeError | undefined;
  /** Send INITIAL-CONTACT in MM5 (first contact, not a phase 1 rekey). */
  initialContact = false;
  mainMode: Exchange | undefined;
  readonly quickModes = new Map<number, Exchange>();
  readonly log: Logger;
  readonly #timers = new Set<TimerHandle>();
  readonly #seenInformational: number[] = [];
  readonly #finishedQuickModes: number[] = [];
  #liveness: TimerHandle | undefined;
  #dpdSequence: number;
  readonly #dpdSent: number[] = [];
  #dpdProbes = 0;
  #invalidPayloadNotifiedAt = Number.NEGATIVE_INFINITY;

  constructor(host: IsakmpSaHost, params: IsakmpSaParams) {
    this.host = host;
    this.ctx = host.ctx;
    this.originalInitiator = params.originalInitiator;
    this.cookieI = params.cookieI;
    this.cookieR = params.cookieR;
    this.local = params.local;
    this.remote = params.remote;
    this.lastReceivedAt = this.ctx.clock.now();
    this.#dpdSequence = 1 + Math.floor(this.ctx.random.fraction() * 0x7fff_ffff);
    this.log = this.ctx.logger.child({ isakmp: this.serial });
  }

  describe(): Record<string, unknown> {
    return { cookieI: hex(this.cookieI), cookieR: hex(this.cookieR), state: this.state, initiator: this.originalInitiator };
  }

  matches(cookieI: Buffer, cookieR: Buffer): boolean {
    return this.cookieI.equals(cookieI) && this.cookieR.equals(cookieR);
  }

  get isAlive(): boolean {
    return this.state !== 'dead';
  }

  /** The 16-octet ISAKMP SPI of Notify/Delete payloads (RFC 2408 §3.14, §3.15). */
  get isakmpSpi(): Buffer {
    return Buffer.concat([this.cookieI, this.cookieR]);
  }

  /** `spi` (of a Notify or Delete) names this ISAKMP SA. */
  isOwnSpi(spi: Buffer): boolean {
    return spi.length === ISAKMP_SPI_LENGTH && spi.equals(this.isakmpSpi);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle = this.ctx.clock.setTimer(delayMs, () => {
      this.#timers.delete(handle);
      if (this.state === 'dead') return;
      try {
        callback();
      } catch (error) {
        this.log.error({ err: describeError(error) }, 'ISAKMP SA timer failed');
      }
    });
    this.#timers.add(handle);
    return {
      cancel: () => {
        handle.cancel();
        this.#timers.delete(handle);
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  transmit(bytes: Buffer): void {
    try {
      this.ctx.transport.send(this.local, this.remote, bytes);
    } catch (error) {
      this.log.warn({ err: describeError(error) }, 'send failed');
    }
  }

  header(exchangeType: number, messageId: number, flags: HeaderFlags = NO_FLAGS): IsakmpHeaderFields {
    return { cookieI: this.cookieI, cookieR: this.cookieR, exchangeType, flags, messageId };
  }

  encodePlain(exchangeType: number, messageId: number, payloads: readonly V1Payload[]): Buffer {
    return encodePlainMessage(this.header(exchangeType, messageId), payloads);
  }

  /** HDR* | E(plaintext) with the exchange's IV (the chain advances). */
  seal(exchangeType: number, messageId: number, plaintext: { firstType: number; bytes: Buffer }, flags: Partial<HeaderFlags> = {}): Buffer {
    const protection = this.protection;
    if (!protection) throw new Error('no keys to protect the message');
    const ciphertext = protection.seal(messageId, plaintext.bytes);
    return frameMessage(this.header(exchangeType, messageId, { ...NO_FLAGS, ...flags, encryption: true }), plaintext.firstType, ciphertext);
  }

  startFlight(bytes: Buffer, onExhausted: () => void, timeouts: readonly number[] = retransmitTimeouts(this.ctx.timing)): Flight {
    return new Flight(this, bytes, timeouts, onExhausted).start();
  }

  newMessageId(): number {
    for (;;) {
      const id = this.ctx.random.bytes(4).readUInt32BE(0);
      if (id !== 0 && !this.quickModes.has(id) && !this.#seenInformational.includes(id) && !this.#finishedQuickModes.includes(id)) return id;
    }
  }

  /** A quick mode is forgotten; its Message ID stays known so a replay is recognised. */
  forgetQuickMode(exchange: Exchange): void {
    if (this.quickModes.get(exchange.messageId) === exchange) this.quickModes.delete(exchange.messageId);
    this.protection?.chains.forget(exchange.messageId);
    if (!this.#finishedQuickModes.includes(exchange.messageId)) {
      this.#finishedQuickModes.push(exchange.messageId);
      if (this.#finishedQuickModes.length > SEEN_QUICK_MODES) this.#finishedQuickModes.shift();
    }
  }

  /** A protected Informational exchange (RFC 2409 §5.7): HASH(1) | N/D payloads, its own Message ID. */
  sendInformational(payloads: readonly V1Payload[]): void {
    const { keys, suite, protection } = this;
    if (!keys || !suite || !protection || this.state === 'dead') return;
    const messageId = this.newMessageId();
    const plaintext = plaintextWithHash(payloads, (rest) => informationalHash(suite.integrity, keys.skeyidA, messageId, rest));
    const bytes = this.seal(ExchangeType.INFORMATIONAL, messageId, plaintext);
    protection.chains.forget(messageId);
    this.transmit(bytes);
  }

  notifyPayload(notifyType: number, protocolId: number = ProtocolId.ISAKMP, spi: Buffer = this.isakmpSpi, data: Buffer = Buffer.alloc(0)): V1Payload {
    return { kind: 'N', doi: DOI_IPSEC, protocolId, spi, notifyType, data };
  }

  /** An unprotected notify, for failures before the keys exist (RFC 2408 §4.8 without SA protection). */
  sendPlainNotify(notifyType: number): void {
    const messageId = this.ctx.random.bytes(4).readUInt32BE(0) || 1;
    this.transmit(this.encodePlain(ExchangeType.INFORMATIONAL, messageId, [this.notifyPayload(notifyType)]));
  }

  sendDeleteIsakmp(): void {
    this.sendInformational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spis: [this.isakmpSpi] }]);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  receive(datagram: IkeDatagram, decoded: DecodedMessage): void {
    if (this.state === 'dead') {
      this.host.countDrop(DropReason.SA_CLOSED);
      return;
    }
    switch (decoded.header.exchangeType) {
      case ExchangeType.IDENTITY_PROTECTION:
        if (decoded.header.messageId !== 0) {
          this.host.countDrop(DropReason.HEADER_RULE);
          return;
        }
        this.#toExchange(this.mainMode, datagram, decoded);
        return;
      case ExchangeType.QUICK_MODE:
        this.#receiveQuickMode(datagram, decoded);
        return;
      case ExchangeType.INFORMATIONAL:
        this.#receiveInformational(datagram, decoded);
        return;
      default:
        this.host.countDrop(DropReason.EXCHANGE_NOT_ALLOWED);
    }
  }

  #toExchange(exchange: Exchange | undefined, datagram: IkeDatagram, decoded: DecodedMessage): void {
    if (!exchange) {
      this.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    if (exchange.isDuplicate(datagram.data)) {
      if (exchange.resendAnswer()) this.host.countRetransmission('cached-response');
      else this.host.countDrop(DropReason.STALE_RETRANSMISSION);
      return;
    }
    const message = this.#open(datagram, decoded, exchange);
    if (message) exchange.receive(message);
  }

  #open(datagram: IkeDatagram, decoded: DecodedMessage, exchange?: Exchange): Received | undefined {
    const base = { header: decoded.header, data: datagram.data, local: datagram.local, remote: datagram.remote };
    if (!decoded.encrypted) return { ...base, entries: decoded.entries, encrypted: false, commit: () => undefined };
    const protection = this.protection;
    if (!protection) {
      this.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return undefined;
    }
    let opened: { plaintext: Buffer; commit: () => void };
    try {
      opened = protection.open(decoded.header.messageId, decoded.body);
    } catch (error) {
      this.host.countDrop(DropReason.MALFORMED);
      exchange?.undecodable?.(error);
      return undefined;
    }
    try {
      return { ...base, entries: decodePlaintext(decoded.header, opened.plaintext), encrypted: true, commit: opened.commit };
    } catch (error) {
      // Garbage after decryption: the wrong key (a PSK mismatch in Main Mode), a forgery, or a
      // payload type this version does not know.
      this.host.countDrop(error instanceof InvalidPayloadTypeError ? DropReason.MALFORMED : DropReason.BAD_ICV);
      if (exchange?.undecodable) exchange.undecodable(error);
      else if (error instanceof InvalidPayloadTypeError) this.#notifyInvalidPayload();
      return undefined;
    }
  }

  /** RFC 2408 §5.2: INVALID-PAYLOAD-TYPE, protected, rate-limited. */
  #notifyInvalidPayload(): void {
    if (this.state !== 'established') return;
    const now = this.ctx.clock.now();
    if (now - this.#invalidPayloadNotifiedAt < INVALID_PAYLOAD_NOTIFY_INTERVAL_MS) return;
    this.#invalidPayloadNotifiedAt = now;
    this.sendInformational([this.notifyPayload(NotifyType.INVALID_PAYLOAD_TYPE)]);
  }

  #receiveQuickMode(datagram: IkeDatagram, decoded: DecodedMessage): void {
    const messageId = decoded.header.messageId;
    if (messageId === 0 || !decoded.encrypted) {
      this.host.countDrop(DropReason.HEADER_RULE);
      return;
    }
    if (this.state !== 'established' && this.state !== 'replaced') {
      this.host.countDrop(DropReason.EXCHANGE_NOT_ALLOWED);
      return;
    }
    const existing = this.quickModes.get(messageId);
    if (existing) {
      this.#toExchange(existing, datagram, decoded);
      return;
    }
    if (this.#finishedQuickModes.includes(messageId)) {
      // A replay of a quick mode long finished: its Message ID is never reused (RFC 2408 §3.1).
      this.host.countDrop(DropReason.STALE_RETRANSMISSION);
      return;
    }
    const open = [...this.quickModes.values()].filter((q) => q.role === 'responder' && !q.finished).length;
    if (open >= MAX_RESPONDER_QUICK_MODES) {
      this.host.countDrop(DropReason.UNSUPPORTED);
      return;
    }
    const message = this.#open(datagram, decoded);
    if (!message) return;
    this.host.quickModeResponderFor(this, messageId).receive(message);
  }

  #receiveInformational(datagram: IkeDatagram, decoded: DecodedMessage): void {
    if (!decoded.encrypted) {
      if (this.state !== 'connecting' || !this.mainMode || !checkMessageRules('INFO_PLAIN', decoded.entries).ok) {
        this.host.countDrop(this.state === 'connecting' ? DropReason.PAYLOAD_RULE : DropReason.EXCHANGE_NOT_ALLOWED);
        return;
      }
      this.mainMode.plainNotify?.(decoded.entries);
      return;
    }
    const messageId = decoded.header.messageId;
    const { keys, suite } = this;
    if (messageId === 0 || !keys || !suite) {
      this.host.countDrop(messageId === 0 ? DropReason.HEADER_RULE : DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    if (this.#seenInformational.includes(messageId)) {
      this.host.countDrop(DropReason.STALE_RETRANSMISSION);
      return;
    }
    const message = this.#open(datagram, decoded);
    if (!message) return;
    if (!checkMessageRules('INFO', message.entries).ok) {
      this.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const hash = message.entries[0]?.payload;
    const expected = informationalHash(suite.integrity, keys.skeyidA, messageId, bytesAfterFirst(message.entries));
    if (hash?.kind !== 'HASH' || !equalHash(hash.data, expected)) {
      this.host.countDrop(DropReason.BAD_ICV);
      return;
    }
    this.protection?.chains.forget(messageId);
    this.#seenInformational.push(messageId);
    if (this.#seenInformational.length > SEEN_INFORMATIONAL) this.#seenInformational.shift();
    this.noteAuthenticated(message);
    this.host.informationalReceived(this, message.entries);
  }

  /** A message authenticated: the peer is alive, and behind a NAT its address may have moved (RFC 3947 §4). */
  noteAuthenticated(message: Pick<Received, 'local' | 'remote'>): void {
    this.lastReceivedAt = this.ctx.clock.now();
    this.#dpdProbes = 0;
    if (this.udp && this.state !== 'connecting') {
      this.local = { ...message.local };
      this.remote = { ...message.remote };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Dead peer detection (RFC 3706)

  startLiveness(): void {
    if (this.#liveness || this.state !== 'established') return;
    this.#armLiveness(this.lastReceivedAt + this.#intervalMs - this.ctx.clock.now());
  }

  stopLiveness(): void {
    this.#liveness?.cancel();
    this.#liveness = undefined;
  }

  get #intervalMs(): number {
    return Math.max(1, this.ctx.timing.dpdIntervalSeconds) * 1000;
  }

  #armLiveness(delayMs: number): void {
    this.#liveness?.cancel();
    this.#liveness = this.setTimer(Math.max(1, delayMs), () => {
      this.#liveness = undefined;
      this.#livenessDue();
    });
  }

  #livenessDue(): void {
    if (this.state !== 'established') return;
    const interval = this.#intervalMs;
    const silence = this.ctx.clock.now() - this.lastReceivedAt;
    if (silence < interval) {
      this.#armLiveness(interval - silence);
      return;
    }
    const deadline = interval * Math.max(2, this.ctx.timing.dpdRetries);
    if (silence >= deadline && this.#dpdProbes > 0) {
      this.log.warn({ silenceMs: silence, probes: this.#dpdProbes }, 'peer did not answer R-U-THERE: dead');
      this.die(new PeerUnreachableError('R-U-THERE (DPD)', this.#dpdProbes));
      return;
    }
    const next = (Math.floor(silence / interval) + 1) * interval - silence;
    if (!this.peerDpd) {
      this.#armLiveness(next);
      return;
    }
    const sequence = this.#dpdSequence;
    this.#dpdSequence = (this.#dpdSequence + 1) >>> 0 || 1;
    this.#dpdSent.push(sequence);
    if (this.#dpdSent.length > 8) this.#dpdSent.shift();
    this.#dpdProbes += 1;
    this.sendInformational([this.notifyPayload(NotifyType.R_U_THERE, ProtocolId.ISAKMP, this.isakmpSpi, u32(sequence))]);
    this.#armLiveness(next);
  }

  /**
   * One R-U-THERE now, whatever the silence (a suspected NAT rebinding: see
   * IkeConnection.checkNatMapping). It does not count towards declaring the peer dead.
   */
  livenessNow(): boolean {
    if (this.state !== 'established' || !this.peerDpd) return false;
    const sequence = this.#dpdSequence;
    this.#dpdSequence = (this.#dpdSequence + 1) >>> 0 || 1;
    this.#dpdSent.push(sequence);
    if (this.#dpdSent.length > 8) this.#dpdSent.shift();
    this.sendInformational([this.notifyPayload(NotifyType.R_U_THERE, ProtocolId.ISAKMP, this.isakmpSpi, u32(sequence))]);
    return true;
  }

  /** An R-U-THERE-ACK: its sequence number must be one we sent (RFC 3706 §5.3). */
  dpdAcknowledged(sequence: number): boolean {
    return this.#dpdSent.includes(sequence);
  }

  // -------------------------------------------------------------------------------------------
  // End of life

  die(error: IkeError): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deathReason = error;
    this.stopLiveness();
    for (const timer of [...this.#timers]) timer.cancel();
    this.#timers.clear();
    this.mainMode?.abort();
    for (const exchange of this.quickModes.values()) exchange.abort();
    this.quickModes.clear();
    // SKEYID, SKEYID_d, SKEYID_a and Ka die with the SA: the IPsec SAs it made have their own keys.
    if (this.keys) wipe(...Object.values(this.keys));
    // A responder SA whose initiator never got past MM1 is not worth a line each (floods).
    const quiet = !this.originalInitiator && this.establishedAt === undefined;
    this.log[quiet ? 'debug' : 'info']({ sa: this.describe(), code: error.code }, 'ISAKMP SA gone');
    this.host.saDead(this, error);
  }

  /** Tells the peer (protected Delete, RFC 2408 §3.15) and ends the SA. */
  closeWithDelete(error: IkeError): void {
    if (this.state === 'established' || this.state === 'replaced') this.sendDeleteIsakmp();
    this.die(error);
  }
}
