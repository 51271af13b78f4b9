/** What an IKE connection of either version is built from: one AWS tunnel and its runtime. */
import type { Logger } from 'pino';
import type { TunnelConfig } from '../../config/model.js';
import type { ChildSaSink, Clock, Endpoint, IkeTransport, RandomSource } from '../runtime.js';
import type { ProposalPolicy } from '../proposals/policy.js';
import type { IkeTiming } from '../timing.js';
import type { KeylogEntry } from './keylog.js';

export interface IkeConnectionOptions {
  readonly tunnel: TunnelConfig;
  readonly role: 'initiator' | 'responder';
  /** Our outside address, port 500 (IKE floats to 4500 after the first exchange). */
  readonly local: Endpoint;
  /** The AWS endpoint, port 500. */
  readonly remote: Endpoint;
  /** Our identity: default the customer gateway's outside address. */
  readonly localId: string;
  /** The identity the peer must present; any, when absent (the PSK authenticates). */
  readonly remoteId?: string;
  /** Delivers only this peer's datagrams. */
  readonly transport: IkeTransport;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly sink: ChildSaSink;
  readonly logger: Logger;
  readonly timing?: Partial<IkeTiming>;
  /** Derived IKE and CHILD keys, for the lab's key comparison and debugging only; cgwd never logs them. */
  readonly keylog?: (entry: KeylogEntry) => void;
  /** Proposals to use instead of the ones derived from `tunnel` (lab per-suite runs, tests). */
  readonly policy?: ProposalPolicy;
  /**
   * Claim a NAT in NAT detection so the peer sends ESP in UDP too (default true): cgwd carries
   * IKE and ESP on one UDP 4500 socket (RFC 7296 §2.23 and RFC 3947 allow the claim).
   */
  readonly forceEncapsulation?: boolean;
  /** Register with transport.onDatagram (default true); false when a dispatcher calls handleDatagram. */
  readonly listen?: boolean;
}
