/**
 * The floor both IKE drivers stand on: the half of IkeConnection that is the same in IKEv1 and
 * IKEv2. IkeV2Connection and IkeV1Connection extend it (one level, no deeper) and implement the
 * other half, the protocol: receiving, initiating, saying goodbye at stop, their SAs' status,
 * and the rekey/delete operations. The logic lives in the two objects the floor owns and lends
 * the driver: the lifecycle (phase, reconnect, NAT keepalive, counters, events, status;
 * lifecycle.ts) and the CHILD SA ledger (child-ledger.ts).
 */
import { EventEmitter } from 'node:events';
import type { DropReason } from '../drop-reasons.js';
import type { IkeDatagram } from '../runtime.js';
import { ChildLedger } from './child-ledger.js';
import type { ConnectionContext } from './context.js';
import type { IkeConnectionEvents } from './events.js';
import type { IkeConnection } from './ike-connection.js';
import { ConnectionLifecycle, type LifecycleSa } from './lifecycle.js';
import type { IkeConnectionOptions } from './options.js';
import type { ConnectionState, ConnectionStatus, IkeSaStatus } from './status.js';

export abstract class IkeConnectionBase<Sa extends LifecycleSa, Ctx extends ConnectionContext>
  extends EventEmitter<IkeConnectionEvents>
  implements IkeConnection
{
  readonly ctx: Ctx;
  protected readonly life: ConnectionLifecycle<Sa>;
  protected readonly ledger: ChildLedger;

  /** `halfOpenExchange`: what a responder's half-open SA waits to complete (HalfOpenTimeoutError). */
  protected constructor(options: IkeConnectionOptions, ctx: Ctx, halfOpenExchange: string) {
    super();
    this.ctx = ctx;
    this.life = new ConnectionLifecycle<Sa>({
      options,
      ctx,
      events: this,
      halfOpenExchange,
      driver: { initiate: () => this.initiate(), sayGoodbye: () => this.sayGoodbye(), tearDown: () => this.tearDown() },
    });
    this.ledger = new ChildLedger({ tunnel: options.tunnel, sink: options.sink, clock: ctx.clock, logger: ctx.logger, keylog: ctx.keylog });
    if (options.listen !== false) options.transport.onDatagram((datagram) => this.handleDatagram(datagram));
  }

  // -------------------------------------------------------------------------------------------
  // The version-neutral half of IkeConnection

  start(): void {
    this.life.start();
  }

  stop(): Promise<void> {
    return this.life.stop();
  }

  handleDatagram(datagram: IkeDatagram): void {
    this.life.receiveSafely(datagram, (d) => this.receive(d));
  }

  noteInboundActivity(): void {
    this.life.noteInboundActivity();
  }

  get state(): ConnectionState {
    return this.life.state;
  }

  status(): ConnectionStatus {
    return this.life.status(this.ikeSaStatuses());
  }

  /** For the SAs (both versions' SA hosts count drops and retransmissions). */
  countDrop(reason: DropReason): void {
    this.life.countDrop(reason);
  }

  countRetransmission(kind: 'request' | 'cached-response'): void {
    this.life.countRetransmission(kind);
  }

  // -------------------------------------------------------------------------------------------
  // The driver's half

  abstract rekeyChild(): boolean;
  abstract rekeyIke(): boolean;
  abstract deleteChild(): boolean;
  abstract deleteIke(): boolean;
  abstract checkNatMapping(): boolean;
  abstract childSaExhausting(childId: number): boolean;

  /** One datagram from the peer, in a running connection or not (handleDatagram catches what it throws). */
  protected abstract receive(datagram: IkeDatagram): void;
  /** A new SA with the peer: at start() and at every reconnect (initiator role). */
  protected abstract initiate(): void;
  /** stop() has begun: tell the peer, then call this.life.finish() (at once, or when that is done). */
  protected abstract sayGoodbye(): void;
  /** End every SA and take every CHILD SA out of the data plane (the phase is already 'stopped'). */
  protected abstract tearDown(): void;
  protected abstract ikeSaStatuses(): IkeSaStatus[];
}
