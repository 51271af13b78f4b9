import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/index.js';
import { buildMultiLabPlan, type MultiLabSpec } from '../../../src/lab/multi-plan.js';
import { vgwBird } from '../../../src/lab/multi-lab.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const A = path.join(repo, 'configs', 'lab', 'vpn-config.xml');
const B = path.join(repo, 'configs', 'lab', 'vpn-config-b.xml');
const connections = [A, B].map((file) => ({ config: loadConfig(file), configPath: file }));

function spec(sites: MultiLabSpec['sites'], conns = connections): MultiLabSpec {
  return { connections: conns, sites };
}

describe('the several-connection lab plan', () => {
  it('keeps the single lab\'s names for connection 1 and gives connection 2 its own', () => {
    const plan = buildMultiLabPlan(spec([{ id: 'a', lan: '192.0.2.0', gateway: 'vrrp', boxes: [{ id: 'a', connections: [0] }, { id: 'b', connections: [1] }] }]));
    expect(plan.connections.map((c) => c.tunnels.map((t) => [t.namespace, t.awsTun, t.charon, t.bgpName]))).toEqual([
      [['cgwd-aws1', 'tun1', 'aws1', 'c1t1'], ['cgwd-aws2', 'tun2', 'aws2', 'c1t2']],
      [['cgwd-c2aws1', 'c2tun1', 'c2aws1', 'c2t1'], ['cgwd-c2aws2', 'c2tun2', 'c2aws2', 'c2t2']],
    ]);
    expect(plan.connections[1]?.tunnels.map((t) => t.transit)).toEqual([{ inet: '198.18.1.2', endpoint: '198.18.1.3' }, { inet: '198.18.1.4', endpoint: '198.18.1.5' }]);
    expect(plan.boxes.map((b) => [b.namespace, b.outside, b.lanAddress, b.uplink.box])).toEqual([
      ['cgwd-boxa', ['198.51.100.10'], '192.0.2.2', '198.18.100.1'],
      ['cgwd-boxb', ['198.51.100.20'], '192.0.2.3', '198.18.101.1'],
    ]);
    expect(plan.sites[0]).toMatchObject({ namespace: 'cgwd-sitea', gateway: '192.0.2.1', host: '192.0.2.10' });
    expect(plan.namespaces.every((n) => n.startsWith('cgwd-'))).toBe(true);
  });

  it('refuses a connection on two boxes, a box id that is not short, and one inside CIDR in two connections', () => {
    expect(() => buildMultiLabPlan(spec([{ id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'a', connections: [0] }, { id: 'b', connections: [0] }] }]))).toThrow(/two boxes/);
    expect(() => buildMultiLabPlan(spec([{ id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'Box-A', connections: [0] }] }]))).toThrow(/box id/);
    expect(() => buildMultiLabPlan(spec([{ id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'a', connections: [0, 1] }] }], [A, A].map((file) => ({ config: loadConfig(file), configPath: file }))))).toThrow(/appears in two connections/);
  });

  it('BIRD re-advertises between connections (CloudHub) but never into the connection a route came from', () => {
    const conf = vgwBird(buildMultiLabPlan(spec([{ id: 'a', lan: '192.0.2.0', gateway: 'box', boxes: [{ id: 'a', connections: [0, 1] }] }])));
    expect(conf).toMatch(/protocol bgp c1t1 \{[^}]*export where proto = "originated" \|\| \(source = RTS_BGP && !\(proto ~ "c1t\*"\)\);/);
    expect(conf).toMatch(/protocol bgp c2t2 \{[^}]*neighbor 169\.254\.40\.2 as 65001;[^}]*!\(proto ~ "c2t\*"\)/);
  });
});
