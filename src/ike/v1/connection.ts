/**
 * One AWS tunnel's IKEv1 side: the IKEv1 driver on the version-neutral floor of
 * src/ike/connection (base.ts: the lifecycle with reconnect, NAT keepalive, counters, stop,
 * events and status; the CHILD SA ledger), with the same options, events and status as
 * IkeV2Connection, so the daemon picks either by configuration.
 *
 *   start() ─► initiator: Main Mode ─► Quick Mode (one ESP SA pair, 0.0.0.0/0 ↔ 0.0.0.0/0)
 *              responder: waits for the peer's Main Mode and Quick Mode
 *   established ─► phase 2 rekey (a new quick mode, PFS) at lifetime − margin − fuzz, by
 *                  either side; phase 1 re-established (a new Main Mode) the same way, the
 *                  IPsec SA untouched, the old ISAKMP SA deleted; DPD while the peer is silent
 *   failure / peer death (DPD, retransmissions exhausted) ─► every IPsec SA removed from the
 *              data plane ─► re-initiate after a capped, jittered exponential backoff, for ever
 *              (initiator role); a peer's Delete of the ISAKMP SA alone leaves the IPsec SA in
 *              place (IKEv1 SAs are independent, RFC 2409 §5.5) and phase 1 is re-established
 *   stop()   ─► Delete of the IPsec SAs and the ISAKMP SA (Informational, no answer) ─► gone
 *
 * IPsec SAs belong to the connection, not to an ISAKMP SA: whichever ISAKMP SA is current
 * rekeys and deletes them. Make-before-break: a new SA is installed (inbound, and outbound
 * switched) before the old one's Delete is sent, and the old inbound lives a grace period.
 * When we initiated the quick mode, the responder installs only on our QM3 (RFC 2409 §5.5):
 * our new SA decrypts at once but sends only OUTBOUND_HOLD_MS later, and the old one's Delete
 * waits as long, so no packet reaches the peer on an SA it has not installed yet.
 * Simultaneous phase 2 rekeys both complete; the SA whose exchange had the lowest nonce is
 * redundant and deleted by whoever initiated it (the RFC 7296 §2.8.1 rule, applied to IKEv1).
 *
 * handleDatagram() never throws: each problem is a counted drop (status().counters.drops).
 *
 * Where IKEv1 differs from IKEv2 on purpose: lifetimes are negotiated (timing.ts SaLifetime);
 * the IPsec SAs outlive their ISAKMP SA; a rekey is a new, independent quick mode, so a
 * collision is recognised by time (COLLISION_WINDOW_MS) rather than by the exchange; stop()
 * sends its Deletes without waiting for answers (IKEv1 Informationals have none).
 */
import type { Logger } from 'pino';
import type { DhGroupNumber } from '../../crypto/transforms.js';
import { RefusalSummary } from '../connection/admission.js';
import { IkeConnectionBase } from '../connection/base.js';
import { setChildTimer } from '../connection/child-ledger.js';
import { connectionContext } from '../connection/context.js';
import type { IkeConnectionOptions } from '../connection/options.js';
import { childSaStatus, ikeSaStatus, spiText, type IkeSaStatus } from '../connection/status.js';
import { DropReason } from '../drop-reasons.js';
import {
  HalfOpenEvictedError,
  LifetimeExpiredError,
  LocalCloseError,
  NoProposalChosenError,
  PeerDeletedError,
  PeerUnreachableError,
  ReplacedError,
  describeError,
  type IkeError,
} from '../errors.js';
import { proposalPolicyFor } from '../proposals/policy.js';
import { describeChildSuite, describeIkeSuite } from '../proposals/suites.js';
import type { Endpoint, IkeDatagram, TimerHandle } from '../runtime.js';
import { ourChildLifetime, ourIkeLifetime, saSchedule, type SaLifetime, type SaSchedule } from '../timing.js';
import { COOKIE_LENGTH, DOI_IPSEC, ExchangeType, ISAKMP_HEADER_LENGTH, MIN_ESP_SPI, ProtocolId } from './constants.js';
import { IsakmpVersionError, V1WireErrorCode, WireError } from './wire/errors.js';
import { asChildSuite, asIkeSuite, describePhase1, pfsGroupsOf, phase1Choices, phase2Choices } from './proposals.js';
import { hex, type V1Context } from './sa/context.js';
import type { IpsecSa } from './sa/ipsec-sa.js';
import { IsakmpSa, type IsakmpSaHost } from './sa/isakmp-sa.js';
import { u32 } from './crypto/keys.js';
import type { Exchange } from './tasks/exchange.js';
import { handleInformational } from './tasks/informational.js';
import { MainModeInitiator, MainModeResponder } from './tasks/main-mode.js';
import { QuickModeInitiator, QuickModeResponder } from './tasks/quick-mode.js';
import type { ChainEntry } from './wire/payloads.js';
import { decodeMessage, type DecodedMessage } from './wire/message.js';
import { checkMessageRules } from './wire/rules.js';

const ZERO_COOKIE = Buffer.alloc(COOKIE_LENGTH);
/**
 * Two IPsec SAs completed within this time of each other are a rekey collision (see
 * childNegotiated): longer than a quick mode with a few retransmissions takes, far shorter than
 * any rekey interval (AWS lifetimes are at least 900 s).
 */
export const COLLISION_WINDOW_MS = 20_000;
/** How long a peer's Delete for an SPI we do not know yet is remembered (see childNegotiated). */
const EARLY_DELETE_MEMORY_MS = 10_000;
/**
 * After a quick mode of ours, how long the old SA keeps sending (see childNegotiated). The peer
 * installs on QM3 in a few milliseconds (strongSwan's userspace ESP is the slowest seen, yet
 * it lost a ping now and then when we switched at once); the old SA costs nothing meanwhile.
 */
