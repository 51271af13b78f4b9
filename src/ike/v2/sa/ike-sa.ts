/**
 * One IKE SA: SPIs, keys, the two message-ID windows and the task machinery.
 *
 * Receiving (every step may end in a counted drop; nothing throws to the caller):
 *
 *   1. window      response: must answer the request in flight (same Message ID);
 *                  request:  Message ID = expected → process;
 *                            = expected − 1 and the same bytes → resend the cached response
 *                            (RFC 7296 §2.1; the responder never retransmits on its own);
 *                            anything else → drop (§2.3)
 *   2. state gate  no CREATE_CHILD_SA/INFORMATIONAL before IKE_AUTH completed (CVE-2014-2338),
 *                  IKE_AUTH only once, only towards the original responder
 *   3. SK          integrity/decryption; a failure is a counted drop, the SA is unaffected
 *   4. rules       per-exchange payload rules (src/ike/v2/wire/rules.ts) before any task looks;
 *                  a genuine but malformed request is answered with INVALID_SYNTAX or
 *                  UNSUPPORTED_CRITICAL_PAYLOAD (§2.21, §3.2), a malformed response fails its task
 *   5. task        response → the in-flight initiator task; request → a responder task built
 *                  for it by the host (process, then build the response, cache it)
 *
 * Sending: one initiator task at a time (window size 1, §2.3); its request is retransmitted
 * on the task's schedule and, unanswered, the SA is declared dead (§2.4).
 */
import { wipe } from '../../../crypto/bytes.js';
import type { Logger } from 'pino';
import type { ConnectionContext } from '../../connection/context.js';
import { DropReason } from '../../drop-reasons.js';
import { IkeError, InvalidResponseError, PeerUnreachableError, UnauthenticatedMessageError, describeError } from '../../errors.js';
import { describeIkeSuite, type IkeSuite } from '../../proposals/suites.js';
import type { Endpoint, TimerHandle } from '../../runtime.js';
import { retransmitTimeouts } from '../../timing.js';
import { ExchangeType, NotifyType } from '../wire/constants.js';
import { WireError } from '../wire/errors.js';
import { UnsupportedCriticalPayloadError } from '../wire/errors.js';
import { encodeMessage, type DecodedMessage, type IkeHeaderFields } from '../wire/message.js';
import type { Payload } from '../wire/payloads.js';
import { checkPayloadRules } from '../wire/rules.js';
import type { IkeKeys } from '../crypto/keys.js';
import { SkProtection } from '../crypto/protection.js';
import type { InitiatorTask, ResponderTask, TaskResult } from '../tasks/task.js';
import type { ChildSa } from './child-sa.js';
import { notify, spiHex, type InboundMessage } from './payload-helpers.js';

/** The IKE SA's view of its owner (the connection): lifecycle, CHILD SA hand-off, counters. */
export interface IkeSaHost {
  readonly ctx: ConnectionContext;
  saEstablished(sa: IkeSa): void;
  saDead(sa: IkeSa, error: IkeError): void;
  /** Nothing was heard from the peer for the DPD interval and nothing is in flight. */
  livenessCheckDue(sa: IkeSa): void;
  responderTaskFor(sa: IkeSa, request: InboundMessage): ResponderTask;
  countDrop(reason: DropReason): void;
  countRetransmission(kind: 'request' | 'cached-response'): void;
  /** A rekey collision was resolved (RFC 7296 §2.8.1/§2.8.2). */
  countCollision(kind: 'child' | 'ike'): void;

