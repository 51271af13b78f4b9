/** A ChildSaSink that records what the data plane would hold. */
import type { ChildSaInstall, ChildSaSink } from '../../../../src/ike/runtime.js';

export type SinkEvent =
  | { readonly kind: 'install'; readonly id: number; readonly at: number }
  | { readonly kind: 'release'; readonly id: number; readonly at: number }
  | { readonly kind: 'remove'; readonly id: number; readonly reason: string; readonly at: number };

export class RecordingSink implements ChildSaSink {
  readonly installed = new Map<number, ChildSaInstall>();
  readonly events: SinkEvent[] = [];
  /** Every SA ever installed, in order. */
  readonly history: ChildSaInstall[] = [];
  /** The SA outbound traffic would use: the most recently installed one still present and not held. */
  outbound: number | undefined;
  readonly #held = new Set<number>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  installChildSa(sa: ChildSaInstall): void {
    if (this.installed.has(sa.id)) throw new Error(`CHILD SA ${sa.id} installed twice`);
    this.installed.set(sa.id, sa);
    this.history.push(sa);
    if (sa.holdOutbound) this.#held.add(sa.id);
    else this.outbound = sa.id;
    this.events.push({ kind: 'install', id: sa.id, at: this.#now() });
  }

  releaseChildSa(id: number): void {
    if (!this.installed.has(id)) throw new Error(`CHILD SA ${id} released but not installed`);
    this.#held.delete(id);
    this.#pickOutbound();
    this.events.push({ kind: 'release', id, at: this.#now() });
  }

  #pickOutbound(): void {
    this.outbound = [...this.installed.keys()].filter((id) => !this.#held.has(id)).pop();
  }

  removeChildSa(id: number, reason: string): void {
    if (!this.installed.has(id)) throw new Error(`CHILD SA ${id} removed but not installed`);
    this.installed.delete(id);
    this.#held.delete(id);
    if (this.outbound === id) this.#pickOutbound();
    this.events.push({ kind: 'remove', id, reason, at: this.#now() });
  }

  get list(): ChildSaInstall[] {
    return [...this.installed.values()];
  }

  /** The one installed SA; throws unless exactly one is installed. */
  only(): ChildSaInstall {
    const list = this.list;
    if (list.length !== 1) throw new Error(`expected exactly one installed CHILD SA, found ${list.length}: ${list.map((s) => s.id).join(', ')}`);
    return list[0] as ChildSaInstall;
  }

  /** Whether a packet sent on `outbound` of the other side would find an inbound SA here. */
  accepts(spi: number): boolean {
    return this.list.some((s) => s.spiIn === spi);
  }
}
