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