  allocateChildId(): number;
  /** A new CHILD SA on `sa`: recorded there and, with `install`, handed to the data plane. */
  childCreated(sa: IkeSa, child: ChildSa, options: { readonly install: boolean; readonly replaces?: ChildSa }): void;
  /** A CHILD SA is gone from `sa`; its inbound half is removed after `graceMs`. */
  childRetired(sa: IkeSa, child: ChildSa, reason: string, options: { readonly graceMs: number; readonly replacedBy?: ChildSa }): void;
  /** An exchange that should have produced a CHILD SA left none: an initiator creates one. */
  childSaMissing(sa: IkeSa): void;
  /** Schedules a rekey/expiry check of the CHILD SA (after a failed or postponed rekey). */
  childRekeyLater(child: ChildSa, afterMs: number): void;
  /** A new IKE SA created by a rekey exchange (not yet carrying children). */
  createIkeSa(params: IkeSaParams): IkeSa;
  /** `newSa` replaces `oldSa`: CHILD SAs and queued tasks move over, `newSa` becomes current. */
  ikeSaRekeyed(oldSa: IkeSa, newSa: IkeSa, options: { readonly weInitiated: boolean }): void;
  /**
   * Runs `task` again after `afterMs` (TEMPORARY_FAILURE, RFC 7296 §2.25): on `sa` if it is
   * still established then, else on the IKE SA that replaced it.
   */
  requeueLater(sa: IkeSa, task: InitiatorTask, afterMs: number): void;
  /** Schedules a new IKE SA rekey attempt later (after TEMPORARY_FAILURE or a failed rekey). */
  ikeRekeyLater(sa: IkeSa, afterMs: number): void;
}

export type IkeSaState =
  /** IKE_SA_INIT / IKE_AUTH in progress. */
  | 'connecting'
  | 'established'
  /** Replaced by a newer IKE SA; waiting for (or sending) its Delete. */
  | 'rekeyed'
  /** Our Delete of this SA is in flight. */
  | 'deleting'
  | 'dead';

export interface IkeSaParams {
  readonly originalInitiator: boolean;
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Suite and keys when the SA comes from a rekey (it is established from the start). */
  readonly established?: { readonly suite: IkeSuite; readonly keys: IkeKeys; readonly nonceI: Buffer; readonly nonceR: Buffer };
}

interface InFlight {
  readonly task: InitiatorTask;
  readonly messageId: number;
  readonly datagram: Buffer;
  readonly timeouts: readonly number[];
  attempt: number;
  timer: TimerHandle | undefined;
}

interface CachedResponse {
  readonly messageId: number;
  readonly request: Buffer;
  readonly response: Buffer;
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

/** UDP port for IKE after IKE_SA_INIT and for ESP-in-UDP (RFC 3948). */
export const NAT_T_PORT = 4500;

let serialCounter = 0;

export class IkeSa {
  readonly serial = ++serialCounter;
  readonly host: IkeSaHost;
  readonly originalInitiator: boolean;
  spiI: Buffer;
  spiR: Buffer;
  local: Endpoint;
  remote: Endpoint;
  state: IkeSaState = 'connecting';
  suite: IkeSuite | undefined;
  keys: IkeKeys | undefined;
  /** Nonces of the exchange that created the SA (IKE_SA_INIT or the rekey). */
  nonceI: Buffer | undefined;
  nonceR: Buffer | undefined;
  /** IKE_SA_INIT request and response as sent: the AUTH payloads sign them (RFC 7296 §2.15). */
  initRequest: Buffer | undefined;
  initResponse: Buffer | undefined;
  establishedAt: number | undefined;
  rekeyAt: number | undefined;
  expiresAt: number | undefined;
  /** NAT detection results (RFC 7296 §2.23). */
  natLocal = false;
  natRemote = false;
  lastReceivedAt: number;
  readonly children: ChildSa[] = [];
  readonly queue: InitiatorTask[] = [];
  retransmissions = 0;
  /** Why the SA ended, once dead. */
  deathReason: IkeError | undefined;
  /** The IKE SA that took over this one's CHILD SAs after a rekey. */
  successor: IkeSa | undefined;
  /**
   * Set on an IKE SA we created answering the peer's rekey while our own rekey of `this` was
   * out (a collision not yet resolved): its CHILD SAs are still on the old SA.
   */
  collisionCandidateOf: IkeSa | undefined;

