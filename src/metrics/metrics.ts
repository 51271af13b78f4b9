/**
 * Prometheus metrics (prom-client). Two views of each tunnel:
 *
 *  - CloudWatch's (AWS/VPN namespace), with the labels vpn_id and tunnel_ip_address (the AWS
 *    outside address: CloudWatch's VpnId and TunnelIpAddress dimensions):
 *      cgwd_tunnel_state                     TunnelState: 1 = BGP Established (BGP routing), or
 *                                            CHILD SA installed and answering (static routing)
 *      cgwd_tunnel_data_to_aws_bytes_total   TunnelDataIn: what AWS receives from us, counted
 *                                            by us before encryption (AWS counts it after decryption)
 *      cgwd_tunnel_data_from_aws_bytes_total TunnelDataOut: what AWS sends us, counted by us
 *                                            after decryption (AWS counts it before encryption)
 *    CloudWatch names the bytes from AWS's side, so "in" there is "out" here.
 *  - cgwd's own: IKE/CHILD SA state and age, AWS's phase states, rekeys, DPD, keepalive RTT,
 *    data-plane packets and drops by reason, BGP, routes, failovers, reloads, process.
 *
 * Nearly everything is read at scrape time from one status snapshot (the data plane's
 * counters are per tunnel already: nothing is counted per packet here). Only what has no
 * counter of its own — keepalive round trips, IKE SA losses by reason, failovers, reloads —
 * is recorded as it happens.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReloadOutcome } from '../daemon/reload.js';
import type { DaemonStatus, TunnelStatus } from '../daemon/status.js';
import { BGP_STATES } from '../bgp/fsm.js';
import type { AwsPhaseState } from './aws-tunnel-log.js';

const TUNNEL_LABELS = ['vpn_id', 'tunnel', 'tunnel_ip_address'] as const;
type TunnelLabel = (typeof TUNNEL_LABELS)[number];
type Labels<Extra extends string = never> = Partial<Record<TunnelLabel | Extra, string>>;

const PHASE_STATES: readonly AwsPhaseState[] = ['Established', 'Rekeying', 'Negotiating', 'Down'];

export interface MetricsSource {
  /** The same snapshot `cgwd status` returns. */
  status(): DaemonStatus;
}

export interface MetricsOptions {
  readonly version: string;
  readonly ikeVersion: string;
}


export class CgwdMetrics {
  readonly registry = new Registry();
  readonly #source: MetricsSource;
  #snapshot: DaemonStatus | undefined;
  readonly #rtt: Histogram<TunnelLabel>;
  readonly #probes: Counter<TunnelLabel | 'result'>;
  readonly #ikeDown: Counter<TunnelLabel | 'reason'>;
  readonly #failovers: Counter<'vpn_id' | 'from' | 'to'>;
  readonly #failoverGap: Gauge<'vpn_id'>;
  readonly #reloads: Counter<'vpn_id' | 'outcome'>;
  readonly #vpnId: string;
  readonly #tunnelIps = new Map<number, string>();

