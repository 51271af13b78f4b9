/**
 * Keepalive pings through one tunnel: ICMP echo to the AWS inside address (or
 * a configured VPC target) out of the tunnel's interface, every few seconds.
 * They keep AWS from dropping an idle tunnel (AWS initiates nothing and drops a tunnel
 * without traffic: User Guide, "Initiate VPN tunnels") and give the
 * tunnel a measured health: round-trip time, loss, and "up" while at least one
 * of the last `window` probes was answered.
 *
 * The probes are sent by iputils `ping` (one long-running process per tunnel,
 * `-O` reports each unanswered probe), so no raw socket is needed in Node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';

export interface KeepaliveOptions {
  ifname: string;
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
  lastReplyAt: number | undefined;
}

interface KeepaliveEvents {
  health: [boolean];
  /** A probe finished: its round trip in ms, or undefined when it went unanswered. */
  probe: [number | undefined];
}

export class Keepalive extends EventEmitter<KeepaliveEvents> {
  #child: ChildProcess | undefined;
  #stopped = false;
  #results: boolean[] = [];
  #sent = 0;
  #received = 0;
  #lastRttMs: number | undefined;
  #lastReplyAt: number | undefined;
  #healthy = false;
  /** Probes recorded since presumeHealthy(); the presumption holds until a full window of them. */
  #sincePresumed: number | undefined;
  #restartTimer: TimerHandle | undefined;
  readonly #clock: Clock;

  constructor(private readonly options: KeepaliveOptions) {
    super();
    this.#clock = options.clock ?? systemClock;
  }

  start(): void {
    this.#stopped = false;
    const interval = Math.max(0.05, this.options.intervalSeconds);
    const child = spawn(
      'ping',
      ['-n', '-O', '-i', String(interval), '-W', String(Math.max(1, Math.ceil(interval))), '-I', this.options.ifname, this.options.target],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.#child = child;
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.line(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
    child.on('error', () => undefined);
    child.on('exit', () => {
      this.#child = undefined;
      // The interface may not exist yet or went away: try again shortly.
      if (!this.#stopped) this.#restartTimer = this.#clock.setTimer(1000, () => this.start());
      this.record(false);
    });
  }

  private line(text: string): void {
    const reply = /icmp_seq=\d+ .*time=([\d.]+) ms/.exec(text);
    if (reply) {
      this.#received++;
      this.#lastRttMs = Number(reply[1]);
      this.#lastReplyAt = this.#clock.now();
      this.emit('probe', this.#lastRttMs);
      this.record(true);
    } else if (/no answer yet for icmp_seq=/.test(text)) {
      this.emit('probe', undefined);
      this.record(false);
    }
  }

  private record(answered: boolean): void {
    this.#sent++;
    this.#results.push(answered);
    if (this.#results.length > 20) this.#results.shift();
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
    this.#setHealthy(true);
  }

  status(): KeepaliveStatus {
    const lost = this.#results.filter((r) => !r).length;
    return {
      target: this.options.target,
      healthy: this.#healthy,
      sent: this.#sent,
      received: this.#received,
      recentLoss: this.#results.length === 0 ? 0 : lost / this.#results.length,
      lastRttMs: this.#lastRttMs,
      lastReplyAt: this.#lastReplyAt,
    };
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  stop(): void {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#child?.kill('SIGTERM');
    this.#child = undefined;
  }
}
