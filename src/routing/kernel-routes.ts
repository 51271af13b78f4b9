/**
 * Kernel routes the daemon owns, programmed in batches.
 *
 * Ownership. Every route cgwd adds carries the protocol tag `cgwd` (199, in iproute2's rt_protos
 * space) and goes out of one of this instance's own TUN interfaces (or, for an underlay pin, to one
 * of this connection's AWS outside addresses). Two instances on one host (two VPN connections)
 * necessarily have different TUN names, so "tag 199 and one of my devices" is per instance:
 * `flushOwnedRoutes` removes exactly that, never a route of the other instance or of anyone else.
 *
 * Never someone else's route. A route cgwd has not installed yet goes in with `add`
 * (NLM_F_CREATE|NLM_F_EXCL): if the kernel already holds that prefix at that metric (the route key
 * of an IPv4 FIB entry is prefix, TOS and priority) the add fails with EEXIST and is reported as a
 * conflict; the existing route is left as it is. `replace` (NLM_F_REPLACE) is used only to move a route
 * cgwd itself holds from one tunnel to the other, which the kernel does in one step (no moment
 * without a route). `delete` names protocol, metric, gateway and device, so it matches only ours.
 *
 * Programming. The production table (`NetlinkRouteTable`) hands a whole batch to the addon, which
 * writes rtnetlink requests in 32 KB chunks, each with NLM_F_ACK, and matches every answer to its
 * request (native/src/rtnl.c). `cgwd lab bench --failover-only` measures it against one
 * `ip -force -batch -` process per batch: see the README's routing section for the figures.
 */
import { constants as osConstants } from 'node:os';
import { loadDataplane, type NativeRouteChange } from '../native/addon.js';
import { parsePrefix, formatAddress } from '../bgp/prefix.js';
import { runCommand } from '../system/exec.js';

/** rtnetlink protocol number for routes cgwd installs (unassigned in rt_protos, below 255). */
export const CGWD_ROUTE_PROTOCOL = 199;

export interface Nexthop {
  readonly via: string;
  readonly dev: string;
}

export interface OwnedRoute {
  prefix: string;
  /** Next hop; absent for an on-link route (an underlay pin to a directly connected peer). */
  via?: string;
  dev: string;
  metric: number;
  /**
   * Two or more: an equal-cost multipath route over these next hops (ECMP over both tunnels), one
   * kernel route; `via`/`dev` then repeat the first of them.
   */
  nexthops?: readonly Nexthop[];
}

/** Every interface a route leaves by. */
export function routeDevices(route: Pick<OwnedRoute, 'dev' | 'nexthops'>): string[] {
  return route.nexthops && route.nexthops.length >= 2 ? route.nexthops.map((n) => n.dev) : [route.dev];
}

/** One next hop, or an equal-cost multipath route when there are several. */
export function routeOver(prefix: string, nexthops: readonly Nexthop[], metric: number): OwnedRoute {
  const [first] = nexthops;
  if (!first) throw new RangeError(`a route to ${prefix} needs a next hop`);
  return { prefix, via: first.via, dev: first.dev, metric, ...(nexthops.length >= 2 ? { nexthops: [...nexthops] } : {}) };
}

export function sameNexthops(a: OwnedRoute, b: OwnedRoute): boolean {
  const an = a.nexthops && a.nexthops.length >= 2 ? a.nexthops : [{ via: a.via, dev: a.dev }];
  const bn = b.nexthops && b.nexthops.length >= 2 ? b.nexthops : [{ via: b.via, dev: b.dev }];
  return an.length === bn.length && an.every((n, i) => n.via === bn[i]?.via && n.dev === bn[i]?.dev);
}

export type RouteVerb = 'add' | 'replace' | 'delete';

export interface RouteChange {
  readonly verb: RouteVerb;
  readonly route: OwnedRoute;
}

/** The kernel's answer to one change: 0 = done, else an errno (EEXIST, ESRCH, ENODEV…). */
export type RouteResult = number;

export const ERRNO = {
  EEXIST: osConstants.errno.EEXIST,
  ESRCH: osConstants.errno.ESRCH,
  ENODEV: osConstants.errno.ENODEV,
} as const;

export function errnoName(errno: number): string {
  const entry = Object.entries(osConstants.errno).find(([, v]) => v === errno);
  return entry ? entry[0] : `errno ${errno}`;
}

/** Where routes go: the kernel (production) or a double (tests). */
export interface RouteTable {
  /** Applies the changes in order; one result per change. Never throws for a single change's failure. */
  apply(changes: readonly RouteChange[]): Promise<RouteResult[]>;
}