  #protection: SkProtection | undefined;
  #nextRequestId = 0;
  #expectedRequestId = 0;
  #inFlight: InFlight | undefined;
  #cache: CachedResponse | undefined;
  readonly #timers = new Set<TimerHandle>();
  #livenessTimer: TimerHandle | undefined;
  readonly #log: Logger;

  constructor(host: IkeSaHost, params: IkeSaParams) {
    this.host = host;
    this.originalInitiator = params.originalInitiator;
    this.spiI = params.spiI;
    this.spiR = params.spiR;
    this.local = params.local;
    this.remote = params.remote;
    this.lastReceivedAt = host.ctx.clock.now();
    this.#log = host.ctx.logger.child({ ikeSa: this.serial });
    if (params.established) {
      // Created by an IKE SA rekey: authenticated through the old SA, usable at once (§2.18).
      this.nonceI = params.established.nonceI;
      this.nonceR = params.established.nonceR;
      this.installKeys(params.established.suite, params.established.keys);
      this.state = 'established';
      this.establishedAt = host.ctx.clock.now();
      this.#armLiveness();
    }
  }

  get ctx(): ConnectionContext {
    return this.host.ctx;
  }

  get log(): Logger {
    return this.#log;
  }

  get activeTask(): InitiatorTask | undefined {
    return this.#inFlight?.task;
  }

  get isAlive(): boolean {
    return this.state !== 'dead';
  }

  get nextRequestId(): number {
    return this.#nextRequestId;
  }

  get expectedRequestId(): number {
    return this.#expectedRequestId;
  }

  /** For logs and status: never keys. */
  describe(): Record<string, unknown> {
    return {
      spiI: spiHex(this.spiI),
      spiR: spiHex(this.spiR),
      state: this.state,
      originalInitiator: this.originalInitiator,
      suite: this.suite ? describeIkeSuite(this.suite) : undefined,
    };
  }

  matches(spiI: Buffer, spiR: Buffer): boolean {
    return this.spiI.equals(spiI) && this.spiR.equals(spiR);
  }

  // -------------------------------------------------------------------------------------------
  // Keys and lifecycle

  installKeys(suite: IkeSuite, keys: IkeKeys): void {
    this.suite = suite;
    this.keys = keys;
    this.#protection = new SkProtection(suite, keys, this.originalInitiator, this.ctx.random);
    this.ctx.keylog?.({
      kind: 'ike',
      spiI: spiHex(this.spiI),
      spiR: spiHex(this.spiR),
      originalInitiator: this.originalInitiator,
      suite,
      keys: copyKeys(keys), // the SA wipes its own when it dies
    });
  }

  markEstablished(): void {
    if (this.state !== 'connecting') return;
    this.state = 'established';
    this.establishedAt = this.ctx.clock.now();
    this.lastReceivedAt = this.establishedAt;
    this.#log.info({ sa: this.describe() }, 'IKE SA established');
    this.host.saEstablished(this);
    this.#armLiveness();
    this.pump();
  }

  /** Ends the SA: timers stopped, queued tasks abandoned; the host cleans up CHILD SAs. */
  die(error: IkeError): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deathReason = error;
    if (this.keys) wipe(...Object.values(this.keys)); // SK_* die with the SA (its CHILD SAs have their own keys)
    this.#log.info({ sa: this.describe(), code: error.code, reason: error.message }, 'IKE SA down');
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.#livenessTimer = undefined;
    const abandoned = [...(inFlight ? [inFlight.task] : []), ...this.queue.splice(0)];
    for (const task of abandoned) task.abandon?.(error);
    this.host.saDead(this, error);
  }

