/**
 * `cgwd up`: one VPN connection, both tunnels, for ever.
 *
 * Start order (each step needs the one before):
 *   1. host routing (src/routing/host-routing.ts): remove what a crashed run of this instance left,
 *      IPv4 forwarding, underlay MTU, underlay pins when a learned default route is accepted;
 *   2. the data plane: its packet thread, the UDP 4500 socket, one TUN per tunnel
 *      carrying the tunnel's inside address;
 *   3. IKE: UDP 500 in Node, UDP 4500 through the data plane (non-ESP marker), one
 *      IkeConnection per tunnel whose CHILD SAs go straight into the data plane;
 *   4. per tunnel keepalive probes generated in the data plane (health, RTT, loss);
 *   5. routing: static prefixes through the healthy preferred tunnel, or one BGP session
 *      per tunnel whose routes (and the tunnels' health) decide the kernel routes;
 *   6. the control socket for `cgwd status`.
 *   7. READY=1 to systemd, STATUS= and the watchdog (src/service; AWS is never awaited).
 * Stop (SIGINT/SIGTERM) reverses it: DELETE at the peer, routes removed, TUNs
 * closed, socket removed.
 */
import type { Logger } from 'pino';
import type { Settings, TunnelConfig, VpnConfig } from '../config/index.js';
import { wipe } from '../crypto/bytes.js';
import { maxInnerPacket } from '../dataplane/mtu.js';
import { Dataplane } from '../dataplane/index.js';
import type { ChildSaInstall, ChildSaSink, Endpoint } from '../ike/runtime.js';
import { IKE_PORT, IkeDemux, NAT_T_PORT, UdpIkeSockets, type IkeCarrier } from '../ike/transport/udp.js';
import type { IkeConnection, IkeTiming } from '../ike/index.js';
import { BgpSpeaker } from '../bgp/index.js';
import { MAX_ADVERTISED_PREFIXES } from '../config/aws-limits.js';
import { BgpRouting } from '../routing/bgp-routing.js';
import { CountingRouteTable, routeDevices } from '../routing/kernel-routes.js';
import { HostRouting } from '../routing/host-routing.js';
import { detailFor } from '../metrics/aws-tunnel-log.js';
import { CgwdMetrics } from '../metrics/metrics.js';
import { MetricsServer } from '../metrics/server.js';
import { TunnelActivityLog, type ActivityTunnel } from './tunnel-activity.js';
import { CGWD_VERSION } from '../version.js';
import { StaticFailover } from '../routing/static-failover.js';
import { CgwdError } from '../errors.js';
import { runCommand } from '../system/exec.js';
import { Keepalive } from '../tunnel/keepalive.js';
import { DataplaneProbeDriver } from '../tunnel/probe-driver.js';
import { watchNatRebinding } from '../tunnel/nat-rebind.js';
import { IkePair, resolveBindAddress } from '../tunnel/ike-pair.js';
import type { TunnelIndex } from '../config/model.js';
import type { DaemonStatus, FailoverRecord, ReloadRecord, TunnelStatus } from './status.js';
import { applyReload, type ReloadResult, type ReloadTarget } from './reload.js';
import { planReload, type ReloadPlan, type TunnelChanges } from '../config/diff.js';
import { ConfigError, ecmpActive, formatProblem, SettingsError } from '../config/index.js';
import { controlSocketAnswers } from '../control/client.js';
import { ControlServer } from '../control/server.js';
import { systemClock } from '../time/clock.js';
import { ServiceNotifier } from '../service/notify.js';
import { attachService } from '../service/daemon-service.js';

export interface DaemonOptions {
  config: VpnConfig;
  settings: Settings;
  /** customer: the on-prem end (initiator); aws: the AWS end of the same file (responder, lab peer). */
  role: 'customer' | 'aws';
  logger: Logger;
  timing?: Partial<IkeTiming>;
  /** UDP port for ESP/NAT-T (tests); IKE also uses 500. */
  natTPort?: number;
  /** Re-reads the AWS file and the settings for a reload (throws ConfigError/SettingsError); absent: no reload. */
  reloadInputs?: () => { config: VpnConfig; settings: Settings };
}

export interface TunnelRuntime {
  index: TunnelIndex;
  config: TunnelConfig;
  ifname: string;
  localInside: string;
  peerInside: string;
  keepalive: Keepalive;
  /** What status needs of each installed CHILD SA: no key material (issue 13). */
  children: Map<number, Pick<ChildSaInstall, 'id' | 'spiIn' | 'spiOut' | 'encryption' | 'createdAt'>>;
  mtu: number;
}

export interface SocketSet {
  bindAddress: string;
  tunnels: TunnelIndex[];
  dataplane: Dataplane;
  demux: IkeDemux;
  ikeSockets: UdpIkeSockets | undefined;
}

