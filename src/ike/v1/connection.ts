/**
 * One AWS tunnel's IKEv1 side, with the same options, events and status as the IKEv2
 * IkeConnection (src/ike/v2/connection), so the daemon picks either by configuration.
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
 * Simultaneous phase 2 rekeys both complete; the SA whose exchange had the lowest nonce is
 * redundant and deleted by whoever initiated it (the RFC 7296 §2.8.1 rule, applied to IKEv1).
 *
 * handleDatagram() never throws: each problem is a counted drop (status().counters.drops).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DhGroupNumber } from '../../crypto/transforms.js';
import type { ChildSaInstall, Endpoint, IkeDatagram, TimerHandle } from '../runtime.js';
import { connectionContext } from '../connection/context.js';
import type { IkeConnectionEvents } from '../connection/events.js';
import type { IkeConnectionOptions } from '../connection/options.js';
import type { ConnectionState, ConnectionStatus, IkeSaStatus } from '../connection/status.js';
import { DropReason } from '../drop-reasons.js';
import {
  HalfOpenTimeoutError,
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
import { reconnectDelayMs, rekeyAfterSeconds } from '../timing.js';
import { COOKIE_LENGTH, DOI_IPSEC, ExchangeType, ISAKMP_HEADER_LENGTH, MIN_ESP_SPI, ProtocolId } from './constants.js';
import { IsakmpVersionError, V1WireErrorCode, WireError } from './wire/errors.js';
import { asChildSuite, asIkeSuite, describePhase1, pfsGroupsOf, phase1Choices, phase2Choices } from './proposals.js';
import { hex, spiHex, type V1Context } from './sa/context.js';
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

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

const ZERO_COOKIE = Buffer.alloc(COOKIE_LENGTH);
/**
 * Two IPsec SAs completed within this time of each other are a rekey collision (see
 * childNegotiated): longer than a quick mode with a few retransmissions takes, far shorter than
 * any rekey interval (AWS lifetimes are at least 900 s).
 */
export const COLLISION_WINDOW_MS = 20_000;
/** How long a peer's Delete for an SPI we do not know yet is remembered (see childNegotiated). */
const EARLY_DELETE_MEMORY_MS = 10_000;
/** Between our Delete of the IPsec SAs and of the ISAKMP SA (see #sendDeletes). */
const DELETE_SPACING_MS = 200;
/** Bound on responder ISAKMP SAs still in Main Mode (beyond it new MM1s are dropped). */
const MAX_HALF_OPEN = 64;

interface ChildBookkeeping {
  /** The quick mode rekeying it, while one runs. */
  rekeyTask?: QuickModeInitiator;
}

