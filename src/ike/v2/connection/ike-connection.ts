/**
 * One AWS tunnel's IKEv2 side: owns the current IKE SA and its CHILD SA, keeps them up and
 * hands CHILD SAs to the data plane.
 *
 *   start() ─► initiator: IKE_SA_INIT ─► IKE_AUTH (+ first CHILD SA) ─► established
 *              responder: waits for the peer's IKE_SA_INIT
 *   established ─► CHILD rekey at lifetime − margin − fuzz, IKE rekey likewise, liveness checks
 *                  when the peer has been silent for the DPD interval
 *   failure / peer death (DPD, retransmissions exhausted, the peer's Delete of the IKE SA)
 *              ─► every CHILD SA removed from the data plane ─► re-initiate after a capped,
 *                 jittered exponential backoff, for ever (initiator role)
 *   stop()   ─► Delete of the IKE SA (best effort, bounded wait) ─► everything removed
 *
 * Incoming datagrams (already demultiplexed to this peer) go through handleDatagram(), which
 * never throws: each problem becomes the RFC's answer or a counted drop (status().counters).
 * IKE_SA_INIT requests are accepted in both roles (AWS initiates with StartupAction=start, and
 * a restarted peer re-initiates); a newly established IKE SA replaces an older one.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { TunnelConfig } from '../../../config/model.js';
import type { ChildSaInstall, ChildSaSink, Clock, Endpoint, IkeDatagram, IkeTransport, RandomSource, TimerHandle } from '../../runtime.js';
import { ExchangeType, HeaderFlag, IKE_HEADER_LENGTH, NotifyType, ProtocolId } from '../wire/constants.js';
import { InvalidMajorVersionError, UnsupportedCriticalPayloadError, WireError } from '../wire/errors.js';
import { decodeMessage, encodeMessage, type DecodedMessage, type IkeHeaderFields } from '../wire/message.js';
import type { Payload } from '../wire/payloads.js';
import { checkHeaderRules, checkPayloadRules } from '../wire/rules.js';
import { WireErrorCode } from '../../../wire/buffer.js';
import { DropReason } from '../../drop-reasons.js';
import {
  describeError,
  HalfOpenTimeoutError,
  LifetimeExpiredError,
  LocalCloseError,
  ReplacedError,
  type IkeError,
} from '../../errors.js';
import { proposalPolicyFor, type ProposalPolicy } from '../../proposals/policy.js';
import { describeChildSuite, describeIkeSuite } from '../../proposals/suites.js';
import type { ChildSa } from '../sa/child-sa.js';
import { connectionContext, type ConnectionContext } from '../../connection/context.js';
import type { IkeConnectionOptions } from '../../connection/options.js';
import { IkeSa, type IkeSaHost, type IkeSaParams } from '../sa/ike-sa.js';
import { notify, spiHex, type InboundMessage } from '../sa/payload-helpers.js';
import { ChildCreateInitiator, CreateChildResponder } from '../tasks/child-create.js';
import { ChildDeleteInitiator } from '../tasks/child-delete.js';
import { IkeAuthResponder } from '../tasks/ike-auth.js';
import { IkeDeleteInitiator } from '../tasks/ike-delete.js';
import { IkeInitInitiator, IkeInitResponder, computeCookie, type CookiePolicy } from '../tasks/ike-init.js';
import { IkeRekeyInitiator } from '../tasks/ike-rekey.js';
import { DpdInitiator, InformationalResponder } from '../tasks/informational.js';
import type { InitiatorTask, ResponderTask } from '../tasks/task.js';
import { reconnectDelayMs, rekeyAfterSeconds } from '../../timing.js';
import type { IkeConnectionEvents } from '../../connection/events.js';
import type { ConnectionState, ConnectionStatus, IkeSaStatus } from '../../connection/status.js';

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

const ZERO_SPI = Buffer.alloc(8);
/** Bound on responder SAs still in IKE_SA_INIT/IKE_AUTH (beyond it new requests are dropped). */
const MAX_HALF_OPEN = 256;

