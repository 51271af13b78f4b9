/**
 * What a tunnel needs from its IKE connection, whichever the version: IkeV2Connection
 * (src/ike/v2) and IkeV1Connection (src/ike/v1) implement it, so src/tunnel holds either as
 * an IkeConnection and picks one by configuration.
 */
import type { IkeDatagram } from '../runtime.js';
import type { IkeConnectionEvents } from './events.js';
import type { ConnectionState, ConnectionStatus } from './status.js';

type Listener<K extends keyof IkeConnectionEvents> = (...args: IkeConnectionEvents[K]) => void;

/** The connection's events (an EventEmitter's typed subset). */
export interface IkeConnectionEventSource {
  on<K extends keyof IkeConnectionEvents>(event: K, listener: Listener<K>): this;
  once<K extends keyof IkeConnectionEvents>(event: K, listener: Listener<K>): this;
  off<K extends keyof IkeConnectionEvents>(event: K, listener: Listener<K>): this;
}

export interface IkeConnection extends IkeConnectionEventSource {
  /** Initiates (initiator role) or starts accepting the peer's first exchange (responder role). */
  start(): void;
  /** Deletes the SAs at the peer (best effort, bounded wait) and removes every CHILD SA from the data plane. */
  stop(): Promise<void>;
  /** A datagram from this peer (already demultiplexed); never throws: problems become answers or counted drops. */
  handleDatagram(datagram: IkeDatagram): void;
  /** Traffic arrived from the peer (the data plane's ESP counters moved): liveness checks can wait. */
  noteInboundActivity(): void;
  /** Starts a rekey of the live CHILD SA now (CLI, lab, tests); false when there is nothing to rekey. */
  rekeyChild(): boolean;
  /** Rekeys the IKE SA now (IKEv1: re-establishes phase 1, the IPsec SA stays); false when there is none. */
  rekeyIke(): boolean;
  /** Deletes the live CHILD SA (tests; an initiator creates a new one). */
  deleteChild(): boolean;
  /** Deletes the IKE SA without stopping: the initiator re-initiates. */
  deleteIke(): boolean;
  /**
   * The tunnel went silent behind a NAT (keepalive probes unanswered, no traffic, the IKE SA
   * still there): the NAT may have forgotten its mapping, so our packets now leave from a new
   * port that the peer does not know. Sends an authenticated liveness message at once (IKEv2 an
   * empty INFORMATIONAL, IKEv1 DPD R-U-THERE, RFC 3706 §5): the peer moves to the address and
   * port it came from (RFC 7296 §2.23). False when nothing was sent: no established SA, no NAT
   * in front of us, a request already out, or (IKEv1) a peer without DPD.
   */
  checkNatMapping(): boolean;
  /**
   * The data plane's outbound sequence number for CHILD SA `childId` (its ChildSaInstall id)
   * passed 0xF0000000 of 2^32, and the SA must be replaced before it wraps (RFC 4303 §3.3.3):
   * starts a rekey of it (IKEv2 CREATE_CHILD_SA, IKEv1 a new quick mode) if it is still the
   * live CHILD SA and no rekey of it is under way. False when nothing was started: an unknown
   * or retired id, a rekey already pending, no established IKE SA to rekey it on.
   */
  childSaExhausting(childId: number): boolean;
  readonly state: ConnectionState;
  /** A loggable snapshot: SPIs, suites, times, counters, never keys. */
  status(): ConnectionStatus;
}

/** The incoming-datagram path, for a dispatcher that routes by peer address to connections. */
export function deliverIkeDatagram(connection: IkeConnection, datagram: IkeDatagram): void {
  connection.handleDatagram(datagram);
}