const OUTBOUND_HOLD_MS = 500;
/** Between our Delete of the IPsec SAs and of the ISAKMP SA (see #sendDeletes). */
const DELETE_SPACING_MS = 200;
/**
 * Responder Main Modes still open. IKEv1 has no stateless cookie exchange, so the bound alone
 * would let 64 spoofed MM1s lock the configured peer out for the half-open timeout. Instead
 * (see #admitMainMode): an SA whose initiator has not yet answered our MM2 with a valid MM3 is
 * "unverified" (it never proved it receives at its address) and may give its slot to a newer
 * MM1 — oldest first, those from other sources than the configured peer before the peer's own;
 * each source endpoint holds at most MAX_HALF_OPEN_PER_SOURCE unverified ones; sources other
 * than the configured peer share MAX_HALF_OPEN_OTHER_SOURCES and are refused beyond it.
 */
const MAX_HALF_OPEN = 64;
const MAX_HALF_OPEN_PER_SOURCE = 16;
const MAX_HALF_OPEN_OTHER_SOURCES = 16;

/** IKEv1 lifetimes are what the exchange agreed on (RFC 2407 §4.5; timing.ts SaLifetime). */
function agreed(seconds: number): SaLifetime {
  return { rule: 'negotiated', agreedSeconds: seconds };
}

interface ChildBookkeeping {
  /** The quick mode rekeying it, while one runs. */
  rekeyTask?: QuickModeInitiator;
}

/** A responder Main Mode whose initiator never answered our MM2 (possibly a spoofed source). */
function isUnverified(sa: IsakmpSa): boolean {
  return !sa.originalInitiator && !sa.establishedAt && sa.mainMode instanceof MainModeResponder && !sa.mainMode.verified;
}

export class IkeV1Connection extends IkeConnectionBase<IsakmpSa, V1Context> implements IsakmpSaHost {
  readonly #options: IkeConnectionOptions;
  readonly #log: Logger;
  /** Unverified Main Modes that died or were refused: one line, then a summary per period. */
  readonly #refusals: RefusalSummary;
  /** For a phase 1 re-establishment we started: the ISAKMP SA it replaces. */
  readonly #rekeyOf = new WeakMap<IsakmpSa, IsakmpSa>();
  /** The IPsec SAs, oldest first: the connection's, not an ISAKMP SA's (RFC 2409 §5.5). */
  readonly #children: IpsecSa[] = [];
  readonly #bookkeeping = new WeakMap<IpsecSa, ChildBookkeeping>();
  #childIds = 0;
  #pfsIndex = 0;
  #childCreateTimer: TimerHandle | undefined;
  /** The peer's Deletes for SPIs we do not know yet (a Delete that overtook its QM3), with their time. */
  readonly #earlyDeletes = new Map<number, number>();

  constructor(options: IkeConnectionOptions) {
    const log = options.logger.child({ tunnel: options.tunnel.index, role: options.role, ike: 'v1' });
    const policy = options.policy ?? proposalPolicyFor(options.tunnel);
    const phase1 = phase1Choices(policy, options.policy ? undefined : options.tunnel);
    if (phase1.length === 0) throw new Error(`tunnel ${options.tunnel.index}: no IKEv1 phase 1 suite (IKEv1 cannot use AES-GCM for the ISAKMP SA)`);
    const phase2 = phase2Choices(policy);
    if (phase2.length === 0) throw new Error(`tunnel ${options.tunnel.index}: no ESP suite for quick mode`);
    super(options, { ...connectionContext(options, policy, log), phase1, phase2, pfsGroups: pfsGroupsOf(policy) }, 'main mode');
    this.#options = options;
    this.#log = log;
    this.#refusals = new RefusalSummary(this.ctx.clock, log, 'Main Mode (unanswered MM1s)');
  }

  // -------------------------------------------------------------------------------------------
  // IkeConnection: the driver's half

  /** Starts a phase 2 rekey now (CLI, lab, tests). */
  rekeyChild(): boolean {
    const child = this.#liveInstalled();
    if (!child || this.life.current?.state !== 'established') return false;
    this.#childRekeyDue(child);
    return child.state === 'rekeying';
  }

  /** Re-establishes phase 1 now (a new Main Mode; the IPsec SA stays). */
  rekeyIke(): boolean {
    const current = this.life.current;
    if (!current || current.state !== 'established' || this.life.connecting) return false;
    this.#initiateMainMode(current);
    return true;
  }

  /** Deletes the live IPsec SA (tests; an initiator creates a new one). */
  deleteChild(): boolean {
    const child = this.#liveInstalled();
    if (!child || this.life.current?.state !== 'established') return false;
    this.#deleteChild(child, 'deleted locally', 0);
    return true;
  }

  /** Deletes the ISAKMP SA and its IPsec SA without stopping: the initiator re-initiates. */
  deleteIke(): boolean {
    const current = this.life.current;
    if (!current || current.state !== 'established') return false;
    this.#sendDeletes(current, () => current.die(new LocalCloseError('deleted locally')));
    this.#forgetAllChildren('deleted locally');
    return true;
  }

  checkNatMapping(): boolean {
    const current = this.life.current;
    if (!current || current.state !== 'established' || !current.natLocal) return false;
    return current.livenessNow();
  }

  /** A new quick mode replacing the exhausting IPsec SA, unless one is running (see IkeConnection). */
  childSaExhausting(childId: number): boolean {
    const child = this.#liveInstalled();
    if (!child || child.id !== childId || this.life.current?.state !== 'established') return false;
    this.#log.info({ child: child.id }, 'outbound sequence numbers running out: rekeying the IPsec SA');
    this.#childRekeyDue(child);
    return child.state === 'rekeying';
  }

