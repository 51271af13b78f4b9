/**
 * Static routing (NoBGPVPNConnection): the VPC prefixes from the local settings
 * are routed through one tunnel at a time. Tunnel 1 is preferred; when it loses
 * health (no CHILD SA, or keepalives unanswered) the routes move to tunnel 2;
 * when tunnel 1 recovers they move back if `failback` is auto (after it has
 * been healthy for `failbackHoldMs`, so a flapping tunnel doesn't drag traffic).
 */
import { EventEmitter } from 'node:events';
import type { TunnelIndex } from '../config/model.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { NetlinkRouteTable, type RouteTable } from './kernel-routes.js';
import { OwnedRouteSet } from './owned-routes.js';


export interface StaticTunnel {
  index: TunnelIndex;
  ifname: string;
  /** AWS inside address: the next hop. */
  gateway: string;
}

export interface StaticFailoverOptions {
  prefixes: readonly string[];
  tunnels: readonly [StaticTunnel, StaticTunnel];
  failback: 'auto' | 'manual';
  failbackHoldMs?: number;
  /** At start, how long to wait for tunnel 1 before settling for tunnel 2 (default 5 s). */
  startupGraceMs?: number;
  metric?: number;
  /** Timers (failback hold, start-up grace); default the real clock. */
  clock?: Clock;
  /** Where routes go (default: the kernel's main table); tests pass a double. */
  routeTable?: RouteTable;
}


interface FailoverEvents {
  active: [TunnelIndex | null, string];
  error: [Error];
}

export class StaticFailover extends EventEmitter<FailoverEvents> {
  readonly #healthy = new Map<TunnelIndex, boolean>([[1, false], [2, false]]);
  #active: TunnelIndex | null = null;
  readonly #routes: OwnedRouteSet;
  #failbackTimer: TimerHandle | undefined;
  #applying: Promise<void> = Promise.resolve();
  #switches = 0;
  #lastChange: { at: number; reason: string } | undefined;
  readonly #clock: Clock;
  readonly #startedAt: number;
  #options: StaticFailoverOptions;

  constructor(options: StaticFailoverOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#startedAt = this.#clock.now();
    this.#routes = new OwnedRouteSet(options.routeTable ?? new NetlinkRouteTable());
  }

  get active(): TunnelIndex | null {
    return this.#active;
  }

  setHealth(tunnel: TunnelIndex, healthy: boolean): void {
    if (this.#healthy.get(tunnel) === healthy) return;
    this.#healthy.set(tunnel, healthy);
    this.#decide(`tunnel ${tunnel} ${healthy ? 'healthy' : 'unhealthy'}`);
  }

  #decide(reason: string): void {
    const h1 = this.#healthy.get(1) ?? false;
    const h2 = this.#healthy.get(2) ?? false;
    this.#failbackTimer?.cancel();
    this.#failbackTimer = undefined;
    if (this.#active === null) {
      const graceLeft = this.#startedAt + (this.#options.startupGraceMs ?? 5_000) - this.#clock.now();
      if (h1) this.#switchTo(1, reason);
      else if (h2 && graceLeft > 0) this.#failbackTimer = this.#clock.setTimer(graceLeft, () => this.#decide('tunnel 1 not up in time'));
      else if (h2) this.#switchTo(2, reason);
      return;
    }
    const current = this.#active;
    const other: TunnelIndex = current === 1 ? 2 : 1;
    if (!(this.#healthy.get(current) ?? false)) {
      // Keep routes on a dead tunnel only when there is nowhere better to go.
      if (this.#healthy.get(other)) this.#switchTo(other, reason);
      return;
    }
    if (current === 2 && h1 && this.#options.failback === 'auto') {
      this.#failbackTimer = this.#clock.setTimer(this.#options.failbackHoldMs ?? 10_000, () => {
        this.#failbackTimer = undefined;
        if (this.#healthy.get(1)) this.#switchTo(1, 'failback to tunnel 1');
      });
    }
  }

  #switchTo(tunnel: TunnelIndex, reason: string): void {
    this.#active = tunnel;
    this.#switches++;
    this.#lastChange = { at: this.#clock.now(), reason };
    this.#applyRoutes(tunnel);
    this.emit('active', tunnel, reason);
  }

  #applyRoutes(tunnel: TunnelIndex): void {
    const t = this.#options.tunnels[tunnel - 1];
    if (!t) return;
    const routes = this.#options.prefixes.map((prefix) => ({ prefix, via: t.gateway, dev: t.ifname, metric: this.#options.metric ?? 100 }));
    this.#applying = this.#applying.then(async () => {
      // One batch: each prefix moves by an atomic replace, so there is no moment without a route.
      const outcome = await this.#routes.sync(routes);
      for (const c of outcome.conflicts) this.emit('error', new Error(`a route cgwd did not create holds ${c.prefix} at metric ${c.metric}; left as it is`));
      for (const f of outcome.failures) this.emit('error', new Error(`${f.verb} ${f.route.prefix} dev ${f.route.dev}: ${f.error}`));
    }).catch((error: unknown) => {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Re-applies the routes of the active tunnel (after its interface came back). */
  reapply(): void {
    if (this.#active !== null) this.#applyRoutes(this.#active);
  }

  /** A reload: other prefixes (the new ones go in before the old ones go) or another failback mode. */
  update(change: { readonly prefixes?: readonly string[]; readonly failback?: 'auto' | 'manual' }): void {
    this.#options = { ...this.#options, ...change };
    if (change.prefixes) this.reapply();
    if (change.failback) this.#decide('failback setting changed');
  }

  /** Waits until the route changes decided so far are in the table. */
  settled(): Promise<void> {
    return this.#applying;
  }

  /** Routes held in the kernel now. */
  get installed(): readonly { prefix: string; dev: string }[] {
    return this.#routes.held;
  }

  status(): { active: TunnelIndex | null; prefixes: readonly string[]; switches: number; lastChange: { at: number; reason: string } | undefined } {
    return { active: this.#active, prefixes: this.#options.prefixes, switches: this.#switches, lastChange: this.#lastChange };
  }

  async stop(): Promise<void> {
    this.#failbackTimer?.cancel();
    await this.#applying;
    await this.#routes.clear();
  }
}
