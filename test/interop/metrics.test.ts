/**
 * Metrics against a real Prometheus (Debian's package), in the lab with BGP: Prometheus runs in
 * the customer namespace and scrapes cgwd every second; the shipped alert rules are loaded with
 * their `for:` durations shortened. Checks the CloudWatch view (state, bytes each way), a
 * silent cut turning the state to 0 within the keepalive window, the tunnel-down alert firing,
 * every dashboard panel's query returning series, and AWS's tunnel-log fields. Needs root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { LAB_CONFIG_BGP } from '../../src/lab/command.js';
import { cutTunnel, labDown, labUp, recordLabPid, type LabState } from '../../src/lab/lab.js';
import { NS } from '../../src/lab/plan.js';
import { ping } from '../../src/lab/reference.js';
import { execIn, spawnDaemonIn, stopPid, waitFor } from '../../src/system/exec.js';
import { CLI, CgwdProcess } from './helpers/cgwd-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'cgwd-metrics-'));
const controlSocket = path.join(work, 'cgwd.sock');
const METRICS = '127.0.0.1:9580';
const PROMETHEUS = 'http://127.0.0.1:9090';
let state: LabState;
let cgwd: CgwdProcess;
let prometheusPid: number | undefined;

/** A GET from inside the customer namespace (Prometheus and cgwd listen on its loopback). */
async function get(url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(await r.text()); if (!r.ok) process.exit(2); }, (e) => { console.error(e.message); process.exit(1); })`;
  return execIn(NS.cgw, process.execPath, ['-e', script], 15_000);
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<PromSample[]> {
  const body = JSON.parse(await get(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}`)) as { status: string; data: { result: PromSample[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

async function value(expr: string): Promise<number | undefined> {
  const r = await query(expr);
  return r[0] ? Number(r[0].value[1]) : undefined;
}

async function status(): Promise<DaemonStatus> {
  return JSON.parse(await execIn(NS.cgw, process.execPath, [CLI, 'status', '--json', '--control-socket', controlSocket])) as DaemonStatus;
}

beforeAll(async () => {
  state = await labUp({ config: loadConfig(LAB_CONFIG_BGP), configPath: LAB_CONFIG_BGP, options: { nat: false } });
  cgwd = new CgwdProcess(
    NS.cgw,
    ['up', '--config', LAB_CONFIG_BGP, '--advertise', '192.0.2.0/24', '--keepalive-interval', '1', '--control-socket', controlSocket, '--metrics-listen', METRICS],
    state.stateDir,
  );
  // The shipped rules with every `for:` shortened, so the tunnel-down alert fires within the test.
  const rules = readFileSync(path.join(root, 'configs', 'prometheus', 'cgwd-alerts.yml'), 'utf8').replace(/for: \d+m/g, 'for: 3s');
  writeFileSync(path.join(work, 'rules.yml'), rules);
  writeFileSync(
    path.join(work, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(path.join(work, 'rules.yml'))}]`,
      'scrape_configs:',
      `  - { job_name: cgwd, static_configs: [ { targets: [${JSON.stringify(METRICS)}] } ] }`,
      '',
    ].join('\n'),
  );
  prometheusPid = spawnDaemonIn(
    NS.cgw,
    ['prometheus', `--config.file=${path.join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(work, 'tsdb')}`, '--web.listen-address=127.0.0.1:9090'],
    path.join(work, 'prometheus.log'),
  );
  recordLabPid(state.stateDir, 'prometheus', prometheusPid);
  await waitFor('Prometheus ready', async () => ((await get(`${PROMETHEUS}/-/ready`).catch(() => '')).includes('Ready') ? true : undefined), 30_000, 250);
});

afterAll(async () => {
  await cgwd?.stop();
  if (prometheusPid !== undefined) await stopPid(prometheusPid);
  await labDown();
  rmSync(work, { recursive: true, force: true });
});

describe('metrics scraped by a real Prometheus, alert rules, dashboard queries', () => {
  it('state 1 on both tunnels, bytes move, a cut turns tunnel 1 to 0 and fires the alert; every panel has series', async () => {
    await waitFor(
      'both tunnels TunnelState 1 in Prometheus',
      async () => {
        if (cgwd.exitCode !== null) throw new Error(`cgwd exited: ${cgwd.stderr.slice(-1000)}`);
        const r = await query('cgwd_tunnel_state');
        return r.length === 2 && r.every((s) => s.value[1] === '1') ? r : undefined;
      },
      90_000,
      500,
    );
    const labels = (await query('cgwd_tunnel_state{tunnel="1"}'))[0]?.metric;
    expect(labels).toMatchObject({ vpn_id: 'vpn-0lab00000000000a1', tunnel_ip_address: '203.0.113.10', job: 'cgwd' });

    // A ping flood moves the byte counters both ways (tunnel 1 carries it).
    const sent = 'cgwd_tunnel_data_to_aws_bytes_total{tunnel="1"}';
    const received = 'cgwd_tunnel_data_from_aws_bytes_total{tunnel="1"}';
    const before = { sent: (await value(sent)) ?? 0, received: (await value(received)) ?? 0 };
    const flood = await execIn(NS.onprem, 'ping', ['-n', '-q', '-f', '-c', '2000', '-s', '1000', '198.19.0.10'], 30_000);
    expect(flood).toMatch(/2000 packets transmitted, 2000 received/);
    await waitFor(
      'the flood in the scraped counters',
      async () => {
        const now = { sent: (await value(sent)) ?? 0, received: (await value(received)) ?? 0 };
        return now.sent - before.sent >= 2000 * 1028 && now.received - before.received >= 2000 * 1028 ? now : undefined;
      },
      15_000,
      500,
    );

    // Scrape cost, measured from inside the namespace (the number goes in the closing note).
    const timing = `(async () => { const t0 = performance.now(); for (let i = 0; i < 50; i++) await (await fetch('http://${METRICS}/metrics')).text(); process.stdout.write(String((performance.now() - t0) / 50)); })()`;
    const perScrapeMs = Number(await execIn(NS.cgw, process.execPath, ['-e', timing], 30_000));
    const scrape = await get(`http://${METRICS}/metrics`);
    console.log(`metrics: ${perScrapeMs.toFixed(2)} ms per scrape (mean of 50, ${scrape.length} bytes)`);
    console.log(scrape.split('\n').filter((l) => /^cgwd_(tunnel_state|tunnel_data|ike_phase1_state\{.*Established|keepalive_rtt_seconds_count|bgp_prefixes)/.test(l)).join('\n'));

    // Silent cut of tunnel 1: its state falls to 0 within the keepalive window (2 × 1 s probes) plus a scrape.
    const cutAt = Date.now();
    await cutTunnel('203.0.113.10', true);
    await waitFor('tunnel 1 TunnelState 0 in Prometheus', async () => ((await value('cgwd_tunnel_state{tunnel="1"}')) === 0 ? true : undefined), 30_000, 200);
    const downMs = Date.now() - cutAt;
    console.log(`metrics: tunnel 1 state 0 in Prometheus ${downMs} ms after the cut`);
    expect(downMs).toBeLessThan(8_000);
    expect(await value('cgwd_tunnel_state{tunnel="2"}')).toBe(1);

    const alert = await waitFor(
      'VpnTunnelDown firing for tunnel 1',
      async () => {
        const body = JSON.parse(await get(`${PROMETHEUS}/api/v1/alerts`)) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
        return body.data.alerts.find((a) => a.labels.alertname === 'VpnTunnelDown' && a.state === 'firing');
      },
      30_000,
      500,
    );
    expect(alert.labels).toMatchObject({ tunnel_ip_address: '203.0.113.10', tunnel: '1' });

    // Every dashboard query returns series (no Grafana here: its variables are filled in by hand).
    const vpnId = labels?.vpn_id ?? '';
    await waitFor('a failover recorded', async () => ((await query('cgwd_failovers_total')).length > 0 ? true : undefined), 15_000, 500);
    const dashboard = JSON.parse(readFileSync(path.join(root, 'configs', 'grafana', 'cgwd-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const expr = target.expr.replaceAll('$vpn_id', vpnId).replaceAll('$__rate_interval', '1m');
        if ((await query(expr)).length === 0) empty.push(`${panel.title}: ${expr}`);
      }
    }
    expect(empty).toEqual([]);

    // AWS's tunnel-log fields: in status --json, and as log lines at each change.
    const s = await status();
    expect(s.tunnels[1]?.awsTunnelLog).toMatchObject({ TunnelOutsideIPAddress: '203.0.113.20', TunnelIKEPhase1State: 'Established', TunnelIKEPhase2State: 'Established', TunnelDPDEnabled: true });
    const lines = cgwd.events.filter((e) => e.event === 'TunnelStatus');
    expect(lines.some((e) => e.tunnel === 1 && e.TunnelIKEPhase1State === 'Established' && e.TunnelIKEPhase2State === 'Established')).toBe(true);
    expect(lines.every((e) => typeof e.VpnConnectionId === 'string' && typeof e.VpnLogDetail === 'string')).toBe(true);
    expect(cgwd.events.some((e) => e.event === 'BGPStatus' && e.BgpState === 'Established')).toBe(true);
    await cutTunnel('203.0.113.10', false);
  });
});
