// Loads the native data-plane addon (native/, built by node-gyp against the
// OpenSSL that Node ships) and describes its raw surface. Code outside
// src/dataplane should use the typed wrapper there, not this raw interface.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** SA as the addon takes it; src/dataplane/validate.ts builds it from a ChildSaInstall. */
export interface NativeSaSpec {
  id: number;
  tunnel: number;
  spiIn: number;
  spiOut: number;
  encryption: string;
  integrity?: string;
  encKeyIn: Uint8Array;
  encKeyOut: Uint8Array;
  integKeyIn?: Uint8Array;
  integKeyOut?: Uint8Array;
  remoteAddress?: string;
  remotePort?: number;
  replayWindow?: number;
  softBytes?: number;
  hardBytes?: number;
  softPackets?: number;
  hardPackets?: number;
  softMs?: number;
  hardMs?: number;
  /** The last outbound sequence number "already used" (tests: start near the wrap). */
  initialSequence?: number;
  /** Decrypts at once, sends only after releaseSa (IKEv1: the peer installs on QM3). */
  holdOutbound?: boolean;
}

export interface NativeTunnelFlags {
  mss?: number;
  clearDf?: boolean;
  fragment?: boolean;
  pathMtu?: number;
}

export interface NativeTunnelSpec extends NativeTunnelFlags {
  tunnel: number;
  ifname: string;
  mtu: number;
  address: string;
  prefixLength: number;
  peer: string;
  txQueueLength?: number;
  disableIpv6?: boolean;
}

export interface NativeDataplaneOptions {
  netns?: string;
  address: string;
  port: number;
  batch?: number;
  rcvbuf?: number;
  sndbuf?: number;
  eventQueue?: number;
  /** Packet threads: 1 or 2 (native/src/loop.c). */
  threads?: number;
  ikePeers?: string[];
  tunOffload?: boolean;
  udpOffload?: boolean;
}

export type NativeDrops = Record<string, number>;

export interface NativeTraffic {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  drops: NativeDrops;
}

export interface NativeTunnelCounters extends NativeTraffic {
  tunnel: number;
  ifname: string;
  ifindex: number;
  mtu: number;
  pathMtu: number;
  failed: boolean;
  offload: boolean;
  outboundSa: number | null;
  mssClamped: number;
  dfCleared: number;
  fragmented: number;
  fragmentsOut: number;
  icmpFragNeeded: number;
  tsoPackets: number;
  groPackets: number;
  probe: {
    on: boolean;
    target: string;
    intervalMs: number;
    sent: number;
    answered: number;
    lost: number;
    late: number;
    lastRttMs: number;
    inboundAgeMs: number | null;
  };
}

export interface NativeSaCounters extends NativeTraffic {
  id: number;
  tunnel: number;
  spiIn: number;
  spiOut: number;
  encryption: string;
  integrity: string | null;
  seqOut: number;
  replayTop: number;
  replayWindow: number;
  ageMs: number;
  outbound: boolean;
  softExpired: boolean;
  hardExpired: boolean;
}

export interface NativeCounters {
  udpDatagramsIn: number;
  udpDatagramsOut: number;
  espIn: number;
  keepalivesIn: number;
  ikeIn: number;
  ikeOut: number;
  ikeDropped: number;
  ikeFiltered: number;
  eventsDropped: number;
  tunPacketsIn: number;
  wakeups: number;
  udpGsoSends: number;
  udpGroReceives: number;
  udpGso: boolean;
  udpGro: boolean;
  drops: NativeDrops;
  tunnels: NativeTunnelCounters[];
  sas: NativeSaCounters[];
}

export type NativeEvent =
  | { type: 'ike-datagram'; address: string; port: number; data: Buffer }
  | { type: 'sa-soft-expired' | 'sa-hard-expired'; id: number; tunnel: number; reason: 'time' | 'bytes' | 'packets' }
  | { type: 'sa-seq-exhausting'; id: number; tunnel: number; seq: number }
  | { type: 'probe'; tunnel: number; seq: number; rttMs?: number; inbound: number }
  | { type: 'error'; tunnel: number; message: string };

export interface NativeDataplane {
  addTunnel(spec: NativeTunnelSpec): { ifindex: number };
  setTunnelOptions(tunnel: number, flags: NativeTunnelFlags): void;
  removeTunnel(tunnel: number): void;
  installSa(spec: NativeSaSpec): void;
  removeSa(id: number): boolean;
  releaseSa(id: number): boolean;
  /** Keepalive probes of a tunnel (native/src/probe.c): every intervalMs (10–3600000; 0 stops), to target or the tunnel's peer. */
  setProbe(tunnel: number, intervalMs: number, target?: string): void;
  /** Returns 0, or the errno value of a failed sendmsg. */
  sendUdp(address: string, port: number, data: Uint8Array, ikeMarker: boolean): number;
  counters(): NativeCounters;
  localAddress(): { address: string; port: number };
  /** Packet-thread loop iterations so far (an atomic read: never waits for the thread). */
  heartbeat(): number;
  /** The same per packet thread: [only] or [outbound, inbound]. */
  heartbeats(): number[];
  /** Test hook: the packet thread sleeps for `ms` (1–60000) and returns at once. */
  stallForTesting(ms: number): void;
  close(): void;
}

export interface NativeRouteChange {
  verb: 'add' | 'replace' | 'delete';
  dst: string;
  dstLen: number;
  gateway?: string;
  dev?: string;
  metric: number;
  protocol: number;
  table?: number;
  /** 2–4 next hops: one multipath route (gateway/dev above then unused). */
  nexthops?: { gateway: string; dev: string }[];
}

export interface DataplaneAddon {
  opensslVersion(): string;
  abiVersion(): number;
  dropReasons(): string[];
  /** One AF_UNIX datagram to a path or an '@' abstract name (sd_notify, journal): 0 or an errno value. */
  sendUnixDatagram(path: string, data: Uint8Array): number;
  /** Route changes over rtnetlink in one batch (native/src/rtnl.c): one errno per change, 0 = done. */
  routeBatch(changes: readonly NativeRouteChange[], netns?: string): number[];
  Dataplane: new (options: NativeDataplaneOptions, onEvent: (event: NativeEvent) => void) => NativeDataplane;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Works from src/native (tests) and dist/native (installed): both are two levels below the package root.
const addonPath = path.resolve(here, '..', '..', 'native', 'build', 'Release', 'cgwd_dataplane.node');

let cached: DataplaneAddon | undefined;

export function loadDataplane(): DataplaneAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require(addonPath) as DataplaneAddon;
  }
  return cached;
}
