/**
 * Dynamic routing over the two tunnels: which kernel routes to install from
 * what AWS announces on each BGP session, and what each session announces back.
 *
 * Outbound (kernel routes). A prefix is usable on a tunnel only while that
 * tunnel is healthy (IKE and CHILD SA up, keepalives answered) AND its session
 * is Established: a tunnel that loses health is dropped at once, without
 * waiting 30 s for its BGP hold timer. Among the usable tunnels the best route
 * wins: shortest AS path, then lowest MED (absent = 0, RFC 4271 §9.1.2.2; AWS
 * lowers the MED on the surviving tunnel during maintenance: User Guide,
 * "Tunnel endpoint replacements"),
 * then tunnel 1. In active-active mode (ECMP, for a transit gateway) the
 * tunnels tied with the best on AS path and MED share one multipath kernel
 * route; a tunnel that loses health or is marked down by AWS's MED leaves it
 * in the next batch, an atomic replace. The `via` is the tunnel's AWS inside
 * address, the only neighbour on its /30.
 *
 * Inbound (what AWS is told). Active/standby by default: the active tunnel
 * (tunnel 1 while it is healthy) advertises the site prefixes plainly, the
 * standby one with an AS-path prepend of 3, so AWS sends return traffic down
 * the active tunnel too (otherwise replies prefer tunnel 1 whatever we send
 * on; User Guide, "Site-to-Site VPN routing options"). When one tunnel is unhealthy and
 * the other is not, the dead one withdraws everything and, if the dead one
 * was the tunnel AWS preferred, the survivor also announces both halves of
 * every site prefix: AWS prefers the longest prefix, so it moves return
 * traffic at once instead of after its own 30 s hold timer or DPD. The halves
 * are withdrawn when the tunnel returns. They must fit the advertisement
 * budget (100 towards a VGW); when they do not, the trick is skipped and said so.
 *
 * `decideBgpRouting` is the pure decision; `BgpRouting` feeds it from the
 * speakers and tunnel health and applies the result (routes through a
 * RouteTable, advertisements through each speaker's setAdvertised).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { CgwdError } from '../errors.js';
import type { BgpSpeaker, BgpStateEvent, LearnedRoute } from '../bgp/speaker.js';
import { splitPrefix, parsePrefix, formatPrefix } from '../bgp/prefix.js';
import { NetlinkRouteTable, routeOver, type OwnedRoute, type RouteTable } from './kernel-routes.js';
import { OwnedRouteSet } from './owned-routes.js';
import { RouteSafety, countRefusals, type RefusedRoute, type RouteSafetyPolicy } from './route-safety.js';
import type { TunnelIndex } from '../config/model.js';
import type { StaticTunnel } from './static-failover.js';

/** A tunnel as routing sees it: interface, AWS inside address (next hop), health, session, learned routes. */
export interface BgpTunnelView extends StaticTunnel {
  /** IKE/CHILD SA up and keepalives answered. */
  readonly healthy: boolean;
  /** BGP session Established. */
  readonly established: boolean;
  readonly routes: readonly LearnedRoute[];
}

export type BgpRoutingMode = 'active-standby' | 'active-active';

export interface BgpRoutingPolicy {
  readonly mode: BgpRoutingMode;
  /** The site prefixes to advertise on both tunnels. */
  readonly sitePrefixes: readonly string[];
  /** Most prefixes one session may advertise (100 towards a VGW, 1,000 towards a TGW). */
  readonly maxAdvertisedPrefixes: number;
  /** Prepend on the standby tunnel's advertisements (default 3). */
  readonly standbyAsPathPrepend?: number;
  /** Prepends on top of that on both tunnels: the standby box of a redundant pair (default 0). */
  readonly boxAsPathPrepend?: number;
  /** Kernel route metric (default 100). */
  readonly metric?: number;
  /** Announce more-specific halves on the survivor while the preferred tunnel is down (default true). */
  readonly moreSpecificsOnFailover?: boolean;
  /** Which learned prefixes may reach the kernel (route-safety.ts); absent: the site prefixes and martians only. */
  readonly safety?: Omit<RouteSafetyPolicy, 'sitePrefixes'>;
  /** Metric of a learned default route, when the safety policy accepts one (default: `metric`). */
  readonly defaultRouteMetric?: number;
}

/** What one session should advertise; matches BgpSpeaker.setAdvertised. */
export interface AdvertisementPlan {
  readonly prefixes: readonly string[];
  readonly asPathPrepend: number;
  readonly med?: number;
}

