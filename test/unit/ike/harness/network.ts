/**
 * Hosts wired together in memory. Each host gets an IkeTransport; a datagram sent to an
 * address reaches the transport registered for it.
 *
 *   auto mode    each datagram is delivered after latency + random jitter (so reordering),
 *                dropped or duplicated with the configured probabilities (seeded)
 *   manual mode  datagrams wait in `queue`; the test delivers, delays or drops them one by
 *                one — the collision tests use this to draw exact sequence diagrams
 *
 * A host can be cut off (`setDown`: everything to or from it vanishes, like a dead peer) or put
 * behind a NAT that rewrites its address and ports; a test can drop (`dropIf`) or rewrite
 * (`mutate`, an on-path attacker) datagrams in flight. Everything delivered is kept in
 * `delivered`, as the receiver saw it (after the NAT).
 */
import type { Endpoint, IkeDatagram, IkeTransport } from '../../../../src/ike/runtime.js';
import type { FakeClock } from '../../../helpers/fake-clock.js';
import { SeededRandom } from './seeded-random.js';

export interface NetworkOptions {
  readonly seed?: number;
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly dropRate?: number;
  readonly duplicateRate?: number;
  readonly manual?: boolean;
}

/** One datagram on the fake wire. */
export interface Wire {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly data: Buffer;
  readonly sentAt: number;
}

export class FakeTransport implements IkeTransport {
  readonly address: string;
  readonly #network: FakeNetwork;
  #handler: ((datagram: IkeDatagram) => void) | undefined;
  readonly sent: Wire[] = [];
  keepalives = 0;
  /** A crashed host's old transport: sends vanish, nothing is delivered. */
  detached = false;

  constructor(network: FakeNetwork, address: string) {
    this.#network = network;
    this.address = address;
  }

  send(local: Endpoint, remote: Endpoint, data: Buffer): void {
    if (this.detached) return;
    const wire: Wire = { from: { ...local }, to: { ...remote }, data: Buffer.from(data), sentAt: this.#network.clock.now() };
    this.sent.push(wire);
    this.#network.route(wire);
  }

  sendNatKeepalive(): void {
    this.keepalives += 1;
  }

  onDatagram(handler: (datagram: IkeDatagram) => void): void {
    this.#handler = handler;
  }

  close(): Promise<void> {
    this.#handler = undefined;
    return Promise.resolve();
  }

  deliver(wire: Wire): void {
    if (this.detached) return;
    this.#handler?.({ local: { ...wire.to }, remote: { ...wire.from }, data: Buffer.from(wire.data) });
  }
}

export class FakeNetwork {
  readonly clock: FakeClock;
  readonly #random: SeededRandom;
  readonly #hosts = new Map<string, FakeTransport>();
  readonly #down = new Set<string>();
  /** Static NAT boxes: inside address → outside address, ports shifted by `portOffset`. */
  readonly #nats: { inside: string; outside: string; portOffset: number }[] = [];
  latencyMs: number;
  jitterMs: number;
  dropRate: number;
  duplicateRate: number;
  #manual: boolean;
  /** Manual mode: datagrams waiting for the test. */
  readonly queue: Wire[] = [];
  /** Every datagram delivered, in delivery order, as its receiver saw it. */
  readonly delivered: Wire[] = [];
  dropped = 0;
  /** Drops every datagram this returns true for (one direction, one exchange, …). */
  dropIf: ((wire: Wire) => boolean) | undefined;
  /** Rewrites a datagram in flight (an on-path attacker, a header bit flipped). */
  mutate: ((wire: Wire) => Wire) | undefined;

  constructor(clock: FakeClock, options: NetworkOptions = {}) {
    this.clock = clock;
    this.#random = new SeededRandom(options.seed ?? 1);
    this.latencyMs = options.latencyMs ?? 5;
    this.jitterMs = options.jitterMs ?? 0;
    this.dropRate = options.dropRate ?? 0;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.#manual = options.manual ?? false;
  }

  transport(address: string): FakeTransport {
    const transport = new FakeTransport(this, address);
    this.#hosts.set(address, transport);
    return transport;
  }