/** A TUN MTU every suite fits before one is negotiated (CBC + SHA2-512 over NAT-T: 1406). */
const INITIAL_MTU = 1406;
/**
 * Packets the kernel queues on a TUN for the packet thread. The default 500 overflowed in bursts
 * at 70,000 packets/s in the lab (every lost datagram a TX drop on cgw-t1, none in the data plane).
 */
const TUN_TX_QUEUE_LENGTH = 4096;

export class Daemon {
  readonly tunnels = new Map<TunnelIndex, TunnelRuntime>();
  readonly startedAt = Date.now();
  private ike!: IkePair;
  /** Socket sets: as the customer one for both tunnels; as AWS one per tunnel (one address each). */
  readonly socketSets: SocketSet[] = [];
  private failover: StaticFailover | undefined;
  private bgp: BgpRouting | undefined;
  readonly speakers = new Map<TunnelIndex, BgpSpeaker>();
  private control: ControlServer | undefined;
  private stopping: Promise<void> | undefined;
  private activityTimer: NodeJS.Timeout | undefined;
  private readonly packetsInSeen = new Map<TunnelIndex, number>();
  private readonly routeTable = new CountingRouteTable();
  private readonly activity: TunnelActivityLog;
  private activityPoll: NodeJS.Timeout | undefined;
  private metricsServer: MetricsServer | undefined;
  metrics: CgwdMetrics | undefined;
  private activeTunnel: TunnelIndex | null = null;
  private failovers = 0;
  private lastFailover: FailoverRecord | undefined;
  /** Tunnels a reload is working on: routing treats them as unhealthy meanwhile. */
  private readonly draining = new Set<TunnelIndex>();
  private reloading: Promise<ReloadResult> | undefined;
  private lastReload: ReloadRecord | undefined;
  private reloads = 0;
  /** sd_notify (src/service): READY/STATUS/WATCHDOG/STOPPING; reload calls reloading() and ready(). */
  readonly service: ServiceNotifier;
  private detachService: (() => void) | undefined;

  private constructor(
    readonly options: DaemonOptions,
    readonly hostRouting: HostRouting,
  ) {
    this.activity = new TunnelActivityLog(options.config.connectionId, options.logger);
    // Read (and removed from the environment) before any child process starts.
    this.service = ServiceNotifier.fromEnvironment({ logger: options.logger });
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config, settings, logger } = options;
    const asAws = options.role === 'aws';
    // Cleaning up "stale" state must never tear down a cgwd that is still running.
    if (await controlSocketAnswers(settings.controlSocket)) {
      throw new CgwdError('ALREADY_RUNNING', `another cgwd is running (its control socket ${settings.controlSocket} answers); stop it first`);
    }
    const host = await HostRouting.prepare(config, settings, logger);
    const daemon = new Daemon(options, host);
    try {
      if (asAws) {
        for (const tunnel of config.tunnels) await daemon.openSocketSet(tunnel.aws.outsideAddress, [tunnel.index]);
      } else {
        await daemon.openSocketSet(resolveBindAddress(settings, config, 'initiator'), [1, 2]);
      }
      await daemon.startTunnels();
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    daemon.detachService = attachService(daemon, daemon.service);
    return daemon;
  }

  /**
   * A data plane (its UDP 4500 socket and the TUNs of `tunnels`) and a Node UDP 500 socket
   * bound to one address, behind one IKE demultiplexer.
   */
  private async openSocketSet(bindAddress: string, tunnels: TunnelIndex[]): Promise<void> {
    // Only the peers' non-ESP-marker datagrams reach JavaScript (filtered in C, issue 13).
    const ikePeers = this.options.config.tunnels.filter((t) => tunnels.includes(t.index)).map((t) => (this.options.role === 'aws' ? t.customer.outsideAddress : t.aws.outsideAddress));
    const dataplane = Dataplane.open({
      local: { address: bindAddress, port: this.options.natTPort ?? NAT_T_PORT },
      ikePeers,
      threads: this.options.settings.dataplaneThreads,
    });
    let sockets: UdpIkeSockets | undefined;
    const carrier: IkeCarrier = {
      sendIke: (local: Endpoint, remote: Endpoint, message: Buffer) => {
        if (local.port === IKE_PORT) sockets?.sendIke(local, remote, message);
        else dataplane.sendIke(remote, message);
      },
      sendNatKeepalive: (_local: Endpoint, remote: Endpoint) => {
        dataplane.sendNatKeepalive(remote);
      },
    };
    const demux = new IkeDemux(carrier);
    const set: SocketSet = { bindAddress, tunnels, dataplane, demux, ikeSockets: undefined };
    this.socketSets.push(set);
    sockets = await UdpIkeSockets.open({ bindAddress, bindNatT: false, demux });
    set.ikeSockets = sockets;
    dataplane.onIkeDatagram((d) => demux.deliver({ local: { address: d.local.address, port: NAT_T_PORT }, remote: d.remote, data: d.data }));
    dataplane.on('error', (error) => this.options.logger.error({ err: error.message }, 'data plane error'));
    // 2^32 packets on one SA (about 8 h at AWS's 140,000 packets/s): IKE rekeys it before the counter wraps.
    dataplane.on('sa-seq-exhausting', (e) => {
      const owner = this.dataplaneSaOwners.get(e.id);
      if (owner) this.ike?.connections.get(owner.tunnel)?.childSaExhausting(owner.child);
    });
  }

