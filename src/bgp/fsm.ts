/**
 * The BGP finite state machine of RFC 4271 §8, GoBGP-style: one function per
 * state takes the session and an event and returns {next, reason, actions}.
 * The functions do no I/O and read no clock; {@link BgpFsm} runs them, keeps
 * the timers on an injected {@link Clock}, and hands the I/O actions (connect,
 * send, close, established, down, deliver) to its owner.
 *
 * Connections. A session can briefly have two TCP connections to its peer: the
 * one we opened and the one the peer opened (both sides connect at once after
 * a tunnel comes up). The first to connect becomes the primary and drives the
 * state; a second one is kept as a candidate, gets our OPEN too, and when an
 * OPEN arrives on it the collision is resolved by BGP Identifier (§6.8): the
 * connection opened by the side with the higher identifier survives (on equal
 * identifiers, the side with the higher AS, RFC 6286 §2.3); the other is
 * closed with Cease / Connection Collision Resolution. Once Established, a
 * new connection is refused the same way.
 *
 *   Idle ──start──► Connect ──TCP up──► OpenSent ──OPEN ok──► OpenConfirm ──KEEPALIVE──► Established
 *     ▲               │  ▲ retry            │                      │                        │
 *     │               ▼  │                  │ TCP fails → Active    │                        │
 *     │             Active (waits for the peer, retries on ConnectRetry)                       │
 *     └────────── any error, NOTIFICATION, hold expiry, stop (restart after ConnectRetry) ────┘
 *
 * Automatic restart: after any fall to Idle that was not a stop(), the FSM
 * restarts itself after ConnectRetryTime (RFC 4271 AutomaticStart, without the
 * optional oscillation damping: the tunnel beneath is ours and cheap to retry).
 */
import {
  CeaseSubcode,
  DEFAULT_CONNECT_RETRY_SECONDS,
  ErrorCode,
  FsmErrorSubcode,
  LARGE_HOLD_TIME_SECONDS,
} from './constants.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { BgpMessageError, notificationName } from './errors.js';
import type { BgpMessage, NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage } from './messages.js';
import { negotiateSession, type NegotiatedSession } from './open.js';

export const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type BgpState = (typeof BGP_STATES)[number];

export type ConnectionId = number;
/** Who opened the TCP connection: we did ('outgoing') or the peer did ('incoming'). */
export type ConnectionDirection = 'outgoing' | 'incoming';

/** Why a session left (or never reached) Established. */
export type DownReason =
  | { readonly kind: 'hold-timer-expired' }
  | { readonly kind: 'notification-received'; readonly errorCode: number; readonly errorSubcode: number; readonly data: Buffer }
  | { readonly kind: 'notification-sent'; readonly errorCode: number; readonly errorSubcode: number; readonly detail: string }
  | { readonly kind: 'tcp-closed'; readonly detail?: string }
  | { readonly kind: 'admin' };

export function describeDownReason(reason: DownReason): string {
  switch (reason.kind) {
    case 'hold-timer-expired':
      return 'hold timer expired (NOTIFICATION 4/0 sent)';
    case 'notification-received':
      return `NOTIFICATION received: ${notificationName(reason.errorCode, reason.errorSubcode)} (${reason.errorCode}/${reason.errorSubcode})`;
    case 'notification-sent':
      return `NOTIFICATION sent: ${notificationName(reason.errorCode, reason.errorSubcode)} (${reason.errorCode}/${reason.errorSubcode}): ${reason.detail}`;
    case 'tcp-closed':
      return reason.detail ? `TCP connection closed: ${reason.detail}` : 'TCP connection closed';
    case 'admin':
      return 'stopped by the administrator';
  }
}

