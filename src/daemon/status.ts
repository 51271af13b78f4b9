/**
 * The shape of `cgwd status`: built by the daemon, sent over the control socket, rendered by
 * the CLI (src/cli/status-view.ts). Per tunnel in the order of AWS's troubleshooting ladder
 * (AWS Site-to-Site VPN User Guide, "Troubleshoot your customer gateway device"): IKE SA →
 * CHILD SA → keepalive through the tunnel → BGP/routes; then traffic and drop counters
 * (in = from AWS, after decryption; out = toward AWS, before encryption. AWS counts from its
 * side: our out is CloudWatch's TunnelDataIn, our in its TunnelDataOut).
 * No keys, ever.
 */
import type { TunnelCounters } from '../dataplane/types.js';
import type { ConnectionStatus } from '../ike/index.js';
import type { BgpSpeakerStatus } from '../bgp/speaker.js';
import type { KeepaliveStatus } from '../tunnel/keepalive.js';
import type { AwsTunnelLogFields } from '../metrics/aws-tunnel-log.js';
import type { ReloadOutcome } from './reload.js';
import type { RouteSafetyStatus } from '../routing/host-routing.js';

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
  /** CloudWatch's TunnelState: 1 = CHILD SA installed and healthy, and with BGP routing the session Established. */
  cloudWatch: { tunnelState: 0 | 1 };
  /** AWS's tunnel activity log fields for this tunnel now. */
  awsTunnelLog: AwsTunnelLogFields;
}

export interface FailoverRecord {
  /** Monotonic clock ms (like clockNow). */
  at: number;
  from: number | null;
  to: number | null;
  /** From the failed tunnel's last answered keepalive to the routes moving; absent for a failback. */
  gapMs: number | undefined;
  reason: string;
}

/** The last reload (SIGHUP or `cgwd reload`): what it did, or why it changed nothing. */
export interface ReloadRecord {
  /** Wall-clock time, ISO 8601. */
  at: string;
  outcome: ReloadOutcome;
  summary: string;
  /** Why an invalid or refused reload changed nothing, one line each (same text as `cgwd validate`). */
  problems?: string[];
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
  /** Kernel route installs and removals so far. */
  routeChanges: { installs: number; removals: number; failures: number };
  /** Routes kept out of the kernel and why (route-safety.ts), and the default-route policy. */
  routeSafety: RouteSafetyStatus;
  /** The tunnel traffic toward AWS takes, and the failovers so far. */
  failover: { active: number | null; count: number; last: FailoverRecord | undefined };
  reload: { count: number; inProgress: boolean; last: ReloadRecord | undefined };
  drops: Record<string, number>;
}