export type MoreSpecificsState =
  /** Both tunnels up (or both down): nothing to do. */
  | 'not-needed'
  /** The survivor announces the halves. */
  | 'announced'
  /** They would not fit the budget. */
  | 'over-budget'
  /** Turned off by policy. */
  | 'disabled';

export interface PrefixChoice {
  readonly prefix: string;
  /** Tunnels carrying the prefix, best first (one in active/standby, possibly two in active-active). */
  readonly tunnels: readonly TunnelIndex[];
  readonly asPathLength: number;
  readonly med: number;
}

export interface BgpRoutingDecision {
  /** Kernel routes to have installed. */
  readonly routes: readonly OwnedRoute[];
  readonly choices: readonly PrefixChoice[];
  readonly advertisements: Readonly<Record<TunnelIndex, AdvertisementPlan>>;
  /** The tunnel AWS is steered to, or null when neither is healthy. */
  readonly activeTunnel: TunnelIndex | null;
  readonly moreSpecifics: MoreSpecificsState;
  /** Human-readable remarks, e.g. why the more-specifics were skipped. */
  readonly notes: readonly string[];
  /** Learned prefixes kept out of the kernel, with the reason (shown in status). */
  readonly refused: readonly RefusedRoute[];
}

export const DEFAULT_STANDBY_AS_PATH_PREPEND = 3;
export const DEFAULT_BGP_ROUTE_METRIC = 100;

const other = (tunnel: TunnelIndex): TunnelIndex => (tunnel === 1 ? 2 : 1);
const PREFERRED_TUNNEL: TunnelIndex = 1;

function compareRoutes(a: { route: LearnedRoute; tunnel: TunnelIndex }, b: { route: LearnedRoute; tunnel: TunnelIndex }): number {
  return a.route.asPathLength - b.route.asPathLength || (a.route.med ?? 0) - (b.route.med ?? 0) || a.tunnel - b.tunnel;
}

/** Kernel routes from the learned routes of the usable tunnels. */
function chooseRoutes(
  tunnels: readonly [BgpTunnelView, BgpTunnelView],
  mode: BgpRoutingMode,
  metric: number,
  defaultMetric: number,
  safety: RouteSafety,
): { routes: OwnedRoute[]; choices: PrefixChoice[]; refused: RefusedRoute[] } {
  const candidates = new Map<string, { route: LearnedRoute; tunnel: TunnelIndex }[]>();
  const refused = new Map<string, { prefix: string; tunnels: TunnelIndex[]; reason: RefusedRoute['reason']; detail: string }>();
  for (const t of tunnels) {
    if (!t.established) continue;
    for (const route of t.routes) {
      const verdict = safety.check(route.prefix);
      if (!verdict.ok) {
        const seen = refused.get(route.prefix);
        if (seen) seen.tunnels.push(t.index);
        else refused.set(route.prefix, { prefix: route.prefix, tunnels: [t.index], reason: verdict.reason, detail: verdict.detail });
      }
    }
    if (!t.healthy) continue;
    for (const route of t.routes) {
      if (refused.has(route.prefix)) continue;
      const list = candidates.get(route.prefix) ?? [];
      list.push({ route, tunnel: t.index });
      candidates.set(route.prefix, list);
    }
  }
  const routes: OwnedRoute[] = [];
  const choices: PrefixChoice[] = [];
  for (const [prefix, list] of [...candidates].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort(compareRoutes);
    const best = list[0];
    if (!best) continue;
    const chosen = mode === 'active-active' ? list.filter((c) => compareRoutes({ ...c, tunnel: best.tunnel }, best) === 0) : [best];
    // Tied tunnels share one multipath route (the kernel hashes each flow onto one of them).
    const hops = chosen.flatMap((c) => {
      const tunnel = tunnels[c.tunnel - 1];
      return tunnel ? [{ via: tunnel.gateway, dev: tunnel.ifname }] : [];
    });
    if (hops.length > 0) routes.push(routeOver(prefix, hops, prefix === '0.0.0.0/0' ? defaultMetric : metric));
    choices.push({ prefix, tunnels: chosen.map((c) => c.tunnel), asPathLength: best.route.asPathLength, med: best.route.med ?? 0 });
  }
  return { routes, choices, refused: [...refused.values()].sort((a, b) => a.prefix.localeCompare(b.prefix)) };
}