  constructor(source: MetricsSource, options: MetricsOptions) {
    this.#source = source;
    const first = source.status();
    this.#vpnId = first.connectionId;
    for (const t of first.tunnels) this.#tunnelIps.set(t.tunnel, t.awsOutsideAddress);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cgwd_' });
    const self = this;
    const perTunnel = (name: string, help: string, value: (t: TunnelStatus) => number | undefined, type: 'gauge' | 'counter' = 'gauge'): void => {
      const collect = function (this: Gauge<TunnelLabel> | Counter<TunnelLabel>): void {
        this.reset();
        for (const t of self.#tunnels()) {
          const v = value(t);
          if (v === undefined) continue;
          if (this instanceof Gauge) this.set(self.#labels(t), v);
          else this.inc(self.#labels(t), v);
        }
      };
      if (type === 'gauge') new Gauge({ name, help, labelNames: TUNNEL_LABELS, registers, collect });
      else new Counter({ name, help, labelNames: TUNNEL_LABELS, registers, collect });
    };
    const perTunnelBy = <K extends string>(
      name: string,
      help: string,
      key: K,
      values: (t: TunnelStatus) => Readonly<Record<string, number>>,
      type: 'gauge' | 'counter' = 'counter',
    ): void => {
      const labelNames = [...TUNNEL_LABELS, key];
      const collect = function (this: Gauge<string> | Counter<string>): void {
        this.reset();
        for (const t of self.#tunnels()) {
          for (const [k, v] of Object.entries(values(t))) {
            const labels = { ...self.#labels(t), [key]: k };
            if (this instanceof Gauge) this.set(labels, v);
            else this.inc(labels, v);
          }
        }
      };
      if (type === 'gauge') new Gauge({ name, help, labelNames, registers, collect });
      else new Counter({ name, help, labelNames, registers, collect });
    };
    const seconds = (at: number | undefined, now: number): number | undefined => (at === undefined ? undefined : Math.max(0, (now - at) / 1000));

    new Gauge({
      name: 'cgwd_info',
      help: 'Static facts about this gateway (value 1).',
      labelNames: ['vpn_id', 'version', 'role', 'routing', 'ike_version'],
      registers,
      collect() {
        const s = self.#status();
        this.reset();
        this.set({ vpn_id: s.connectionId, version: options.version, role: s.role, routing: s.routing, ike_version: options.ikeVersion }, 1);
      },
    });

    // CloudWatch's three (AWS/VPN: TunnelState, TunnelDataIn, TunnelDataOut).
    perTunnel('cgwd_tunnel_state', "CloudWatch TunnelState: 1 when the tunnel is up as AWS counts it (BGP Established; static: CHILD SA installed and keepalives answered), else 0.", (t) => t.cloudWatch.tunnelState);
    perTunnel('cgwd_tunnel_data_to_aws_bytes_total', 'CloudWatch TunnelDataIn: inner bytes sent to AWS through the tunnel, before encryption.', (t) => t.traffic?.bytesOut ?? 0, 'counter');
    perTunnel('cgwd_tunnel_data_from_aws_bytes_total', 'CloudWatch TunnelDataOut: inner bytes received from AWS through the tunnel, after decryption.', (t) => t.traffic?.bytesIn ?? 0, 'counter');

    perTunnel('cgwd_tunnel_packets_from_aws_total', 'Inner packets received from AWS through the tunnel (after decryption).', (t) => t.traffic?.packetsIn ?? 0, 'counter');
    perTunnel('cgwd_tunnel_packets_to_aws_total', 'Inner packets sent to AWS through the tunnel (before encryption).', (t) => t.traffic?.packetsOut ?? 0, 'counter');
    perTunnelBy('cgwd_tunnel_drops_total', "Packets the data plane dropped on this tunnel, by reason.", 'reason', (t) => t.traffic?.drops ?? {});

    perTunnel('cgwd_ike_sa_up', '1 while the tunnel has an established IKE SA.', (t) => (t.ike?.state === 'established' ? 1 : 0));
    perTunnel('cgwd_ike_sa_established_seconds', 'Age of the current IKE SA.', (t) => seconds(currentIkeSa(t)?.establishedAt, this.#status().clockNow));
    perTunnel('cgwd_child_sa_up', '1 while the tunnel has a CHILD SA installed in the data plane.', (t) => (liveChild(t) ? 1 : 0));
    perTunnel('cgwd_child_sa_established_seconds', 'Age of the CHILD SA traffic is sent on.', (t) => seconds(liveChild(t)?.createdAt, this.#status().clockNow));
    for (const phase of ['1', '2'] as const) {
      perTunnelBy(
        `cgwd_ike_phase${phase}_state`,
        `AWS's TunnelIKEPhase${phase}State as cgwd sees it: 1 for the current state.`,
        'state',
        (t) => Object.fromEntries(PHASE_STATES.map((s) => [s, (phase === '1' ? t.awsTunnelLog.TunnelIKEPhase1State : t.awsTunnelLog.TunnelIKEPhase2State) === s ? 1 : 0])),
        'gauge',
      );
    }
    perTunnelBy('cgwd_rekeys_total', 'Completed rekeys by SA kind, and rekeys that collided with the peer (RFC 7296 §2.8.1).', 'kind', (t): Record<string, number> => {
      const c = t.ike?.counters;
      if (!c) return {};
      return { ike: c.ikeRekeys, child: c.childRekeys, ike_collision: c.ikeRekeyCollisions, child_collision: c.childRekeyCollisions };
    });
    perTunnel('cgwd_ike_sas_established_total', 'IKE SAs established (first contact, reconnects and rekeys).', (t) => t.ike?.counters.ikeSasEstablished ?? 0, 'counter');
    perTunnel('cgwd_ike_reconnects_total', 'Re-initiations after the IKE SA was lost.', (t) => t.ike?.counters.reconnects ?? 0, 'counter');
    perTunnel('cgwd_ike_retransmissions_total', 'IKE requests retransmitted.', (t) => t.ike?.counters.retransmittedRequests ?? 0, 'counter');
    perTunnelBy('cgwd_ike_drops_total', 'IKE datagrams dropped, by reason.', 'reason', (t) => (t.ike?.counters.drops ?? {}) as Record<string, number>);
    this.#ikeDown = new Counter({ name: 'cgwd_ike_sa_down_total', help: 'IKE SAs lost or attempts failed, by error code (IKE_PEER_UNREACHABLE: DPD or retransmissions gave up).', labelNames: [...TUNNEL_LABELS, 'reason'], registers });

    this.#rtt = new Histogram({
      name: 'cgwd_keepalive_rtt_seconds',
      help: 'Round-trip time of the keepalive probes through the tunnel.',
      labelNames: TUNNEL_LABELS,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#probes = new Counter({ name: 'cgwd_keepalive_probes_total', help: 'Keepalive probes by result (answered, lost).', labelNames: [...TUNNEL_LABELS, 'result'], registers });
    perTunnel('cgwd_keepalive_healthy', '1 while the keepalive window has an answered probe.', (t) => (t.keepalive.healthy ? 1 : 0));
    perTunnel('cgwd_keepalive_loss_ratio', 'Share of the last 20 keepalive probes that went unanswered.', (t) => t.keepalive.recentLoss);

    perTunnelBy('cgwd_bgp_session_state', 'BGP session state per RFC 4271 §8.2.2: 1 for the current state.', 'state', (t) =>
      t.bgp ? Object.fromEntries(BGP_STATES.map((s) => [s, t.bgp?.state === s ? 1 : 0])) : {}, 'gauge');
    perTunnel('cgwd_bgp_established_seconds', 'Time since the BGP session became Established.', (t) => (t.bgp?.state === 'Established' ? t.bgp.uptimeSeconds : undefined));
    perTunnel('cgwd_bgp_prefixes_received', 'Prefixes AWS announces on this session (Adj-RIB-In).', (t) => t.bgp?.prefixesReceived);
    perTunnel('cgwd_bgp_prefixes_advertised', 'Prefixes this session announces to AWS.', (t) => t.bgp?.prefixesSent);
    perTunnel('cgwd_bgp_established_transitions_total', 'Times the session reached Established.', (t) => t.bgp?.establishedTransitions, 'counter');
    perTunnel('cgwd_routes_installed', 'Kernel routes cgwd holds through this tunnel.', (t) => t.routes.length);

    new Counter({
      name: 'cgwd_route_changes_total',
      help: 'Kernel route installs and removals cgwd made.',
      labelNames: ['vpn_id', 'op'],
      registers,
      collect() {
        const r = self.#status().routeChanges;
        this.reset();
        this.inc({ vpn_id: self.#vpnId, op: 'install' }, r.installs);
        this.inc({ vpn_id: self.#vpnId, op: 'remove' }, r.removals);
      },
    });
    new Gauge({
      name: 'cgwd_routes_refused',
      help: 'Prefixes (learned over BGP or configured) kept out of the kernel, by reason: aws-endpoint, default-route, martian, site-prefix, invalid, conflict.',
      labelNames: ['vpn_id', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(self.#status().routeSafety.counts)) this.set({ vpn_id: self.#vpnId, reason }, n);
      },
    });
    this.#failovers = new Counter({ name: 'cgwd_failovers_total', help: 'Times traffic toward AWS moved from one tunnel to the other.', labelNames: ['vpn_id', 'from', 'to'], registers });
    this.#failoverGap = new Gauge({
      name: 'cgwd_last_failover_gap_seconds',
      help: "The last failover's traffic gap: from the failed tunnel's last sign of life to the routes moving.",
      labelNames: ['vpn_id'],
      registers,
    });
    this.#reloads = new Counter({ name: 'cgwd_reloads_total', help: 'Configuration reloads by outcome.', labelNames: ['vpn_id', 'outcome'], registers });
    new Counter({
      name: 'cgwd_dataplane_drops_total',
      help: 'Datagrams the data plane dropped before they reached a tunnel (unknown SPI, malformed, queue full…), by reason.',
      labelNames: ['vpn_id', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(self.#status().drops)) if (n > 0) this.inc({ vpn_id: self.#vpnId, reason }, n);
      },
    });
  }

  /** One scrape: a single status snapshot feeds every collector. */
  async scrape(): Promise<string> {
    this.#snapshot = this.#source.status();
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A keepalive probe finished: answered with its round trip, or lost. */
  observeProbe(tunnel: number, rttMs: number | undefined): void {
    const labels = this.#tunnelLabels(tunnel);
    this.#probes.inc({ ...labels, result: rttMs === undefined ? 'lost' : 'answered' });
    if (rttMs !== undefined) this.#rtt.observe(labels, rttMs / 1000);
  }

  ikeSaDown(tunnel: number, code: string): void {
    this.#ikeDown.inc({ ...this.#tunnelLabels(tunnel), reason: code });
  }

  failover(from: number | null, to: number | null, gapMs: number | undefined): void {
    this.#failovers.inc({ vpn_id: this.#vpnId, from: String(from ?? 'none'), to: String(to ?? 'none') });
    if (gapMs !== undefined) this.#failoverGap.set({ vpn_id: this.#vpnId }, gapMs / 1000);
  }

  reload(outcome: ReloadOutcome): void {
    this.#reloads.inc({ vpn_id: this.#vpnId, outcome });
  }

  #status(): DaemonStatus {
    return (this.#snapshot ??= this.#source.status());
  }

  #tunnels(): readonly TunnelStatus[] {
    return this.#status().tunnels;
  }

  #labels(t: TunnelStatus): Labels {
    return { vpn_id: this.#vpnId, tunnel: String(t.tunnel), tunnel_ip_address: t.awsOutsideAddress };
  }

  #tunnelLabels(tunnel: number): Labels {
    return { vpn_id: this.#vpnId, tunnel: String(tunnel), tunnel_ip_address: this.#tunnelIps.get(tunnel) ?? '' };
  }
}

function currentIkeSa(t: TunnelStatus): NonNullable<TunnelStatus['ike']>['ikeSas'][number] | undefined {
  return t.ike?.ikeSas.find((sa) => sa.current && sa.state === 'established');
}

function liveChild(t: TunnelStatus): NonNullable<TunnelStatus['ike']>['ikeSas'][number]['children'][number] | undefined {
  const children = t.ike?.ikeSas.flatMap((sa) => sa.children).filter((c) => c.installed && (c.state === 'installed' || c.state === 'rekeying')) ?? [];
  return children.reduce<(typeof children)[number] | undefined>((newest, c) => (!newest || c.createdAt > newest.createdAt ? c : newest), undefined);
}
