/**
 * Kernel routes the daemon owns. Every route it adds carries the protocol tag
 * `cgwd` (a number in iproute2's rt_protos space), so the daemon can find and
 * remove exactly its own routes at exit and, after a crash, at the next start.
 */
import { run, runCommand } from '../system/exec.js';

/** rtnetlink protocol number for routes cgwd installs (unassigned range, below 255). */
export const CGWD_ROUTE_PROTOCOL = 199;

export interface OwnedRoute {
  prefix: string;
  via: string;
  dev: string;
  metric: number;
}

export async function replaceRoute(route: OwnedRoute): Promise<void> {
  await run('ip', ['route', 'replace', route.prefix, 'via', route.via, 'dev', route.dev, 'metric', String(route.metric), 'proto', String(CGWD_ROUTE_PROTOCOL)]);
}

export async function deleteRoute(route: OwnedRoute): Promise<void> {
  await runCommand('ip', ['route', 'del', route.prefix, 'via', route.via, 'dev', route.dev, 'metric', String(route.metric), 'proto', String(CGWD_ROUTE_PROTOCOL)]);
}

/** Removes every route carrying cgwd's protocol tag (stale ones from a crashed run included). */
export async function flushOwnedRoutes(): Promise<number> {
  const listed = await runCommand('ip', ['-o', 'route', 'show', 'proto', String(CGWD_ROUTE_PROTOCOL)]);
  const count = listed.stdout.split('\n').filter((l) => l.trim() !== '').length;
  if (count > 0) await runCommand('ip', ['route', 'flush', 'proto', String(CGWD_ROUTE_PROTOCOL)]);
  return count;
}

/** Where routes go: the kernel (production) or a double (tests). */
export interface RouteTable {
  replace(route: OwnedRoute): Promise<void>;
  delete(route: OwnedRoute): Promise<void>;
}

export const kernelRouteTable: RouteTable = { replace: replaceRoute, delete: deleteRoute };

/** A RouteTable that counts what passes through it (status, metrics). */
export class CountingRouteTable implements RouteTable {
  installs = 0;
  removals = 0;
  constructor(private readonly inner: RouteTable = kernelRouteTable) {}

  async replace(route: OwnedRoute): Promise<void> {
    await this.inner.replace(route);
    this.installs += 1;
  }

  async delete(route: OwnedRoute): Promise<void> {
    await this.inner.delete(route);
    this.removals += 1;
  }
}
