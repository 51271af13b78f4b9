/**
 * Hosts wired together in memory. A datagram sent to an address reaches the transport registered
 * for it after latency + random jitter (so reordering), unless dropped or duplicated with the
 * configured probabilities (seeded) or filtered by the test. A host can be cut off (setDown) or
 * put behind a NAT that rewrites its source address and port.
 */
import type { Endpoint, IkeDatagram, IkeTransport } from '../../../../../src/ike/runtime.js';
import type { FakeClock } from '../../../../helpers/fake-clock.js';
import { SeededRandom } from './seeded-random.js';

export interface NetworkOptions {
  readonly seed?: number;
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly dropRate?: number;
  readonly duplicateRate?: number;
}

export interface Wire {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly data: Buffer;
  readonly at: number;
}

export class FakeTransport implements IkeTransport {
  readonly sent: Wire[] = [];
  keepalives = 0;
  detached = false;
  #handler: ((d: IkeDatagram) => void) | undefined;

  constructor(
    private readonly network: FakeNetwork,
    readonly address: string,
  ) {}

  send(local: Endpoint, remote: Endpoint, data: Buffer): void {
    if (this.detached) return;
    const wire: Wire = { from: { ...local }, to: { ...remote }, data: Buffer.from(data), at: this.network.clock.now() };
    this.sent.push(wire);
    this.network.route(wire);
  }

  sendNatKeepalive(): void {
    this.keepalives += 1;
  }

  onDatagram(handler: (d: IkeDatagram) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    this.#handler = undefined;
    return Promise.resolve();
  }

  deliver(wire: Wire): void {
    if (!this.detached) this.#handler?.({ local: { ...wire.to }, remote: { ...wire.from }, data: Buffer.from(wire.data) });
  }
}

export class FakeNetwork {
  readonly #hosts = new Map<string, FakeTransport>();
  readonly #down = new Set<string>();
  readonly #nats: { inside: string; outside: string; portOffset: number }[] = [];
  readonly #random: SeededRandom;
  latencyMs: number;
  jitterMs: number;
  dropRate: number;
  duplicateRate: number;
  dropped = 0;
  /** Return true to drop a datagram (after NAT rewriting). */
  dropIf: ((wire: Wire) => boolean) | undefined;
  /** Rewrites a datagram in flight (an on-path attacker, a header bit flipped). */
  mutate: ((wire: Wire) => Wire) | undefined;
  /** Every datagram delivered, in delivery order. */
  readonly delivered: Wire[] = [];

  constructor(
    readonly clock: FakeClock,
    options: NetworkOptions = {},
  ) {
    this.#random = new SeededRandom(options.seed ?? 7);
    this.latencyMs = options.latencyMs ?? 5;
    this.jitterMs = options.jitterMs ?? 0;
    this.dropRate = options.dropRate ?? 0;
    this.duplicateRate = options.duplicateRate ?? 0;
  }

  transport(address: string): FakeTransport {
    const t = new FakeTransport(this, address);
    this.#hosts.set(address, t);
    return t;
  }

  setDown(address: string, down: boolean): void {
    if (down) this.#down.add(address);
    else this.#down.delete(address);
  }

  /** `inside` appears as `outside`, ports shifted by `portOffset` (a NAT in front of it). */
  addNat(inside: string, outside: string, portOffset: number): void {
    this.#nats.push({ inside, outside, portOffset });
  }

  route(original: Wire): void {
    const snat = this.#nats.find((n) => n.inside === original.from.address);
    const dnat = this.#nats.find((n) => n.outside === original.to.address);
    let wire = original;
    if (snat) wire = { ...wire, from: { address: snat.outside, port: wire.from.port + snat.portOffset } };
    if (dnat) wire = { ...wire, to: { address: dnat.inside, port: wire.to.port - dnat.portOffset } };
    if (this.mutate) wire = this.mutate(wire);
    if (this.#down.has(original.from.address) || this.#down.has(wire.to.address) || this.dropIf?.(wire) || this.#random.fraction() < this.dropRate) {
      this.dropped += 1;
      return;
    }
    const copies = this.#random.fraction() < this.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.latencyMs + (this.jitterMs > 0 ? this.#random.fraction() * this.jitterMs : 0);
      this.clock.setTimer(delay, () => {
        if (this.#down.has(wire.to.address)) return;
        this.delivered.push(wire);
        this.#hosts.get(wire.to.address)?.deliver(wire);
      });
    }
  }
}
