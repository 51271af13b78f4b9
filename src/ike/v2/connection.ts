/**
 * One AWS tunnel's IKEv2 side (RFC 7296): owns the current IKE SA and its CHILD SA, keeps them
 * up and hands CHILD SAs to the data plane: the IKEv2 driver on the version-neutral floor of
 * src/ike/connection (base.ts: the lifecycle with phase, reconnect, NAT keepalive, counters,
 * stop, events and status; the CHILD SA ledger).
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
 * CHILD SAs belong to their IKE SA (RFC 7296 §1.3): they move to its successor when the IKE SA
 * is rekeyed, and go when it dies.
 *
 * Incoming datagrams (already demultiplexed to this peer) go through handleDatagram(), which
 * never throws: each problem becomes the RFC's answer or a counted drop (status().counters).
 * IKE_SA_INIT requests are accepted in both roles (AWS initiates with StartupAction=start, and
 * a restarted peer re-initiates); a newly established IKE SA replaces an older one.
 */
import type { Logger } from 'pino';
import { WireErrorCode } from '../../wire/buffer.js';
import { IkeConnectionBase } from '../connection/base.js';
import { setChildTimer } from '../connection/child-ledger.js';
import { connectionContext, type ConnectionContext } from '../connection/context.js';
import type { IkeConnectionOptions } from '../connection/options.js';
import { childSaStatus, ikeSaStatus, type IkeSaStatus } from '../connection/status.js';
import { DropReason } from '../drop-reasons.js';
import { LifetimeExpiredError, LocalCloseError, ReplacedError, describeError, type IkeError } from '../errors.js';
import { proposalPolicyFor } from '../proposals/policy.js';
import { describeChildSuite, describeIkeSuite } from '../proposals/suites.js';
import type { IkeDatagram, TimerHandle } from '../runtime.js';
import { ourChildLifetime, ourIkeLifetime, saSchedule, type SaLifetime } from '../timing.js';
import type { ChildSa } from './sa/child-sa.js';
import { IkeSa, type IkeSaHost, type IkeSaParams } from './sa/ike-sa.js';
import { findNotify, firstOf, notify, spiHex, type InboundMessage } from './sa/payload-helpers.js';
import { ChildCreateInitiator, CreateChildResponder } from './tasks/child-create.js';
import { ChildDeleteInitiator } from './tasks/child-delete.js';
import { IkeAuthResponder } from './tasks/ike-auth.js';
import { IkeDeleteInitiator } from './tasks/ike-delete.js';
import { IkeInitInitiator, IkeInitResponder, type CookiePolicy } from './tasks/ike-init.js';
import { CookieJar } from './cookies.js';
import { LoadGate, RefusalSummary } from '../connection/admission.js';
import { IkeRekeyInitiator } from './tasks/ike-rekey.js';
import { DpdInitiator, InformationalResponder } from './tasks/informational.js';
import type { InitiatorTask, ResponderTask } from './tasks/task.js';
import { ExchangeType, HeaderFlag, IKE_HEADER_LENGTH, NotifyType, ProtocolId } from './wire/constants.js';
import { InvalidMajorVersionError, UnsupportedCriticalPayloadError, WireError } from './wire/errors.js';
import { decodeMessage, encodeMessage, type DecodedMessage, type IkeHeaderFields } from './wire/message.js';
import type { Payload } from './wire/payloads.js';
import { checkHeaderRules, checkPayloadRules } from './wire/rules.js';

const ZERO_SPI = Buffer.alloc(8);
/** Bound on responder SAs still in IKE_SA_INIT/IKE_AUTH (beyond it new requests are dropped). */
const MAX_HALF_OPEN = 256;
/** How long COOKIEs stay demanded after the IKE_SA_INIT rate falls below its threshold. */
const COOKIE_LOAD_HOLD_MS = 10_000;
/** IKEv2 lifetimes are ours alone, never negotiated (RFC 7296 §2.8; timing.ts SaLifetime). */
const LIFETIMES: SaLifetime = { rule: 'local-policy' };

export class IkeV2Connection extends IkeConnectionBase<IkeSa, ConnectionContext> implements IkeSaHost {
  readonly #options: IkeConnectionOptions;
  readonly #log: Logger;
  #childIds = 0;
  readonly #childRecreate: { timer: TimerHandle | undefined } = { timer: undefined };
  readonly #requeueTimers = new Set<TimerHandle>();
  readonly #cookies: CookieJar;
  /** IKE_SA_INIT requests per second at or above which COOKIEs are demanded (held 10 s). */
  readonly #initLoad: LoadGate;
  readonly #refusals: RefusalSummary;

