import { readFixture } from './helpers.js';

export interface TunnelOptionsJson {
  [key: string]: unknown;
}
export interface ConnectionJson {
  VpnConnectionId: string;
  CustomerGatewayId: string;
  CustomerGatewayConfiguration: string;
  Options: { StaticRoutesOnly?: boolean; TunnelOptions: TunnelOptionsJson[]; [key: string]: unknown };
  [key: string]: unknown;
}
export interface DescribeJson {
  VpnConnections: ConnectionJson[];
}

/** The describe-vpn-connections fixture whose TunnelOptions list the XML's tunnel 2 first. */
export function reversedDescribe(): DescribeJson {
  return JSON.parse(readFixture('describe-vpn-connections-reversed.json')) as DescribeJson;
}

export function twoConnectionsDescribe(): DescribeJson {
  return JSON.parse(readFixture('describe-vpn-connections-two.json')) as DescribeJson;
}

export function firstConnection(doc: DescribeJson): ConnectionJson {
  const c = doc.VpnConnections[0];
  if (!c) throw new Error('fixture has no connection');
  return c;
}

export function tunnelOptions(doc: DescribeJson, index: number): TunnelOptionsJson {
  const t = firstConnection(doc).Options.TunnelOptions[index];
  if (!t) throw new Error(`fixture has no TunnelOptions[${index}]`);
  return t;
}

/** The reversed fixture with `edit` applied, as text. */
export function describeWith(edit: (doc: DescribeJson) => void): string {
  const doc = reversedDescribe();
  edit(doc);
  return JSON.stringify(doc);
}

export const TO = 'VpnConnections[0].Options.TunnelOptions';
