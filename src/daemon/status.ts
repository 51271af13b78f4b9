/**
 * What `cgwd status` shows, per tunnel, in the order AWS's troubleshooting
 * ladder walks it (aws-peer.md §3.8): IKE SA → CHILD SA → keepalive through the
 * tunnel → routes; then traffic and drop counters (in = after decryption, out =
 * before encryption: CloudWatch's TunnelDataIn/TunnelDataOut). No keys, ever.
 */
import net from 'node:net';
import type { TunnelCounters } from '../dataplane/types.js';
import { CgwdError } from '../errors.js';
import type { ConnectionStatus } from '../ike/v2/index.js';
import { systemClock } from '../ike/system-runtime.js';
import type { BgpSpeakerStatus } from '../bgp/speaker.js';
import type { KeepaliveStatus } from '../tunnel/keepalive.js';
import type { Daemon } from './daemon.js';

export interface TunnelStatus {
  tunnel: number;
  interface: string;
  mtu: number;
  insideAddress: string;
  peerInsideAddress: string;
  awsOutsideAddress: string;
  ike: ConnectionStatus | undefined;
  keepalive: KeepaliveStatus;
  bgp: BgpSpeakerStatus | undefined;
  /** Kernel routes cgwd holds through this tunnel. */
  routes: string[];
  traffic: Omit<TunnelCounters, 'tunnel' | 'ifname' | 'ifindex'> | undefined;
}

export interface DaemonStatus {
  connectionId: string;
  role: 'customer' | 'aws';
  routing: 'static' | 'bgp';
  uptimeSeconds: number;
  /** The daemon's monotonic clock at the snapshot: IKE times (establishedAt, rekeyAt…) are on it. */
  clockNow: number;
  tunnels: TunnelStatus[];
  staticRoutes: { active: number | null; prefixes: readonly string[]; switches: number; lastChange: { at: number; reason: string } | undefined } | undefined;
  ikeTransport: Record<string, number>;
  drops: Record<string, number>;
}

export function buildStatus(daemon: Daemon): DaemonStatus {
  const counters = daemon.socketSets.filter((s) => !s.dataplane.closed).map((s) => s.dataplane.counters());
  const drops: Record<string, number> = {};
  for (const c of counters) for (const [reason, n] of Object.entries(c.drops)) drops[reason] = (drops[reason] ?? 0) + n;
  const tunnels: TunnelStatus[] = [...daemon.tunnels.values()].map((t) => {
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
      ike: daemon.ikePair?.connections.get(t.index)?.status(),
      keepalive: t.keepalive.status(),
      bgp: daemon.speakers.get(t.index)?.status(),
      routes: (daemon.bgpRouting?.status().installed ?? []).filter((r) => r.dev === t.ifname).map((r) => r.prefix),
      traffic: trafficView,
    };
  });
  return {
    connectionId: daemon.options.config.connectionId,
    role: daemon.options.role,
    routing: daemon.options.config.routing,
    uptimeSeconds: Math.round((Date.now() - daemon.startedAt) / 1000),
    clockNow: systemClock.now(),
    tunnels,
    staticRoutes: daemon.staticRouting?.status(),
    ikeTransport: { ...(daemon.ikePair?.transportCounters() ?? {}) },
    drops,
  };
}

function age(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const s = Math.round((now - ms) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function inSeconds(at: number | undefined, now: number): string {
  if (at === undefined) return '-';
  return `${Math.max(0, Math.round((at - now) / 1000))}s`;
}

/** Human rendering of the status (the JSON is the same data). */
export function renderStatus(status: DaemonStatus): string {
  const ikeNow = status.clockNow;
  const lines: string[] = [];
  lines.push(`cgwd ${status.role === 'aws' ? '(AWS role) ' : ''}${status.connectionId}: ${status.routing} routing, up ${status.uptimeSeconds}s`);
  for (const t of status.tunnels) {
    const ike = t.ike;
    const current = ike?.ikeSas.find((s) => s.current) ?? ike?.ikeSas[0];
    const child = current?.children.find((c) => c.installed) ?? current?.children[0];
    lines.push('');
    lines.push(`tunnel ${t.tunnel}  ${t.interface} ${t.insideAddress} → ${t.peerInsideAddress}  (AWS ${t.awsOutsideAddress}, MTU ${t.mtu})`);
    lines.push(`  1 IKE SA     ${ike?.state ?? '-'}${current ? `  ${current.spiI}/${current.spiR}  ${current.suite ?? ''}  age ${age(current.establishedAt, ikeNow)}  rekey in ${inSeconds(current.rekeyAt, ikeNow)}${current.natLocal ? '  NAT local' : ''}` : ''}`);
    if (ike?.lastError && ike.state !== 'established') lines.push(`               last error: ${ike.lastError.code}: ${ike.lastError.reason}`);
    lines.push(`  2 CHILD SA   ${child ? `${child.state}  in ${child.spiIn} out ${child.spiOut}  ${child.suite}  age ${age(child.createdAt, ikeNow)}  rekey in ${inSeconds(child.rekeyAt, ikeNow)}` : 'none'}`);
    const k = t.keepalive;
    lines.push(`  3 keepalive  ${k.healthy ? 'answered' : 'NOT ANSWERED'}  ${k.target}  rtt ${k.lastRttMs ?? '-'} ms  loss ${(k.recentLoss * 100).toFixed(0)}% (${k.received}/${k.sent})`);
    if (t.bgp) {
      const down = t.bgp.lastDown ? `; last down: ${t.bgp.lastDown.description}` : '';
      lines.push(`  4 BGP        ${t.bgp.state}  AS ${t.bgp.localAs} → ${t.bgp.peerAs}  up ${t.bgp.uptimeSeconds}s  sent ${t.bgp.prefixesSent} received ${t.bgp.prefixesReceived}${down}`);
      lines.push(`    routes     ${t.routes.length ? t.routes.join(', ') : 'none'}`);
    } else {
      const active = status.staticRoutes?.active === t.tunnel;
      lines.push(`  4 routes     ${status.staticRoutes ? (active ? `active: ${status.staticRoutes.prefixes.join(', ')}` : 'standby') : 'none'}`);
    }
    if (t.traffic) {
      const d = Object.entries(t.traffic.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
      lines.push(`  traffic      in ${t.traffic.packetsIn} pkts / ${t.traffic.bytesIn} B   out ${t.traffic.packetsOut} pkts / ${t.traffic.bytesOut} B   drops: ${d || 'none'}`);
    }
  }
  const drops = Object.entries(status.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
  lines.push('');
  lines.push(`data plane drops: ${drops || 'none'}`);
  return `${lines.join('\n')}\n`;
}

/** Asks the running daemon over its control socket (what `cgwd status` does). */
export function queryStatus(socketPath: string, timeoutMs = 5000): Promise<DaemonStatus> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CgwdError('STATUS_TIMEOUT', `no answer from cgwd on ${socketPath}`));
    }, timeoutMs);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new CgwdError('STATUS_UNREACHABLE', `cgwd is not running (cannot connect to ${socketPath}: ${error.message})`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as DaemonStatus);
      } catch {
        reject(new CgwdError('STATUS_MALFORMED', `unreadable answer from ${socketPath}`));
      }
    });
  });
}
