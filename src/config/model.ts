import type { DhGroupNumber, EncryptionName, IntegrityName } from '../crypto/transforms.js';
import type { DpdTimeoutAction, IkeVersion, StartupAction } from './aws-limits.js';
import type { Secret } from './secret.js';

export type { DpdTimeoutAction, IkeVersion, StartupAction } from './aws-limits.js';

/** One AWS Site-to-Site VPN connection as cgwd runs it: the on-prem end of both tunnels. */
export interface VpnConfig {
  connectionId: string;
  customerGatewayId: string;
  /** null for a transit-gateway attachment (the XML's vpn_gateway_id is empty). */
  vpnGatewayId: string | null;
  target: 'vgw' | 'tgw';
  routing: 'static' | 'bgp';
  source: 'xml' | 'json';
  tunnels: [TunnelConfig, TunnelConfig];
}

export interface InsideIpv6 {
  address: string;
  prefixLength: number;
}

export interface BgpPeer {
  asn: number;
  holdTime: number;
}

export interface TunnelEndpoint {
  outsideAddress: string;
  insideAddress: string;
  insideIpv6?: InsideIpv6;
  bgp?: BgpPeer;
}

/** A VPN connection has exactly two tunnels; 1 and 2 are their positions in the AWS file. */
export type TunnelIndex = 1 | 2;

export interface TunnelConfig {
  /** Position in the file, for messages (ipsec_tunnel[1]); not the TunnelOptions order. */
  index: TunnelIndex;
  customer: TunnelEndpoint;
  aws: TunnelEndpoint;
  /** The tunnel's inside /30, e.g. "169.254.15.192/30"; AWS is network+1, the customer network+2. */
  insideCidr: string;
  /** TunnelOptions[].TunnelInsideIpv6Cidr (a /126 in fd00::/8), IPv6-inside connections only. */
  insideIpv6Cidr?: string;
  psk: Secret;
  ike: {
    versions: IkeVersion[];
    encryption: EncryptionName[];
    integrity: IntegrityName[];
    dhGroups: DhGroupNumber[];
    lifetimeSeconds: number;
    mode: 'main';
  };
  ipsec: {
    encryption: EncryptionName[];
    integrity: IntegrityName[];
    pfsGroups: DhGroupNumber[];
    lifetimeSeconds: number;
    rekeyMarginSeconds: number;
    rekeyFuzzPercent: number;
    replayWindow: number;
    mode: 'tunnel';
    clearDf: boolean;
    fragmentBeforeEncryption: boolean;
    tcpMss: number;
  };
  dpd: {
    intervalSeconds: number;
    retries: number;
    /** AWS side: how long until AWS declares this end dead, and what it then does. */
    timeoutSeconds: number;
    action: DpdTimeoutAction;
  };
  startupAction: StartupAction;
  /**
   * Where each setting came from. 'xml' for the algorithm lists means "AWS's
   * minimum example" (User Guide: the file "specifies the minimum
   * requirements"): AWS accepts stronger suites too, and
   * cgwd may propose them. 'tunnel-options' means the JSON said so explicitly:
   * propose exactly that. 'default' means neither said anything and the AWS
   * default (User Guide, "Tunnel options") applies.
   */
  explicit: TunnelOrigins;
}

export type SettingOrigin = 'xml' | 'tunnel-options' | 'default';

export const TUNNEL_SETTING_KEYS = [
  'insideCidr', 'psk',
  'ike.versions', 'ike.encryption', 'ike.integrity', 'ike.dhGroups', 'ike.lifetimeSeconds',
  'ipsec.encryption', 'ipsec.integrity', 'ipsec.pfsGroups', 'ipsec.lifetimeSeconds',
  'ipsec.rekeyMarginSeconds', 'ipsec.rekeyFuzzPercent', 'ipsec.replayWindow',
  'ipsec.clearDf', 'ipsec.fragmentBeforeEncryption', 'ipsec.tcpMss',
  'dpd.intervalSeconds', 'dpd.retries', 'dpd.timeoutSeconds', 'dpd.action',
  'startupAction',
] as const;
export type TunnelSettingKey = (typeof TUNNEL_SETTING_KEYS)[number];
export type TunnelOrigins = Readonly<Record<TunnelSettingKey, SettingOrigin>>;

/** True when the value is only the XML's minimum example (the JSON did not pin it). */
export function isXmlMinimum(tunnel: TunnelConfig, key: TunnelSettingKey): boolean {
  return tunnel.explicit[key] === 'xml';
}