  setFor(tunnel: TunnelIndex): SocketSet {
    const set = this.socketSets.find((s) => s.tunnels.includes(tunnel));
    if (!set) throw new Error(`no socket set for tunnel ${tunnel}`);
    return set;
  }

  private async startTunnels(): Promise<void> {
    const { config, settings, logger } = this.options;
    const asAws = this.options.role === 'aws';
    for (const tunnel of config.tunnels) {
      const ifname = settings.interfaces[tunnel.index - 1] ?? `cgw-t${tunnel.index}`;
      const prefixLength = Number(tunnel.insideCidr.split('/')[1] ?? 30);
      const localInside = asAws ? tunnel.aws.insideAddress : tunnel.customer.insideAddress;
      const peerInside = asAws ? tunnel.customer.insideAddress : tunnel.aws.insideAddress;
      this.setFor(tunnel.index).dataplane.addTunnel({
        tunnel: tunnel.index,
        ifname,
        mtu: INITIAL_MTU,
        txQueueLength: TUN_TX_QUEUE_LENGTH,
        address: `${localInside}/${prefixLength}`,
        peer: peerInside,
        tcpMss: tunnel.ipsec.tcpMss,
        clearDf: tunnel.ipsec.clearDf,
        fragmentBeforeEncryption: tunnel.ipsec.fragmentBeforeEncryption,
      });
      this.hostRouting.tunnelInterface(ifname);
      const keepalive = this.createKeepalive(tunnel.index, peerInside);
      this.tunnels.set(tunnel.index, { index: tunnel.index, config: tunnel, ifname, localInside, peerInside, keepalive, children: new Map(), mtu: INITIAL_MTU });
      logger.info({ tunnel: tunnel.index, ifname, address: `${localInside}/${prefixLength}` }, 'tunnel interface up');
    }

    this.ike = IkePair.start({
      config,
      settings,
      role: asAws ? 'responder' : 'initiator',
      socketsFor: (index) => this.setFor(index),
      sinkFor: (index) => this.sinkFor(index),
      logger,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
    });
    for (const [index, connection] of this.ike.connections) this.attachConnection(index, connection);

    if (config.routing === 'static') this.startStaticRouting();
    if (config.routing === 'bgp') this.startBgp();
    for (const t of this.tunnels.values()) this.startKeepalive(t);
    this.activityTimer = setInterval(() => this.reportInboundActivity(), 2_000);
    this.activityTimer.unref();
    this.activityPoll = setInterval(() => {
      for (const t of this.tunnels.values()) this.activity.poll(this.activityTunnel(t), this.ike?.connections.get(t.index)?.status());
    }, 250);
    this.activityPoll.unref();
    await this.listenControl();
    await this.startMetrics();
  }

  private async startMetrics(): Promise<void> {
    const { settings, logger } = this.options;
    if (settings.metrics.listen === 'off') return;
    this.metrics ??= new CgwdMetrics(this, { version: CGWD_VERSION, ikeVersion: settings.ikeVersion });
    this.metricsServer = await MetricsServer.start(settings.metrics.listen, this.metrics, logger);
  }

  /** Health is lost after `window` unanswered probes in a row (defaults 0.2 s × 3: noticed in 0.6–0.8 s). */
  private createKeepalive(index: TunnelIndex, peerInside: string): Keepalive {
    const { keepalive } = this.options.settings;
    const driver = new DataplaneProbeDriver(this.setFor(index).dataplane, index);
    return new Keepalive({ driver, target: keepalive.target ?? peerInside, intervalSeconds: keepalive.intervalSeconds, window: keepalive.window });
  }

  private startKeepalive(t: TunnelRuntime): void {
    t.keepalive.on('probe', (rttMs) => this.metrics?.observeProbe(t.index, rttMs));
    t.keepalive.on('health', (healthy) => {
      this.options.logger.info({ tunnel: t.index, healthy }, 'keepalive health changed');
      this.updateHealth(t);
    });
    watchNatRebinding(t.keepalive, () => this.ike?.connections.get(t.index), (silentRun) =>
      this.options.logger.info({ tunnel: t.index, silentProbes: silentRun }, 'tunnel silent behind a NAT: IKE liveness sent so AWS learns our current port'));
    t.keepalive.start();
  }

