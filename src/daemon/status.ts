/**
 * The shape of `cgwd status`: built by the daemon, sent over the control socket, rendered by
 * the CLI (src/cli/status-view.ts). Per tunnel in the order of AWS's troubleshooting ladder
 * (AWS Site-to-Site VPN User Guide, "Troubleshoot your customer gateway device"): IKE SA →
 * CHILD SA → keepalive through the tunnel → BGP/routes; then traffic and drop counters
 * (in = after decryption, out = before encryption: CloudWatch's TunnelDataIn/TunnelDataOut).
 * No keys, ever.
 */
import type { TunnelCounters } from '../dataplane/types.js';
import type { ConnectionStatus } from '../ike/v2/index.js';
import type { BgpSpeakerStatus } from '../bgp/speaker.js';
import type { KeepaliveStatus } from '../tunnel/keepalive.js';

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
