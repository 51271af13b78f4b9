/** Flags for cgwd's own SA lifetimes (shared by up and negotiate). */
import type { Command } from 'commander';
import { CgwdError } from '../errors.js';
import type { IkeTiming } from '../ike/index.js';

export interface TimingFlags {
  ikeLifetime?: string;
  childLifetime?: string;
  rekeyMargin?: string;
  rekeyFuzz?: string;
}

export function addTimingOptions(command: Command): Command {
  return command
    .option('--ike-lifetime <seconds>', 'our IKE SA lifetime (default 93.75 % of the AWS phase 1 lifetime, so cgwd rekeys first)')
    .option('--child-lifetime <seconds>', 'our CHILD SA lifetime (default 90 % of the AWS phase 2 lifetime)')
    .option('--rekey-margin <seconds>', 'rekey this long before the lifetime ends (default: the AWS rekey margin)')
    .option('--rekey-fuzz <percent>', 'randomise the margin by up to this share (default: the AWS rekey fuzz)');
}

function integer(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CgwdError('USAGE_TIMING', `${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function timingFrom(flags: TimingFlags): Partial<IkeTiming> {
  const timing: { -readonly [K in keyof IkeTiming]?: IkeTiming[K] } = {};
  const ike = integer(flags.ikeLifetime, '--ike-lifetime', 10, 28_800);
  const child = integer(flags.childLifetime, '--child-lifetime', 10, 3_600);
  const margin = integer(flags.rekeyMargin, '--rekey-margin', 0, 14_400);
  const fuzz = integer(flags.rekeyFuzz, '--rekey-fuzz', 0, 100);
  if (ike !== undefined) timing.ikeLifetimeSeconds = ike;
  if (child !== undefined) timing.childLifetimeSeconds = child;
  if (margin !== undefined) {
    timing.childRekeyMarginSeconds = margin;
    timing.ikeRekeyMarginSeconds = margin;
  }
  if (fuzz !== undefined) timing.rekeyFuzzPercent = fuzz;
  return timing;
}