  constructor(options: IkeConnectionOptions) {
    const log = options.logger.child({ tunnel: options.tunnel.index, role: options.role, ike: 'v2' });
    super(options, connectionContext(options, options.policy ?? proposalPolicyFor(options.tunnel), log), 'IKE_AUTH');
    this.#options = options;
    this.#log = log;
    this.#cookies = new CookieJar(this.ctx.clock, this.ctx.random);
    this.#initLoad = new LoadGate(this.ctx.clock, this.ctx.timing.cookieRateThreshold, COOKIE_LOAD_HOLD_MS);
    this.#refusals = new RefusalSummary(this.ctx.clock, log, 'IKE_SA_INIT');
  }

  // -------------------------------------------------------------------------------------------
  // IkeConnection: the driver's half

  rekeyChild(): boolean {
    const sa = this.life.current;
    const child = sa?.children.find((c) => c.state === 'installed');
    if (!sa || sa.state !== 'established' || !child) return false;
    sa.queueTask(new ChildCreateInitiator(sa, { rekey: child }));
    return true;
  }

  rekeyIke(): boolean {
    const sa = this.life.current;
    if (!sa || sa.state !== 'established') return false;
    sa.queueTask(new IkeRekeyInitiator(sa));
    return true;
  }

  deleteChild(): boolean {
    const sa = this.life.current;
    const child = sa?.children.find((c) => c.state === 'installed');
    if (!sa || sa.state !== 'established' || !child) return false;
    child.state = 'deleting';
    sa.queueTask(new ChildDeleteInitiator(sa, child, 'deleted locally', { graceMs: 0 }));
    return true;
  }

  deleteIke(): boolean {
    const sa = this.life.current;
    if (!sa || sa.state !== 'established') return false;
    sa.queueTask(new IkeDeleteInitiator(sa, 'deleted locally'));
    return true;
  }

  checkNatMapping(): boolean {
    const sa = this.life.current;
    if (!sa || sa.state !== 'established' || !sa.natLocal || sa.activeTask || sa.queue.length > 0) return false;
    sa.queueTask(new DpdInitiator(sa));
    return true;
  }