const safetyCache = new WeakMap<BgpRoutingPolicy, RouteSafety>();
function safetyOf(policy: BgpRoutingPolicy): RouteSafety {
  let safety = safetyCache.get(policy);
  if (!safety) {
    safety = new RouteSafety({
      awsOutsideAddresses: policy.safety?.awsOutsideAddresses ?? [],
      insideCidrs: policy.safety?.insideCidrs ?? [],
      acceptDefaultRoute: policy.safety?.acceptDefaultRoute ?? false,
      sitePrefixes: policy.sitePrefixes,
    });
    safetyCache.set(policy, safety);
  }
  return safety;
}

/**
 * The pure decision: kernel routes and both advertisement plans from the two
 * tunnels' state and the policy.
 */
export function decideBgpRouting(tunnels: readonly [BgpTunnelView, BgpTunnelView], policy: BgpRoutingPolicy): BgpRoutingDecision {
  const metric = policy.metric ?? DEFAULT_BGP_ROUTE_METRIC;
  const prepend = policy.standbyAsPathPrepend ?? DEFAULT_STANDBY_AS_PATH_PREPEND;
  const site = [...policy.sitePrefixes];
  const { routes, choices, refused } = chooseRoutes(tunnels, policy.mode, metric, policy.defaultRouteMetric ?? metric, safetyOf(policy));
  const healthy = (index: TunnelIndex): boolean => tunnels[index - 1]?.healthy ?? false;
  const notes: string[] = [];

  const plain: AdvertisementPlan = { prefixes: site, asPathPrepend: 0 };
  const advertisements: Record<TunnelIndex, AdvertisementPlan> =
    policy.mode === 'active-active' ? { 1: plain, 2: plain } : { 1: plain, 2: { prefixes: site, asPathPrepend: prepend } };
  let activeTunnel: TunnelIndex | null = healthy(PREFERRED_TUNNEL) ? PREFERRED_TUNNEL : healthy(other(PREFERRED_TUNNEL)) ? other(PREFERRED_TUNNEL) : null;
  let moreSpecifics: MoreSpecificsState = 'not-needed';

  const onlyOneHealthy = healthy(1) !== healthy(2);
  if (onlyOneHealthy) {
    const survivor: TunnelIndex = healthy(1) ? 1 : 2;
    const dead = other(survivor);
    activeTunnel = survivor;
    // The dead tunnel withdraws everything: if any of it still reaches AWS, AWS stops using it.
    advertisements[dead] = { prefixes: [], asPathPrepend: 0 };
    advertisements[survivor] = plain;
    const awsPreferredTheDeadOne = policy.mode === 'active-active' || dead === PREFERRED_TUNNEL;
    if (awsPreferredTheDeadOne) {
      if (policy.moreSpecificsOnFailover === false) {
        moreSpecifics = 'disabled';
      } else {
        const halves = site.flatMap((p) => splitPrefix(p) ?? []);
        const total = new Set([...site, ...halves]).size;
        if (total <= policy.maxAdvertisedPrefixes) {
          advertisements[survivor] = { prefixes: [...new Set([...site, ...halves])], asPathPrepend: 0 };
          moreSpecifics = 'announced';
          notes.push(`tunnel ${dead} is down: tunnel ${survivor} announces ${halves.length} more-specific prefixes so AWS moves return traffic now`);
        } else {
          moreSpecifics = 'over-budget';
          notes.push(
            `tunnel ${dead} is down, but announcing more-specific prefixes on tunnel ${survivor} would take ${total} of the ${policy.maxAdvertisedPrefixes} allowed; skipped, AWS moves return traffic when its own hold timer or DPD expires`,
          );
        }
      }
    }
  }
  const box = policy.boxAsPathPrepend ?? 0;
  if (box > 0) for (const t of [1, 2] as const) advertisements[t] = { ...advertisements[t], asPathPrepend: advertisements[t].asPathPrepend + box };
  return { routes, choices, advertisements, activeTunnel, moreSpecifics, notes, refused };
}

// ---------------------------------------------------------------- applying decisions

/** Where advertisement plans go; a BgpSpeaker is one. */
export interface AdvertisementTarget {
  setAdvertised(prefixes: readonly string[], options: { asPathPrepend?: number; med?: number }): void;
}

export interface BgpRoutingOptions {
  readonly tunnels: readonly [StaticTunnel, StaticTunnel];
  readonly policy: BgpRoutingPolicy;
  readonly speakers: readonly [AdvertisementTarget, AdvertisementTarget];
  /** Where routes go (default: the kernel's main table); tests pass a double. */
  readonly routeTable?: RouteTable;
  readonly logger?: Logger;
}

interface BgpRoutingEvents {
  decision: [BgpRoutingDecision];
  error: [Error];
}

