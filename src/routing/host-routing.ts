/**
 * The daemon's one hook into host routing state, start to stop:
 *   prepare()  removes what an earlier run of this instance left (its tagged routes through its own
 *              TUN names, its underlay pins, its stale TUNs; never an interface it did not create),
 *              turns IPv4 forwarding on, measures the underlay MTU, pins the AWS outside addresses
 *              when a learned default route is accepted;
 *   tunnelInterface()  loose rp_filter and cgwd's mark on each new TUN;
 *   safety / staticPrefixes()  the route-safety policy for BGP and the configured static routes;
 *   status()   refused routes with reasons, for `cgwd status` and metrics;
 *   stop()     unpins and removes every route of this instance that is left.
 */
import type { Logger } from 'pino';
import { ecmpActive, type Settings, type VpnConfig } from '../config/index.js';
import { NetlinkRouteTable, flushOwnedRoutes, type RouteTable } from './kernel-routes.js';
import { RouteSafety, countRefusals, type RefusalReason, type RefusedRoute, type RouteSafetyPolicy } from './route-safety.js';
import { UnderlayPins, flushStalePins } from './underlay-pins.js';
import {
  FULL_UNDERLAY_MTU,
  assertInterfacesFree,
  clearStaleInterfaces,
  enableIpForwarding,
  enableLayer4MultipathHash,
  ipForwarding,
  multipathHashPolicy,
  prepareTunnelInterface,
  underlayMtu,
} from '../system/host-preflight.js';

export interface RouteSafetyStatus {
  /** Prefixes kept out of the kernel, with why. */
  readonly refused: readonly RefusedRoute[];
  readonly counts: Readonly<Record<RefusalReason, number>>;
  readonly defaultRoute: { readonly accept: boolean; readonly metric: number; readonly pinned: readonly string[] };
}

export class HostRouting {
  readonly safety: Omit<RouteSafetyPolicy, 'sitePrefixes'>;
  #staticRefused: RefusedRoute[] = [];

  private constructor(
    private readonly config: VpnConfig,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly pins: UnderlayPins | undefined,
    readonly underlayMtu: number,
    acceptDefault: boolean,
  ) {
    this.safety = {
      awsOutsideAddresses: config.tunnels.map((t) => t.aws.outsideAddress),
      insideCidrs: config.tunnels.map((t) => t.insideCidr),
      acceptDefaultRoute: acceptDefault,
    };
  }

  static async prepare(config: VpnConfig, settings: Settings, logger: Logger, table: RouteTable = new NetlinkRouteTable()): Promise<HostRouting> {
    const aws = config.tunnels.map((t) => t.aws.outsideAddress);
    assertInterfacesFree(settings.interfaces); // before anything is flushed: another instance's TUNs and routes stay
    const staleRoutes = await flushOwnedRoutes(settings.interfaces, table);
    await flushStalePins(aws);
    if (staleRoutes > 0) logger.warn({ routes: staleRoutes }, 'removed stale routes of an earlier run');
    for (const ifname of await clearStaleInterfaces(settings.interfaces)) logger.warn({ ifname }, 'removed a stale tunnel interface of an earlier run');
    if (ipForwarding() === false) {
      try {
        enableIpForwarding();
        logger.warn('IPv4 forwarding was off: turned it on (net.ipv4.ip_forward=1) so the site can reach the VPC');
      } catch (error) {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'IPv4 forwarding is off and could not be turned on');
      }
    }
    if (ecmpActive(settings, config) && multipathHashPolicy() === 0) {
      try {
        enableLayer4MultipathHash();
        logger.warn('multipath hashing was on addresses only: set net.ipv4.fib_multipath_hash_policy=1 so flows spread over both tunnels');
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not set net.ipv4.fib_multipath_hash_policy=1: flows between two hosts all take one tunnel');
      }
    }
    let mtu = FULL_UNDERLAY_MTU;
    for (const address of aws) {
      const u = await underlayMtu(address);
      if (u && u.mtu < mtu) mtu = u.mtu;
    }
    if (mtu < FULL_UNDERLAY_MTU) logger.warn({ underlayMtu: mtu }, 'the underlay MTU toward AWS is below 1500: tunnel MTUs are lowered to match');
    let pins: UnderlayPins | undefined;
    let acceptDefault = settings.defaultRoute.accept;
    if (acceptDefault) {
      pins = new UnderlayPins(table, aws, settings.interfaces);
      const outcome = await pins.pin();
      if (outcome.failed.length > 0) {
        acceptDefault = false;
        logger.error({ failed: outcome.failed }, 'could not pin the AWS outside addresses to the underlay: a learned default route will be refused');
      } else logger.info({ pinned: outcome.pinned.map((p) => `${p.prefix} via ${p.via ?? '-'} dev ${p.dev}`), existing: outcome.existing }, 'AWS outside addresses pinned to the underlay');
    }
    return new HostRouting(config, settings, logger, pins, mtu, acceptDefault);
  }

  tunnelInterface(ifname: string): void {
    try {
      prepareTunnelInterface(ifname, this.config.connectionId);
    } catch (error) {
      this.logger.warn({ ifname, err: error instanceof Error ? error.message : String(error) }, 'could not set loose rp_filter on the tunnel interface');
    }
  }

  /** The configured static routes (at start, or a reload's) the safety policy lets into the kernel; the others are logged and shown. */
  staticPrefixes(settings: Pick<Settings, 'advertise' | 'staticRoutes'> = this.settings): string[] {
    const safety = new RouteSafety({ ...this.safety, sitePrefixes: settings.advertise });
    const accepted: string[] = [];
    this.#staticRefused = [];
    for (const prefix of settings.staticRoutes) {
      const v = safety.check(prefix);
      if (v.ok) accepted.push(prefix);
      else this.#staticRefused.push({ prefix, tunnels: [], reason: v.reason, detail: v.detail });
    }
    for (const r of this.#staticRefused) this.logger.warn({ prefix: r.prefix, reason: r.reason }, `static route refused: ${r.detail}`);
    return accepted;
  }

  status(learnedRefused: readonly RefusedRoute[] = []): RouteSafetyStatus {
    const refused = [...this.#staticRefused, ...learnedRefused];
    return {
      refused,
      counts: countRefusals(refused),
      defaultRoute: { accept: this.safety.acceptDefaultRoute, metric: this.settings.defaultRoute.metric, pinned: (this.pins?.pinned ?? []).map((p) => p.prefix) },
    };
  }

  async stop(): Promise<void> {
    await this.pins?.unpin();
    await flushOwnedRoutes(this.settings.interfaces);
  }
}
