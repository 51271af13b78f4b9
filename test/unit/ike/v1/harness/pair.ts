/**
 * Our IKEv1 initiator ("cgw") against our IKEv1 responder ("aws") over a FakeNetwork and a
 * FakeClock, each side with its own seeded RandomSource, RecordingSink, keylog and event log.
 */
import { expect } from 'vitest';
import type { TunnelConfig } from '../../../../../src/config/model.js';
import type { ChildSaInstall } from '../../../../../src/ike/runtime.js';
import { IkeV1Connection } from '../../../../../src/ike/v1/index.js';
import type { IkeConnectionOptions, IkeTiming, KeylogEntry } from '../../../../../src/ike/index.js';
import { createLogger } from '../../../../../src/log/index.js';
import { AWS_IP, CGW_IP, tunnelConfig } from './config.js';
import { FakeClock } from '../../../../helpers/fake-clock.js';
import { FakeNetwork, type FakeTransport, type NetworkOptions } from './network.js';
import { SeededRandom } from './seeded-random.js';
import { RecordingSink } from './sink.js';

export interface PeerOptions {
  readonly tunnel?: TunnelConfig;
  readonly role?: 'initiator' | 'responder';
  readonly timing?: Partial<IkeTiming>;
  readonly address?: string;
  readonly localId?: string;
  readonly remoteId?: string;
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

type Made = { sink: RecordingSink; transport: FakeTransport; connection: IkeV1Connection };

export class Peer {
  readonly keylog: KeylogEntry[] = [];
  readonly events: EventRecord[] = [];
  sink!: RecordingSink;
  transport!: FakeTransport;
  connection!: IkeV1Connection;

  constructor(
    readonly name: 'cgw' | 'aws',
    readonly address: string,
    readonly random: SeededRandom,
    private readonly make: (peer: Peer) => Made,
  ) {
    Object.assign(this, make(this));
  }

  /** The host crashes and comes back: all IKE state lost, a fresh data plane, started again. */
  restart(): void {
    this.transport.detached = true;
    this.connection.removeAllListeners();
    Object.assign(this, this.make(this));
    this.connection.start();
  }

  count(name: string): number {
    return this.events.filter((e) => e.name === name).length;
  }

  last(name: string): EventRecord | undefined {
    return [...this.events].reverse().find((e) => e.name === name);
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
    const level = (process.env.CGWD_TEST_LOG as 'debug' | 'info' | undefined) ?? 'silent';
    const logger = createLogger({ level, output: { write: (line: string) => console.log(`${this.clock.now()} ${line.trim()}`) } });
    const build = (name: 'cgw' | 'aws', publicAddress: string, peerAddress: string, o: PeerOptions = {}, role: 'initiator' | 'responder'): Peer => {
      const address = o.address ?? publicAddress;
      return new Peer(name, address, new SeededRandom(seed * 31 + (name === 'cgw' ? 1 : 2)), (peer) => {
        const sink = new RecordingSink(() => this.clock.now());
        const transport = this.net.transport(address);
        const connection = new IkeV1Connection({
          tunnel: o.tunnel ?? options.tunnel ?? tunnelConfig(),
          role: o.role ?? role,
          local: { address, port: 500 },
          remote: { address: peerAddress, port: 500 },
          localId: o.localId ?? publicAddress,
          ...(o.remoteId !== undefined ? { remoteId: o.remoteId } : { remoteId: peerAddress }),
          transport,
          clock: this.clock,
          random: peer.random,
          sink,
          logger: logger.child({ peer: name }),
          timing: { ...options.timing, ...o.timing },
          keylog: (entry) => peer.keylog.push(entry),
          ...o.extra,
        });
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

  /** Runs until both sides hold one IPsec SA (or throws after `limitMs`). */
  establish(limitMs = 10_000): this {
    this.start();
    for (let t = 0; t < limitMs; t += 10) {
      this.clock.advance(10);
      if (this.cgw.sink.installed.size === 1 && this.aws.sink.installed.size === 1) return this;
    }
    throw new Error(`not established after ${limitMs} ms: cgw ${this.cgw.connection.state}, aws ${this.aws.connection.state}`);
  }
}

/** Advances until both data planes hold exactly one SA pair that mirror each other. */
export function settle(pair: Pair, limitMs = 120_000): void {
  for (let waited = 0; waited <= limitMs; waited += 100) {
    const a = pair.cgw.sink.list;
    const b = pair.aws.sink.list;
    if (a.length === 1 && b.length === 1 && a[0]?.spiIn === b[0]?.spiOut && a[0]?.spiOut === b[0]?.spiIn) return;
    pair.clock.advance(100);
  }
  throw new Error(`no single mirrored SA pair within ${limitMs} ms: cgw [${pair.cgw.sink.list.map((s) => s.id)}], aws [${pair.aws.sink.list.map((s) => s.id)}]`);
}

/** Both sides hold exactly one IPsec SA pair and they mirror each other (SPIs and keys swapped). */
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

export type IkeKeylog = Extract<KeylogEntry, { kind: 'ike' }>;

/** The keylog entry of `peer`'s current ISAKMP SA. */
export function currentIkeKeys(peer: Peer): IkeKeylog | undefined {
  const sa = peer.connection.status().ikeSas.find((s) => s.current);
  return [...peer.keylog].reverse().find((e): e is IkeKeylog => e.kind === 'ike' && e.spiI === sa?.spiI && e.spiR === sa?.spiR);
}

/** Both sides derived the same phase 1 keys for the same current ISAKMP SA. */
export function expectSameIkeKeys(pair: Pair): void {
  const a = currentIkeKeys(pair.cgw);
  const b = currentIkeKeys(pair.aws);
  expect(a && b, 'both sides have a current ISAKMP SA with logged keys').toBeTruthy();
  if (!a || !b) return;
  expect(a.spiI).toBe(b.spiI);
  expect(a.spiR).toBe(b.spiR);
  expect(a.suite).toEqual(b.suite);
  for (const key of ['skD', 'skAi', 'skEi', 'skPi'] as const) expect(a.keys[key].equals(b.keys[key]), key).toBe(true);
}

export { AWS_IP, CGW_IP };
