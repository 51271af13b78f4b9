/**
 * A clock whose time only moves when the test says so. advance(ms) runs every timer that falls
 * due within the window, in time order (ties in the order they were set), including timers set
 * by those callbacks.
 */
import type { Clock, TimerHandle } from '../../src/time/clock.js';

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
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms`, running due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let ran = 0; ; ran++) {
      if (ran > 1_000_000) throw new Error('FakeClock: timers keep firing without time passing (runaway loop)');
      const next = this.#nextDue(target);
      if (!next) break;
      this.#now = next.at;
      next.cancelled = true;
      next.callback();
    }
    this.#now = target;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  /** Runs only the timers already due now (time does not move). */
  flush(): void {
    this.advance(0);
  }

  /** Time of the next live timer, if any. */
  nextTimerAt(): number | undefined {
    return this.#nextDue(Number.POSITIVE_INFINITY)?.at;
  }

  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  #nextDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.cancelled || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
