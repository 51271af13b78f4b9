/** A deterministic RandomSource (mulberry32) so every run of a scenario is the same run. */
import type { RandomSource } from '../../../../../src/ike/runtime.js';

export class SeededRandom implements RandomSource {
  #state: number;

  constructor(seed: number) {
    this.#state = (seed * 0x9e3779b1) >>> 0 || 1;
  }

  #next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 4) {
      const v = this.#next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (v >>> (j * 8)) & 0xff;
    }
    return out;
  }

  fraction(): number {
    return this.#next() / 0x1_0000_0000;
  }

  below(n: number): number {
    return Math.floor(this.fraction() * n);
  }
}
