import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planReload } from '../../../src/config/diff.js';
import { parseConfig, resolveSettings, type SettingsFlags } from '../../../src/config/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const xml = readFileSync(path.join(root, 'configs', 'lab', 'vpn-config.xml'), 'utf8');

function inputs(text = xml, flags: SettingsFlags = { advertise: ['192.0.2.0/24'] }) {
  const config = parseConfig(text);
  return { config, settings: resolveSettings(undefined, flags, config) };
}

/** The XML with its two ipsec_tunnel blocks swapped (AWS keeps no order). */
function swapped(text: string): string {
  const blocks = text.match(/  <ipsec_tunnel>[\s\S]*?<\/ipsec_tunnel>\n/g) ?? [];
  expect(blocks).toHaveLength(2);
  return text.replace(blocks[0] ?? '', '@@FIRST@@').replace(blocks[1] ?? '', blocks[0] ?? '').replace('@@FIRST@@', blocks[1] ?? '');
}

describe('reload plan', () => {
  it('the same file changes nothing, also with the tunnels in the other order', () => {
    expect(planReload(inputs(), inputs()).unchanged).toBe(true);
    const plan = planReload(inputs(), inputs(swapped(xml)));
    expect(plan.unchanged).toBe(true);
    expect(plan.tunnels.map((t) => t.config.aws.outsideAddress)).toEqual(['203.0.113.10', '203.0.113.20']);
    expect(plan.tunnels.map((t) => t.config.index)).toEqual([1, 2]);
  });

  it("a new pre-shared key on tunnel 1 reauthenticates tunnel 1 only, and the key's value is never named", () => {
    const plan = planReload(inputs(), inputs(xml.replace('LabTunnelOne.psk_4f1c9a7e2b6d8', 'LabTunnelOne.psk_NEW0000000000')));
    expect(plan.unchanged).toBe(false);
    expect(plan.tunnels[0]).toMatchObject({ reauthenticate: true, reconnect: false, bgp: false, fields: ['psk'] });
    expect(plan.tunnels[1]).toMatchObject({ reauthenticate: false, reconnect: false, fields: [] });
    expect(JSON.stringify(plan)).not.toContain('NEW0000000000');
  });

  it('another Amazon ASN or a transit gateway restarts BGP on both tunnels', () => {
    const asn = planReload(inputs(), inputs(xml.replaceAll('<asn>64512</asn>', '<asn>64999</asn>')));
    expect(asn.tunnels.map((t) => [t.bgp, t.reauthenticate, t.fields])).toEqual([
      [true, false, ['aws.bgp']],
      [true, false, ['aws.bgp']],
    ]);
    const tgw = planReload(inputs(), inputs(xml.replace('<vpn_gateway_id>vgw-0lab00000000000b1</vpn_gateway_id>', '<vpn_gateway_id></vpn_gateway_id>')));
    expect(tgw.target).toBe(true);
    expect(tgw.refused).toEqual([]);
  });

  it('a moved AWS endpoint reconnects that tunnel; MSS changes apply in place', () => {
    const plan = planReload(inputs(), inputs(xml.replace(/203\.0\.113\.20/g, '203.0.113.21').replace('<tcp_mss_adjustment>1379</tcp_mss_adjustment>', '<tcp_mss_adjustment>1300</tcp_mss_adjustment>')));
    expect(plan.tunnels[1]).toMatchObject({ reconnect: true, reauthenticate: false });
    expect(plan.tunnels[0]).toMatchObject({ reconnect: false, reauthenticate: false, packetOptions: true, fields: ['ipsec.tcpMss'] });
  });

  it('settings: advertise and keepalive changes are planned; interfaces and the control socket are refused', () => {
    const plan = planReload(inputs(), inputs(xml, { advertise: ['192.0.2.0/24', '198.51.100.128/25'], keepaliveInterval: '2' }));
    expect([plan.advertise, plan.keepalive, plan.staticRoutes, plan.refused]).toEqual([true, true, false, []]);
    // ECMP on or off changes what both tunnels advertise: applied with the advertisements, in place.
    const ecmp = planReload(inputs(), inputs(xml, { advertise: ['192.0.2.0/24'], ecmp: 'on' }));
    expect([ecmp.advertise, ecmp.refused, ecmp.unchanged]).toEqual([true, [], false]);
    const refused = planReload(inputs(), inputs(xml, { advertise: ['192.0.2.0/24'], interfaces: ['wan0', 'wan1'], controlSocket: '/tmp/other.sock' }));
    expect(refused.refused).toHaveLength(2);
    expect(refused.refused.join(' ')).toMatch(/interfaces.*restart/);
    // Host routing fixed at start (the underlay pins, the metric of every installed route): refused, not ignored.
    const routing = planReload(inputs(), { ...inputs(), settings: { ...inputs().settings, routeMetric: 77, defaultRoute: { accept: true, metric: 50 } } });
    expect(routing.refused.map((r) => r.split(' ')[0])).toEqual(['defaultRoute', 'routeMetric']);
    expect(routing.unchanged).toBe(false);
    // The packet threads start with the data plane: a change needs a restart.
    const threads = planReload(inputs(), inputs(xml, { advertise: ['192.0.2.0/24'], dataplaneThreads: '2' }));
    expect(threads.refused).toHaveLength(1);
    expect(threads.refused[0]).toMatch(/^dataplaneThreads cannot change while cgwd runs.*restart it$/);
    const identity = planReload(inputs(), inputs(xml, { advertise: ['192.0.2.0/24'], localId: '198.51.100.99' }));
    expect(identity.tunnels.every((t) => t.reconnect)).toBe(true);
  });
});
