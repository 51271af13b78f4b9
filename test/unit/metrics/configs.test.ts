/**
 * The alert rules and the dashboard shipped in configs/: promtool checks and unit-tests the
 * rules (Debian's prometheus package), and every metric they name is one cgwd exports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CgwdMetrics } from '../../../src/metrics/metrics.js';
import { bgpStatus, daemonStatus, tunnel } from './fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const rules = path.join(root, 'configs', 'prometheus', 'cgwd-alerts.yml');
const dashboard = path.join(root, 'configs', 'grafana', 'cgwd-dashboard.json');

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: path.dirname(rules), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool not found: apt-get install prometheus (CI installs it)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

async function exportedNames(): Promise<Set<string>> {
  const bgp = bgpStatus();
  const metrics = new CgwdMetrics({ status: () => daemonStatus({ tunnels: [tunnel(1, { bgp }), tunnel(2)] }) }, { version: 'x', ikeVersion: 'ikev2' });
  metrics.observeProbe(1, 1);
  metrics.failover(1, 2, 10);
  const text = await metrics.scrape();
  return new Set([...text.matchAll(/^([a-z0-9_]+)(?:\{| )/gm)].map((m) => m[1] ?? ''));
}

function referenced(text: string): string[] {
  return [...new Set([...text.matchAll(/\bcgwd_[a-z0-9_]+/g)].map((m) => m[0]))];
}

describe('configs/prometheus and configs/grafana', () => {
  it('promtool accepts the rules and their unit tests pass (series that fire and series that must not)', () => {
    expect(promtool('check', 'rules', rules)).toMatch(/SUCCESS: 8 rules found/);
    expect(promtool('test', 'rules', 'cgwd-alerts.test.yml')).toMatch(/SUCCESS/);
  });

  it('every metric the rules and the dashboard name is one cgwd exports', async () => {
    const names = await exportedNames();
    const used = [...referenced(readFileSync(rules, 'utf8')), ...referenced(readFileSync(dashboard, 'utf8'))];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => !names.has(n))).toEqual([]);
  });

  it('the dashboard has a tunnel state timeline, bytes each way, RTT and failovers, each with a query', () => {
    const d = JSON.parse(readFileSync(dashboard, 'utf8')) as { panels: { title: string; type: string; targets: { expr: string }[] }[] };
    expect(d.panels.find((p) => p.type === 'state-timeline')?.targets[0]?.expr).toContain('cgwd_tunnel_state');
    const exprs = d.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const name of ['cgwd_tunnel_data_to_aws_bytes_total', 'cgwd_tunnel_data_from_aws_bytes_total', 'cgwd_keepalive_rtt_seconds_bucket', 'cgwd_failovers_total']) {
      expect(exprs).toContain(name);
    }
    expect(d.panels.every((p) => p.targets.length > 0 && p.targets.every((t) => t.expr.length > 0))).toBe(true);
  });
});