  protected ikeSaStatuses(): IkeSaStatus[] {
    const holder = this.life.current ?? this.life.connecting ?? [...this.life.sas][0];
    const children = this.#children.map((c) => childSaStatus(c, describeChildSuite(asChildSuite(c.suite))));
    return [...this.life.sas].map((sa) =>
      ikeSaStatus(sa, {
        spiI: hex(sa.cookieI),
        spiR: hex(sa.cookieR),
        current: sa === this.life.current,
        suite: sa.suite ? describeIkeSuite(asIkeSuite(sa.suite)) : undefined,
        // IKEv1 has no message-ID windows (RFC 2408 §3.1: Message IDs are random per exchange).
        nextRequestId: 0,
        expectedRequestId: 0,
        activeTask: sa.mainMode && !sa.mainMode.finished ? 'MAIN_MODE' : [...sa.quickModes.values()].some((q) => !q.finished) ? 'QUICK_MODE' : undefined,
        queuedTasks: [],
        children: sa === holder ? children : [],
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  protected receive(datagram: IkeDatagram): void {
    if (this.life.phase === 'stopped' || this.life.phase === 'idle') {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    if (datagram.data.length < ISAKMP_HEADER_LENGTH) {
      this.countDrop(DropReason.TRUNCATED);
      return;
    }
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(datagram.data);
    } catch (error) {
      this.#undecodable(error);
      return;
    }
    const h = decoded.header;
    const sa = [...this.life.sas].find((s) => s.matches(h.cookieI, h.cookieR));
    if (sa) {
      sa.receive(datagram, decoded);
      return;
    }
    // Our Main Mode waiting for MM2 (or for a plain notify refusing MM1).
    const waiting = [...this.life.sas].find((s) => s.originalInitiator && s.state === 'connecting' && s.cookieI.equals(h.cookieI) && s.cookieR.equals(ZERO_COOKIE));
    if (waiting && !decoded.encrypted && (h.exchangeType === ExchangeType.IDENTITY_PROTECTION || h.exchangeType === ExchangeType.INFORMATIONAL)) {
      if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION) {
        if (h.cookieR.equals(ZERO_COOKIE)) {
          this.countDrop(DropReason.HEADER_RULE);
          return;
        }
        waiting.cookieR = Buffer.from(h.cookieR);
      }
      waiting.receive(datagram, decoded);
      return;
    }
    if (h.exchangeType === ExchangeType.IDENTITY_PROTECTION && h.cookieR.equals(ZERO_COOKIE) && !decoded.encrypted) {
      this.#mainModeRequest(datagram, decoded);
      return;
    }
    // No answer (INVALID-COOKIE would be unauthenticated and could amplify).
    this.countDrop(DropReason.UNKNOWN_SPI);
  }

  #undecodable(error: unknown): void {
    if (error instanceof IsakmpVersionError) {
      // An IKEv2 message (or a future version) reached the IKEv1 connection (CVE-2015-3991).
      this.countDrop(DropReason.INVALID_MAJOR_VERSION);
      return;
    }
    const truncated = error instanceof WireError && (error.code === V1WireErrorCode.TRUNCATED || error.code === V1WireErrorCode.LENGTH_MISMATCH);
    this.countDrop(truncated ? DropReason.TRUNCATED : DropReason.MALFORMED);
  }

  #mainModeRequest(datagram: IkeDatagram, decoded: DecodedMessage): void {
    if (!this.life.running || decoded.encrypted) {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    const h = decoded.header;
    const existing = [...this.life.sas].find((s) => !s.originalInitiator && s.cookieI.equals(h.cookieI));
    if (existing) {
      existing.receive(datagram, decoded);
      return;
    }
    // Unauthenticated: an MM1 that breaks the rules creates no state and gets no answer.
    if (!checkMessageRules('MM1', decoded.entries).ok) {
      this.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    if (!this.#admitMainMode(datagram.remote)) {
      this.countDrop(DropReason.COOKIE_REQUIRED);
      this.#refusals.note('half-open-full', { source: datagram.remote.address });
      return;
    }
    const sa = new IsakmpSa(this, {
      originalInitiator: false,
      cookieI: Buffer.from(h.cookieI),
      cookieR: this.#newCookie(),
      local: { ...datagram.local },
      remote: { ...datagram.remote },
    });
    const mainMode = new MainModeResponder(sa);
    sa.mainMode = mainMode;
    sa.receive(datagram, decoded);
    if (mainMode.state !== 'sa-sent' || sa.state === 'dead') return; // refused
    this.life.registerHalfOpen(sa);
  }

  /** Makes room for a new responder Main Mode from `source`, or says there is none (see MAX_HALF_OPEN). */
  #admitMainMode(source: Endpoint): boolean {
    const peer = this.#options.remote.address;
    const halfOpen = [...this.life.sas].filter((s) => !s.originalInitiator && s.state === 'connecting');
    const unverified = halfOpen.filter(isUnverified);
    const sameSource = unverified.filter((s) => s.remote.address === source.address && s.remote.port === source.port);
    if (source.address !== peer && halfOpen.filter((s) => s.remote.address !== peer).length >= MAX_HALF_OPEN_OTHER_SOURCES) return false;
    if (sameSource.length >= MAX_HALF_OPEN_PER_SOURCE) {
      this.#evict(sameSource[0]);
      return true;
    }
    if (halfOpen.length < MAX_HALF_OPEN) return true;
    const victim = unverified.find((s) => s.remote.address !== peer) ?? (source.address === peer ? unverified[0] : undefined);
    if (!victim) return false;
    this.#evict(victim);
    return true;
  }

  #evict(sa: IsakmpSa | undefined): void {
    if (!sa) return;
    this.countDrop(DropReason.HALF_OPEN_EVICTED);
    sa.die(new HalfOpenEvictedError('main mode'));
  }

  #newCookie(): Buffer {
    for (;;) {
      const cookie = this.ctx.random.bytes(COOKIE_LENGTH);
      if (!cookie.equals(ZERO_COOKIE)) return cookie;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Phase 1 lifecycle

  protected initiate(): void {
    this.#initiateMainMode(undefined);
  }

  /**
   * A Main Mode of ours (the lifecycle's `connecting` SA until it is established): first
   * contact, a reconnect, or re-establishing phase 1 in place of `rekeyOf`.
   */
  #initiateMainMode(rekeyOf: IsakmpSa | undefined): void {
    if (!this.life.running) return;
    const sa = new IsakmpSa(this, {
      originalInitiator: true,
      cookieI: this.#newCookie(),
      cookieR: Buffer.from(ZERO_COOKIE),
      // Re-establishing: from where the current SA talks (port 4500 after the float, the peer's
      // NAT mapping), as strongSwan does; else the configured endpoints on port 500.
      local: { ...(rekeyOf ?? this.#options).local },
      remote: { ...(rekeyOf ?? this.#options).remote },
    });
    // INITIAL-CONTACT tells the peer to drop what it has with us (RFC 2407 §4.6.3.3): only when
    // we have no IPsec SA we mean to keep, never when re-establishing phase 1.
    sa.initialContact = !rekeyOf && !this.#children.some((c) => c.isLive);
    if (rekeyOf) this.#rekeyOf.set(sa, rekeyOf);
    const mainMode = new MainModeInitiator(sa);
    sa.mainMode = mainMode;
    this.life.sas.add(sa);
    this.life.connecting = sa;
    this.#log.info({ cookieI: hex(sa.cookieI), attempt: this.life.reconnectAttempts, reestablish: rekeyOf !== undefined }, 'initiating main mode');
    mainMode.start();
  }

  established(sa: IsakmpSa, info: { readonly initialContact: boolean }): void {
    const suite = sa.suite;
    const keys = sa.keys;
    if (!suite || !keys) return;
    const now = this.ctx.clock.now();
    sa.state = 'established';
    sa.establishedAt = now;
    this.life.count('ikeSasEstablished');
    if (this.life.connecting === sa) this.life.connecting = undefined;
    this.ctx.keylog?.({
      kind: 'ike',
      spiI: hex(sa.cookieI),
      spiR: hex(sa.cookieR),
      originalInitiator: sa.originalInitiator,
      suite: asIkeSuite(suite),
      // IKEv1 keys in the IKEv2 keylog shape: SK_d = SKEYID_d, SK_a* = SKEYID_a, SK_e* = Ka, SK_p* = SKEYID.
      // Copies: the ISAKMP SA wipes its own when it dies.
      keys: { skD: Buffer.from(keys.skeyidD), skAi: Buffer.from(keys.skeyidA), skAr: Buffer.from(keys.skeyidA), skEi: Buffer.from(keys.encKey), skEr: Buffer.from(keys.encKey), skPi: Buffer.from(keys.skeyid), skPr: Buffer.from(keys.skeyid) },
    });
    this.#log.info({ sa: sa.describe(), suite: describePhase1(suite), natLocal: sa.natLocal, natRemote: sa.natRemote, udp: sa.udp }, 'ISAKMP SA established');

    const previous = this.life.current !== sa && this.life.current?.isAlive ? this.life.current : undefined;
    // The new SA is current before anything happens to the old one: deleting the old ISAKMP SA
    // must not look like losing the tunnel (its IPsec SAs stay, RFC 2409 §5.5).
    this.life.current = sa;
    let rekeyed = false;
    if (info.initialContact) {
      // The peer restarted: every SA it had with us is gone on its side.
      for (const other of [...this.life.sas]) if (other !== sa && other !== this.life.connecting) other.die(new ReplacedError('the peer restarted (INITIAL-CONTACT)'));
      this.#forgetAllChildren('the peer restarted (INITIAL-CONTACT)');
    } else if (previous && (previous.state === 'established' || previous.state === 'replaced')) {
      rekeyed = true;
      previous.state = 'replaced';
      previous.stopLiveness();
      this.life.count('ikeRekeys');
      this.life.emit('ike-rekeyed', {
        oldSpiI: hex(previous.cookieI),
        oldSpiR: hex(previous.cookieR),
        spiI: hex(sa.cookieI),
        spiR: hex(sa.cookieR),
        initiatedByUs: sa.originalInitiator,
      });
      const intended = this.#rekeyOf.get(sa);
      if (intended && intended !== previous && intended.isAlive) intended.closeWithDelete(new ReplacedError('phase 1 re-established'));
      if (sa.originalInitiator && intended === previous) {
        previous.closeWithDelete(new ReplacedError('phase 1 re-established'));
      } else {
        // The peer's new SA (or a collision): the peer deletes the old one; if it never does, we do.
        if (intended && intended !== previous) this.life.count('ikeRekeyCollisions');
        previous.setTimer(this.ctx.timing.rekeyedIkeSaLingerMs, () => {
          if (previous.state === 'replaced') previous.closeWithDelete(new ReplacedError('peer never deleted the replaced ISAKMP SA'));
        });
      }
    }
    this.life.resetBackoff();
    this.#armIsakmpTimers(sa);
    sa.startLiveness();
    this.life.armNatKeepalive();
    if (!rekeyed) {
      this.life.emit('ike-up', {
        spiI: hex(sa.cookieI),
        spiR: hex(sa.cookieR),
        suite: describeIkeSuite(asIkeSuite(suite)),
        initiatedByUs: sa.originalInitiator,
        natLocal: sa.natLocal,
        natRemote: sa.natRemote,
      });
    }
    if (!this.#children.some((c) => c.isLive)) this.#createChild();
  }

  saDead(sa: IsakmpSa, error: IkeError): void {
    if (!this.life.sas.delete(sa)) {
      // A Main Mode refused on its first message: never registered, nothing to undo.
      this.life.noteError(error);
      return;
    }
    const wasCurrent = sa === this.life.current;
    const wasConnecting = sa === this.life.connecting;
    if (wasConnecting) this.life.connecting = undefined;
    for (const child of this.#children) {
      const task = this.#bookkeeping.get(child)?.rekeyTask;
      if (task && !this.#isRunningOn(task)) this.#rekeyAbandoned(child);
    }
    const rekeyOf = this.#rekeyOf.get(sa);
    if (wasCurrent && this.#promoteSurvivor(sa, error)) {
      // Another ISAKMP SA with the peer carries on (crossed phase 1 re-establishments).
    } else if (wasCurrent) {
      this.life.current = undefined;
      this.life.stopNatKeepalive();
      // IKEv1 IPsec SAs outlive their ISAKMP SA (RFC 2409 §5.5): a Delete, a replacement or an
      // expiry of the ISAKMP SA alone leaves them; a dead peer takes them along (a restarted
      // one too: INITIAL-CONTACT removes them in established()).
      const keepChildren = error instanceof PeerDeletedError || error instanceof LifetimeExpiredError || error instanceof ReplacedError;
      if (!keepChildren) this.#forgetAllChildren(`ISAKMP SA down: ${error.code}`);
      this.life.noteError(error);
      this.life.emit('ike-down', { spiI: hex(sa.cookieI), spiR: hex(sa.cookieR), established: true, code: error.code, reason: error.message });
    } else if (isUnverified(sa)) {
      // Unanswered MM1s (spoofed, or a peer that went away) are no tunnel event: summarised only.
      this.#refusals.note(error.code === 'IKE_HALF_OPEN_EVICTED' ? 'evicted' : 'unanswered');
    } else if (!sa.establishedAt && (wasConnecting || !sa.originalInitiator)) {
      this.life.noteError(error);
      if (rekeyOf && this.life.current?.state === 'established') {
        this.#log.warn({ code: error.code, reason: error.message }, 'phase 1 re-establishment failed; will retry');
        const current = this.life.current;
        current.setTimer(this.ctx.timing.rekeyRetryMs, () => this.#isakmpRekeyDue(current));
      } else {
        this.life.emit('ike-down', { spiI: hex(sa.cookieI), spiR: hex(sa.cookieR), established: false, code: error.code, reason: error.message });
      }
    }
    this.life.reconnectIfIdle();
  }

  /**
   * The current ISAKMP SA was deleted or replaced while another established one with the peer
   * survives (both sides re-established phase 1 at once and each deleted the other's): that one
   * becomes current. Not after a dead peer: its other SAs are as dead.
   */
  #promoteSurvivor(dead: IsakmpSa, error: IkeError): boolean {
    if (!(error instanceof PeerDeletedError || error instanceof ReplacedError || error instanceof LifetimeExpiredError) || !this.life.running) return false;
    const survivor = [...this.life.sas]
      .filter((s) => s.state === 'established' || s.state === 'replaced')
      .sort((a, b) => (b.establishedAt ?? 0) - (a.establishedAt ?? 0))[0];
    if (!survivor) return false;
    survivor.state = 'established';
    this.life.current = survivor;
    survivor.startLiveness();
    this.life.armNatKeepalive();
    this.life.count('ikeRekeys');
    this.#log.info({ dead: dead.describe(), current: survivor.describe() }, 'another ISAKMP SA with the peer takes over');
    this.life.emit('ike-rekeyed', {
      oldSpiI: hex(dead.cookieI),
      oldSpiR: hex(dead.cookieR),
      spiI: hex(survivor.cookieI),
      spiR: hex(survivor.cookieR),
      initiatedByUs: survivor.originalInitiator,
    });
    if (survivor.rekeyAt !== undefined && survivor.rekeyAt <= this.ctx.clock.now()) survivor.setTimer(0, () => this.#isakmpRekeyDue(survivor));
    return true;
  }

  #armIsakmpTimers(sa: IsakmpSa): void {
    const suite = sa.suite;
    if (!suite) return;
    const now = this.ctx.clock.now();
    const schedule = saSchedule(agreed(suite.lifetimeSeconds), ourIkeLifetime(this.ctx.timing), this.ctx.random);
    sa.rekeyAt = now + schedule.rekeySeconds * 1000;
    sa.expiresAt = now + schedule.hardLifetimeSeconds * 1000;
    sa.setTimer(schedule.rekeySeconds * 1000, () => this.#isakmpRekeyDue(sa));
    sa.setTimer(schedule.hardLifetimeSeconds * 1000, () => sa.closeWithDelete(new LifetimeExpiredError('ISAKMP SA')));
  }

  #isakmpRekeyDue(sa: IsakmpSa): void {
    if (sa !== this.life.current || sa.state !== 'established' || this.life.connecting || !this.life.running) return;
    this.#initiateMainMode(sa);
  }

  quickModeResponderFor(sa: IsakmpSa, messageId: number): Exchange {
    return new QuickModeResponder(sa, messageId);
  }

  informationalReceived(sa: IsakmpSa, entries: readonly ChainEntry[]): void {
    handleInformational(sa, entries);
  }

  peerDeletedIsakmp(sa: IsakmpSa): void {
    this.#log.info({ sa: sa.describe() }, 'peer deleted the ISAKMP SA');
    sa.die(new PeerDeletedError('ISAKMP SA'));
  }

  // -------------------------------------------------------------------------------------------
  // Phase 2

  allocateChildId(): number {
    this.#childIds += 1;
    return this.#childIds;
  }

  allocateSpi(): number {
    for (;;) {
      const spi = this.ctx.random.bytes(4).readUInt32BE(0);
      if (spi >= MIN_ESP_SPI && !this.#children.some((c) => c.spiIn === spi)) return spi;
    }
  }

  liveChild(): IpsecSa | undefined {
    return [...this.#children].reverse().find((c) => c.isLive);
  }

  #liveInstalled(): IpsecSa | undefined {
    return [...this.#children].reverse().find((c) => c.state === 'installed');
  }

  /** The PFS group of our next quick mode: the policy's first, rotating after NO-PROPOSAL-CHOSEN. */
  #pfsGroup(): DhGroupNumber | undefined {
    const first = this.ctx.policy.childKeGroup;
    const groups = first === undefined ? [...this.ctx.pfsGroups] : [first, ...this.ctx.pfsGroups.filter((g) => g !== first)];
    if (groups.length === 0) return undefined;
    return groups[this.#pfsIndex % groups.length];
  }

  #isRunningOn(task: QuickModeInitiator): boolean {
    return [...this.life.sas].some((sa) => sa.isAlive && sa.quickModes.get(task.messageId) === task && !task.finished);
  }

  /** An initiator keeps its tunnel's one IPsec SA: created when none is live. */
  #createChild(): void {
    if (this.#options.role !== 'initiator' || !this.life.running) return;
    const sa = this.life.current;
    if (!sa || sa.state !== 'established' || this.#children.some((c) => c.isLive)) return;
    const pending = [...sa.quickModes.values()].some((q) => q instanceof QuickModeInitiator && q.replaces === undefined && !q.finished);
    if (pending) return;
    this.#childCreateTimer?.cancel();
    this.#childCreateTimer = undefined;
    this.#startQuickMode(sa, new QuickModeInitiator(sa, { replaces: undefined, pfsGroup: this.#pfsGroup() }));
  }

  /** Starting can only fail on a local problem (a configuration the crypto refuses): retried later. */
  #startQuickMode(sa: IsakmpSa, task: QuickModeInitiator): void {
    try {
      task.start();
    } catch (error) {
      this.#log.error({ err: describeError(error) }, 'quick mode could not start');
      if (sa.quickModes.get(task.messageId) === task) sa.quickModes.delete(task.messageId);
      const child = task.replaces;
      if (child) this.#rekeyAbandoned(child);
      else this.#scheduleChildCreate(this.ctx.timing.rekeyRetryMs);
    }
  }

  #scheduleChildCreate(delayMs: number = this.ctx.timing.childRecreateDelayMs): void {
    if (this.#options.role !== 'initiator' || !this.life.running) return;
    this.#childCreateTimer?.cancel();
    this.#childCreateTimer = this.ctx.clock.setTimer(delayMs, () => {
      this.#childCreateTimer = undefined;
      this.#createChild();
    });
  }

  #childRekeyDue(child: IpsecSa): void {
    if (child.state !== 'installed' || !this.life.running) return;
    const sa = this.life.current;
    if (!sa || sa.state !== 'established') {
      setChildTimer(this.ctx.clock, child, this.ctx.timing.temporaryFailureRetryMinMs, () => this.#childRekeyDue(child));
      return;
    }
    const task = new QuickModeInitiator(sa, { replaces: child, pfsGroup: this.#pfsGroup() });
    child.state = 'rekeying';
    this.#bookkeeping.set(child, { rekeyTask: task });
    this.#startQuickMode(sa, task);
  }

  #rekeyAbandoned(child: IpsecSa): void {
    this.#bookkeeping.delete(child);
    if (child.state !== 'rekeying') return;
    child.state = 'installed';
    setChildTimer(this.ctx.clock, child, this.ctx.timing.rekeyRetryMs, () => this.#childRekeyDue(child));
  }

  quickModeFailed(sa: IsakmpSa, task: QuickModeInitiator, error: IkeError): void {
    this.#log.warn({ code: error.code, reason: error.message, replacing: task.replaces?.id }, 'quick mode failed');
    this.life.noteError(error);
    if (error instanceof NoProposalChosenError && task.pfsGroup !== undefined) this.#pfsIndex += 1;
    const child = task.replaces;
    if (child && this.#bookkeeping.get(child)?.rekeyTask === task) this.#rekeyAbandoned(child);
    if (error instanceof PeerUnreachableError) {
      sa.die(error);
      return;
    }
    if (!this.#children.some((c) => c.isLive)) this.#scheduleChildCreate(error instanceof NoProposalChosenError ? this.ctx.timing.childRecreateDelayMs : this.ctx.timing.rekeyRetryMs);
  }

  /** A quick mode of ours or the peer's is still under way. */
  #negotiating(): boolean {
    return [...this.life.sas].some((sa) => sa.isAlive && [...sa.quickModes.values()].some((q) => !q.finished));
  }

  /**
   * A quick mode produced `child`. Make-before-break: it is installed (inbound, and outbound
   * switched) before the SAs it replaces go; those we delete at once if we initiated the
   * replacement, else the peer deletes them (and we do after a linger if it never does).
   *
   * Crossed rekeys: two SAs that completed within COLLISION_WINDOW_MS of each other are a
   * collision, whatever each side believes they replaced (the responder of a quick mode cannot
   * know); the one whose exchange had the lowest nonce is redundant (the RFC 7296 §2.8.1 rule,
   * which both sides evaluate alike). A redundant SA of ours is never installed and deleted at
   * once; the peer's is installed (a peer that knows no such rule may send on it — IKEv1
   * defines none) until the peer deletes it, or we do after the grace period. Measured in the
   * tests: a couple of packets at most in one direction while the two sides cross.
   */
  childNegotiated(_sa: IsakmpSa, child: IpsecSa): void {
    if (!this.life.running) return;
    const partner = [...this.#children]
      .reverse()
      .find((c) => c.handedToSink && c.isLive && child.createdAt - c.createdAt < COLLISION_WINDOW_MS);
    const redundant = partner ? (Buffer.compare(child.lowestNonce, partner.lowestNonce) < 0 ? child : partner) : undefined;
    this.#children.push(child);
    if (partner) {
      this.life.count('childRekeyCollisions');
      this.#log.info({ kept: redundant === child ? partner.id : child.id, redundant: redundant?.id }, 'phase 2 rekey collision');
    }
    if (partner && redundant === child && child.initiatedByUs) {
      // Ours and redundant: never installed, deleted at once.
      this.#deleteChild(child, 'redundant after a rekey collision', 0);
      this.#resumeAfterRekey(partner);
      return;
    }
    const replaced = this.#children.filter((c) => c !== child && c !== partner && c.isLive);
    const hold = child.initiatedByUs && replaced.length > 0;
    this.#install(child, hold);
    for (const old of replaced) {
      old.state = 'rekeyed';
      old.cancelTimers();
      this.#bookkeeping.delete(old);
      if (!child.initiatedByUs) setChildTimer(this.ctx.clock, old, this.ctx.timing.rekeyedIkeSaLingerMs, () => this.#deleteChild(old, 'peer never deleted the rekeyed SA', 0));
    }
    if (hold) {
      this.ctx.clock.setTimer(OUTBOUND_HOLD_MS, () => {
        if (!this.life.running) return;
        this.ledger.release(child);
        for (const old of replaced) this.#deleteChild(old, 'rekeyed', this.ctx.timing.rekeyedInboundGraceMs);
      });
    }
    const previous = partner ?? replaced[0];
    if (previous) {
      this.life.count('childRekeys');
      this.life.emit('child-rekeyed', { ...this.#childEvent(child), oldId: previous.id });
    } else {
      this.life.emit('child-up', this.#childEvent(child));
    }
    if (partner && redundant) {
      this.#retireRedundant(redundant);
      this.#resumeAfterRekey(redundant === child ? partner : child);
    }
    this.#childCreateTimer?.cancel();
    this.#childCreateTimer = undefined;
    // The peer's Delete of this SA overtook its QM3: apply it now.
    const early = this.#earlyDeletes.get(child.spiOut);
    if (early !== undefined) {
      this.#earlyDeletes.delete(child.spiOut);
      if (this.ctx.clock.now() - early < EARLY_DELETE_MEMORY_MS) this.peerDeletedChildren(_sa, [child.spiOut]);
    }
  }

  /** A rekey of `child` whose quick mode has finished (its SA installed, or found redundant): rekeying again later if it is still the live one. */
  #resumeAfterRekey(child: IpsecSa): void {
    const task = this.#bookkeeping.get(child)?.rekeyTask;
    if (!task?.finished) return;
    this.#bookkeeping.delete(child);
    if (child.state === 'rekeying') {
      child.state = 'installed';
      setChildTimer(this.ctx.clock, child, this.ctx.timing.rekeyRetryMs, () => this.#childRekeyDue(child));
    }
  }

  #retireRedundant(redundant: IpsecSa): void {
    if (redundant.initiatedByUs) {
      this.#deleteChild(redundant, 'redundant after a rekey collision', this.ctx.timing.rekeyedInboundGraceMs);
      return;
    }
    // The peer's: it deletes it (the same rule). A peer that knows no such rule, or a Delete
    // that was lost, costs at most the grace period: then we delete it.
    redundant.state = 'rekeyed';
    redundant.cancelTimers();
    this.#bookkeeping.delete(redundant);
    setChildTimer(this.ctx.clock, redundant, this.ctx.timing.rekeyedInboundGraceMs, () => this.#deleteChild(redundant, 'peer never deleted the redundant SA', 0));
  }

  #childEvent(child: IpsecSa): { id: number; spiIn: string; spiOut: string; suite: string; initiatedByUs: boolean } {
    return { id: child.id, spiIn: spiText(child.spiIn), spiOut: spiText(child.spiOut), suite: describeChildSuite(asChildSuite(child.suite)), initiatedByUs: child.initiatedByUs };
  }

  childPrepared(_sa: IsakmpSa, child: IpsecSa): void {
    if (!this.life.running) return;
    this.ledger.install(child, child, this.#schedule(child), true);
  }

  childAbandoned(child: IpsecSa, reason: string): void {
    this.ledger.remove(child, reason, 0);
  }

  #schedule(child: IpsecSa): SaSchedule {
    child.schedule ??= saSchedule(agreed(child.suite.lifetimeSeconds), ourChildLifetime(this.ctx.timing), this.ctx.random);
    return child.schedule;
  }

  /** Into the data plane, or — prepared as responder — from decrypting only to sending too (unless `holdOutbound`). */
  #install(child: IpsecSa, holdOutbound = false): void {
    const schedule = this.#schedule(child);
    child.rekeyAt = child.createdAt + schedule.rekeySeconds * 1000;
    child.expiresAt = child.createdAt + schedule.hardLifetimeSeconds * 1000;
    setChildTimer(this.ctx.clock, child, child.rekeyAt - this.ctx.clock.now(), () => this.#childRekeyDue(child));
    setChildTimer(this.ctx.clock, child, child.expiresAt - this.ctx.clock.now(), () => this.#childExpired(child));
    if (!child.handedToSink) this.ledger.install(child, child, schedule, holdOutbound);
    else if (!holdOutbound) this.ledger.release(child);
    this.#log.info({ ...this.#childEvent(child), replaces: child.replaces?.id, lifetime: child.suite.lifetimeSeconds }, 'IPsec SA installed');
  }

  /**
   * Our Delete of an IPsec SA (its inbound SPI, RFC 2408 §3.15); out of the data plane after
   * `graceMs`, or at once if we are sending on it, so our traffic moves to the next newest SA
   * before the peer removes this one (the peer keeps its inbound half for its own grace period).
   */
  #deleteChild(child: IpsecSa, reason: string, graceMs: number): void {
    if (child.state === 'deleted') return;
    if (this.ledger.isOutbound(child) && this.ledger.size > 1) graceMs = 0;
    const wasLive = child.isLive;
    child.state = 'deleted';
    child.cancelTimers();
    this.#bookkeeping.delete(child);
    const sa = this.life.current;
    if (sa && (sa.state === 'established' || sa.state === 'replaced')) {
      sa.sendInformational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis: [u32(child.spiIn)] }]);
    }
    this.#dropChild(child, reason, graceMs);
    this.#log.info({ child: child.id, reason }, 'IPsec SA deleted');
    if (wasLive && !this.#children.some((c) => c.isLive)) {
      this.life.emit('child-down', { id: child.id, reason });
      this.#scheduleChildCreate();
    }
  }

  peerDeletedChildren(_sa: IsakmpSa, spis: readonly number[]): void {
    for (const spi of spis) {
      const child = this.#children.find((c) => c.spiOut === spi && c.state !== 'deleted');
      if (!child) {
        if (this.#negotiating() && this.#earlyDeletes.size < 16) this.#earlyDeletes.set(spi, this.ctx.clock.now());
        continue;
      }
      const wasLive = child.isLive;
      child.state = 'deleted';
      child.cancelTimers();
      this.#bookkeeping.delete(child);
      // The peer no longer wants it. If we send on it and another SA can take over, it goes at
      // once; else its inbound half lingers (the peer may still send on it), also when a
      // replacement is one message away (the peer's Delete overtook its QM3).
      const other = this.#children.some((c) => c !== child && c.isLive);
      const takeOver = other && this.ledger.isOutbound(child) && this.ledger.size > 1;
      const grace = !takeOver && (other || this.#negotiating()) ? this.ctx.timing.rekeyedInboundGraceMs : 0;
      this.#dropChild(child, 'deleted by the peer', grace);
      this.#log.info({ child: child.id }, 'peer deleted the IPsec SA');
      if (wasLive && !other && !this.#negotiating()) {
        this.life.emit('child-down', { id: child.id, reason: 'deleted by the peer' });
        this.#scheduleChildCreate();
      }
    }
  }

  #childExpired(child: IpsecSa): void {
    this.#log.warn({ child: child.id }, 'IPsec SA reached its hard lifetime');
    this.#deleteChild(child, 'hard lifetime', 0);
  }

  #forgetAllChildren(reason: string): void {
    const live = [...this.#children].reverse().find((c) => c.isLive);
    for (const child of [...this.#children]) {
      child.state = 'deleted';
      child.cancelTimers();
      this.#bookkeeping.delete(child);
      this.#dropChild(child, reason, 0);
    }
    if (live) this.life.emit('child-down', { id: live.id, reason });
  }

  /**
   * Delete for every IPsec SA (our inbound SPIs), then — DELETE_SPACING_MS later, so a peer
   * that handles Informationals in parallel (strongSwan) cannot act on it first — for the
   * ISAKMP SA. strongSwan acts on only the first Delete of an Informational, hence two messages.
   */
  #sendDeletes(sa: IsakmpSa, then: () => void): void {
    const spis = this.#children.filter((c) => c.state !== 'deleted').map((c) => u32(c.spiIn));
    if (spis.length === 0) {
      sa.sendDeleteIsakmp();
      then();
      return;
    }
    sa.sendInformational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis }]);
    this.ctx.clock.setTimer(DELETE_SPACING_MS, () => {
      if (sa.state !== 'dead') sa.sendDeleteIsakmp();
      then();
    });
  }

  /** Out of the list now; out of the data plane now or after `graceMs` (make-before-break). */
  #dropChild(child: IpsecSa, reason: string, graceMs: number): void {
    const index = this.#children.indexOf(child);
    if (index >= 0) this.#children.splice(index, 1);
    this.ledger.remove(child, reason, graceMs);
  }

  // -------------------------------------------------------------------------------------------
  // Stopping (the lifecycle's hooks)

  /** Deletes for the IPsec SAs, then the ISAKMP SA (#sendDeletes: no answers to wait for), then done. */
  protected sayGoodbye(): void {
    this.#childCreateTimer?.cancel();
    const current = this.life.current;
    if (current && (current.state === 'established' || current.state === 'replaced')) {
      this.#sendDeletes(current, () => this.life.finish());
    } else {
      this.life.finish();
    }
  }

  protected tearDown(): void {
    for (const sa of [...this.life.sas]) sa.die(new LocalCloseError('connection stopped'));
    this.#refusals.close();
    for (const child of this.#children.splice(0)) {
      child.state = 'deleted';
      child.cancelTimers();
    }
    this.ledger.removeAll('connection stopped');
    this.#childCreateTimer?.cancel();
  }
}