  /** A CREATE_CHILD_SA rekey of the exhausting CHILD SA, unless one is pending (see IkeConnection). */
  childSaExhausting(childId: number): boolean {
    const sa = this.life.current;
    const child = sa?.children.find((c) => c.id === childId);
    if (!sa || !child || child.state !== 'installed' || sa.state !== 'established' || this.#rekeyPending(sa, child)) return false;
    this.#log.info({ child: child.id }, 'outbound sequence numbers running out: rekeying the CHILD SA');
    sa.queueTask(new ChildCreateInitiator(sa, { rekey: child }));
    return true;
  }

  protected ikeSaStatuses(): IkeSaStatus[] {
    const current = this.life.current;
    return [...this.life.sas].map((sa) =>
      ikeSaStatus(sa, {
        spiI: spiHex(sa.spiI),
        spiR: spiHex(sa.spiR),
        current: sa === current,
        suite: sa.suite ? describeIkeSuite(sa.suite) : undefined,
        nextRequestId: sa.nextRequestId,
        expectedRequestId: sa.expectedRequestId,
        activeTask: sa.activeTask?.name,
        queuedTasks: sa.queue.map((t) => t.name),
        children: sa.children.map((c) => childSaStatus(c, describeChildSuite(c.suite))),
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  protected receive(datagram: IkeDatagram): void {
    const data = datagram.data;
    if (this.life.phase === 'stopped' || this.life.phase === 'idle') {
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
    const sa = [...this.life.sas].find((candidate) => candidate.matches(header.spiI, header.spiR));
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
      if (exchange === ExchangeType.IKE_SA_INIT && isRequest && !spiI.equals(ZERO_SPI) && this.life.running) {
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
    const sa = [...this.life.sas].find((c) => c.originalInitiator && c.state === 'connecting' && c.spiI.equals(message.header.spiI) && c.spiR.equals(ZERO_SPI));
    if (!sa) {
      this.countDrop(DropReason.UNKNOWN_SPI);
      return;
    }
    sa.receiveInitResponse(message);
  }

  #initRequest(message: InboundMessage): void {
    if (!this.life.running) {
      this.countDrop(DropReason.SA_CLOSED);
      return;
    }
    // Unauthenticated: a request that breaks the IKE_SA_INIT rules gets no answer at all.
    if (!checkPayloadRules(ExchangeType.IKE_SA_INIT, false, message.payloads).ok) {
      this.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    const existing = [...this.life.sas].find((c) => !c.originalInitiator && c.spiI.equals(message.header.spiI));
    if (existing) {
      existing.receiveInitRequest(message);
      return;
    }
    this.#initLoad.note();
    if (this.life.halfOpenCount() >= MAX_HALF_OPEN) {
      this.countDrop(DropReason.COOKIE_REQUIRED);
      return;
    }
    if (this.#demandCookie(message)) return;
    const sa = new IkeSa(this, {
      originalInitiator: false,
      spiI: Buffer.from(message.header.spiI),
      spiR: Buffer.from(ZERO_SPI),
      local: message.local,
      remote: message.remote,
    });
    sa.receiveInitRequest(message);
    if (sa.spiR.equals(ZERO_SPI) || sa.state !== 'connecting') return; // refused statelessly
    this.life.registerHalfOpen(sa);
  }

  /**
   * Under load, a request without a valid COOKIE is answered N(COOKIE) here, before any SA object
   * (logger, timers) exists: the whole cost is one decode and one SHA-256 (RFC 7296 §2.6).
   */
  #demandCookie(message: InboundMessage): boolean {
    const policy = this.#cookiePolicy;
    if (!policy.required()) return false;
    const nonce = firstOf(message.payloads, 'Nonce');
    if (!nonce) return false; // the payload rules already require one
    const { spiI } = message.header;
    const offered = findNotify(message.payloads, NotifyType.COOKIE);
    if (offered && policy.accepts(offered.data, nonce.nonce, message.remote.address, spiI)) return false;
    policy.refused(offered ? 'bad-cookie' : 'cookie-demanded');
    const cookie = policy.cookieFor(nonce.nonce, message.remote.address, spiI);
    this.#statelessAnswer({ local: message.local, remote: message.remote, data: message.datagram }, ExchangeType.IKE_SA_INIT, 0, ZERO_SPI, notify(NotifyType.COOKIE, cookie));
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // IkeSaHost: lifecycle

  protected initiate(): void {
    if (!this.life.running) return;
    let spiI = this.ctx.random.bytes(8);
    while (spiI.equals(ZERO_SPI)) spiI = this.ctx.random.bytes(8);
    const sa = new IkeSa(this, {
      originalInitiator: true,
      spiI,
      spiR: Buffer.from(ZERO_SPI),
      local: this.#options.local,
      remote: this.#options.remote,
    });
    this.life.sas.add(sa);
    this.life.connecting = sa;
    this.#log.info({ spiI: spiHex(spiI), attempt: this.life.reconnectAttempts }, 'initiating IKE SA');
    sa.queueTask(new IkeInitInitiator(sa));
  }

  saEstablished(sa: IkeSa): void {
    const life = this.life;
    life.count('ikeSasEstablished');
    if (life.connecting === sa) life.connecting = undefined;
    const pending = life.connecting;
    if (pending && pending !== sa && !sa.originalInitiator) {
      // The peer's IKE SA came up while ours was still negotiating: keep the peer's.
      life.connecting = undefined;
      pending.die(new ReplacedError('the peer established an IKE SA first'));
    }
    const previous = life.current;
    if (previous && previous !== sa && previous.isAlive) {
      // A new IKE SA with the same peer (it restarted, INITIAL_CONTACT): the old one goes, with
      // its CHILD SAs, before the new CHILD SA is handed to the data plane.
      this.#log.info({ old: previous.describe() }, 'IKE SA replaced by a newer one');
      const replaced = new ReplacedError('replaced by a newer IKE SA');
      if (previous.state === 'established') previous.closeWithNotice(replaced, [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }]);
      else previous.die(replaced);
    }
    life.current = sa;
    life.resetBackoff();
    this.#armIkeTimers(sa);
    life.armNatKeepalive();
    life.emit('ike-up', {
      spiI: spiHex(sa.spiI),
      spiR: spiHex(sa.spiR),
      suite: sa.suite ? describeIkeSuite(sa.suite) : '',
      initiatedByUs: sa.originalInitiator,
      natLocal: sa.natLocal,
      natRemote: sa.natRemote,
    });
  }

  saDead(sa: IkeSa, error: IkeError): void {
    const life = this.life;
    life.sas.delete(sa);
    const wasCurrent = sa === life.current;
    const wasConnecting = sa === life.connecting;
    const children = sa.children.splice(0);
    const live = children.find((c) => c.isLive);
    for (const child of children) this.#forgetChild(child, `IKE SA down: ${error.code}`);
    if (wasCurrent) {
      life.current = undefined;
      if (live) life.emit('child-down', { id: live.id, reason: `IKE SA down: ${error.message}` });
    }
    if (wasConnecting) life.connecting = undefined;
    const attempt = !sa.establishedAt && (wasConnecting || !sa.originalInitiator);
    if (wasCurrent || attempt) {
      life.noteError(error);
      life.emit('ike-down', {
        spiI: spiHex(sa.spiI),
        spiR: spiHex(sa.spiR),
        established: wasCurrent,
        code: error.code,
        reason: error.message,
      });
    }
    if (wasCurrent || wasConnecting) life.reconnectIfIdle();
    if (wasCurrent) life.stopNatKeepalive();
    if (life.phase === 'stopping' && ![...life.sas].some((s) => s.state === 'established' || s.state === 'deleting')) life.finish();
  }

  livenessCheckDue(sa: IkeSa): void {
    if (sa !== this.life.current) return;
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

  countCollision(kind: 'child' | 'ike'): void {
    this.life.count(kind === 'child' ? 'childRekeyCollisions' : 'ikeRekeyCollisions');
  }

  createIkeSa(params: IkeSaParams): IkeSa {
    const sa = new IkeSa(this, params);
    this.life.sas.add(sa);
    // An IKE SA born in a rekey that neither side ends up using (a collision whose loser never
    // heard its answer, the old SA deleted under it) would linger for ever: sweep it.
    sa.setTimer(2 * this.ctx.timing.rekeyedIkeSaLingerMs, () => {
      if (sa === this.life.current || sa.successor || sa.children.length > 0 || sa.state !== 'established') return;
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
    this.life.count('ikeRekeys');
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
    if (oldSa === this.life.current || !this.life.current) this.life.current = newSa;
    this.#armIkeTimers(newSa);
    this.#log.info({ old: oldSa.describe(), new: newSa.describe(), weInitiated: options.weInitiated }, 'IKE SA rekeyed');
    this.life.emit('ike-rekeyed', {
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
      if (!this.life.running) return;
      if (sa.state === 'established') {
        sa.queueTask(task, { front: true });
        return;
      }
      const current = this.life.current;
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
    const now = this.ctx.clock.now();
    const schedule = saSchedule(LIFETIMES, ourIkeLifetime(this.ctx.timing), this.ctx.random);
    sa.rekeyAt = now + schedule.rekeySeconds * 1000;
    sa.expiresAt = now + schedule.hardLifetimeSeconds * 1000;
    sa.setTimer(schedule.rekeySeconds * 1000, () => this.#ikeRekeyDue(sa));
    sa.setTimer(schedule.hardLifetimeSeconds * 1000, () => {
      if (sa.state === 'established') sa.closeWithNotice(new LifetimeExpiredError('IKE SA'), [{ kind: 'D', protocolId: ProtocolId.IKE, spis: [] }]);
      else sa.die(new LifetimeExpiredError('IKE SA'));
    });
  }

  #ikeRekeyDue(sa: IkeSa): void {
    if (sa !== this.life.current || sa.state !== 'established') return;
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
    const schedule = saSchedule(LIFETIMES, ourChildLifetime(this.ctx.timing), this.ctx.random);
    child.rekeyAt = child.createdAt + schedule.rekeySeconds * 1000;
    child.expiresAt = child.createdAt + schedule.hardLifetimeSeconds * 1000;
    if (!options.install) return;
    this.#armChildTimers(child);
    this.ledger.install(child, sa, schedule);
    const event = {
      id: child.id,
      spiIn: spiHex(child.spiIn),
      spiOut: spiHex(child.spiOut),
      suite: describeChildSuite(child.suite),
      initiatedByUs: child.initiatedByUs,
    };
    this.#log.info({ ...event, replaces: options.replaces?.id }, options.replaces ? 'CHILD SA rekeyed' : 'CHILD SA up');
    if (options.replaces) {
      this.life.count('childRekeys');
      this.life.emit('child-rekeyed', { ...event, oldId: options.replaces.id });
    } else {
      this.life.emit('child-up', event);
    }
    this.#childRecreate.timer?.cancel();
  }

  childRetired(_sa: IkeSa, child: ChildSa, reason: string, options: { readonly graceMs: number; readonly replacedBy?: ChildSa }): void {
    const holder = this.#holderOf(child);
    if (holder) holder.children.splice(holder.children.indexOf(child), 1);
    child.state = 'deleted';
    child.cancelTimers();
    this.ledger.remove(child, reason, options.graceMs);
    this.#log.info({ child: child.id, reason }, 'CHILD SA retired');
    if (holder && holder === this.life.current && !holder.children.some((c) => c.isLive)) {
      this.life.emit('child-down', { id: child.id, reason });
      this.#scheduleChildRecreate();
    }
  }

  childSaMissing(sa: IkeSa): void {
    if (sa === this.life.current && !sa.children.some((c) => c.isLive)) this.#scheduleChildRecreate();
  }

  childRekeyLater(child: ChildSa, afterMs: number): void {
    setChildTimer(this.ctx.clock, child, afterMs, () => this.#childRekeyDue(child));
  }

  #armChildTimers(child: ChildSa): void {
    if (child.rekeyAt !== undefined) this.childRekeyLater(child, child.rekeyAt - this.ctx.clock.now());
    if (child.expiresAt !== undefined) setChildTimer(this.ctx.clock, child, child.expiresAt - this.ctx.clock.now(), () => this.#childExpired(child));
  }

  #holderOf(child: ChildSa): IkeSa | undefined {
    return [...this.life.sas].find((sa) => sa.children.includes(child));
  }

  #childRekeyDue(child: ChildSa): void {
    if (child.state !== 'installed') return;
    const sa = this.#holderOf(child);
    if (!sa) return;
    if (sa.state !== 'established') {
      this.childRekeyLater(child, this.ctx.timing.temporaryFailureRetryMinMs);
      return;
    }
    if (!this.#rekeyPending(sa, child)) sa.queueTask(new ChildCreateInitiator(sa, { rekey: child }));
  }

  #rekeyPending(sa: IkeSa, child: ChildSa): boolean {
    return [sa.activeTask, ...sa.queue].some((t) => t instanceof ChildCreateInitiator && t.rekeyed === child);
  }

  /** Hard lifetime: the SA is unusable; it leaves the data plane now and the peer is told. */
  #childExpired(child: ChildSa): void {
    if (child.state === 'deleted') return;
    this.#log.warn({ child: child.id }, 'CHILD SA reached its hard lifetime');
    this.ledger.remove(child, 'hard lifetime', 0);
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
    if (this.#options.role !== 'initiator' || !this.life.running) return;
    this.#childRecreate.timer?.cancel();
    this.#childRecreate.timer = this.ctx.clock.setTimer(this.ctx.timing.childRecreateDelayMs, () => {
      this.#childRecreate.timer = undefined;
      const sa = this.life.current;
      if (!sa || !this.life.running || sa.children.some((c) => c.isLive)) return;
      if (sa.state !== 'established') {
        this.#scheduleChildRecreate();
        return;
      }
      const pending = [sa.activeTask, ...sa.queue].some((t) => t instanceof ChildCreateInitiator && t.rekeyed === undefined);
      if (!pending) sa.queueTask(new ChildCreateInitiator(sa));
    });
  }

  /** The SA's IKE SA is gone: out of the data plane at once. */
  #forgetChild(child: ChildSa, reason: string): void {
    child.cancelTimers();
    child.state = 'deleted';
    this.ledger.remove(child, reason, 0);
  }

  // -------------------------------------------------------------------------------------------
  // Stopping (the lifecycle's hooks)

  /** Deletes the IKE SA at the peer; the lifecycle finishes when it is gone or after a bounded wait. */
  protected sayGoodbye(): void {
    this.#childRecreate.timer?.cancel();
    const current = this.life.current;
    if (current && current.state === 'established') {
      for (const task of current.queue.splice(0)) task.abandon?.(new LocalCloseError('stopping'));
      const timeout = this.ctx.timing.stopTimeoutMs;
      current.queueTask(new IkeDeleteInitiator(current, 'connection stopped', { retransmitTimeoutsMs: [timeout] }), { front: true });
      // If a request is still in flight, the Delete waits behind it; bound the whole wait.
      this.ctx.clock.setTimer(timeout * 2, () => this.life.finish());
    } else {
      this.life.finish();
    }
  }

  protected tearDown(): void {
    this.#refusals.close();
    for (const sa of [...this.life.sas]) sa.die(new LocalCloseError('connection stopped'));
    this.ledger.removeAll('connection stopped');
    this.#childRecreate.timer?.cancel();
    for (const timer of this.#requeueTimers) timer.cancel();
    this.#requeueTimers.clear();
  }

  get #cookiePolicy(): CookiePolicy {
    return {
      required: () => this.life.halfOpenCount() >= this.ctx.timing.cookieThreshold || this.#initLoad.loaded(),
      cookieFor: (nonce, address, spiI) => this.#cookies.cookieFor(nonce, address, spiI),
      accepts: (offered, nonce, address, spiI) => this.#cookies.accepts(offered, nonce, address, spiI),
      refused: (reason, detail) => this.#refusals.note(reason, detail),
    };
  }
}