export function toNativeChange(change: RouteChange, protocol = CGWD_ROUTE_PROTOCOL): NativeRouteChange {
  const { network, length } = parsePrefix(change.route.prefix);
  return {
    verb: change.verb,
    dst: formatAddress(network),
    dstLen: length,
    ...(change.route.via !== undefined ? { gateway: change.route.via } : {}),
    dev: change.route.dev,
    metric: change.route.metric,
    protocol,
    ...(change.route.nexthops && change.route.nexthops.length >= 2 ? { nexthops: change.route.nexthops.map((n) => ({ gateway: n.via, dev: n.dev })) } : {}),
  };
}

/** rtnetlink from the addon: one call per batch, every change acknowledged. */
export class NetlinkRouteTable implements RouteTable {
  constructor(
    private readonly protocol = CGWD_ROUTE_PROTOCOL,
    /** A named namespace (/run/netns) to program instead of the daemon's own (benchmarks). */
    private readonly netns?: string,
  ) {}

  apply(changes: readonly RouteChange[]): Promise<RouteResult[]> {
    if (changes.length === 0) return Promise.resolve([]);
    const native = changes.map((c) => toNativeChange(c, this.protocol));
    const addon = loadDataplane();
    return Promise.resolve(this.netns === undefined ? addon.routeBatch(native) : addon.routeBatch(native, this.netns));
  }
}

/** `ip route` arguments for one change (the `ip -batch` alternative, measured by the benchmark). */
export function ipBatchLine(change: RouteChange, protocol = CGWD_ROUTE_PROTOCOL): string {
  const verb = change.verb === 'add' ? 'add' : change.verb === 'replace' ? 'replace' : 'del';
  const r = change.route;
  const tail = ['metric', String(r.metric), 'proto', String(protocol)];
  if (r.nexthops && r.nexthops.length >= 2) {
    const hops = change.verb === 'delete' ? [] : r.nexthops.flatMap((n) => ['nexthop', 'via', n.via, 'dev', n.dev]);
    return ['route', verb, r.prefix, ...tail, ...hops].join(' ');
  }
  return ['route', verb, r.prefix, ...(r.via !== undefined ? ['via', r.via] : []), 'dev', r.dev, ...tail].join(' ');
}

interface ListedRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  nexthops?: { gateway?: string; dev?: string }[];
}

/**
 * Removes this instance's routes: tagged `cgwd` and out of one of `devices` (stale ones from a crashed
 * run included). A multipath route has no single device (`ip route show dev` does not list it), so the
 * whole tagged table is read once and matched on every next hop.
 */
export async function flushOwnedRoutes(
  devices: readonly string[],
  table: RouteTable = new NetlinkRouteTable(),
  /** A named namespace to read instead of the daemon's own (tests); `table` must program the same one. */
  netns?: string,
): Promise<number> {
  const listed = await runCommand('ip', [...(netns ? ['-n', netns] : []), '-j', 'route', 'show', 'proto', String(CGWD_ROUTE_PROTOCOL)]);
  if (listed.code !== 0 || listed.stdout.trim() === '') return 0;
  let routes: ListedRoute[];
  try {
    routes = JSON.parse(listed.stdout) as ListedRoute[];
  } catch {
    return 0;
  }
  const mine = new Set(devices);
  const deletes: RouteChange[] = [];
  for (const r of Array.isArray(routes) ? routes : []) {
    const hops: Nexthop[] = (r.nexthops ?? []).flatMap((n) => (typeof n.gateway === 'string' && typeof n.dev === 'string' ? [{ via: n.gateway, dev: n.dev }] : []));
    const devs = hops.length > 0 ? hops.map((n) => n.dev) : r.dev !== undefined ? [r.dev] : [];
    if (!devs.some((d) => mine.has(d))) continue;
    const prefix = r.dst === undefined || r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    const metric = r.metric ?? 0;
    const route: OwnedRoute = hops.length >= 2 ? routeOver(prefix, hops, metric) : { prefix, dev: devs[0] ?? '', metric, ...(r.gateway !== undefined ? { via: r.gateway } : {}) };
    deletes.push({ verb: 'delete', route });
  }
  const results = await table.apply(deletes);
  return results.filter((e) => e === 0).length;
}

/** A RouteTable that counts what passes through it (status, metrics). */
export class CountingRouteTable implements RouteTable {
  installs = 0;
  removals = 0;
  failures = 0;
  constructor(private readonly inner: RouteTable = new NetlinkRouteTable()) {}

  async apply(changes: readonly RouteChange[]): Promise<RouteResult[]> {
    const results = await this.inner.apply(changes);
    changes.forEach((c, i) => {
      if (results[i] !== 0) this.failures += 1;
      else if (c.verb === 'delete') this.removals += 1;
      else this.installs += 1;
    });
    return results;
  }
}
