/**
 * What an unauthenticated sender can make a responder spend, bounded (both IKE versions):
 *
 *   RequestRate      new-exchange requests per second over a sliding one-second window; the
 *                    IKEv2 responder demands COOKIEs (RFC 7296 §2.6) when it is high, not only
 *                    when many SAs are half-open — refused requests never become half-open SAs,
 *                    so a flood of them would never reach the half-open threshold.
 *   RefusalSummary   one log line for the first refusal of a period, then one summary line per
 *                    period with the counts by reason: a flood cannot turn into a log flood.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../runtime.js';

const WINDOW_MS = 1_000;

/** Sliding one-second estimate: this window's count plus the previous one's, weighted by overlap. */
export class RequestRate {
  readonly #clock: Clock;
  #windowStart: number;
  #current = 0;
  #previous = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#windowStart = clock.now();
  }

  note(): void {
    this.#roll();
    this.#current++;
  }

  perSecond(): number {
    this.#roll();
    const elapsed = this.#clock.now() - this.#windowStart;
    return this.#current + this.#previous * Math.max(0, 1 - elapsed / WINDOW_MS);
  }

  #roll(): void {
    const now = this.#clock.now();
    const windows = Math.floor((now - this.#windowStart) / WINDOW_MS);
    if (windows <= 0) return;
    this.#previous = windows === 1 ? this.#current : 0;
    this.#current = 0;
    this.#windowStart += windows * WINDOW_MS;
  }
}

/** A load flag with hysteresis: raised while the rate is at or above `threshold`, held for `holdMs` after. */
export class LoadGate {
  readonly #clock: Clock;
  readonly #rate: RequestRate;
  readonly #threshold: number;
  readonly #holdMs: number;
  #until = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock, threshold: number, holdMs: number) {
    this.#clock = clock;
    this.#rate = new RequestRate(clock);
    this.#threshold = threshold;
    this.#holdMs = holdMs;
  }

  /** Counts one request and tells whether the responder is under load now. */
  note(): boolean {
    this.#rate.note();
    return this.loaded();
  }

  loaded(): boolean {
    const now = this.#clock.now();
    if (this.#rate.perSecond() >= this.#threshold) this.#until = now + this.#holdMs;
    return now < this.#until;
  }
}

export const REFUSAL_SUMMARY_PERIOD_MS = 10_000;

export class RefusalSummary {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #what: string;
  readonly #periodMs: number;
  #counts = new Map<string, number>();
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(clock: Clock, log: Logger, what: string, periodMs = REFUSAL_SUMMARY_PERIOD_MS) {
    this.#clock = clock;
    this.#log = log;
    this.#what = what;
    this.#periodMs = periodMs;
  }

  /** One refusal; `detail` is logged only for the first of a period (no secrets in it). */
  note(reason: string, detail: Record<string, unknown> = {}): void {
    if (this.#closed) return;
    if (this.#timer === undefined) {
      this.#log.info({ reason, ...detail }, `${this.#what} refused (further refusals are summarised every ${this.#periodMs / 1000} s)`);
      this.#timer = this.#clock.setTimer(this.#periodMs, () => this.#flush());
      return;
    }
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#counts.size === 0) return;
    const counts = Object.fromEntries(this.#counts);
    const total = [...this.#counts.values()].reduce((a, b) => a + b, 0);
    this.#counts = new Map();
    this.#log.info({ refused: total, byReason: counts, periodSeconds: this.#periodMs / 1000 }, `${this.#what} refusals`);
    // Keep summarising while refusals continue; the next quiet period ends it.
    this.#timer = this.#clock.setTimer(this.#periodMs, () => this.#flush());
  }
}
