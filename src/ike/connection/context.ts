/** What every IKE SA (IKEv2) or ISAKMP SA (IKEv1) of one connection shares: configuration and runtime. */
import type { Logger } from 'pino';
import type { TunnelConfig } from '../../config/model.js';
import type { Secret } from '../../config/secret.js';
import { identityFrom, type Identity } from '../identity.js';
import type { ProposalPolicy } from '../proposals/policy.js';
import type { Clock, IkeTransport, RandomSource } from '../runtime.js';
import { resolveTiming, type IkeTiming } from '../timing.js';
import type { KeylogEntry } from './keylog.js';
import type { IkeConnectionOptions } from './options.js';

export interface ConnectionContext {
  readonly tunnel: TunnelConfig;
  readonly policy: ProposalPolicy;
  readonly psk: Secret;
  readonly localIdentity: Identity;
  readonly remoteIdentity: Identity | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly transport: IkeTransport;
  readonly timing: IkeTiming;
  readonly logger: Logger;
  readonly keylog: ((entry: KeylogEntry) => void) | undefined;
  /** Claim a NAT in NAT detection so the peer encapsulates ESP in UDP (IkeConnectionOptions). */
  readonly forceEncapsulation: boolean;
}

export function connectionContext(options: IkeConnectionOptions, policy: ProposalPolicy, logger: Logger): ConnectionContext {
  return {
    tunnel: options.tunnel,
    policy,
    psk: options.tunnel.psk,
    localIdentity: identityFrom(options.localId),
    remoteIdentity: options.remoteId === undefined ? undefined : identityFrom(options.remoteId),
    clock: options.clock,
    random: options.random,
    transport: options.transport,
    timing: resolveTiming(options.tunnel, options.timing),
    logger,
    keylog: options.keylog,
    forceEncapsulation: options.forceEncapsulation ?? true,
  };
}