/** Events of RFC 4271 §8.1, in the shapes this implementation needs. */
export type FsmEvent =
  | { readonly type: 'ManualStart' }
  | { readonly type: 'ManualStop' }
  | { readonly type: 'AutomaticStart' }
  | { readonly type: 'ConnectRetryTimerExpires' }
  | { readonly type: 'HoldTimerExpires' }
  | { readonly type: 'KeepaliveTimerExpires' }
  /** Events 16/17: a TCP connection is up, opened by us or accepted from the peer. */
  | { readonly type: 'TcpConnectionConfirmed'; readonly connection: ConnectionId; readonly direction: ConnectionDirection }
  /** Event 18: a connection (or our attempt to open one) failed or was closed by the peer. */
  | { readonly type: 'TcpConnectionFails'; readonly connection: ConnectionId; readonly detail?: string }
  | { readonly type: 'BgpOpen'; readonly connection: ConnectionId; readonly open: OpenMessage }
  /** Events 21/22/28 and local resets: a fault whose NOTIFICATION must be sent. */
  | { readonly type: 'MessageError'; readonly connection: ConnectionId; readonly error: BgpMessageError }
  | { readonly type: 'NotifMsg'; readonly connection: ConnectionId; readonly notification: NotificationMessage }
  | { readonly type: 'KeepAliveMsg'; readonly connection: ConnectionId }
  | { readonly type: 'UpdateMsg'; readonly connection: ConnectionId; readonly update: UpdateMessage }
  | { readonly type: 'RouteRefreshMsg'; readonly connection: ConnectionId; readonly request: RouteRefreshMessage };

export type FsmTimer = 'connectRetry' | 'hold' | 'keepalive' | 'autoStart';

/** Actions for the owner (I/O) and for the runner (timers). */
export type FsmAction =
  /** Open an outgoing TCP connection, abandoning any attempt still pending. */
  | { readonly type: 'connect' }
  | { readonly type: 'send'; readonly connection: ConnectionId; readonly message: BgpMessage }
  /** Close after what was sent has been flushed. */
  | { readonly type: 'close'; readonly connection: ConnectionId }
  | { readonly type: 'established'; readonly connection: ConnectionId; readonly session: NegotiatedSession }
  /** The session left Established: everything learned on it is gone. */
  | { readonly type: 'down'; readonly reason: DownReason }
  | { readonly type: 'deliverUpdate'; readonly update: UpdateMessage }
  | { readonly type: 'deliverRouteRefresh'; readonly request: RouteRefreshMessage }
  | { readonly type: 'startTimer'; readonly timer: FsmTimer; readonly ms: number }
  | { readonly type: 'stopTimer'; readonly timer: FsmTimer };

export interface Transition {
  readonly next: BgpState;
  /** Set when the session falls to Idle (or from Established anywhere). */
  readonly reason?: DownReason;
  readonly actions: readonly FsmAction[];
}

export interface FsmConfig {
  readonly peerAs: number;
  readonly localAs: number;
  readonly bgpIdentifier: number;
  /** Our OPEN, built once (see buildOpen). */
  readonly open: OpenMessage;
  readonly connectRetrySeconds?: number;
  /** Never connect out; wait for the peer (the AWS role may choose this). */
  readonly passive?: boolean;
  /** Restart after ConnectRetryTime when the session falls to Idle for any reason but stop() (default true). */
  readonly autoRestart?: boolean;
  /** Source of timer jitter in [0, 1); tests pass () => 1 for exact times. */
  readonly random?: () => number;
}

interface ConnectionRecord {
  readonly id: ConnectionId;
  readonly direction: ConnectionDirection;
  peerOpen?: OpenMessage;
  negotiated?: NegotiatedSession;
}

/** What the state functions read and update: the connections and the negotiated session. */
export interface FsmSession {
  readonly config: FsmConfig;
  primary: ConnectionRecord | undefined;
  candidate: ConnectionRecord | undefined;
  negotiated: NegotiatedSession | undefined;
  /** ConnectRetryCounter (RFC 4271 §8): falls to Idle since the last Established. */
  connectRetryCounter: number;
}

export function newFsmSession(config: FsmConfig): FsmSession {
  return { config, primary: undefined, candidate: undefined, negotiated: undefined, connectRetryCounter: 0 };
}

/**
 * ConnectRetryTime with jitter: a random 75–100 % of it (RFC 4271 §10), so two
 * speakers that collided and fell to Idle together do not retry in lockstep.
 */
function retryDelayMs(s: FsmSession): number {
  const base = (s.config.connectRetrySeconds ?? DEFAULT_CONNECT_RETRY_SECONDS) * 1000;
  const random = s.config.random ?? Math.random;
  return Math.round(base * (0.75 + 0.25 * Math.min(1, Math.max(0, random()))));
}

// ---------------------------------------------------------------- helpers shared by the states

