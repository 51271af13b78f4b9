/**
 * `cgwd lab bench --ha-only` (`npm run bench -- --ha-only`): the HA pair's failover figures
 * (ha-pair.ts): for each failure of box A and for its return, the traffic lost per direction while
 * the LAN host pings the VPC host every 10 ms. Lost packets × 10 ms is the outage.
 */
import { runHaPair, type HaEvent, type HaPairResult } from './ha-pair.js';

export const HA_BENCH_EVENTS: readonly HaEvent[] = ['cgwd-killed', 'uplink-cut', 'power-off'];

export async function runHaBench(cli: string, log: (line: string) => void, holdTime = 30): Promise<HaPairResult & { holdTime: number }> {
  const result = await runHaPair({ cli, events: HA_BENCH_EVENTS, holdTime, standbyPrepend: 4, log }, Math.max(20_000, (holdTime + 10) * 1_000));
  return { ...result, holdTime };
}

export function renderHaBench(result: HaPairResult & { holdTime: number }): string {
  const lines = [
    `HA pair (two boxes, two VPN connections, keepalived; BGP hold time ${result.holdTime} s; ping every 10 ms):`,
    `${'event'.padEnd(22)} ${'sent'.padStart(6)} ${'LAN→VPC lost'.padStart(16)} ${'VPC→LAN lost'.padStart(16)}  AWS route after`,
  ];
  for (const p of result.phases) {
    const ms = (n: number): string => `${n} (${n * 10} ms)`;
    lines.push(`${p.event.padEnd(22)} ${String(p.sent).padStart(6)} ${ms(p.lanToVpcLost).padStart(16)} ${ms(p.vpcToLanLost).padStart(16)}  ${p.awsRouteAtEnd}`);
  }
  lines.push(`VRRP states: box A ${result.transitions.a.join(' ')}; box B ${result.transitions.b.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
