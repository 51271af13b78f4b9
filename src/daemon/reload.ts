/**
 * Reload (SIGHUP, `cgwd reload`): re-read the AWS file and the settings, and apply the
 * difference tunnel by tunnel without ever taking both tunnels down.
 *
 *   read + validate ──invalid──► nothing changes; the problems go back to `cgwd reload` (exit 1)
 *        │
 *   plan (src/config/diff.ts) ──refused──► nothing changes (settings a running daemon cannot take)
 *        │
 *   connection-wide settings: advertised prefixes (BGP UPDATEs, no reset), static routes,
 *   keepalive, metrics listener, failback
 *        │
 *   tunnels, the one not carrying traffic first; for each that needs it:
 *     drain (routing moves traffic to the other tunnel, if that one is healthy)
 *     → renegotiate / re-address / restart BGP → wait until it carries traffic again
 *     → undrain; only then the next tunnel. A tunnel that does not come back stops the
 *     reload there ("partial"): the other tunnel is left as it was, still carrying traffic.
 *   Packet options (MSS, DF, fragmentation) apply in place, without a drain.
 *
 * The daemon implements ReloadTarget; the ordering lives here so it is testable on its own.
 */
import type { ReloadPlan, TunnelChanges } from '../config/diff.js';
import type { TunnelIndex } from '../config/model.js';

/** invalid: the new files do not validate; refused: they ask what a running daemon cannot do. */
export type ReloadOutcome = 'applied' | 'unchanged' | 'partial' | 'invalid' | 'refused';

export interface TunnelReload {
  readonly tunnel: TunnelIndex;
  readonly actions: readonly string[];
  readonly fields: readonly string[];
  /** Time from the drain to the tunnel carrying traffic again. */
  readonly ms?: number;
  readonly ok: boolean;
}

export interface ReloadResult {
  readonly outcome: ReloadOutcome;
  readonly summary: string;
  readonly settings: readonly string[];
  readonly tunnels: readonly TunnelReload[];
}

export interface ReloadTarget {
  /** Applies the connection-wide changes; returns what it did, one phrase each. */
  applySettings(plan: ReloadPlan): Promise<string[]>;
  /** The tunnel traffic toward AWS takes now, if any. */
  activeTunnel(): TunnelIndex | null;
  /** Marks a tunnel as under maintenance: routing treats it as unhealthy. */
  drain(tunnel: TunnelIndex, draining: boolean): void;
  setPacketOptions(changes: TunnelChanges): void;
  /** Reconnects, reauthenticates and/or re-addresses the tunnel, as `changes` says. */
  renegotiate(changes: TunnelChanges): Promise<void>;
  /** Restarts the tunnel's BGP session with its (new) configuration. */
  restartBgp(changes: TunnelChanges): Promise<void>;
  /** Resolves true once the tunnel carries traffic again (SA up, keepalive answered, BGP up if BGP). */
  waitCarrying(tunnel: TunnelIndex, timeoutMs: number): Promise<boolean>;
  now(): number;
}

/** How long one tunnel may take to come back before the reload stops short of the other. */
export const TUNNEL_RELOAD_TIMEOUT_MS = 60_000;

function tunnelActions(changes: TunnelChanges, bgpRestart: boolean): string[] {
  const actions: string[] = [];
  if (changes.reconnect) actions.push('reconnected');
  else if (changes.reauthenticate) actions.push('reauthenticated');
  if (changes.readdress) actions.push('re-addressed');
  if (bgpRestart) actions.push('BGP restarted');
  return actions;
}

export async function applyReload(target: ReloadTarget, plan: ReloadPlan, options: { bgp: boolean }): Promise<ReloadResult> {
  if (plan.unchanged) return { outcome: 'unchanged', summary: 'reload: nothing changed', settings: [], tunnels: [] };
  const settings = await target.applySettings(plan);
  const active = target.activeTunnel();
  const order = [...plan.tunnels].sort((a, b) => Number(a.slot === active) - Number(b.slot === active));
  const tunnels: TunnelReload[] = [];
  let stopped = false;
  for (const changes of order) {
    if (changes.packetOptions) target.setPacketOptions(changes);
    const bgpRestart = options.bgp && (changes.bgp || plan.target) && !changes.reconnect && !changes.readdress;
    const actions = tunnelActions(changes, bgpRestart);
    if (actions.length === 0) {
      tunnels.push({ tunnel: changes.slot, actions: changes.packetOptions ? ['packet options'] : [], fields: changes.fields, ok: true });
      continue;
    }
    if (stopped) {
      tunnels.push({ tunnel: changes.slot, actions: [], fields: changes.fields, ok: false });
      continue;
    }
    const started = target.now();
    target.drain(changes.slot, true);
    let ok = false;
    try {
      if (changes.reconnect || changes.reauthenticate || changes.readdress) await target.renegotiate(changes);
      if (bgpRestart) await target.restartBgp(changes);
      ok = await target.waitCarrying(changes.slot, TUNNEL_RELOAD_TIMEOUT_MS);
    } finally {
      target.drain(changes.slot, false);
    }
    tunnels.push({ tunnel: changes.slot, actions, fields: changes.fields, ms: Math.round(target.now() - started), ok });
    if (!ok) stopped = true;
  }
  tunnels.sort((a, b) => a.tunnel - b.tunnel);
  const outcome: ReloadOutcome = tunnels.every((t) => t.ok) ? 'applied' : 'partial';
  return { outcome, summary: summarize(outcome, settings, tunnels), settings, tunnels };
}

function summarize(outcome: ReloadOutcome, settings: readonly string[], tunnels: readonly TunnelReload[]): string {
  const parts = [...settings];
  for (const t of tunnels) {
    if (t.actions.length === 0 && t.ok) continue;
    if (!t.ok && t.actions.length === 0) parts.push(`tunnel ${t.tunnel} left as it was`);
    else parts.push(`tunnel ${t.tunnel} ${t.actions.join(', ')}${t.ok ? ` (${t.ms} ms)` : ' but did not come back'}`);
  }
  return `reload ${outcome}: ${parts.length > 0 ? parts.join('; ') : 'no change to apply'}`;
}
