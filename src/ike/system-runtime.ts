/** The real Clock and RandomSource (production and lab); tests use doubles. */
import { randomBytes, randomInt } from 'node:crypto';
import type { RandomSource } from './runtime.js';

export { systemClock } from '../time/clock.js';

const FRACTION_STEPS = 2 ** 32;

export const cryptoRandom: RandomSource = {
  bytes: (length: number) => randomBytes(length),
  fraction: () => randomInt(0, FRACTION_STEPS) / FRACTION_STEPS,
};