  /** The tunnel's IKE connection reports into the log, the activity log and the metrics. */
  private attachConnection(index: TunnelIndex, connection: IkeConnection): void {
    const { logger } = this.options;
    const t = this.tunnels.get(index);
    if (!t) return;
    const activity = (detail: string): void => this.activity.event(this.activityTunnel(t), connection.status(), detail);
    connection.on('ike-up', (e) => activity(`IKE SA established (${e.suite})`));
    connection.on('ike-rekeyed', (e) => activity(`IKE SA rekeyed (${e.initiatedByUs ? 'by cgwd' : 'by AWS'})`));
    connection.on('child-up', (e) => {
      logger.info({ tunnel: index, ...e }, 'CHILD SA up');
      activity(`CHILD SA established (${e.suite})`);
    });
    connection.on('child-rekeyed', (e) => activity(`CHILD SA rekeyed (${e.initiatedByUs ? 'by cgwd' : 'by AWS'})`));
    connection.on('child-down', (e) => activity(`CHILD SA down: ${e.reason}`));
    connection.on('ike-down', (e) => {
      logger.warn({ tunnel: index, ...e }, 'IKE SA down');
      this.metrics?.ikeSaDown(index, e.code);
      activity(detailFor(e.code, e.reason, this.options.settings.ikeVersion));
    });
  }

  /** Static routing: the configured prefixes through the healthy preferred tunnel. */
  private startStaticRouting(): void {
    const { settings, logger } = this.options;
    const [t1, t2] = [this.tunnels.get(1), this.tunnels.get(2)];
    const prefixes = this.hostRouting.staticPrefixes(settings);
    if (!t1 || !t2 || prefixes.length === 0) return;
    const failover = new StaticFailover({
      routeTable: this.routeTable,
      metric: settings.routeMetric,
      prefixes,
      tunnels: [
        { index: 1, ifname: t1.ifname, gateway: t1.peerInside },
        { index: 2, ifname: t2.ifname, gateway: t2.peerInside },
      ],
      failback: settings.failback,
    });
    failover.on('active', (tunnel, reason) => {
      logger.warn({ tunnel, reason, prefixes: this.options.settings.staticRoutes }, 'static routes now via tunnel');
      this.noteActiveTunnel(tunnel, reason);
    });
    failover.on('error', (error) => logger.error({ err: error.message }, 'static route change failed'));
    this.failover = failover;
    for (const t of this.tunnels.values()) this.updateHealth(t);
  }

  /** ESP arriving on a tunnel proves the peer alive: IKE then needs no liveness check (RFC 7296 §2.4). */
  private reportInboundActivity(): void {
    for (const set of this.socketSets) {
      if (set.dataplane.closed) continue;
      for (const counters of set.dataplane.counters().tunnels) {
        const index = counters.tunnel as TunnelIndex;
        if (counters.packetsIn !== this.packetsInSeen.get(index)) {
          this.packetsInSeen.set(index, counters.packetsIn);
          this.ike?.connections.get(index)?.noteInboundActivity();
        }
      }
    }
  }

  /** CHILD SA ids are per IKE connection; the data plane's SA table is shared by both tunnels. */
  private nextDataplaneSaId = 1;
  private readonly dataplaneSaIds = new Map<string, number>();
  private readonly dataplaneSaOwners = new Map<number, { tunnel: TunnelIndex; child: number }>();

  private sinkFor(index: TunnelIndex): ChildSaSink {
    const key = (id: number): string => `${index}:${id}`;
    return {
      installChildSa: (sa) => {
        const t = this.tunnels.get(index);
        if (!t) return;
        const dataplaneId = this.nextDataplaneSaId++;
        this.dataplaneSaIds.set(key(sa.id), dataplaneId);
        this.dataplaneSaOwners.set(dataplaneId, { tunnel: index, child: sa.id });
        try {
          this.setFor(index).dataplane.installChildSa({ ...sa, id: dataplaneId, tunnel: index }, { holdOutbound: sa.holdOutbound === true });
        } finally {
          wipe(sa.encKeyIn, sa.encKeyOut, sa.integKeyIn, sa.integKeyOut); // the data plane holds its own copy
        }
        // Routes go in at CHILD-up; the keepalive window then confirms the tunnel or moves them.
        if (t.children.size === 0) t.keepalive.presumeHealthy();
        t.children.set(sa.id, { id: sa.id, spiIn: sa.spiIn, spiOut: sa.spiOut, encryption: sa.encryption, createdAt: sa.createdAt });
        const mtu = maxInnerPacket({ encryption: sa.encryption, integrity: sa.integrity }, this.hostRouting.underlayMtu, true);
        if (mtu !== t.mtu && mtu > 0) {
          t.mtu = mtu;
          void runCommand('ip', ['link', 'set', 'dev', t.ifname, 'mtu', String(mtu)]);
        }
        this.updateHealth(t);
      },
      releaseChildSa: (id) => {
        const dataplaneId = this.dataplaneSaIds.get(key(id));
        if (dataplaneId !== undefined) this.setFor(index).dataplane.releaseChildSa(dataplaneId);
      },
      removeChildSa: (id) => {
        const t = this.tunnels.get(index);
        const dataplaneId = this.dataplaneSaIds.get(key(id));
        this.dataplaneSaIds.delete(key(id));
        if (dataplaneId !== undefined) {
          this.dataplaneSaOwners.delete(dataplaneId);
          this.setFor(index).dataplane.removeChildSa(dataplaneId);
        }
        t?.children.delete(id);
        if (t) this.updateHealth(t);
      },
    };
  }

