/**
 * The data plane's public shapes: options, tunnel settings, counters, events.
 * Counters are cgwd's view: "in" counts inner packets from AWS after
 * decryption, "out" inner packets toward AWS before encryption. CloudWatch
 * counts the same bytes from AWS's side: our "out" is its TunnelDataIn, our
 * "in" its TunnelDataOut.
 */
import type { TunnelIndex } from '../config/model.js';
import { DATAPLANE_THREADS_SETTINGS, type DataplaneThreadsSetting } from '../config/settings.js';
import type { Endpoint, IkeDatagram } from '../ike/runtime.js';

export interface DataplaneLimits {
  /** Packets per recvmmsg/sendmmsg and per TUN burst (1–256, default 64). */
  readonly batch?: number;
  /** IKE datagrams and events queued for JavaScript before drops (default 1024). */
  readonly eventQueue?: number;
  /** UDP socket buffers in bytes (default 4 MiB each). */
  readonly udpReceiveBuffer?: number;
  readonly udpSendBuffer?: number;
}

/** Packet threads: 1 (one loop does both directions) or 2 (one per direction); the same choices as the setting. */
export const DATAPLANE_THREAD_CHOICES = DATAPLANE_THREADS_SETTINGS;
export type DataplaneThreads = DataplaneThreadsSetting;

export interface DataplaneOffloads {
  /**
   * TUN devices with virtio_net_hdr (IFF_VNET_HDR, TUNSETOFFLOAD csum + TSO4):
   * TCP leaves the kernel as 64 KB super-packets that the data plane splits,
   * and in-order TCP segments are coalesced on the way in. Default true.
   */
  readonly tun?: boolean;
  /** UDP GSO for sending and GRO for receiving ESP-in-UDP. Default true (falls back where unsupported). */
  readonly udp?: boolean;
}

export interface DataplaneOptions {
  /**
   * Network namespace to run in, as a path (`/run/netns/NAME`). The packet
   * thread enters it and creates the UDP socket and the TUN devices there; the
   * rest of the process stays where it is. Default: the caller's namespace.
   */
  readonly netns?: string;
  /** Where the UDP socket binds (IKE and ESP-in-UDP). Default 0.0.0.0:4500; port 0 picks a free one. */
  readonly local?: Partial<Endpoint>;
  /**
   * Packet threads (default 1). With 2, an outbound thread (TUN reads, encryption, commands,
   * timers: `cgwd-dp-out`) and an inbound one (UDP receive, decryption, TUN writes, IKE:
   * `cgwd-dp-in`), both in `netns`. Fixed for the life of the instance.
   */
  readonly threads?: DataplaneThreads;
  readonly limits?: DataplaneLimits;
  readonly offload?: DataplaneOffloads;
  /**
   * The IKE peers (AWS outside addresses; at most 8). When given, non-ESP-marker datagrams from
   * any other source are dropped and counted in C before they are copied, and each peer gets an
   * equal share of the queue to JavaScript. Absent or empty: no filter.
   */
  readonly ikePeers?: readonly string[];
}

/** Per-packet options from the AWS configuration, per tunnel. */
export interface TunnelPacketOptions {
  /** `tcp_mss_adjustment`: clamp the MSS of TCP SYNs in both directions; 0 or absent = off. */
  readonly tcpMss?: number;
  /** `clear_df_bit`: clear DF on inner packets before encryption. */
  readonly clearDf?: boolean;
  /** `fragmentation_before_encryption`: fragment inner packets that would not fit the path. */
  readonly fragmentBeforeEncryption?: boolean;
  /** MTU of the underlay path the ESP-in-UDP datagrams must fit (default 1500). */
  readonly pathMtu?: number;
}

export interface TunnelOptions extends TunnelPacketOptions {
  readonly tunnel: TunnelIndex;
  /** TUN interface name (at most 15 characters). */
  readonly ifname: string;
  /** TUN MTU (576–9216). */
  readonly mtu: number;
  /** This side's inside address with its prefix, e.g. "169.254.10.2/30". */
  readonly address: string;
  /** The AWS side's inside address; default network + 1 (AWS's convention). Source of our ICMP errors. */
  readonly peer?: string;
  /** TUN transmit queue length in packets (kernel default 500). */
  readonly txQueueLength?: number;
  /** Keep IPv6 enabled on the TUN (default false: no link-local address, no router solicitations). */
  readonly ipv6?: boolean;
}

export interface TunnelInfo {
  readonly tunnel: TunnelIndex;
  readonly ifname: string;
  readonly ifindex: number;
  readonly mtu: number;
  readonly address: string;
  readonly prefixLength: number;
  readonly peer: string;
}

/** Limits beyond what a ChildSaInstall carries (AWS negotiates none of these; tests use them). */
export interface SaInstallOptions {
  readonly softBytes?: number;
  readonly hardBytes?: number;
  readonly softPackets?: number;
  readonly hardPackets?: number;
  /** Start the outbound sequence after this number (tests: near the 2^32 wrap). */
  readonly initialSequence?: number;
  /** Decrypt on it at once but keep sending on the older SA until releaseChildSa. */
  readonly holdOutbound?: boolean;
}