function cease(subcode: number): NotificationMessage {
  return { type: 'notification', errorCode: ErrorCode.CEASE, errorSubcode: subcode, data: Buffer.alloc(0) };
}

function notification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage {
  return { type: 'notification', errorCode: code, errorSubcode: subcode, data };
}

const isPrimary = (s: FsmSession, connection: ConnectionId): boolean => s.primary?.id === connection;
const isCandidate = (s: FsmSession, connection: ConnectionId): boolean => s.candidate?.id === connection;

function stay(state: BgpState, actions: FsmAction[] = []): Transition {
  return { next: state, actions };
}

/**
 * Falls to Idle: optionally sends a NOTIFICATION on the primary, closes every
 * connection, stops every timer, and schedules the automatic restart.
 */
function toIdle(s: FsmSession, reason: DownReason, options: { notify?: NotificationMessage; restart?: boolean } = {}): Transition {
  const actions: FsmAction[] = [];
  if (s.primary) {
    if (options.notify) actions.push({ type: 'send', connection: s.primary.id, message: options.notify });
    actions.push({ type: 'close', connection: s.primary.id });
  }
  if (s.candidate) {
    // The candidate did nothing wrong: it only learns that we are going away.
    actions.push({ type: 'send', connection: s.candidate.id, message: cease(reason.kind === 'admin' ? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN : CeaseSubcode.CONNECTION_COLLISION_RESOLUTION) });
    actions.push({ type: 'close', connection: s.candidate.id });
  }
  s.primary = undefined;
  s.candidate = undefined;
  s.negotiated = undefined;
  s.connectRetryCounter += 1;
  for (const timer of ['connectRetry', 'hold', 'keepalive', 'autoStart'] as const) actions.push({ type: 'stopTimer', timer });
  if ((options.restart ?? true) && (s.config.autoRestart ?? true)) actions.push({ type: 'startTimer', timer: 'autoStart', ms: retryDelayMs(s) });
  return { next: 'Idle', reason, actions };
}

/** Sends `error` as a NOTIFICATION on the primary and falls to Idle. */
function resetWith(s: FsmSession, error: { errorCode: number; errorSubcode: number; data: Buffer; message: string }): Transition {
  const notify = notification(error.errorCode, error.errorSubcode, error.data);
  return toIdle(s, { kind: 'notification-sent', errorCode: error.errorCode, errorSubcode: error.errorSubcode, detail: error.message }, { notify });
}

function fsmError(s: FsmSession, subcode: number, what: string): Transition {
  return resetWith(s, { errorCode: ErrorCode.FSM, errorSubcode: subcode, data: Buffer.alloc(0), message: `unexpected ${what}` });
}

function holdExpired(s: FsmSession): Transition {
  return toIdle(s, { kind: 'hold-timer-expired' }, { notify: notification(ErrorCode.HOLD_TIMER_EXPIRED, 0) });
}

function adminStop(s: FsmSession): Transition {
  return toIdle(s, { kind: 'admin' }, { notify: cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN), restart: false });
}

function start(s: FsmSession): Transition {
  const actions: FsmAction[] = [
    { type: 'stopTimer', timer: 'autoStart' },
    { type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) },
  ];
  if (s.config.passive) return { next: 'Active', actions };
  actions.push({ type: 'connect' });
  return { next: 'Connect', actions };
}

/** A TCP connection came up while we had none: send OPEN, wait for the peer's with a large hold timer (§8.2.2). */
function adoptConnection(s: FsmSession, connection: ConnectionId, direction: ConnectionDirection): Transition {
  s.primary = { id: connection, direction };
  return {
    next: 'OpenSent',
    actions: [
      { type: 'stopTimer', timer: 'connectRetry' },
      { type: 'send', connection, message: s.config.open },
      { type: 'startTimer', timer: 'hold', ms: LARGE_HOLD_TIME_SECONDS * 1000 },
    ],
  };
}

/** A second connection while one is being opened: keep it as the collision candidate, or refuse it. */
function offerCandidate(s: FsmSession, state: BgpState, connection: ConnectionId, direction: ConnectionDirection): Transition {
  if (s.candidate) return stay(state, [{ type: 'close', connection }]);
  s.candidate = { id: connection, direction };
  return stay(state, [{ type: 'send', connection, message: s.config.open }]);
}

