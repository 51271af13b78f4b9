/**
 * One eBGP session per tunnel: our inside address ↔ the AWS inside address,
 * TCP 179, carried by the tunnel's own interface.
 *
 * The speaker both connects out (bound to the local inside address) and
 * listens on localAddress:port for the peer's connection, so either side may
 * open the session and collisions are resolved by the FSM (fsm.ts). The AWS
 * role may run passive (listen only).
 *
 *   socket bytes ─► BgpFramer ─► decodeMessage ─► BgpFsm ─► actions ─► sockets / Adj-RIB-In / events
 *
 * Advertising: `setAdvertised()` sets the prefixes and their AS-path prepend
 * and MED; the Adj-RIB-Out records what the peer was told in this session, so
 * a change sends only the difference (withdrawals, then announcements). Every
 * announcement carries ORIGIN IGP, AS_PATH = our AS × (1 + prepend), NEXT_HOP =
 * our inside address.
 *
 * Receiving: UPDATEs fill the Adj-RIB-In of the current session; after every
 * change the speaker emits `routes` with the whole set. Routes whose AS path
 * holds our own AS (a loop) or whose NEXT_HOP is our own address are ignored
 * (RFC 4271 §9.1.2, §6.3); RFC 7606 treat-as-withdraw removes what the faulty
 * UPDATE announced. When the session leaves Established the set empties.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAX_ADVERTISED_PREFIXES } from '../config/aws-limits.js';
import { CgwdError } from '../errors.js';
import { decodeMessage, encodeMessage, type CodecContext } from './codec.js';
import {
  AFI_IPV4,
  BGP_PORT,
  CeaseSubcode,
  DEFAULT_CONNECT_RETRY_SECONDS,
  DEFAULT_HOLD_TIME_SECONDS,
  ErrorCode,
  MAX_ASNS_PER_SEGMENT,
  MAX_FOUR_OCTET_AS,
  Origin,
  SAFI_UNICAST,
} from './constants.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { BgpMessageError } from './errors.js';
import { BgpFramer } from './framer.js';
import {
  BgpFsm,
  describeDownReason,
  type BgpState,
  type ConnectionDirection,
  type ConnectionId,
  type DownReason,
  type FsmEvent,
  type FsmOutput,
  type StateChange,
} from './fsm.js';
import { isTreatAsWithdraw, type BgpMessage, type PathAttributes, type UpdateMessage } from './messages.js';
import { buildOpen, checkAsNumber, formatBgpIdentifier, type NegotiatedSession } from './open.js';
import { formatPrefix, parseAddress, parsePrefix } from './prefix.js';
import { asPathLength, effectiveAsPath, flattenAsPath, packUpdates } from './update.js';

/** Routes AWS sends at most: 1,000 from a VGW, 5,000 from a TGW (User Guide, "Site-to-Site VPN quotas"). */
export const DEFAULT_MAX_RECEIVED_PREFIXES = 5_000;

export interface BgpSpeakerOptions {
  /** Names the session in logs and status, e.g. "tunnel 1". */
  readonly name?: string;
  readonly localAs: number;
  readonly peerAs: number;
  /** Our inside address (169.254.x.2; the AWS role uses .1): bind address and NEXT_HOP. */
  readonly localAddress: string;
  readonly peerAddress: string;
  /** BGP Identifier; default the local address. */
  readonly routerId?: string;
  /** Port we listen on and connect to (default 179; tests use a high one). */
  readonly port?: number;
  /** Accept the peer's connections on localAddress:port (default true). */
  readonly listen?: boolean;
  /** Only wait for the peer to connect (default false). */
  readonly passive?: boolean;
  /** Hold time offered; the session uses the smaller of ours and the peer's (default 30, AWS's value). */
  readonly holdTimeSeconds?: number;
  readonly connectRetrySeconds?: number;
  /** Offer Graceful Restart (RFC 4724) only when configured; some peers refuse it. */
  readonly gracefulRestart?: { readonly restartTimeSeconds: number };
  /** Refuse to advertise more (default 100, the VGW limit; 1,000 towards a TGW). */
  readonly maxAdvertisedPrefixes?: number;
  /** Reset the session with Cease / Maximum Number of Prefixes Reached past this (default 5,000). */
  readonly maxReceivedPrefixes?: number;
  /** RFC 7606 (default true); false resets the session on every malformed UPDATE. */
  readonly revisedErrorHandling?: boolean;
  readonly clock?: Clock;
  /** Jitter source for ConnectRetry (default Math.random). */
  readonly random?: () => number;
  readonly logger?: Logger;
}

