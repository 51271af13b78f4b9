/**
 * Timers of the IKE connections (both versions), with defaults and the rekey-time formula.
 *
 * Lifetimes default below AWS's (CHILD 3240 s vs 3600 s, IKE 27000 s vs 28800 s, i.e. 90 % and
 * 93.75 % of the configured values) so that cgwd usually rekeys first: AWS rekeys at its own
 * lifetime minus its margin (AWS Site-to-Site VPN User Guide, Tunnel options: "Rekey margin
 * time", "Rekey fuzz"). A rekey is scheduled as strongSwan schedules its own:
 *
 *   rekey = lifetime − margin − random(0, margin × fuzz)
 *
 * Retransmission (RFC 7296 §2.1): the n-th timeout is min(base × factor^n, cap); after `tries`
 * transmissions without an answer the request fails and, for the IKE SA's own exchanges, the
 * SA is declared dead. Liveness checks (§2.4) are sent when nothing arrived from the peer for
 * the DPD interval, and are repeated `retries` times in all, evenly spaced, before the peer is
 * declared dead: a dead peer is detected interval × retries after its last message.
 */
import type { TunnelConfig } from '../config/model.js';
import type { RandomSource } from './runtime.js';

export interface IkeTiming {
  readonly retransmitBaseMs: number;
  readonly retransmitFactor: number;
  readonly retransmitCapMs: number;
  /** Transmissions of one request (the first one included) before giving up. */
  readonly retransmitTries: number;
  readonly ikeLifetimeSeconds: number;
  readonly childLifetimeSeconds: number;
  readonly childRekeyMarginSeconds: number;
  readonly ikeRekeyMarginSeconds: number;
  readonly rekeyFuzzPercent: number;
  readonly dpdIntervalSeconds: number;
  readonly dpdRetries: number;
  /** How long a replaced inbound CHILD SA stays installed after its replacement (make-before-break). */
  readonly rekeyedInboundGraceMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectCapMs: number;
  /** A responder's IKE SA that never completes IKE_AUTH is dropped after this long. */
  readonly halfOpenTimeoutMs: number;
  /** After TEMPORARY_FAILURE, retry after a random delay in [min, max] (RFC 7296 §2.25: not immediately). */
  readonly temporaryFailureRetryMinMs: number;
  readonly temporaryFailureRetryMaxMs: number;
  /** After a failed CHILD rekey (not a collision), try again after this long, until the hard lifetime. */
  readonly rekeyRetryMs: number;
  /** With no CHILD SA left on an established IKE SA, an initiator creates a new one after this long. */
  readonly childRecreateDelayMs: number;
  /** A rekeyed IKE SA whose peer never deletes it is deleted by us after this long. */
  readonly rekeyedIkeSaLingerMs: number;
  /** stop(): how long to wait for the answer to our DELETE. */
  readonly stopTimeoutMs: number;
  /** NAT keepalive (RFC 3948 §2.3) interval while a NAT is detected in front of us. */
  readonly natKeepaliveIntervalMs: number;
  /** Half-open responder SAs at or above which IKE_SA_INIT must carry a COOKIE (RFC 7296 §2.6). */
  readonly cookieThreshold: number;
  /** IKE_SA_INIT requests per second at or above which COOKIEs are demanded too (RFC 7296 §2.6). */
  readonly cookieRateThreshold: number;
}

export const TIMING_DEFAULTS = {
  retransmitBaseMs: 1_000,
  retransmitFactor: 1.8,
  retransmitCapMs: 30_000,
  retransmitTries: 6,
  rekeyedInboundGraceMs: 10_000,
  reconnectBaseMs: 1_000,
  reconnectCapMs: 60_000,
  halfOpenTimeoutMs: 30_000,
  temporaryFailureRetryMinMs: 2_000,
  temporaryFailureRetryMaxMs: 5_000,
  rekeyRetryMs: 10_000,
  childRecreateDelayMs: 1_000,
  rekeyedIkeSaLingerMs: 30_000,
  stopTimeoutMs: 3_000,
  natKeepaliveIntervalMs: 20_000,
  cookieThreshold: 32,
  cookieRateThreshold: 10,
  /** Our lifetimes as a share of the configured (AWS) ones. */
  childLifetimeShare: 0.9,
  ikeLifetimeShare: 0.9375,
} as const;

