/**
 * A deterministic RandomSource (sfc32), so every run of a scenario is the same run.
 * `nonceFirstBytes` forces the first octet of the next nonce-sized requests, which is how the
 * collision tests decide who holds the lowest nonce (as strongSwan's exchange_test_helper does
 * with nonce_first_byte).
 */
import type { RandomSource } from '../../../../src/ike/runtime.js';

/** Nonce-sized requests: both versions send 32-octet nonces (v2/crypto/nonce.ts, v1/constants.ts). */
const NONCE_LENGTH = 32;

export class SeededRandom implements RandomSource {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  /** Forced first octets for the next nonces, consumed in order. */
  readonly nonceFirstBytes: number[] = [];

  constructor(seed: number) {
    this.#a = 0x9e3779b9 ^ seed;
    this.#b = 0x243f6a88 + seed * 7;
    this.#c = 0xb7e15162 ^ (seed << 3);
    this.#d = 1;
    for (let i = 0; i < 16; i++) this.#next();
  }

  #next(): number {
    this.#a >>>= 0;
    this.#b >>>= 0;
    this.#c >>>= 0;
    this.#d >>>= 0;
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t >>> 0;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 4) {
      const v = this.#next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (v >>> (j * 8)) & 0xff;
    }
    if (length === NONCE_LENGTH && this.nonceFirstBytes.length > 0) out[0] = this.nonceFirstBytes.shift() as number;
    return out;
  }

  fraction(): number {
    return this.#next() / 0x1_0000_0000;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.fraction() * n);
  }
}