/** Refuses a connection we cannot use: Cease / Connection Collision Resolution, then close (§6.8). */
function refuse(connection: ConnectionId): FsmAction[] {
  return [
    { type: 'send', connection, message: cease(CeaseSubcode.CONNECTION_COLLISION_RESOLUTION) },
    { type: 'close', connection },
  ];
}

/** The connection that survives a collision: the one opened by the side with the higher BGP Identifier (§6.8, RFC 6286 §2.3). */
export function collisionWinner(local: { bgpIdentifier: number; as: number }, remote: { bgpIdentifier: number; as: number }): ConnectionDirection {
  if (local.bgpIdentifier !== remote.bgpIdentifier) return local.bgpIdentifier > remote.bgpIdentifier ? 'outgoing' : 'incoming';
  return local.as > remote.as ? 'outgoing' : 'incoming';
}

/**
 * The peer's OPEN checked out on the primary: send KEEPALIVE, run the hold and
 * keepalive timers with the negotiated values, wait in OpenConfirm (§8.2.2).
 */
function confirmOpen(s: FsmSession, open: OpenMessage): Transition {
  const primary = s.primary;
  if (!primary) return stay('Idle');
  let negotiated: NegotiatedSession;
  try {
    negotiated = negotiateSession(s.config.open, open, s.config.peerAs);
  } catch (error) {
    if (error instanceof BgpMessageError) return resetWith(s, error);
    throw error;
  }
  primary.peerOpen = open;
  primary.negotiated = negotiated;
  s.negotiated = negotiated;
  const actions: FsmAction[] = [
    { type: 'stopTimer', timer: 'connectRetry' },
    { type: 'send', connection: primary.id, message: { type: 'keepalive' } },
  ];
  if (negotiated.holdTimeSeconds === 0) {
    actions.push({ type: 'stopTimer', timer: 'hold' }, { type: 'stopTimer', timer: 'keepalive' });
  } else {
    actions.push(
      { type: 'startTimer', timer: 'hold', ms: negotiated.holdTimeSeconds * 1000 },
      { type: 'startTimer', timer: 'keepalive', ms: negotiated.keepaliveIntervalMs },
    );
  }
  return { next: 'OpenConfirm', actions };
}

/**
 * An OPEN arrived on the candidate: resolve the collision (§6.8). The loser is
 * closed with Cease 6/7; if the candidate wins it becomes the primary and its
 * OPEN is confirmed.
 */
function resolveCollision(s: FsmSession, state: 'OpenSent' | 'OpenConfirm', open: OpenMessage): Transition {
  const primary = s.primary;
  const candidate = s.candidate;
  if (!primary || !candidate) return stay(state);
  candidate.peerOpen = open;
  const winner = collisionWinner(
    { bgpIdentifier: s.config.bgpIdentifier, as: s.config.localAs },
    { bgpIdentifier: open.bgpIdentifier, as: s.config.peerAs },
  );
  const candidateWins = candidate.direction === winner && primary.direction !== winner;
  if (!candidateWins) {
    s.candidate = undefined;
    return stay(state, refuse(candidate.id));
  }
  const dropped = refuse(primary.id);
  s.primary = candidate;
  s.candidate = undefined;
  const confirmed = confirmOpen(s, open);
  return { ...confirmed, actions: [...dropped, ...confirmed.actions] };
}

/** The primary failed; carry on with the candidate if there is one. */
function promoteCandidate(s: FsmSession, failed: ConnectionId): Transition | undefined {
  const candidate = s.candidate;
  if (!candidate) return undefined;
  s.primary = candidate;
  s.candidate = undefined;
  s.negotiated = undefined;
  const closeFailed: FsmAction = { type: 'close', connection: failed };
  if (candidate.peerOpen) {
    const confirmed = confirmOpen(s, candidate.peerOpen);
    return { ...confirmed, actions: [closeFailed, ...confirmed.actions] };
  }
  return { next: 'OpenSent', actions: [closeFailed, { type: 'startTimer', timer: 'hold', ms: LARGE_HOLD_TIME_SECONDS * 1000 }] };
}

/** Events on a connection that is neither primary nor candidate (already closed): ignored. */
function isStale(s: FsmSession, event: FsmEvent): boolean {
  if (!('connection' in event) || event.type === 'TcpConnectionConfirmed') return false;
  return !isPrimary(s, event.connection) && !isCandidate(s, event.connection);
}