  /**
   * One eBGP session per tunnel over its inside /30 (through the TUN), and the routing
   * that turns both sessions' routes and the tunnels' health into kernel routes and
   * advertisements. As AWS: the Amazon ASN, the same advertisements on both tunnels.
   */
  private startBgp(): void {
    const { config, settings, logger } = this.options;
    const asAws = this.options.role === 'aws';
    const [t1, t2] = [this.tunnels.get(1), this.tunnels.get(2)];
    if (!t1 || !t2) return;
    const maxAdvertised = MAX_ADVERTISED_PREFIXES[config.target];
    for (const t of [t1, t2]) {
      const speaker = this.createSpeaker(t);
      if (!speaker) return;
      this.speakers.set(t.index, speaker);
    }
    const s1 = this.speakers.get(1);
    const s2 = this.speakers.get(2);
    if (!s1 || !s2) return;
    this.bgp = new BgpRouting({
      tunnels: [
        { index: 1, ifname: t1.ifname, gateway: t1.peerInside },
        { index: 2, ifname: t2.ifname, gateway: t2.peerInside },
      ],
      policy: {
        mode: ecmpActive(settings, config) ? 'active-active' : 'active-standby',
        sitePrefixes: settings.advertise,
        maxAdvertisedPrefixes: maxAdvertised,
        metric: settings.routeMetric,
        defaultRouteMetric: settings.defaultRoute.metric,
        safety: this.hostRouting.safety,
        ...(asAws ? { standbyAsPathPrepend: 0, moreSpecificsOnFailover: false } : { boxAsPathPrepend: settings.asPathPrepend }),
      },
      speakers: [s1, s2],
      routeTable: this.routeTable,
      logger,
    });
    this.bgp.on('decision', (decision) => this.noteActiveTunnel(decision.activeTunnel, decision.notes.join('; ') || 'BGP decision'));
    this.bgp.on('error', (error) => logger.error({ err: error.message }, 'BGP route change failed'));
    this.bgp.watch(1, s1);
    this.bgp.watch(2, s2);
    for (const [index, speaker] of this.speakers) this.attachSpeaker(index, speaker);
    this.bgp.start();
    for (const speaker of this.speakers.values()) speaker.start();
  }

  /** The tunnel's BGP speaker with the tunnel's ASNs and the target gateway's limits. */
  private createSpeaker(t: TunnelRuntime): BgpSpeaker | undefined {
    const asAws = this.options.role === 'aws';
    const ours = asAws ? t.config.aws.bgp : t.config.customer.bgp;
    const theirs = asAws ? t.config.customer.bgp : t.config.aws.bgp;
    if (!ours || !theirs) return undefined;
    return new BgpSpeaker({
      name: `tunnel ${t.index}`,
      localAs: ours.asn,
      peerAs: theirs.asn,
      localAddress: t.localInside,
      peerAddress: t.peerInside,
      holdTimeSeconds: ours.holdTime,
      maxAdvertisedPrefixes: MAX_ADVERTISED_PREFIXES[this.options.config.target],
      logger: this.options.logger,
    });
  }

  private attachSpeaker(index: TunnelIndex, speaker: BgpSpeaker): void {
    speaker.on('state', (e) => {
      this.options.logger.info({ tunnel: index, bgp: e.state, previous: e.previous, why: e.description }, 'BGP session state');
      const t = this.tunnels.get(index);
      if (t) this.activity.bgp(this.activityTunnel(t), e.state, e.previous, e.description ?? '');
    });
  }

  private updateHealth(t: TunnelRuntime): void {
    const healthy = t.children.size > 0 && t.keepalive.healthy && !this.draining.has(t.index);
    this.failover?.setHealth(t.index, healthy);
    this.bgp?.setHealth(t.index, healthy);
  }

  get bgpRouting(): BgpRouting | undefined {
    return this.bgp;
  }

