/** The loggable snapshot an IkeConnection's status() returns: SPIs as hex, suite names, times, counters — never keys. */
import type { DropReason } from '../drop-reasons.js';

export type ConnectionState = 'idle' | 'connecting' | 'established' | 'waiting' | 'backoff' | 'stopping' | 'stopped';

export interface ChildSaStatus {
  readonly id: number;
  readonly state: string;
  readonly spiIn: string;
  readonly spiOut: string;
  readonly suite: string;
  readonly initiatedByUs: boolean;
  readonly installed: boolean;
  readonly createdAt: number;
  readonly rekeyAt: number | undefined;
  readonly expiresAt: number | undefined;
}

export interface IkeSaStatus {
  readonly spiI: string;
  readonly spiR: string;
  readonly state: string;
  readonly originalInitiator: boolean;
  readonly current: boolean;
  readonly suite: string | undefined;
  readonly local: string;
  readonly remote: string;
  readonly natLocal: boolean;
  readonly natRemote: boolean;
  readonly establishedAt: number | undefined;
  readonly rekeyAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly nextRequestId: number;
  readonly expectedRequestId: number;
  readonly activeTask: string | undefined;
  readonly queuedTasks: readonly string[];
  readonly retransmissions: number;
  readonly children: readonly ChildSaStatus[];
}

export interface ConnectionCounters {
  readonly drops: Readonly<Partial<Record<DropReason, number>>>;
  readonly retransmittedRequests: number;
  readonly cachedResponsesResent: number;
  readonly ikeSasEstablished: number;
  readonly ikeRekeys: number;
  readonly childRekeys: number;
  readonly childRekeyCollisions: number;
  readonly ikeRekeyCollisions: number;
  readonly reconnects: number;
}

export interface ConnectionStatus {
  readonly tunnel: number;
  readonly role: 'initiator' | 'responder';
  readonly state: ConnectionState;
  readonly local: string;
  readonly remote: string;
  readonly ikeSas: readonly IkeSaStatus[];
  readonly reconnect: { readonly attempts: number; readonly nextAttemptAt: number | undefined };
  readonly lastError: { readonly code: string; readonly reason: string; readonly at: number } | undefined;
  readonly counters: ConnectionCounters;
}

/** An endpoint as status shows it: address:port. */
export function formatEndpoint(endpoint: { readonly address: string; readonly port: number }): string {
  return `${endpoint.address}:${endpoint.port}`;
}

/** What status reads of an SA the same way in both versions (IKEv2 IkeSa, IKEv1 IsakmpSa). */
export interface StatusOfSa {
  readonly state: string;
  readonly originalInitiator: boolean;
  readonly local: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string; readonly port: number };
  readonly natLocal: boolean;
  readonly natRemote: boolean;
  readonly establishedAt: number | undefined;
  readonly rekeyAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly retransmissions: number;
}

/** One IKE SA's status: the common fields of `sa` and the version's own. */
export function ikeSaStatus(
  sa: StatusOfSa,
  own: Pick<IkeSaStatus, 'spiI' | 'spiR' | 'current' | 'suite' | 'nextRequestId' | 'expectedRequestId' | 'activeTask' | 'queuedTasks' | 'children'>,
): IkeSaStatus {
  return {
    spiI: own.spiI,
    spiR: own.spiR,
    state: sa.state,
    originalInitiator: sa.originalInitiator,
    current: own.current,
    suite: own.suite,
    local: formatEndpoint(sa.local),
    remote: formatEndpoint(sa.remote),
    natLocal: sa.natLocal,
    natRemote: sa.natRemote,
    establishedAt: sa.establishedAt,
    rekeyAt: sa.rekeyAt,
    expiresAt: sa.expiresAt,
    nextRequestId: own.nextRequestId,
    expectedRequestId: own.expectedRequestId,
    activeTask: own.activeTask,
    queuedTasks: own.queuedTasks,
    retransmissions: sa.retransmissions,
    children: own.children,
  };
}

/** What status reads of a CHILD SA (IKEv2 ChildSa, IKEv1 IpsecSa). */
export interface StatusOfChild {
  readonly id: number;
  readonly state: string;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly initiatedByUs: boolean;
  readonly handedToSink: boolean;
  readonly createdAt: number;
  readonly rekeyAt: number | undefined;
  readonly expiresAt: number | undefined;
}

/** One CHILD SA's status; `suite` as describeChildSuite names it. */
export function childSaStatus(child: StatusOfChild, suite: string): ChildSaStatus {
  return {
    id: child.id,
    state: child.state,
    spiIn: spiText(child.spiIn),
    spiOut: spiText(child.spiOut),
    suite,
    initiatedByUs: child.initiatedByUs,
    installed: child.handedToSink,
    createdAt: child.createdAt,
    rekeyAt: child.rekeyAt,
    expiresAt: child.expiresAt,
  };
}

/** A 32-bit ESP SPI as status, events and logs show it: eight hex digits. */
export function spiText(spi: number): string {
  return (spi >>> 0).toString(16).padStart(8, '0');
}
