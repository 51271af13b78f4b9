/**
 * Underlay pins: a /32 to each AWS outside address through the route the host uses for it now.
 *
 * Installed only when the operator accepts a learned default route (settings `defaultRoute.accept`):
 * a 0.0.0.0/0 into a tunnel would otherwise also capture IKE and ESP to the AWS endpoints, and the
 * tunnel would carry its own encapsulation (RFC 4301 §5.1 processes outbound traffic by the SPD/route
 * chosen for the *outer* destination too). Every other prefix containing an AWS outside address is
 * refused for the kernel instead (route-safety.ts). The pin is resolved with `ip route get` before any
 * tunnel route exists, carries cgwd's protocol tag, and is added, never replaced: if the host already
 * has a route of that key, that route stays and already keeps the endpoint off the tunnel.
 */
import { ERRNO, errnoName, type OwnedRoute, type RouteTable } from './kernel-routes.js';
import { CGWD_ROUTE_PROTOCOL } from './kernel-routes.js';
import { runCommand } from '../system/exec.js';
import { isJsonObject } from '../config/json-values.js';

/** Metric of a pin: the most preferred non-zero value, so a /32 of someone else at the same metric is the only clash. */
export const PIN_METRIC = 1;

export interface UnderlayRoute {
  gateway: string | undefined;
  dev: string;
}

/** What `ip -j route get ADDRESS` answers: the gateway (if any) and device of the route in use. */
export function parseRouteGet(json: string): UnderlayRoute | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (!isJsonObject(first) || typeof first.dev !== 'string') return undefined;
  return { gateway: typeof first.gateway === 'string' ? first.gateway : undefined, dev: first.dev };
}

export async function resolveUnderlay(address: string): Promise<UnderlayRoute | undefined> {
  const r = await runCommand('ip', ['-j', 'route', 'get', address]);
  return r.code === 0 ? parseRouteGet(r.stdout) : undefined;
}

export interface PinOutcome {
  readonly pinned: readonly OwnedRoute[];
  /** Addresses already held by a host route of the same key (kept; they do the pin's job). */
  readonly existing: readonly string[];
  readonly failed: readonly { address: string; error: string }[];
}

export class UnderlayPins {
  #pinned: OwnedRoute[] = [];

  constructor(
    private readonly table: RouteTable,
    private readonly addresses: readonly string[],
    /** The TUN names: a resolved route through one of them means the host is already mis-routed. */
    private readonly tunnelDevices: readonly string[],
    private readonly resolve: (address: string) => Promise<UnderlayRoute | undefined> = resolveUnderlay,
  ) {}

  get pinned(): readonly OwnedRoute[] {
    return this.#pinned;
  }

  async pin(): Promise<PinOutcome> {
    const wanted: OwnedRoute[] = [];
    const failed: { address: string; error: string }[] = [];
    for (const address of this.addresses) {
      const via = await this.resolve(address);
      if (!via) failed.push({ address, error: 'no route to it in the host table' });
      else if (this.tunnelDevices.includes(via.dev)) failed.push({ address, error: `the host routes it through tunnel interface ${via.dev}` });
      else wanted.push({ prefix: `${address}/32`, ...(via.gateway !== undefined ? { via: via.gateway } : {}), dev: via.dev, metric: PIN_METRIC });
    }
    const results = await this.table.apply(wanted.map((route) => ({ verb: 'add' as const, route })));
    const existing: string[] = [];
    wanted.forEach((route, i) => {
      const r = results[i];
      const address = route.prefix.replace(/\/32$/, '');
      if (r === 0) this.#pinned.push(route);
      else if (r === ERRNO.EEXIST) existing.push(address);
      else failed.push({ address, error: errnoName(r ?? ERRNO.ENODEV) });
    });
    return { pinned: [...this.#pinned], existing, failed };
  }

  async unpin(): Promise<void> {
    const pins = this.#pinned.splice(0);
    await this.table.apply(pins.map((route) => ({ verb: 'delete' as const, route })));
  }
}

/** Removes pins a crashed run left: cgwd's tag, exactly ADDRESS/32. */
export async function flushStalePins(addresses: readonly string[]): Promise<void> {
  for (const address of addresses) await runCommand('ip', ['route', 'flush', 'exact', `${address}/32`, 'proto', String(CGWD_ROUTE_PROTOCOL)]);
}