/** The candidate misbehaved or went away: drop it, keep the session. */
function dropCandidate(s: FsmSession, state: BgpState, event: FsmEvent): Transition {
  const candidate = s.candidate;
  s.candidate = undefined;
  if (!candidate) return stay(state);
  if (event.type === 'MessageError') {
    return stay(state, [
      { type: 'send', connection: candidate.id, message: notification(event.error.errorCode, event.error.errorSubcode, event.error.data) },
      { type: 'close', connection: candidate.id },
    ]);
  }
  return stay(state, [{ type: 'close', connection: candidate.id }]);
}

// ---------------------------------------------------------------- one function per state (RFC 4271 §8.2.2)

/** Idle: refuses connections; waits for a start. */
export function idle(s: FsmSession, event: FsmEvent): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
      return start(s);
    case 'TcpConnectionConfirmed':
      return stay('Idle', [{ type: 'close', connection: event.connection }]);
    case 'ManualStop':
      return stay('Idle', [{ type: 'stopTimer', timer: 'autoStart' }]);
    default:
      return stay('Idle');
  }
}

/** Connect: our outgoing connection is being opened (the peer may connect to us meanwhile). */
export function connect(s: FsmSession, event: FsmEvent): Transition {
  switch (event.type) {
    case 'TcpConnectionConfirmed':
      return adoptConnection(s, event.connection, event.direction);
    case 'TcpConnectionFails':
      // Our attempt failed: keep listening, retry when ConnectRetry fires (§8.2.2 Connect, Event 18).
      return { next: 'Active', actions: [{ type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) }] };
    case 'ConnectRetryTimerExpires':
      return stay('Connect', [{ type: 'connect' }, { type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) }]);
    case 'ManualStop':
      return adminStop(s);
    default:
      return stay('Connect');
  }
}

/** Active: listening for the peer; ConnectRetry sends us back to Connect. */
export function active(s: FsmSession, event: FsmEvent): Transition {
  switch (event.type) {
    case 'TcpConnectionConfirmed':
      return adoptConnection(s, event.connection, event.direction);
    case 'ConnectRetryTimerExpires':
      if (s.config.passive) return stay('Active', [{ type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) }]);
      return { next: 'Connect', actions: [{ type: 'connect' }, { type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) }] };
    case 'ManualStop':
      return adminStop(s);
    default:
      return stay('Active');
  }
}

/** OpenSent: our OPEN is out; waiting for the peer's. */
export function openSent(s: FsmSession, event: FsmEvent): Transition {
  if (isStale(s, event)) return stay('OpenSent');
  if ('connection' in event && isCandidate(s, event.connection)) {
    if (event.type === 'BgpOpen') return resolveCollision(s, 'OpenSent', event.open);
    return dropCandidate(s, 'OpenSent', event);
  }
  switch (event.type) {
    case 'TcpConnectionConfirmed':
      return offerCandidate(s, 'OpenSent', event.connection, event.direction);
    case 'BgpOpen':
      return confirmOpen(s, event.open);
    case 'MessageError':
      return resetWith(s, event.error);
    case 'NotifMsg':
      return toIdle(s, received(event.notification));
    case 'TcpConnectionFails': {
      const promoted = promoteCandidate(s, event.connection);
      if (promoted) return promoted;
      // §8.2.2 OpenSent, Event 18: close, restart ConnectRetry, listen (Active).
      s.primary = undefined;
      return {
        next: 'Active',
        actions: [
          { type: 'close', connection: event.connection },
          { type: 'stopTimer', timer: 'hold' },
          { type: 'startTimer', timer: 'connectRetry', ms: retryDelayMs(s) },
        ],
      };
    }
    case 'HoldTimerExpires':
      return holdExpired(s);
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'RouteRefreshMsg':
      return fsmError(s, FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT, `${event.type} in OpenSent`);
    case 'ManualStop':
      return adminStop(s);
    default:
      return stay('OpenSent');
  }
}

