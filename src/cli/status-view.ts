/** Human rendering of `cgwd status` (the JSON is the same data). */
import type { DaemonStatus } from '../daemon/status.js';

function age(ms: number | undefined, now: number): string {
  if (ms === undefined) return '-';
  const s = Math.round((now - ms) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function inSeconds(at: number | undefined, now: number): string {
  if (at === undefined) return '-';
  return `${Math.max(0, Math.round((at - now) / 1000))}s`;
}

/** A long route list (a transit gateway may send 1,000) as a count and the first few. */
function routeList(routes: readonly string[], shown = 8): string {
  if (routes.length === 0) return 'none';
  if (routes.length <= shown) return routes.join(', ');
  return `${routes.length}: ${routes.slice(0, shown).join(', ')}, …`;
}

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
      lines.push(`    routes     ${routeList(t.routes)}`);
    } else {
      const active = status.staticRoutes?.active === t.tunnel;
      lines.push(`  4 routes     ${status.staticRoutes ? (active ? `active: ${status.staticRoutes.prefixes.join(', ')}` : 'standby') : 'none'}`);
    }
    if (t.traffic) {
      const d = Object.entries(t.traffic.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
      lines.push(`  traffic      in ${t.traffic.packetsIn} pkts / ${t.traffic.bytesIn} B   out ${t.traffic.packetsOut} pkts / ${t.traffic.bytesOut} B   drops: ${d || 'none'}`);
    }
  }
  const safety = status.routeSafety;
  const refusedCounts = Object.entries(safety.counts).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
  lines.push('');
  lines.push(`default route: ${safety.defaultRoute.accept ? `accepted (metric ${safety.defaultRoute.metric}; pinned to the underlay: ${safety.defaultRoute.pinned.join(', ') || 'none'})` : 'refused unless defaultRoute.accept'}`);
  lines.push(`refused routes: ${refusedCounts || 'none'}`);
  for (const r of safety.refused.slice(0, 10)) lines.push(`  ${r.prefix.padEnd(18)} ${r.reason.padEnd(13)} ${r.detail}`);
  if (safety.refused.length > 10) lines.push(`  … ${safety.refused.length - 10} more (cgwd status --json)`);
  const drops = Object.entries(status.drops).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
  lines.push('');
  lines.push(`data plane drops: ${drops || 'none'}`);
  const reload = status.reload?.last;
  if (reload) {
    lines.push(`last reload ${reload.at}: ${reload.summary}`);
    for (const problem of reload.problems ?? []) lines.push(`  ${problem}`);
  }
  return `${lines.join('\n')}\n`;
}
