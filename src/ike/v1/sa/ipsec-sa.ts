/**
 * One IPsec SA pair negotiated in quick mode, as the connection tracks it. In IKEv1 an IPsec SA
 * does not belong to the ISAKMP SA that negotiated it (RFC 2409 §5.5: phase 2 only needs some
 * ISAKMP SA for its next rekey or delete), so the connection owns these and any current ISAKMP
 * SA rekeys or deletes them.
 *
 *   installed ──(our quick mode starts)──► rekeying ──(new SA up)──► rekeyed ──(Delete/grace)──► deleted
 *       │                                     └─(quick mode failed)──► installed
 *       ├─(the peer's quick mode replaced it)──────────────────────────► rekeyed ──► deleted
 *       └─(deleted by either side, hard lifetime)──────────────────────────────────► deleted
 *
 * `handedToSink` says whether the data plane holds it: the redundant SA of a rekey collision is
 * never installed.
 */
import { KeysReleasedError } from '../../errors.js';
import type { DirectionalKeys } from '../../connection/child-ledger.js';
import type { Endpoint, TimerHandle } from '../../runtime.js';
import type { Phase2Suite } from '../proposals.js';
import type { SaSchedule } from '../../timing.js';

export type IpsecSaState = 'installed' | 'rekeying' | 'rekeyed' | 'deleting' | 'deleted';

export interface IpsecSaParams {
  readonly id: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: Phase2Suite;
  readonly keys: DirectionalKeys;
  readonly initiatedByUs: boolean;
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly createdAt: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** The live SA when the quick mode that made this one started: what it replaces. */
  readonly replaces: IpsecSa | undefined;
}

export class IpsecSa {
  readonly id: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: Phase2Suite;
  readonly initiatedByUs: boolean;
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly createdAt: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly replaces: IpsecSa | undefined;
  #keys: DirectionalKeys | undefined;
  state: IpsecSaState = 'installed';
  handedToSink = false;
  rekeyAt: number | undefined;
  expiresAt: number | undefined;
  /** Its rekey and hard times, fixed when it first goes to the data plane. */
  schedule: SaSchedule | undefined;
  readonly timers = new Set<TimerHandle>();

  constructor(p: IpsecSaParams) {
    this.id = p.id;
    this.spiIn = p.spiIn;
    this.spiOut = p.spiOut;
    this.suite = p.suite;
    this.#keys = p.keys;
    this.initiatedByUs = p.initiatedByUs;
    this.nonceI = p.nonceI;
    this.nonceR = p.nonceR;
    this.createdAt = p.createdAt;
    this.local = p.local;
    this.remote = p.remote;
    this.replaces = p.replaces;
  }

  /** KEYMAT by direction: our inbound SA uses our SPI (RFC 2409 §5.5). */
  get directionalKeys(): DirectionalKeys {
    if (!this.#keys) throw new KeysReleasedError(this.id);
    return this.#keys;
  }

  /** After the data plane has the keys: the IKE side keeps none (ChildLedger.install). */
  releaseKeys(): void {
    this.#keys = undefined;
  }

  /** Still carrying traffic (not replaced, not being deleted). */
  get isLive(): boolean {
    return this.state === 'installed' || this.state === 'rekeying';
  }

  /** The lower of the exchange's two nonces: the tie-break key of a rekey collision. */
  get lowestNonce(): Buffer {
    return Buffer.compare(this.nonceI, this.nonceR) <= 0 ? this.nonceI : this.nonceR;
  }

  cancelTimers(): void {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, spiIn: this.spiIn.toString(16), spiOut: this.spiOut.toString(16), state: this.state };
  }
}
