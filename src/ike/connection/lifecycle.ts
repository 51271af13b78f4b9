/**
 * The lifecycle both IKE drivers share (the floor, base.ts, owns one per connection and lends
 * it to IkeV2Connection or IkeV1Connection): the phase, the SAs held with the peer (all of
 * them, the current one, the one we are connecting), re-initiation with backoff, NAT
 * keepalives, counters and drops, the last error, stopping, events and the status skeleton.
 * What a version does on the wire stays in its driver, reached through LifecycleDriver.
 *
 *   idle ──start()──► running ──stop()──► stopping ──finish()──► stopped
 *                      │    ▲
 *   the SA was lost,   │    │ the reconnect timer fires: driver.initiate()
 *   initiator role     ▼    │
 *                      backoff (capped, jittered exponential; timing.ts reconnectDelayMs)
 *
 * start() initiates at once in the initiator role; a responder waits for the peer.
 * stop() cancels the reconnect and keepalive timers, then driver.sayGoodbye() tells the peer
 * (a Delete) and calls finish() when that is done or its bounded wait is over.
 * finish() sets the phase to 'stopped' *before* driver.tearDown() ends the SAs and removes the
 * CHILD SAs, so the SA deaths it causes can neither schedule a reconnect nor re-enter the stop
 * (listeners of the resulting events see 'stopped'); then every stop() caller is resolved.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { DropReason } from '../drop-reasons.js';
import { HalfOpenTimeoutError, describeError, type IkeError } from '../errors.js';
import type { Endpoint, IkeDatagram, TimerHandle } from '../runtime.js';
import { reconnectDelayMs } from '../timing.js';
import type { ConnectionContext } from './context.js';
import type { IkeConnectionEvents } from './events.js';
import type { IkeConnectionOptions } from './options.js';
import { formatEndpoint, type ConnectionCounters, type ConnectionState, type ConnectionStatus, type IkeSaStatus } from './status.js';

export type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

/** What the lifecycle reads and does with an IKE SA (IKEv2) or an ISAKMP SA (IKEv1). */
export interface LifecycleSa {
  readonly state: string;
  readonly originalInitiator: boolean;
  /** A NAT in front of us (keepalives keep its mapping open). */
  readonly natLocal: boolean;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  lastReceivedAt: number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  die(error: IkeError): void;
}

/** The driver's part of the lifecycle. */
export interface LifecycleDriver {
  /** Starts a new SA with the peer: at start() and on every reconnect (initiator role). */
  initiate(): void;
  /** stop() has begun: cancel the driver's own timers, tell the peer, then call finish(). */
  sayGoodbye(): void;
  /** finish(): end every SA and remove every CHILD SA from the data plane (the phase is 'stopped'). */
  tearDown(): void;
}

export interface LifecycleParams {
  readonly options: IkeConnectionOptions;
  readonly ctx: ConnectionContext;
  /** The connection itself: events go out through it. */
  readonly events: EventEmitter<IkeConnectionEvents>;
  readonly driver: LifecycleDriver;
  /** What a responder's half-open SA waits to complete: IKEv2 'IKE_AUTH', IKEv1 'main mode'. */
  readonly halfOpenExchange: string;
}

type Counter = Exclude<keyof ConnectionCounters, 'drops'>;

