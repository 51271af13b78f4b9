/**
 * A clock that moves only when the test says so: advance(ms) runs every timer due within the
 * window in time order (ties in the order they were set), including timers those callbacks set.
 */
import type { Clock, TimerHandle } from '../../../../../src/ike/runtime.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: Timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  advance(ms: number): void {
    const target = this.#now + ms;
    for (let ran = 0; ; ran++) {
      if (ran > 2_000_000) throw new Error('FakeClock: runaway timers');
      let next: Timer | undefined;
      for (const t of this.#timers) {
        if (t.cancelled || t.at > target) continue;
        if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
      }
      if (!next) break;
      this.#now = next.at;
      next.cancelled = true;
      next.callback();
      if (ran % 1000 === 999) this.#timers = this.#timers.filter((t) => !t.cancelled);
    }
    this.#now = target;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }
}
