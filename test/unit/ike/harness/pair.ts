/**
 * Our initiator ("cgw") against our responder ("aws"), IKEv2 or IKEv1, over a FakeNetwork and
 * the FakeClock, each side with its own seeded RandomSource, RecordingSink, keylog and event
 * log. The version is the first argument everywhere (`new Pair('ikev1', …)`), and
 * `pair.cgw.connection` is that version's connection class.
 */
import { expect } from 'vitest';
import type { TunnelConfig } from '../../../../src/config/model.js';
import type { IkeConnectionOptions, IkeTiming, KeylogEntry } from '../../../../src/ike/index.js';
import type { ChildSaInstall } from '../../../../src/ike/runtime.js';
import { IkeV1Connection } from '../../../../src/ike/v1/index.js';
import { IkeV2Connection } from '../../../../src/ike/v2/index.js';
import { createLogger } from '../../../../src/log/index.js';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { AWS_IP, CGW_IP, tunnelConfig, type IkeVersion } from './config.js';
import { FakeNetwork, type FakeTransport, type NetworkOptions } from './network.js';
import { SeededRandom } from './seeded-random.js';
import { RecordingSink } from './sink.js';

export type ConnectionOf<V extends IkeVersion> = V extends 'ikev1' ? IkeV1Connection : IkeV2Connection;

export interface PeerOptions {
  readonly tunnel?: TunnelConfig;
  readonly role?: 'initiator' | 'responder';
  readonly timing?: Partial<IkeTiming>;
  /** The identity the peer must present (default: the other side's public address). */
  readonly remoteId?: string;
  /** The host's own address (behind a NAT it differs from the one the peer sees). */
  readonly address?: string;
  readonly localId?: string;
  readonly extra?: Partial<IkeConnectionOptions>;
}

export interface PairOptions {
  readonly seed?: number;
  readonly network?: NetworkOptions;
  readonly tunnel?: TunnelConfig;
  readonly timing?: Partial<IkeTiming>;
  readonly cgw?: PeerOptions;
  readonly aws?: PeerOptions;
}

export interface EventRecord {
  readonly name: string;
  readonly at: number;
  readonly data: Record<string, unknown>;
}

interface Made<V extends IkeVersion> {
  readonly sink: RecordingSink;
  readonly transport: FakeTransport;
  readonly connection: ConnectionOf<V>;
}

export class Peer<V extends IkeVersion = IkeVersion> {
  readonly name: 'cgw' | 'aws';
  readonly address: string;
  readonly random: SeededRandom;
  readonly keylog: KeylogEntry[] = [];
  readonly events: EventRecord[] = [];
  sink: RecordingSink;
  transport: FakeTransport;
  connection: ConnectionOf<V>;
  readonly #make: (peer: Peer<V>) => Made<V>;

  constructor(name: 'cgw' | 'aws', address: string, random: SeededRandom, make: (peer: Peer<V>) => Made<V>) {
    this.name = name;
    this.address = address;
    this.random = random;
    this.#make = make;
    const made = make(this);
    this.sink = made.sink;
    this.transport = made.transport;
    this.connection = made.connection;
  }

  /** The host crashes and comes back: all IKE state lost, a fresh data plane, started again. */
  restart(): void {
    this.transport.detached = true;
    this.connection.removeAllListeners();
    const made = this.#make(this);
    this.sink = made.sink;
    this.transport = made.transport;
    this.connection = made.connection;
    this.connection.start();
  }

  count(name: string): number {
    return this.events.filter((e) => e.name === name).length;
  }

  last(name: string): EventRecord | undefined {
    return [...this.events].reverse().find((e) => e.name === name);
  }
}

export class Pair<V extends IkeVersion = IkeVersion> {
  readonly version: V;
  readonly clock = new FakeClock();
  readonly net: FakeNetwork;
  readonly cgw: Peer<V>;
  readonly aws: Peer<V>;

  constructor(version: V, options: PairOptions = {}) {
    this.version = version;
    const seed = options.seed ?? 1;
    this.net = new FakeNetwork(this.clock, { seed, ...options.network });
    const level = (process.env.CGWD_TEST_LOG as 'debug' | 'info' | undefined) ?? 'silent';
    // With CGWD_TEST_LOG=debug|info the log lines go to the console, stamped with fake time.
    const logger = createLogger({ level, output: { write: (line: string) => console.log(`${this.clock.now()} ${line.trim()}`) } });
    const build = (name: 'cgw' | 'aws', publicAddress: string, peerAddress: string, o: PeerOptions = {}, role: 'initiator' | 'responder'): Peer<V> => {
      const address = o.address ?? publicAddress;
      return new Peer<V>(name, address, new SeededRandom(seed * 31 + (name === 'cgw' ? 1 : 2)), (peer) => {
        const sink = new RecordingSink(() => this.clock.now());
        const transport = this.net.transport(address);
        const connectionOptions: IkeConnectionOptions = {
          tunnel: o.tunnel ?? options.tunnel ?? tunnelConfig(version),
          role: o.role ?? role,
          local: { address, port: 500 },
          remote: { address: peerAddress, port: 500 },
          localId: o.localId ?? publicAddress,
          remoteId: o.remoteId ?? peerAddress,
          transport,
          clock: this.clock,
          random: peer.random,
          sink,
          logger: logger.child({ peer: name }),
          timing: { ...options.timing, ...o.timing },
          keylog: (entry) => peer.keylog.push(entry),
          ...o.extra,
        };
        const connection = (version === 'ikev1' ? new IkeV1Connection(connectionOptions) : new IkeV2Connection(connectionOptions)) as ConnectionOf<V>;
        for (const event of ['ike-up', 'ike-down', 'ike-rekeyed', 'child-up', 'child-rekeyed', 'child-down'] as const) {
          connection.on(event, (data: object) => peer.events.push({ name: event, at: this.clock.now(), data: { ...data } }));
        }
        return { sink, transport, connection };
      });
    };
    this.cgw = build('cgw', CGW_IP, AWS_IP, options.cgw, 'initiator');
    this.aws = build('aws', AWS_IP, CGW_IP, options.aws, 'responder');
  }