  status(): DaemonStatus {
    const counters = this.socketSets.filter((s) => !s.dataplane.closed).map((s) => s.dataplane.counters());
    const drops: Record<string, number> = {};
    for (const c of counters) for (const [reason, n] of Object.entries(c.drops)) drops[reason] = (drops[reason] ?? 0) + n;
    const tunnels: TunnelStatus[] = [...this.tunnels.values()].map((t) => {
      const traffic = counters.flatMap((c) => c.tunnels).find((c) => c.tunnel === t.index);
      let trafficView: TunnelStatus['traffic'];
      if (traffic) {
        const { tunnel: _tunnel, ifname: _ifname, ifindex: _ifindex, ...rest } = traffic;
        trafficView = rest;
      }
      return {
        tunnel: t.index,
        interface: t.ifname,
        mtu: t.mtu,
        insideAddress: t.localInside,
        peerInsideAddress: t.peerInside,
        awsOutsideAddress: t.config.aws.outsideAddress,
        ike: this.ikePair?.connections.get(t.index)?.status(),
        keepalive: t.keepalive.status(),
        bgp: this.speakers.get(t.index)?.status(),
        routes: [...(this.bgpRouting?.status().installed ?? []), ...(this.staticRouting?.installed ?? [])].filter((r) => routeDevices(r).includes(t.ifname)).map((r) => r.prefix),
        traffic: trafficView,
        cloudWatch: { tunnelState: this.tunnelState(t) },
        awsTunnelLog: this.activity.fields(this.activityTunnel(t), this.ikePair?.connections.get(t.index)?.status()),
      };
    });
    return {
      connectionId: this.options.config.connectionId,
      role: this.options.role,
      routing: this.options.config.routing,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      clockNow: systemClock.now(),
      tunnels,
      staticRoutes: this.staticRouting?.status(),
      ikeTransport: { ...(this.ikePair?.transportCounters() ?? {}) },
      routeChanges: { installs: this.routeTable.installs, removals: this.routeTable.removals, failures: this.routeTable.failures },
      routeSafety: this.hostRouting.status(this.bgp?.refused()),
      failover: { active: this.activeTunnel, count: this.failovers, last: this.lastFailover },
      reload: { count: this.reloads, inProgress: this.reloading !== undefined, last: this.lastReload },
      drops,
    };
  }

  /**
   * CloudWatch's TunnelState: a CHILD SA installed and answering keepalives, and with BGP routing
   * the session Established. (AWS's own value for BGP is the session alone; a session through a
   * silently cut tunnel stays Established until its hold timer, so cgwd also asks for health.)
   */
  private tunnelState(t: TunnelRuntime): 0 | 1 {
    const healthy = t.children.size > 0 && t.keepalive.healthy;
    if (this.options.config.routing === 'bgp') return healthy && this.speakers.get(t.index)?.state === 'Established' ? 1 : 0;
    return healthy ? 1 : 0;
  }

  private activityTunnel(t: TunnelRuntime): ActivityTunnel {
    return { index: t.index, awsOutsideAddress: t.config.aws.outsideAddress, dpdEnabled: t.config.dpd.intervalSeconds > 0 };
  }

  /** Records a change of the tunnel traffic toward AWS takes; a move off a failed tunnel is a failover with a gap. */
  private noteActiveTunnel(tunnel: TunnelIndex | null, reason: string): void {
    const from = this.activeTunnel;
    if (tunnel === from) return;
    this.activeTunnel = tunnel;
    if (from === null) return;
    const failed = this.tunnels.get(from);
    const lastAlive = failed?.keepalive.status().lastReplyAt;
    const now = systemClock.now();
    const gapMs = failed && !failed.keepalive.healthy && lastAlive !== undefined ? Math.max(0, now - lastAlive) : undefined;
    this.failovers += 1;
    this.lastFailover = { at: now, from, to: tunnel, gapMs, reason };
    this.metrics?.failover(from, tunnel, gapMs);
    this.options.logger.warn({ from, to: tunnel, gapMs, reason }, 'traffic toward AWS moved to another tunnel');
  }

  /**
   * SIGHUP / `cgwd reload`: re-read the files, plan the difference (src/config/diff.ts) and apply
   * it tunnel by tunnel (src/daemon/reload.ts). Invalid files and changes a running daemon cannot
   * take change nothing and reject with the problems; one reload at a time.
   */
  reload(): Promise<ReloadResult> {
    if (this.reloading) return Promise.reject(new CgwdError('RELOAD_BUSY', 'a reload is already running'));
    const run = this.runReload().finally(() => {
      this.reloading = undefined;
    });
    this.reloading = run;
    return run;
  }

