/**
 * Fuzzing the BGP decoders with random bytes and mutated valid messages, in
 * every codec context. Every input must either decode or throw a
 * BgpMessageError (a NOTIFICATION to send) within 50 ms; a message that
 * decodes cleanly must re-encode and decode to the same value. The stream
 * framer is fuzzed the same way. Seeded, so a failure reproduces:
 *
 *   FUZZ_SEED=<seed> FUZZ_ITERATIONS=50000 npx vitest run test/unit/bgp/fuzz.test.ts
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type CodecContext } from '../../../src/bgp/codec.js';
import { Origin } from '../../../src/bgp/constants.js';
import { BgpMessageError } from '../../../src/bgp/errors.js';
import { BgpFramer } from '../../../src/bgp/framer.js';
import type { BgpMessage } from '../../../src/bgp/messages.js';
import { buildOpen } from '../../../src/bgp/open.js';
import { hex, prng } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x4271_7606) >>> 0;
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 5000);
const PER_DECODE_MS = 50;

const CONTEXTS: CodecContext[] = [
  { fourOctetAs: true, peerAs: 64512 },
  { fourOctetAs: false, peerAs: 64512 },
  { fourOctetAs: true, peerAs: 64512, revisedErrorHandling: false },
  { fourOctetAs: false },
];

const SEEDS: { message: BgpMessage; ctx: CodecContext }[] = [
  { message: buildOpen({ localAs: 4200000001, bgpIdentifier: 0xa9fe0a01, holdTimeSeconds: 30, gracefulRestart: { restartTimeSeconds: 120 } }), ctx: CONTEXTS[0] as CodecContext },
  { message: { type: 'keepalive' }, ctx: CONTEXTS[0] as CodecContext },
  { message: { type: 'notification', errorCode: 3, errorSubcode: 5, data: hex('40030401020304') }, ctx: CONTEXTS[0] as CodecContext },
  { message: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 }, ctx: CONTEXTS[0] as CodecContext },
  ...[true, false].map((fourOctetAs) => ({
    message: {
      type: 'update' as const,
      withdrawn: ['192.0.2.0/24', '10.9.0.0/16'],
      attributes: {
        origin: Origin.IGP,
        asPath: [
          { kind: 'sequence' as const, asns: [64512, 4200000001] },
          { kind: 'set' as const, asns: [1, 2] },
        ],
        nextHop: '169.254.10.1',
        multiExitDisc: 100,
        localPref: 100,
        atomicAggregate: true,
        aggregator: { asn: 64512, address: '10.0.0.1' },
        communities: hex('fde80064'),
        mpReach: { nextHop: '169.254.10.1', nlri: ['10.5.0.0/16'] },
        mpUnreach: { withdrawn: ['10.6.0.0/16'] },
        other: [{ flags: 0xc0, typeCode: 77, value: hex('0102') }],
      },
      nlri: ['10.0.0.0/16', '10.128.0.0/9', '0.0.0.0/0'],
    },
    ctx: { fourOctetAs, peerAs: 64512 },
  })),
];

class Fuzzer {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
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

const INTERESTING_U8 = [0, 1, 2, 3, 4, 5, 0x1f, 0x20, 0x21, 0x40, 0x7f, 0x80, 0xc0, 0xd0, 0xff];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 18, 19, 23, 29, 0xff, 0x100, 4096, 4097, 0x7fff, 0xffff];

function mutate(f: Fuzzer, seed: Buffer): Buffer {
  let buf = Buffer.from(seed);
  const rounds = 1 + f.int(4);
  for (let round = 0; round < rounds; round++) {
    const body = Math.max(19, buf.length);
    switch (f.int(7)) {
      case 0: // bit flip past the marker
        if (buf.length > 19) {
          const at = 19 + f.int(buf.length - 19);
          buf[at] = (buf[at] ?? 0) ^ (1 << f.int(8));
        }
        break;
      case 1: // interesting octet
        if (buf.length > 19) buf[19 + f.int(buf.length - 19)] = f.pick(INTERESTING_U8);
        break;
      case 2: // interesting 16-bit value (lengths)
        if (buf.length > 20) buf.writeUInt16BE(f.pick(INTERESTING_U16), 19 + f.int(buf.length - 20));
        break;
      case 3: // insert random bytes
        {
          const at = 19 + f.int(body - 18);
          buf = Buffer.concat([buf.subarray(0, at), f.bytes(1 + f.int(8)), buf.subarray(at)]);
        }
        break;
      case 4: // delete bytes
        if (buf.length > 19) {
          const at = 19 + f.int(buf.length - 19);
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + f.int(8))]);
        }
        break;
      case 5: // duplicate a slice (repeated attributes, prefixes)
        if (buf.length > 20) {
          const from = 19 + f.int(buf.length - 19);
          const slice = buf.subarray(from, from + 1 + f.int(16));
          const at = 19 + f.int(buf.length - 18);
          buf = Buffer.concat([buf.subarray(0, at), slice, buf.subarray(at)]);
        }
        break;
      case 6: // truncate
        buf = buf.subarray(0, f.int(buf.length + 1));
        break;
    }
  }
  // Mostly keep the header honest so the body decoders see the damage.
  if (buf.length >= 19 && f.int(4) !== 0) buf.writeUInt16BE(Math.min(buf.length, 0xffff), 16);
  if (buf.length >= 19 && f.int(8) === 0) buf[18] = f.int(8);
  return buf;
}

function decodeOrNotify(bytes: Buffer, ctx: CodecContext): BgpMessage | BgpMessageError {
  const started = performance.now();
  let result: BgpMessage | BgpMessageError;
  try {
    result = decodeMessage(bytes, ctx);
  } catch (error) {
    if (!(error instanceof BgpMessageError)) {
      throw new Error(`seed ${SEED}: ${String(error)} for ${bytes.toString('hex')}`, { cause: error });
    }
    result = error;
  }
  const took = performance.now() - started;
  if (took > PER_DECODE_MS) throw new Error(`seed ${SEED}: decode took ${took.toFixed(1)} ms for ${bytes.toString('hex')}`);
  return result;
}

function expectStableRoundTrip(message: BgpMessage, ctx: CodecContext, bytes: Buffer): void {
  if (message.type === 'update' && message.problems) return;
  let again: BgpMessage;
  try {
    again = decodeMessage(encodeMessage(message, ctx), ctx);
  } catch (error) {
    throw new Error(`seed ${SEED}: re-encoding failed for ${bytes.toString('hex')}: ${String(error)}`, { cause: error });
  }
  expect(again, bytes.toString('hex')).toEqual(message);
}

describe(`BGP decoder fuzzing (seed ${SEED}, ${ITERATIONS} inputs each)`, () => {
  it('mutated valid messages: decode or a NOTIFICATION, never a crash', () => {
    const f = new Fuzzer(SEED);
    const stats = { decoded: 0, notifications: new Map<string, number>() };
    for (let i = 0; i < ITERATIONS; i++) {
      const seed = f.pick(SEEDS);
      const bytes = mutate(f, encodeMessage(seed.message, seed.ctx));
      const ctx = f.pick(CONTEXTS);
      const result = decodeOrNotify(bytes, ctx);
      if (result instanceof BgpMessageError) {
        const key = `${result.errorCode}/${result.errorSubcode}`;
        stats.notifications.set(key, (stats.notifications.get(key) ?? 0) + 1);
      } else {
        stats.decoded += 1;
        expectStableRoundTrip(result, ctx, bytes);
      }
    }
    // The mutations must reach deep: many distinct NOTIFICATIONs, and some inputs still decode.
    expect(stats.decoded).toBeGreaterThan(ITERATIONS / 50);
    expect(stats.notifications.size).toBeGreaterThan(10);
  });

  it('random bytes behind a valid header', () => {
    const f = new Fuzzer(SEED ^ 0x5a5a5a5a);
    for (let i = 0; i < ITERATIONS; i++) {
      const body = f.bytes(f.int(200));
      const bytes = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.alloc(3), body]);
      bytes.writeUInt16BE(bytes.length, 16);
      bytes[18] = 1 + f.int(5);
      const result = decodeOrNotify(bytes, f.pick(CONTEXTS));
      if (!(result instanceof BgpMessageError)) expectStableRoundTrip(result, CONTEXTS[0] as CodecContext, bytes);
    }
  });

  it('completely random bytes', () => {
    const f = new Fuzzer(SEED ^ 0x1234);
    for (let i = 0; i < ITERATIONS; i++) decodeOrNotify(f.bytes(f.int(64)), f.pick(CONTEXTS));
  });

  it('the framer on random streams: frames or one header fault, never more held than a message', () => {
    const f = new Fuzzer(SEED ^ 0xbeef);
    for (let i = 0; i < ITERATIONS / 10; i++) {
      const framer = new BgpFramer();
      const parts = [...SEEDS.map((s) => encodeMessage(s.message, s.ctx))];
      let stream: Buffer = Buffer.concat(Array.from({ length: 4 }, () => f.pick(parts)));
      if (f.int(2) === 0) stream = mutate(f, stream);
      let at = 0;
      while (at < stream.length) {
        const n = 1 + f.int(64);
        const result = framer.push(stream.subarray(at, at + n));
        at += n;
        for (const frame of result.frames) decodeOrNotify(frame, CONTEXTS[0] as CodecContext);
        if (result.error) {
          expect(result.error).toBeInstanceOf(BgpMessageError);
          break;
        }
        expect(framer.pending).toBeLessThan(4096 + 64);
      }
    }
  });
});
