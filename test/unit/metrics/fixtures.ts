import type { BgpSpeakerStatus } from '../../../src/bgp/speaker.js';
import type { DaemonStatus, TunnelStatus } from '../../../src/daemon/status.js';
import { DROP_REASONS, type DropReason } from '../../../src/dataplane/types.js';
import type { ConnectionStatus, IkeSaStatus } from '../../../src/ike/index.js';

export function ikeSa(over: Partial<IkeSaStatus> = {}): IkeSaStatus {
  return {
    spiI: 'aa', spiR: 'bb', state: 'established', originalInitiator: true, current: true, suite: 'aes128/sha256/dh14',
    local: '198.51.100.10:4500', remote: '203.0.113.1:4500', natLocal: false, natRemote: false,
    establishedAt: 1_000, rekeyAt: 100_000, expiresAt: 200_000, nextRequestId: 3, expectedRequestId: 1,
    activeTask: undefined, queuedTasks: [], retransmissions: 0,
    children: [{ id: 1, state: 'installed', spiIn: 'c1', spiOut: 'c2', suite: 'aes128gcm16', initiatedByUs: true, installed: true, createdAt: 2_000, rekeyAt: 50_000, expiresAt: 60_000 }],
    ...over,
  };
}

export function connection(over: Partial<ConnectionStatus> = {}): ConnectionStatus {
  return {
    tunnel: 1, role: 'initiator', state: 'established', local: '198.51.100.10:500', remote: '203.0.113.1:500',
    ikeSas: [ikeSa()], reconnect: { attempts: 0, nextAttemptAt: undefined }, lastError: undefined,
    counters: { drops: { 'bad-icv': 2 }, retransmittedRequests: 4, cachedResponsesResent: 0, ikeSasEstablished: 3, ikeRekeys: 2, childRekeys: 5, childRekeyCollisions: 1, ikeRekeyCollisions: 0, reconnects: 1 },
    ...over,
  };
}

export function tunnel(index: 1 | 2, over: Partial<TunnelStatus> = {}): TunnelStatus {
  return {
    tunnel: index, interface: `cgw-t${index}`, mtu: 1422, insideAddress: `169.254.1${index}.2`, peerInsideAddress: `169.254.1${index}.1`,
    awsOutsideAddress: `203.0.113.${index}`,
    ike: connection({ tunnel: index }),
    keepalive: { target: `169.254.1${index}.1`, healthy: true, sent: 10, received: 9, recentLoss: 0.1, lastRttMs: 1.5, lastReplyAt: 9_000 },
    bgp: undefined, routes: ['198.19.0.0/16'],
    traffic: {
      packetsIn: 100, bytesIn: 12_000, packetsOut: 90, bytesOut: 11_000, drops: drops({ replay: 3 }),
      mtu: 1422, pathMtu: 1500, failed: false, offload: true, outboundSa: 7, mssClamped: 0, dfCleared: 0, fragmented: 0, fragmentsOut: 0,
      icmpFragNeeded: 0, tsoPackets: 0, groPackets: 0,
      probe: { on: true, target: `169.254.1${index}.1`, intervalMs: 200, sent: 10, answered: 9, lost: 1, late: 0, lastRttMs: 1.5, inboundAgeMs: 100 },
    },
    cloudWatch: { tunnelState: 1 },
    awsTunnelLog: {
      VpnConnectionId: 'vpn-0123', TunnelOutsideIPAddress: `203.0.113.${index}`, TunnelDPDEnabled: true, TunnelCGWNATTDetectionStatus: true,
      TunnelIKEPhase1State: 'Established', TunnelIKEPhase2State: 'Established', VpnLogDetail: 'CHILD SA established',
    },
    ...over,
  };
}

export function daemonStatus(over: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    connectionId: 'vpn-0123', role: 'customer', routing: 'static', uptimeSeconds: 10, clockNow: 11_000,
    tunnels: [tunnel(1), tunnel(2)], staticRoutes: undefined, ikeTransport: { received: 5 },
    routeChanges: { installs: 4, removals: 1, failures: 0 },
    routeSafety: {
      refused: [{ prefix: '127.0.0.0/8', tunnels: [1, 2], reason: 'martian', detail: 'loopback' }],
      counts: { 'aws-endpoint': 0, 'default-route': 0, martian: 1, 'site-prefix': 0, invalid: 0, conflict: 0 },
      defaultRoute: { accept: false, metric: 50, pinned: [] },
    },
    failover: { active: 1, count: 0, last: undefined },
    reload: { count: 0, inProgress: false, last: undefined }, drops: { unknown_spi: 6 },
    ...over,
  };
}


export function drops(nonZero: Partial<Record<DropReason, number>>): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, nonZero[r] ?? 0])) as Record<DropReason, number>;
}

export function bgpStatus(over: Partial<BgpSpeakerStatus> = {}): BgpSpeakerStatus {
  const zero = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
  return {
    name: 'tunnel 1', state: 'Established', localAs: 65000, peerAs: 64512, localAddress: '169.254.11.2', peerAddress: '169.254.11.1',
    uptimeSeconds: 42, prefixesAdvertised: 1, prefixesSent: 1, prefixesReceived: 1000, establishedTransitions: 2,
    messages: { sent: zero, received: zero }, treatAsWithdrawUpdates: 0, routesIgnored: 0, connectionsRefused: 0,
    ...over,
  };
}
