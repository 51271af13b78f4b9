/**
 * The set of kernel routes one routing component holds, brought to a wanted set in one batch.
 *
 * Routes are keyed as the kernel keys them (prefix and metric in the main table). For each wanted
 * route: already held the same way → nothing; held through another tunnel → `replace` (an atomic move,
 * no moment without a route); not held → `add`, which the kernel refuses with EEXIST when a route
 * cgwd did not create holds that key: that route is left alone and reported as a conflict. Then
 * every held route no longer wanted is deleted. Adds and moves come before deletes in the batch.
 */
import { ERRNO, errnoName, sameNexthops, type OwnedRoute, type RouteChange, type RouteTable } from './kernel-routes.js';

/** A multipath route is one kernel route with that key, so ECMP over both tunnels is one entry here too. */
const keyOf = (r: OwnedRoute): string => `${r.prefix}/${r.metric}`;

export interface SyncOutcome {
  /** Wanted routes the kernel refused because someone else's route holds the same prefix and metric. */
  readonly conflicts: readonly OwnedRoute[];
  /** Other failures (route, errno name). */
  readonly failures: readonly { route: OwnedRoute; verb: RouteChange['verb']; error: string }[];
  readonly changes: number;
}

export class OwnedRouteSet {
  readonly #held = new Map<string, OwnedRoute>();

  constructor(private readonly table: RouteTable) {}

  get held(): OwnedRoute[] {
    return [...this.#held.values()];
  }

  async sync(wanted: readonly OwnedRoute[]): Promise<SyncOutcome> {
    const wantedByKey = new Map(wanted.map((r) => [keyOf(r), r]));
    const changes: RouteChange[] = [];
    for (const [key, route] of wantedByKey) {
      const held = this.#held.get(key);
      if (held && sameNexthops(held, route)) continue;
      changes.push({ verb: held ? 'replace' : 'add', route });
    }
    for (const [key, route] of this.#held) if (!wantedByKey.has(key)) changes.push({ verb: 'delete', route });
    if (changes.length === 0) return { conflicts: [], failures: [], changes: 0 };
    const results = await this.table.apply(changes);
    const conflicts: OwnedRoute[] = [];
    const failures: { route: OwnedRoute; verb: RouteChange['verb']; error: string }[] = [];
    changes.forEach((change, i) => {
      const result = results[i] ?? ERRNO.ENODEV;
      const key = keyOf(change.route);
      if (change.verb === 'delete') {
        // Gone either way: deleted now, or already (its interface went away, or someone removed it).
        this.#held.delete(key);
        if (result !== 0 && result !== ERRNO.ESRCH && result !== ERRNO.ENODEV) failures.push({ route: change.route, verb: change.verb, error: errnoName(result) });
        return;
      }
      if (result === 0) this.#held.set(key, change.route);
      else if (change.verb === 'add' && result === ERRNO.EEXIST) conflicts.push(change.route);
      else {
        if (change.verb === 'replace') this.#held.delete(key);
        failures.push({ route: change.route, verb: change.verb, error: errnoName(result) });
      }
    });
    return { conflicts, failures, changes: changes.length };
  }

  /** Removes every held route. */
  async clear(): Promise<SyncOutcome> {
    return this.sync([]);
  }
}
