/**
 * Keepalive probes through one tunnel: ICMP echo to the AWS inside address (or
 * a configured VPC target) every `intervalSeconds`. They keep AWS from dropping an
 * idle tunnel (AWS initiates nothing and drops a tunnel without traffic: User Guide,
 * "Initiate VPN tunnels") and give the tunnel a measured health: round-trip time,
 * loss, and "up" while at least one of the last `window` probes was answered.
 *
 * The probes are generated and answered inside the native data plane (native/src/probe.c,
 * reached through a ProbeDriver): the packet thread builds the echo request, sends it through
 * the tunnel's outbound SA like any TUN packet, and consumes the reply before the TUN. No
 * child process and no raw socket (so no CAP_NET_RAW). Decrypted inbound traffic counts as
 * proof of life: a probe that went unanswered while other packets arrived on the tunnel
 * still counts as alive for health (the 'probe' event reports it unanswered all the same).
 *
 * A watchdog on the clock records a miss when the driver reports nothing for two intervals
 * (events lost, probes not running), so health never sticks at "up" without evidence.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';

/** What one probe came to, as the data plane reports it. */
export interface ProbeResult {
  /** Round trip in ms, or undefined when the probe was unanswered when the next one was due. */
  rttMs: number | undefined;
  /** Other packets the tunnel decrypted while the probe was out. */
  inbound: number;
}

/** Sends the probes of one tunnel and reports each result (the data plane, or a fake in tests). */
export interface ProbeDriver {
  start(target: string, intervalMs: number, onResult: (result: ProbeResult) => void): void;
  stop(): void;
}

export interface KeepaliveOptions {
  driver: ProbeDriver;
  target: string;
  intervalSeconds: number;
  /** Probes considered for health (default 3). */
  window?: number;
  clock?: Clock;
}

export interface KeepaliveStatus {
  target: string;
  healthy: boolean;
  sent: number;
  received: number;
  /** Loss over the last 20 probes, 0–1. */
  recentLoss: number;
  lastRttMs: number | undefined;
  /** When the tunnel last showed life: an answered probe, or a probe interval with inbound traffic. */
  lastReplyAt: number | undefined;
}

interface KeepaliveEvents {
  health: [boolean];
  /** A probe finished: its round trip in ms, or undefined when it went unanswered. */
  probe: [number | undefined];
  /** A probe went unanswered and no other traffic arrived meanwhile (NAT rebinding detection uses it). */
  silent: [number];
}

/** The data plane's probe interval bounds (native/src/probe.h). */
export const PROBE_INTERVAL_MIN_MS = 10;
export const PROBE_INTERVAL_MAX_MS = 3_600_000;

export class Keepalive extends EventEmitter<KeepaliveEvents> {
  #stopped = true;
  /** Alive per probe (answered, or inbound traffic meanwhile): health. */
  #results: boolean[] = [];
  /** Answered per probe: loss. */
  #answers: boolean[] = [];
  #sent = 0;
  #received = 0;
  #lastRttMs: number | undefined;
  #lastReplyAt: number | undefined;
  #lastResultAt = 0;
  #silentRun = 0;
  #healthy = false;
  /** Probes recorded since presumeHealthy(); the presumption holds until a full window of them. */
  #sincePresumed: number | undefined;
  #watchdog: TimerHandle | undefined;
  readonly #clock: Clock;
  readonly #intervalMs: number;

  constructor(private readonly options: KeepaliveOptions) {
    super();
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = Math.min(PROBE_INTERVAL_MAX_MS, Math.max(PROBE_INTERVAL_MIN_MS, Math.round(options.intervalSeconds * 1000)));
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#lastResultAt = this.#clock.now();
    this.options.driver.start(this.options.target, this.#intervalMs, (result) => this.result(result));
    this.#arm();
  }

  /** One probe's outcome from the driver. */
  result(result: ProbeResult): void {
    if (this.#stopped) return;
    this.#lastResultAt = this.#clock.now();
    this.#arm();
    if (result.rttMs !== undefined) {
      this.#received++;
      this.#lastRttMs = result.rttMs;
      this.#lastReplyAt = this.#clock.now();
      this.#silentRun = 0;
    } else if (result.inbound > 0) {
      this.#lastReplyAt = this.#clock.now();
      this.#silentRun = 0;
    } else {
      this.#silentRun++;
    }
    this.emit('probe', result.rttMs);
    this.record(result.rttMs !== undefined || result.inbound > 0, result.rttMs !== undefined);
    if (this.#silentRun > 0) this.emit('silent', this.#silentRun);
  }

  /** Two intervals without any report from the driver count as one unanswered probe each. */
  #arm(): void {
    this.#watchdog?.cancel();
    this.#watchdog = this.#clock.setTimer(2 * this.#intervalMs, () => {
      if (this.#stopped) return;
      this.#silentRun++;
      this.emit('probe', undefined);
      this.record(false);
      this.#arm();
    });
  }

  private record(alive: boolean, answered = alive): void {
    this.#sent++;
    this.#results.push(alive);
    if (this.#results.length > 20) this.#results.shift();
    this.#answers.push(answered);
    if (this.#answers.length > 20) this.#answers.shift();
    const size = this.options.window ?? 3;
    if (this.#sincePresumed !== undefined) this.#sincePresumed += 1;
    const presumed = this.#sincePresumed !== undefined && this.#sincePresumed < size;
    if (this.#sincePresumed !== undefined && !presumed) this.#sincePresumed = undefined;
    const window = this.#results.slice(-Math.min(size, this.#sincePresumed ?? size));
    this.#setHealthy(presumed || window.some((r) => r));
  }

  #setHealthy(healthy: boolean): void {
    if (healthy !== this.#healthy) {
      this.#healthy = healthy;
      this.emit('health', healthy);
    }
  }

  /**
   * A CHILD SA was just installed on a tunnel that had none: traffic may flow now, before the first
   * probe is answered. Healthy until a whole window of probes after this goes unanswered.
   */
  presumeHealthy(): void {
    this.#sincePresumed = 0;
    this.#silentRun = 0;
    this.#setHealthy(true);
  }

  status(): KeepaliveStatus {
    const lost = this.#answers.filter((r) => !r).length;
    return {
      target: this.options.target,
      healthy: this.#healthy,
      sent: this.#sent,
      received: this.#received,
      recentLoss: this.#answers.length === 0 ? 0 : lost / this.#answers.length,
      lastRttMs: this.#lastRttMs,
      lastReplyAt: this.#lastReplyAt,
    };
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Consecutive probes with neither an answer nor other inbound traffic. */
  get silentRun(): number {
    return this.#silentRun;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watchdog?.cancel();
    this.#watchdog = undefined;
    this.options.driver.stop();
  }
}
