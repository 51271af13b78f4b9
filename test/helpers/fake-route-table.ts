/**
 * A kernel-like RouteTable double: one route per (prefix, metric) as the IPv4 FIB keys them;
 * `add` fails with EEXIST when the key is taken, `replace` overwrites, `delete` must match owner,
 * device and gateway (ESRCH otherwise). Routes of other owners (a DHCP default) can be preloaded.
 */
import { ERRNO, type OwnedRoute, type RouteChange, type RouteResult, type RouteTable } from '../../src/routing/kernel-routes.js';

export interface FakeRoute extends OwnedRoute {
  owner: string;
}

export class FakeRouteTable implements RouteTable {
  readonly routes = new Map<string, FakeRoute>();
  readonly ops: string[] = [];
  batches = 0;

  constructor(private readonly owner = 'cgwd') {}

  preload(route: FakeRoute): void {
    this.routes.set(`${route.prefix}/${route.metric}`, route);
  }

  async apply(changes: readonly RouteChange[]): Promise<RouteResult[]> {
    this.batches += 1;
    await Promise.resolve();
    return changes.map(({ verb, route }) => {
      this.ops.push(`${verb} ${route.prefix} ${route.dev}`);
      const key = `${route.prefix}/${route.metric}`;
      const held = this.routes.get(key);
      if (verb === 'add') {
        if (held) return ERRNO.EEXIST;
        this.routes.set(key, { ...route, owner: this.owner });
        return 0;
      }
      if (verb === 'replace') {
        this.routes.set(key, { ...route, owner: this.owner });
        return 0;
      }
      if (!held || held.owner !== this.owner || held.dev !== route.dev || held.via !== route.via) return ERRNO.ESRCH;
      this.routes.delete(key);
      return 0;
    });
  }

  /** "prefix via X dev Y" for the routes of one owner (default: cgwd's). */
  list(owner = this.owner): string[] {
    return [...this.routes.values()].filter((r) => r.owner === owner).map((r) => `${r.prefix} via ${r.via ?? '-'} dev ${r.dev}`);
  }
}