export class IkeConnection extends EventEmitter<IkeConnectionEvents> implements IkeSaHost {
  readonly ctx: ConnectionContext;
  readonly #options: IkeConnectionOptions;
  readonly #log: Logger;
  readonly #sas = new Set<IkeSa>();
  #current: IkeSa | undefined;
  #connecting: IkeSa | undefined;
  #phase: Phase = 'idle';
  #childIds = 0;
  #reconnectAttempts = 0;
  #reconnectTimer: TimerHandle | undefined;
  #nextReconnectAt: number | undefined;
  #keepaliveTimer: TimerHandle | undefined;
  /** CHILD SAs the data plane holds, and pending delayed removals. */
  readonly #installed = new Map<number, { timer: TimerHandle | undefined }>();
  readonly #childRecreate: { timer: TimerHandle | undefined } = { timer: undefined };
  readonly #requeueTimers = new Set<TimerHandle>();
  readonly #cookieSecret: Buffer;
  #lastError: { code: string; reason: string; at: number } | undefined;
  readonly #drops: Partial<Record<DropReason, number>> = {};
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
  #stopWaiters: (() => void)[] = [];

  constructor(options: IkeConnectionOptions) {
    super();
    this.#options = options;
    this.#log = options.logger.child({ tunnel: options.tunnel.index, role: options.role });
    this.ctx = connectionContext(options, options.policy ?? proposalPolicyFor(options.tunnel), this.#log);
    this.#cookieSecret = options.random.bytes(32);
    if (options.listen !== false) options.transport.onDatagram((datagram) => this.handleDatagram(datagram));
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** Initiates (initiator role) or starts accepting the peer's IKE_SA_INIT (responder role). */
  start(): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    this.#log.info({ local: this.#options.local, remote: this.#options.remote }, 'IKE connection started');
    if (this.#options.role === 'initiator') this.#initiate();
  }

  /** Deletes the IKE SA (best effort, bounded wait) and removes every CHILD SA from the data plane. */
  stop(): Promise<void> {
    if (this.#phase === 'stopped') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    if (this.#phase === 'stopping') return done;
    this.#phase = 'stopping';
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#childRecreate.timer?.cancel();
    const current = this.#current;
    if (current && current.state === 'established') {
      for (const task of current.queue.splice(0)) task.abandon?.(new LocalCloseError('stopping'));
      const timeout = this.ctx.timing.stopTimeoutMs;
      current.queueTask(new IkeDeleteInitiator(current, 'connection stopped', { retransmitTimeoutsMs: [timeout] }), { front: true });
      // If a request is still in flight, the Delete waits behind it; bound the whole wait.
      this.ctx.clock.setTimer(timeout * 2, () => this.#finishStop());
    } else {
      this.#finishStop();
    }
    return done;
  }

  /** The incoming-datagram path: never throws; problems become answers or counted drops. */
  handleDatagram(datagram: IkeDatagram): void {
    try {
      this.#receive(datagram);
    } catch (error) {
      this.countDrop(DropReason.INTERNAL_ERROR);
      this.#log.error({ err: describeError(error) }, 'datagram handling failed');
    }
  }

  /** ESP arrived on the current SA: the peer is alive (the data plane may report this). */
  noteInboundActivity(): void {
    const current = this.#current;
    if (current) current.lastReceivedAt = this.ctx.clock.now();
  }

  /** Starts a rekey of the live CHILD SA now (CLI, lab, tests). False when there is nothing to rekey. */
  rekeyChild(): boolean {
    const sa = this.#current;
    const child = sa?.children.find((c) => c.state === 'installed');
    if (!sa || sa.state !== 'established' || !child) return false;
    sa.queueTask(new ChildCreateInitiator(sa, { rekey: child }));
    return true;
  }

  /** Starts a rekey of the IKE SA now (CLI, lab, tests). */
  rekeyIke(): boolean {
    const sa = this.#current;
    if (!sa || sa.state !== 'established') return false;
    sa.queueTask(new IkeRekeyInitiator(sa));
    return true;
  }

  /** Deletes the live CHILD SA (tests; an initiator re-creates it). */
  deleteChild(): boolean {
    const sa = this.#current;
    const child = sa?.children.find((c) => c.state === 'installed');
    if (!sa || sa.state !== 'established' || !child) return false;
    child.state = 'deleting';
    sa.queueTask(new ChildDeleteInitiator(sa, child, 'deleted locally', { graceMs: 0 }));
    return true;
  }

  /** Deletes the IKE SA without stopping: the connection re-initiates (initiator role). */
  deleteIke(): boolean {
    const sa = this.#current;
    if (!sa || sa.state !== 'established') return false;
    sa.queueTask(new IkeDeleteInitiator(sa, 'deleted locally'));
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
    const ikeSas: IkeSaStatus[] = [...this.#sas].map((sa) => ({
      spiI: spiHex(sa.spiI),
      spiR: spiHex(sa.spiR),
      state: sa.state,
      originalInitiator: sa.originalInitiator,
      current: sa === this.#current,
      suite: sa.suite ? describeIkeSuite(sa.suite) : undefined,
      local: endpoint(sa.local),
      remote: endpoint(sa.remote),
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
      establishedAt: sa.establishedAt,
      rekeyAt: sa.rekeyAt,
      expiresAt: sa.expiresAt,
      nextRequestId: sa.nextRequestId,
      expectedRequestId: sa.expectedRequestId,
      activeTask: sa.activeTask?.name,
      queuedTasks: sa.queue.map((t) => t.name),
      retransmissions: sa.retransmissions,
      children: sa.children.map((c) => ({
        id: c.id,
        state: c.state,
        spiIn: spiHex(c.spiIn),
        spiOut: spiHex(c.spiOut),
        suite: describeChildSuite(c.suite),
        initiatedByUs: c.initiatedByUs,
        installed: c.handedToSink,
        createdAt: c.createdAt,
        rekeyAt: c.rekeyAt,
        expiresAt: c.expiresAt,
      })),
    }));
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
    const data = datagram.data;
    if (this.#phase === 'stopped' || this.#phase === 'idle') {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    if (data.length < IKE_HEADER_LENGTH) {
      this.countDrop(DropReason.TRUNCATED);
      return;
    }
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(data);
    } catch (error) {
      this.#undecodable(datagram, error);
      return;
    }
    const headerRules = checkHeaderRules(decoded.header);
    if (!headerRules.ok) {
      this.countDrop(DropReason.HEADER_RULE);
      return;
    }
    const header = decoded.header;
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) {
      const message: InboundMessage = { header, payloads: decoded.payloads, datagram: data, local: datagram.local, remote: datagram.remote };
      if (header.flags.response) this.#initResponse(message);
      else this.#initRequest(message);
      return;
    }
    const sa = [...this.#sas].find((candidate) => candidate.matches(header.spiI, header.spiR));
    if (!sa) {
      // No answer (RFC 7296 §2.21.4 allows INVALID_IKE_SPI, but unauthenticated answers amplify).
      this.countDrop(DropReason.UNKNOWN_SPI);
      return;
    }
    sa.receive(data, decoded, datagram.local, datagram.remote);
  }

  /** Messages the codec refuses: a few get the RFC's unauthenticated answer, the rest are dropped. */
  #undecodable(datagram: IkeDatagram, error: unknown): void {
    const data = datagram.data;
    const isRequest = ((data[19] ?? 0) & HeaderFlag.RESPONSE) === 0;
    const spiI = data.subarray(0, 8);
    if (error instanceof InvalidMajorVersionError) {
      this.countDrop(DropReason.INVALID_MAJOR_VERSION);
      // §2.5: a higher major version gets INVALID_MAJOR_VERSION; version 1 is IKEv1's business.
      if (error.majorVersion > 2 && isRequest && !spiI.equals(ZERO_SPI)) {
        this.#statelessAnswer(datagram, error.context.exchangeType, error.context.messageId, error.context.spiR, notify(NotifyType.INVALID_MAJOR_VERSION));
      }
      return;
    }
    if (error instanceof UnsupportedCriticalPayloadError) {
      this.countDrop(DropReason.MALFORMED);
      const exchange = data[18];
      // Only IKE_SA_INIT can be answered in the clear; encrypted exchanges carry it inside SK.
      if (exchange === ExchangeType.IKE_SA_INIT && isRequest && !spiI.equals(ZERO_SPI) && this.#phase === 'running') {
        this.#statelessAnswer(datagram, exchange, 0, ZERO_SPI, notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, Buffer.from([error.payloadType])));
      }
      return;
    }
    const truncated = error instanceof WireError && (error.code === WireErrorCode.TRUNCATED || error.code === 'LENGTH_MISMATCH');
    this.countDrop(truncated ? DropReason.TRUNCATED : DropReason.MALFORMED);
  }

