/**
 * The UDP part of `cgwd lab bench`: a ladder of fixed offered rates per payload size and
 * direction, driven by the native generator (loadgen.ts), so the gateways get the CPU.
 *
 *   climb:   10k, 20k, 40k, … packets/s, one trial each, until a trial loses more than 0.1 %
 *            (or the generator cannot offer the rate);
 *   confirm: the highest passing step runs twice more; the figure is that step only if all
 *            three runs pass, else the step below is tried three times (and so on down).
 *   flood:   one trial far above the ladder: what arrives under overload.
 *
 * CPU per packet comes from /proc: utime+stime of the whole gateway process and of its
 * data-plane thread(s) (comm `cgwd-dataplane`, or `cgwd-dp-out` and `cgwd-dp-in` with two
 * packet threads, also shown one by one), over each trial, divided by the packets that
 * arrived. When a trial loses packets the kernel's counters of every lab namespace (nstat)
 * and the interfaces' drop counters are diffed around it and printed: where they were lost.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { runCommand } from '../system/exec.js';
import { runLoadgen, type LoadgenResult } from './loadgen.js';

export interface LadderGateway {
  name: string;
  pid: number;
}

export interface Direction {
  name: string;
  senderNetns: string;
  sinkNetns: string;
  /** Destination address:port as seen from the sender. */
  dst: string;
}

export interface GatewayCpu {
  /** µs of CPU per packet: whole process, and the data-plane thread(s) (undefined: no such thread). */
  processUs: number;
  threadUs?: number;
  /** With two packet threads: each one's (out = cgwd-dp-out, in = cgwd-dp-in). */
  perThreadUs?: Record<string, number>;
}

export interface LadderResult {
  size: number;
  direction: string;
  /** Highest step whose three runs each lost ≤ 0.1 % (0: none). */
  losslessPps: number;
  /** Packets/s that arrived in each of the three runs at that step. */
  losslessRuns: number[];
  /** Loss of the first failing step (%), and that step. */
  failedPps?: number;
  failedLossPercent?: number;
  /** Set when that step failed because the generator could not offer it (packets/s it did offer): the sender's limit, not the path's. */
  failedOfferedPps?: number;
  floodReceivedPps: number;
  floodLossPercent: number;
  /** Per gateway, median over the three lossless runs. */
  cpu: Record<string, GatewayCpu>;
}

export interface LadderOptions {
  seconds: number;
  sizes: readonly number[];
  rates: readonly number[];
  directions: readonly Direction[];
  gateways: readonly LadderGateway[];
  /** Namespaces whose kernel counters are diffed around a lossy trial. */
  namespaces: readonly string[];
  /** Datagrams per UDP_SEGMENT super-datagram from the generator (1: one per message), as a
   * LAN NIC's GRO with rx-udp-gro-forwarding would hand them to the gateway box. */
  generatorGso?: number;
  log: (line: string) => void;
}

export const DEFAULT_RATES = [10_000, 20_000, 40_000, 70_000, 100_000, 140_000, 200_000, 280_000];
const FLOOD_RATE = 1_000_000;
const MAX_LOSS = 0.001;
/** Datagrams per sendmmsg (and the most the generator banks): 64 lets it keep 140k/s when the gateways preempt it for a few hundred µs. */
const GENERATOR_BATCH = 64;
const GENERATOR_PRIORITY = 10;

export const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s

export function ticksOf(statPath: string): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime: fields 14 and 15 of proc(5), 1-based; 11 and 12 after the comm.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN;
  }
}

export interface CpuSample {
  process: number;
  thread?: number;
  /** Ticks per packet-thread kind when there are two: out, in. */
  split: Record<string, number>;
}

/** Packet-thread names (native/src/loop.c): the single one, and the two of threads = 2 by short name. */
const SPLIT_THREADS: Readonly<Record<string, string>> = { 'cgwd-dp-out': 'out', 'cgwd-dp-in': 'in' };

export function sampleCpu(pid: number): CpuSample {
  const process = ticksOf(`/proc/${pid}/stat`);
  let thread: number | undefined;
  const split: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const kind = SPLIT_THREADS[comm];
      if (comm !== 'cgwd-dataplane' && kind === undefined) continue;
      const ticks = ticksOf(`/proc/${pid}/task/${tid}/stat`);
      thread = (thread ?? 0) + ticks;
      if (kind !== undefined) split[kind] = (split[kind] ?? 0) + ticks;
    }
  } catch {
    // the process is gone: process is NaN already
  }
  return thread === undefined ? { process, split } : { process, thread, split };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.floor(sorted.length / 2)] as number);
};

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Kernel counters that say where datagrams were lost, per namespace (absolute values). */
async function kernelCounters(ns: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const nstat = await runCommand('ip', ['netns', 'exec', ns, 'nstat', '-asz']).catch(() => undefined);
  for (const line of nstat?.stdout.split('\n') ?? []) {
    const m = /^(\S+)\s+(\d+)/.exec(line);
    if (m && /Udp|Reasm|Frag|InDiscards|OutDiscards|InNoRoutes|InErrors|OutNoRoutes|Drop/i.test(m[1] as string)) out.set(m[1] as string, Number(m[2]));
  }
  const links = await runCommand('ip', ['-n', ns, '-s', '-j', 'link', 'show']).catch(() => undefined);
  try {
    const parsed = JSON.parse(links?.stdout ?? '[]') as { ifname?: string; stats64?: { rx?: { dropped?: number; over_errors?: number }; tx?: { dropped?: number } } }[];
    for (const l of parsed) {
      if (!l.ifname) continue;
      out.set(`${l.ifname}.rx_dropped`, l.stats64?.rx?.dropped ?? 0);
      out.set(`${l.ifname}.tx_dropped`, l.stats64?.tx?.dropped ?? 0);
    }
  } catch {
    // no JSON from ip: no interface counters
  }
  return out;
}

