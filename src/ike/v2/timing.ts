/** IKEv2-only timer formulas over the shared IkeTiming (src/ike/timing.ts). */
import type { RandomSource } from '../runtime.js';
import type { IkeTiming } from '../timing.js';

/**
 * Timeouts for a liveness check. The check goes out after one interval of silence and is
 * sent `retries` times, evenly spaced, so that the peer is declared dead interval × retries
 * after its last message (30 s with AWS's 10 s × 3, matching AWS's default DPD timeout).
 */
export function dpdTimeouts(timing: IkeTiming): number[] {
  const retries = Math.max(1, timing.dpdRetries);
  const afterFirstCheckMs = timing.dpdIntervalSeconds * 1000 * Math.max(1, retries - 1);
  return new Array<number>(retries).fill(afterFirstCheckMs / retries);
}

/** A random wait before retrying after TEMPORARY_FAILURE ("MUST NOT immediately retry", RFC 7296 §2.25). */
export function temporaryFailureDelayMs(timing: IkeTiming, random: RandomSource): number {
  const { temporaryFailureRetryMinMs: min, temporaryFailureRetryMaxMs: max } = timing;
  return Math.round(min + (max - min) * random.fraction());
}