  #statelessAnswer(datagram: IkeDatagram, exchangeType: number, messageId: number, spiR: Buffer, payload: Payload): void {
    const header: IkeHeaderFields = {
      spiI: Buffer.from(datagram.data.subarray(0, 8)),
      spiR: Buffer.from(spiR),
      exchangeType,
      flags: { initiator: false, response: true, version: false },
      messageId,
    };
    try {
      this.ctx.transport.send(datagram.local, datagram.remote, encodeMessage({ header, payloads: [payload] }));
    } catch (error) {
      this.#log.warn({ err: describeError(error) }, 'stateless answer failed');
    }
  }

  #initResponse(message: InboundMessage): void {
    const sa = [...this.#sas].find((c) => c.originalInitiator && c.state === 'connecting' && c.spiI.equals(message.header.spiI) && c.spiR.equals(ZERO_SPI));
    if (!sa) {
      this.countDrop(DropReason.UNKNOWN_SPI);
      return;
    }
    sa.receiveInitResponse(message);
  }

  #initRequest(message: InboundMessage): void {
    if (this.#phase !== 'running') {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    // Unauthenticated: a request that breaks the IKE_SA_INIT rules gets no answer at all.
    if (!checkPayloadRules(ExchangeType.IKE_SA_INIT, false, message.payloads).ok) {
      this.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const existing = [...this.#sas].find((c) => !c.originalInitiator && c.spiI.equals(message.header.spiI));
    if (existing) {
      existing.receiveInitRequest(message);
      return;
    }
    if (this.#halfOpenCount() >= MAX_HALF_OPEN) {
      this.countDrop(DropReason.COOKIE_REQUIRED);
      return;
    }
    const sa = new IkeSa(this, {
      originalInitiator: false,
      spiI: Buffer.from(message.header.spiI),
      spiR: Buffer.from(ZERO_SPI),
      local: message.local,
      remote: message.remote,
    });
    sa.receiveInitRequest(message);
    if (sa.spiR.equals(ZERO_SPI) || sa.state !== 'connecting') return; // refused statelessly
    this.#sas.add(sa);
    sa.setTimer(this.ctx.timing.halfOpenTimeoutMs, () => {
      if (sa.state === 'connecting') sa.die(new HalfOpenTimeoutError('IKE_AUTH'));
    });
  }

  #halfOpenCount(): number {
    return [...this.#sas].filter((sa) => !sa.originalInitiator && sa.state === 'connecting').length;
  }

  // -------------------------------------------------------------------------------------------
  // IkeSaHost: lifecycle

  #initiate(): void {
    if (this.#phase !== 'running') return;
    let spiI = this.ctx.random.bytes(8);
    while (spiI.equals(ZERO_SPI)) spiI = this.ctx.random.bytes(8);
    const sa = new IkeSa(this, {
      originalInitiator: true,
      spiI,
      spiR: Buffer.from(ZERO_SPI),
      local: this.#options.local,
      remote: this.#options.remote,
    });
    this.#sas.add(sa);
    this.#connecting = sa;
    this.#log.info({ spiI: spiHex(spiI), attempt: this.#reconnectAttempts }, 'initiating IKE SA');
    sa.queueTask(new IkeInitInitiator(sa));
  }

  saEstablished(sa: IkeSa): void {
    this.#counts.ikeSasEstablished += 1;
    if (this.#connecting === sa) this.#connecting = undefined;
    const pending = this.#connecting;
    if (pending && pending !== sa && !sa.originalInitiator) {
      // The peer's IKE SA came up while ours was still negotiating: keep the peer's.
      this.#connecting = undefined;
      pending.die(new ReplacedError('the peer established an IKE SA first'));
    }
    const previous = this.#current;
    if (previous && previous !== sa && previous.isAlive) {
      // A new IKE SA with the same peer (it restarted, INITIAL_CONTACT): the old one goes, with
      // its CHILD SAs, before the new CHILD SA is handed to the data plane.
      this.#log.info({ old: previous.describe() }, 'IKE SA replaced by a newer one');
      const replaced = new ReplacedError('replaced by a newer IKE SA');
      if (previous.state === 'established') previous.closeWithNotice(replaced, [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }]);
      else previous.die(replaced);
    }
    this.#current = sa;
    this.#reconnectAttempts = 0;
    this.#cancelReconnect();
    this.#armIkeTimers(sa);
    this.#armKeepalive();
    this.#emit('ike-up', {
      spiI: spiHex(sa.spiI),
      spiR: spiHex(sa.spiR),
      suite: sa.suite ? describeIkeSuite(sa.suite) : '',
      initiatedByUs: sa.originalInitiator,
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
    });
  }

  saDead(sa: IkeSa, error: IkeError): void {
    this.#sas.delete(sa);
    const wasCurrent = sa === this.#current;
    const wasConnecting = sa === this.#connecting;
    const children = sa.children.splice(0);
    const live = children.find((c) => c.isLive);
    for (const child of children) this.#forgetChild(child, `IKE SA down: ${error.code}`);
    if (wasCurrent) {
      this.#current = undefined;
      if (live) this.#emit('child-down', { id: live.id, reason: `IKE SA down: ${error.message}` });
    }
    if (wasConnecting) this.#connecting = undefined;
    const attempt = !sa.establishedAt && (wasConnecting || !sa.originalInitiator);
    if (wasCurrent || attempt) {
      this.#lastError = { code: error.code, reason: error.message, at: this.ctx.clock.now() };
      this.#emit('ike-down', {
        spiI: spiHex(sa.spiI),
        spiR: spiHex(sa.spiR),
        established: wasCurrent,
        code: error.code,
        reason: error.message,
      });
    }
    if ((wasCurrent || wasConnecting) && this.#options.role === 'initiator' && !this.#current && !this.#connecting) {
      this.#scheduleReconnect();
    }
    if (wasCurrent) this.#keepaliveTimer?.cancel();
    if (this.#phase === 'stopping' && ![...this.#sas].some((s) => s.state === 'established' || s.state === 'deleting')) this.#finishStop();
  }

  livenessCheckDue(sa: IkeSa): void {
    if (sa !== this.#current) return;
    sa.queueTask(new DpdInitiator(sa));
  }

  responderTaskFor(sa: IkeSa, request: InboundMessage): ResponderTask {
    switch (request.header.exchangeType) {
      case ExchangeType.IKE_SA_INIT:
        return new IkeInitResponder(sa, this.#cookiePolicy);
      case ExchangeType.IKE_AUTH:
        return new IkeAuthResponder(sa);
      case ExchangeType.CREATE_CHILD_SA:
        return new CreateChildResponder(sa);
      default:
        return new InformationalResponder(sa);
    }
  }

  countDrop(reason: DropReason): void {
    this.#drops[reason] = (this.#drops[reason] ?? 0) + 1;
    this.#log.debug({ reason }, 'datagram dropped');
  }

  countRetransmission(kind: 'request' | 'cached-response'): void {
    if (kind === 'request') this.#counts.retransmittedRequests += 1;
    else this.#counts.cachedResponsesResent += 1;
  }

  countCollision(kind: 'child' | 'ike'): void {
    if (kind === 'child') this.#counts.childRekeyCollisions += 1;
    else this.#counts.ikeRekeyCollisions += 1;
  }

  createIkeSa(params: IkeSaParams): IkeSa {
    const sa = new IkeSa(this, params);
    this.#sas.add(sa);
    // An IKE SA born in a rekey that neither side ends up using (a collision whose loser never
    // heard its answer, the old SA deleted under it) would linger for ever: sweep it.
    sa.setTimer(2 * this.ctx.timing.rekeyedIkeSaLingerMs, () => {
      if (sa === this.#current || sa.successor || sa.children.length > 0 || sa.state !== 'established') return;
      this.#log.info({ sa: sa.describe() }, 'deleting an IKE SA nobody uses');
      sa.queueTask(new IkeDeleteInitiator(sa, 'unused after a rekey collision', { retransmitTimeoutsMs: [this.ctx.timing.retransmitBaseMs * 2] }));
    });
    return sa;
  }

  ikeSaRekeyed(oldSa: IkeSa, replacement: IkeSa, options: { readonly weInitiated: boolean }): void {
    // Colliding exchanges can resolve late: the chosen SA may have been rekeyed itself already,
    // and an SA may be handed over twice. Follow the chain to the live end; never fork it.
    let newSa = replacement;
    while (newSa.successor) newSa = newSa.successor;
    if (oldSa.successor) {
      let end = oldSa.successor;
      while (end.successor) end = end.successor;
      end.children.push(...oldSa.children.splice(0));
      return;
    }
    if (newSa === oldSa) return;
    oldSa.successor = newSa;
    newSa.collisionCandidateOf = undefined;
    this.#counts.ikeRekeys += 1;
    newSa.children.push(...oldSa.children.splice(0));
    const queued = oldSa.queue.splice(0);
    for (const task of queued) {
      if (task.name === 'IKE_DELETE') {
        oldSa.queue.push(task);
        continue;
      }
      const moved = task.rebind?.(newSa);
      if (moved) newSa.queue.push(moved);
    }
    if (oldSa.state === 'established') oldSa.state = 'rekeyed';
    if (oldSa === this.#current || !this.#current) this.#current = newSa;
    this.#armIkeTimers(newSa);
    this.#log.info({ old: oldSa.describe(), new: newSa.describe(), weInitiated: options.weInitiated }, 'IKE SA rekeyed');
    this.#emit('ike-rekeyed', {
      oldSpiI: spiHex(oldSa.spiI),
      oldSpiR: spiHex(oldSa.spiR),
      spiI: spiHex(newSa.spiI),
      spiR: spiHex(newSa.spiR),
      initiatedByUs: options.weInitiated,
    });
    if (!newSa.children.some((c) => c.isLive)) this.#scheduleChildRecreate();
    if (!options.weInitiated) {
      oldSa.setTimer(this.ctx.timing.rekeyedIkeSaLingerMs, () => {
        if (oldSa.state === 'rekeyed' && !oldSa.activeTask) oldSa.queueTask(new IkeDeleteInitiator(oldSa, 'peer never deleted the rekeyed IKE SA'));
      });
    }
    newSa.pump();
  }

  requeueLater(sa: IkeSa, task: InitiatorTask, afterMs: number): void {
    const timer = this.ctx.clock.setTimer(afterMs, () => {
      this.#requeueTimers.delete(timer);
      if (this.#phase !== 'running') return;
      if (sa.state === 'established') {
        sa.queueTask(task, { front: true });
        return;
      }
      const current = this.#current;
      if (!current || current === sa || current.state !== 'established') return;
      const moved = task.rebind?.(current);
      if (moved) current.queueTask(moved, { front: true });
    });
    this.#requeueTimers.add(timer);
  }

  ikeRekeyLater(sa: IkeSa, afterMs: number): void {
    sa.setTimer(afterMs, () => this.#ikeRekeyDue(sa));
  }

  #armIkeTimers(sa: IkeSa): void {
    const t = this.ctx.timing;
    const now = this.ctx.clock.now();
    const rekeyAfter = rekeyAfterSeconds(t.ikeLifetimeSeconds, t.ikeRekeyMarginSeconds, t.rekeyFuzzPercent, this.ctx.random);
    sa.rekeyAt = now + rekeyAfter * 1000;
    sa.expiresAt = now + t.ikeLifetimeSeconds * 1000;
    sa.setTimer(rekeyAfter * 1000, () => this.#ikeRekeyDue(sa));
    sa.setTimer(t.ikeLifetimeSeconds * 1000, () => {
      if (sa.state === 'established') sa.closeWithNotice(new LifetimeExpiredError('IKE SA'), [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }]);
      else sa.die(new LifetimeExpiredError('IKE SA'));
    });
  }

  #ikeRekeyDue(sa: IkeSa): void {
    if (sa !== this.#current || sa.state !== 'established') return;
    if (sa.activeTask?.name === 'IKE_REKEY' || sa.queue.some((t) => t.name === 'IKE_REKEY')) return;
    sa.queueTask(new IkeRekeyInitiator(sa));
  }

  // -------------------------------------------------------------------------------------------
  // IkeSaHost: CHILD SAs

  allocateChildId(): number {
    this.#childIds += 1;
    return this.#childIds;
  }

  childCreated(sa: IkeSa, child: ChildSa, options: { readonly install: boolean; readonly replaces?: ChildSa }): void {
    sa.children.push(child);
    child.replacedId = options.replaces?.id;
    const t = this.ctx.timing;
    const rekeyAfter = rekeyAfterSeconds(t.childLifetimeSeconds, t.childRekeyMarginSeconds, t.rekeyFuzzPercent, this.ctx.random);
    child.rekeyAt = child.createdAt + rekeyAfter * 1000;
    child.expiresAt = child.createdAt + t.childLifetimeSeconds * 1000;
    if (!options.install) return;
    this.#armChildTimers(child);
    const install = this.#installOf(sa, child, rekeyAfter);
    child.handedToSink = true;
    this.#installed.set(child.id, { timer: undefined });
    try {
      this.#options.sink.installChildSa(install);
    } catch (error) {
      this.#log.error({ child: child.id, err: describeError(error) }, 'data plane refused the CHILD SA');
    }
    this.ctx.keylog?.({ kind: 'child', install });
    const event = {
      id: child.id,
      spiIn: spiHex(child.spiIn),
      spiOut: spiHex(child.spiOut),
      suite: describeChildSuite(child.suite),
      initiatedByUs: child.initiatedByUs,
    };
    this.#log.info({ ...event, replaces: options.replaces?.id }, options.replaces ? 'CHILD SA rekeyed' : 'CHILD SA up');
    if (options.replaces) {
      this.#counts.childRekeys += 1;
      this.#emit('child-rekeyed', { ...event, oldId: options.replaces.id });
    } else {
      this.#emit('child-up', event);
    }
    this.#childRecreate.timer?.cancel();
  }

  childRetired(_sa: IkeSa, child: ChildSa, reason: string, options: { readonly graceMs: number; readonly replacedBy?: ChildSa }): void {
    const holder = this.#holderOf(child);
    if (holder) holder.children.splice(holder.children.indexOf(child), 1);
    child.state = 'deleted';
    child.cancelTimers();
    this.#removeFromSink(child, reason, options.graceMs);
    this.#log.info({ child: child.id, reason }, 'CHILD SA retired');
    if (holder && holder === this.#current && !holder.children.some((c) => c.isLive)) {
      this.#emit('child-down', { id: child.id, reason });
      this.#scheduleChildRecreate();
    }
  }

  childSaMissing(sa: IkeSa): void {
    if (sa === this.#current && !sa.children.some((c) => c.isLive)) this.#scheduleChildRecreate();
  }

  childRekeyLater(child: ChildSa, afterMs: number): void {
    const timer = this.ctx.clock.setTimer(afterMs, () => {
      child.timers.delete(timer);
      this.#childRekeyDue(child);
    });
    child.timers.add(timer);
  }

  #armChildTimers(child: ChildSa): void {
    if (child.rekeyAt !== undefined) this.childRekeyLater(child, child.rekeyAt - this.ctx.clock.now());
    if (child.expiresAt === undefined) return;
    const timer = this.ctx.clock.setTimer(child.expiresAt - this.ctx.clock.now(), () => {
      child.timers.delete(timer);
      this.#childExpired(child);
    });
    child.timers.add(timer);
  }

  #holderOf(child: ChildSa): IkeSa | undefined {
    return [...this.#sas].find((sa) => sa.children.includes(child));
  }

  #childRekeyDue(child: ChildSa): void {
    if (child.state !== 'installed') return;
    const sa = this.#holderOf(child);
    if (!sa) return;
    if (sa.state !== 'established') {
      this.childRekeyLater(child, this.ctx.timing.temporaryFailureRetryMinMs);
      return;
    }
    const pending = [sa.activeTask, ...sa.queue].some((t) => t instanceof ChildCreateInitiator && t.rekeyed === child);
    if (!pending) sa.queueTask(new ChildCreateInitiator(sa, { rekey: child }));
  }

  /** Hard lifetime: the SA is unusable; it leaves the data plane now and the peer is told. */
  #childExpired(child: ChildSa): void {
    if (child.state === 'deleted') return;
    this.#log.warn({ child: child.id }, 'CHILD SA reached its hard lifetime');
    this.#removeFromSink(child, 'hard lifetime', 0);
    const sa = this.#holderOf(child);
    if (!sa) return;
    if (sa.state === 'established' && child.state !== 'deleting') {
      child.state = 'deleting';
      sa.queueTask(new ChildDeleteInitiator(sa, child, 'hard lifetime', { graceMs: 0 }), { front: true });
    } else if (child.state !== 'deleting') {
      this.childRetired(sa, child, 'hard lifetime', { graceMs: 0 });
    }
  }

  /** An initiator keeps its tunnel's one CHILD SA: re-created when none is left (RFC 7296 §1.3.1). */
  #scheduleChildRecreate(): void {
    if (this.#options.role !== 'initiator' || this.#phase !== 'running') return;
    this.#childRecreate.timer?.cancel();
    this.#childRecreate.timer = this.ctx.clock.setTimer(this.ctx.timing.childRecreateDelayMs, () => {
      this.#childRecreate.timer = undefined;
      const sa = this.#current;
      if (!sa || this.#phase !== 'running' || sa.children.some((c) => c.isLive)) return;
      if (sa.state !== 'established') {
        this.#scheduleChildRecreate();
        return;
      }
      const pending = [sa.activeTask, ...sa.queue].some((t) => t instanceof ChildCreateInitiator && t.rekeyed === undefined);
      if (!pending) sa.queueTask(new ChildCreateInitiator(sa));
    });
  }

  #installOf(sa: IkeSa, child: ChildSa, rekeyAfterSeconds: number): ChildSaInstall {
    const keys = child.directionalKeys;
    const tunnel = this.#options.tunnel;
    return {
      id: child.id,
      tunnel: tunnel.index,
      spiIn: child.spiIn,
      spiOut: child.spiOut,
      encryption: child.suite.encryption,
      ...(child.suite.integrity ? { integrity: child.suite.integrity } : {}),
      encKeyIn: keys.encIn,
      encKeyOut: keys.encOut,
      ...(keys.integIn ? { integKeyIn: keys.integIn } : {}),
      ...(keys.integOut ? { integKeyOut: keys.integOut } : {}),
      local: sa.local,
      remote: sa.remote,
      replayWindow: tunnel.ipsec.replayWindow,
      ...(child.suite.dhGroup !== undefined ? { pfsGroup: child.suite.dhGroup } : {}),
      softLifetimeSeconds: rekeyAfterSeconds,
      hardLifetimeSeconds: this.ctx.timing.childLifetimeSeconds,
      createdAt: child.createdAt,
      initiatedByUs: child.initiatedByUs,
    };
  }

  /** Removes the SA from the data plane now, or after `graceMs` (make-before-break). */
  #removeFromSink(child: ChildSa, reason: string, graceMs: number): void {
    if (!child.handedToSink) return;
    const entry = this.#installed.get(child.id);
    if (!entry) return;
    const remove = (): void => {
      entry.timer = undefined;
      this.#installed.delete(child.id);
      child.handedToSink = false;
      try {
        this.#options.sink.removeChildSa(child.id, reason);
      } catch (error) {
        this.#log.error({ child: child.id, err: describeError(error) }, 'data plane failed to remove the CHILD SA');
      }
    };
    if (graceMs <= 0) {
      entry.timer?.cancel();
      remove();
      return;
    }
    if (entry.timer) return;
    entry.timer = this.ctx.clock.setTimer(graceMs, remove);
  }

  /** The SA's IKE SA is gone: out of the data plane at once. */
  #forgetChild(child: ChildSa, reason: string): void {
    child.cancelTimers();
    child.state = 'deleted';
    this.#removeFromSink(child, reason, 0);
  }

  // -------------------------------------------------------------------------------------------
  // Reconnect, keepalive, stop

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
      this.#initiate();
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
    this.#phase = 'stopped';
    for (const sa of [...this.#sas]) sa.die(new LocalCloseError('connection stopped'));
    for (const [id, entry] of [...this.#installed]) {
      entry.timer?.cancel();
      this.#installed.delete(id);
      try {
        this.#options.sink.removeChildSa(id, 'connection stopped');
      } catch (error) {
        this.#log.error({ child: id, err: describeError(error) }, 'data plane failed to remove the CHILD SA');
      }
    }
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#childRecreate.timer?.cancel();
    for (const timer of this.#requeueTimers) timer.cancel();
    this.#requeueTimers.clear();
    this.#log.info('IKE connection stopped');
    const waiters = this.#stopWaiters;
    this.#stopWaiters = [];
    for (const resolve of waiters) resolve();
  }

  get #cookiePolicy(): CookiePolicy {
    return {
      required: () => this.#halfOpenCount() >= this.ctx.timing.cookieThreshold,
      cookieFor: (nonce, address, spiI) => computeCookie(this.#cookieSecret, 1, nonce, address, spiI),
    };
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
export function deliverIkeDatagram(connection: IkeConnection, datagram: IkeDatagram): void {
  connection.handleDatagram(datagram);
}
