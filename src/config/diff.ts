/**
 * What a reload changes: the running configuration against a newly read one, per tunnel and
 * for the connection, sorted into what the daemon must do about it.
 *
 * Tunnels are matched by the AWS outside address (neither the XML nor TunnelOptions keeps a
 * stable order), then by position for a tunnel whose endpoint moved; the running tunnel's slot
 * (its interface, its preference) stays. Settings that shape the process itself — the control
 * socket, the interface names, the role of the connection — cannot change under a running
 * daemon: a reload that changes them is refused, so nothing half-applies.
 */
import type { Settings } from './settings.js';
import type { TunnelConfig, TunnelIndex, VpnConfig } from './model.js';

/** What changed on one tunnel, in the order the daemon acts on it. */
export interface TunnelChanges {
  readonly slot: TunnelIndex;
  /** The new configuration for the running slot (its `index` is the slot). */
  readonly config: TunnelConfig;
  /** The peer or our own end moved (outside addresses, local address, IKE version): a new IKE connection. */
  readonly reconnect: boolean;
  /** Same peer, new credentials or proposals (PSK, algorithms, lifetimes, DPD): a new IKE SA, make-before-break. */
  readonly reauthenticate: boolean;
  /** The inside /30 moved: the TUN address, the keepalive target and the BGP session follow. */
  readonly readdress: boolean;
  /** MSS clamp, DF, fragmentation: applied to the data plane in place. */
  readonly packetOptions: boolean;
  /** ASN or hold time of either side: the BGP session restarts. */
  readonly bgp: boolean;
  /** Field names that changed (for logs and the reload reply; never values of secrets). */
  readonly fields: readonly string[];
}

export interface ReloadPlan {
  readonly tunnels: readonly [TunnelChanges, TunnelChanges];
  /** Virtual private gateway ↔ transit gateway, or another Amazon ASN: both BGP sessions restart, one at a time. */
  readonly target: boolean;
  readonly advertise: boolean;
  readonly staticRoutes: boolean;
  readonly keepalive: boolean;
  readonly metrics: boolean;
  readonly failback: boolean;
  /** Changes a running daemon cannot take (each a sentence). Non-empty: nothing is applied. */
  readonly refused: readonly string[];
  readonly unchanged: boolean;
}

function same<T>(a: T, b: T): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function tunnelFields(a: TunnelConfig, b: TunnelConfig): string[] {
  const fields: string[] = [];
  const check = (name: string, x: unknown, y: unknown): void => {
    if (!same(x, y)) fields.push(name);
  };
  if (!a.psk.equals(b.psk)) fields.push('psk');
  check('customer.outsideAddress', a.customer.outsideAddress, b.customer.outsideAddress);
  check('aws.outsideAddress', a.aws.outsideAddress, b.aws.outsideAddress);
  check('insideCidr', a.insideCidr, b.insideCidr);
  check('customer.bgp', a.customer.bgp, b.customer.bgp);
  check('aws.bgp', a.aws.bgp, b.aws.bgp);
  const { mode: _m1, ...ike1 } = a.ike;
  const { mode: _m2, ...ike2 } = b.ike;
  for (const key of Object.keys(ike1) as (keyof typeof ike1)[]) check(`ike.${key}`, ike1[key], ike2[key]);
  for (const key of Object.keys(a.ipsec) as (keyof TunnelConfig['ipsec'])[]) check(`ipsec.${key}`, a.ipsec[key], b.ipsec[key]);
  for (const key of Object.keys(a.dpd) as (keyof TunnelConfig['dpd'])[]) check(`dpd.${key}`, a.dpd[key], b.dpd[key]);
  check('startupAction', a.startupAction, b.startupAction);
  return fields;
}

const PACKET_FIELDS = new Set(['ipsec.tcpMss', 'ipsec.clearDf', 'ipsec.fragmentBeforeEncryption']);
const REAUTH_PREFIXES = ['psk', 'ike.', 'ipsec.', 'dpd.'];

