/** Events an IkeConnection (either version) emits for its owner (tunnel supervisor, status, tests). No keys. */

export interface IkeUpEvent {
  readonly spiI: string;
  readonly spiR: string;
  readonly suite: string;
  /** We were the original initiator of this IKE SA. */
  readonly initiatedByUs: boolean;
  readonly natLocal: boolean;
  readonly natRemote: boolean;
}

export interface IkeDownEvent {
  readonly spiI: string;
  readonly spiR: string;
  /** False when an attempt failed before the IKE SA was established. */
  readonly established: boolean;
  /** Stable error code (e.g. IKE_PEER_UNREACHABLE, IKE_AUTHENTICATION_FAILED). */
  readonly code: string;
  readonly reason: string;
}

export interface IkeRekeyedEvent {
  readonly oldSpiI: string;
  readonly oldSpiR: string;
  readonly spiI: string;
  readonly spiR: string;
  readonly initiatedByUs: boolean;
}

export interface ChildUpEvent {
  readonly id: number;
  readonly spiIn: string;
  readonly spiOut: string;
  readonly suite: string;
  readonly initiatedByUs: boolean;
}

export interface ChildRekeyedEvent extends ChildUpEvent {
  readonly oldId: number;
}

export interface ChildDownEvent {
  readonly id: number;
  readonly reason: string;
}

export interface IkeConnectionEvents {
  'ike-up': [IkeUpEvent];
  'ike-down': [IkeDownEvent];
  'ike-rekeyed': [IkeRekeyedEvent];
  'child-up': [ChildUpEvent];
  'child-rekeyed': [ChildRekeyedEvent];
  'child-down': [ChildDownEvent];
}
