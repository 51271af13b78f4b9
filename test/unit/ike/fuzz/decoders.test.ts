/**
 * Fuzzing the IKEv2 decoders with random buffers and mutated valid messages. Every input must
 * either decode or throw a WireError with a known code, within 50 ms, and whatever decodes must
 * re-encode and decode to the same payloads. The PRNG is seeded here so a failure reproduces:
 *
 *   FUZZ_SEED=<seed printed in the failure> FUZZ_ITERATIONS=20000 npx vitest run test/unit/ike/fuzz
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExchangeType,
  IkeWireErrorCode,
  WireError,
  checkMessageRules,
  decodeInnerPayloads,
  decodeMessage,
  encodeInnerPayloads,
  encodeMessage,
  splitSkBody,
  unpadPlaintext,
} from '../../../../src/ike/v2/wire/index.js';
import { everyInnerPayload, header, ikeAuthRequest, ikeSaInitRequest } from '../v2/wire/fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0xc9_d0_20_26) >>> 0;
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 4000);
const PER_DECODE_MS = 50;
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(IkeWireErrorCode));

/** mulberry32: small, fast, good enough to drive mutations reproducibly. */
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
  readonly #next: () => number;
  constructor(readonly seed: number) {
    this.#next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('empty pick');
    return item;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const INTERESTING_U16 = [0, 1, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** Offsets of every generic payload Length field in a valid unencrypted/outer chain. */
function lengthFieldOffsets(datagram: Buffer): number[] {
  const offsets = [24];
  let at = 28;
  let next = datagram.readUInt8(16);
  while (next !== 0 && at + 4 <= datagram.length) {
    offsets.push(at + 2);
    const type = next;
    next = datagram.readUInt8(at);
    at += datagram.readUInt16BE(at + 2);
    if (type === 46 || type === 53) break;
  }
  return offsets;
}

function mutate(f: Fuzzer, seed: Buffer): Buffer {
  let buf = Buffer.from(seed);
  const rounds = 1 + f.int(4);
  for (let round = 0; round < rounds; round++) {
    switch (f.int(7)) {
      case 0: {
        // bit flip
        if (buf.length === 0) break;
        const at = f.int(buf.length);
        buf[at] = (buf[at] ?? 0) ^ (1 << f.int(8));
        break;
      }
      case 1: {
        // byte insert
        const at = f.int(buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), f.bytes(1 + f.int(8)), buf.subarray(at)]);
        break;
      }
      case 2: {
        // byte delete
        if (buf.length === 0) break;
        const at = f.int(buf.length);
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + f.int(8))]);
        break;
      }
      case 3: {
        // length-field corruption at a real length field
        const offsets = lengthFieldOffsets(seed).filter((o) => o + 2 <= buf.length && o !== 24);
        if (offsets.length === 0) break;
        const at = f.pick(offsets);
        const current = buf.readUInt16BE(at);
        const value = f.int(2) === 0 ? f.pick(INTERESTING_U16) : (current + f.int(9) - 4 + 0x10000) % 0x10000;
        buf.writeUInt16BE(value, at);
        break;
      }
      case 4: {
        // 16-bit field corruption anywhere (nested lengths, counts)
        if (buf.length < 2) break;
        buf.writeUInt16BE(f.pick(INTERESTING_U16), f.int(buf.length - 1));
        break;
      }
      case 5: {
        // truncate
        buf = buf.subarray(0, f.int(buf.length + 1));
        break;
      }
      case 6: {
        // splice a slice somewhere else (duplicated substructures)
        if (buf.length < 2) break;
        const from = f.int(buf.length);
        const slice = buf.subarray(from, from + 1 + f.int(16));
        const at = f.int(buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), slice, buf.subarray(at)]);
        break;
      }
    }
  }
  // Half the time keep the header Length honest so the payload parsers see the damage.
  if (buf.length >= 28 && f.int(2) === 0) buf.writeUInt32BE(buf.length, 24);
  return buf;
}

interface Stats {
  decoded: number;
  rejected: Map<string, number>;
  slowest: number;
}

function describeInput(input: Buffer): string {
  const shown = input.subarray(0, 96).toString('hex');
  return `${input.length} bytes: ${shown}${input.length > 96 ? '…' : ''}`;
}

/** Runs `fn`; only success or a WireError with a known code is acceptable. */
function attempt<T>(fn: () => T, context: string, stats: Stats): T | undefined {
  const started = performance.now();
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof WireError) || !KNOWN_CODES.has(error.code)) {
      throw new Error(`${context}: not a typed WireError: ${String(error)}`, { cause: error });
    }
    stats.rejected.set(error.code, (stats.rejected.get(error.code) ?? 0) + 1);
    return undefined;
  } finally {
    const elapsed = performance.now() - started;
    stats.slowest = Math.max(stats.slowest, elapsed);
    if (elapsed > PER_DECODE_MS) throw new Error(`${context}: took ${elapsed.toFixed(1)} ms`);
  }
}

