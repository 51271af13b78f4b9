/**
 * Time for every timer in the control plane — IKE, BGP, keepalive, failover — behind one small
 * interface, so all timer logic runs the same on the real clock and on the fake clock of the
 * unit tests (test/helpers/fake-clock.ts).
 */
import { performance } from 'node:perf_hooks';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic (not wall-clock time: never use it as a date). */
  now(): number;
  /** Runs `callback` once after `delayMs` (negative delays run as soon as possible). */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** The real clock: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
};
