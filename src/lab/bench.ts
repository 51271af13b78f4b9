/**
 * `cgwd lab bench` (npm run bench): the same lab, the same run, three pairs of
 * gateways through tunnel 1, side by side:
 *   (a) cgwd ↔ cgwd            (cgwd --role aws plays the AWS endpoints)
 *   (b) strongSwan ↔ strongSwan (kernel-libipsec on both ends, AWS's own recipe)
 *   (c) cgwd ↔ strongSwan
 * For each: iperf3 TCP (median of N runs); the UDP ladder of udp-ladder.ts with the
 * native generator (cgwd-loadgen) for 1,400- and 1,350-byte payloads in both
 * directions (packets/s at ≤ 0.1 % loss with three agreeing runs, what arrives under
 * a flood, CPU µs per packet of each gateway process and its data-plane thread);
 * peak RSS of each gateway process after the floods. Progress is printed per pair and
 * step. Figures, not assertions; bounded in time; every process it starts is stopped by PID.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { CgwdError } from '../errors.js';
import { execInResult, isAlive, runCommand, sleep, spawnDaemonIn, stopPid, waitFor } from '../system/exec.js';
import { birdc, cutTunnel, labDown, labUp, recordLabPid, restartAwsEndpoint, type LabState } from './lab.js';
import { NS, buildLabPlan } from './plan.js';
import { startReferenceCustomer, useTunnel } from './reference.js';
import { DEFAULT_RATES, LADDER_HEADER, renderLadder, runLadder, sampleCpu, TICKS, ticksOf, type Direction, type LadderResult } from './udp-ladder.js';
import { forgetNatMappings, natPublicPorts } from './nat-rebind.js';

export interface BenchOptions {
  configPath: string;
  cli: string;
  runs: number;
  tcpSeconds: number;
  udpSeconds: number;
  /** Only the UDP ladder (no TCP runs, no failover figure). */
  udpOnly?: boolean;
  /** Only iperf3 TCP (no UDP ladder, no failover). */
  tcpOnly?: boolean;
  /** Which pairs: any of 'a', 'b', 'c' (default all). */
  pairs?: readonly string[];
  /** Ladder steps (packets/s), lowest first. */
  rates?: readonly number[];
  /** UDP payload sizes (default 1,400 and 1,350). */
  sizes?: readonly number[];
  /** Generator datagrams per UDP_SEGMENT send (see udp-ladder.ts); 1 or undefined: one per send. */
  generatorGso?: number;
  /** Packet threads of the lab's cgwd instances (--dataplane-threads; default: cgwd's, 1). */
  dataplaneThreads?: 1 | 2;
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
  /** CPU cores each gateway used over the TCP runs: whole process, and its busiest packet thread. */
  tcpCores: Record<string, { process: number; thread?: number }>;
  udp: LadderResult[];
  peakRssMb: Record<string, number>;
  failover?: FailoverGap;
}

/**
 * UDP payloads of the ladder: 1,400 B makes 1,428-byte packets, over the 1,422-byte tunnel MTU of
 * AES-CBC + HMAC-SHA1-96 with NAT-T, so every one is fragmented before encryption (AWS: fragment
 * before encryption, no PMTUD); 1,350 B (1,378-byte packets) fits.
 */
const UDP_SIZES = [1400, 1350];

const VPC_HOST = '198.19.0.10';
const SITE_HOST = '192.0.2.10';

const DIRECTIONS: Direction[] = [
  { name: 'site→VPC', senderNetns: NS.onprem, sinkNetns: NS.vpc, dst: `${VPC_HOST}:5301` },
  { name: 'VPC→site', senderNetns: NS.vpc, sinkNetns: NS.onprem, dst: `${SITE_HOST}:5301` },
];

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

export async function iperf(args: string[], seconds: number): Promise<Record<string, unknown>> {
  const r = await execInResult(NS.onprem, 'iperf3', ['-c', VPC_HOST, '-J', '-t', String(seconds), ...args], (seconds + 30) * 1000);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new CgwdError('BENCH_IPERF', `iperf3 gave no result: ${r.stderr.slice(0, 300)}`);
  }
}

export function pick(obj: unknown, ...keys: string[]): number {
  let v: unknown = obj;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : NaN;
}