  setManual(manual: boolean): void {
    this.#manual = manual;
    if (!manual) for (const wire of this.queue.splice(0)) this.#schedule(wire);
  }

  setLoss(options: { dropRate?: number; duplicateRate?: number; jitterMs?: number }): void {
    if (options.dropRate !== undefined) this.dropRate = options.dropRate;
    if (options.duplicateRate !== undefined) this.duplicateRate = options.duplicateRate;
    if (options.jitterMs !== undefined) this.jitterMs = options.jitterMs;
  }

  /** Cuts a host off (true) or reconnects it (false). */
  setDown(address: string, down: boolean): void {
    if (down) this.#down.add(address);
    else this.#down.delete(address);
  }

  /** Puts `inside` behind a NAT that shows it as `outside` with every port shifted by `portOffset`. */
  addNat(inside: string, outside: string, portOffset: number): void {
    this.#nats.push({ inside, outside, portOffset });
  }

  /** The NAT forgets its mappings and makes new ones (NAT rebinding): `inside` gets a new port offset. */
  rebindNat(inside: string, portOffset: number): void {
    const nat = this.#nats.find((n) => n.inside === inside);
    if (nat) nat.portOffset = portOffset;
  }

  route(original: Wire): void {
    const nat = this.#nats.find((n) => n.inside === original.from.address);
    let wire = nat ? { ...original, from: { address: nat.outside, port: original.from.port + nat.portOffset } } : original;
    if (this.mutate) wire = this.mutate(wire);
    if (this.#down.has(wire.from.address) || this.#down.has(wire.to.address) || this.dropIf?.(wire)) {
      this.dropped += 1;
      return;
    }
    if (this.#manual) {
      this.queue.push(wire);
      return;
    }
    if (this.#random.fraction() < this.dropRate) {
      this.dropped += 1;
      return;
    }
    this.#schedule(wire);
    if (this.#random.fraction() < this.duplicateRate) this.#schedule(wire);
  }

  #schedule(wire: Wire): void {
    const delay = this.latencyMs + this.#random.fraction() * this.jitterMs;
    this.clock.setTimer(delay, () => this.#deliverNow(wire));
  }

  #deliverNow(wire: Wire): void {
    if (this.#down.has(wire.from.address) || this.#down.has(wire.to.address)) {
      this.dropped += 1;
      return;
    }
    const nat = this.#nats.find((n) => n.outside === wire.to.address);
    const inbound = nat ? { ...wire, to: { address: nat.inside, port: wire.to.port - nat.portOffset } } : wire;
    const host = this.#hosts.get(inbound.to.address);
    if (!host) {
      this.dropped += 1;
      return;
    }
    this.delivered.push(inbound);
    host.deliver(inbound);
  }

  // --- manual mode -------------------------------------------------------------------------

  /** Queued datagrams from `address`, oldest first. */
  pendingFrom(address: string): Wire[] {
    return this.queue.filter((w) => w.from.address === address);
  }

  /** Removes and returns the oldest queued datagram from `address` without delivering it. */
  take(address: string): Wire {
    const index = this.queue.findIndex((w) => w.from.address === address);
    if (index < 0) throw new Error(`nothing queued from ${address}`);
    return this.queue.splice(index, 1)[0] as Wire;
  }

  /** Delivers the oldest queued datagram from `address` now. */
  deliverFrom(address: string): Wire {
    const wire = this.take(address);
    this.#deliverNow(wire);
    return wire;
  }

  /** Delivers a datagram taken earlier (a delayed message). */
  deliver(wire: Wire): void {
    this.#deliverNow(wire);
  }

  /** Delivers everything queued (and whatever that triggers) until the queue is empty. */
  deliverAll(limit = 1000): void {
    for (let i = 0; i < limit && this.queue.length > 0; i++) {
      const wire = this.queue.shift() as Wire;
      this.#deliverNow(wire);
    }
  }

  /** Drops the oldest queued datagram from `address`. */
  dropFrom(address: string): void {
    this.take(address);
    this.dropped += 1;
  }
}