async function snapshot(namespaces: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const all = new Map<string, Map<string, number>>();
  for (const ns of namespaces) all.set(ns, await kernelCounters(ns));
  return all;
}

function diffCounters(before: Map<string, Map<string, number>>, after: Map<string, Map<string, number>>): string {
  const parts: string[] = [];
  for (const [ns, a] of after) {
    const b = before.get(ns) ?? new Map<string, number>();
    const moved = [...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)] as const).filter(([, d]) => d > 0);
    if (moved.length) parts.push(`${ns}: ${moved.map(([k, d]) => `${k} +${d}`).join(', ')}`);
  }
  return parts.join(' | ') || 'no kernel drop counter moved';
}

interface Trial {
  result: LoadgenResult;
  lossRatio: number;
  receivedPps: number;
  /** The generator offered at least 95 % of the rate. */
  offered: boolean;
  cpu: Record<string, { process: number; thread?: number; split: Record<string, number> }>;
}

async function trial(o: LadderOptions, dir: Direction, size: number, rate: number, port: number): Promise<Trial> {
  const diagnose = rate !== FLOOD_RATE;
  const countersBefore = diagnose ? await snapshot(o.namespaces) : undefined;
  const before = o.gateways.map((g) => sampleCpu(g.pid));
  const result = await runLoadgen({
    dst: `${dir.dst.split(':')[0]}:${port}`,
    rate,
    size,
    seconds: o.seconds,
    senderNetns: dir.senderNetns,
    sinkNetns: dir.sinkNetns,
    batch: GENERATOR_BATCH,
    // The fixed rates hold only if the gateways cannot starve the generator; a flood never sleeps, so not at real-time priority.
    ...(rate !== FLOOD_RATE ? { priority: GENERATOR_PRIORITY } : {}),
    ...(o.generatorGso && o.generatorGso > 1 ? { gso: o.generatorGso } : {}),
  });
  const after = o.gateways.map((g) => sampleCpu(g.pid));
  const lossRatio = result.sent === 0 ? 1 : result.lost / result.sent;
  const cpu: Trial['cpu'] = {};
  o.gateways.forEach((g, i) => {
    const b = before[i] as CpuSample;
    const a = after[i] as CpuSample;
    const per = (ticks: number): number => (ticks / TICKS / Math.max(1, result.unique)) * 1e6;
    const process = per(a.process - b.process);
    const split: Record<string, number> = {};
    for (const [kind, ticks] of Object.entries(a.split)) if (b.split[kind] !== undefined) split[kind] = per(ticks - (b.split[kind] as number));
    cpu[g.name] = a.thread !== undefined && b.thread !== undefined ? { process, thread: per(a.thread - b.thread), split } : { process, split };
  });
  const t: Trial = {
    result,
    lossRatio,
    receivedPps: Math.round(result.unique / Math.max(0.001, result.seconds)),
    offered: result.sent >= 0.95 * rate * Math.min(o.seconds, result.seconds),
    cpu,
  };
  const cpuText = Object.entries(cpu)
    .map(([k, v]) => `${k} ${round2(v.process)}${v.thread !== undefined ? ` (thread ${round2(v.thread)}${splitText(v.split)})` : ''} µs/pkt`)
    .join('; ');
  o.log(
    `  ${dir.name} ${size} B @ ${rate}/s: sent ${result.sent}, received ${result.unique}, lost ${result.lost} (${round2(100 * lossRatio)} %), ` +
      `reordered ${result.reordered}, dup ${result.duplicated}, sink overflow ${result.sinkOverflow}, send errors ${result.sendErrors}, ` +
      `latency mean ${result.latencyMeanUs} µs max ${result.latencyMaxUs} µs; ${cpuText}`,
  );
  if (countersBefore && result.lost > 0) o.log(`    where: ${diffCounters(countersBefore, await snapshot(o.namespaces))}`);
  return t;
}

