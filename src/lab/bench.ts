/**
 * `cgwd lab bench` (npm run bench): the same lab, the same run, three pairs of
 * gateways through tunnel 1, side by side:
 *   (a) cgwd ↔ cgwd            (cgwd --role aws plays the AWS endpoints)
 *   (b) strongSwan ↔ strongSwan (kernel-libipsec on both ends, AWS's own recipe)
 *   (c) cgwd ↔ strongSwan
 * For each: iperf3 TCP (median of N runs), iperf3 UDP at saturating offered load
 * with 1400-byte and 64-byte payloads (the highest rate of a ladder that crosses
 * with ≤ 0.1 % loss, and what arrives under an unlimited flood), CPU seconds
 * per million packets of each gateway process over the UDP runs, and peak RSS
 * of each gateway process after the UDP flood. Figures, not assertions; bounded
 * in time; every process it starts is stopped by PID.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { CgwdError } from '../errors.js';
import { execInResult, isAlive, runCommand, sleep, spawnDaemonIn, stopPid, waitFor } from '../system/exec.js';
import { labDown, labUp, recordLabPid, type LabState } from './lab.js';
import { NS, buildLabPlan } from './plan.js';
import { startReferenceCustomer, useTunnel } from './reference.js';

export interface BenchOptions {
  configPath: string;
  cli: string;
  runs: number;
  tcpSeconds: number;
  udpSeconds: number;
  log: (line: string) => void;
}

interface GatewayProcess {
  name: string;
  pid: number;
}

export interface FailoverGap {
  /** Longest run of echo requests from the site that never reached the VPC host, in ms (10 ms spacing). */
  siteToVpcMs: number;
  /** Longest run of echo requests that did arrive but whose reply never came back, in ms. */
  vpcToSiteMs: number;
  /** When cgwd moved its routes to tunnel 2, ms after the cut. */
  routesMovedMs: number;
}

export interface BenchRow {
  pair: string;
  tcpMbps: number[];
  udp1400: UdpResult;
  udp64: UdpResult;
  cpuSecondsPerMillionPackets: Record<string, number>;
  peakRssMb: Record<string, number>;
  failover?: FailoverGap;
}

interface UdpResult {
  /** Received packets/s with an unlimited offered load, and the loss there. */
  receivedPps: number;
  lossPercent: number;
  /** The highest offered rate of the ladder that crossed with at most 0.1 % loss. */
  losslessPps: number;
  packets: number;
}

/** Offered rates (packets/s) tried for the lossless figure, lowest first. */
const UDP_LADDER = [10_000, 20_000, 40_000, 70_000, 100_000, 140_000];

const VPC_HOST = '198.19.0.10';

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat (1-based), in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

async function iperf(args: string[], seconds: number): Promise<Record<string, unknown>> {
  const r = await execInResult(NS.onprem, 'iperf3', ['-c', VPC_HOST, '-J', '-t', String(seconds), ...args], (seconds + 30) * 1000);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new CgwdError('BENCH_IPERF', `iperf3 gave no result: ${r.stderr.slice(0, 300)}`);
  }
}

function pick(obj: unknown, ...keys: string[]): number {
  let v: unknown = obj;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : NaN;
}

async function measure(pair: string, gateways: GatewayProcess[], options: BenchOptions): Promise<BenchRow> {
  const tcpMbps: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const j = await iperf([], options.tcpSeconds);
    tcpMbps.push(Math.round(pick(j, 'end', 'sum_received', 'bits_per_second') / 1e6));
  }
  const cpuBefore = gateways.map((g) => cpuSeconds(g.pid));
  let packets = 0;
  const trial = async (length: number, rate: string): Promise<{ sent: number; lost: number; seconds: number }> => {
    // A flood can cost iperf3 its control connection; one retry, then the trial counts as lost.
    for (let attempt = 0; attempt < 2; attempt++) {
      const j = await iperf(['-u', '-b', rate, '-l', String(length)], options.udpSeconds).catch(() => undefined);
      const sent = pick(j, 'end', 'sum', 'packets');
      const lost = pick(j, 'end', 'sum', 'lost_packets');
      const seconds = pick(j, 'end', 'sum', 'seconds');
      if ([sent, lost, seconds].every(Number.isFinite)) {
        packets += sent;
        return { sent, lost, seconds };
      }
      await sleep(1_000);
    }
    return { sent: 0, lost: 0, seconds: 1 };
  };
  const udp = async (length: number): Promise<UdpResult> => {
    let losslessPps = 0;
    for (const pps of UDP_LADDER) {
      const t = await trial(length, String(pps * length * 8));
      if (t.sent === 0 || t.lost / t.sent > 0.001) break;
      losslessPps = pps;
    }
    const flood = await trial(length, '0');
    return {
      receivedPps: Math.round((flood.sent - flood.lost) / flood.seconds),
      lossPercent: Math.round((1000 * flood.lost) / Math.max(1, flood.sent)) / 10,
      losslessPps,
      packets: flood.sent,
    };
  };
  const udp1400 = await udp(1400);
  const udp64 = await udp(64);
  const cpu: Record<string, number> = {};
  const rss: Record<string, number> = {};
  gateways.forEach((g, i) => {
    cpu[g.name] = Math.round((100 * (cpuSeconds(g.pid) - (cpuBefore[i] ?? 0)) * 1e6) / Math.max(1, packets)) / 100;
    rss[g.name] = peakRssMb(g.pid);
  });
  const row = { pair, tcpMbps, udp1400, udp64, cpuSecondsPerMillionPackets: cpu, peakRssMb: rss };
  options.log(`${pair}: ${JSON.stringify(row)}`);
  return row;
}