export const DROP_REASONS = [
  'replay',
  'icv',
  'no_sa',
  'malformed',
  'bad_padding',
  'bad_next_header',
  'queue_full',
  'tun_write',
  'no_outbound_sa',
  'mtu',
  'seq_exhausted',
  'expired',
  'not_ipv4',
  'dummy',
  'udp_send',
  'ike_filtered',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounters = Readonly<Record<DropReason, number>>;

export interface TrafficCounters {
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
  readonly drops: DropCounters;
}

export interface TunnelCounters extends TrafficCounters {
  readonly tunnel: number;
  readonly ifname: string;
  readonly ifindex: number;
  readonly mtu: number;
  readonly pathMtu: number;
  /** The TUN fd reported an error; the tunnel no longer reads. */
  readonly failed: boolean;
  /** The TUN carries virtio_net_hdr (offloads on). */
  readonly offload: boolean;
  /** Id of the SA outbound traffic uses, or null. */
  readonly outboundSa: number | null;
  readonly mssClamped: number;
  readonly dfCleared: number;
  /** Inner packets fragmented before encryption, and the fragments that made. */
  readonly fragmented: number;
  readonly fragmentsOut: number;
  /** ICMP "fragmentation needed" messages written back into the TUN. */
  readonly icmpFragNeeded: number;
  /** TCP super-packets read from the TUN and split (TSO), and coalesced ones written to it (GRO). */
  readonly tsoPackets: number;
  readonly groPackets: number;
  /** Keepalive probes of the data plane (setProbe). */
  readonly probe: ProbeCounters;
}

export interface ProbeCounters {
  readonly on: boolean;
  readonly target: string;
  readonly intervalMs: number;
  readonly sent: number;
  readonly answered: number;
  /** Unanswered when the next one was due. */
  readonly lost: number;
  /** Replies to an older probe (after it was counted lost). */
  readonly late: number;
  readonly lastRttMs: number;
  /** Since the tunnel last decrypted a packet (any: proof of life), or null when it never did. */
  readonly inboundAgeMs: number | null;
}

/** One keepalive probe finished: answered (with its round trip) or unanswered when the next was due. */
export interface ProbeEvent {
  tunnel: number;
  seq: number;
  rttMs: number | undefined;
  /** Other packets the tunnel decrypted while the probe was out (proof of life even if unanswered). */
  inbound: number;
}

export interface SaCounters extends TrafficCounters {
  readonly id: number;
  readonly tunnel: number;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly encryption: string;
  readonly integrity: string | null;
  /** Last outbound sequence number used. */
  readonly seqOut: number;
  /** Highest authenticated inbound sequence number. */
  readonly replayTop: number;
  readonly replayWindow: number;
  readonly ageMs: number;
  /** This SA carries the tunnel's outbound traffic. */
  readonly outbound: boolean;
  readonly softExpired: boolean;
  readonly hardExpired: boolean;
}

export interface DataplaneCounters {
  readonly udpDatagramsIn: number;
  readonly udpDatagramsOut: number;
  readonly espIn: number;
  /** NAT keepalives (one 0xFF byte) received and dropped. */
  readonly keepalivesIn: number;
  /** Datagrams with the non-ESP marker handed to JavaScript, and sent by sendIke. */
  readonly ikeIn: number;
  readonly ikeOut: number;
  /** IKE datagrams lost because the queue to JavaScript was full (also in drops.queue_full). */
  readonly ikeDropped: number;
  /** IKE datagrams on the data plane's socket from sources other than `ikePeers`, dropped in C (also in drops.ike_filtered). */
  readonly ikeFiltered: number;
  /** SA events that found the queue full (they are retried). */
  readonly eventsDropped: number;
  readonly tunPacketsIn: number;
  readonly wakeups: number;
  /** Sends that carried several datagrams (UDP GSO) and receives that did (UDP GRO). */
  readonly udpGsoSends: number;
  readonly udpGroReceives: number;
  /** Whether UDP GSO / GRO are in use on the socket. */
  readonly udpGso: boolean;
  readonly udpGro: boolean;
  /** Every drop, by reason, whether or not it belongs to a tunnel or SA. */
  readonly drops: DropCounters;
  readonly tunnels: readonly TunnelCounters[];
  readonly sas: readonly SaCounters[];
}

export type ExpiryReason = 'time' | 'bytes' | 'packets';

export interface SaExpiryEvent {
  readonly id: number;
  readonly tunnel: number;
  readonly reason: ExpiryReason;
}

export interface SaSeqEvent {
  readonly id: number;
  readonly tunnel: number;
  /** Last sequence number used; the SA refuses to send past 2^32 − 1. */
  readonly seq: number;
}

export interface DataplaneEvents {
  /** Rekey now: a soft lifetime (time, bytes or packets) was reached. */
  'sa-soft-expired': [SaExpiryEvent];
  /** The SA is no longer used in either direction. */
  'sa-hard-expired': [SaExpiryEvent];
  /** The outbound sequence number passed 0xF0000000: rekey before it wraps. */
  'sa-seq-exhausting': [SaSeqEvent];
  'ike-datagram': [IkeDatagram];
  probe: [ProbeEvent];
  error: [Error];
}