  private async runReload(): Promise<ReloadResult> {
    const { logger } = this.options;
    const read = this.options.reloadInputs;
    if (!read) throw new CgwdError('RELOAD_UNAVAILABLE', 'this cgwd was not started from files it can re-read');
    this.reloads += 1;
    const refuse = (outcome: 'invalid' | 'refused', code: string, problems: string[], details: unknown): never => {
      const summary = `reload ${outcome === 'invalid' ? 'failed' : 'refused'}, nothing changed: ${problems.join('; ')}`;
      this.lastReload = { at: new Date().toISOString(), outcome, summary, problems };
      this.metrics?.reload(outcome);
      logger.warn({ problems }, summary);
      throw Object.assign(new CgwdError(code, summary), { details });
    };
    let next: { config: VpnConfig; settings: Settings };
    try {
      next = read();
    } catch (error) {
      if (error instanceof ConfigError || error instanceof SettingsError) refuse('invalid', 'RELOAD_INVALID', error.problems.map(formatProblem), error.problems);
      throw error;
    }
    const plan = planReload(this.runningInputs(), next);
    const refused = [...plan.refused];
    if (plan.tunnels.some((t) => t.readdress)) refused.push('a tunnel inside CIDR changed: AWS replaced that tunnel, restart cgwd to take it');
    // The sockets are bound, and the data plane filters IKE by peer, for the addresses cgwd started with.
    if (plan.tunnels.some((t) => t.fields.includes('aws.outsideAddress') || t.fields.includes('customer.outsideAddress'))) {
      refused.push('a tunnel outside address changed (another VPN connection or customer gateway): restart cgwd to bind and filter for it');
    }
    if (JSON.stringify(next.settings.localAddress) !== JSON.stringify(this.options.settings.localAddress)) {
      refused.push('localAddress changed: the sockets are bound at start; restart cgwd');
    }
    const maxAdvertised = MAX_ADVERTISED_PREFIXES[next.config.target];
    if (next.config.routing === 'bgp' && next.settings.advertise.length > maxAdvertised) {
      refused.push(`${next.settings.advertise.length} advertised prefixes, but AWS accepts at most ${maxAdvertised} per session`);
    }
    if (refused.length > 0) refuse('refused', 'RELOAD_REFUSED', refused, refused);

    logger.info({ tunnels: plan.tunnels.map((t) => ({ tunnel: t.slot, fields: t.fields })) }, 'reload: applying');
    this.service.reloading();
    this.options.config = { ...next.config, tunnels: this.options.config.tunnels };
    this.options.settings = next.settings;
    let result: ReloadResult;
    try {
      result = await applyReload(this.reloadTarget(next.settings), plan, { bgp: next.config.routing === 'bgp' });
    } finally {
      this.service.ready();
    }
    for (const changes of plan.tunnels) {
      const t = this.tunnels.get(changes.slot);
      if (t && result.tunnels.find((r) => r.tunnel === changes.slot)?.ok) t.config = changes.config;
    }
    this.options.config = { ...next.config, tunnels: this.runningInputs().config.tunnels };
    this.lastReload = { at: new Date().toISOString(), outcome: result.outcome, summary: result.summary };
    this.metrics?.reload(result.outcome);
    (result.outcome === 'partial' ? logger.warn : logger.info).call(logger, { tunnels: result.tunnels, settings: result.settings }, result.summary);
    return result;
  }

  /** The configuration running now: each slot's tunnel as it was last negotiated. */
  private runningInputs(): { config: VpnConfig; settings: Settings } {
    const tunnels = [...this.tunnels.values()].sort((a, b) => a.index - b.index).map((t) => t.config);
    const config = tunnels.length === 2 ? { ...this.options.config, tunnels: [tunnels[0], tunnels[1]] as VpnConfig['tunnels'] } : this.options.config;
    return { config, settings: this.options.settings };
  }