async function measure(pair: string, gateways: GatewayProcess[], options: BenchOptions): Promise<BenchRow> {
  const tcpMbps: number[] = [];
  const tcpCores: BenchRow['tcpCores'] = {};
  const runs = options.udpOnly ? 0 : options.runs;
  const before = gateways.map((g) => ({ cpu: sampleCpu(g.pid), threads: threadTicks(g.pid) }));
  const started = Date.now();
  for (let i = 0; i < runs; i++) {
    const j = await iperf([], options.tcpSeconds);
    tcpMbps.push(Math.round(pick(j, 'end', 'sum_received', 'bits_per_second') / 1e6));
    options.log(`${pair}: TCP run ${i + 1}: ${tcpMbps[i]} Mbit/s`);
  }
  if (runs > 0) {
    // iperf3's own start and stop are in the wall time too: the cores are a slight underestimate.
    const seconds = (Date.now() - started) / 1000;
    gateways.forEach((g, k) => {
      const b = before[k] as { cpu: ReturnType<typeof sampleCpu>; threads: Map<string, number> };
      const after = threadTicks(g.pid);
      let busiest: number | undefined;
      for (const [tid, ticks] of after) {
        const spent = ticks - (b.threads.get(tid) ?? ticks);
        busiest = Math.max(busiest ?? 0, spent);
      }
      const cores = (ticks: number): number => Math.round((ticks / TICKS / seconds) * 100) / 100;
      const process = cores(sampleCpu(g.pid).process - b.cpu.process);
      tcpCores[g.name] = busiest !== undefined ? { process, thread: cores(busiest) } : { process };
    });
    options.log(`${pair}: CPU cores during TCP ${JSON.stringify(tcpCores)}`);
  }
  const udp = options.tcpOnly ? [] : await runLadder({
    seconds: options.udpSeconds,
    sizes: options.sizes ?? UDP_SIZES,
    rates: options.rates ?? DEFAULT_RATES,
    directions: DIRECTIONS,
    gateways,
    namespaces: [NS.onprem, NS.cgw, NS.inet, NS.aws, NS.vpc],
    ...(options.generatorGso ? { generatorGso: options.generatorGso } : {}),
    log: options.log,
  });
  const rss: Record<string, number> = {};
  for (const g of gateways) rss[g.name] = peakRssMb(g.pid);
  const row = { pair, tcpMbps, tcpCores, udp, peakRssMb: rss };
  options.log(`${pair}: ${JSON.stringify(row)}`);
  return row;
}

export function startCgwd(state: LabState, ns: string, args: string[], name: string, cli: string): number {
  const pid = spawnDaemonIn(ns, [process.execPath, cli, 'up', ...args], path.join(state.stateDir, `${name}.log`));
  recordLabPid(state.stateDir, name, pid);
  return pid;
}

async function routedVia(ns: string, prefix: string, dev: string): Promise<boolean | undefined> {
  const r = await runCommand('ip', ['-n', ns, 'route', 'show', prefix]);
  return r.stdout.includes(`dev ${dev}`) ? true : undefined;
}

export async function pingable(): Promise<true | undefined> {
  const r = await execInResult(NS.onprem, 'ping', ['-c', '1', '-W', '1', VPC_HOST]);
  return r.code === 0 ? true : undefined;
}