export interface AdvertiseOptions {
  /** Extra copies of our AS in AS_PATH (0 = none). */
  readonly asPathPrepend?: number;
  /** MULTI_EXIT_DISC to send; none by default. */
  readonly med?: number;
}

/** A route AWS announced on this session. */
export interface LearnedRoute {
  readonly prefix: string;
  readonly nextHop: string;
  /** The AS path flattened, leftmost (the peer's AS) first. */
  readonly asPath: readonly number[];
  /** Length for route selection: an AS_SET counts as one (RFC 4271 §9.1.2.2). */
  readonly asPathLength: number;
  readonly med?: number;
  readonly origin: Origin;
  readonly communities?: Buffer;
}

export interface BgpStateEvent {
  readonly name: string;
  readonly state: BgpState;
  readonly previous: BgpState;
  readonly reason?: DownReason;
  /** The reason in words, when there is one. */
  readonly description?: string;
}

export interface BgpSpeakerEvents {
  state: [BgpStateEvent];
  /** The whole current set of learned routes, after every change. */
  routes: [readonly LearnedRoute[]];
}

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

export interface BgpSpeakerStatus {
  readonly name: string;
  readonly state: BgpState;
  readonly localAs: number;
  readonly peerAs: number;
  readonly localAddress: string;
  readonly peerAddress: string;
  /** Clock time (ms, monotonic) the session became Established; undefined when it is not. */
  readonly establishedAt?: number;
  readonly uptimeSeconds: number;
  /** Prefixes set to advertise. */
  readonly prefixesAdvertised: number;
  /** Prefixes the peer currently holds from us (Adj-RIB-Out). */
  readonly prefixesSent: number;
  /** Prefixes in the Adj-RIB-In. */
  readonly prefixesReceived: number;
  readonly negotiated?: {
    readonly holdTimeSeconds: number;
    readonly keepaliveSeconds: number;
    readonly fourOctetAs: boolean;
    readonly routeRefresh: boolean;
    readonly gracefulRestart: boolean;
    readonly peerBgpIdentifier: string;
  };
  readonly lastDown?: { readonly at: number; readonly kind: DownReason['kind']; readonly description: string; readonly errorCode?: number; readonly errorSubcode?: number };
  readonly establishedTransitions: number;
  readonly messages: { readonly sent: MessageCounters; readonly received: MessageCounters };
  readonly treatAsWithdrawUpdates: number;
  readonly routesIgnored: number;
  readonly connectionsRefused: number;
}

interface Connection {
  readonly id: ConnectionId;
  readonly socket: Socket;
  readonly direction: ConnectionDirection;
  readonly framer: BgpFramer;
  /** We closed it, or a fault stopped it: nothing more is read or written. */
  done: boolean;
}

const zeroCounters = (): MessageCounters => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 });
const COUNTER_OF: Readonly<Record<BgpMessage['type'], keyof MessageCounters>> = {
  open: 'open',
  update: 'update',
  notification: 'notification',
  keepalive: 'keepalive',
  'route-refresh': 'routeRefresh',
};
/** Keeps AS_PATH within one segment: our AS once plus at most 254 prepends. */
const MAX_AS_PATH_PREPEND = MAX_ASNS_PER_SEGMENT - 1;
const CLOSE_GRACE_MS = 1_000;

function normalizeRemoteAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice('::ffff:'.length) : (address ?? '');
}

function requireAddress(text: string, what: string): number {
  const value = parseAddress(text);
  if (value === undefined) throw new CgwdError('BGP_BAD_CONFIG', `${what} "${text}" is not an IPv4 address`);
  return value;
}