  /** How the reload steps act on this daemon. */
  private reloadTarget(next: Settings): ReloadTarget {
    const { logger } = this.options;
    const tunnel = (slot: TunnelIndex): TunnelRuntime => {
      const t = this.tunnels.get(slot);
      if (!t) throw new CgwdError('RELOAD_NO_TUNNEL', `tunnel ${slot} is not running`);
      return t;
    };
    return {
      now: () => systemClock.now(),
      activeTunnel: () => this.activeTunnel,
      applySettings: async (plan: ReloadPlan) => {
        const done: string[] = [];
        const mode = ecmpActive(next, this.options.config) ? 'active-active' : 'active-standby';
        if (plan.advertise && this.bgp) {
          this.bgp.setPolicy({ sitePrefixes: next.advertise, mode, ...(this.options.role === 'customer' ? { boxAsPathPrepend: next.asPathPrepend } : {}) });
          done.push(`advertising ${next.advertise.join(', ') || 'nothing'}${next.asPathPrepend > 0 ? ` with ${next.asPathPrepend} extra prepends` : ''}, ${mode}`);
        }
        if (plan.target && this.bgp) this.bgp.setPolicy({ maxAdvertisedPrefixes: MAX_ADVERTISED_PREFIXES[this.options.config.target], mode });
        if (plan.staticRoutes || plan.failback) {
          if (this.failover) this.failover.update({ prefixes: this.hostRouting.staticPrefixes(next), failback: next.failback });
          else if (this.options.config.routing === 'static') this.startStaticRouting();
          await this.failover?.settled();
          if (plan.staticRoutes) done.push(`static routes ${next.staticRoutes.join(', ') || 'none'}`);
          if (plan.failback) done.push(`failback ${next.failback}`);
        }
        if (plan.keepalive) {
          for (const t of this.tunnels.values()) {
            const wasHealthy = t.keepalive.healthy;
            t.keepalive.stop();
            t.keepalive.removeAllListeners();
            t.keepalive = this.createKeepalive(t.index, t.peerInside);
            // A healthy tunnel stays healthy until the new probes say otherwise: no route moves for a restart.
            if (wasHealthy) t.keepalive.presumeHealthy();
            this.startKeepalive(t);
          }
          done.push(`keepalive every ${next.keepalive.intervalSeconds} s to ${next.keepalive.target ?? 'the AWS inside addresses'}`);
        }
        if (plan.metrics) {
          await this.metricsServer?.close();
          this.metricsServer = undefined;
          try {
            await this.startMetrics();
            done.push(`metrics ${next.metrics.listen}`);
          } catch (error) {
            logger.error({ err: error instanceof Error ? error.message : String(error), listen: next.metrics.listen }, 'reload: metrics listener failed');
            done.push(`metrics listener ${next.metrics.listen} failed`);
          }
        }
        return done;
      },
      drain: (slot, draining) => {
        if (draining) this.draining.add(slot);
        else this.draining.delete(slot);
        this.updateHealth(tunnel(slot));
      },
      setPacketOptions: (changes: TunnelChanges) => {
        const { tcpMss, clearDf, fragmentBeforeEncryption } = changes.config.ipsec;
        this.setFor(changes.slot).dataplane.setTunnelOptions(changes.slot, { tcpMss, clearDf, fragmentBeforeEncryption });
      },
      renegotiate: async (changes: TunnelChanges) => {
        const t = tunnel(changes.slot);
        t.config = changes.config;
        const connection = await this.ike.replace(changes.config, next);
        this.attachConnection(changes.slot, connection);
      },
      restartBgp: async (changes: TunnelChanges) => {
        const t = tunnel(changes.slot);
        t.config = changes.config;
        await this.speakers.get(changes.slot)?.stop();
        const speaker = this.createSpeaker(t);
        if (!speaker) {
          this.speakers.delete(changes.slot);
          return;
        }
        this.speakers.set(changes.slot, speaker);
        this.attachSpeaker(changes.slot, speaker);
        this.bgp?.replaceSpeaker(changes.slot, speaker);
        speaker.start();
      },
      waitCarrying: async (slot, timeoutMs) => {
        const t = tunnel(slot);
        const since = systemClock.now();
        const deadline = since + timeoutMs;
        const bgp = this.options.config.routing === 'bgp';
        for (;;) {
          const lastReply = t.keepalive.status().lastReplyAt ?? -Infinity;
          const carrying = t.children.size > 0 && t.keepalive.healthy && lastReply > since && (!bgp || this.speakers.get(slot)?.state === 'Established');
          if (carrying) return true;
          if (systemClock.now() > deadline || this.stopping) return false;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
    };
  }

  get ikePair(): IkePair {
    return this.ike;
  }

  get staticRouting(): StaticFailover | undefined {
    return this.failover;
  }

  private async listenControl(): Promise<void> {
    this.control = await ControlServer.listen({
      socketPath: this.options.settings.controlSocket,
      handlers: { status: () => this.status(), reload: () => this.reload() },
      logger: this.options.logger,
    });
  }

  /** Graceful stop: DELETE at the peer, routes and interfaces removed. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.service.stopping();
      this.detachService?.();
      if (this.activityTimer) clearInterval(this.activityTimer);
      if (this.activityPoll) clearInterval(this.activityPoll);
      await this.metricsServer?.close();
      for (const t of this.tunnels.values()) t.keepalive.stop();
      // BGP first (Cease through the tunnel while it still carries traffic), then IKE.
      await Promise.all([...this.speakers.values()].map((speaker) => speaker.stop()));
      await this.bgp?.stop();
      await this.ike?.stop();
      await this.failover?.stop();
      for (const set of this.socketSets) {
        await set.ikeSockets?.close();
        set.dataplane.close();
      }
      await this.hostRouting.stop();
      await this.control?.close();
      this.service.close();
    })();
    return this.stopping;
  }
}
