/**
 * The address plan of the several-connection lab: one emulated virtual private gateway (the
 * `cgwd-aws` router with BIRD, as in plan.ts) hosting N VPN connections, each from its own AWS
 * file, and on the customer side one or more sites, each a LAN with one or more customer-gateway
 * boxes.
 *
 *   site LAN (bridge + host) ── box ──┐                 ┌── endpoint c1/t1 ┐
 *                           └─ box ──┤── inet (router) ─┤── endpoint c1/t2 ├─ TUNs in "aws" (BIRD) ── vpc
 *   site LAN (bridge + host) ── box ──┘                 └── endpoint cN/tM ┘
 *
 * Connection 1 keeps the single-connection lab's names (cgwd-aws1/2, tun1/2, 198.18.0.2–5) so
 * that the same tools (status, cut, restart) read it the same way; connection n ≥ 2 uses
 * cgwd-c<n>aws<t>, TUN c<n>tun<t> and transit 198.18.<n-1>.2–5. Box k's uplink is
 * 198.18.<100+k>.0/31 (inet side .0, box .1); the box holds the customer outside address of every
 * connection it terminates (/32 on its uplink). Sites' LANs are /24s; the site's gateway address
 * is .1 (held by keepalived's VRRP when the site has two boxes), the host .10, box k at .2+k.
 * Outside addresses must lie in documentation ranges (RFC 5737), as plan.ts requires.
 */
import type { VpnConfig } from '../config/model.js';
import { CgwdError } from '../errors.js';
import { NS, buildLabPlan, type LabPlan, type LabTunnel } from './plan.js';

export interface MultiConnectionSpec {
  /** The AWS file of this connection (already loaded) and its path. */
  config: VpnConfig;
  configPath: string;
}

export interface MultiBoxSpec {
  /** Short id (a–z, 0–9, at most 4): namespace cgwd-box<id>. */
  id: string;
  /** Indexes into `connections` that this box terminates (one cgwd per connection). */
  connections: readonly number[];
}

export interface MultiSiteSpec {
  /** Short id: namespace cgwd-site<id> holds the LAN bridge and the site's host. */
  id: string;
  /** The LAN, a /24 (network address, e.g. 192.0.2.0). */
  lan: string;
  boxes: readonly MultiBoxSpec[];
  /**
   * Who holds the LAN's gateway address (.1): `box` (the first box, statically) or `vrrp`
   * (nobody at build time: keepalived on the boxes holds it).
   */
  gateway: 'box' | 'vrrp';
}

export interface MultiLabSpec {
  connections: readonly MultiConnectionSpec[];
  sites: readonly MultiSiteSpec[];
}

export interface MultiConnection {
  index: number;
  configPath: string;
  /** The single-connection plan of this connection, its tunnels renamed for this lab. */
  plan: LabPlan;
  tunnels: [LabTunnel & { charon: string; inetIf: string; bgpName: string }, LabTunnel & { charon: string; inetIf: string; bgpName: string }];
}

export interface MultiBox {
  id: string;
  site: string;
  namespace: string;
  connections: readonly number[];
  /** Customer outside addresses this box holds (one per connection, distinct). */
  outside: readonly string[];
  uplink: { inet: string; box: string; inetIf: string };
  lanAddress: string;
  /** Interface name of the box's LAN port (in the box) and its peer on the site's bridge. */
  lanIf: string;
  bridgePort: string;
}

export interface MultiSite {
  id: string;
  namespace: string;
  prefix: string;
  gateway: string;
  host: string;
  gatewayMode: 'box' | 'vrrp';
  boxes: MultiBox[];
}

export interface MultiLabPlan {
  connections: MultiConnection[];
  sites: MultiSite[];
  boxes: MultiBox[];
  vpc: LabPlan['vpc'];
  /** Every namespace this lab makes (for `lab down`). */
  namespaces: string[];
}

const ID = /^[a-z0-9]{1,4}$/;

function lanAddress(network: string, host: number): string {
  const parts = network.split('.');
  return `${parts[0]}.${parts[1]}.${parts[2]}.${host}`;
}