export async function withIperfServer<T>(state: LabState, fn: () => Promise<T>): Promise<T> {
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
  const threadArgs = options.dataplaneThreads !== undefined ? ['--dataplane-threads', String(options.dataplaneThreads)] : [];
  const customerArgs = ['--config', options.configPath, '--static-route', '198.19.0.0/16', '--control-socket', '/tmp/cgwd-bench-customer.sock', '--log-level', 'warn', ...threadArgs];
  try {
    const want = (p: string): boolean => !options.pairs || options.pairs.includes(p);
    // (a) cgwd ↔ cgwd
    if (want('a')) {
      const state = await labUp({ config, configPath: options.configPath, options: { nat: false, awsSide: 'cgwd' }, log: options.log });
      const aws = startCgwd(state, NS.aws, ['--role', 'aws', '--config', options.configPath, '--static-route', '192.0.2.0/24', '--interfaces', 'tun1,tun2', '--control-socket', '/tmp/cgwd-bench-aws.sock', '--log-level', 'warn', ...threadArgs], 'cgwd-aws', options.cli);
      const customer = startCgwd(state, NS.cgw, customerArgs, 'cgwd-customer', options.cli);
      await waitFor('cgwd ↔ cgwd routes on tunnel 1', async () => (await routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1')) && (await routedVia(NS.aws, '192.0.2.0/24', 'tun1')), 60_000, 250);
      await waitFor('traffic through the tunnel', pingable, 30_000, 250);
      rows.push(await withIperfServer(state, () => measure('(a) cgwd ↔ cgwd', [{ name: 'cgwd (customer)', pid: customer }, { name: 'cgwd (aws)', pid: aws }], options)));
      await labDown();
    }
    // (b) strongSwan ↔ strongSwan
    if (want('b')) {
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
    if (want('c')) {
      const state = await labUp({ config, configPath: options.configPath, options: { nat: false }, log: options.log });
      const customer = startCgwd(state, NS.cgw, customerArgs, 'cgwd-customer', options.cli);
      await waitFor('routes on tunnel 1', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1'), 60_000, 250);
      await waitFor('traffic through the tunnel', pingable, 30_000, 250);
      const row = await withIperfServer(state, () => measure('(c) cgwd ↔ strongSwan', [{ name: 'cgwd (customer)', pid: customer }, { name: 'charon (aws)', pid: state.pids.aws1 ?? -1 }], options));
      if (!isAlive(customer)) throw new CgwdError('BENCH_CGWD_EXITED', 'cgwd exited during the benchmark');
      if (!options.udpOnly && !options.tcpOnly) {
        row.failover = await measureFailover(state);
        options.log(`failover: ${JSON.stringify(row.failover)}`);
      }
      rows.push(row);
    }
  } finally {
    await labDown();
  }
  return rows;
}

const cutTunnel1 = (): Promise<void> => cutTunnel('203.0.113.10', true);
const uncutTunnel1 = (): Promise<void> => cutTunnel('203.0.113.10', false);

/**
 * Traffic lost per direction while `disrupt` happens: 10 ms pings from the site to the VPC
 * host and from the VPC host to the site at the same time, each direction's echo requests
 * captured where they should arrive. The longest run of requests that never arrived, times
 * 10 ms, is that direction's gap.
 */
async function measureGap(state: LabState, name: string, disrupt: () => Promise<void>, seconds = 60): Promise<{ siteToVpcMs: number; vpcToSiteMs: number }> {
  const count = seconds * 100;
  const direction = async (from: string, to: string, toNs: string, toIf: string, tag: string): Promise<() => Promise<number>> => {
    const capture = path.join(state.stateDir, `${name}-${tag}.txt`);
    const dump = spawnDaemonIn(toNs, ['tcpdump', '-l', '-n', '-i', toIf, `icmp[icmptype] == 8 and src host ${from}`], capture);
    recordLabPid(state.stateDir, `tcpdump-${name}-${tag}`, dump);
    await sleep(1_000);
    const fromNs = toNs === NS.vpc ? NS.onprem : NS.vpc;
    const pinging = execInResult(fromNs, 'ping', ['-n', '-q', '-i', '0.01', '-W', '1', '-c', String(count), to], (seconds + 60) * 1000);
    return async () => {
      await pinging;
      await sleep(500);
      await stopPid(dump);
      const arrived = new Set([...readFileSync(capture, 'utf8').matchAll(/ICMP echo request, id \d+, seq (\d+)/g)].map((m) => Number(m[1])));
      let best = 0;
      let run = 0;
      for (let seq = 1; seq <= count; seq++) {
        run = arrived.has(seq) ? 0 : run + 1;
        best = Math.max(best, run);
      }
      return best * 10;
    };
  };
  const siteToVpc = await direction('192.0.2.10', VPC_HOST, NS.vpc, 'vpc-aws', 'in');
  const vpcToSite = await direction(VPC_HOST, '192.0.2.10', NS.onprem, 'onprem-cgw', 'out');
  await sleep(3_000);
  await disrupt();
  return { siteToVpcMs: await siteToVpc(), vpcToSiteMs: await vpcToSite() };
}

/** Static routing: tunnel 1 cut silently in `inet`; AWS's side follows only when its DPD gives up. */
async function measureFailover(state: LabState): Promise<FailoverGap> {
  let cutAt = 0;
  let routesMovedMs = 0;
  const gap = await measureGap(state, 'static-cut', async () => {
    cutAt = Date.now();
    await cutTunnel1();
    await waitFor('routes on tunnel 2', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t2'), 60_000, 20);
    routesMovedMs = Date.now() - cutAt;
  });
  await uncutTunnel1();
  return { ...gap, routesMovedMs };
}

export interface BgpFailoverRow {
  failure: string;
  siteToVpcMs: number;
  vpcToSiteMs: number;
}

/** BGP: the three failures of issue 5, each measured from a healthy start on tunnel 1. */
export async function runBgpFailoverBench(
  configPath: string,
  cli: string,
  log: (line: string) => void,
  /** Prefixes the AWS router announces besides the VPC (1,000 for the many-routes figures). */
  extraPrefixes: readonly string[] = [],
  cutOnly = false,
): Promise<BgpFailoverRow[]> {
  const config = loadConfig(configPath);
  const rows: BgpFailoverRow[] = [];
  const routes = `${1 + extraPrefixes.length} route${extraPrefixes.length ? 's' : ''}`;
  try {
    const state = await labUp({ config, configPath, options: { nat: false, awsExtraPrefixes: extraPrefixes }, log });
    startCgwd(state, NS.cgw, ['--config', configPath, '--advertise', '192.0.2.0/24', '--control-socket', '/tmp/cgwd-bench-bgp.sock', '--log-level', 'warn'], 'cgwd-customer', cli);
    const healthy = async (): Promise<void> => {
      await waitFor('VPC route on tunnel 1', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1'), 180_000, 250);
      await waitFor('site halves withdrawn at AWS', async () => ((await runCommand('ip', ['-n', NS.aws, 'route', 'show', '192.0.2.128/25'])).stdout.trim() === '' ? true : undefined), 60_000, 250);
      await waitFor('traffic', pingable, 30_000, 250);
      await sleep(2_000);
    };
    const failures: [string, () => Promise<void>, () => Promise<void>][] = [
      ['tunnel 1 cut silently (packets dropped in inet)', cutTunnel1, uncutTunnel1],
      ['AWS-side IKE restart (tunnel 1 endpoint loses its state)', () => restartAwsEndpoint(config, 1, state.stateDir), async () => undefined],
      ['AWS-side BGP stop on tunnel 1 (birdc disable)', async () => void (await birdc(state.stateDir, 'bird-aws', 'disable', 'tunnel1')), async () => void (await birdc(state.stateDir, 'bird-aws', 'enable', 'tunnel1'))],
    ];
    for (const [failure, disrupt, restore] of cutOnly ? failures.slice(0, 1) : failures) {
      await healthy();
      const gap = await measureGap(state, `bgp-${rows.length}`, disrupt, 45);
      rows.push({ failure: `BGP: ${failure}, ${routes}`, ...gap });
      log(`BGP failover, ${failure}: ${JSON.stringify(gap)}`);
      await restore();
    }
  } finally {
    await labDown();
  }
  return rows;
}

/** Many learned prefixes for the failover figures (100.64.0.0/10, shared address space: nowhere else in the lab). */
export function manyPrefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
}

/** Static routing: tunnel 1 cut silently, with `extraRoutes` more static prefixes moving with the VPC's. */
export async function runStaticFailoverBench(configPath: string, cli: string, log: (line: string) => void, extraRoutes: readonly string[] = []): Promise<BgpFailoverRow> {
  const config = loadConfig(configPath);
  try {
    const state = await labUp({ config, configPath, options: { nat: false }, log });
    const prefixes = ['198.19.0.0/16', ...extraRoutes].join(',');
    startCgwd(state, NS.cgw, ['--config', configPath, '--static-route', prefixes, '--control-socket', '/tmp/cgwd-bench-static.sock', '--log-level', 'warn'], 'cgwd-customer', cli);
    await waitFor('routes on tunnel 1', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1'), 60_000, 250);
    await waitFor('traffic through the tunnel', pingable, 30_000, 250);
    await sleep(2_000);
    const gap = await measureFailover(state);
    log(`static failover, ${1 + extraRoutes.length} routes: ${JSON.stringify(gap)}`);
    return { failure: `static: tunnel 1 cut silently, ${1 + extraRoutes.length} route${extraRoutes.length ? 's' : ''}`, siteToVpcMs: gap.siteToVpcMs, vpcToSiteMs: gap.vpcToSiteMs };
  } finally {
    await labDown();
  }
}

/**
 * NAT rebinding (static routing, the cgw behind the lab's source NAT): the NAT forgets its
 * mappings (src/lab/nat-rebind.ts) and AWS keeps answering the old public port until cgwd's
 * probes notice the silence and IKE tells it the new one.
 */
export async function runNatRebindBench(configPath: string, cli: string, log: (line: string) => void): Promise<BgpFailoverRow> {
  const config = loadConfig(configPath);
  try {
    const state = await labUp({ config, configPath, options: { nat: true }, log });
    const plan = buildLabPlan(config, state.options);
    const cgwAddress = plan.customerTransit.cgw;
    startCgwd(state, NS.cgw, ['--config', configPath, '--static-route', '198.19.0.0/16', '--control-socket', '/tmp/cgwd-bench-nat.sock', '--log-level', 'warn'], 'cgwd-customer', cli);
    await waitFor('routes on tunnel 1', () => routedVia(NS.cgw, '198.19.0.0/16', 'cgw-t1'), 60_000, 250);
    await waitFor('traffic through the tunnel', pingable, 30_000, 250);
    await sleep(2_000);
    const before = await natPublicPorts(cgwAddress);
    const gap = await measureGap(state, 'nat-rebind', () => forgetNatMappings(cgwAddress, plan.customerOutside), 20);
    const after = await natPublicPorts(cgwAddress);
    log(`NAT rebinding: ${JSON.stringify(gap)}, public ports ${before.join(',')} -> ${after.join(',')}`);
    return { failure: 'static, behind NAT: the NAT forgets its mappings', siteToVpcMs: gap.siteToVpcMs, vpcToSiteMs: gap.vpcToSiteMs };
  } finally {
    await labDown();
  }
}

export function renderBgpFailover(rows: BgpFailoverRow[]): string {
  return `${['| failure (cgwd ↔ strongSwan + BIRD, 10 ms pings each way) | traffic lost site→VPC | traffic lost VPC→site |', '|---|---|---|', ...rows.map((r) => `| ${r.failure} | ${r.siteToVpcMs} ms | ${r.vpcToSiteMs} ms |`)].join('\n')}\n`;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/** Per-thread utime+stime ticks of a process (tid → ticks); empty when it is gone. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(tid, ticksOf(`/proc/${pid}/task/${tid}/stat`));
  } catch {
    // gone
  }
  return out;
}

export function renderBench(rows: BenchRow[]): string {
  const lines = ['| pair | TCP Mbit/s (median; runs) | CPU cores during TCP: process (busiest thread) | peak RSS MB after the floods |', '|---|---|---|---|'];
  const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join('; ');
  const cores = (o: BenchRow['tcpCores']) => Object.entries(o).map(([k, v]) => `${k} ${v.process}${v.thread !== undefined ? ` (${v.thread})` : ''}`).join('; ') || '–';
  for (const r of rows) lines.push(`| ${r.pair} | ${r.tcpMbps.length ? `${median(r.tcpMbps)} (${r.tcpMbps.join(', ')})` : '–'} | ${cores(r.tcpCores)} | ${fmt(r.peakRssMb)} |`);
  if (rows.every((r) => r.udp.length === 0)) return `${lines.join('\n')}\n`;
  const udp = [...LADDER_HEADER, ...rows.flatMap((r) => renderLadder(r.pair, r.udp))];
  const failover = rows.filter((r) => r.failover).map((r) => `${r.pair}: tunnel 1 cut silently → routes on tunnel 2 after ${r.failover?.routesMovedMs} ms; traffic lost site→VPC ${r.failover?.siteToVpcMs} ms, VPC→site ${r.failover?.vpcToSiteMs} ms (10 ms pings)`);
  return `${lines.join('\n')}\n\n${udp.join('\n')}\n${failover.length ? `\n${failover.join('\n')}\n` : ''}`;
}
