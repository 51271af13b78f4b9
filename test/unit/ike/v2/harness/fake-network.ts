/**
 * Two (or more) hosts wired together in memory. Each host gets an IkeTransport; a datagram
 * sent to an address reaches the transport registered for it.
 *
 *   auto mode    each datagram is delivered after latency + random jitter (so reordering),
 *                dropped or duplicated with the configured probabilities (seeded)
 *   manual mode  datagrams wait in `queue`; the test delivers, delays or drops them one by
 *                one — the collision tests use this to draw exact sequence diagrams
 *
 * A host can be cut off (`setDown`): everything to or from it vanishes, like a dead peer.
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
  readonly manual?: boolean;
}

interface Settings {
  latencyMs: number;
  jitterMs: number;
  dropRate: number;
  duplicateRate: number;
  manual: boolean;
}

export interface InFlightDatagram {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly data: Buffer;
  readonly sentAt: number;
}

export class FakeTransport implements IkeTransport {
  readonly address: string;
  readonly #network: FakeNetwork;
  #handler: ((datagram: IkeDatagram) => void) | undefined;
  readonly sent: InFlightDatagram[] = [];
  keepalives = 0;

  constructor(network: FakeNetwork, address: string) {
    this.#network = network;
    this.address = address;
  }

  /** A crashed host's old transport: sends vanish, nothing is delivered. */
  detached = false;

  send(local: Endpoint, remote: Endpoint, data: Buffer): void {
    if (this.detached) return;
    const datagram: InFlightDatagram = { from: { ...local }, to: { ...remote }, data: Buffer.from(data), sentAt: this.#network.clock.now() };
    this.sent.push(datagram);
    this.#network.route(datagram);
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

  deliver(datagram: InFlightDatagram): void {
    if (this.detached) return;
    this.#handler?.({ local: { ...datagram.to }, remote: { ...datagram.from }, data: Buffer.from(datagram.data) });
  }
}

export class FakeNetwork {
  readonly clock: FakeClock;
  readonly #options: Settings;
  readonly #random: SeededRandom;
  readonly #hosts = new Map<string, FakeTransport>();
  readonly #down = new Set<string>();
  /** Static NAT boxes: inside address → outside address, ports shifted by `portOffset`. */
  readonly #nats: { inside: string; outside: string; portOffset: number }[] = [];
  /** Manual mode: datagrams waiting for the test. */
  readonly queue: InFlightDatagram[] = [];
  delivered = 0;
  dropped = 0;
  /** Drops every datagram this returns true for (one direction, one exchange, …). */
  dropIf: ((datagram: InFlightDatagram) => boolean) | undefined;

  constructor(clock: FakeClock, options: NetworkOptions = {}) {
    this.clock = clock;
    this.#random = new SeededRandom(options.seed ?? 1);
    this.#options = {
      latencyMs: options.latencyMs ?? 5,
      jitterMs: options.jitterMs ?? 0,
      dropRate: options.dropRate ?? 0,
      duplicateRate: options.duplicateRate ?? 0,
      manual: options.manual ?? false,
    };
  }

  transport(address: string): FakeTransport {
    const transport = new FakeTransport(this, address);
    this.#hosts.set(address, transport);
    return transport;
  }

  setManual(manual: boolean): void {
    this.#options.manual = manual;
    if (!manual) for (const d of this.queue.splice(0)) this.#schedule(d);
  }

  setLoss(options: { dropRate?: number; duplicateRate?: number; jitterMs?: number }): void {
    Object.assign(this.#options, options);
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

  route(original: InFlightDatagram): void {
    const nat = this.#nats.find((n) => n.inside === original.from.address);
    const datagram = nat ? { ...original, from: { address: nat.outside, port: original.from.port + nat.portOffset } } : original;
    if (this.#down.has(datagram.from.address) || this.#down.has(datagram.to.address) || this.dropIf?.(datagram)) {
      this.dropped += 1;
      return;
    }
    if (this.#options.manual) {
      this.queue.push(datagram);
      return;
    }
    if (this.#random.fraction() < this.#options.dropRate) {
      this.dropped += 1;
      return;
    }
    this.#schedule(datagram);
    if (this.#random.fraction() < this.#options.duplicateRate) this.#schedule(datagram);
  }

  #schedule(datagram: InFlightDatagram): void {
    const delay = this.#options.latencyMs + this.#random.fraction() * this.#options.jitterMs;
    this.clock.setTimer(delay, () => this.#deliverNow(datagram));
  }

  #deliverNow(datagram: InFlightDatagram): void {
    if (this.#down.has(datagram.from.address) || this.#down.has(datagram.to.address)) {
      this.dropped += 1;
      return;
    }
    const nat = this.#nats.find((n) => n.outside === datagram.to.address);
    const inbound = nat ? { ...datagram, to: { address: nat.inside, port: datagram.to.port - nat.portOffset } } : datagram;
    const host = this.#hosts.get(inbound.to.address);
    if (!host) {
      this.dropped += 1;
      return;
    }
    this.delivered += 1;
    host.deliver(inbound);
  }

  // --- manual mode -------------------------------------------------------------------------

  /** Queued datagrams from `address`, oldest first. */
  pendingFrom(address: string): InFlightDatagram[] {
    return this.queue.filter((d) => d.from.address === address);
  }

  /** Removes and returns the oldest queued datagram from `address` without delivering it. */
  take(address: string): InFlightDatagram {
    const index = this.queue.findIndex((d) => d.from.address === address);
    if (index < 0) throw new Error(`nothing queued from ${address}`);
    return this.queue.splice(index, 1)[0] as InFlightDatagram;
  }

  /** Delivers the oldest queued datagram from `address` now. */
  deliverFrom(address: string): InFlightDatagram {
    const datagram = this.take(address);
    this.#deliverNow(datagram);
    return datagram;
  }

  /** Delivers a datagram taken earlier (a delayed message). */
  deliver(datagram: InFlightDatagram): void {
    this.#deliverNow(datagram);
  }

  /** Delivers everything queued (and whatever that triggers) until the queue is empty. */
  deliverAll(limit = 1000): void {
    for (let i = 0; i < limit && this.queue.length > 0; i++) {
      const datagram = this.queue.shift() as InFlightDatagram;
      this.#deliverNow(datagram);
    }
  }

  /** Drops the oldest queued datagram from `address`. */
  dropFrom(address: string): void {
    this.take(address);
    this.dropped += 1;
  }
}
