/**
 * `cgwd lab bench --ecmp-only`: one tunnel at a time against both at once (ECMP), in the BGP lab.
 *
 * For `--ecmp off` and `--ecmp on` in turn (a fresh lab each): iperf3 TCP with 8 parallel flows from
 * the site host to the VPC host (median of `runs`), and with ECMP on, 32 UDP flows each way at one
 * datagram per 10 ms while tunnel 1 is cut silently: how many flows lost anything, and the longest
 * outage of any flow. The AWS router hashes on ports too (fib_multipath_hash_policy=1 in its
 * namespace), as a transit gateway with ECMP spreads flows over the tunnels. Figures, not assertions;
 * bounded in time; every process it starts is stopped by PID.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { execInResult, isAlive, run, sleep, spawnDaemonIn, stopPid, waitFor } from '../system/exec.js';
import { iperf, pick, pingable, startCgwd, withIperfServer } from './bench.js';
import type { FlowReport } from './flow-probe.js';
import { cutTunnel, labDown, labUp, recordLabPid, type LabState } from './lab.js';
import { NS } from './plan.js';

export interface EcmpBenchRow {
  ecmp: 'off' | 'on';
  tcpMbps: number[];
  /** With ECMP on: tunnel 1 cut under 32 flows each way. */
  cut?: { direction: 'site→VPC' | 'VPC→site'; flowsHit: number; flows: number; longestGapMs: number }[];
}

const SITE_HOST = '192.0.2.10';
const VPC_HOST = '198.19.0.10';
const FLOWS = 32;
const FLOW_PORT = 9_000;

async function nexthopDevices(ns: string, prefix: string): Promise<string[]> {
  const [route] = JSON.parse((await run('ip', ['-n', ns, '-j', 'route', 'show', prefix])) || '[]') as { dev?: string; nexthops?: { dev: string }[] }[];
  return route?.nexthops ? route.nexthops.map((n) => n.dev) : route?.dev ? [route.dev] : [];
}

/** Flows both ways at once; tunnel 1 is cut `cutAfterMs` in. */
async function flowsUnderCut(state: LabState, probe: string, cutAfterMs: number, awsOutside: string): Promise<NonNullable<EcmpBenchRow['cut']>> {
  const seconds = 10;
  const ways = [
    { direction: 'site→VPC' as const, from: NS.onprem, to: NS.vpc, host: VPC_HOST },
    { direction: 'VPC→site' as const, from: NS.vpc, to: NS.onprem, host: SITE_HOST },
  ];
  const sinks = ways.map((w, i) => {
    const log = path.join(state.stateDir, `ecmp-sink-${i}.json`);
    const pid = spawnDaemonIn(w.to, [process.execPath, probe, 'sink', String(FLOW_PORT), String(seconds + 8), '10'], log);
    recordLabPid(state.stateDir, `ecmp-sink-${i}`, pid);
    return { ...w, log, pid };
  });
  await sleep(500);
  const senders = ways.map((w) => execInResult(w.from, process.execPath, [probe, 'send', w.host, String(FLOW_PORT), String(FLOWS), String(seconds), '10'], (seconds + 20) * 1000));
  await sleep(cutAfterMs);
  await cutTunnel(awsOutside, true);
  await Promise.all(senders);
  const rows: NonNullable<EcmpBenchRow['cut']> = [];
  for (const s of sinks) {
    await waitFor(`flow sink ${s.direction}`, async () => (isAlive(s.pid) ? undefined : true), 15_000, 100).catch(() => stopPid(s.pid));
    const report = JSON.parse(readFileSync(s.log, 'utf8').trim().split('\n').pop() ?? '{"flows":[]}') as FlowReport;
    rows.push({
      direction: s.direction,
      flows: report.flows.length,
      flowsHit: report.flows.filter((f) => f.longestGapMs > 0).length,
      longestGapMs: Math.max(0, ...report.flows.map((f) => f.longestGapMs)),
    });
  }
  await cutTunnel(awsOutside, false);
  return rows;
}

export async function runEcmpBench(configPath: string, cli: string, log: (line: string) => void, runs = 3, tcpSeconds = 10): Promise<EcmpBenchRow[]> {
  const config = loadConfig(configPath);
  const probe = path.join(path.dirname(cli), '..', 'lab', 'flow-probe.js');
  const rows: EcmpBenchRow[] = [];
  for (const ecmp of ['off', 'on'] as const) {
    try {
      const state = await labUp({ config, configPath, options: { nat: false }, log });
      await run('ip', ['netns', 'exec', NS.aws, 'sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
      const pid = startCgwd(state, NS.cgw, ['--config', configPath, '--ecmp', ecmp, '--advertise', '192.0.2.0/24', '--control-socket', '/tmp/cgwd-bench-ecmp.sock', '--log-level', 'warn'], 'cgwd-customer', cli);
      const wanted = ecmp === 'on' ? 'cgw-t1,cgw-t2' : 'cgw-t1';
      await waitFor(`VPC route over ${wanted}`, async () => ((await nexthopDevices(NS.cgw, '198.19.0.0/16')).join() === wanted ? true : undefined), 120_000, 250);
      if (ecmp === 'on') await waitFor('AWS routes the site over both tunnels', async () => ((await nexthopDevices(NS.aws, '192.0.2.0/24')).length === 2 ? true : undefined), 60_000, 250);
      await waitFor('traffic', pingable, 30_000, 250);
      const tcpMbps = await withIperfServer(state, async () => {
        const figures: number[] = [];
        for (let i = 0; i < runs; i++) figures.push(Math.round(pick(await iperf(['-P', '8'], tcpSeconds), 'end', 'sum_received', 'bits_per_second') / 1e6));
        return figures;
      });
      const row: EcmpBenchRow = { ecmp, tcpMbps };
      if (ecmp === 'on') row.cut = await flowsUnderCut(state, probe, 3_000, config.tunnels[0].aws.outsideAddress);
      log(`ECMP ${ecmp}: ${JSON.stringify(row)}`);
      rows.push(row);
      await stopPid(pid);
    } finally {
      await labDown();
    }
  }
  return rows;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export function renderEcmpBench(rows: readonly EcmpBenchRow[]): string {
  const lines = ['| tunnels | TCP, 8 flows, site→VPC, Mbit/s (median; runs) |', '|---|---|'];
  for (const r of rows) lines.push(`| ${r.ecmp === 'on' ? 'both at once (--ecmp on)' : 'one at a time (--ecmp off)'} | ${median(r.tcpMbps)} (${r.tcpMbps.join(', ')}) |`);
  const cut = rows.flatMap((r) => r.cut ?? []);
  if (cut.length > 0) {
    lines.push('', '| ECMP on, tunnel 1 cut silently, 32 UDP flows at 100 datagrams/s | flows that lost any | longest outage of a flow |', '|---|---|---|');
    for (const c of cut) lines.push(`| ${c.direction} | ${c.flowsHit} of ${c.flows} | ${c.longestGapMs} ms |`);
  }
  return `${lines.join('\n')}\n`;
}
