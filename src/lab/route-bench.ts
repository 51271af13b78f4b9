/**
 * Route-programming benchmark: N routes added, moved to the other tunnel, and removed, in a
 * namespace of its own (cgwd-rtbench, two veth interfaces standing in for the TUNs), two ways:
 *   netlink   the addon's batched, ack-checked rtnetlink (what cgwd uses: kernel-routes.ts);
 *   ip-batch  one `ip -force -batch -` process per step, the route lines on its stdin.
 * Each figure is the median of `runs`. The namespace is deleted at the end, also on failure.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CGWD_ROUTE_PROTOCOL, NetlinkRouteTable, ipBatchLine, type RouteChange, type OwnedRoute } from '../routing/kernel-routes.js';
import { run, runCommand } from '../system/exec.js';

export const ROUTE_BENCH_NS = 'cgwd-rtbench';

export interface RouteBenchRow {
  method: 'netlink' | 'ip-batch';
  routes: number;
  addMs: number;
  moveMs: number;
  removeMs: number;
}

function routesFor(n: number, dev: string, via: string): OwnedRoute[] {
  return Array.from({ length: n }, (_, i) => ({ prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`, via, dev, metric: 100 }));
}

function ipBatch(ns: string, changes: readonly RouteChange[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exit ${code}: ${stderr.slice(0, 300)}`))));
    child.stdin.end(`${changes.map((c) => ipBatchLine(c)).join('\n')}\n`);
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function runRouteBench(counts: readonly number[] = [1, 100, 1000], runs = 5): Promise<RouteBenchRow[]> {
  await runCommand('ip', ['netns', 'del', ROUTE_BENCH_NS]);
  await run('ip', ['netns', 'add', ROUTE_BENCH_NS]);
  try {
    const ip = (...args: string[]): Promise<string> => run('ip', ['-n', ROUTE_BENCH_NS, ...args]);
    await ip('link', 'set', 'lo', 'up');
    for (const [dev, addr] of [['rtb1', '169.254.10.2/30'], ['rtb2', '169.254.20.2/30']] as const) {
      await ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
      await ip('addr', 'add', addr, 'dev', dev);
      await ip('link', 'set', `${dev}p`, 'up');
      await ip('link', 'set', dev, 'up');
    }
    const rows: RouteBenchRow[] = [];
    const table = new NetlinkRouteTable(CGWD_ROUTE_PROTOCOL, ROUTE_BENCH_NS);
    for (const n of counts) {
      const on1 = routesFor(n, 'rtb1', '169.254.10.1');
      const on2 = routesFor(n, 'rtb2', '169.254.20.1');
      const steps: RouteChange[][] = [on1.map((route) => ({ verb: 'add', route })), on2.map((route) => ({ verb: 'replace', route })), on2.map((route) => ({ verb: 'delete', route }))];
      for (const method of ['netlink', 'ip-batch'] as const) {
        const times: number[][] = [[], [], []];
        for (let r = 0; r < runs; r++) {
          for (const [i, step] of steps.entries()) {
            const t0 = performance.now();
            if (method === 'netlink') {
              const results = await table.apply(step);
              const failed = results.filter((x) => x !== 0).length;
              if (failed > 0) throw new Error(`netlink: ${failed} of ${step.length} route changes failed`);
            } else await ipBatch(ROUTE_BENCH_NS, step);
            times[i]?.push(performance.now() - t0);
          }
          const left = await ip('-o', 'route', 'show', 'proto', String(CGWD_ROUTE_PROTOCOL));
          if (left.trim() !== '') throw new Error(`${method}: routes left after the remove step`);
        }
        rows.push({ method, routes: n, addMs: median(times[0] ?? []), moveMs: median(times[1] ?? []), removeMs: median(times[2] ?? []) });
      }
    }
    return rows;
  } finally {
    await runCommand('ip', ['netns', 'del', ROUTE_BENCH_NS]);
  }
}

export function renderRouteBench(rows: readonly RouteBenchRow[]): string {
  const f = (ms: number): string => ms.toFixed(2);
  const lines = ['route programming (median of runs; add = new routes, move = replace onto the other tunnel, remove)', 'method     routes   add ms   move ms  remove ms'];
  for (const r of rows) lines.push(`${r.method.padEnd(10)} ${String(r.routes).padStart(6)} ${f(r.addMs).padStart(8)} ${f(r.moveMs).padStart(9)} ${f(r.removeMs).padStart(10)}`);
  return `${lines.join('\n')}\n`;
}
