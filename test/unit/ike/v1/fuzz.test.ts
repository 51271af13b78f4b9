/**
 * Fuzzing every IKEv1 decoder with seeded random and mutated inputs: each input must decode or
 * throw a WireError with a known code, quickly; whatever decodes re-encodes to the same
 * payloads; transform interpretation never throws. Then the whole datagram path: thousands of
 * mutated captured datagrams (plain and encrypted) into an established pair, which must only
 * count drops and stay up. A failure prints its seed:
 *
 *   FUZZ_SEED=<seed> FUZZ_ITERATIONS=20000 npx vitest run test/unit/ike/v1/fuzz.test.ts
 */
import { describe, expect, it } from 'vitest';
import { Reader } from '../../../../src/wire/buffer.js';
import { V1WireErrorCode, WireError } from '../../../../src/ike/v1/wire/errors.js';
import { parsePhase1Transform, parsePhase2Transform } from '../../../../src/ike/v1/proposals.js';
import {
  decodeAttributes,
  decodeChain,
  decodeMessage,
  decodePlaintext,
  decodeSaBodyBytes,
  encodeChain,
  type ChainEntry,
} from '../../../../src/ike/v1/wire/index.js';
import { AWS_IP, Pair, expectMirrored, settle } from '../harness/pair.js';
import { inject } from './harness/forge.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x1e1_c0de) >>> 0;
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 4000);
const PER_DECODE_MS = 50;
const KNOWN = new Set<string>(Object.values(V1WireErrorCode));

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzzer {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const INTERESTING_U16 = [0, 1, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U8 = [0, 1, 2, 3, 4, 5, 8, 10, 11, 12, 13, 20, 21, 33, 41, 46, 128, 255];

/** Offsets of the generic payload Length fields of a plain message (and the header Length). */
function lengthOffsets(data: Buffer): number[] {
  const out = [24];
  let at = 28;
  let next = data[16] ?? 0;
  for (let i = 0; next !== 0 && at + 4 <= data.length && i < 64; i++) {
    out.push(at + 2);
    next = data[at] ?? 0;
    at += Math.max(4, data.readUInt16BE(at + 2));
  }
  return out;
}

function mutate(f: Fuzzer, seed: Buffer): Buffer {
  let b = Buffer.from(seed);
  const rounds = 1 + f.int(4);
  for (let r = 0; r < rounds; r++) {
    switch (f.int(8)) {
      case 0:
        if (b.length > 0) b[f.int(b.length)] = f.int(256);
        break;
      case 1: {
        const offsets = lengthOffsets(b).filter((o) => o + 2 <= b.length);
        if (offsets.length > 0) b.writeUInt16BE(f.pick(INTERESTING_U16), f.pick(offsets));
        break;
      }
      case 2:
        b = b.subarray(0, f.int(b.length + 1));
        break;
      case 3:
        b = Buffer.concat([b, f.bytes(1 + f.int(64))]);
        break;
      case 4:
        if (b.length > 16) b[16] = f.pick(INTERESTING_U8);
        break;
      case 5:
        if (b.length > 28) b[28 + f.int(b.length - 28)] = f.pick(INTERESTING_U8);
        break;
      case 6:
        if (b.length >= 28) b.writeUInt32BE(b.length, 24);
        break;
      default: {
        const at = f.int(Math.max(1, b.length));
        b = Buffer.concat([b.subarray(0, at), f.bytes(f.int(8)), b.subarray(at)]);
      }
    }
  }
  if (b.length >= 28 && f.int(2) === 0) b.writeUInt32BE(b.length, 24);
  return b;
}

function expectTypedOrOk(fn: () => unknown, input: Buffer, seed: number): unknown {
  const started = performance.now();
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    if (!(error instanceof WireError) || !KNOWN.has(error.code)) {
      throw new Error(`seed ${seed}: untyped error ${String(error)} for ${input.toString('hex').slice(0, 200)}`);
    }
  }
  const took = performance.now() - started;
  if (took > PER_DECODE_MS) throw new Error(`seed ${seed}: decode took ${took.toFixed(1)} ms`);
  return result;
}

/** Every datagram of an establishment, a phase 2 rekey, a phase 1 re-establishment, DPD and a stop. */
function capture(): { pair: Pair; wires: { to: 'cgw' | 'aws'; data: Buffer; port: number }[] } {
  const pair = new Pair('ikev1', { seed: 5 }).establish();
  pair.run(25_000);
  pair.cgw.connection.rekeyChild();
  pair.run(12_000);
  pair.aws.connection.rekeyIke();
  pair.run(40_000);
  return { pair, wires: pair.net.delivered.map((w) => ({ to: w.to.address === AWS_IP ? 'aws' : 'cgw', data: w.data, port: w.to.port })) };
}

function checkInterpretation(entries: readonly ChainEntry[]): void {
  for (const e of entries) {
    if (e.payload.kind !== 'SA') continue;
    for (const p of e.payload.proposals) for (const t of p.transforms) {
      parsePhase1Transform(t);
      parsePhase2Transform(t);
    }
  }
}

describe('decoders', () => {
  const { wires } = capture();
  const plain = wires.map((w) => w.data).filter((d) => ((d[19] ?? 0) & 1) === 0);

  it('random buffers: typed errors only', () => {
    const f = new Fuzzer(SEED);
    for (let i = 0; i < ITERATIONS; i++) {
      const input = f.bytes(f.int(600));
      if (input.length >= 28 && f.int(2) === 0) {
        input[17] = 0x10;
        input.writeUInt32BE(input.length, 24);
      }
      expectTypedOrOk(() => decodeMessage(input), input, SEED);
      expectTypedOrOk(() => decodeSaBodyBytes(input), input, SEED);
      expectTypedOrOk(() => decodeAttributes(new Reader(input)), input, SEED);
      expectTypedOrOk(() => decodeChain(input, 0, input.length, f.pick(INTERESTING_U8), f.int(2) === 0), input, SEED);
    }
  });

  it('mutated captured messages: typed errors, and what decodes re-encodes to the same payloads', () => {
    const f = new Fuzzer(SEED + 1);
    let decoded = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(f, f.pick(plain));
      const result = expectTypedOrOk(() => decodeMessage(input), input, SEED + 1) as ReturnType<typeof decodeMessage> | undefined;
      if (!result || result.encrypted) continue;
      decoded += 1;
      checkInterpretation(result.entries);
      const again = encodeChain(result.entries.map((e) => e.payload));
      const back = decodeChain(again.bytes, 0, again.bytes.length, again.firstType, false).entries.map((e) => e.payload);
      expect(back).toEqual(result.entries.map((e) => e.payload));
    }
    expect(decoded).toBeGreaterThan(ITERATIONS / 20);
  });

  it('decrypted garbage (what a wrong key yields): typed errors only', () => {
    const f = new Fuzzer(SEED + 2);
    const header = decodeMessage(plain[0] as Buffer).header;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = f.int(3) === 0 ? mutate(f, (f.pick(plain) as Buffer).subarray(28)) : f.bytes(16 * (1 + f.int(20)));
      for (const first of [8, 5, 1, f.pick(INTERESTING_U8)]) {
        expectTypedOrOk(() => decodePlaintext({ ...header, nextPayload: first }, input), input, SEED + 2);
      }
    }
  });
});

describe('the datagram path', () => {
  it('thousands of mutated datagrams into an established pair: only counted drops, the tunnel stays up', () => {
    const { pair, wires } = capture();
    settle(pair);
    const f = new Fuzzer(SEED + 3);
    const n = Math.min(ITERATIONS, 3000);
    for (let i = 0; i < n; i++) {
      const w = f.pick(wires);
      inject(pair, w.to, mutate(f, w.data), w.port);
      if (i % 500 === 0) pair.run(100);
    }
    for (const peer of [pair.cgw, pair.aws]) {
      expect(peer.connection.status().counters.drops['internal-error'], `seed ${SEED + 3}`).toBeUndefined();
    }
    pair.run(120_000);
    settle(pair, 300_000);
    expectMirrored(pair);
  });
});
