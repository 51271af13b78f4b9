/** A ChildSaSink that records what the data plane would hold. */
import type { ChildSaInstall, ChildSaSink } from '../../../../../src/ike/runtime.js';

export type SinkEvent =
  | { readonly kind: 'install'; readonly id: number; readonly at: number }
  | { readonly kind: 'remove'; readonly id: number; readonly reason: string; readonly at: number };

export class RecordingSink implements ChildSaSink {
  readonly installed = new Map<number, ChildSaInstall>();
  readonly events: SinkEvent[] = [];
  readonly history: ChildSaInstall[] = [];
  /** The SA outbound traffic uses: the most recently installed one still present. */
  outbound: number | undefined;

  constructor(private readonly now: () => number) {}

  installChildSa(sa: ChildSaInstall): void {
    if (this.installed.has(sa.id)) throw new Error(`IPsec SA ${sa.id} installed twice`);
    this.installed.set(sa.id, sa);
    this.history.push(sa);
    this.outbound = sa.id;
    this.events.push({ kind: 'install', id: sa.id, at: this.now() });
  }

  removeChildSa(id: number, reason: string): void {
    if (!this.installed.has(id)) throw new Error(`IPsec SA ${id} removed but not installed`);
    this.installed.delete(id);
    if (this.outbound === id) this.outbound = [...this.installed.keys()].pop();
    this.events.push({ kind: 'remove', id, reason, at: this.now() });
  }

  get list(): ChildSaInstall[] {
    return [...this.installed.values()];
  }

  only(): ChildSaInstall {
    const list = this.list;
    if (list.length !== 1) throw new Error(`expected one installed IPsec SA, found ${list.length}`);
    return list[0] as ChildSaInstall;
  }

  /** Whether a packet sent on `outbound` of the other side would find an inbound SA here. */
  accepts(spi: number): boolean {
    return this.list.some((s) => s.spiIn === spi);
  }
}