  /**
   * Ends the SA after telling the peer why in a one-off INFORMATIONAL request (best effort: not
   * retransmitted, the answer not awaited, RFC 7296 §2.21.2): an AUTHENTICATION_FAILED notify
   * or a Delete of the IKE SA. With another request still out the peer drops it as outside its
   * window; its own liveness checks then find the SA gone.
   */
  closeWithNotice(error: IkeError, payloads: readonly Payload[]): void {
    if (this.state === 'dead') return;
    try {
      const datagram = this.#encode(ExchangeType.INFORMATIONAL, this.#nextRequestId, false, payloads);
      this.#nextRequestId += 1;
      this.#transmit(datagram, this.local, this.remote);
    } catch (e) {
      this.#log.warn({ err: describeError(e) }, 'could not send the closing notice');
    }
    this.die(error);
  }

  /** A timer tied to this SA's life; the callback never throws. */
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const handle = this.ctx.clock.setTimer(Math.max(0, delayMs), () => {
      this.#timers.delete(handle);
      if (this.state === 'dead') return;
      try {
        callback();
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'IKE SA timer failed');
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
  // Initiator side

  queueTask(task: InitiatorTask, options: { readonly front?: boolean } = {}): void {
    if (this.state === 'dead') {
      task.abandon?.(this.deathReason ?? new PeerUnreachableError('queued task', 0));
      return;
    }
    if (options.front) this.queue.unshift(task);
    else this.queue.push(task);
    this.pump();
  }

  /** Starts the next queued task when nothing is in flight and the SA's state allows it. */
  pump(): void {
    while (!this.#inFlight && this.state !== 'dead' && this.queue.length > 0) {
      const next = this.queue[0];
      if (!next) return;
      if (!this.#maySend(next)) return;
      this.queue.shift();
      if (next.isObsolete?.()) continue;
      this.#sendRequest(next);
    }
  }

  #maySend(task: InitiatorTask): boolean {
    switch (this.state) {
      case 'connecting':
        return task.exchange === ExchangeType.IKE_SA_INIT || task.exchange === ExchangeType.IKE_AUTH;
      case 'established':
        return true;
      case 'rekeyed':
      case 'deleting':
        return task.name === 'IKE_DELETE' || task.name === 'INFORMATIONAL';
      case 'dead':
        return false;
    }
  }

  #sendRequest(task: InitiatorTask): void {
    const isInit = task.exchange === ExchangeType.IKE_SA_INIT;
    const messageId = isInit ? 0 : this.#nextRequestId;
    let datagram: Buffer;
    try {
      const payloads = task.build();
      datagram = this.#encode(task.exchange, messageId, false, payloads);
    } catch (error) {
      const failure = error instanceof IkeError ? error : new InvalidResponseError(task.name, `cannot build request: ${describeError(error)}`);
      this.#log.error({ task: task.name, err: describeError(error) }, 'building a request failed');
      this.#finishTask(task, { status: 'failed', error: failure, fatal: task.name === 'IKE_INIT' || task.name === 'IKE_AUTH' });
      return;
    }
    if (isInit) this.initRequest = datagram;
    const timeouts = task.retransmitTimeoutsMs ?? retransmitTimeouts(this.ctx.timing);
    const inFlight: InFlight = { task, messageId, datagram, timeouts, attempt: 0, timer: undefined };
    this.#inFlight = inFlight;
    this.#log.debug({ task: task.name, messageId }, 'request sent');
    this.#transmit(datagram, this.local, this.remote);
    this.#armRetransmit(inFlight);
  }

  #armRetransmit(inFlight: InFlight): void {
    const timeout = inFlight.timeouts[inFlight.attempt] ?? this.ctx.timing.retransmitBaseMs;
    inFlight.timer = this.setTimer(timeout, () => {
      if (this.#inFlight !== inFlight) return;
      inFlight.attempt += 1;
      if (inFlight.attempt >= inFlight.timeouts.length) {
        this.#inFlight = undefined;
        const error = new PeerUnreachableError(inFlight.task.name, inFlight.timeouts.length);
        inFlight.task.abandon?.(error);
        this.die(error);
        return;
      }
      this.retransmissions += 1;
      this.host.countRetransmission('request');
      this.#log.debug({ task: inFlight.task.name, messageId: inFlight.messageId, attempt: inFlight.attempt }, 'retransmit');
      this.#transmit(inFlight.datagram, this.local, this.remote);
      this.#armRetransmit(inFlight);
    });
  }

  #finishTask(task: InitiatorTask, result: TaskResult): void {
    switch (result.status) {
      case 'done':
        break;
      case 'retry':
        this.queue.unshift(task);
        break;
      case 'requeue':
        this.host.requeueLater(this, task, result.afterMs);
        break;
      case 'failed':
        this.#log.info({ task: task.name, code: result.error.code, reason: result.error.message }, 'exchange failed');
        if (result.fatal) {
          this.die(result.error);
          return;
        }
        break;
    }
    this.pump();
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  /** IKE_SA_INIT response for our request (plain; checked by the caller's header rules). */
  receiveInitResponse(message: InboundMessage): void {
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.task.exchange !== ExchangeType.IKE_SA_INIT) {
      this.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
      return;
    }
    const rules = checkPayloadRules(ExchangeType.IKE_SA_INIT, true, message.payloads);
    if (!rules.ok) {
      // Unauthenticated: keep waiting for a proper answer (RFC 7296 §2.4 forged-message advice).
      this.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    this.#completeInFlight(inFlight, message);
  }

  /**
   * IKE_SA_INIT request to this (new or half-open) responder SA: a first request is processed,
   * a retransmission of the same bytes gets the same response, anything else is dropped.
   */
  receiveInitRequest(message: InboundMessage): void {
    if (this.initRequest) {
      if (this.initRequest.equals(message.datagram) && this.#cache) {
        this.host.countRetransmission('cached-response');
        this.#transmit(this.#cache.response, this.#cache.local, this.#cache.remote);
      } else {
        this.host.countDrop(DropReason.STALE_RETRANSMISSION);
      }
      return;
    }
    this.initRequest = message.datagram;
    this.#respond(message);
  }

  /** Any message but IKE_SA_INIT, already decoded and header-checked, addressed to this SA. */
  receive(datagram: Buffer, decoded: DecodedMessage, local: Endpoint, remote: Endpoint): void {
    const header = decoded.header;
    const isResponse = header.flags.response;
    if (this.state === 'dead') {
      this.host.countDrop(DropReason.SA_CLOSED);
      return;
    }
    const protection = this.#protection;
    if (!protection) {
      this.host.countDrop(DropReason.EXCHANGE_NOT_ALLOWED);
      return;
    }
    const inFlight = this.#inFlight;
    if (isResponse) {
      if (!inFlight || inFlight.messageId !== header.messageId) {
        this.host.countDrop(inFlight ? DropReason.MESSAGE_ID_OUT_OF_WINDOW : DropReason.UNEXPECTED_RESPONSE);
        return;
      }
      if (inFlight.task.exchange !== header.exchangeType) {
        this.host.countDrop(DropReason.UNEXPECTED_RESPONSE);
        return;
      }
    } else {
      const cache = this.#cache;
      if (cache && header.messageId === cache.messageId && header.messageId === this.#expectedRequestId - 1) {
        if (cache.request.equals(datagram)) {
          this.host.countRetransmission('cached-response');
          this.#transmit(cache.response, cache.local, cache.remote);
        } else {
          this.host.countDrop(DropReason.STALE_RETRANSMISSION);
        }
        return;
      }
      if (header.messageId !== this.#expectedRequestId) {
        this.host.countDrop(DropReason.MESSAGE_ID_OUT_OF_WINDOW);
        return;
      }
      if (!this.#requestAllowed(header.exchangeType)) {
        this.host.countDrop(DropReason.EXCHANGE_NOT_ALLOWED);
        return;
      }
    }
    const gate = checkPayloadRules(header.exchangeType, isResponse, decoded.payloads);
    if (!gate.ok) {
      this.host.countDrop(DropReason.PAYLOAD_RULE);
      return;
    }
    let inner: Payload[];
    try {
      inner = protection.unprotect(datagram, decoded);
    } catch (error) {
      if (error instanceof UnauthenticatedMessageError) {
        this.host.countDrop(DropReason.BAD_ICV);
        return;
      }
      this.#authenticatedMalformed(error, header.exchangeType, header.messageId, isResponse, { datagram, local, remote });
      return;
    }
    this.#noteAuthenticated(local, remote);
    const rules = checkPayloadRules(header.exchangeType, isResponse, decoded.payloads, inner);
    if (!rules.ok) {
      this.#authenticatedMalformed(rules.error, header.exchangeType, header.messageId, isResponse, { datagram, local, remote });
      return;
    }
    const message: InboundMessage = { header, payloads: inner, datagram, local, remote };
    if (isResponse && inFlight) this.#completeInFlight(inFlight, message);
    else this.#respond(message);
  }

  #requestAllowed(exchange: number): boolean {
    switch (exchange) {
      case ExchangeType.IKE_AUTH:
        return !this.originalInitiator && this.state === 'connecting' && this.#expectedRequestId === 1;
      case ExchangeType.CREATE_CHILD_SA:
      case ExchangeType.INFORMATIONAL:
        return this.state === 'established' || this.state === 'rekeyed' || this.state === 'deleting';
      default:
        return false;
    }
  }