interface TunnelInputs {
  healthy: boolean;
  established: boolean;
  routes: readonly LearnedRoute[];
}

const planKey = (p: AdvertisementPlan): string => `${p.asPathPrepend}/${p.med ?? '-'}/${[...p.prefixes].sort().join(',')}`;

function checkPolicy(policy: BgpRoutingPolicy): void {
  const { sitePrefixes, maxAdvertisedPrefixes } = policy;
  for (const p of sitePrefixes) formatPrefix(parsePrefix(p));
  if (sitePrefixes.length > maxAdvertisedPrefixes) {
    throw new CgwdError(
      'BGP_TOO_MANY_PREFIXES',
      `${sitePrefixes.length} site prefixes, but AWS accepts at most ${maxAdvertisedPrefixes} per session and resets it past that; summarise them`,
    );
  }
}

export class BgpRouting extends EventEmitter<BgpRoutingEvents> {
  readonly #inputs: Record<TunnelIndex, TunnelInputs> = {
    1: { healthy: false, established: false, routes: [] },
    2: { healthy: false, established: false, routes: [] },
  };
  readonly #routes: OwnedRouteSet;
  #conflicts: RefusedRoute[] = [];
  #refusedKey = '';
  #applying: Promise<void> = Promise.resolve();
  readonly #planApplied: Partial<Record<TunnelIndex, string>> = {};
  #lastDecision: BgpRoutingDecision | undefined;
  #stopped = false;
  readonly #unsubscribe: Record<TunnelIndex, (() => void) | undefined> = { 1: undefined, 2: undefined };
  #policy: BgpRoutingPolicy;
  readonly #speakers: [AdvertisementTarget, AdvertisementTarget];

  constructor(private readonly options: BgpRoutingOptions) {
    super();
    checkPolicy(options.policy);
    this.#routes = new OwnedRouteSet(options.routeTable ?? new NetlinkRouteTable());
    this.#policy = options.policy;
    this.#speakers = [...options.speakers];
  }

  /**
   * A reload: new site prefixes or limits. Only the advertisements change (UPDATEs and
   * withdrawals on the running sessions, no reset); an invalid policy throws and changes nothing.
   */
  setPolicy(policy: Partial<Pick<BgpRoutingPolicy, 'sitePrefixes' | 'maxAdvertisedPrefixes' | 'boxAsPathPrepend' | 'mode'>>): void {
    const next = { ...this.#policy, ...policy };
    checkPolicy(next);
    this.#policy = next;
    this.#decide();
  }

  /** A reload restarted the tunnel's session: follow the new speaker and give it the current plan. */
  replaceSpeaker(tunnel: TunnelIndex, speaker: AdvertisementTarget & Pick<BgpSpeaker, 'on' | 'off' | 'state' | 'learnedRoutes'>): void {
    this.#speakers[tunnel - 1] = speaker;
    delete this.#planApplied[tunnel];
    this.watch(tunnel, speaker);
  }

  /** Tunnel health from IKE/CHILD SA state and keepalives; false drops the tunnel's routes at once. */
  setHealth(tunnel: TunnelIndex, healthy: boolean): void {
    if (this.#inputs[tunnel].healthy === healthy) return;
    this.#inputs[tunnel].healthy = healthy;
    this.#decide();
  }

  setSessionEstablished(tunnel: TunnelIndex, established: boolean): void {
    if (this.#inputs[tunnel].established === established) return;
    this.#inputs[tunnel].established = established;
    this.#decide();
  }

  setLearnedRoutes(tunnel: TunnelIndex, routes: readonly LearnedRoute[]): void {
    this.#inputs[tunnel].routes = routes;
    this.#decide();
  }

  /** Follows a speaker's session state and learned routes. */
  watch(tunnel: TunnelIndex, speaker: Pick<BgpSpeaker, 'on' | 'off' | 'state' | 'learnedRoutes'>): void {
    const onState = (event: BgpStateEvent): void => this.setSessionEstablished(tunnel, event.state === 'Established');
    const onRoutes = (routes: readonly LearnedRoute[]): void => this.setLearnedRoutes(tunnel, routes);
    this.#unsubscribe[tunnel]?.();
    speaker.on('state', onState);
    speaker.on('routes', onRoutes);
    this.#unsubscribe[tunnel] = () => {
      speaker.off('state', onState);
      speaker.off('routes', onRoutes);
    };
    this.#inputs[tunnel].established = speaker.state === 'Established';
    this.#inputs[tunnel].routes = speaker.learnedRoutes();
    this.#decide();
  }

  /** The latest decision (after start, always defined). */
  get decision(): BgpRoutingDecision | undefined {
    return this.#lastDecision;
  }

  /** Makes the first decision: advertisements for both speakers, no routes yet. */
  start(): void {
    this.#decide();
  }

  /** Waits until the route changes decided so far are in the table. */
  settled(): Promise<void> {
    return this.#applying;
  }

  status(): { decision: BgpRoutingDecision | undefined; installed: readonly OwnedRoute[]; refused: readonly RefusedRoute[] } {
    return { decision: this.#lastDecision, installed: this.#routes.held, refused: this.refused() };
  }

  /** Everything kept out of the kernel: by the safety policy, and by the kernel (someone else's route). */
  refused(): RefusedRoute[] {
    return [...(this.#lastDecision?.refused ?? []), ...this.#conflicts];
  }

  /** Stops following the speakers and removes every route this instance installed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const tunnel of [1, 2] as const) {
      this.#unsubscribe[tunnel]?.();
      this.#unsubscribe[tunnel] = undefined;
    }
    await this.#applying;
    const outcome = await this.#routes.clear();
    for (const f of outcome.failures) this.#error(new Error(`${f.verb} ${f.route.prefix} dev ${f.route.dev}: ${f.error}`));
  }

  #view(): [BgpTunnelView, BgpTunnelView] {
    const [t1, t2] = this.options.tunnels;
    return [
      { ...t1, ...this.#inputs[1] },
      { ...t2, ...this.#inputs[2] },
    ];
  }

  #decide(): void {
    if (this.#stopped) return;
    const decision = decideBgpRouting(this.#view(), this.#policy);
    const previous = this.#lastDecision;
    this.#lastDecision = decision;
    if (decision.moreSpecifics !== previous?.moreSpecifics || decision.activeTunnel !== previous?.activeTunnel) {
      for (const note of decision.notes) {
        if (decision.moreSpecifics === 'over-budget') this.options.logger?.warn({ component: 'bgp-routing' }, note);
        else this.options.logger?.info({ component: 'bgp-routing' }, note);
      }
    }
    this.#applyAdvertisements(decision);
    this.#applyRoutes(decision.routes);
    this.#logRefusals();
    this.emit('decision', decision);
  }

  /** One log line when the set of refused prefixes changes: counts by reason and a few examples. */
  #logRefusals(): void {
    const refused = this.refused();
    const key = refused.map((r) => `${r.prefix}:${r.reason}`).join(',');
    if (key === this.#refusedKey) return;
    this.#refusedKey = key;
    if (refused.length === 0) return;
    const counts = Object.fromEntries(Object.entries(countRefusals(refused)).filter(([, n]) => n > 0));
    this.options.logger?.warn({ component: 'bgp-routing', refused: counts, examples: refused.slice(0, 5).map((r) => `${r.prefix}: ${r.detail}`) }, 'learned routes kept out of the kernel');
  }

  #applyAdvertisements(decision: BgpRoutingDecision): void {
    for (const tunnel of [1, 2] as const) {
      const plan = decision.advertisements[tunnel];
      const key = planKey(plan);
      if (this.#planApplied[tunnel] === key) continue;
      try {
        this.#speakers[tunnel - 1]?.setAdvertised(plan.prefixes, { asPathPrepend: plan.asPathPrepend, ...(plan.med !== undefined ? { med: plan.med } : {}) });
        this.#planApplied[tunnel] = key;
      } catch (error) {
        this.#error(error);
      }
    }
  }

  /** Brings the kernel to the wanted routes in one batch (owned-routes.ts: moves are atomic replaces). */
  #applyRoutes(wanted: readonly OwnedRoute[]): void {
    this.#applying = this.#applying.then(async () => {
      if (this.#stopped) return;
      const outcome = await this.#routes.sync(wanted);
      this.#conflicts = outcome.conflicts.map((r) => ({
        prefix: r.prefix,
        tunnels: [],
        reason: 'conflict',
        detail: `a route cgwd did not create holds ${r.prefix} at metric ${r.metric}; left as it is`,
      }));
      for (const f of outcome.failures) this.#error(new Error(`${f.verb} ${f.route.prefix} dev ${f.route.dev}: ${f.error}`));
      if (outcome.conflicts.length > 0) this.#logRefusals();
    }).catch((error: unknown) => this.#error(error));
  }

  #error(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else this.options.logger?.error({ component: 'bgp-routing', error: e.message }, 'BGP routing');
  }
}