  start(): this {
    this.aws.connection.start();
    this.cgw.connection.start();
    return this;
  }

  run(ms: number): this {
    this.clock.advance(ms);
    return this;
  }

  /** Runs until both sides hold one CHILD SA (or throws after `limitMs`). */
  establish(limitMs = 10_000): this {
    this.start();
    for (let t = 0; t < limitMs; t += 10) {
      this.clock.advance(10);
      const sending = (s: RecordingSink): boolean => s.installed.size === 1 && s.outbound !== undefined;
      if (sending(this.cgw.sink) && sending(this.aws.sink)) return this;
    }
    throw new Error(`not established after ${limitMs} ms: cgw ${this.cgw.connection.state}, aws ${this.aws.connection.state}`);
  }
}

/**
 * Advances time in small steps until both data planes hold exactly one SA and those mirror
 * each other (a replaced SA lingers for its grace period, so "right now" may show two) and no
 * exchange is in flight on the current IKE SAs.
 */
export function settle(pair: Pair, limitMs = 60_000): void {
  for (let waited = 0; waited <= limitMs; waited += 100) {
    const a = pair.cgw.sink.list;
    const b = pair.aws.sink.list;
    const idle = [pair.cgw, pair.aws].every((p) => p.connection.status().ikeSas.every((sa) => !sa.current || sa.activeTask === undefined));
    if (idle && a.length === 1 && b.length === 1 && a[0]?.spiIn === b[0]?.spiOut && a[0]?.spiOut === b[0]?.spiIn) return;
    pair.clock.advance(100);
  }
  throw new Error(`no single mirrored CHILD SA pair within ${limitMs} ms: cgw [${pair.cgw.sink.list.map((s) => s.id)}], aws [${pair.aws.sink.list.map((s) => s.id)}]`);
}

/** Both sides hold exactly one CHILD SA and they mirror each other (SPIs and keys swapped). */
export function expectMirrored(pair: Pair): { cgw: ChildSaInstall; aws: ChildSaInstall } {
  const cgw = pair.cgw.sink.only();
  const aws = pair.aws.sink.only();
  expectPairMirrors(cgw, aws);
  return { cgw, aws };
}

export function expectPairMirrors(cgw: ChildSaInstall, aws: ChildSaInstall): void {
  expect(cgw.spiIn).toBe(aws.spiOut);
  expect(cgw.spiOut).toBe(aws.spiIn);
  expect(cgw.encryption).toBe(aws.encryption);
  expect(cgw.integrity).toBe(aws.integrity);
  expect(cgw.encKeyIn.equals(aws.encKeyOut)).toBe(true);
  expect(cgw.encKeyOut.equals(aws.encKeyIn)).toBe(true);
  expect(cgw.encKeyIn.equals(cgw.encKeyOut)).toBe(false);
  if (cgw.integrity) {
    expect(cgw.integKeyIn?.equals(aws.integKeyOut as Buffer)).toBe(true);
    expect(cgw.integKeyOut?.equals(aws.integKeyIn as Buffer)).toBe(true);
  }
  expect(cgw.local).toEqual(aws.remote);
  expect(cgw.remote).toEqual(aws.local);
}

/** Request/response message IDs agree across the two current IKE SAs (IKEv2 only, RFC 7296 §2.2). */
export function expectWindowsInSync(pair: Pair<'ikev2'>): void {
  const a = pair.cgw.connection.status().ikeSas.find((s) => s.current);
  const b = pair.aws.connection.status().ikeSas.find((s) => s.current);
  expect(a && b, 'both sides have a current IKE SA').toBeTruthy();
  if (!a || !b) return;
  expect(a.spiI).toBe(b.spiI);
  expect(a.activeTask).toBeUndefined();
  expect(b.activeTask).toBeUndefined();
  expect(a.nextRequestId).toBe(b.expectedRequestId);
  expect(b.nextRequestId).toBe(a.expectedRequestId);
}

export type IkeKeylog = Extract<KeylogEntry, { kind: 'ike' }>;

/** The keylog entry of `peer`'s current IKE SA (ISAKMP SA). */
export function currentIkeKeys(peer: Peer): IkeKeylog | undefined {
  const sa = peer.connection.status().ikeSas.find((s) => s.current);
  return [...peer.keylog].reverse().find((e): e is IkeKeylog => e.kind === 'ike' && e.spiI === sa?.spiI && e.spiR === sa?.spiR);
}

/** Both sides derived the same keys for their current IKE SA (the same SA on both sides). */
export function expectSameIkeKeys(pair: Pair): void {
  const a = currentIkeKeys(pair.cgw);
  const b = currentIkeKeys(pair.aws);
  expect(a && b, 'both sides have a current IKE SA with logged keys').toBeTruthy();
  if (!a || !b) return;
  expect(a.spiI).toBe(b.spiI);
  expect(a.spiR).toBe(b.spiR);
  expect(a.suite).toEqual(b.suite);
  expect(a.originalInitiator).not.toBe(b.originalInitiator);
  for (const key of ['skD', 'skAi', 'skAr', 'skEi', 'skEr', 'skPi', 'skPr'] as const) {
    expect(a.keys[key].equals(b.keys[key]), key).toBe(true);
  }
}

export { AWS_IP, CGW_IP };
