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

export interface OwnedRoute {
  prefix: string;
  /** Next hop; absent for an on-link route (an underlay pin to a directly connected peer). */
  via?: string;
  dev: string;
  metric: number;
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
  return ['route', verb, r.prefix, ...(r.via !== undefined ? ['via', r.via] : []), 'dev', r.dev, 'metric', String(r.metric), 'proto', String(protocol)].join(' ');
}

/** Removes this instance's routes: tagged `cgwd` and out of one of `devices` (stale ones from a crashed run included). */
export async function flushOwnedRoutes(devices: readonly string[]): Promise<number> {
  let count = 0;
  for (const dev of devices) {
    const listed = await runCommand('ip', ['-o', 'route', 'show', 'proto', String(CGWD_ROUTE_PROTOCOL), 'dev', dev]);
    if (listed.code !== 0) continue; // no such device: no routes through it either
    const n = listed.stdout.split('\n').filter((l) => l.trim() !== '').length;
    if (n > 0) await runCommand('ip', ['route', 'flush', 'proto', String(CGWD_ROUTE_PROTOCOL), 'dev', dev]);
    count += n;
  }
  return count;
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