/** OpenConfirm: OPENs exchanged, our KEEPALIVE sent; waiting for the peer's. */
export function openConfirm(s: FsmSession, event: FsmEvent): Transition {
  if (isStale(s, event)) return stay('OpenConfirm');
  if ('connection' in event && isCandidate(s, event.connection)) {
    if (event.type === 'BgpOpen') return resolveCollision(s, 'OpenConfirm', event.open);
    return dropCandidate(s, 'OpenConfirm', event);
  }
  switch (event.type) {
    case 'KeepAliveMsg': {
      const primary = s.primary;
      const negotiated = s.negotiated;
      if (!primary || !negotiated) return stay('OpenConfirm');
      s.connectRetryCounter = 0;
      const actions: FsmAction[] = [];
      if (s.candidate) actions.push(...refuse(s.candidate.id));
      s.candidate = undefined;
      if (negotiated.holdTimeSeconds > 0) actions.push({ type: 'startTimer', timer: 'hold', ms: negotiated.holdTimeSeconds * 1000 });
      actions.push({ type: 'established', connection: primary.id, session: negotiated });
      return { next: 'Established', actions };
    }
    case 'TcpConnectionConfirmed':
      return offerCandidate(s, 'OpenConfirm', event.connection, event.direction);
    case 'KeepaliveTimerExpires':
      return keepaliveDue(s, 'OpenConfirm');
    case 'HoldTimerExpires':
      return holdExpired(s);
    case 'MessageError':
      return resetWith(s, event.error);
    case 'NotifMsg':
      return toIdle(s, received(event.notification));
    case 'TcpConnectionFails':
      return promoteCandidate(s, event.connection) ?? toIdle(s, { kind: 'tcp-closed', ...(event.detail ? { detail: event.detail } : {}) });
    case 'BgpOpen':
    case 'UpdateMsg':
    case 'RouteRefreshMsg':
      return fsmError(s, FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM, `${event.type} in OpenConfirm`);
    case 'ManualStop':
      return adminStop(s);
    default:
      return stay('OpenConfirm');
  }
}

/** Established: UPDATEs flow; KEEPALIVEs every hold/3; the hold timer guards the peer. */
export function established(s: FsmSession, event: FsmEvent): Transition {
  if (event.type === 'TcpConnectionConfirmed') return stay('Established', refuse(event.connection));
  if (isStale(s, event)) return stay('Established');
  const restartHold = (): FsmAction[] =>
    s.negotiated && s.negotiated.holdTimeSeconds > 0 ? [{ type: 'startTimer', timer: 'hold', ms: s.negotiated.holdTimeSeconds * 1000 }] : [];
  switch (event.type) {
    case 'KeepAliveMsg':
      return stay('Established', restartHold());
    case 'UpdateMsg':
      return stay('Established', [...restartHold(), { type: 'deliverUpdate', update: event.update }]);
    case 'RouteRefreshMsg':
      return stay('Established', [...restartHold(), { type: 'deliverRouteRefresh', request: event.request }]);
    case 'KeepaliveTimerExpires':
      return keepaliveDue(s, 'Established');
    case 'HoldTimerExpires':
      return holdExpired(s);
    case 'MessageError':
      return resetWith(s, event.error);
    case 'NotifMsg':
      return toIdle(s, received(event.notification));
    case 'TcpConnectionFails':
      return toIdle(s, { kind: 'tcp-closed', ...(event.detail ? { detail: event.detail } : {}) });
    case 'BgpOpen':
      return fsmError(s, FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED, 'OPEN in Established');
    case 'ManualStop':
      return adminStop(s);
    default:
      return stay('Established');
  }
}

function keepaliveDue(s: FsmSession, state: BgpState): Transition {
  const primary = s.primary;
  const negotiated = s.negotiated;
  if (!primary || !negotiated || negotiated.holdTimeSeconds === 0) return stay(state);
  return stay(state, [
    { type: 'send', connection: primary.id, message: { type: 'keepalive' } },
    { type: 'startTimer', timer: 'keepalive', ms: negotiated.keepaliveIntervalMs },
  ]);
}

function received(n: NotificationMessage): DownReason {
  return { kind: 'notification-received', errorCode: n.errorCode, errorSubcode: n.errorSubcode, data: n.data };
}

const STATE_FUNCTIONS: Readonly<Record<BgpState, (s: FsmSession, event: FsmEvent) => Transition>> = {
  Idle: idle,
  Connect: connect,
  Active: active,
  OpenSent: openSent,
  OpenConfirm: openConfirm,
  Established: established,
};