export class IkeV1Connection extends EventEmitter<IkeConnectionEvents> implements IsakmpSaHost {
  readonly ctx: V1Context;
  readonly #options: IkeConnectionOptions;
  readonly #log: Logger;
  readonly #sas = new Set<IsakmpSa>();
  #current: IsakmpSa | undefined;
  /** A Main Mode we started: first contact, reconnect or phase 1 re-establishment. */
  #connecting: IsakmpSa | undefined;
  /** For a phase 1 re-establishment we started: the ISAKMP SA it replaces. */
  readonly #rekeyOf = new WeakMap<IsakmpSa, IsakmpSa>();
  #phase: Phase = 'idle';
  readonly #children: IpsecSa[] = [];
  readonly #bookkeeping = new WeakMap<IpsecSa, ChildBookkeeping>();
  #childIds = 0;
  #pfsIndex = 0;
  #reconnectAttempts = 0;
  #reconnectTimer: TimerHandle | undefined;
  #nextReconnectAt: number | undefined;
  #keepaliveTimer: TimerHandle | undefined;
  #childCreateTimer: TimerHandle | undefined;
  /** IPsec SAs the data plane holds, with a pending delayed removal. */
  readonly #installed = new Map<number, { timer: TimerHandle | undefined }>();
  /** Installed SA ids, oldest first: the data plane sends on the newest (dataplane.ts). */
  readonly #installOrder: number[] = [];
  /** The peer's Deletes for SPIs we do not know yet (a Delete that overtook its QM3), with their time. */
  readonly #earlyDeletes = new Map<number, number>();
  #lastError: { code: string; reason: string; at: number } | undefined;
  readonly #drops: Partial<Record<DropReason, number>> = {};
  #stopWaiters: (() => void)[] = [];
  readonly #counts = {
    retransmittedRequests: 0,
    cachedResponsesResent: 0,
    ikeSasEstablished: 0,
    ikeRekeys: 0,
    childRekeys: 0,
    childRekeyCollisions: 0,
    ikeRekeyCollisions: 0,
    reconnects: 0,
  };

  constructor(options: IkeConnectionOptions) {
    super();
    this.#options = options;
    this.#log = options.logger.child({ tunnel: options.tunnel.index, role: options.role, ike: 'v1' });
    const policy = options.policy ?? proposalPolicyFor(options.tunnel);
    const phase1 = phase1Choices(policy, options.policy ? undefined : options.tunnel);
    if (phase1.length === 0) throw new Error(`tunnel ${options.tunnel.index}: no IKEv1 phase 1 suite (IKEv1 cannot use AES-GCM for the ISAKMP SA)`);
    const phase2 = phase2Choices(policy);
    if (phase2.length === 0) throw new Error(`tunnel ${options.tunnel.index}: no ESP suite for quick mode`);
    this.ctx = { ...connectionContext(options, policy, this.#log), phase1, phase2, pfsGroups: pfsGroupsOf(policy) };
    if (options.listen !== false) options.transport.onDatagram((datagram) => this.handleDatagram(datagram));
  }

  // -------------------------------------------------------------------------------------------
  // Public API (the same as IkeConnection's)

  /** Initiates (initiator role) or starts accepting the peer's Main Mode (responder role). */
  start(): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    this.#log.info({ local: this.#options.local, remote: this.#options.remote }, 'IKEv1 connection started');
    if (this.#options.role === 'initiator') this.#initiate(undefined);
  }

  /**
   * Deletes the IPsec SAs and then the ISAKMP SA at the peer (two Informationals, no answers
   * to wait for) and removes everything from the data plane.
   */
  stop(): Promise<void> {
    if (this.#phase === 'stopped') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    if (this.#phase === 'stopping') return done;
    this.#phase = 'stopping';
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#childCreateTimer?.cancel();
    const current = this.#current;
    if (current && (current.state === 'established' || current.state === 'replaced')) {
      this.#sendDeletes(current, () => this.#finishStop());
    } else {
      this.#finishStop();
    }
    return done;
  }

  /** The incoming-datagram path: never throws; problems become counted drops. */
  handleDatagram(datagram: IkeDatagram): void {
    try {
      this.#receive(datagram);
    } catch (error) {
      this.countDrop(DropReason.INTERNAL_ERROR);
      this.#log.error({ err: describeError(error) }, 'datagram handling failed');
    }
  }

  /** ESP arrived: the peer is alive (DPD is idle-triggered, RFC 3706 §5.4). */
  noteInboundActivity(): void {
    const current = this.#current;
    if (current) current.lastReceivedAt = this.ctx.clock.now();
  }

  /** Starts a phase 2 rekey now (CLI, lab, tests). */
  rekeyChild(): boolean {
    const child = this.#liveInstalled();
    if (!child || this.#current?.state !== 'established') return false;
    this.#childRekeyDue(child);
    return child.state === 'rekeying';
  }

  /** Re-establishes phase 1 now (a new Main Mode; the IPsec SA stays). */
  rekeyIke(): boolean {
    const current = this.#current;
    if (!current || current.state !== 'established' || this.#connecting) return false;
    this.#initiate(current);
    return true;
  }

  /** Deletes the live IPsec SA (tests; an initiator creates a new one). */
  deleteChild(): boolean {
    const child = this.#liveInstalled();
    if (!child || this.#current?.state !== 'established') return false;
    this.#deleteChild(child, 'deleted locally', 0);
    return true;
  }

  /** Deletes the ISAKMP SA and its IPsec SA without stopping: the initiator re-initiates. */
  deleteIke(): boolean {
    const current = this.#current;
    if (!current || current.state !== 'established') return false;
    this.#sendDeletes(current, () => current.die(new LocalCloseError('deleted locally')));
    this.#forgetAllChildren('deleted locally');
    return true;
  }

  get state(): ConnectionState {
    switch (this.#phase) {
      case 'idle':
      case 'stopping':
      case 'stopped':
        return this.#phase;
      case 'running':
        if (this.#current?.state === 'established') return 'established';
        if (this.#current || this.#connecting) return 'connecting';
        if (this.#reconnectTimer) return 'backoff';
        return 'waiting';
    }
  }

  status(): ConnectionStatus {
    const endpoint = (e: Endpoint): string => `${e.address}:${e.port}`;
    const holder = this.#current ?? this.#connecting ?? [...this.#sas][0];
    const children = this.#children.map((c) => ({
      id: c.id,
      state: c.state,
      spiIn: spiHex(c.spiIn),
      spiOut: spiHex(c.spiOut),
      suite: describeChildSuite(asChildSuite(c.suite)),
      initiatedByUs: c.initiatedByUs,
      installed: c.handedToSink,
      createdAt: c.createdAt,
      rekeyAt: c.rekeyAt,
      expiresAt: c.expiresAt,
    }));
    const ikeSas: IkeSaStatus[] = [...this.#sas].map((sa) => {
      const active = sa.mainMode && !sa.mainMode.finished ? 'MAIN_MODE' : [...sa.quickModes.values()].some((q) => !q.finished) ? 'QUICK_MODE' : undefined;
      return {
        spiI: hex(sa.cookieI),
        spiR: hex(sa.cookieR),
        state: sa.state,
        originalInitiator: sa.originalInitiator,
        current: sa === this.#current,
        suite: sa.suite ? describeIkeSuite(asIkeSuite(sa.suite)) : undefined,
        local: endpoint(sa.local),
        remote: endpoint(sa.remote),
        natLocal: sa.natLocal,
        natRemote: sa.natRemote,
        establishedAt: sa.establishedAt,
        rekeyAt: sa.rekeyAt,
        expiresAt: sa.expiresAt,
        // IKEv1 has no message-ID windows (RFC 2408 §3.1: Message IDs are random per exchange).
        nextRequestId: 0,
        expectedRequestId: 0,
        activeTask: active,
        queuedTasks: [],
        retransmissions: sa.retransmissions,
        children: sa === holder ? children : [],
      };
    });
    return {
      tunnel: this.#options.tunnel.index,
      role: this.#options.role,
      state: this.state,
      local: endpoint(this.#options.local),
      remote: endpoint(this.#options.remote),
      ikeSas,
      reconnect: { attempts: this.#reconnectAttempts, nextAttemptAt: this.#nextReconnectAt },
      lastError: this.#lastError,
      counters: { drops: { ...this.#drops }, ...this.#counts },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #receive(datagram: IkeDatagram): void {
    if (this.#phase === 'stopped' || this.#phase === 'idle') {
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
    const sa = [...this.#sas].find((s) => s.matches(h.cookieI, h.cookieR));
    if (sa) {
      sa.receive(datagram, decoded);
      return;
    }
    // Our Main Mode waiting for MM2 (or for a plain notify refusing MM1).
    const waiting = [...this.#sas].find((s) => s.originalInitiator && s.state === 'connecting' && s.cookieI.equals(h.cookieI) && s.cookieR.equals(ZERO_COOKIE));
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
    if (this.#phase !== 'running' || decoded.encrypted) {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    const h = decoded.header;
    const existing = [...this.#sas].find((s) => !s.originalInitiator && s.cookieI.equals(h.cookieI));
    if (existing) {
      existing.receive(datagram, decoded);
      return;
    }
    if (this.#halfOpenCount() >= MAX_HALF_OPEN) {
      this.countDrop(DropReason.COOKIE_REQUIRED);
      return;
    }
    // Unauthenticated: an MM1 that breaks the rules creates no state and gets no answer.
    if (!checkMessageRules('MM1', decoded.entries).ok) {
      this.countDrop(DropReason.PAYLOAD_RULE);
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
    this.#sas.add(sa);
    sa.setTimer(this.ctx.timing.halfOpenTimeoutMs, () => {
      if (sa.state === 'connecting') sa.die(new HalfOpenTimeoutError('main mode'));
    });
  }

  #halfOpenCount(): number {
    return [...this.#sas].filter((sa) => !sa.originalInitiator && sa.state === 'connecting').length;
  }

  #newCookie(): Buffer {
    for (;;) {
      const cookie = this.ctx.random.bytes(COOKIE_LENGTH);
      if (!cookie.equals(ZERO_COOKIE)) return cookie;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Phase 1 lifecycle

  #initiate(rekeyOf: IsakmpSa | undefined): void {
    if (this.#phase !== 'running') return;
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
    this.#sas.add(sa);
    this.#connecting = sa;
    this.#log.info({ cookieI: hex(sa.cookieI), attempt: this.#reconnectAttempts, reestablish: rekeyOf !== undefined }, 'initiating main mode');
    mainMode.start();
  }

  established(sa: IsakmpSa, info: { readonly initialContact: boolean }): void {
    const suite = sa.suite;
    const keys = sa.keys;
    if (!suite || !keys) return;
    const now = this.ctx.clock.now();
    sa.state = 'established';
    sa.establishedAt = now;
    this.#counts.ikeSasEstablished += 1;
    if (this.#connecting === sa) this.#connecting = undefined;
    this.ctx.keylog?.({
      kind: 'ike',
      spiI: hex(sa.cookieI),
      spiR: hex(sa.cookieR),
      originalInitiator: sa.originalInitiator,
      suite: asIkeSuite(suite),
      // IKEv1 keys in the IKEv2 keylog shape: SK_d = SKEYID_d, SK_a* = SKEYID_a, SK_e* = Ka, SK_p* = SKEYID.
      keys: { skD: keys.skeyidD, skAi: keys.skeyidA, skAr: keys.skeyidA, skEi: keys.encKey, skEr: keys.encKey, skPi: keys.skeyid, skPr: keys.skeyid },
    });
    this.#log.info({ sa: sa.describe(), suite: describePhase1(suite), natLocal: sa.natLocal, natRemote: sa.natRemote, udp: sa.udp }, 'ISAKMP SA established');

    const previous = this.#current !== sa && this.#current?.isAlive ? this.#current : undefined;
    // The new SA is current before anything happens to the old one: deleting the old ISAKMP SA
    // must not look like losing the tunnel (its IPsec SAs stay, RFC 2409 §5.5).
    this.#current = sa;
    let rekeyed = false;
    if (info.initialContact) {
      // The peer restarted: every SA it had with us is gone on its side.
      for (const other of [...this.#sas]) if (other !== sa && other !== this.#connecting) other.die(new ReplacedError('the peer restarted (INITIAL-CONTACT)'));
      this.#forgetAllChildren('the peer restarted (INITIAL-CONTACT)');
    } else if (previous && (previous.state === 'established' || previous.state === 'replaced')) {
      rekeyed = true;
      previous.state = 'replaced';
      previous.stopLiveness();
      this.#counts.ikeRekeys += 1;
      this.#emit('ike-rekeyed', {
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
        if (intended && intended !== previous) this.#counts.ikeRekeyCollisions += 1;
        previous.setTimer(this.ctx.timing.rekeyedIkeSaLingerMs, () => {
          if (previous.state === 'replaced') previous.closeWithDelete(new ReplacedError('peer never deleted the replaced ISAKMP SA'));
        });
      }
    }
    this.#reconnectAttempts = 0;
    this.#cancelReconnect();
    this.#armIsakmpTimers(sa);
    sa.startLiveness();
    this.#armKeepalive();
    if (!rekeyed) {
      this.#emit('ike-up', {
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
    if (!this.#sas.delete(sa)) {
      // A Main Mode refused on its first message: never registered, nothing to undo.
      this.#lastError = { code: error.code, reason: error.message, at: this.ctx.clock.now() };
      return;
    }
    const wasCurrent = sa === this.#current;
    const wasConnecting = sa === this.#connecting;
    if (wasConnecting) this.#connecting = undefined;
    for (const child of this.#children) {
      const task = this.#bookkeeping.get(child)?.rekeyTask;
      if (task && !this.#isRunningOn(task)) this.#rekeyAbandoned(child);
    }
    const rekeyOf = this.#rekeyOf.get(sa);
    if (wasCurrent && this.#promoteSurvivor(sa, error)) {
      // Another ISAKMP SA with the peer carries on (crossed phase 1 re-establishments).
    } else if (wasCurrent) {
      this.#current = undefined;
      this.#keepaliveTimer?.cancel();
      // IKEv1 IPsec SAs outlive their ISAKMP SA (RFC 2409 §5.5): a Delete, a replacement or an
      // expiry of the ISAKMP SA alone leaves them; a dead peer takes them along (a restarted
      // one too: INITIAL-CONTACT removes them in established()).
      const keepChildren = error instanceof PeerDeletedError || error instanceof LifetimeExpiredError || error instanceof ReplacedError;
      if (!keepChildren) this.#forgetAllChildren(`ISAKMP SA down: ${error.code}`);
      this.#lastError = { code: error.code, reason: error.message, at: this.ctx.clock.now() };
      this.#emit('ike-down', { spiI: hex(sa.cookieI), spiR: hex(sa.cookieR), established: true, code: error.code, reason: error.message });
    } else if (!sa.establishedAt && (wasConnecting || !sa.originalInitiator)) {
      this.#lastError = { code: error.code, reason: error.message, at: this.ctx.clock.now() };
      if (rekeyOf && this.#current?.state === 'established') {
        this.#log.warn({ code: error.code, reason: error.message }, 'phase 1 re-establishment failed; will retry');
        const current = this.#current;
        current.setTimer(this.ctx.timing.rekeyRetryMs, () => this.#isakmpRekeyDue(current));
      } else {
        this.#emit('ike-down', { spiI: hex(sa.cookieI), spiR: hex(sa.cookieR), established: false, code: error.code, reason: error.message });
      }
    }
    if (this.#phase === 'running' && this.#options.role === 'initiator' && !this.#current && !this.#connecting) this.#scheduleReconnect();
  }

  /**
   * The current ISAKMP SA was deleted or replaced while another established one with the peer
   * survives (both sides re-established phase 1 at once and each deleted the other's): that one
   * becomes current. Not after a dead peer: its other SAs are as dead.
   */
  #promoteSurvivor(dead: IsakmpSa, error: IkeError): boolean {
    if (!(error instanceof PeerDeletedError || error instanceof ReplacedError || error instanceof LifetimeExpiredError) || this.#phase !== 'running') return false;
    const survivor = [...this.#sas]
      .filter((s) => s.state === 'established' || s.state === 'replaced')
      .sort((a, b) => (b.establishedAt ?? 0) - (a.establishedAt ?? 0))[0];
    if (!survivor) return false;
    survivor.state = 'established';
    this.#current = survivor;
    survivor.startLiveness();
    this.#armKeepalive();
    this.#counts.ikeRekeys += 1;
    this.#log.info({ dead: dead.describe(), current: survivor.describe() }, 'another ISAKMP SA with the peer takes over');
    this.#emit('ike-rekeyed', {
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
    const t = this.ctx.timing;
    const now = this.ctx.clock.now();
    const ours = Math.min(suite.lifetimeSeconds, t.ikeLifetimeSeconds);
    const rekeyAfter = rekeyAfterSeconds(ours, Math.min(t.ikeRekeyMarginSeconds, ours / 2), t.rekeyFuzzPercent, this.ctx.random);
    sa.rekeyAt = now + rekeyAfter * 1000;
    sa.expiresAt = now + suite.lifetimeSeconds * 1000;
    sa.setTimer(rekeyAfter * 1000, () => this.#isakmpRekeyDue(sa));
    sa.setTimer(suite.lifetimeSeconds * 1000, () => sa.closeWithDelete(new LifetimeExpiredError('ISAKMP SA')));
  }

  #isakmpRekeyDue(sa: IsakmpSa): void {
    if (sa !== this.#current || sa.state !== 'established' || this.#connecting || this.#phase !== 'running') return;
    this.#initiate(sa);
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
    return [...this.#sas].some((sa) => sa.isAlive && sa.quickModes.get(task.messageId) === task && !task.finished);
  }

  /** An initiator keeps its tunnel's one IPsec SA: created when none is live. */
  #createChild(): void {
    if (this.#options.role !== 'initiator' || this.#phase !== 'running') return;
    const sa = this.#current;
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
    if (this.#options.role !== 'initiator' || this.#phase !== 'running') return;
    this.#childCreateTimer?.cancel();
    this.#childCreateTimer = this.ctx.clock.setTimer(delayMs, () => {
      this.#childCreateTimer = undefined;
      this.#createChild();
    });
  }

  #childRekeyDue(child: IpsecSa): void {
    if (child.state !== 'installed' || this.#phase !== 'running') return;
    const sa = this.#current;
    if (!sa || sa.state !== 'established') {
      this.#childTimer(child, this.ctx.timing.temporaryFailureRetryMinMs, () => this.#childRekeyDue(child));
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
    this.#childTimer(child, this.ctx.timing.rekeyRetryMs, () => this.#childRekeyDue(child));
  }

  quickModeFailed(sa: IsakmpSa, task: QuickModeInitiator, error: IkeError): void {
    this.#log.warn({ code: error.code, reason: error.message, replacing: task.replaces?.id }, 'quick mode failed');
    this.#lastError = { code: error.code, reason: error.message, at: this.ctx.clock.now() };
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
    return [...this.#sas].some((sa) => sa.isAlive && [...sa.quickModes.values()].some((q) => !q.finished));
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
    if (this.#phase !== 'running') return;
    const partner = [...this.#children]
      .reverse()
      .find((c) => c.handedToSink && c.isLive && child.createdAt - c.createdAt < COLLISION_WINDOW_MS);
    const redundant = partner ? (Buffer.compare(child.lowestNonce, partner.lowestNonce) < 0 ? child : partner) : undefined;
    this.#children.push(child);
    if (partner) {
      this.#counts.childRekeyCollisions += 1;
      this.#log.info({ kept: redundant === child ? partner.id : child.id, redundant: redundant?.id }, 'phase 2 rekey collision');
    }
    if (partner && redundant === child && child.initiatedByUs) {
      // Ours and redundant: never installed, deleted at once.
      this.#deleteChild(child, 'redundant after a rekey collision', 0);
      this.#resumeAfterRekey(partner);
      return;
    }
    this.#install(child);
    const replaced = this.#children.filter((c) => c !== child && c !== partner && c.isLive);
    for (const old of replaced) {
      old.state = 'rekeyed';
      old.cancelTimers();
      this.#bookkeeping.delete(old);
      if (child.initiatedByUs) this.#deleteChild(old, 'rekeyed', this.ctx.timing.rekeyedInboundGraceMs);
      else this.#childTimer(old, this.ctx.timing.rekeyedIkeSaLingerMs, () => this.#deleteChild(old, 'peer never deleted the rekeyed SA', 0));
    }
    const previous = partner ?? replaced[0];
    if (previous) {
      this.#counts.childRekeys += 1;
      this.#emit('child-rekeyed', { ...this.#childEvent(child), oldId: previous.id });
    } else {
      this.#emit('child-up', this.#childEvent(child));
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
      this.#childTimer(child, this.ctx.timing.rekeyRetryMs, () => this.#childRekeyDue(child));
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
    this.#childTimer(redundant, this.ctx.timing.rekeyedInboundGraceMs, () => this.#deleteChild(redundant, 'peer never deleted the redundant SA', 0));
  }

  #childEvent(child: IpsecSa): { id: number; spiIn: string; spiOut: string; suite: string; initiatedByUs: boolean } {
    return { id: child.id, spiIn: spiHex(child.spiIn), spiOut: spiHex(child.spiOut), suite: describeChildSuite(asChildSuite(child.suite)), initiatedByUs: child.initiatedByUs };
  }

  #install(child: IpsecSa): void {
    const t = this.ctx.timing;
    const lifetime = child.suite.lifetimeSeconds;
    // The margin is at most half the lifetime (AWS's bound on RekeyMarginTimeSeconds), so a peer's
    // short lifetime does not make us rekey at once.
    const ours = Math.min(lifetime, t.childLifetimeSeconds);
    const rekeyAfter = rekeyAfterSeconds(ours, Math.min(t.childRekeyMarginSeconds, ours / 2), t.rekeyFuzzPercent, this.ctx.random);
    child.rekeyAt = child.createdAt + rekeyAfter * 1000;
    child.expiresAt = child.createdAt + lifetime * 1000;
    this.#childTimer(child, child.rekeyAt - this.ctx.clock.now(), () => this.#childRekeyDue(child));
    this.#childTimer(child, child.expiresAt - this.ctx.clock.now(), () => this.#childExpired(child));
    const install = this.#installOf(child, rekeyAfter);
    child.handedToSink = true;
    this.#installed.set(child.id, { timer: undefined });
    this.#installOrder.push(child.id);
    try {
      this.#options.sink.installChildSa(install);
    } catch (error) {
      this.#log.error({ child: child.id, err: describeError(error) }, 'data plane refused the IPsec SA');
    }
    this.ctx.keylog?.({ kind: 'child', install });
    this.#log.info({ ...this.#childEvent(child), replaces: child.replaces?.id, lifetime }, 'IPsec SA installed');
  }

  #installOf(child: IpsecSa, rekeyAfter: number): ChildSaInstall {
    const keys = child.keys;
    return {
      id: child.id,
      tunnel: this.#options.tunnel.index,
      spiIn: child.spiIn,
      spiOut: child.spiOut,
      encryption: child.suite.encryption,
      ...(child.suite.integrity ? { integrity: child.suite.integrity } : {}),
      encKeyIn: keys.encIn,
      encKeyOut: keys.encOut,
      ...(keys.integIn ? { integKeyIn: keys.integIn } : {}),
      ...(keys.integOut ? { integKeyOut: keys.integOut } : {}),
      local: child.local,
      remote: child.remote,
      replayWindow: this.#options.tunnel.ipsec.replayWindow,
      ...(child.suite.dhGroup !== undefined ? { pfsGroup: child.suite.dhGroup } : {}),
      softLifetimeSeconds: rekeyAfter,
      hardLifetimeSeconds: child.suite.lifetimeSeconds,
      createdAt: child.createdAt,
      initiatedByUs: child.initiatedByUs,
    };
  }

  #childTimer(child: IpsecSa, delayMs: number, callback: () => void): void {
    const timer = this.ctx.clock.setTimer(Math.max(0, delayMs), () => {
      child.timers.delete(timer);
      if (child.state === 'deleted') return;
      callback();
    });
    child.timers.add(timer);
  }

  /** The data plane sends on this SA (the newest installed). */
  #isOutbound(child: IpsecSa): boolean {
    return child.handedToSink && this.#installOrder.at(-1) === child.id;
  }

  /**
   * Our Delete of an IPsec SA (its inbound SPI, RFC 2408 §3.15); out of the data plane after
   * `graceMs`, or at once if we are sending on it, so our traffic moves to the next newest SA
   * before the peer removes this one (the peer keeps its inbound half for its own grace period).
   */
  #deleteChild(child: IpsecSa, reason: string, graceMs: number): void {
    if (child.state === 'deleted') return;
    if (this.#isOutbound(child) && this.#installOrder.length > 1) graceMs = 0;
    const wasLive = child.isLive;
    child.state = 'deleted';
    child.cancelTimers();
    this.#bookkeeping.delete(child);
    const sa = this.#current;
    if (sa && (sa.state === 'established' || sa.state === 'replaced')) {
      sa.sendInformational([{ kind: 'D', doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spis: [u32(child.spiIn)] }]);
    }
    this.#dropChild(child, reason, graceMs);
    this.#log.info({ child: child.id, reason }, 'IPsec SA deleted');
    if (wasLive && !this.#children.some((c) => c.isLive)) {
      this.#emit('child-down', { id: child.id, reason });
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
      const takeOver = other && this.#isOutbound(child) && this.#installOrder.length > 1;
      const grace = !takeOver && (other || this.#negotiating()) ? this.ctx.timing.rekeyedInboundGraceMs : 0;
      this.#dropChild(child, 'deleted by the peer', grace);
      this.#log.info({ child: child.id }, 'peer deleted the IPsec SA');
      if (wasLive && !other && !this.#negotiating()) {
        this.#emit('child-down', { id: child.id, reason: 'deleted by the peer' });
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
    if (live) this.#emit('child-down', { id: live.id, reason });
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
    if (!child.handedToSink) return;
    const entry = this.#installed.get(child.id);
    if (!entry) return;
    const remove = (): void => {
      entry.timer = undefined;
      this.#installed.delete(child.id);
      const at = this.#installOrder.indexOf(child.id);
      if (at >= 0) this.#installOrder.splice(at, 1);
      child.handedToSink = false;
      try {
        this.#options.sink.removeChildSa(child.id, reason);
      } catch (error) {
        this.#log.error({ child: child.id, err: describeError(error) }, 'data plane failed to remove the IPsec SA');
      }
    };
    if (graceMs <= 0) {
      entry.timer?.cancel();
      remove();
      return;
    }
    if (!entry.timer) entry.timer = this.ctx.clock.setTimer(graceMs, remove);
  }

  // -------------------------------------------------------------------------------------------
  // Reconnect, keepalive, stop, counters

  #scheduleReconnect(): void {
    if (this.#phase !== 'running' || this.#reconnectTimer) return;
    const delay = reconnectDelayMs(this.#reconnectAttempts, this.ctx.timing, this.ctx.random);
    this.#reconnectAttempts += 1;
    this.#nextReconnectAt = this.ctx.clock.now() + delay;
    this.#log.info({ delayMs: delay, attempt: this.#reconnectAttempts }, 'will re-initiate');
    this.#reconnectTimer = this.ctx.clock.setTimer(delay, () => {
      this.#reconnectTimer = undefined;
      this.#nextReconnectAt = undefined;
      if (this.#phase !== 'running' || this.#current || this.#connecting) return;
      this.#counts.reconnects += 1;
      this.#initiate(undefined);
    });
  }

  #cancelReconnect(): void {
    this.#reconnectTimer?.cancel();
    this.#reconnectTimer = undefined;
    this.#nextReconnectAt = undefined;
  }

  /** RFC 3948 §2.3: 0xFF keepalives keep a NAT mapping in front of us open. */
  #armKeepalive(): void {
    this.#keepaliveTimer?.cancel();
    this.#keepaliveTimer = undefined;
    const sa = this.#current;
    if (!sa || !sa.natLocal || this.#phase !== 'running') return;
    this.#keepaliveTimer = this.ctx.clock.setTimer(this.ctx.timing.natKeepaliveIntervalMs, () => {
      const current = this.#current;
      if (current && current.natLocal && current.state === 'established') {
        try {
          this.ctx.transport.sendNatKeepalive(current.local, current.remote);
        } catch (error) {
          this.#log.warn({ err: describeError(error) }, 'NAT keepalive failed');
        }
      }
      this.#armKeepalive();
    });
  }

  #finishStop(): void {
    if (this.#phase === 'stopped') return;
    for (const sa of [...this.#sas]) sa.die(new LocalCloseError('connection stopped'));
    this.#phase = 'stopped';
    for (const child of this.#children.splice(0)) {
      child.state = 'deleted';
      child.cancelTimers();
    }
    this.#installOrder.splice(0);
    for (const [id, entry] of [...this.#installed]) {
      entry.timer?.cancel();
      this.#installed.delete(id);
      try {
        this.#options.sink.removeChildSa(id, 'connection stopped');
      } catch (error) {
        this.#log.error({ child: id, err: describeError(error) }, 'data plane failed to remove the IPsec SA');
      }
    }
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#childCreateTimer?.cancel();
    this.#log.info('IKEv1 connection stopped');
    const waiters = this.#stopWaiters;
    this.#stopWaiters = [];
    for (const resolve of waiters) resolve();
  }

  countDrop(reason: DropReason): void {
    this.#drops[reason] = (this.#drops[reason] ?? 0) + 1;
    this.#log.debug({ reason }, 'datagram dropped');
  }

  countRetransmission(kind: 'request' | 'cached-response'): void {
    if (kind === 'request') this.#counts.retransmittedRequests += 1;
    else this.#counts.cachedResponsesResent += 1;
  }

  /** Listeners must not break the protocol machinery. */
  #emit<K extends keyof IkeConnectionEvents>(event: K, ...args: IkeConnectionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: IkeConnectionEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#log.error({ event, err: describeError(error) }, 'event listener failed');
    }
  }
}

/** The incoming-datagram path, for a dispatcher that routes by peer address to connections. */
export function deliverIkeV1Datagram(connection: IkeV1Connection, datagram: IkeDatagram): void {
  connection.handleDatagram(datagram);
}

