/**
 * Our initiator ("cgw") against our responder ("aws") over a FakeNetwork and a FakeClock, each
 * with its own seeded RandomSource, RecordingSink, keylog and event log.
 */
import { expect } from 'vitest';
import { createLogger } from '../../../../../src/log/index.js';
import type { TunnelConfig } from '../../../../../src/config/model.js';
import type { ChildSaInstall } from '../../../../../src/ike/runtime.js';
import type { IkeConnectionOptions, KeylogEntry } from '../../../../../src/ike/index.js';
import { IkeV2Connection } from '../../../../../src/ike/v2/index.js';
import type { IkeTiming } from '../../../../../src/ike/timing.js';
import { FakeClock } from '../../../../helpers/fake-clock.js';
import { FakeNetwork, type FakeTransport, type NetworkOptions } from './fake-network.js';
import { SeededRandom } from './seeded-random.js';
import { RecordingSink } from './sink.js';
import { AWS_IP, CGW_IP, tunnelConfig } from './config.js';

export interface PeerOptions {
  readonly tunnel?: TunnelConfig;
  readonly role?: 'initiator' | 'responder';
  readonly timing?: Partial<IkeTiming>;
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
  readonly data: unknown;
}

export class Peer {
  readonly name: string;
  readonly address: string;
  readonly random: SeededRandom;
  readonly keylog: KeylogEntry[] = [];
  readonly events: EventRecord[] = [];
  sink: RecordingSink;
  transport: FakeTransport;
  connection: IkeV2Connection;
  readonly #make: (peer: Peer) => { sink: RecordingSink; transport: FakeTransport; connection: IkeV2Connection };

  constructor(name: string, address: string, random: SeededRandom, make: (peer: Peer) => { sink: RecordingSink; transport: FakeTransport; connection: IkeV2Connection }) {
    this.name = name;
    this.address = address;
    this.random = random;
    this.#make = make;
    const made = make(this);
    this.sink = made.sink;
    this.transport = made.transport;
    this.connection = made.connection;
  }

  /** The peer crashes and comes back: all IKE state lost, a fresh data plane, started again. */
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
}

export class Pair {
  readonly clock = new FakeClock();
  readonly net: FakeNetwork;
  readonly cgw: Peer;
  readonly aws: Peer;

  constructor(options: PairOptions = {}) {
    const seed = options.seed ?? 1;
    this.net = new FakeNetwork(this.clock, { seed, ...options.network });
    const level = (process.env.CGWD_TEST_LOG as 'debug' | undefined) ?? 'silent';
    // With CGWD_TEST_LOG=debug|info the log lines go to the console, stamped with fake time.
    const logger = createLogger({ level, output: { write: (line: string) => console.log(`${this.clock.now()} ${line.trim()}`) } });
    const build = (name: 'cgw' | 'aws', publicAddress: string, peerAddress: string, peerOptions: PeerOptions = {}, defaultRole: 'initiator' | 'responder') => {
      const address = peerOptions.address ?? publicAddress;
      const random = new SeededRandom(seed * 31 + (name === 'cgw' ? 1 : 2));
      return new Peer(name, address, random, (peer) => {
        const sink = new RecordingSink(() => this.clock.now());
        const transport = this.net.transport(address);
        const connection = new IkeV2Connection({
          tunnel: peerOptions.tunnel ?? options.tunnel ?? tunnelConfig(),
          role: peerOptions.role ?? defaultRole,
          local: { address, port: 500 },
          remote: { address: peerAddress, port: 500 },
          localId: peerOptions.localId ?? publicAddress,
          ...(peerOptions.remoteId !== undefined ? { remoteId: peerOptions.remoteId } : name === 'aws' ? { remoteId: CGW_IP } : {}),
          transport,
          clock: this.clock,
          random,
          sink,
          logger: logger.child({ peer: name }),
          timing: { ...options.timing, ...peerOptions.timing },
          keylog: (entry) => peer.keylog.push(entry),
          ...peerOptions.extra,
        });
        for (const event of ['ike-up', 'ike-down', 'ike-rekeyed', 'child-up', 'child-rekeyed', 'child-down'] as const) {
          connection.on(event, (data: unknown) => peer.events.push({ name: event, at: this.clock.now(), data }));
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

  /** Runs until both sides have one CHILD SA installed (or fails after `limitMs`). */
  establish(limitMs = 5_000): this {
    this.start();
    for (let t = 0; t < limitMs; t += 10) {
      this.clock.advance(10);
      if (this.cgw.sink.installed.size === 1 && this.aws.sink.installed.size === 1) return this;
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
  return { cgw, aws };
}

/** Request/response message IDs agree across the two current IKE SAs (RFC 7296 §2.2). */
export function expectWindowsInSync(pair: Pair): void {
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

/** Both sides derived the same keys for their current IKE SA (the same SA on both sides). */
export function expectSameIkeKeys(pair: Pair): void {
  const current = (peer: Peer) => {
    const sa = peer.connection.status().ikeSas.find((s) => s.current);
    return [...peer.keylog].reverse().find((e): e is Extract<KeylogEntry, { kind: 'ike' }> => e.kind === 'ike' && e.spiI === sa?.spiI && e.spiR === sa?.spiR);
  };
  const a = current(pair.cgw);
  const b = current(pair.aws);
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