// ---------------------------------------------------------------- the runner


/** I/O actions the owner carries out. */
export type FsmOutput = Exclude<FsmAction, { type: 'startTimer' } | { type: 'stopTimer' }>;

export interface StateChange {
  readonly from: BgpState;
  readonly to: BgpState;
  readonly reason?: DownReason;
}

const TIMER_EVENT: Readonly<Record<FsmTimer, FsmEvent>> = {
  connectRetry: { type: 'ConnectRetryTimerExpires' },
  hold: { type: 'HoldTimerExpires' },
  keepalive: { type: 'KeepaliveTimerExpires' },
  autoStart: { type: 'AutomaticStart' },
};

/**
 * Runs the state functions: one event at a time (events raised while one is
 * being handled are queued), timers on the injected clock, I/O handed to
 * `perform`, transitions reported to `onStateChange`.
 */
export class BgpFsm {
  readonly session: FsmSession;
  #state: BgpState = 'Idle';
  readonly #timers = new Map<FsmTimer, TimerHandle>();
  readonly #queue: FsmEvent[] = [];
  #running = false;

  constructor(
    config: FsmConfig,
    private readonly clock: Clock,
    private readonly perform: (action: FsmOutput) => void,
    private readonly onStateChange: (change: StateChange) => void = () => {},
  ) {
    this.session = newFsmSession(config);
  }

  get state(): BgpState {
    return this.#state;
  }

  get negotiated(): NegotiatedSession | undefined {
    return this.session.negotiated;
  }

  /** The connection UPDATEs go out on, when Established. */
  get primaryConnection(): ConnectionId | undefined {
    return this.session.primary?.id;
  }

  isTimerRunning(timer: FsmTimer): boolean {
    return this.#timers.has(timer);
  }

  handle(event: FsmEvent): void {
    this.#queue.push(event);
    if (this.#running) return;
    this.#running = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) this.#step(next);
    } finally {
      this.#running = false;
    }
  }

  /** Sends an UPDATE on the established session; sending restarts the KeepaliveTimer (§10). */
  sendUpdate(update: UpdateMessage): boolean {
    const primary = this.session.primary;
    const negotiated = this.session.negotiated;
    if (this.#state !== 'Established' || !primary || !negotiated) return false;
    this.perform({ type: 'send', connection: primary.id, message: update });
    if (negotiated.holdTimeSeconds > 0) this.#startTimer('keepalive', negotiated.keepaliveIntervalMs);
    return true;
  }

  /** Sends a NOTIFICATION decided outside the FSM (e.g. Cease / maximum prefixes) and falls to Idle. */
  reset(error: BgpMessageError): void {
    const connection = this.session.primary?.id;
    if (connection === undefined) return;
    this.handle({ type: 'MessageError', connection, error });
  }

  #step(event: FsmEvent): void {
    const from = this.#state;
    const transition = STATE_FUNCTIONS[from](this.session, event);
    this.#state = transition.next;
    const leftEstablished = from === 'Established' && transition.next !== 'Established';
    for (const action of transition.actions) {
      if (action.type === 'startTimer') this.#startTimer(action.timer, action.ms);
      else if (action.type === 'stopTimer') this.#stopTimer(action.timer);
      else this.perform(action);
    }
    if (leftEstablished) this.perform({ type: 'down', reason: transition.reason ?? { kind: 'tcp-closed' } });
    if (from !== transition.next) {
      this.onStateChange({ from, to: transition.next, ...(transition.reason ? { reason: transition.reason } : {}) });
    }
  }

  #startTimer(timer: FsmTimer, ms: number): void {
    this.#stopTimer(timer);
    const handle = this.clock.setTimer(ms, () => {
      if (this.#timers.get(timer) !== handle) return;
      this.#timers.delete(timer);
      this.handle(TIMER_EVENT[timer]);
    });
    this.#timers.set(timer, handle);
  }

  #stopTimer(timer: FsmTimer): void {
    this.#timers.get(timer)?.cancel();
    this.#timers.delete(timer);
  }

  /** Cancels every timer (the owner is going away). */
  dispose(): void {
    for (const timer of [...this.#timers.keys()]) this.#stopTimer(timer);
  }
}