export function resolveTiming(tunnel: TunnelConfig, overrides: Partial<IkeTiming> = {}): IkeTiming {
  const d = TIMING_DEFAULTS;
  return {
    retransmitBaseMs: d.retransmitBaseMs,
    retransmitFactor: d.retransmitFactor,
    retransmitCapMs: d.retransmitCapMs,
    retransmitTries: d.retransmitTries,
    ikeLifetimeSeconds: Math.floor(tunnel.ike.lifetimeSeconds * d.ikeLifetimeShare),
    childLifetimeSeconds: Math.floor(tunnel.ipsec.lifetimeSeconds * d.childLifetimeShare),
    childRekeyMarginSeconds: tunnel.ipsec.rekeyMarginSeconds,
    ikeRekeyMarginSeconds: tunnel.ipsec.rekeyMarginSeconds,
    rekeyFuzzPercent: tunnel.ipsec.rekeyFuzzPercent,
    dpdIntervalSeconds: tunnel.dpd.intervalSeconds,
    dpdRetries: tunnel.dpd.retries,
    rekeyedInboundGraceMs: d.rekeyedInboundGraceMs,
    reconnectBaseMs: d.reconnectBaseMs,
    reconnectCapMs: d.reconnectCapMs,
    halfOpenTimeoutMs: d.halfOpenTimeoutMs,
    temporaryFailureRetryMinMs: d.temporaryFailureRetryMinMs,
    temporaryFailureRetryMaxMs: d.temporaryFailureRetryMaxMs,
    rekeyRetryMs: d.rekeyRetryMs,
    childRecreateDelayMs: d.childRecreateDelayMs,
    rekeyedIkeSaLingerMs: d.rekeyedIkeSaLingerMs,
    stopTimeoutMs: d.stopTimeoutMs,
    natKeepaliveIntervalMs: d.natKeepaliveIntervalMs,
    cookieThreshold: d.cookieThreshold,
    cookieRateThreshold: d.cookieRateThreshold,
    ...overrides,
  };
}

/** Seconds after creation at which an SA is rekeyed (never before 10 % of its lifetime). */
export function rekeyAfterSeconds(lifetimeSeconds: number, marginSeconds: number, fuzzPercent: number, random: RandomSource): number {
  const fuzz = marginSeconds * (fuzzPercent / 100) * random.fraction();
  return Math.max(lifetimeSeconds * 0.1, lifetimeSeconds - marginSeconds - fuzz);
}

/** Timeouts for each transmission of a request (the last one ends the wait). */
export function retransmitTimeouts(timing: IkeTiming): number[] {
  const out: number[] = [];
  for (let n = 0; n < timing.retransmitTries; n++) {
    out.push(Math.min(timing.retransmitCapMs, timing.retransmitBaseMs * timing.retransmitFactor ** n));
  }
  return out;
}

/** Capped exponential backoff with jitter (50–100 % of the step) for re-initiation. */
export function reconnectDelayMs(attempt: number, timing: IkeTiming, random: RandomSource): number {
  const step = Math.min(timing.reconnectCapMs, timing.reconnectBaseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step * (0.5 + 0.5 * random.fraction()));
}

/**
 * Who decides how long an SA lives, which is where the two versions really differ (so it is a
 * parameter of the schedule, not a difference between two copies of it):
 *
 *   local policy  IKEv2: lifetimes are never negotiated, each end applies its own (RFC 7296
 *                 §2.8). The SA lives our configured lifetime and is rekeyed at
 *                 lifetime − margin − fuzz, the configured margin as is.
 *   negotiated    IKEv1: the lifetime is an SA attribute the exchange agrees on (RFC 2409
 *                 Appendix A, RFC 2407 §4.5), and a responder may answer with a shorter one
 *                 (RESPONDER-LIFETIME, RFC 2407 §4.6.3.1). The SA lives what was agreed; we
 *                 rekey on the shorter of that and our own lifetime, with the margin capped at
 *                 half of it (AWS's own bound on the rekey margin), so a peer's short lifetime
 *                 does not make us rekey at once.
 */
export type SaLifetime = { readonly rule: 'local-policy' } | { readonly rule: 'negotiated'; readonly agreedSeconds: number };

export interface SaSchedule {
  /** When the SA is unusable, seconds after its creation. */
  readonly hardLifetimeSeconds: number;
  /** When we rekey it, seconds after its creation. */
  readonly rekeySeconds: number;
}

/** Our lifetime settings for one kind of SA (IKE or CHILD), from IkeTiming. */
export interface OurLifetime {
  readonly lifetimeSeconds: number;
  readonly marginSeconds: number;
  readonly fuzzPercent: number;
}

/** The rekey time and hard lifetime of a new SA (one random draw, for the fuzz). */
export function saSchedule(lifetime: SaLifetime, ours: OurLifetime, random: RandomSource): SaSchedule {
  if (lifetime.rule === 'local-policy') {
    return { hardLifetimeSeconds: ours.lifetimeSeconds, rekeySeconds: rekeyAfterSeconds(ours.lifetimeSeconds, ours.marginSeconds, ours.fuzzPercent, random) };
  }
  const shorter = Math.min(lifetime.agreedSeconds, ours.lifetimeSeconds);
  return {
    hardLifetimeSeconds: lifetime.agreedSeconds,
    rekeySeconds: rekeyAfterSeconds(shorter, Math.min(ours.marginSeconds, shorter / 2), ours.fuzzPercent, random),
  };
}

export function ourIkeLifetime(timing: IkeTiming): OurLifetime {
  return { lifetimeSeconds: timing.ikeLifetimeSeconds, marginSeconds: timing.ikeRekeyMarginSeconds, fuzzPercent: timing.rekeyFuzzPercent };
}

export function ourChildLifetime(timing: IkeTiming): OurLifetime {
  return { lifetimeSeconds: timing.childLifetimeSeconds, marginSeconds: timing.childRekeyMarginSeconds, fuzzPercent: timing.rekeyFuzzPercent };
}
