/**
 * The native anti-replay window (native/src/replay.c, RFC 6479 layout)
 * against a naive model of RFC 4303 §3.4.3: a set of seen numbers and the
 * highest one; a number is acceptable when it is not 0, not seen, and not
 * left of the window.
 */
import { describe, expect, it } from 'vitest';
import { loadDataplaneTesting } from '../../helpers/native-testing.js';
import { SeededRandom } from '../crypto/helpers.js';

const { ReplayWindow } = loadDataplaneTesting();

class Model {
  readonly seen = new Set<number>();
  top = 0;
  constructor(readonly size: number) {}
  check(seq: number): boolean {
    if (seq === 0) return false;
    if (seq > this.top) return true;
    if (this.top - seq >= this.size) return false;
    return !this.seen.has(seq);
  }
  update(seq: number): boolean {
    if (!this.check(seq)) return false;
    this.seen.add(seq);
    if (seq > this.top) this.top = seq;
    return true;
  }
}

describe('replay window', () => {
  it('in order, duplicates, reordered within the window, too old, far future', () => {
    const w = new ReplayWindow(64);
    for (let s = 1; s <= 10; s++) expect(w.update(s)).toBe(true);
    expect(w.check(10)).toBe(false);
    expect(w.check(11)).toBe(true);
    expect(w.update(20)).toBe(true);
    for (const s of [19, 15, 11]) expect(w.update(s)).toBe(true);
    expect(w.update(15)).toBe(false);
    expect(w.top()).toBe(20);
    expect(w.check(0)).toBe(false);
    expect(w.update(200)).toBe(true);
    expect(w.check(137)).toBe(true); // 200 − 63
    expect(w.check(136)).toBe(false);
    expect(w.update(0xffff_ffff)).toBe(true);
    expect(w.check(0xffff_ffff - 64)).toBe(false);
    expect(w.check(0xffff_ffff - 63)).toBe(true);
  });

  it('check does not change the window; update does', () => {
    const w = new ReplayWindow(128);
    expect(w.check(1000)).toBe(true);
    expect(w.top()).toBe(0);
    expect(w.check(1000)).toBe(true);
    expect(w.update(1000)).toBe(true);
    expect(w.top()).toBe(1000);
  });

  it('rounds the window up to a multiple of 64 bits', () => {
    const w = new ReplayWindow(100); // → 128
    w.update(1000);
    expect(w.check(1000 - 127)).toBe(true);
    expect(w.check(1000 - 128)).toBe(false);
  });

  it.each([64, 1024, 2048, 4096])('matches the model on random traffic, window %i', (size) => {
    const rng = new SeededRandom();
    const w = new ReplayWindow(size);
    const m = new Model(size);
    let base = 1;
    for (let i = 0; i < 20_000; i++) {
      const r = rng.int(100);
      let seq: number;
      if (r < 60) seq = base + rng.int(size / 2); // mostly near the front
      else if (r < 80) seq = Math.max(0, m.top - rng.int(size + 64)); // around the left edge
      else if (r < 95) seq = m.top; // duplicate of the newest
      else seq = m.top + 1 + rng.int(size * 3); // jumps ahead, sometimes beyond a whole window
      base = Math.max(base, m.top - size / 4);
      const doUpdate = rng.int(4) !== 0; // sometimes only a check (the ICV failed)
      expect(w.check(seq), `seed ${rng.seed} step ${i} seq ${seq}`).toBe(m.check(seq));
      if (doUpdate) expect(w.update(seq), `seed ${rng.seed} step ${i}`).toBe(m.update(seq));
      expect(w.top()).toBe(m.top);
    }
  });
});
