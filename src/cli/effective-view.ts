/**
 * The effective configuration as `cgwd show` presents it: per tunnel every
 * value cgwd will use and where it came from. The PSK appears only masked.
 * Used as-is for --json and rendered as tables otherwise.
 */
import { ecmpActive, maskSecret, type Settings, type SettingsOrigin, type SettingOrigin, type TunnelConfig, type VpnConfig } from '../config/index.js';

export interface TunnelView extends Omit<TunnelConfig, 'psk' | 'explicit'> {
  interface: string;
  /** The IKE version cgwd will negotiate on this tunnel. */
  ikeVersion: Settings['ikeVersion'];
  psk: { masked: string; length: number };
  sources: TunnelConfig['explicit'];
}

export interface EffectiveView {
  connectionId: string;
  customerGatewayId: string;
  vpnGatewayId: string | null;
  target: VpnConfig['target'];
  routing: VpnConfig['routing'];
  source: VpnConfig['source'];
  tunnels: [TunnelView, TunnelView];
  settings: Omit<Settings, 'origins'> & { sources: Settings['origins'] };
}

export function effectiveView(config: VpnConfig, settings: Settings): EffectiveView {
  const tunnel = (t: TunnelConfig, i: 0 | 1): TunnelView => {
    const { psk, explicit, ...rest } = t;
    return { ...rest, interface: settings.interfaces[i], ikeVersion: settings.ikeVersion, psk: maskSecret(psk), sources: explicit };
  };
  const { origins, ...settingValues } = settings;
  return {
    connectionId: config.connectionId,
    customerGatewayId: config.customerGatewayId,
    vpnGatewayId: config.vpnGatewayId,
    target: config.target,
    routing: config.routing,
    source: config.source,
    tunnels: [tunnel(config.tunnels[0], 0), tunnel(config.tunnels[1], 1)],
    settings: { ...settingValues, sources: origins },
  };
}

const TUNNEL_SOURCE: Record<SettingOrigin, string> = { xml: 'XML', 'tunnel-options': 'TunnelOptions', default: 'AWS default' };
const SETTINGS_SOURCE: Record<SettingsOrigin, string> = { cli: 'command line', file: 'settings file', default: 'cgwd default' };

const MINIMUM_MARK = '*';

function renderTable(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('   ').trimEnd())
    .join('\n');
}

function list<T>(values: readonly T[]): string {
  return values.join(', ');
}

function tunnelRows(t: TunnelView, routing: VpnConfig['routing'], ikeVersionSource: string): string[][] {
  const from = (key: keyof TunnelView['sources']): string => TUNNEL_SOURCE[t.sources[key]];
  const algorithm = (key: keyof TunnelView['sources']): string =>
    t.sources[key] === 'xml' ? `XML minimum ${MINIMUM_MARK}` : from(key);
  const rows: string[][] = [
    ['SETTING', 'VALUE', 'SOURCE'],
    ['AWS outside address', t.aws.outsideAddress, 'XML'],
    ['customer outside address', t.customer.outsideAddress, 'XML'],
    ['inside network', t.insideCidr, from('insideCidr')],
    ['AWS inside address', t.aws.insideAddress, 'XML'],
    ['customer inside address', t.customer.insideAddress, 'XML'],
  ];
  if (t.customer.insideIpv6) rows.push(['customer inside IPv6', `${t.customer.insideIpv6.address}/${t.customer.insideIpv6.prefixLength}`, 'XML']);
  if (t.aws.insideIpv6) rows.push(['AWS inside IPv6', `${t.aws.insideIpv6.address}/${t.aws.insideIpv6.prefixLength}`, 'XML']);
  if (t.insideIpv6Cidr) rows.push(['inside IPv6 network', t.insideIpv6Cidr, 'TunnelOptions']);
  if (routing === 'bgp' && t.customer.bgp && t.aws.bgp) {
    rows.push(
      ['BGP ASN customer / AWS', `${t.customer.bgp.asn} / ${t.aws.bgp.asn}`, 'XML'],
      ['BGP hold time', `${t.customer.bgp.holdTime} s (AWS ${t.aws.bgp.holdTime} s)`, 'XML'],
    );
  }
  rows.push(
    ['pre-shared key', `${t.psk.masked} (${t.psk.length} characters)`, from('psk')],
    ['IKE version used', t.ikeVersion, ikeVersionSource],
    ['IKE versions AWS allows', list(t.ike.versions), from('ike.versions')],
    ['IKE encryption', list(t.ike.encryption), algorithm('ike.encryption')],
    ['IKE integrity', list(t.ike.integrity), algorithm('ike.integrity')],
    ['IKE DH groups', list(t.ike.dhGroups), algorithm('ike.dhGroups')],
    ['IKE lifetime', `${t.ike.lifetimeSeconds} s`, from('ike.lifetimeSeconds')],
    ['IPsec encryption', list(t.ipsec.encryption), algorithm('ipsec.encryption')],
    ['IPsec integrity', list(t.ipsec.integrity), algorithm('ipsec.integrity')],
    ['IPsec PFS groups', list(t.ipsec.pfsGroups), algorithm('ipsec.pfsGroups')],
    ['IPsec lifetime', `${t.ipsec.lifetimeSeconds} s`, from('ipsec.lifetimeSeconds')],
    ['AWS rekey margin', `${t.ipsec.rekeyMarginSeconds} s`, from('ipsec.rekeyMarginSeconds')],
    ['AWS rekey fuzz', `${t.ipsec.rekeyFuzzPercent} %`, from('ipsec.rekeyFuzzPercent')],
    ['replay window', `${t.ipsec.replayWindow} packets`, from('ipsec.replayWindow')],
    ['DPD interval / retries', `${t.dpd.intervalSeconds} s / ${t.dpd.retries}`, from('dpd.intervalSeconds')],
    ['AWS DPD timeout / action', `${t.dpd.timeoutSeconds} s / ${t.dpd.action}`, from('dpd.timeoutSeconds')],
    ['TCP MSS clamp', `${t.ipsec.tcpMss} bytes`, from('ipsec.tcpMss')],
    ['clear DF bit', t.ipsec.clearDf ? 'yes' : 'no', from('ipsec.clearDf')],
    ['fragment before encryption', t.ipsec.fragmentBeforeEncryption ? 'yes' : 'no', from('ipsec.fragmentBeforeEncryption')],
    ['startup action', t.startupAction === 'add' ? 'add (cgwd initiates)' : 'start (AWS initiates)', from('startupAction')],
  );
  return rows;
}