export function buildMultiLabPlan(spec: MultiLabSpec): MultiLabPlan {
  if (spec.connections.length === 0) throw new CgwdError('LAB_PLAN', 'the lab needs at least one VPN connection');
  const connections: MultiConnection[] = spec.connections.map((c, i) => {
    const plan = buildLabPlan(c.config, { nat: false });
    if (plan.config.routing !== 'bgp') throw new CgwdError('LAB_PLAN', `connection ${i + 1} (${c.configPath}): the several-connection lab emulates BGP connections only`);
    const rename = (t: LabTunnel, k: 0 | 1): MultiConnection['tunnels'][0] => {
      const n = i + 1;
      const first = i === 0;
      return {
        ...t,
        namespace: first ? t.namespace : `cgwd-c${n}aws${k + 1}`,
        awsTun: first ? t.awsTun : `c${n}tun${k + 1}`,
        transit: first ? t.transit : { inet: `198.18.${i}.${2 + 2 * k}`, endpoint: `198.18.${i}.${3 + 2 * k}` },
        charon: first ? `aws${k + 1}` : `c${n}aws${k + 1}`,
        inetIf: first ? `inet-aws${k + 1}` : `inet-c${n}aws${k + 1}`,
        bgpName: `c${n}t${k + 1}`,
      };
    };
    return { index: i, configPath: c.configPath, plan, tunnels: [rename(plan.tunnels[0], 0), rename(plan.tunnels[1], 1)] };
  });

  const awsOutside = new Set<string>();
  const insideCidrs = new Set<string>();
  for (const c of connections) {
    for (const t of c.tunnels) {
      if (awsOutside.has(t.awsOutside)) throw new CgwdError('LAB_PLAN', `AWS outside address ${t.awsOutside} appears in two connections`);
      if (insideCidrs.has(t.insideCidr)) {
        // AWS: tunnel inside CIDRs must be unique per virtual private gateway (Site-to-Site VPN User Guide, "Tunnel options").
        throw new CgwdError('LAB_PLAN', `tunnel inside CIDR ${t.insideCidr} appears in two connections of one virtual private gateway`);
      }
      awsOutside.add(t.awsOutside);
      insideCidrs.add(t.insideCidr);
    }
  }

  const used = new Set<number>();
  const boxes: MultiBox[] = [];
  const sites: MultiSite[] = spec.sites.map((s) => {
    if (!ID.test(s.id)) throw new CgwdError('LAB_PLAN', `site id "${s.id}" must be 1–4 of a–z, 0–9`);
    if (s.boxes.length === 0) throw new CgwdError('LAB_PLAN', `site ${s.id} has no customer-gateway box`);
    const siteBoxes = s.boxes.map((b, k): MultiBox => {
      if (!ID.test(b.id)) throw new CgwdError('LAB_PLAN', `box id "${b.id}" must be 1–4 of a–z, 0–9`);
      const outside = b.connections.map((ci) => {
        const c = connections[ci];
        if (!c) throw new CgwdError('LAB_PLAN', `box ${b.id} names connection ${ci + 1}, which the lab does not have`);
        if (used.has(ci)) throw new CgwdError('LAB_PLAN', `connection ${ci + 1} is terminated by two boxes`);
        used.add(ci);
        return c.plan.customerOutside;
      });
      if (new Set(outside).size !== outside.length) {
        throw new CgwdError('LAB_PLAN', `box ${b.id}: its connections must have distinct customer outside addresses (each cgwd binds its own UDP 500/4500)`);
      }
      const n = boxes.length;
      const box: MultiBox = {
        id: b.id,
        site: s.id,
        namespace: `cgwd-box${b.id}`,
        connections: b.connections,
        outside,
        uplink: { inet: `198.18.${100 + n}.0`, box: `198.18.${100 + n}.1`, inetIf: `inet-box${b.id}` },
        lanAddress: lanAddress(s.lan, 2 + k),
        lanIf: 'lan0',
        bridgePort: `lan-box${b.id}`,
      };
      boxes.push(box);
      return box;
    });
    return {
      id: s.id,
      namespace: `cgwd-site${s.id}`,
      prefix: `${s.lan}/24`,
      gateway: lanAddress(s.lan, 1),
      host: lanAddress(s.lan, 10),
      gatewayMode: s.gateway,
      boxes: siteBoxes,
    };
  });

  const namespaces = [
    NS.inet,
    NS.aws,
    NS.vpc,
    ...connections.flatMap((c) => c.tunnels.map((t) => t.namespace)),
    ...sites.map((s) => s.namespace),
    ...boxes.map((b) => b.namespace),
  ];
  const first = connections[0];
  if (!first) throw new CgwdError('LAB_PLAN', 'the lab needs at least one VPN connection');
  return { connections, sites, boxes, vpc: first.plan.vpc, namespaces };
}