export class BgpSpeaker extends EventEmitter<BgpSpeakerEvents> {
  readonly name: string;
  readonly #options: BgpSpeakerOptions;
  readonly #clock: Clock;
  readonly #fsm: BgpFsm;
  readonly #port: number;
  readonly #connections = new Map<ConnectionId, Connection>();
  #pendingOutgoing: Connection | undefined;
  #nextConnectionId = 1;
  #server: Server | undefined;
  #listenRetry: TimerHandle | undefined;
  #lastListenError: string | undefined;
  #started = false;

  #advertised: { prefixes: readonly string[]; asPathPrepend: number; med: number | undefined } = { prefixes: [], asPathPrepend: 0, med: undefined };
  /** prefix → attribute key of what the peer holds from us in this session. */
  readonly #ribOut = new Map<string, string>();
  readonly #ribIn = new Map<string, LearnedRoute>();

  #establishedAt: number | undefined;
  #establishedTransitions = 0;
  #lastDown: { at: number; reason: DownReason } | undefined;
  readonly #sent = zeroCounters();
  readonly #received = zeroCounters();
  #treatAsWithdrawUpdates = 0;
  #routesIgnored = 0;
  #connectionsRefused = 0;

  constructor(options: BgpSpeakerOptions) {
    super();
    checkAsNumber(options.localAs, 'local AS');
    checkAsNumber(options.peerAs, 'peer AS');
    requireAddress(options.localAddress, 'local address');
    requireAddress(options.peerAddress, 'peer address');
    if (options.localAs === options.peerAs) {
      throw new CgwdError('BGP_BAD_CONFIG', `local and peer AS are both ${options.localAs}; cgwd speaks eBGP only`);
    }
    this.#options = options;
    this.name = options.name ?? `bgp ${options.peerAddress}`;
    this.#clock = options.clock ?? systemClock;
    this.#port = options.port ?? BGP_PORT;
    const bgpIdentifier = requireAddress(options.routerId ?? options.localAddress, 'router ID');
    const open = buildOpen({
      localAs: options.localAs,
      bgpIdentifier,
      holdTimeSeconds: options.holdTimeSeconds ?? DEFAULT_HOLD_TIME_SECONDS,
      ...(options.gracefulRestart ? { gracefulRestart: options.gracefulRestart } : {}),
    });
    this.#fsm = new BgpFsm(
      {
        localAs: options.localAs,
        peerAs: options.peerAs,
        bgpIdentifier,
        open,
        connectRetrySeconds: options.connectRetrySeconds ?? DEFAULT_CONNECT_RETRY_SECONDS,
        passive: options.passive ?? false,
        ...(options.random ? { random: options.random } : {}),
      },
      this.#clock,
      (action) => this.#perform(action),
      (change) => this.#stateChanged(change),
    );
  }

  get state(): BgpState {
    return this.#fsm.state;
  }

  /** Starts listening and connecting; the session comes up on its own and restarts after failures. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#options.listen ?? true) this.#listen();
    this.#fsm.handle({ type: 'ManualStart' });
  }

  /** Sends Cease / Administrative Shutdown, closes every connection, stops listening. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#fsm.handle({ type: 'ManualStop' });
    this.#fsm.dispose();
    this.#listenRetry?.cancel();
    this.#listenRetry = undefined;
    this.#abortPendingOutgoing();
    const server = this.#server;
    this.#server = undefined;
    const closing: Promise<void>[] = [...this.#connections.values()].map((c) => this.#closeConnection(c));
    if (server) closing.push(new Promise((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
  }

  /**
   * Sets what to advertise. Changes go out at once when Established: only the
   * prefixes removed are withdrawn and only new or re-attributed ones announced.
   * Throws BGP_TOO_MANY_PREFIXES past the limit (100 towards a VGW).
   */
  setAdvertised(prefixes: readonly string[], options: AdvertiseOptions = {}): void {
    const normalized = [...new Set(prefixes.map((p) => formatPrefix(parsePrefix(p))))];
    const limit = this.#options.maxAdvertisedPrefixes ?? MAX_ADVERTISED_PREFIXES.vgw;
    if (normalized.length > limit) {
      throw new CgwdError(
        'BGP_TOO_MANY_PREFIXES',
        `${this.name}: ${normalized.length} prefixes to advertise, but the peer accepts at most ${limit} and AWS resets the session past that; summarise them`,
      );
    }
    const prepend = options.asPathPrepend ?? 0;
    if (!Number.isInteger(prepend) || prepend < 0 || prepend > MAX_AS_PATH_PREPEND) {
      throw new CgwdError('BGP_BAD_CONFIG', `AS-path prepend ${prepend} (must be 0..${MAX_AS_PATH_PREPEND})`);
    }
    if (options.med !== undefined && (!Number.isInteger(options.med) || options.med < 0 || options.med > MAX_FOUR_OCTET_AS)) {
      throw new CgwdError('BGP_BAD_CONFIG', `MED ${options.med} (must be 0..${MAX_FOUR_OCTET_AS})`);
    }
    this.#advertised = { prefixes: normalized, asPathPrepend: prepend, med: options.med };
    this.#syncAdvertisements();
  }

  /** The current Adj-RIB-In. */
  learnedRoutes(): LearnedRoute[] {
    return [...this.#ribIn.values()];
  }

  status(): BgpSpeakerStatus {
    const negotiated = this.#fsm.state === 'Established' ? this.#fsm.negotiated : undefined;
    const lastDown = this.#lastDown;
    const reason = lastDown?.reason;
    const codes = reason && (reason.kind === 'notification-received' || reason.kind === 'notification-sent') ? { errorCode: reason.errorCode, errorSubcode: reason.errorSubcode } : {};
    return {
      name: this.name,
      state: this.#fsm.state,
      localAs: this.#options.localAs,
      peerAs: this.#options.peerAs,
      localAddress: this.#options.localAddress,
      peerAddress: this.#options.peerAddress,
      ...(this.#establishedAt !== undefined ? { establishedAt: this.#establishedAt } : {}),
      uptimeSeconds: this.#establishedAt === undefined ? 0 : Math.floor((this.#clock.now() - this.#establishedAt) / 1000),
      prefixesAdvertised: this.#advertised.prefixes.length,
      prefixesSent: this.#ribOut.size,
      prefixesReceived: this.#ribIn.size,
      ...(negotiated
        ? {
            negotiated: {
              holdTimeSeconds: negotiated.holdTimeSeconds,
              keepaliveSeconds: negotiated.keepaliveIntervalMs / 1000,
              fourOctetAs: negotiated.fourOctetAs,
              routeRefresh: negotiated.routeRefresh,
              gracefulRestart: negotiated.gracefulRestart,
              peerBgpIdentifier: formatBgpIdentifier(negotiated.peerBgpIdentifier),
            },
          }
        : {}),
      ...(lastDown && reason ? { lastDown: { at: lastDown.at, kind: reason.kind, description: describeDownReason(reason), ...codes } } : {}),
      establishedTransitions: this.#establishedTransitions,
      messages: { sent: { ...this.#sent }, received: { ...this.#received } },
      treatAsWithdrawUpdates: this.#treatAsWithdrawUpdates,
      routesIgnored: this.#routesIgnored,
      connectionsRefused: this.#connectionsRefused,
    };
  }

  // ---------------------------------------------------------------- FSM outputs

  #perform(action: FsmOutput): void {
    switch (action.type) {
      case 'connect':
        this.#connect();
        return;
      case 'send':
        this.#send(action.connection, action.message);
        return;
      case 'close': {
        const connection = this.#connections.get(action.connection);
        if (connection) void this.#closeConnection(connection);
        else if (this.#pendingOutgoing?.id === action.connection) this.#abortPendingOutgoing();
        return;
      }
      case 'established':
        this.#onEstablished(action.session);
        return;
      case 'down':
        this.#onDown();
        return;
      case 'deliverUpdate':
        this.#applyUpdate(action.update);
        return;
      case 'deliverRouteRefresh':
        if (action.request.afi === AFI_IPV4 && action.request.safi === SAFI_UNICAST) {
          this.#ribOut.clear();
          this.#syncAdvertisements();
        }
        return;
    }
  }

  #stateChanged(change: StateChange): void {
    if (change.to === 'Idle' && change.reason) this.#lastDown = { at: this.#clock.now(), reason: change.reason };
    const description = change.reason ? describeDownReason(change.reason) : undefined;
    const log = { bgp: this.name, from: change.from, to: change.to, ...(description ? { reason: description } : {}) };
    if (change.to === 'Established') this.#options.logger?.info(log, 'BGP session established');
    else if (change.from === 'Established') this.#options.logger?.warn(log, 'BGP session down');
    else this.#options.logger?.debug(log, 'BGP state');
    this.emit('state', {
      name: this.name,
      state: change.to,
      previous: change.from,
      ...(change.reason ? { reason: change.reason } : {}),
      ...(description ? { description } : {}),
    });
  }

  #onEstablished(session: NegotiatedSession): void {
    this.#establishedAt = this.#clock.now();
    this.#establishedTransitions += 1;
    this.#ribOut.clear();
    this.#syncAdvertisements();
    // End-of-RIB once the initial advertisements are out (RFC 4724 §2).
    if (session.gracefulRestart) this.#fsm.sendUpdate({ type: 'update', withdrawn: [], attributes: {}, nlri: [] });
  }

  #onDown(): void {
    this.#establishedAt = undefined;
    this.#ribOut.clear();
    if (this.#ribIn.size > 0) {
      this.#ribIn.clear();
      this.emit('routes', []);
    }
  }

  // ---------------------------------------------------------------- advertising

  #codecContext(): CodecContext {
    return {
      fourOctetAs: this.#fsm.negotiated?.fourOctetAs ?? false,
      peerAs: this.#options.peerAs,
      revisedErrorHandling: this.#options.revisedErrorHandling ?? true,
    };
  }

  #syncAdvertisements(): void {
    if (this.#fsm.state !== 'Established') return;
    const { prefixes, asPathPrepend, med } = this.#advertised;
    const attributeKey = `${asPathPrepend}/${med ?? '-'}`;
    const wanted = new Set(prefixes);
    const withdrawn = [...this.#ribOut.keys()].filter((p) => !wanted.has(p));
    const nlri = prefixes.filter((p) => this.#ribOut.get(p) !== attributeKey);
    if (withdrawn.length === 0 && nlri.length === 0) return;
    const attributes: PathAttributes = {
      origin: Origin.IGP,
      asPath: [{ kind: 'sequence', asns: new Array<number>(1 + asPathPrepend).fill(this.#options.localAs) }],
      nextHop: this.#options.localAddress,
      ...(med !== undefined ? { multiExitDisc: med } : {}),
    };
    for (const update of packUpdates({ withdrawn, attributes, nlri }, this.#codecContext())) {
      if (!this.#fsm.sendUpdate(update)) return;
    }
    for (const p of withdrawn) this.#ribOut.delete(p);
    for (const p of nlri) this.#ribOut.set(p, attributeKey);
    this.#options.logger?.debug({ bgp: this.name, withdrawn: withdrawn.length, announced: nlri.length, asPathPrepend, med }, 'BGP advertisements sent');
  }

  // ---------------------------------------------------------------- receiving

  #applyUpdate(update: UpdateMessage): void {
    const { attributes } = update;
    let changed = false;
    for (const prefix of [...update.withdrawn, ...(attributes.mpUnreach?.withdrawn ?? [])]) changed = this.#ribIn.delete(prefix) || changed;
    const announced: { prefix: string; nextHop: string | undefined }[] = [
      ...update.nlri.map((prefix) => ({ prefix, nextHop: attributes.nextHop })),
      ...(attributes.mpReach?.nlri ?? []).map((prefix) => ({ prefix, nextHop: attributes.mpReach?.nextHop })),
    ];
    const problems = update.problems ?? [];
    if (isTreatAsWithdraw(update)) {
      this.#treatAsWithdrawUpdates += 1;
      this.#options.logger?.warn(
        { bgp: this.name, prefixes: announced.map((a) => a.prefix), problems: problems.map((p) => `${p.handling}: ${p.error.message}`) },
        'malformed UPDATE: its routes are treated as withdrawn (RFC 7606)',
      );
      for (const { prefix } of announced) changed = this.#ribIn.delete(prefix) || changed;
    } else if (announced.length > 0) {
      if (problems.length > 0) {
        this.#options.logger?.info({ bgp: this.name, problems: problems.map((p) => p.error.message) }, 'UPDATE attributes discarded (RFC 7606)');
      }
      const path = effectiveAsPath(attributes);
      const flat = flattenAsPath(path);
      const loop = flat.includes(this.#options.localAs);
      for (const { prefix, nextHop } of announced) {
        if (loop || nextHop === undefined || nextHop === this.#options.localAddress) {
          // Our own AS in the path, or a next hop that is us: not usable (RFC 4271 §9.1.2, §6.3).
          this.#routesIgnored += 1;
          changed = this.#ribIn.delete(prefix) || changed;
          continue;
        }
        this.#ribIn.set(prefix, {
          prefix,
          nextHop,
          asPath: flat,
          asPathLength: asPathLength(path),
          ...(attributes.multiExitDisc !== undefined ? { med: attributes.multiExitDisc } : {}),
          origin: attributes.origin ?? Origin.INCOMPLETE,
          ...(attributes.communities ? { communities: attributes.communities } : {}),
        });
        changed = true;
      }
    }
    const limit = this.#options.maxReceivedPrefixes ?? DEFAULT_MAX_RECEIVED_PREFIXES;
    if (this.#ribIn.size > limit) {
      // Cease / Maximum Number of Prefixes Reached, data AFI, SAFI, limit (RFC 4486 §4).
      const data = Buffer.alloc(7);
      data.writeUInt16BE(AFI_IPV4, 0);
      data.writeUInt8(SAFI_UNICAST, 2);
      data.writeUInt32BE(limit, 3);
      this.#fsm.reset(new BgpMessageError(ErrorCode.CEASE, CeaseSubcode.MAXIMUM_PREFIXES_REACHED, `peer sent more than ${limit} prefixes`, { data }));
      return;
    }
    if (changed) this.emit('routes', this.learnedRoutes());
  }

  // ---------------------------------------------------------------- TCP

  #register(socket: Socket, direction: ConnectionDirection): Connection {
    const connection: Connection = { id: this.#nextConnectionId++, socket, direction, framer: new BgpFramer(), done: false };
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
    socket.on('error', (error) => this.#options.logger?.debug({ bgp: this.name, error: error.message }, 'BGP socket error'));
    return connection;
  }

  #connect(): void {
    this.#abortPendingOutgoing();
    const socket = tcpConnect({ host: this.#options.peerAddress, port: this.#port, localAddress: this.#options.localAddress, family: 4 });
    const connection = this.#register(socket, 'outgoing');
    this.#pendingOutgoing = connection;
    socket.once('connect', () => {
      if (this.#pendingOutgoing !== connection) return;
      this.#pendingOutgoing = undefined;
      this.#adopt(connection);
    });
    socket.once('close', () => {
      if (this.#pendingOutgoing === connection) {
        this.#pendingOutgoing = undefined;
        this.#fsm.handle({ type: 'TcpConnectionFails', connection: connection.id, detail: 'connect failed' });
      }
    });
  }

  #abortPendingOutgoing(): void {
    const pending = this.#pendingOutgoing;
    this.#pendingOutgoing = undefined;
    pending?.socket.destroy();
  }

  /** A connection is up: track it and tell the FSM. */
  #adopt(connection: Connection): void {
    connection.socket.setNoDelay(true);
    this.#connections.set(connection.id, connection);
    connection.socket.once('close', () => {
      this.#connections.delete(connection.id);
      if (connection.done) return;
      connection.done = true;
      this.#fsm.handle({ type: 'TcpConnectionFails', connection: connection.id, detail: 'closed by the peer' });
    });
    this.#fsm.handle({ type: 'TcpConnectionConfirmed', connection: connection.id, direction: connection.direction });
  }

  #listen(): void {
    const server = createServer((socket) => {
      const from = normalizeRemoteAddress(socket.remoteAddress);
      if (!this.#started || from !== this.#options.peerAddress) {
        this.#connectionsRefused += 1;
        this.#options.logger?.debug({ bgp: this.name, from }, 'BGP connection refused');
        socket.destroy();
        return;
      }
      this.#adopt(this.#register(socket, 'incoming'));
    });
    server.on('error', (error: NodeJS.ErrnoException) => {
      // The inside address appears with the tunnel interface; until then listening fails. Retry,
      // and say so once per kind of failure (EADDRINUSE: another BGP daemon holds the port).
      const log = { bgp: this.name, address: `${this.#options.localAddress}:${this.#port}`, error: error.message };
      if (error.code !== this.#lastListenError) this.#options.logger?.warn(log, 'BGP cannot listen yet; retrying');
      else this.#options.logger?.debug(log, 'BGP listen failed again; retrying');
      this.#lastListenError = error.code;
      server.close();
      if (this.#server === server) this.#server = undefined;
      if (!this.#started) return;
      const delay = (this.#options.connectRetrySeconds ?? DEFAULT_CONNECT_RETRY_SECONDS) * 1000;
      this.#listenRetry = this.#clock.setTimer(delay, () => {
        this.#listenRetry = undefined;
        if (this.#started && !this.#server) this.#listen();
      });
    });
    server.once('listening', () => {
      if (this.#lastListenError !== undefined) this.#options.logger?.info({ bgp: this.name }, 'BGP listening');
      this.#lastListenError = undefined;
    });
    this.#server = server;
    server.listen({ host: this.#options.localAddress, port: this.#port, exclusive: true });
  }

  #send(id: ConnectionId, message: BgpMessage): void {
    const connection = this.#connections.get(id);
    if (!connection || connection.done) return;
    let frame: Buffer;
    try {
      frame = encodeMessage(message, this.#codecContext());
    } catch (error) {
      this.#options.logger?.error({ bgp: this.name, error: (error as Error).message, type: message.type }, 'BGP message could not be encoded');
      return;
    }
    this.#sent[COUNTER_OF[message.type]] += 1;
    connection.socket.write(frame);
  }

  #closeConnection(connection: Connection): Promise<void> {
    connection.done = true;
    const socket = connection.socket;
    if (socket.destroyed) {
      this.#connections.delete(connection.id);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      grace.unref();
      socket.once('close', () => {
        clearTimeout(grace);
        this.#connections.delete(connection.id);
        resolve();
      });
      // Flush what was queued (a NOTIFICATION, typically), then FIN.
      socket.end();
    });
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.done) return;
    const { frames, error } = connection.framer.push(chunk);
    for (const frame of frames) {
      if (connection.done) return;
      const event = this.#decode(connection, frame);
      this.#fsm.handle(event);
      if (event.type === 'MessageError') connection.done = true;
    }
    if (error && !connection.done) {
      // The FSM sends the NOTIFICATION and closes; only then is the connection done.
      this.#fsm.handle({ type: 'MessageError', connection: connection.id, error });
      connection.done = true;
    }
  }

  #decode(connection: Connection, frame: Buffer): FsmEvent {
    let message: BgpMessage;
    try {
      message = decodeMessage(frame, this.#codecContext());
    } catch (error) {
      if (error instanceof BgpMessageError) return { type: 'MessageError', connection: connection.id, error };
      throw error;
    }
    this.#received[COUNTER_OF[message.type]] += 1;
    const id = connection.id;
    switch (message.type) {
      case 'open':
        return { type: 'BgpOpen', connection: id, open: message };
      case 'update':
        return { type: 'UpdateMsg', connection: id, update: message };
      case 'notification':
        return { type: 'NotifMsg', connection: id, notification: message };
      case 'keepalive':
        return { type: 'KeepAliveMsg', connection: id };
      case 'route-refresh':
        return { type: 'RouteRefreshMsg', connection: id, request: message };
    }
  }
}