function settingsRows(s: EffectiveView['settings'], connection: Pick<EffectiveView, 'target' | 'routing'>): string[][] {
  const src = (key: keyof EffectiveView['settings']['sources']): string => SETTINGS_SOURCE[s.sources[key]];
  const local = s.localAddress.mode === 'fixed' ? s.localAddress.address : `auto (${s.localAddress.preferred} if on this host, else ${s.localAddress.fallback})`;
  return [
    ['SETTING', 'VALUE', 'SOURCE'],
    ['advertised prefixes', s.advertise.length > 0 ? list(s.advertise) : '(none)', src('advertise')],
    ['static routes', s.staticRoutes.length > 0 ? list(s.staticRoutes) : '(none)', src('staticRoutes')],
    ['local address', local, src('localAddress')],
    ['IKE identity', s.localId, src('localId')],
    ['tunnel interfaces', list(s.interfaces), src('interfaces')],
    ['keepalive target', s.keepalive.target ?? '(none)', src('keepalive.target')],
    ['keepalive interval', `${s.keepalive.intervalSeconds} s`, src('keepalive.intervalSeconds')],
    ['keepalive window', `${s.keepalive.window} probes`, src('keepalive.window')],
    ['metrics', s.metrics.listen, src('metrics.listen')],
    ['control socket', s.controlSocket, src('controlSocket')],
    ['IKE version', s.ikeVersion, src('ikeVersion')],
    ['failback', s.failback, src('failback')],
    ['learned default route', s.defaultRoute.accept ? `accepted, metric ${s.defaultRoute.metric}` : 'refused', src('defaultRoute.accept')],
    ['route metric', String(s.routeMetric), src('routeMetric')],
    ['extra AS-path prepend', String(s.asPathPrepend), src('asPathPrepend')],
    ['data plane threads', s.dataplaneThreads === 2 ? '2 (outbound, inbound)' : '1', src('dataplaneThreads')],
    ['both tunnels at once (ECMP)', `${s.ecmp} → ${ecmpActive(s, connection) ? 'on' : 'off'}`, src('ecmp')],
  ];
}

export function renderEffectiveView(view: EffectiveView): string {
  const gateway = view.target === 'vgw' ? `virtual private gateway ${view.vpnGatewayId ?? ''}` : 'transit gateway';
  const routing = view.routing === 'bgp' ? 'BGP' : 'static (NoBGPVPNConnection)';
  const origin = view.source === 'xml' ? 'CustomerGatewayConfiguration XML' : 'describe-vpn-connections JSON (XML + TunnelOptions)';
  const parts = [
    `VPN connection ${view.connectionId}`,
    renderTable([
      ['customer gateway', view.customerGatewayId],
      ['AWS side', gateway],
      ['routing', routing],
      ['read from', origin],
    ]),
  ];
  view.tunnels.forEach((t) => {
    parts.push('', `Tunnel ${t.index} (ipsec_tunnel[${t.index}]) on interface ${t.interface}`, renderTable(tunnelRows(t, view.routing, SETTINGS_SOURCE[view.settings.sources.ikeVersion])));
  });
  parts.push('', 'Local settings', renderTable(settingsRows(view.settings, view)));
  const fromXmlMinimum = view.tunnels.some((t) =>
    (['ike.encryption', 'ike.integrity', 'ike.dhGroups', 'ipsec.encryption', 'ipsec.integrity', 'ipsec.pfsGroups'] as const).some(
      (k) => t.sources[k] === 'xml',
    ),
  );
  if (fromXmlMinimum) {
    parts.push(
      '',
      `${MINIMUM_MARK} The XML only gives AWS's minimum settings; cgwd proposes the stronger suites AWS accepts as well.`,
      '  Give the describe-vpn-connections JSON to use the tunnel options actually configured.',
    );
  }
  return `${parts.join('\n')}\n`;
}