export class ConnectionLifecycle<Sa extends LifecycleSa> {
  /** Every SA with the peer: established, being negotiated (ours or the peer's), being replaced. */
  readonly sas = new Set<Sa>();
  /** The SA that carries the tunnel now. */
  current: Sa | undefined;
  /** An SA we initiated that is still negotiating. */
  connecting: Sa | undefined;
  readonly #options: IkeConnectionOptions;
  readonly #ctx: ConnectionContext;
  readonly #log: Logger;
  readonly #events: EventEmitter<IkeConnectionEvents>;
  readonly #driver: LifecycleDriver;
  readonly #halfOpenExchange: string;
  #phase: Phase = 'idle';
  #reconnectAttempts = 0;
  #reconnectTimer: TimerHandle | undefined;
  #nextReconnectAt: number | undefined;
  #keepaliveTimer: TimerHandle | undefined;
  #lastError: { code: string; reason: string; at: number } | undefined;
  #stopWaiters: (() => void)[] = [];
  readonly #drops: Partial<Record<DropReason, number>> = {};
  readonly #counts: Record<Counter, number> = {
    retransmittedRequests: 0,
    cachedResponsesResent: 0,
    ikeSasEstablished: 0,
    ikeRekeys: 0,
    childRekeys: 0,
    childRekeyCollisions: 0,
    ikeRekeyCollisions: 0,
    reconnects: 0,
  };

  constructor(params: LifecycleParams) {
    this.#options = params.options;
    this.#ctx = params.ctx;
    this.#log = params.ctx.logger;
    this.#events = params.events;
    this.#driver = params.driver;
    this.#halfOpenExchange = params.halfOpenExchange;
  }

  get phase(): Phase {
    return this.#phase;
  }

  get running(): boolean {
    return this.#phase === 'running';
  }

  get reconnectAttempts(): number {
    return this.#reconnectAttempts;
  }

  get state(): ConnectionState {
    switch (this.#phase) {
      case 'idle':
      case 'stopping':
      case 'stopped':
        return this.#phase;
      case 'running':
        if (this.current?.state === 'established') return 'established';
        if (this.current || this.connecting) return 'connecting';
        if (this.#reconnectTimer) return 'backoff';
        return 'waiting';
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start and stop

  start(): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    this.#log.info({ local: this.#options.local, remote: this.#options.remote }, 'IKE connection started');
    if (this.#options.role === 'initiator') this.#driver.initiate();
  }

  stop(): Promise<void> {
    if (this.#phase === 'stopped') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    if (this.#phase === 'stopping') return done;
    this.#phase = 'stopping';
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#driver.sayGoodbye();
    return done;
  }

  finish(): void {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    this.#driver.tearDown();
    this.#cancelReconnect();
    this.#keepaliveTimer?.cancel();
    this.#log.info('IKE connection stopped');
    const waiters = this.#stopWaiters;
    this.#stopWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // -------------------------------------------------------------------------------------------
  // Datagrams and liveness

  /** The incoming-datagram path: `receive` never throws out of here; a failure is a counted drop. */
  receiveSafely(datagram: IkeDatagram, receive: (datagram: IkeDatagram) => void): void {
    try {
      receive(datagram);
    } catch (error) {
      this.countDrop(DropReason.INTERNAL_ERROR);
      this.#log.error({ err: describeError(error) }, 'datagram handling failed');
    }
  }

  /** Traffic from the peer arrived (ESP, reported by the data plane): liveness checks can wait. */
  noteInboundActivity(): void {
    const current = this.current;
    if (current) current.lastReceivedAt = this.#ctx.clock.now();
  }

  /** A responder's SA that has begun negotiating: held, and dropped if it never completes. */
  registerHalfOpen(sa: Sa): void {
    this.sas.add(sa);
    sa.setTimer(this.#ctx.timing.halfOpenTimeoutMs, () => {
      if (sa.state === 'connecting') sa.die(new HalfOpenTimeoutError(this.#halfOpenExchange));
    });
  }

  halfOpenCount(): number {
    return [...this.sas].filter((sa) => !sa.originalInitiator && sa.state === 'connecting').length;
  }

  // -------------------------------------------------------------------------------------------
  // Reconnect and NAT keepalive

  /** An SA is established: the backoff starts from the beginning next time. */
  resetBackoff(): void {
    this.#reconnectAttempts = 0;
    this.#cancelReconnect();
  }

  /** The initiator re-initiates after a backoff when no SA with the peer is left or under way. */
  reconnectIfIdle(): void {
    if (this.#options.role === 'initiator' && !this.current && !this.connecting) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#phase !== 'running' || this.#reconnectTimer) return;
    const delay = reconnectDelayMs(this.#reconnectAttempts, this.#ctx.timing, this.#ctx.random);
    this.#reconnectAttempts += 1;
    this.#nextReconnectAt = this.#ctx.clock.now() + delay;
    this.#log.info({ delayMs: delay, attempt: this.#reconnectAttempts }, 'will re-initiate');
    this.#reconnectTimer = this.#ctx.clock.setTimer(delay, () => {
      this.#reconnectTimer = undefined;
      this.#nextReconnectAt = undefined;
      if (this.#phase !== 'running' || this.current || this.connecting) return;
      this.#counts.reconnects += 1;
      this.#driver.initiate();
    });
  }

  #cancelReconnect(): void {
    this.#reconnectTimer?.cancel();
    this.#reconnectTimer = undefined;
    this.#nextReconnectAt = undefined;
  }

  /** RFC 3948 §2.3: 0xFF keepalives keep a NAT mapping in front of us open. */
  armNatKeepalive(): void {
    this.#keepaliveTimer?.cancel();
    this.#keepaliveTimer = undefined;
    const sa = this.current;
    if (!sa || !sa.natLocal || this.#phase !== 'running') return;
    this.#keepaliveTimer = this.#ctx.clock.setTimer(this.#ctx.timing.natKeepaliveIntervalMs, () => {
      const current = this.current;
      if (current && current.natLocal && current.state === 'established') {
        try {
          this.#ctx.transport.sendNatKeepalive(current.local, current.remote);
        } catch (error) {
          this.#log.warn({ err: describeError(error) }, 'NAT keepalive failed');
        }
      }
      this.armNatKeepalive();
    });
  }

  stopNatKeepalive(): void {
    this.#keepaliveTimer?.cancel();
  }

  // -------------------------------------------------------------------------------------------
  // Counters, errors, events, status

  countDrop(reason: DropReason): void {
    this.#drops[reason] = (this.#drops[reason] ?? 0) + 1;
    this.#log.debug({ reason }, 'datagram dropped');
  }

  countRetransmission(kind: 'request' | 'cached-response'): void {
    if (kind === 'request') this.#counts.retransmittedRequests += 1;
    else this.#counts.cachedResponsesResent += 1;
  }

  count(counter: Counter): void {
    this.#counts[counter] += 1;
  }

  noteError(error: IkeError): void {
    this.#lastError = { code: error.code, reason: error.message, at: this.#ctx.clock.now() };
  }

  /** Listeners must not break the protocol machinery. */
  emit<K extends keyof IkeConnectionEvents>(event: K, ...args: IkeConnectionEvents[K]): void {
    try {
      (this.#events.emit as (e: K, ...a: IkeConnectionEvents[K]) => boolean).call(this.#events, event, ...args);
    } catch (error) {
      this.#log.error({ event, err: describeError(error) }, 'event listener failed');
    }
  }

  /** The connection's status around the driver's view of its SAs. */
  status(ikeSas: readonly IkeSaStatus[]): ConnectionStatus {
    return {
      tunnel: this.#options.tunnel.index,
      role: this.#options.role,
      state: this.state,
      local: formatEndpoint(this.#options.local),
      remote: formatEndpoint(this.#options.remote),
      ikeSas,
      reconnect: { attempts: this.#reconnectAttempts, nextAttemptAt: this.#nextReconnectAt },
      lastError: this.#lastError,
      counters: { drops: { ...this.#drops }, ...this.#counts },
    };
  }
}
