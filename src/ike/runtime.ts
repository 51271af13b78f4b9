/**
 * What the IKE machinery needs from the outside world, as small interfaces so
 * the protocol logic runs the same against real UDP sockets and a real clock
 * (production, lab) and against in-memory doubles (unit tests: a fake network
 * that drops, duplicates, reorders and delays, and a fake clock).
 */
import type { DhGroupNumber, EncryptionName, IntegrityName } from '../crypto/transforms.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One IKE datagram as the IKE layer sees it: on port 4500 the non-ESP marker is already stripped. */
export interface IkeDatagram {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly data: Buffer;
}

export interface IkeTransport {
  /**
   * Sends one IKE message. `local.port` chooses the socket (500 or 4500); on 4500
   * the transport prepends the four-zero-byte non-ESP marker (RFC 3948 §2.2).
   */
  send(local: Endpoint, remote: Endpoint, data: Buffer): void;
  /** One-byte 0xFF NAT-keepalive on the 4500 socket (RFC 3948 §2.3). */
  sendNatKeepalive(local: Endpoint, remote: Endpoint): void;
  /** Registers the receiver for IKE datagrams (both ports). */
  onDatagram(handler: (datagram: IkeDatagram) => void): void;
  close(): Promise<void>;
}

/** IKE's timers run on the control plane's one clock. */
export type { Clock, TimerHandle } from '../time/clock.js';

/** Cryptographic randomness (SPIs, nonces, fuzz): injectable so tests can make collisions happen. */
export interface RandomSource {
  bytes(length: number): Buffer;
  /** Uniform in [0, 1). */
  fraction(): number;
}

/**
 * A negotiated CHILD SA as handed to the data plane: everything needed to
 * install one ESP-in-UDP SA pair. Keys are Buffers and must never be logged;
 * `describeChildSa` in the IKE code gives the loggable view.
 */
export interface ChildSaInstall {
  /** Stable id of this CHILD SA within its tunnel (for replace/remove). */
  readonly id: number;
  readonly tunnel: 1 | 2;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly encryption: EncryptionName;
  /** Absent for AEAD. */
  readonly integrity?: IntegrityName;
  /** Encryption key material (GCM: key followed by the 4-byte salt). */
  readonly encKeyIn: Buffer;
  readonly encKeyOut: Buffer;
  readonly integKeyIn?: Buffer;
  readonly integKeyOut?: Buffer;
  /** Outer addresses and ports for UDP encapsulation (RFC 3948). */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly replayWindow: number;
  readonly pfsGroup?: DhGroupNumber;
  /** Seconds: rekey at soft, the SA is unusable at hard. */
  readonly softLifetimeSeconds: number;
  readonly hardLifetimeSeconds: number;
  /** Clock.now() when negotiated. */
  readonly createdAt: number;
  readonly initiatedByUs: boolean;
  /** Decrypt on it at once, send on it only after releaseChildSa (the older SA sends meanwhile). */
  readonly holdOutbound?: boolean;
}

/** What an IKE SA reports to whoever owns the tunnel (the data plane, status, tests). */
export interface ChildSaSink {
  /** A new SA pair: install inbound now; switch outbound to it (make-before-break). */
  installChildSa(sa: ChildSaInstall): void;
  /**
   * An SA installed with holdOutbound (inbound only, the older SA still sending) now sends.
   * Only IKEv1 holds (quick mode: the responder installs on QM3, after we may already send).
   */
  releaseChildSa(id: number): void;
  /** An SA pair is gone (deleted, expired, replaced after its grace period). */
  removeChildSa(id: number, reason: string): void;
}
