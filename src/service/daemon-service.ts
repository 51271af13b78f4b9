/**
 * The narrow hook between `cgwd up` (src/daemon/daemon.ts) and the service manager:
 * READY=1 once the daemon has started (data plane, sockets, control socket: the daemon
 * never waits for AWS), the STATUS= line polled once a second and sent when it changes,
 * the watchdog fed by every data plane's packet-thread heartbeat, and STOPPING=1.
 */
import type { Daemon } from '../daemon/daemon.js';
import type { ConnectionState } from '../ike/connection/status.js';
import type { ServiceNotifier } from './notify.js';

export interface TunnelSummary {
  index: number;
  ike: ConnectionState | undefined;
  childSas: number;
  healthy: boolean;
  /** BGP session state, undefined with static routing. */
  bgp: string | undefined;
}

/** "vpn-…: tunnel 1 up (IKE established, keepalive ok, BGP Established); tunnel 2 down (IKE connecting, no CHILD SA)" */
export function formatServiceStatus(connectionId: string, tunnels: readonly TunnelSummary[]): string {
  const parts = tunnels.map((t) => {
    const up = t.childSas > 0 && t.healthy && (t.bgp === undefined || t.bgp === 'Established');
    const details = [`IKE ${t.ike ?? 'idle'}`];
    if (t.childSas === 0) details.push('no CHILD SA');
    else details.push(t.healthy ? 'keepalive ok' : 'keepalive lost');
    if (t.bgp !== undefined) details.push(`BGP ${t.bgp}`);
    return `tunnel ${t.index} ${up ? 'up' : 'down'} (${details.join(', ')})`;
  });
  return `${connectionId}: ${parts.join('; ')}`;
}

export function daemonSummary(daemon: Daemon): string {
  const tunnels = [...daemon.tunnels.values()].map(
    (t): TunnelSummary => ({
      index: t.index,
      ike: daemon.ikePair?.connections.get(t.index)?.status().state,
      childSas: t.children.size,
      healthy: t.keepalive.healthy,
      bgp: daemon.speakers.get(t.index)?.state,
    }),
  );
  return formatServiceStatus(daemon.options.config.connectionId, tunnels);
}

const STATUS_POLL_MS = 1000;

/**
 * After Daemon.start(): READY=1 with the first summary, the STATUS= poll and the watchdog.
 * Returns the function that stops both timers (the daemon calls it when it stops).
 *
 * Test hook: with CGWD_TESTING_STALL_MS=N in the environment, SIGUSR2 parks every packet
 * thread for N ms (the interop watchdog test); without it SIGUSR2 keeps Node's default.
 */
export function attachService(daemon: Daemon, notifier: ServiceNotifier, env: NodeJS.ProcessEnv = process.env): () => void {
  notifier.ready(daemonSummary(daemon));
  notifier.startWatchdog(
    // One source per packet thread (two with dataplaneThreads 2): each of them must move.
    daemon.socketSets.flatMap((set) =>
      Array.from({ length: set.dataplane.threads }, (_, i) => () => (set.dataplane.closed ? undefined : set.dataplane.heartbeats()[i])),
    ),
  );
  const poll = notifier.enabled ? setInterval(() => notifier.status(daemonSummary(daemon)), STATUS_POLL_MS) : undefined;
  poll?.unref();

  const stallMs = Number(env.CGWD_TESTING_STALL_MS ?? '');
  let onStall: (() => void) | undefined;
  if (Number.isInteger(stallMs) && stallMs > 0 && stallMs <= 60_000) {
    onStall = () => {
      daemon.options.logger.warn({ ms: stallMs }, 'test hook: parking the packet threads');
      for (const set of daemon.socketSets) if (!set.dataplane.closed) set.dataplane.stallForTesting(stallMs);
    };
    process.on('SIGUSR2', onStall);
  }
  return () => {
    if (poll) clearInterval(poll);
    if (onStall) process.off('SIGUSR2', onStall);
  };
}