function startCgwd(state: LabState, ns: string, args: string[], name: string, cli: string): number {
  const pid = spawnDaemonIn(ns, [process.execPath, cli, 'up', ...args], path.join(state.stateDir, `${name}.log`));
  recordLabPid(state.stateDir, name, pid);
  return pid;
}

async function routedVia(ns: string, prefix: string, dev: string): Promise<boolean | undefined> {
  const r = await runCommand('ip', ['-n', ns, 'route', 'show', prefix]);
  return r.stdout.includes(`dev ${dev}`) ? true : undefined;
}

async function pingable(): Promise<true | undefined> {
  const r = await execInResult(NS.onprem, 'ping', ['-c', '1', '-W', '1', VPC_HOST]);
  return r.code === 0 ? true : undefined;
}

async function withIperfServer<T>(state: LabState, fn: () => Promise<T>): Promise<T> {
  const pid = spawnDaemonIn(NS.vpc, ['iperf3', '-s'], path.join(state.stateDir, 'iperf3.log'));
  recordLabPid(state.stateDir, 'iperf3', pid);
  await sleep(500);
  try {
    return await fn();
  } finally {
    await stopPid(pid);
  }
}

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const config = loadConfig(options.configPath);
  if (config.routing !== 'static') throw new CgwdError('BENCH_CONFIG', 'the benchmark uses a static-routing file (configs/lab/vpn-config-static.xml)');
  const rows: BenchRow[] = [];
  const customerArgs = ['--config', options.configPath, '--static-route', '198.19.0.0/16', '--control-socket', '/tmp/cgwd-bench-customer.sock', '--log-level', 'warn'];
  try {
    // (a) cgwd ↔ cgwd
    {
      const state = await labUp({ config, configPath: options.configPath, options: { nat: false, awsSide: 'cgwd' }, log: options.log });
      const aws = startCgwd(state, NS.aws, ['--role', 'aws', '--config', options.configPath, '--static-route', '192.0.2.0/24', '--interfaces', 'tun1,tun2', '--control-socket', '/tmp/cgwd-bench-aws.sock', '--log-level', 'warn'], 'cgwd-aws', options.cli);
      const customer = startCgwd(state, NS.cgw, customerArgs, 'cgwd-customer', options.cli);
      await waitFor('cgwd ↔ cgwd routes on tunnel 1', async () => (await routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1')) && (await routedVia(NS.aws, '192.0.2.0/24', 'tun1')), 60_000, 250);
      await waitFor('traffic through the tunnel', pingable, 30_000, 250);
      rows.push(await withIperfServer(state, () => measure('(a) cgwd ↔ cgwd', [{ name: 'cgwd (customer)', pid: customer }, { name: 'cgwd (aws)', pid: aws }], options)));
      await labDown();
    }
    // (b) strongSwan ↔ strongSwan
    {
      const state = await labUp({ config, configPath: options.configPath, options: { nat: false }, log: options.log });
      const ref = await startReferenceCustomer(buildLabPlan(config, { nat: false }), state.stateDir);
      await useTunnel(ref, 1);
      await waitFor('traffic through the tunnel', pingable, 30_000, 250);
      rows.push(
        await withIperfServer(state, () =>
          measure('(b) strongSwan ↔ strongSwan', [{ name: 'charon (customer)', pid: ref.charon.pid }, { name: 'charon (aws)', pid: state.pids.aws1 ?? -1 }], options),
        ),
      );
      await labDown();
    }
    // (c) cgwd ↔ strongSwan
    {
      const state = await labUp({ config, configPath: options.configPath, options: { nat: false }, log: options.log });
      const customer = startCgwd(state, NS.cgw, customerArgs, 'cgwd-customer', options.cli);
      await waitFor('routes on tunnel 1', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1'), 60_000, 250);
      await waitFor('traffic through the tunnel', pingable, 30_000, 250);
      const row = await withIperfServer(state, () => measure('(c) cgwd ↔ strongSwan', [{ name: 'cgwd (customer)', pid: customer }, { name: 'charon (aws)', pid: state.pids.aws1 ?? -1 }], options));
      if (!isAlive(customer)) throw new CgwdError('BENCH_CGWD_EXITED', 'cgwd exited during the benchmark');
      row.failover = await measureFailover(state);
      options.log(`failover: ${JSON.stringify(row.failover)}`);
      rows.push(row);
    }
  } finally {
    await labDown();
  }
  return rows;
}

/**
 * Tunnel 1 cut silently in `inet` (its packets dropped) under a 10 ms ping from the site to
 * the VPC host. The VPC host's capture tells the two directions apart: a request that never
 * arrived was lost on the way in; one that arrived without a reply was lost on the way back.
 */
async function measureFailover(state: LabState): Promise<FailoverGap> {
  const capture = path.join(state.stateDir, 'failover.pcap.txt');
  const dump = spawnDaemonIn(NS.vpc, ['tcpdump', '-l', '-n', '-i', 'vpc-aws', 'icmp[icmptype] == 8'], capture);
  recordLabPid(state.stateDir, 'tcpdump', dump);
  await sleep(1_000);
  const count = 6_000;
  const pinging = execInResult(NS.onprem, 'ping', ['-n', '-i', '0.01', '-W', '1', '-c', String(count), VPC_HOST], 120_000);
  await sleep(3_000);
  const cutAt = Date.now();
  for (const rule of ['add table ip cgwd_cut', 'add chain ip cgwd_cut cut { type filter hook forward priority 0 ; }', 'add rule ip cgwd_cut cut ip daddr 203.0.113.10 drop', 'add rule ip cgwd_cut cut ip saddr 203.0.113.10 drop']) {
    await execInResult(NS.inet, 'nft', rule.split(' '));
  }
  await waitFor('routes on tunnel 2', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t2'), 60_000, 20);
  const routesMovedMs = Date.now() - cutAt;
  const result = await pinging;
  await sleep(500);
  await stopPid(dump);
  await execInResult(NS.inet, 'nft', ['delete', 'table', 'ip', 'cgwd_cut']);
  const replied = new Set([...result.stdout.matchAll(/icmp_seq=(\d+) ttl/g)].map((m) => Number(m[1])));
  const arrived = new Set([...readFileSync(capture, 'utf8').matchAll(/ICMP echo request, id \d+, seq (\d+)/g)].map((m) => Number(m[1])));
  const longestRun = (missing: (seq: number) => boolean): number => {
    let best = 0;
    let run = 0;
    for (let seq = 1; seq <= count; seq++) {
      run = missing(seq) ? run + 1 : 0;
      best = Math.max(best, run);
    }
    return best * 10;
  };
  return {
    siteToVpcMs: longestRun((seq) => !arrived.has(seq)),
    vpcToSiteMs: longestRun((seq) => arrived.has(seq) && !replied.has(seq)),
    routesMovedMs,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

export function renderBench(rows: BenchRow[]): string {
  const lines = [
    '| pair | TCP Mbit/s (median; runs) | UDP 1400 B pps: ≤0.1 % loss / flood received (loss) | UDP 64 B pps: ≤0.1 % loss / flood received (loss) | CPU s per Mpkt | peak RSS MB after flood |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join('; ');
    lines.push(
      `| ${r.pair} | ${median(r.tcpMbps)} (${r.tcpMbps.join(', ')}) | ${r.udp1400.losslessPps} / ${r.udp1400.receivedPps} (${r.udp1400.lossPercent} %) | ${r.udp64.losslessPps} / ${r.udp64.receivedPps} (${r.udp64.lossPercent} %) | ${fmt(r.cpuSecondsPerMillionPackets)} | ${fmt(r.peakRssMb)} |`,
    );
  }
  const failover = rows.filter((r) => r.failover).map((r) => `${r.pair}: tunnel 1 cut silently → routes on tunnel 2 after ${r.failover?.routesMovedMs} ms; traffic lost site→VPC ${r.failover?.siteToVpcMs} ms, VPC→site ${r.failover?.vpcToSiteMs} ms (10 ms pings)`);
  return `${lines.join('\n')}\n${failover.length ? `\n${failover.join('\n')}\n` : ''}`;
}
