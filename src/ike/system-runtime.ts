/** The real Clock and RandomSource (production and lab); tests use doubles. */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock, RandomSource, TimerHandle } from './runtime.js';

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
};

const FRACTION_STEPS = 2 ** 32;

export const cryptoRandom: RandomSource = {
  bytes: (length: number) => randomBytes(length),
  fraction: () => randomInt(0, FRACTION_STEPS) / FRACTION_STEPS,
};