function changesFor(slot: TunnelIndex, running: TunnelConfig, next: TunnelConfig, connectionReconnect: boolean): TunnelChanges {
  const config: TunnelConfig = { ...next, index: slot };
  const fields = tunnelFields(running, next);
  const reconnect = connectionReconnect || fields.includes('customer.outsideAddress') || fields.includes('aws.outsideAddress');
  const reauthenticate = !reconnect && fields.some((f) => !PACKET_FIELDS.has(f) && f !== 'ipsec.mode' && REAUTH_PREFIXES.some((p) => f.startsWith(p)));
  return {
    slot,
    config,
    reconnect,
    reauthenticate,
    readdress: fields.includes('insideCidr'),
    packetOptions: fields.some((f) => PACKET_FIELDS.has(f)),
    bgp: fields.includes('customer.bgp') || fields.includes('aws.bgp'),
    fields,
  };
}

/** Pairs each running slot with a new tunnel: the same AWS outside address first, then position. */
function matchTunnels(running: VpnConfig, next: VpnConfig): [TunnelConfig, TunnelConfig] {
  const left = [...next.tunnels];
  const byAddress = running.tunnels.map((t) => {
    const i = left.findIndex((n) => n.aws.outsideAddress === t.aws.outsideAddress);
    return i >= 0 ? left.splice(i, 1)[0] : undefined;
  });
  const pick = (i: 0 | 1): TunnelConfig => {
    const found = byAddress[i];
    if (found) return found;
    const byPosition = left.find((n) => n.index === running.tunnels[i].index) ?? left[0];
    if (!byPosition) throw new Error('a VPN connection has exactly two tunnels');
    left.splice(left.indexOf(byPosition), 1);
    return byPosition;
  };
  return [pick(0), pick(1)];
}

export function planReload(running: { config: VpnConfig; settings: Settings }, next: { config: VpnConfig; settings: Settings }): ReloadPlan {
  const refused: string[] = [];
  const a = running.settings;
  const b = next.settings;
  if (running.config.connectionId !== next.config.connectionId) {
    refused.push(`the file describes another VPN connection (${next.config.connectionId}, running ${running.config.connectionId}); start a new cgwd for it`);
  }
  if (running.config.routing !== next.config.routing) refused.push(`routing changed from ${running.config.routing} to ${next.config.routing}; restart cgwd to switch`);
  if (!same(a.interfaces, b.interfaces)) refused.push('interfaces cannot change while cgwd runs; restart it');
  if (a.controlSocket !== b.controlSocket) refused.push('controlSocket cannot change while cgwd runs; restart it');
  if (!same(a.defaultRoute, b.defaultRoute)) refused.push('defaultRoute cannot change while cgwd runs (the underlay pins are set at start); restart it');
  if (a.routeMetric !== b.routeMetric) refused.push('routeMetric cannot change while cgwd runs; restart it');
  if (a.dataplaneThreads !== b.dataplaneThreads) refused.push('dataplaneThreads cannot change while cgwd runs (the packet threads start with the data plane); restart it');
  const connectionReconnect = !same(a.localAddress, b.localAddress) || a.localId !== b.localId || a.ikeVersion !== b.ikeVersion;
  const [n1, n2] = matchTunnels(running.config, next.config);
  const tunnels: [TunnelChanges, TunnelChanges] = [
    changesFor(1, running.config.tunnels[0], n1, connectionReconnect),
    changesFor(2, running.config.tunnels[1], n2, connectionReconnect),
  ];
  const target = running.config.target !== next.config.target || running.config.vpnGatewayId !== next.config.vpnGatewayId;
  const plan = {
    tunnels,
    target,
    advertise: !same(a.advertise, b.advertise) || a.asPathPrepend !== b.asPathPrepend || a.ecmp !== b.ecmp,
    staticRoutes: !same(a.staticRoutes, b.staticRoutes),
    keepalive: !same(a.keepalive, b.keepalive),
    metrics: a.metrics.listen !== b.metrics.listen,
    failback: a.failback !== b.failback,
    refused,
  };
  const unchanged =
    refused.length === 0 &&
    !target &&
    !plan.advertise &&
    !plan.staticRoutes &&
    !plan.keepalive &&
    !plan.metrics &&
    !plan.failback &&
    tunnels.every((t) => t.fields.length === 0 && !t.reconnect);
  return { ...plan, unchanged };
}