function splitText(split: Readonly<Record<string, number>>): string {
  const parts = Object.entries(split).map(([kind, us]) => `${kind} ${round2(us)}`);
  return parts.length ? `: ${parts.join(', ')}` : '';
}

const passes = (t: Trial): boolean => t.offered && t.lossRatio <= MAX_LOSS;

export async function runLadder(o: LadderOptions): Promise<LadderResult[]> {
  const results: LadderResult[] = [];
  let port = 5301;
  for (const size of o.sizes) {
    for (const dir of o.directions) {
      const gso = o.generatorGso && o.generatorGso > 1 ? `, generator GSO ${o.generatorGso} datagrams a send` : '';
      o.log(`UDP ${size} B ${dir.name}: ladder ${o.rates.join(', ')} packets/s, ${o.seconds} s a step${gso}`);
      let best = -1;
      let failedPps: number | undefined;
      let failedLossPercent: number | undefined;
      let failedOfferedPps: number | undefined;
      let bestTrial: Trial | undefined;
      for (let i = 0; i < o.rates.length; i++) {
        const t = await trial(o, dir, size, o.rates[i] as number, port++);
        if (!passes(t)) {
          failedPps = o.rates[i];
          failedLossPercent = round2(100 * t.lossRatio);
          if (!t.offered) failedOfferedPps = Math.round(t.result.sent / Math.max(0.001, t.result.seconds));
          if (!t.offered) o.log(`    the generator offered only ${t.result.sent} of ${(o.rates[i] as number) * o.seconds}: this step measures the sender`);
          break;
        }
        best = i;
        bestTrial = t;
      }
      // Confirm: three passing runs at one step, stepping down when a confirmation fails.
      let runs: Trial[] = [];
      while (best >= 0) {
        runs = bestTrial ? [bestTrial] : [];
        bestTrial = undefined;
        while (runs.length < 3) {
          const t = await trial(o, dir, size, o.rates[best] as number, port++);
          if (!passes(t)) break;
          runs.push(t);
        }
        if (runs.length === 3) break;
        best--;
      }
      if (best < 0) runs = [];
      const flood = await trial(o, dir, size, FLOOD_RATE, port++);
      const cpu: Record<string, GatewayCpu> = {};
      for (const g of o.gateways) {
        const process = round2(median(runs.map((r) => r.cpu[g.name]?.process ?? NaN)));
        const threads = runs.map((r) => r.cpu[g.name]?.thread).filter((v): v is number => v !== undefined);
        const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.cpu[g.name]?.split ?? {})))];
        const perThreadUs = Object.fromEntries(kinds.map((kind) => [kind, round2(median(runs.map((r) => r.cpu[g.name]?.split[kind] ?? NaN)))]));
        cpu[g.name] = threads.length ? { processUs: process, threadUs: round2(median(threads)), ...(kinds.length ? { perThreadUs } : {}) } : { processUs: process };
      }
      const r: LadderResult = {
        size,
        direction: dir.name,
        losslessPps: best >= 0 ? (o.rates[best] as number) : 0,
        losslessRuns: runs.map((t) => t.receivedPps),
        ...(failedPps !== undefined ? { failedPps, failedLossPercent: failedLossPercent as number } : {}),
        ...(failedOfferedPps !== undefined ? { failedOfferedPps } : {}),
        floodReceivedPps: flood.receivedPps,
        floodLossPercent: round2(100 * flood.lossRatio),
        cpu,
      };
      o.log(`UDP ${size} B ${dir.name}: ≤ 0.1 % loss at ${r.losslessPps}/s (runs ${r.losslessRuns.join(', ')} received/s); flood ${r.floodReceivedPps}/s received (${r.floodLossPercent} % lost)`);
      results.push(r);
    }
  }
  return results;
}

export function renderLadder(pair: string, rows: readonly LadderResult[]): string[] {
  return rows.map((r) => {
    const cpu = Object.entries(r.cpu)
      .map(([k, v]) => `${k} ${v.processUs}${v.threadUs !== undefined ? ` (thread ${v.threadUs}${splitText(v.perThreadUs ?? {})})` : ''}`)
      .join('; ');
    const failed =
      r.failedPps === undefined ? '–' : `${r.failedPps} (${r.failedLossPercent} %${r.failedOfferedPps !== undefined ? `; generator-bound: offered ${r.failedOfferedPps}/s` : ''})`;
    return `| ${pair} | ${r.size} | ${r.direction} | ${r.losslessPps} (${r.losslessRuns.join(', ')}) | ${failed} | ${r.floodReceivedPps} (${r.floodLossPercent} %) | ${cpu} |`;
  });
}

export const LADDER_HEADER = [
  '| pair | UDP payload B | direction | pps at ≤ 0.1 % loss, 3 runs agree (received/s each run) | next step (loss) | flood 1 M/s: received/s (loss) | CPU µs per packet: process (data-plane thread(s); with two: out, in), median of the 3 runs |',
  '|---|---|---|---|---|---|---|',
];
