/**
 * One CHILD SA (an ESP SA pair) as the IKE layer tracks it.
 *
 *   installed ──(we start a rekey)──► rekeying ──(our rekey done, we won)──► deleting ──► deleted
 *       │                                │                                                ▲
 *       │                                └─(peer's collision SA won / peer rekeyed it)─► rekeyed
 *       ├─(peer rekeyed it)──────────────────────────────────────────────────────────► rekeyed ──(peer's D)─┘
 *       └─(we delete it)────────────────────────────────────────────────────────────► deleting ─(answer)─┘
 *
 * `handedToSink` says whether the data plane knows the SA: a redundant SA from a lost rekey
 * collision is never installed (its initiator deletes it at once, RFC 7296 §2.8.1), so the
 * outbound path stays on the surviving SA.
 */
import { KeysReleasedError } from '../../errors.js';
import type { TimerHandle } from '../../runtime.js';
import type { ChildKeys } from '../crypto/keys.js';
import type { ChildSuite } from '../../proposals/suites.js';

export type ChildSaState = 'installed' | 'rekeying' | 'rekeyed' | 'deleting' | 'deleted';

export interface ChildSaParams {
  readonly id: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: ChildSuite;
  readonly keys: ChildKeys;
  /** We initiated the exchange that created it. */
  readonly initiatedByUs: boolean;
  /** Nonces of that exchange (initiator's, responder's): the §2.8.1 tie-break needs them. */
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly createdAt: number;
}

export class ChildSa {
  readonly id: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: ChildSuite;
  readonly initiatedByUs: boolean;
  readonly nonceI: Buffer;
  readonly nonceR: Buffer;
  readonly createdAt: number;
  #keys: ChildKeys | undefined;
  state: ChildSaState = 'installed';
  handedToSink = false;
  rekeyAt: number | undefined;
  expiresAt: number | undefined;
  /** The SA this one replaced, if it came from a rekey. */
  replacedId: number | undefined;
  readonly timers = new Set<TimerHandle>();

  constructor(params: ChildSaParams) {
    this.id = params.id;
    this.spiIn = params.spiIn;
    this.spiOut = params.spiOut;
    this.suite = params.suite;
    this.#keys = params.keys;
    this.initiatedByUs = params.initiatedByUs;
    this.nonceI = params.nonceI;
    this.nonceR = params.nonceR;
    this.createdAt = params.createdAt;
  }

  /** Keys by direction: the exchange initiator sends with the "i" keys (RFC 7296 §2.17). */
  get directionalKeys(): { encIn: Buffer; encOut: Buffer; integIn: Buffer | undefined; integOut: Buffer | undefined } {
    const k = this.#keys;
    if (!k) throw new KeysReleasedError(this.id);
    return this.initiatedByUs
      ? { encOut: k.encI, integOut: k.integI, encIn: k.encR, integIn: k.integR }
      : { encOut: k.encR, integOut: k.integR, encIn: k.encI, integIn: k.integI };
  }

  /** After the data plane has the keys: the IKE side keeps none (ChildLedger.install). */
  releaseKeys(): void {
    this.#keys = undefined;
  }

  /** Still carrying traffic (not replaced, not being deleted). */
  get isLive(): boolean {
    return this.state === 'installed' || this.state === 'rekeying';
  }

  cancelTimers(): void {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, spiIn: this.spiIn.toString(16), spiOut: this.spiOut.toString(16), state: this.state };
  }
}