function exercise(input: Buffer, f: Fuzzer, context: string, stats: Stats): void {
  const decoded = attempt(() => decodeMessage(input), `${context} decodeMessage(${describeInput(input)})`, stats);
  if (decoded) {
    stats.decoded++;
    // Rules never throw, and whatever decodes must re-encode to the same model.
    const rules = checkMessageRules(decoded);
    expect(typeof rules.ok).toBe('boolean');
    const again = decodeMessage(encodeMessage({ header: decoded.header, payloads: decoded.payloads }));
    expect(again.payloads, `${context} re-encode of ${describeInput(input)}`).toEqual(decoded.payloads);
    const section = decoded.encrypted;
    if (section) {
      const parts = attempt(() => splitSkBody(section.payload.body, 16, 16, 16), `${context} splitSkBody`, stats);
      const plain = parts && attempt(() => unpadPlaintext(parts.ciphertext, 16), `${context} unpad`, stats);
      if (plain) {
        attempt(() => decodeInnerPayloads(section.payload.firstInnerType, plain), `${context} inner`, stats);
      }
    }
  }
  const innerType = f.int(3) === 0 ? f.int(256) : 33 + f.int(16);
  const inner = attempt(() => decodeInnerPayloads(innerType, input), `${context} decodeInnerPayloads(${innerType}, ${describeInput(input)})`, stats);
  if (inner) {
    const { firstType, bytes } = encodeInnerPayloads(inner);
    expect(decodeInnerPayloads(firstType, bytes)).toEqual(inner);
  }
}

const corpus: readonly Buffer[] = [
  ikeSaInitRequest(),
  ikeAuthRequest().datagram,
  encodeMessage({ header: header(ExchangeType.INFORMATIONAL), payloads: everyInnerPayload }),
];
const innerCorpus: readonly Buffer[] = [encodeInnerPayloads(everyInnerPayload).bytes, ikeAuthRequest().plaintext];

describe(`IKEv2 decoder fuzz (seed ${SEED}, ${ITERATIONS} iterations per target)`, () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  function run(name: string, seedOffset: number, generate: (f: Fuzzer) => Buffer, budgetMs: number): void {
    it(name, () => {
      const seed = (SEED + seedOffset) >>> 0;
      const f = new Fuzzer(seed);
      const stats: Stats = { decoded: 0, rejected: new Map(), slowest: 0 };
      const started = performance.now();
      for (let i = 0; i < ITERATIONS; i++) {
        const input = generate(f);
        try {
          exercise(input, f, `seed ${seed} iteration ${i}`, stats);
        } catch (error) {
          console.error(`FUZZ FAILURE — reproduce with FUZZ_SEED=${SEED} (target seed ${seed}, iteration ${i})`);
          throw error;
        }
      }
      const elapsed = performance.now() - started;
      expect(elapsed, `seed ${seed}: whole loop within ${budgetMs} ms`).toBeLessThan(budgetMs * Math.max(1, ITERATIONS / 4000));
      expect(stats.rejected.size + stats.decoded).toBeGreaterThan(0);
    });
  }

  run('random buffers', 1, (f) => f.bytes(f.int(600)), 10_000);
  run('random buffers behind a valid-looking IKE header', 2, (f) => {
    const body = f.bytes(f.int(400));
    const head = Buffer.from(f.pick(corpus).subarray(0, 28));
    head.writeUInt8(f.int(3) === 0 ? f.int(256) : 33 + f.int(21), 16);
    head.writeUInt32BE(28 + body.length, 24);
    return Buffer.concat([head, body]);
  }, 10_000);
  run('mutated valid messages', 3, (f) => mutate(f, f.pick(corpus)), 20_000);
  run('mutated decrypted inner chains', 4, (f) => mutate(f, f.pick(innerCorpus)), 20_000);

  it('mutations actually reach deep parsers (sanity: some mutants still decode)', () => {
    const f = new Fuzzer(SEED);
    const stats: Stats = { decoded: 0, rejected: new Map(), slowest: 0 };
    for (let i = 0; i < 500; i++) exercise(mutate(f, f.pick(corpus)), f, `sanity ${i}`, stats);
    expect(stats.decoded).toBeGreaterThan(0);
    expect(stats.rejected.size).toBeGreaterThan(5);
  });
});
