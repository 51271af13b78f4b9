/** Shared helpers for the crypto tests: hex, a seeded generator, BigInt arithmetic. */

export const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
export const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');

/**
 * Seeded generator (SplitMix64) so a failing differential run can be replayed:
 * every assertion message carries the seed; set CGWD_TEST_SEED to rerun it.
 */
export class SeededRandom {
  readonly seed: bigint;
  #state: bigint;

  constructor(seed: bigint = BigInt(process.env.CGWD_TEST_SEED ?? Math.floor(Math.random() * 2 ** 52))) {
    this.seed = seed;
    this.#state = seed & 0xffff_ffff_ffff_ffffn;
  }

  #next64(): bigint {
    this.#state = (this.#state + 0x9e37_79b9_7f4a_7c15n) & 0xffff_ffff_ffff_ffffn;
    let z = this.#state;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & 0xffff_ffff_ffff_ffffn;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & 0xffff_ffff_ffff_ffffn;
    return z ^ (z >> 31n);
  }

  /** Integer in [0, bound). */
  int(bound: number): number {
    return Number(this.#next64() % BigInt(bound));
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 8) {
      let word = this.#next64();
      for (let j = i; j < Math.min(i + 8, length); j++) {
        out[j] = Number(word & 0xffn);
        word >>= 8n;
      }
    }
    return out;
  }

  /** Uniform in [low, high) for BigInts, by rejection. */
  bigint(low: bigint, high: bigint): bigint {
    const span = high - low;
    const bytes = Math.ceil(span.toString(16).length / 2);
    for (;;) {
      const candidate = toBigInt(this.bytes(bytes)) & ((1n << BigInt(span.toString(2).length)) - 1n);
      if (candidate < span) return low + candidate;
    }
  }

  /** Label for assertion messages. */
  get label(): string {
    return `CGWD_TEST_SEED=${this.seed}`;
  }
}

export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

export function toFixedBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');
}

/** Square-and-multiply; an independent reference, not constant time. */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

export const bitLength = (value: bigint): number => value.toString(2).length;