  #noteAuthenticated(local: Endpoint, remote: Endpoint): void {
    this.lastReceivedAt = this.ctx.clock.now();
    if (local.port !== this.local.port && local.port === NAT_T_PORT) {
      // The initiator moved to 4500 after IKE_SA_INIT (RFC 7296 §2.23): follow it.
      this.local = { ...local };
      this.remote = { ...remote };
      return;
    }
    // §2.23: follow the peer's address/port when a NAT in front of it remapped it.
    if (this.natRemote && (remote.address !== this.remote.address || remote.port !== this.remote.port)) {
      this.#log.info({ from: this.remote, to: remote }, 'peer endpoint changed');
      this.remote = { ...remote };
    }
  }

  #authenticatedMalformed(
    error: unknown,
    exchange: number,
    messageId: number,
    isResponse: boolean,
    at: { datagram: Buffer; local: Endpoint; remote: Endpoint },
  ): void {
    this.#log.info({ exchange, messageId, isResponse, err: describeError(error) }, 'malformed authenticated message');
    if (isResponse) {
      const inFlight = this.#inFlight;
      if (!inFlight) return;
      this.#clearInFlight(inFlight);
      const failure = new InvalidResponseError(inFlight.task.name, describeError(error));
      const fatal = inFlight.task.name === 'IKE_AUTH';
      this.#finishTask(inFlight.task, { status: 'failed', error: failure, fatal });
      return;
    }
    const answer =
      error instanceof UnsupportedCriticalPayloadError
        ? notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, Buffer.from([error.payloadType]))
        : notify(NotifyType.INVALID_SYNTAX);
    this.host.countDrop(error instanceof WireError || error instanceof UnsupportedCriticalPayloadError ? DropReason.MALFORMED : DropReason.PAYLOAD_RULE);
    this.#sendResponse(exchange, messageId, [answer], at);
  }

  #clearInFlight(inFlight: InFlight): void {
    inFlight.timer?.cancel();
    if (this.#inFlight === inFlight) this.#inFlight = undefined;
    this.#nextRequestId = inFlight.messageId + 1;
  }

  #completeInFlight(inFlight: InFlight, message: InboundMessage): void {
    this.#clearInFlight(inFlight);
    let result: TaskResult;
    try {
      result = inFlight.task.process(message);
    } catch (error) {
      const failure = error instanceof IkeError ? error : new InvalidResponseError(inFlight.task.name, describeError(error));
      if (!(error instanceof IkeError)) this.#log.error({ task: inFlight.task.name, err: describeError(error) }, 'task failed unexpectedly');
      result = { status: 'failed', error: failure, fatal: inFlight.task.name === 'IKE_INIT' || inFlight.task.name === 'IKE_AUTH' };
    }
    if (this.state === 'dead') return;
    this.#finishTask(inFlight.task, result);
  }

  #respond(request: InboundMessage): void {
    const task = this.host.responderTaskFor(this, request);
    let payloads: Payload[];
    try {
      task.process(request);
      payloads = task.build();
    } catch (error) {
      this.#log.error({ task: task.name, err: describeError(error) }, 'responder task failed');
      this.host.countDrop(DropReason.INTERNAL_ERROR);
      payloads = [notify(NotifyType.INVALID_SYNTAX)];
    }
    this.#sendResponse(request.header.exchangeType, request.header.messageId, payloads, request);
    task.afterResponse?.();
    this.pump();
  }

  #sendResponse(
    exchange: number,
    messageId: number,
    payloads: readonly Payload[],
    to: { readonly datagram: Buffer; readonly local: Endpoint; readonly remote: Endpoint },
  ): void {
    let response: Buffer;
    try {
      response = this.#encode(exchange, messageId, true, payloads);
    } catch (error) {
      this.#log.error({ err: describeError(error) }, 'building a response failed');
      this.host.countDrop(DropReason.INTERNAL_ERROR);
      return;
    }
    if (exchange === ExchangeType.IKE_SA_INIT) this.initResponse = response;
    // Each direction numbers its requests on its own (RFC 7296 §2.2): IKE_SA_INIT was 0.
    this.#expectedRequestId = messageId + 1;
    this.#cache = { messageId, request: to.datagram, response, local: to.local, remote: to.remote };
    this.#transmit(response, to.local, to.remote);
  }

  #encode(exchange: number, messageId: number, response: boolean, payloads: readonly Payload[]): Buffer {
    const header: IkeHeaderFields = {
      spiI: this.spiI,
      spiR: this.spiR,
      exchangeType: exchange,
      flags: { initiator: this.originalInitiator, response, version: false },
      messageId,
    };
    if (exchange === ExchangeType.IKE_SA_INIT) return encodeMessage({ header, payloads });
    const protection = this.#protection;
    if (!protection) throw new InvalidResponseError('encode', 'no keys yet for an encrypted exchange');
    return protection.protect(header, payloads);
  }

  #transmit(datagram: Buffer, local: Endpoint, remote: Endpoint): void {
    try {
      this.ctx.transport.send(local, remote, datagram);
    } catch (error) {
      this.#log.warn({ err: describeError(error) }, 'send failed');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Liveness (RFC 7296 §2.4)

  #armLiveness(delayMs?: number): void {
    const intervalMs = this.ctx.timing.dpdIntervalSeconds * 1000;
    if (intervalMs <= 0) return;
    this.#livenessTimer?.cancel();
    const due = delayMs ?? this.lastReceivedAt + intervalMs - this.ctx.clock.now();
    this.#livenessTimer = this.setTimer(Math.max(due, 1), () => {
      this.#livenessTimer = undefined;
      if (this.state !== 'established') return;
      const idle = this.ctx.clock.now() - this.lastReceivedAt;
      if (idle < intervalMs) {
        this.#armLiveness();
        return;
      }
      // Silent for an interval: check, unless a request is out already (its answer proves
      // liveness and its retransmissions detect death).
      if (!this.#inFlight && this.queue.length === 0) this.host.livenessCheckDue(this);
      this.#armLiveness(intervalMs);
    });
  }

  /** Moves to UDP 4500 (RFC 7296 §2.23) once IKE_SA_INIT is done. */
  floatTo(port: number): void {
    this.local = { address: this.local.address, port };
    this.remote = { address: this.remote.address, port };
  }
}

function copyKeys(keys: IkeKeys): IkeKeys {
  return { skD: Buffer.from(keys.skD), skAi: Buffer.from(keys.skAi), skAr: Buffer.from(keys.skAr), skEi: Buffer.from(keys.skEi), skEr: Buffer.from(keys.skEr), skPi: Buffer.from(keys.skPi), skPr: Buffer.from(keys.skPr) };
}
