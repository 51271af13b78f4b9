import net from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { CgwdMetrics } from '../../../src/metrics/metrics.js';
import { MetricsServer } from '../../../src/metrics/server.js';
import { bgpStatus, connection, daemonStatus, ikeSa, tunnel } from './fixtures.js';

const logger = pino({ level: 'silent' });

/** "name{a="1",b="2"}" with the labels in a canonical (sorted) order. */
function canonical(series: string): string {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(series);
  if (!m?.[2]) return series;
  const labels = m[2].match(/[a-z_]+="[^"]*"/g) ?? [];
  return `${m[1]}{${[...labels].sort().join(',')}}`;
}

/** Parses the exposition text into series → value; lookups may give the labels in any order. */
function samples(text: string): { get(series: string): number | undefined; has(series: string): boolean } {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(canonical(line.slice(0, at)), Number(line.slice(at + 1)));
  }
  return { get: (series) => out.get(canonical(series)), has: (series) => out.has(canonical(series)) };
}

function metricsOver(get: () => DaemonStatus): CgwdMetrics {
  return new CgwdMetrics({ status: get }, { version: '9.9.9', ikeVersion: 'ikev2' });
}


describe('metrics', () => {
  it('exposes the CloudWatch view with VpnId and TunnelIpAddress labels', async () => {
    let status = daemonStatus({ tunnels: [tunnel(1), tunnel(2, { cloudWatch: { tunnelState: 0 } })] });
    const metrics = metricsOver(() => status);
    const s = samples(await metrics.scrape());
    expect(s.get(`cgwd_tunnel_state{vpn_id="vpn-0123",tunnel="1",tunnel_ip_address="203.0.113.1"}`)).toBe(1);
    expect(s.get(`cgwd_tunnel_state{vpn_id="vpn-0123",tunnel="2",tunnel_ip_address="203.0.113.2"}`)).toBe(0);
    expect(s.get(`cgwd_tunnel_data_from_aws_bytes_total{vpn_id="vpn-0123",tunnel="1",tunnel_ip_address="203.0.113.1"}`)).toBe(12_000);
    expect(s.get(`cgwd_tunnel_data_to_aws_bytes_total{vpn_id="vpn-0123",tunnel="1",tunnel_ip_address="203.0.113.1"}`)).toBe(11_000);
    // Counters follow the snapshot: the next scrape shows the new totals, not a sum.
    status = daemonStatus({ tunnels: [tunnel(1, { traffic: { ...tunnel(1).traffic!, bytesIn: 20_000 } }), tunnel(2)] });
    const again = samples(await metrics.scrape());
    expect(again.get(`cgwd_tunnel_data_from_aws_bytes_total{vpn_id="vpn-0123",tunnel="1",tunnel_ip_address="203.0.113.1"}`)).toBe(20_000);
  });

  it("exposes IKE, phase states, rekeys, drops, keepalive and process metrics", async () => {
    const status = daemonStatus({
      tunnels: [
        tunnel(1),
        tunnel(2, {
          ike: connection({ tunnel: 2, state: 'connecting', ikeSas: [ikeSa({ state: 'connecting', current: false, establishedAt: undefined, children: [] })] }),
          awsTunnelLog: { ...tunnel(2).awsTunnelLog, TunnelIKEPhase1State: 'Negotiating', TunnelIKEPhase2State: 'Down' },
        }),
      ],
    });
    const metrics = metricsOver(() => status);
    metrics.observeProbe(1, 1.5);
    metrics.observeProbe(1, undefined);
    metrics.ikeSaDown(2, 'IKE_PEER_UNREACHABLE');
    const text = await metrics.scrape();
    const s = samples(text);
    const l = (t: 1 | 2, extra = ''): string => `{vpn_id="vpn-0123",tunnel="${t}",tunnel_ip_address="203.0.113.${t}"${extra}}`;
    expect(s.get(`cgwd_ike_sa_up${l(1)}`)).toBe(1);
    expect(s.get(`cgwd_ike_sa_up${l(2)}`)).toBe(0);
    expect(s.get(`cgwd_ike_sa_established_seconds${l(1)}`)).toBe(10);
    expect(s.get(`cgwd_child_sa_up${l(2)}`)).toBe(0);
    expect(s.get(`cgwd_ike_phase1_state${l(2, ',state="Negotiating"')}`)).toBe(1);
    expect(s.get(`cgwd_ike_phase1_state${l(2, ',state="Established"')}`)).toBe(0);
    expect(s.get(`cgwd_ike_phase2_state${l(2, ',state="Down"')}`)).toBe(1);
    expect(s.get(`cgwd_rekeys_total${l(1, ',kind="child"')}`)).toBe(5);
    expect(s.get(`cgwd_rekeys_total${l(1, ',kind="child_collision"')}`)).toBe(1);
    expect(s.get(`cgwd_ike_drops_total${l(1, ',reason="bad-icv"')}`)).toBe(2);
    expect(s.get(`cgwd_tunnel_drops_total${l(1, ',reason="replay"')}`)).toBe(3);
    expect(s.get(`cgwd_tunnel_drops_total${l(1, ',reason="icv"')}`)).toBe(0);
    expect(s.get(`cgwd_ike_sa_down_total${l(2, ',reason="IKE_PEER_UNREACHABLE"')}`)).toBe(1);
    expect(s.get(`cgwd_keepalive_probes_total${l(1, ',result="answered"')}`)).toBe(1);
    expect(s.get(`cgwd_keepalive_probes_total${l(1, ',result="lost"')}`)).toBe(1);
    expect(s.get(`cgwd_keepalive_rtt_seconds_bucket${l(1, ',le="0.0025"')}`)).toBe(1);
    expect(s.get(`cgwd_keepalive_rtt_seconds_bucket${l(1, ',le="0.001"')}`)).toBe(0);
    expect(s.get('cgwd_route_changes_total{vpn_id="vpn-0123",op="install"}')).toBe(4);
    expect(s.get('cgwd_dataplane_drops_total{vpn_id="vpn-0123",reason="unknown_spi"}')).toBe(6);
    expect(s.get('cgwd_info{vpn_id="vpn-0123",version="9.9.9",role="customer",routing="static",ike_version="ikev2"}')).toBe(1);
    expect(s.has('cgwd_process_cpu_seconds_total')).toBe(true);
    expect(text).toContain('# TYPE cgwd_tunnel_data_to_aws_bytes_total counter');
    expect(text).toContain('# TYPE cgwd_tunnel_state gauge');
  });

  it('BGP sessions, failovers and reloads', async () => {
    const bgp = bgpStatus();
    const metrics = metricsOver(() => daemonStatus({ routing: 'bgp', tunnels: [tunnel(1, { bgp }), tunnel(2)] }));
    metrics.failover(1, 2, 850);
    metrics.reload('invalid');
    const s = samples(await metrics.scrape());
    const l = `{vpn_id="vpn-0123",tunnel="1",tunnel_ip_address="203.0.113.1"`;
    expect(s.get(`cgwd_bgp_session_state${l},state="Established"}`)).toBe(1);
    expect(s.get(`cgwd_bgp_session_state${l},state="Idle"}`)).toBe(0);
    expect(s.has(`cgwd_bgp_session_state{vpn_id="vpn-0123",tunnel="2",tunnel_ip_address="203.0.113.2",state="Idle"}`)).toBe(false);
    expect(s.get(`cgwd_bgp_prefixes_received${l}}`)).toBe(1000);
    expect(s.get(`cgwd_bgp_established_seconds${l}}`)).toBe(42);
    expect(s.get('cgwd_failovers_total{vpn_id="vpn-0123",from="1",to="2"}')).toBe(1);
    expect(s.get('cgwd_last_failover_gap_seconds{vpn_id="vpn-0123"}')).toBe(0.85);
    expect(s.get('cgwd_reloads_total{vpn_id="vpn-0123",outcome="invalid"}')).toBe(1);
  });

  it('one status snapshot per scrape', async () => {
    let calls = 0;
    const metrics = metricsOver(() => {
      calls += 1;
      return daemonStatus();
    });
    calls = 0;
    await metrics.scrape();
    expect(calls).toBe(1);
  });
});

describe('metrics listener', () => {
  it('serves /metrics, 404 elsewhere; a port in use is a clear error', async () => {
    const metrics = metricsOver(() => daemonStatus());
    const server = await MetricsServer.start('127.0.0.1:0', metrics, logger);
    try {
      const base = `http://127.0.0.1:${server.address.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toContain('cgwd_tunnel_state{');
      expect((await fetch(`${base}/secret`)).status).toBe(404);
      await expect(MetricsServer.start(`127.0.0.1:${server.address.port}`, metrics, logger)).rejects.toMatchObject({
        code: 'METRICS_LISTEN',
        message: expect.stringContaining('in use'),
      });
    } finally {
      await server.close();
    }
    // Closed: nothing listens any more.
    await expect(new Promise((resolve, reject) => net.connect(server.address.port, '127.0.0.1').once('connect', resolve).once('error', reject))).rejects.toThrow();
  });
});
